//! The workloads on `go` (this crate).

use std::time::Instant;

use go::sync::WaitGroup;
use go_bench::{Report, args, sleep_window};

fn main() {
    let (workload, n) = args();
    go::run(move || match workload.as_str() {
        // Spawn n trivial goroutines with a WaitGroup, wait for all.
        "spawn" => {
            let r = Report::start();
            let wg = WaitGroup::new();
            for _ in 0..n {
                wg.add(1);
                let wg = wg.clone();
                go::spawn(move || wg.done());
            }
            wg.wait();
            r.finish(n);
        }
        // 1000 goroutines each yielding n times.
        "gosched" => {
            let r = Report::start();
            let wg = WaitGroup::new();
            for _ in 0..1000 {
                wg.go(move || {
                    for _ in 0..n {
                        go::runtime::gosched();
                    }
                });
            }
            wg.wait();
            r.finish(1000 * n);
        }
        // n goroutines parked in sleep at once: each sleeps until a common
        // deadline far enough away that all are spawned before it.
        "sleep" => {
            let r = Report::start();
            let wg = WaitGroup::new();
            let deadline = Instant::now() + sleep_window(n);
            for _ in 0..n {
                wg.go(move || go::time::sleep(deadline.saturating_duration_since(Instant::now())));
            }
            r.all_parked(deadline);
            wg.wait();
            r.finish(n);
        }
        other => panic!("unknown workload {other}"),
    });
}
