//! `Select` behaves like Go's `select` (docs/go-semantics.md, 28-34).

mod common;

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::watchdog;
use go::chan::{Chan, Select};

#[test]
fn item_28_operands_and_send_values_are_evaluated_once_in_order() {
    let log = RefCell::new(Vec::new());
    let chans = [Chan::<u32>::new(1), Chan::new(1), Chan::new(1)];
    let pick = |i: usize| {
        log.borrow_mut().push(format!("chan {i}"));
        &chans[i]
    };
    let value = |v: u32| {
        log.borrow_mut().push(format!("value {v}"));
        v
    };
    let r = Select::new()
        .recv(pick(0), |_| "recv")
        .send(pick(1), value(7), || "send 1")
        .send(pick(2), value(8), || "send 2")
        .wait();
    assert!(["send 1", "send 2"].contains(&r), "{r}");
    assert_eq!(*log.borrow(), ["chan 0", "chan 1", "value 7", "chan 2", "value 8"]);
}

#[test]
fn item_29_ready_cases_are_chosen_uniformly_at_random() {
    const TRIALS: usize = 120_000;
    let chans: Vec<Chan<u8>> = (0..3).map(|_| Chan::new(1)).collect();
    let mut counts = [0usize; 3];
    for _ in 0..TRIALS {
        for c in &chans {
            if c.is_empty() {
                c.send(0);
            }
        }
        let i = Select::new()
            .recv(&chans[0], |_| 0)
            .recv(&chans[1], |_| 1)
            .recv(&chans[2], |_| 2)
            .wait();
        counts[i] += 1;
    }
    for (i, &n) in counts.iter().enumerate() {
        let share = n as f64 / TRIALS as f64 * 100.0;
        assert!(
            (share - 100.0 / 3.0).abs() < 1.0,
            "case {i}: {share:.2}% of {TRIALS} ({counts:?})"
        );
    }
    // Send and receive on one buffered channel that has both room and a value.
    let c = Chan::<u8>::new(2);
    let mut sends = 0usize;
    for _ in 0..20_000 {
        while c.len() != 1 {
            if c.is_empty() {
                c.send(1)
            } else {
                c.recv();
            }
        }
        if Select::new().send(&c, 2, || true).recv(&c, |_| false).wait() {
            sends += 1;
        }
    }
    let share = sends as f64 / 200.0;
    assert!((share - 50.0).abs() < 2.0, "send chosen {share:.2}% of the time");
}

#[test]
fn item_30_default_runs_only_when_nothing_is_ready() {
    let c = Chan::<u8>::new(1);
    assert_eq!(Select::new().recv(&c, |_| "recv").default(|| "default").wait(), "default");
    c.send(1);
    for _ in 0..1000 {
        c.try_send(1).ok();
        assert_eq!(Select::new().recv(&c, |_| "recv").default(|| "default").wait(), "recv");
    }
}

#[test]
fn item_31_select_with_no_cases_or_only_nil_blocks() {
    // `select {}`: with a deadline we can watch it not return early.
    let t = Instant::now();
    let r = Select::<u8>::new().timeout(Duration::from_millis(30), || 1).wait();
    assert_eq!(r, 1);
    assert!(t.elapsed() >= Duration::from_millis(30));
    let nil = Chan::<u8>::nil();
    let t = Instant::now();
    let r = Select::new()
        .recv(&nil, |_| 0)
        .send(&nil, 1, || 0)
        .timeout(Duration::from_millis(30), || 2)
        .wait();
    assert_eq!(r, 2);
    assert!(t.elapsed() >= Duration::from_millis(30));
    // And without a deadline it really does not return.
    let h = go::spawn(|| Select::<()>::new().wait());
    go::time::sleep(Duration::from_millis(30));
    assert!(!h.is_finished());
}

#[test]
fn item_32_nil_channel_cases_are_never_ready() {
    let nil = Chan::<u8>::nil();
    let ready = Chan::<u8>::new(1);
    for _ in 0..1000 {
        ready.send(1);
        assert_eq!(Select::new().recv(&nil, |_| "nil").recv(&ready, |_| "ready").wait(), "ready");
    }
    assert_eq!(Select::new().send(&nil, 1, || "nil").default(|| "default").wait(), "default");
}

#[test]
fn item_33_closed_channels_in_select() {
    let c = Chan::<u8>::new(0);
    c.close();
    for _ in 0..100 {
        assert_eq!(Select::new().recv(&c, |v| v).default(|| Some(9)).wait(), None);
    }
    let c2 = c.clone();
    let r =
        std::panic::catch_unwind(move || Select::new().send(&c2, 1, || ()).default(|| ()).wait());
    assert_eq!(r.unwrap_err().downcast_ref::<&str>(), Some(&"send on closed channel"));
    // A select blocked in a send wakes up panicking when the channel closes.
    let c = Chan::<u8>::new(0);
    let other = Chan::<u8>::new(0);
    let (c2, o2) = (c.clone(), other.clone());
    let h = go::spawn(move || Select::new().send(&c2, 1, || ()).recv(&o2, |_| ()).wait());
    go::time::sleep(Duration::from_millis(10));
    c.close();
    let err = h.join().unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"send on closed channel"));
    // A blocked receive case wakes with None.
    let c = Chan::<u8>::new(0);
    let c2 = c.clone();
    let h = go::spawn(move || Select::new().recv(&c2, |v| v).recv(&other, |_| Some(1)).wait());
    go::time::sleep(Duration::from_millis(10));
    c.close();
    assert_eq!(h.join().unwrap(), None);
}

#[test]
fn item_34_after_times_out_a_select() {
    let never = Chan::<u8>::new(0);
    let t = Instant::now();
    let timeout = go::time::after(Duration::from_millis(20));
    let r = Select::new().recv(&never, |_| "value").recv(&timeout, |_| "timeout").wait();
    assert_eq!(r, "timeout");
    assert!(t.elapsed() >= Duration::from_millis(20));
    // From a goroutine too (the timer lives in the worker's heap).
    let h = go::spawn(|| {
        let never = Chan::<u8>::new(0);
        let t = Instant::now();
        let timeout = go::time::after(Duration::from_millis(20));
        let r = Select::new()
            .recv(&never, |_| 0)
            .recv(&timeout, |at| at.map_or(0, |at| at.duration_since(t).as_millis()))
            .wait();
        (r, t.elapsed())
    });
    let (fired_after, took) = h.join().unwrap();
    assert!(fired_after >= 20 && took >= Duration::from_millis(20), "{fired_after} {took:?}");
    // after(d) delivers exactly one value.
    let rx = go::time::after(Duration::from_millis(1));
    assert!(rx.recv().is_some());
    assert!(rx.recv_timeout(Duration::from_millis(20)).is_err());
}

#[test]
fn select_storm_with_random_closes_loses_and_duplicates_nothing() {
    let _w = watchdog(Duration::from_secs(120), "select storm");
    for round in 0..20 {
        let chans: Vec<Chan<u64>> = (0..4).map(|i| Chan::new(i % 2 * 4)).collect();
        let sent = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(AtomicUsize::new(0));
        let sum_sent = Arc::new(AtomicUsize::new(0));
        let sum_recv = Arc::new(AtomicUsize::new(0));
        let wg = go::sync::WaitGroup::new();
        // Senders select over all channels; a send that panics (closed) ends
        // the sender.
        for s in 0..4u64 {
            let (chans, sent, sum_sent) = (chans.clone(), sent.clone(), sum_sent.clone());
            wg.go(move || {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    for i in 0..2000u64 {
                        let v = s * 1_000_000 + i;
                        let sel = Select::new()
                            .send(&chans[0], v, || ())
                            .send(&chans[1], v, || ())
                            .send(&chans[2], v, || ())
                            .send(&chans[3], v, || ());
                        sel.wait();
                        sent.fetch_add(1, Ordering::SeqCst);
                        sum_sent.fetch_add(v as usize, Ordering::SeqCst);
                    }
                }));
                if let Err(e) = r {
                    assert_eq!(e.downcast_ref::<&str>(), Some(&"send on closed channel"));
                }
            });
        }
        // Receivers select over all channels until all four are closed.
        for _ in 0..3 {
            let (chans, received, sum_recv) = (chans.clone(), received.clone(), sum_recv.clone());
            wg.go(move || {
                let mut open: Vec<Chan<u64>> = chans.clone();
                while open.iter().any(|c| !c.is_nil()) {
                    let (i, v) = Select::new()
                        .recv(&open[0], |v| (0, v))
                        .recv(&open[1], |v| (1, v))
                        .recv(&open[2], |v| (2, v))
                        .recv(&open[3], |v| (3, v))
                        .wait();
                    match v {
                        Some(v) => {
                            received.fetch_add(1, Ordering::SeqCst);
                            sum_recv.fetch_add(v as usize, Ordering::SeqCst);
                        }
                        None => open[i] = Chan::nil(),
                    }
                }
            });
        }
        // Close the channels at random moments.
        let mut order: Vec<usize> = (0..4).collect();
        order.rotate_left(round % 4);
        for i in order {
            go::time::sleep(Duration::from_micros(200 * (round as u64 % 5 + 1)));
            chans[i].close();
        }
        wg.wait();
        assert_eq!(sent.load(Ordering::SeqCst), received.load(Ordering::SeqCst), "round {round}");
        assert_eq!(
            sum_sent.load(Ordering::SeqCst),
            sum_recv.load(Ordering::SeqCst),
            "round {round}"
        );
    }
}

#[test]
fn select_from_a_plain_thread_and_goroutines_together() {
    let c = Chan::<u32>::new(0);
    let d = Chan::<u32>::new(0);
    let (c2, d2) = (c.clone(), d.clone());
    let t = std::thread::spawn(move || {
        (0..1000)
            .map(|_| Select::new().recv(&c2, |v| v.unwrap()).recv(&d2, |v| v.unwrap()).wait())
            .sum::<u32>()
    });
    let h = go::spawn(move || {
        for i in 0..1000 {
            if i % 2 == 0 { c.send(i) } else { d.send(i) }
        }
    });
    h.join().unwrap();
    assert_eq!(t.join().unwrap(), (0..1000).sum::<u32>());
}

/// Two selects, each sending on one channel and receiving on the other, from
/// plain threads and goroutines at once: every registration meets waiters of
/// the other select. Regression test for a lost wake-up: a select that
/// claimed itself while registering made its counterpart drop its waiter on
/// another channel for good (both then waited for ever).
#[test]
fn crossing_selects_never_lose_each_other() {
    let _w = watchdog(Duration::from_secs(60), "crossing selects");
    const ROUNDS: usize = 20_000;
    let (a, b) = (Chan::<usize>::new(0), Chan::<usize>::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let got = Arc::new(AtomicUsize::new(0));
    let side = |a: Chan<usize>, b: Chan<usize>, sent: Arc<AtomicUsize>, got: Arc<AtomicUsize>| {
        move || {
            for i in 0..ROUNDS {
                Select::new()
                    .send(&a, i, || {
                        sent.fetch_add(1, Ordering::Relaxed);
                    })
                    .recv(&b, |v| {
                        got.fetch_add(v.map_or(0, |_| 1), Ordering::Relaxed);
                    })
                    .wait();
            }
        }
    };
    let g = go::spawn(side(a.clone(), b.clone(), sent.clone(), got.clone()));
    let t = std::thread::spawn(side(b.clone(), a.clone(), sent.clone(), got.clone()));
    g.join().unwrap();
    t.join().unwrap();
    // Every completed select is one send and one receive on the other side.
    assert_eq!(sent.load(Ordering::Relaxed), ROUNDS);
    assert_eq!(got.load(Ordering::Relaxed), ROUNDS);
}
