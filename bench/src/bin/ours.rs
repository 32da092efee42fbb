//! The workloads on `go` (this crate).

use std::time::{Duration, Instant};

use go::chan::{Chan, Select};
use go::sync::{Mutex, RwMutex, WaitGroup};
use go_bench::{Gaps, Report, args, compute, sleep_window};

fn main() {
    let (workload, n) = args();
    if std::env::var("GO_MIGRATE").is_ok_and(|v| v == "1") {
        // SAFETY: no goroutine here holds a thread-bound value across a
        // blocking call.
        unsafe { go::runtime::enable_migration() };
    }
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
        // 1000 (10,000) goroutines each yielding n times.
        "gosched" | "gosched10k" => {
            let gs = if workload == "gosched" { 1000 } else { 10_000 };
            let r = Report::start();
            let wg = WaitGroup::new();
            for _ in 0..gs {
                wg.go(move || {
                    for _ in 0..n {
                        go::runtime::gosched();
                    }
                });
            }
            wg.wait();
            r.finish(gs * n);
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
        // Unbuffered ping-pong: n round trips between two goroutines.
        "pingpong" => pingpong(n, |pong| pong.recv()),
        // The ping-pong with both receives a blocking select over the data
        // channel and a quit channel (Go's `for { select { ... } }` loop).
        "select-pingpong" => {
            let r = Report::start();
            let (ping, pong) = (Chan::<u64>::new(0), Chan::<u64>::new(0));
            let quit = Chan::<()>::new(0);
            let (rx, tx, q) = (ping.clone(), pong.clone(), quit.clone());
            let echo = go::spawn(move || {
                loop {
                    go::select! {
                        case v := <-rx => tx.send(v),
                        case <-q => return,
                    }
                }
            });
            for i in 0..n {
                ping.send(i);
                go::select! {
                    case v := <-pong => { std::hint::black_box(v); },
                    case <-quit => unreachable!(),
                }
            }
            r.finish(n);
            quit.close();
            echo.join().unwrap();
        }
        // `go::block_on` of a future that is ready at once, n times, on a
        // goroutine.
        "blockon-ready" => {
            let r = Report::start();
            let mut sum = 0u64;
            for i in 0..n {
                sum = sum.wrapping_add(go::block_on(async move { i }));
            }
            std::hint::black_box(sum);
            r.finish(n);
        }
        // The ping-pong with the main goroutine's receive a future run by
        // `go::block_on`: woken by the other goroutine's send.
        "blockon-pingpong" => pingpong(n, |pong| go::block_on(pong.recv_async())),
        // Buffered (1024) channel, 4 producers x 4 consumers, n messages.
        "mpmc" => {
            let ch = Chan::<u64>::new(1024);
            let r = Report::start();
            let wg = WaitGroup::new();
            for _ in 0..4 {
                let tx = ch.sender();
                wg.go(move || (0..n / 4).for_each(|i| tx.send(i)));
            }
            let consumers = WaitGroup::new();
            for _ in 0..4 {
                let rx = ch.receiver();
                consumers.go(move || {
                    let mut sum = 0u64;
                    for v in &rx {
                        sum = sum.wrapping_add(v);
                    }
                    std::hint::black_box(sum);
                });
            }
            wg.wait();
            ch.close();
            consumers.wait();
            r.finish(n / 4 * 4);
        }
        // Select over 4 ready channels: receive from one, refill it. With
        // `select!`, as Go's select statement; `select4-builder` with the
        // `Select` builder, which keeps its cases in a per-thread buffer.
        "select4" => {
            let chans: Vec<Chan<u64>> = (0..4).map(|_| Chan::new(1)).collect();
            chans.iter().for_each(|c| c.send(0));
            let (c0, c1, c2, c3) = (&chans[0], &chans[1], &chans[2], &chans[3]);
            let r = Report::start();
            for _ in 0..n {
                let i = go::select! {
                    case <-c0 => 0,
                    case <-c1 => 1,
                    case <-c2 => 2,
                    case <-c3 => 3,
                };
                chans[i].send(0);
            }
            r.finish(n);
        }
        "select4-builder" => {
            let chans: Vec<Chan<u64>> = (0..4).map(|_| Chan::new(1)).collect();
            chans.iter().for_each(|c| c.send(0));
            let r = Report::start();
            for _ in 0..n {
                let i = Select::new()
                    .recv(&chans[0], |_| 0)
                    .recv(&chans[1], |_| 1)
                    .recv(&chans[2], |_| 2)
                    .recv(&chans[3], |_| 3)
                    .wait();
                chans[i].send(0);
            }
            r.finish(n);
        }
        // 1000 goroutines x n increments under one Mutex.
        "mutex" => {
            static COUNTER: Mutex<u64> = Mutex::new(0);
            let r = Report::start();
            let wg = WaitGroup::new();
            for _ in 0..1000 {
                wg.go(move || (0..n).for_each(|_| *COUNTER.lock() += 1));
            }
            wg.wait();
            r.finish(1000 * n);
            assert_eq!(*COUNTER.lock(), 1000 * n);
        }
        // 8 readers x n read locks, 1 writer x n/10 write locks.
        "rwmutex" => {
            static DATA: RwMutex<u64> = RwMutex::new(0);
            let r = Report::start();
            let wg = WaitGroup::new();
            for _ in 0..8 {
                wg.go(move || {
                    (0..n).for_each(|_| {
                        std::hint::black_box(*DATA.read());
                    })
                });
            }
            wg.go(move || (0..n / 10).for_each(|_| *DATA.write() += 1));
            wg.wait();
            r.finish(8 * n + n / 10);
        }
        // A goroutine ticking every 1 ms beside 4 goroutines that compute
        // for n ms with a non-blocking channel operation in their loops: the
        // worst gap between two ticks.
        "fairness" => {
            let r = Report::start();
            let ch = Chan::<u64>::new(1);
            let stop = Instant::now() + Duration::from_millis(n);
            let wg = WaitGroup::new();
            for _ in 0..4 {
                let ch = ch.clone();
                wg.go(move || {
                    let mut x = 1;
                    while Instant::now() < stop {
                        x = compute(x);
                        let _ = ch.try_recv();
                    }
                });
            }
            let mut gaps = Gaps::default();
            while Instant::now() < stop {
                go::time::sleep(Duration::from_millis(1));
                gaps.tick();
            }
            wg.wait();
            r.finish_with(gaps.ticks, &gaps.field());
        }
        other => panic!("unknown workload {other}"),
    });
}

/// Unbuffered ping-pong: n round trips between two goroutines, the caller
/// receiving each answer with `recv`.
fn pingpong(n: u64, recv: impl Fn(&Chan<u64>) -> Option<u64>) {
    let r = Report::start();
    let (ping, pong) = (Chan::<u64>::new(0), Chan::<u64>::new(0));
    let (rx, tx) = (ping.clone(), pong.clone());
    go::spawn(move || {
        for v in &rx {
            tx.send(v);
        }
    });
    for i in 0..n {
        ping.send(i);
        recv(&pong);
    }
    r.finish(n);
    ping.close();
}
