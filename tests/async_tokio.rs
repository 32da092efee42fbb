//! The bridge to tokio (`--features tokio`): tokio's sockets inside
//! goroutines through `go::block_on`, and tokio tasks awaiting goroutines
//! and channels without blocking tokio's worker.
#![cfg(feature = "tokio")]

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{is_child, run_child, texts, watchdog};
use go::chan::Chan;
use go::sync::WaitGroup;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A goroutine talks to a `go::net` server through `tokio::net::TcpStream`
/// (the server answers after 200 ms), while a neighbour on the same (only)
/// worker ticks every 1 ms: the exchange parks only its goroutine.
#[test]
fn tokio_sockets_in_a_goroutine_park_only_the_goroutine() {
    const NAME: &str = "tokio_sockets_in_a_goroutine_park_only_the_goroutine";
    if is_child(NAME) {
        let ln = go::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        go::spawn(move || {
            let (mut conn, _) = ln.accept().unwrap();
            let mut buf = [0u8; 4];
            conn.read_exact(&mut buf).unwrap();
            go::time::sleep(Duration::from_millis(200));
            buf.reverse();
            conn.write_all(&buf).unwrap();
        });
        let client = go::spawn(move || {
            go::block_on(async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                s.write_all(b"ping").await.unwrap();
                let mut buf = [0u8; 4];
                s.read_exact(&mut buf).await.unwrap();
                tokio::time::sleep(Duration::from_millis(10)).await;
                buf
            })
        });
        let ticker = go::spawn(|| {
            let mut worst = Duration::ZERO;
            let mut last = std::time::Instant::now();
            for _ in 0..300 {
                go::time::sleep(Duration::from_millis(1));
                worst = worst.max(last.elapsed());
                last = std::time::Instant::now();
            }
            worst
        });
        println!("reply={}", String::from_utf8_lossy(&client.join().unwrap()));
        println!("gap_ms={}", ticker.join().unwrap().as_millis());
        return;
    }
    let out = run_child(NAME, &[("GOMAXPROCS", "1")]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("reply=gnip"), "{stdout}");
    // Blocking the worker would show the server's 200 ms.
    let gap = common::reported(&stdout, "gap_ms", &stderr);
    assert!(gap < common::GAP_BOUND_MS, "the neighbour waited {gap} ms");
}

/// A tokio task awaits 10,000 goroutines and receives 1,000,000 values
/// that goroutines send on a channel: nothing lost, and tokio's only
/// worker thread keeps running its other tasks meanwhile.
#[test]
fn a_tokio_task_awaits_goroutines_and_channels() {
    let _dog = watchdog(Duration::from_secs(240), "tokio awaiting goroutines");
    const SENDERS: u64 = 10;
    const PER: u64 = 100_000;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let ticks = Arc::new(AtomicUsize::new(0));
        let t = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(1)).await;
                t.fetch_add(1, Ordering::Relaxed);
            }
        });
        let handles: Vec<_> = (0..10_000u64).map(|i| go::spawn(move || i * 2)).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        assert_eq!(sum, (0..10_000u64).map(|i| i * 2).sum::<u64>());

        let ch = Chan::new(128);
        let wg = WaitGroup::new();
        for s in 0..SENDERS {
            let tx = ch.clone();
            wg.go(move || {
                for i in 0..PER {
                    tx.send(s * PER + i);
                }
            });
        }
        let closer = ch.clone();
        let waited = wg.clone();
        go::spawn(move || {
            waited.wait();
            closer.close();
        });
        let before = ticks.load(Ordering::Relaxed);
        let (mut n, mut total) = (0u64, 0u64);
        while let Some(v) = ch.recv_async().await {
            n += 1;
            total += v;
        }
        wg.wait_async().await;
        assert_eq!(n, SENDERS * PER);
        assert_eq!(total, (0..SENDERS * PER).sum::<u64>());
        // The ticker ran while we waited on goroutines (a blocked worker
        // would have starved it).
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(ticks.load(Ordering::Relaxed) > before, "tokio's worker was blocked");
        ticker.abort();
    });
}

/// `recv_async` as the losing branch of `tokio::select!`, 100,000 rounds,
/// against senders on goroutines: every value arrives exactly once.
#[test]
fn recv_async_cancelled_by_tokio_select_loses_no_value() {
    let _dog = watchdog(Duration::from_secs(240), "select cancellation");
    const ROUNDS: u64 = 100_000;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let ch = Chan::new(0);
        let tx = ch.clone();
        go::spawn(move || {
            for i in 0..ROUNDS {
                tx.send(i);
            }
            tx.close();
        });
        let mut expect = 0;
        let mut cancelled = 0u64;
        loop {
            tokio::select! {
                v = ch.recv_async() => match v {
                    Some(v) => {
                        assert_eq!(v, expect, "out of order or lost");
                        expect += 1;
                    }
                    None => break,
                },
                () = tokio::task::yield_now() => cancelled += 1,
            }
        }
        assert_eq!(expect, ROUNDS);
        println!("{cancelled} receives cancelled");
    });
}

/// `tokio::select!` between a context's cancellation and a channel.
#[test]
fn context_done_in_tokio_select() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (ctx, cancel) =
        go::context::with_timeout(&go::context::background(), Duration::from_millis(30));
    let ch = Chan::<u8>::new(0);
    let got = rt.block_on(async {
        tokio::select! {
            _ = ctx.done().recv_async() => "cancelled",
            _ = ch.recv_async() => "value",
        }
    });
    cancel();
    assert_eq!(got, "cancelled");
}

/// `go::tokio_handle` spawns on the runtime `block_on` polls in; tokio
/// futures made inside `block_on`'s async block find its context.
#[test]
fn the_bridge_runtime_runs_tokio_tasks() {
    let h = go::tokio_handle().spawn(async {
        tokio::time::sleep(Duration::from_millis(5)).await;
        6 * 7
    });
    let from_goroutine = go::spawn(|| {
        go::block_on(async { tokio::time::sleep(Duration::from_millis(5)).await });
    });
    assert_eq!(go::block_on(h).unwrap(), 42);
    from_goroutine.join().unwrap();
}
