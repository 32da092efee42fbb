//! The tutorial's WaitGroup example (section 6), on goroutines.
//!
//! ```text
//! cargo run --example hello
//! ```

use go::sync::WaitGroup;

fn worker(id: u32, wg: WaitGroup) {
    println!("Worker {id} started");
    wg.done();
}

fn main() {
    let wg = WaitGroup::new();
    for i in 1..=3 {
        wg.add(1);
        let wg = wg.clone();
        go::spawn(move || worker(i, wg));
    }
    wg.wait();
    println!("All workers finished");

    // A hundred thousand goroutines, each sleeping 10 ms at the same time.
    let start = std::time::Instant::now();
    let wg = WaitGroup::new();
    for _ in 0..100_000 {
        wg.go(|| go::time::sleep(10 * go::time::MILLISECOND));
    }
    wg.wait();
    println!(
        "100000 goroutines slept 10 ms each in {:?} on {} Ps",
        start.elapsed(),
        go::runtime::gomaxprocs()
    );
}
