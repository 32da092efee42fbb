//! `Once`, `OnceValue`, `Cond` and `Semaphore` (docs/go-semantics.md, 46-48).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use common::watchdog;
use go::sync::{Cond, Mutex, Once, OnceValue, Semaphore, WaitGroup};

#[test]
fn item_46_once_runs_once_even_when_it_panics() {
    let once = Arc::new(Once::new());
    let runs = Arc::new(AtomicU32::new(0));
    let wg = WaitGroup::new();
    for _ in 0..100 {
        let (once, runs) = (once.clone(), runs.clone());
        wg.go(move || {
            once.call(|| {
                go::time::sleep(Duration::from_millis(5)); // others block meanwhile
                runs.fetch_add(1, Ordering::SeqCst);
            })
        });
    }
    wg.wait();
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    let once = Once::new();
    let r = std::panic::catch_unwind(|| once.call(|| panic!("init failed")));
    assert!(r.is_err());
    assert!(once.is_done(), "a panicking f still counts as done");
    let mut ran = false;
    once.call(|| ran = true);
    assert!(!ran);
}

#[test]
fn item_46_recursive_once_deadlocks() {
    static ONCE: Once = Once::new();
    let h = go::spawn(|| ONCE.call(|| ONCE.call(|| ())));
    go::time::sleep(Duration::from_millis(30));
    assert!(!h.is_finished());
}

#[test]
fn item_47_once_value_caches_and_repeats_its_panic() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let v = Arc::new(OnceValue::new(move || {
        c.fetch_add(1, Ordering::SeqCst);
        "value".to_string()
    }));
    let hs: Vec<_> = (0..50)
        .map(|_| {
            let v = v.clone();
            go::spawn(move || v.get().clone())
        })
        .collect();
    assert!(hs.into_iter().all(|h| h.join().unwrap() == "value"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let failing = OnceValue::new(|| -> u32 { panic!("bad config {}", 7) });
    for _ in 0..3 {
        let err = std::panic::catch_unwind(|| *failing.get()).unwrap_err();
        assert_eq!(err.downcast_ref::<String>().map(String::as_str), Some("bad config 7"));
    }
}

#[test]
fn item_48_cond_signal_is_fifo_and_broadcast_wakes_all() {
    let _w = watchdog(Duration::from_secs(30), "cond");
    let state = Arc::new((Mutex::new((0usize, Vec::new())), Cond::new()));
    let hs: Vec<_> = (0..5)
        .map(|id| {
            let s = state.clone();
            let h = go::spawn(move || {
                let (m, c) = &*s;
                let mut g = m.lock();
                g.0 += 1; // registered as waiting
                loop {
                    g = c.wait(g);
                    if g.1.len() < 5 && !g.1.contains(&id) {
                        g.1.push(id);
                        return;
                    }
                }
            });
            // Wait until this goroutine waits, so the queue order is 0..5.
            while state.0.lock().0 <= id {
                go::time::sleep(Duration::from_millis(1));
            }
            h
        })
        .collect();
    for _ in 0..5 {
        state.1.signal();
        go::time::sleep(Duration::from_millis(5));
    }
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(state.0.lock().1, [0, 1, 2, 3, 4], "Signal wakes the oldest waiter");

    let flag = Arc::new((Mutex::new(false), Cond::new()));
    let woken = Arc::new(AtomicU32::new(0));
    let waiters: Vec<_> = (0..20)
        .map(|_| {
            let (f, w) = (flag.clone(), woken.clone());
            go::spawn(move || {
                let mut g = f.0.lock();
                while !*g {
                    g = f.1.wait(g);
                }
                w.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    go::time::sleep(Duration::from_millis(20));
    *flag.0.lock() = true;
    flag.1.broadcast();
    waiters.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(woken.load(Ordering::SeqCst), 20);
}

#[test]
fn semaphore_bounds_concurrency_and_serves_fifo() {
    let _w = watchdog(Duration::from_secs(30), "semaphore");
    let sem = Arc::new(Semaphore::new(3));
    let running = Arc::new(AtomicU64::new(0));
    let peak = Arc::new(AtomicU64::new(0));
    let wg = WaitGroup::new();
    for _ in 0..60 {
        let (sem, running, peak) = (sem.clone(), running.clone(), peak.clone());
        wg.go(move || {
            sem.acquire(1);
            let n = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(n, Ordering::SeqCst);
            go::time::sleep(Duration::from_millis(1));
            running.fetch_sub(1, Ordering::SeqCst);
            sem.release(1);
        });
    }
    wg.wait();
    assert_eq!(peak.load(Ordering::SeqCst), 3);

    // A big request at the head is not overtaken by small ones.
    let sem = Arc::new(Semaphore::new(4));
    sem.acquire(3);
    let big = {
        let s = sem.clone();
        go::spawn(move || s.acquire(4))
    };
    go::time::sleep(Duration::from_millis(10));
    assert!(!sem.try_acquire(1), "a small request overtook the waiting big one");
    sem.release(3);
    big.join().unwrap();
    sem.release(4);
    let err = std::panic::catch_unwind(|| sem.release(1)).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"semaphore: released more than held"));
}

/// `OnceFunc`: 1,000 goroutines call it, the function runs once; a
/// panicking one panics on every call with the same message (Go's
/// `sync.OnceFunc`).
#[test]
fn once_func_runs_once_and_repeats_its_panic() {
    use go::sync::OnceFunc;
    for _ in 0..20 {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let once = Arc::new(OnceFunc::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
        }));
        let wg = WaitGroup::new();
        for _ in 0..50 {
            let once = once.clone();
            wg.go(move || {
                go::runtime::gosched();
                once.call();
            });
        }
        wg.wait();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
    let bad = OnceFunc::new(|| panic!("init {}", "failed"));
    for _ in 0..3 {
        let err = std::panic::catch_unwind(|| bad.call()).unwrap_err();
        assert_eq!(err.downcast_ref::<String>().map(String::as_str), Some("init failed"));
    }
}

/// `OnceValues`: the pair is computed once and shared.
#[test]
fn once_values_computes_the_pair_once() {
    use go::sync::OnceValues;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let v = Arc::new(OnceValues::new(move || {
        c.fetch_add(1, Ordering::SeqCst);
        (vec![1u8, 2, 3], Err::<(), &str>("not found"))
    }));
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let v = v.clone();
            go::spawn(move || {
                let (bytes, err) = v.get();
                (bytes.len(), *err)
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), (3, Err("not found")));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
