fn main() {
    go::go!(async { 1 });
}
