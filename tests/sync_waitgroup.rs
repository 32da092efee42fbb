//! `WaitGroup` (docs/go-semantics.md, 35, 36, 38, 39).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::watchdog;
use go::sync::WaitGroup;

#[test]
fn waits_for_10k_goroutines() {
    // docs/go-semantics.md, 35.
    let _w = watchdog(Duration::from_secs(60), "10k WaitGroup");
    let wg = WaitGroup::new();
    let sum = Arc::new(AtomicU64::new(0));
    for i in 0..10_000u64 {
        wg.add(1);
        let (wg, sum) = (wg.clone(), sum.clone());
        go::spawn(move || {
            sum.fetch_add(i, Ordering::Relaxed);
            wg.done();
        });
    }
    wg.wait();
    assert_eq!(sum.load(Ordering::Relaxed), 10_000 * 9_999 / 2);
}

#[test]
fn wait_on_zero_returns_at_once() {
    let wg = WaitGroup::new();
    wg.wait();
    go::spawn(move || wg.wait()).join().unwrap();
}

#[test]
fn reuse_over_many_rounds_from_goroutines_and_threads() {
    // docs/go-semantics.md, 38: reuse after Wait returns; a goroutine waits in some
    // rounds, the test thread in the others.
    let _w = watchdog(Duration::from_secs(60), "WaitGroup rounds");
    let wg = WaitGroup::new();
    let count = Arc::new(AtomicU64::new(0));
    for round in 0..200u64 {
        for _ in 0..50 {
            let c = count.clone();
            wg.go(move || {
                c.fetch_add(1, Ordering::Relaxed);
            });
        }
        if round % 2 == 0 {
            wg.wait();
        } else {
            let w = wg.clone();
            go::spawn(move || w.wait()).join().unwrap();
        }
        assert_eq!(count.load(Ordering::Relaxed), (round + 1) * 50, "round {round}");
    }
}

#[test]
fn many_waiters_are_all_released() {
    let _w = watchdog(Duration::from_secs(30), "many waiters");
    let wg = WaitGroup::new();
    wg.add(1);
    let released = Arc::new(AtomicU64::new(0));
    let waiters: Vec<_> = (0..1000)
        .map(|_| {
            let (wg, r) = (wg.clone(), released.clone());
            go::spawn(move || {
                wg.wait();
                r.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (wg, r) = (wg.clone(), released.clone());
            std::thread::spawn(move || {
                wg.wait();
                r.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    go::time::sleep(Duration::from_millis(20));
    assert_eq!(released.load(Ordering::Relaxed), 0, "nobody passes wait early");
    wg.done();
    for h in waiters {
        h.join().unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(released.load(Ordering::Relaxed), 1004);
}

#[test]
fn negative_counter_panics_with_go_text_and_leaves_counter_intact() {
    // docs/go-semantics.md, 36.
    let wg = WaitGroup::new();
    wg.add(1);
    let w = wg.clone();
    let err = go::spawn(move || w.add(-2)).join().unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"sync: negative WaitGroup counter"));
    wg.done();
    wg.wait();
    let err = std::panic::catch_unwind(|| wg.done()).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"sync: negative WaitGroup counter"));
}

#[test]
fn go_method_counts_and_runs_each_function_once() {
    // docs/go-semantics.md, 39.
    let wg = WaitGroup::new();
    let hits = Arc::new(AtomicU64::new(0));
    for _ in 0..1000 {
        let h = hits.clone();
        wg.go(move || {
            h.fetch_add(1, Ordering::Relaxed);
        });
    }
    wg.wait();
    assert_eq!(hits.load(Ordering::Relaxed), 1000);
}
