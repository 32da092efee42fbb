fn main() {
    go::defer!();
}
