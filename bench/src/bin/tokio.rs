//! The same workloads on tokio, the runtime Rust users would otherwise pick.
//! GOMAXPROCS=1 uses the current-thread runtime, larger values the
//! multi-thread one with that many workers; the driver runs inside a
//! spawned task, as Go's main goroutine runs on a P.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use go_bench::{Report, args, sleep_window};
use tokio::sync::Notify;

/// A WaitGroup for tokio: a counter and a Notify.
#[derive(Clone, Default)]
struct Wg(Arc<(AtomicU64, Notify)>);

impl Wg {
    fn add(&self, n: u64) {
        self.0.0.fetch_add(n, Ordering::Relaxed);
    }
    fn done(&self) {
        if self.0.0.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.1.notify_one();
        }
    }
    async fn wait(&self) {
        while self.0.0.load(Ordering::Acquire) != 0 {
            self.0.1.notified().await;
        }
    }
}

async fn workload(name: String, n: u64) {
    match name.as_str() {
        "spawn" => {
            let r = Report::start();
            let wg = Wg::default();
            for _ in 0..n {
                wg.add(1);
                let wg = wg.clone();
                tokio::spawn(async move { wg.done() });
            }
            wg.wait().await;
            r.finish(n);
        }
        "gosched" => {
            let r = Report::start();
            let wg = Wg::default();
            for _ in 0..1000 {
                wg.add(1);
                let wg = wg.clone();
                tokio::spawn(async move {
                    for _ in 0..n {
                        tokio::task::yield_now().await;
                    }
                    wg.done();
                });
            }
            wg.wait().await;
            r.finish(1000 * n);
        }
        "sleep" => {
            let r = Report::start();
            let wg = Wg::default();
            let deadline = tokio::time::Instant::now() + sleep_window(n);
            for _ in 0..n {
                wg.add(1);
                let wg = wg.clone();
                tokio::spawn(async move {
                    tokio::time::sleep_until(deadline).await;
                    wg.done();
                });
            }
            r.all_parked(deadline.into_std());
            wg.wait().await;
            r.finish(n);
        }
        other => panic!("unknown workload {other}"),
    }
}

fn main() {
    let (name, n) = args();
    let procs: usize = std::env::var("GOMAXPROCS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let rt = if procs == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(procs).enable_all().build()
    }
    .expect("tokio runtime");
    rt.block_on(async move { tokio::spawn(workload(name, n)).await.unwrap() });
}
