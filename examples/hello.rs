//! The demo: the tutorial's WaitGroup example (section 6), then a hundred
//! thousand goroutines sleeping at once.
//!
//! ```text
//! cargo run --example hello
//! ```

use go::sync::WaitGroup;
use go::{defer, go, time};

fn worker(id: u32, wg: &WaitGroup) {
    defer!(wg.done());
    println!("Worker {id} started");
}

#[go::main]
fn main() {
    let wg = WaitGroup::new();
    for i in 1..=3 {
        wg.add(1);
        go!(worker(i, &wg));
    }
    wg.wait();
    println!("All workers finished");

    // A hundred thousand goroutines, each sleeping 10 ms at the same time.
    let start = std::time::Instant::now();
    let wg = WaitGroup::new();
    for _ in 0..100_000 {
        wg.go(|| time::sleep(10 * time::MILLISECOND));
    }
    wg.wait();
    println!(
        "100000 goroutines slept 10 ms each in {:?} on {} Ps",
        start.elapsed(),
        go::runtime::gomaxprocs()
    );
}
