//! The tutorial's best practice, section 14: "Do not create unlimited
//! goroutines". A fixed pool of workers takes jobs from one channel and
//! sends results to another, so 10,000 jobs use 4 goroutines, not 10,000.
//!
//! ```go
//! func worker(id int, jobs <-chan int, results chan<- int) {
//!     for j := range jobs {
//!         results <- j * j
//!     }
//! }
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};

use go::chan::{Receiver, Sender};
use go::sync::WaitGroup;
use go::{defer, go, make};

const WORKERS: usize = 4;
const JOBS: u64 = 10_000;

static BUSY: AtomicUsize = AtomicUsize::new(0);
static MAX_BUSY: AtomicUsize = AtomicUsize::new(0);

fn worker(id: usize, jobs: &Receiver<u64>, results: &Sender<(usize, u64)>, wg: &WaitGroup) {
    defer!(wg.done());
    for j in jobs {
        let now = BUSY.fetch_add(1, Ordering::SeqCst) + 1;
        MAX_BUSY.fetch_max(now, Ordering::SeqCst);
        results.send((id, j * j));
        BUSY.fetch_sub(1, Ordering::SeqCst);
    }
}

#[go::main]
fn main() {
    let jobs = make!(chan u64, 100);
    let results = make!(chan(usize, u64), 100);
    let wg = WaitGroup::new();
    for id in 1..=WORKERS {
        wg.add(1);
        go!(worker(id, &jobs.receiver(), &results.sender(), &wg));
    }
    let feeder = jobs.clone();
    go!(move || {
        for j in 1..=JOBS {
            feeder.send(j);
        }
        feeder.close();
    });
    let closer = results.clone();
    let wg2 = wg.clone();
    go!(move || {
        wg2.wait();
        closer.close();
    });
    let (mut sum, mut count, mut per_worker) = (0u64, 0u64, [0u64; WORKERS]);
    for (id, r) in &results {
        sum += r;
        count += 1;
        per_worker[id - 1] += 1;
    }
    println!("{count} jobs done by {WORKERS} workers, sum of squares {sum}");
    println!("jobs per worker: {per_worker:?}");
    println!("at most {} jobs in progress at once", MAX_BUSY.load(Ordering::SeqCst));
}
