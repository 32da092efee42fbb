//! The same workloads on tokio, the runtime Rust users would otherwise pick.
//! GOMAXPROCS=1 uses the current-thread runtime, larger values the
//! multi-thread one with that many workers; the driver runs inside a
//! spawned task, as Go's main goroutine runs on a P.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use go_bench::{Gaps, Report, args, compute, sleep_window};
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
        "gosched" | "gosched10k" => {
            let gs = if name == "gosched" { 1000 } else { 10_000 };
            let r = Report::start();
            let wg = Wg::default();
            for _ in 0..gs {
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
            r.finish(gs * n);
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
        // tokio has no rendezvous channel: mpsc with room for one.
        "pingpong" => {
            let r = Report::start();
            let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(1);
            let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(1);
            tokio::spawn(async move {
                while let Some(v) = ping_rx.recv().await {
                    if pong_tx.send(v).await.is_err() {
                        break;
                    }
                }
            });
            for i in 0..n {
                ping_tx.send(i).await.unwrap();
                pong_rx.recv().await.unwrap();
            }
            r.finish(n);
        }
        // The ping-pong with both receives a `select!` over the data channel
        // and a quit channel.
        "select-pingpong" => {
            let r = Report::start();
            let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(1);
            let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(1);
            let (quit_tx, mut quit_rx) = tokio::sync::mpsc::channel::<()>(1);
            let echo = tokio::spawn(async move {
                loop {
                    tokio::select! {
                        Some(v) = ping_rx.recv() => pong_tx.send(v).await.unwrap(),
                        _ = quit_rx.recv() => return,
                    }
                }
            });
            let (_keep, mut never) = tokio::sync::mpsc::channel::<()>(1);
            for i in 0..n {
                ping_tx.send(i).await.unwrap();
                tokio::select! {
                    v = pong_rx.recv() => { std::hint::black_box(v); },
                    _ = never.recv() => unreachable!(),
                }
            }
            r.finish(n);
            drop(quit_tx);
            echo.await.unwrap();
        }
        // tokio has no MPMC channel: async-channel, the usual choice.
        "mpmc" => {
            let (tx, rx) = async_channel::bounded::<u64>(1024);
            let r = Report::start();
            let mut producers = Vec::new();
            for _ in 0..4 {
                let tx = tx.clone();
                producers.push(tokio::spawn(async move {
                    for i in 0..n / 4 {
                        tx.send(i).await.unwrap();
                    }
                }));
            }
            drop(tx);
            let mut consumers = Vec::new();
            for _ in 0..4 {
                let rx = rx.clone();
                consumers.push(tokio::spawn(async move {
                    let mut sum = 0u64;
                    while let Ok(v) = rx.recv().await {
                        sum = sum.wrapping_add(v);
                    }
                    std::hint::black_box(sum);
                }));
            }
            for p in producers {
                p.await.unwrap();
            }
            for c in consumers {
                c.await.unwrap();
            }
            r.finish(n / 4 * 4);
        }
        // tokio has one select! too.
        "select4" | "select4-builder" => {
            let mut txs = Vec::new();
            let mut rxs = Vec::new();
            for _ in 0..4 {
                let (tx, rx) = tokio::sync::mpsc::channel::<u64>(1);
                tx.send(0).await.unwrap();
                txs.push(tx);
                rxs.push(rx);
            }
            let [r0, r1, r2, r3] = &mut rxs[..] else { unreachable!() };
            let r = Report::start();
            for _ in 0..n {
                let i = tokio::select! {
                    _ = r0.recv() => 0,
                    _ = r1.recv() => 1,
                    _ = r2.recv() => 2,
                    _ = r3.recv() => 3,
                };
                txs[i].send(0).await.unwrap();
            }
            r.finish(n);
        }
        "mutex" => {
            let counter = Arc::new(tokio::sync::Mutex::new(0u64));
            let r = Report::start();
            let mut hs = Vec::new();
            for _ in 0..1000 {
                let c = counter.clone();
                hs.push(tokio::spawn(async move {
                    for _ in 0..n {
                        *c.lock().await += 1;
                    }
                }));
            }
            for h in hs {
                h.await.unwrap();
            }
            r.finish(1000 * n);
        }
        "rwmutex" => {
            let data = Arc::new(tokio::sync::RwLock::new(0u64));
            let r = Report::start();
            let mut hs = Vec::new();
            for _ in 0..8 {
                let d = data.clone();
                hs.push(tokio::spawn(async move {
                    for _ in 0..n {
                        std::hint::black_box(*d.read().await);
                    }
                }));
            }
            let d = data.clone();
            hs.push(tokio::spawn(async move {
                for _ in 0..n / 10 {
                    *d.write().await += 1;
                }
            }));
            for h in hs {
                h.await.unwrap();
            }
            r.finish(8 * n + n / 10);
        }
        // As in ours.rs: tasks cannot be preempted either, and `try_recv`
        // does not count against tokio's cooperative budget.
        "fairness" => {
            let r = Report::start();
            let (_tx, rx) = tokio::sync::broadcast::channel::<u64>(1);
            let stop = Instant::now() + Duration::from_millis(n);
            let mut hs = Vec::new();
            for _ in 0..4 {
                let mut rx = rx.resubscribe();
                hs.push(tokio::spawn(async move {
                    let mut x = 1;
                    while Instant::now() < stop {
                        x = compute(x);
                        let _ = rx.try_recv();
                    }
                }));
            }
            let mut gaps = Gaps::default();
            while Instant::now() < stop {
                tokio::time::sleep(Duration::from_millis(1)).await;
                gaps.tick();
            }
            for h in hs {
                h.await.unwrap();
            }
            r.finish_with(gaps.ticks, &gaps.field());
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
