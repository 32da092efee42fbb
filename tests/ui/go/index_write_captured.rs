// Go: `go func(k int) { slots[k] = k * k }(i)` writes the shared slice.
fn main() {
    let mut slots = vec![0usize; 4];
    for i in 0..4 {
        go::go!((move |k: usize| {
            slots[k] = k * k;
        })(i));
    }
    slots[0] = 1;
}
