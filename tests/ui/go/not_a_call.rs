fn work() {}

fn main() {
    go::go!(work);
}
