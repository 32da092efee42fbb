fn main() {
    go::go!();
}
