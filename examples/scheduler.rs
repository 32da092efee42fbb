//! The tutorial's section 11, the M/P/G model: goroutines (G) run on
//! processors (P), each driven by an OS thread (M). This example starts
//! goroutines that each do a slice of CPU work and records the worker
//! thread (one per P) each ran on, showing them spread over all the Ps.

use std::collections::BTreeMap;

use go::sync::Mutex;
use go::{go, waitgroup};

/// Burns some CPU so the goroutines overlap in time.
fn work(n: u64) -> u64 {
    (0..n).fold(0u64, |acc, x| acc.wrapping_mul(31).wrapping_add(x))
}

fn run_one(id: usize, seen: &Mutex<BTreeMap<String, Vec<usize>>>) {
    let _ = work(2_000_000);
    let thread = std::thread::current().name().unwrap_or("?").to_string();
    seen.lock().entry(thread).or_default().push(id);
}

fn thread_name() -> Option<String> {
    std::thread::current().name().map(str::to_string)
}

#[go::main]
fn main() {
    let procs = go::runtime::gomaxprocs();
    println!("GOMAXPROCS = {procs}: {procs} Ps, each run by one worker thread (an M)");
    let seen = Mutex::new(BTreeMap::new());
    waitgroup! {
        for id in 0..32 {
            go run_one(id, &seen);
        }
    };
    for (thread, ids) in seen.lock().iter() {
        println!("{thread} ran {} goroutines: {ids:?}", ids.len());
    }
    // The spawning goroutine itself is a G like any other.
    let h = go!(thread_name());
    println!("a goroutine asked its thread's name: {:?}", h.join().unwrap());
}
