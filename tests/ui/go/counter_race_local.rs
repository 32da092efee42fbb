// The classic `go increment()` race, written the natural Rust way: every
// goroutine adds to a local.
fn main() {
    let mut counter = 0;
    for _ in 0..1000 {
        go::go!(move || counter += 1);
    }
    println!("{counter}");
}
