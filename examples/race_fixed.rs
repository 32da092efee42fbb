//! Seed section 8, "Goroutines and Race Conditions", the Rust way.
//!
//! Go's program compiles and prints a number that varies from run to run:
//!
//! ```go
//! var counter int
//!
//! func increment() {
//!     counter++
//! }
//!
//! func main() {
//!     for i := 0; i < 1000; i++ {
//!         go increment()
//!     }
//!     fmt.Println(counter)
//! }
//! ```
//!
//! Its line-by-line ports do not compile (see `tests/ui/go/counter_race_*`
//! and `tests/ui/goroutine/static_mut_race.rs`):
//!
//! ```text
//! error: data race: this goroutine writes the static `COUNTER` without
//!        synchronization; make it a `static COUNTER: go::sync::Mutex<_>` or
//!        an atomic (`static COUNTER: AtomicI64`)
//! ```
//!
//! Here are the three fixes Go programmers reach for, each waiting for the
//! goroutines (Go's program also forgot to), each printing 1000.

use std::sync::atomic::{AtomicI64, Ordering};

use go::sync::{Mutex, WaitGroup};
use go::{defer, go, make};

/// Fix 1: a mutex that owns the counter.
static COUNTER: Mutex<i64> = Mutex::new(0);

fn increment_locked(wg: &WaitGroup) {
    defer!(wg.done());
    *COUNTER.lock() += 1;
}

/// Fix 2: an atomic counter.
static HITS: AtomicI64 = AtomicI64::new(0);

fn increment_atomic(wg: &WaitGroup) {
    defer!(wg.done());
    HITS.fetch_add(1, Ordering::Relaxed);
}

#[go::main]
fn main() {
    let wg = WaitGroup::new();
    for _ in 0..1000 {
        wg.add(1);
        go!(increment_locked(&wg));
    }
    wg.wait();
    println!("mutex: {}", COUNTER.lock());

    for _ in 0..1000 {
        wg.add(1);
        go!(increment_atomic(&wg));
    }
    wg.wait();
    println!("atomic: {}", HITS.load(Ordering::Relaxed));

    // Fix 3: share memory by communicating. One goroutine owns the counter;
    // the others send it increments.
    let increments = make!(chan i64, 64);
    let owner = go!(own_counter(&increments));
    for _ in 0..1000 {
        wg.add(1);
        go!(send_one(&increments, &wg));
    }
    wg.wait();
    increments.close();
    println!("channel: {}", owner.join().unwrap());
}

fn own_counter(increments: &go::chan::Chan<i64>) -> i64 {
    let mut counter = 0;
    for n in increments {
        counter += n;
    }
    counter
}

fn send_one(ch: &go::chan::Chan<i64>, wg: &WaitGroup) {
    defer!(wg.done());
    ch.send(1);
}
