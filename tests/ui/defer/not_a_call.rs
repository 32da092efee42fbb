fn main() {
    let wg = go::sync::WaitGroup::new();
    wg.add(1);
    go::defer!(wg.done);
}
