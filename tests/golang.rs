//! Go's own channel and select tests, ported from `runtime/chan_test.go` of
//! the Go distribution (BSD-style license, Copyright The Go Authors), as
//! crossbeam-channel's `tests/golang.rs` did. Sizes are reduced where Go's
//! `testing.Short()` would reduce them. Each test names the Go test it ports.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use common::watchdog;
use go::chan::{Chan, Select};
use go::sync::WaitGroup;

/// TestChan, for capacities 0..20.
#[test]
fn test_chan() {
    let _w = watchdog(Duration::from_secs(120), "TestChan");
    for cap in 0..20usize {
        // Receive from an empty channel blocks.
        {
            let c = Chan::<i32>::new(cap);
            let recv1 = Arc::new(AtomicBool::new(false));
            let recv2 = Arc::new(AtomicBool::new(false));
            let (c1, r1) = (c.clone(), recv1.clone());
            go::spawn(move || {
                let _ = c1.recv();
                r1.store(true, Ordering::SeqCst);
            });
            let (c2, r2) = (c.clone(), recv2.clone());
            go::spawn(move || {
                let _ = c2.recv_ok();
                r2.store(true, Ordering::SeqCst);
            });
            go::time::sleep(Duration::from_millis(1));
            assert!(
                !recv1.load(Ordering::SeqCst) && !recv2.load(Ordering::SeqCst),
                "chan[{cap}]: receive from empty chan"
            );
            // A non-blocking receive does not block.
            assert!(Select::new().recv(&c, |_| false).default(|| true).wait(), "chan[{cap}]");
            c.send(0);
            c.send(0);
        }
        // Send to a full channel blocks.
        {
            let c = Chan::<i32>::new(cap);
            for i in 0..cap as i32 {
                c.send(i);
            }
            let sent = Arc::new(AtomicU32::new(0));
            let (c1, s1) = (c.clone(), sent.clone());
            go::spawn(move || {
                c1.send(0);
                s1.store(1, Ordering::SeqCst);
            });
            go::time::sleep(Duration::from_millis(1));
            assert_eq!(sent.load(Ordering::SeqCst), 0, "chan[{cap}]: send to full chan");
            assert!(Select::new().send(&c, 0, || false).default(|| true).wait(), "chan[{cap}]");
            c.recv();
        }
        // Receive 0 from a closed channel, after its buffered values.
        {
            let c = Chan::<i32>::new(cap);
            for i in 0..cap as i32 {
                c.send(i);
            }
            c.close();
            for i in 0..cap as i32 {
                assert_eq!(c.recv(), Some(i), "chan[{cap}]");
            }
            assert_eq!(c.recv_ok(), (0, false), "chan[{cap}]");
            assert_eq!(c.recv_ok(), (0, false), "chan[{cap}]");
        }
        // Close unblocks a receive.
        {
            let c = Chan::<i32>::new(cap);
            let done = Chan::<bool>::new(0);
            let (c1, d1) = (c.clone(), done.clone());
            go::spawn(move || {
                let (v, ok) = c1.recv_ok();
                d1.send(v == 0 && !ok);
            });
            go::time::sleep(Duration::from_millis(1));
            c.close();
            assert_eq!(done.recv(), Some(true), "chan[{cap}]: received non zero from closed chan");
        }
        // 100 integers arrive uncorrupted in FIFO order; then 4 x 1000 from 4
        // goroutines to 4 receivers, each value exactly 4 times.
        {
            let c = Chan::<i32>::new(cap);
            let c1 = c.clone();
            go::spawn(move || (0..100).for_each(|i| c1.send(i)));
            for i in 0..100 {
                assert_eq!(c.recv(), Some(i), "chan[{cap}]");
            }
            let c1 = c.clone();
            go::spawn(move || (0..100).for_each(|i| c1.send(i)));
            for i in 0..100 {
                assert_eq!(c.recv_ok(), (i, true), "chan[{cap}]");
            }
            const P: usize = 4;
            const L: i32 = 1000;
            for _ in 0..P {
                let c1 = c.clone();
                go::spawn(move || (0..L).for_each(|i| c1.send(i)));
            }
            let done = Chan::<HashMap<i32, usize>>::new(0);
            for _ in 0..P {
                let (c1, d1) = (c.clone(), done.clone());
                go::spawn(move || {
                    let mut recv = HashMap::new();
                    for _ in 0..L {
                        *recv.entry(c1.recv().unwrap()).or_insert(0) += 1;
                    }
                    d1.send(recv);
                });
            }
            let mut recv = HashMap::new();
            for _ in 0..P {
                for (k, v) in done.recv().unwrap() {
                    *recv.entry(k).or_insert(0) += v;
                }
            }
            assert_eq!(recv.len(), L as usize, "chan[{cap}]");
            assert!(recv.values().all(|&v| v == P), "chan[{cap}]");
        }
        // len and cap.
        {
            let c = Chan::<i32>::new(cap);
            assert_eq!((c.len(), c.cap()), (0, cap));
            for i in 0..cap as i32 {
                c.send(i);
            }
            assert_eq!((c.len(), c.cap()), (cap, cap));
        }
    }
}

/// TestNonblockRecvRace.
#[test]
fn test_nonblock_recv_race() {
    for _ in 0..1000 {
        let c = Chan::<i32>::new(1);
        c.send(1);
        let c1 = c.clone();
        let h = go::spawn(move || Select::new().recv(&c1, |_| true).default(|| false).wait());
        c.close();
        c.recv();
        assert!(h.join().unwrap(), "chan is not ready");
    }
}

/// TestNonblockSelectRace and TestNonblockSelectRace2: select acts on the
/// channels' state at one moment. `c1` is ready when the goroutine starts;
/// `ready_c2` makes `c2` ready before `c1` may be drained, so the select must
/// never take its default.
fn nonblock_select_race(c2_cap: usize, ready_c2: fn(&Chan<i32>)) {
    let done = Chan::<bool>::new(1);
    for _ in 0..10_000 {
        let c1 = Chan::<i32>::new(1);
        let c2 = Chan::<i32>::new(c2_cap);
        c1.send(1);
        let (a, b, d) = (c1.clone(), c2.clone(), done.clone());
        go::spawn(move || {
            let ok = Select::new().recv(&a, |_| true).recv(&b, |_| true).default(|| false).wait();
            d.send(ok);
        });
        ready_c2(&c2);
        Select::new().recv(&c1, |_| ()).default(|| ()).wait();
        assert_eq!(done.recv(), Some(true), "no chan is ready");
    }
}

#[test]
fn test_nonblock_select_race() {
    nonblock_select_race(1, |c2| c2.send(1));
}

/// As above, with close(c2) for c2 <- 1.
#[test]
fn test_nonblock_select_race2() {
    nonblock_select_race(0, |c2| c2.close());
}

/// TestSelfSelect: send and receive on one channel in one select neither
/// crash nor deadlock, and an unbuffered select never receives its own send.
#[test]
fn test_self_select() {
    let _w = watchdog(Duration::from_secs(60), "TestSelfSelect");
    for cap in [0usize, 10] {
        let wg = WaitGroup::new();
        let c = Chan::<usize>::new(cap);
        for p in 0..2usize {
            let c = c.clone();
            wg.go(move || {
                for i in 0..1000 {
                    let v = if p == 0 || i % 2 == 0 {
                        Select::new().send(&c, p, || None).recv(&c, |v| v).wait()
                    } else {
                        Select::new().recv(&c, |v| v).send(&c, p, || None).wait()
                    };
                    if cap == 0 {
                        assert_ne!(v, Some(p), "self receive");
                    }
                }
            });
        }
        wg.wait();
    }
}

/// TestSelectStress: 4 senders, 4 receivers, one select sending on all and
/// one receiving from all, disabling finished cases with nil channels.
#[test]
fn test_select_stress() {
    let _w = watchdog(Duration::from_secs(120), "TestSelectStress");
    const N: usize = 10_000;
    let c = [Chan::<i32>::new(0), Chan::new(0), Chan::new(2), Chan::new(3)];
    let wg = WaitGroup::new();
    for ck in &c {
        let (tx, rx) = (ck.clone(), ck.clone());
        wg.go(move || (0..N).for_each(|_| tx.send(0)));
        wg.go(move || (0..N).for_each(|_| assert!(rx.recv().is_some())));
    }
    let cs = c.clone();
    wg.go(move || {
        let mut n = [0; 4];
        let mut c1 = cs;
        for _ in 0..4 * N {
            let k = Select::new()
                .send(&c1[3], 0, || 3)
                .send(&c1[2], 0, || 2)
                .send(&c1[0], 0, || 0)
                .send(&c1[1], 0, || 1)
                .wait();
            n[k] += 1;
            if n[k] == N {
                c1[k] = Chan::nil();
            }
        }
    });
    let cs = c.clone();
    wg.go(move || {
        let mut n = [0; 4];
        let mut c1 = cs;
        for _ in 0..4 * N {
            let k = Select::new()
                .recv(&c1[0], |_| 0)
                .recv(&c1[1], |_| 1)
                .recv(&c1[2], |_| 2)
                .recv(&c1[3], |_| 3)
                .wait();
            n[k] += 1;
            if n[k] == N {
                c1[k] = Chan::nil();
            }
        }
    });
    wg.wait();
}

/// TestSelectFairness: two always-ready channels are chosen about equally.
#[test]
fn test_select_fairness() {
    const TRIALS: usize = 10_000;
    let c1 = Chan::<u8>::new(TRIALS + 1);
    let c2 = Chan::<u8>::new(TRIALS + 1);
    for _ in 0..=TRIALS {
        c1.send(1);
        c2.send(2);
    }
    let (c3, c4) = (Chan::<u8>::new(0), Chan::<u8>::new(0));
    let out = Chan::<u8>::new(0);
    let done = Chan::<u8>::new(0);
    let wg = WaitGroup::new();
    {
        let (c1, c2, out, done) = (c1.clone(), c2.clone(), out.clone(), done.clone());
        wg.go(move || {
            loop {
                let b = Select::new()
                    .recv(&c3, |b| b)
                    .recv(&c4, |b| b)
                    .recv(&c1, |b| b)
                    .recv(&c2, |b| b)
                    .wait()
                    .unwrap();
                if !Select::new().send(&out, b, || true).recv(&done, |_| false).wait() {
                    return;
                }
            }
        });
    }
    let (mut cnt1, mut cnt2) = (0.0f64, 0.0f64);
    for _ in 0..TRIALS {
        match out.recv().unwrap() {
            1 => cnt1 += 1.0,
            2 => cnt2 += 1.0,
            b => panic!("unexpected value {b} on channel"),
        }
    }
    let mean = TRIALS as f64 * 0.5;
    let stddev = (TRIALS as f64 * 0.25).sqrt();
    assert!((cnt1 - mean).abs() <= 10.0 * stddev, "unfair select: {cnt1}, {cnt2}");
    done.close();
    wg.wait();
}

/// TestPseudoRandomSend: two send cases on one channel both get chosen.
#[test]
fn test_pseudo_random_send() {
    const N: usize = 100;
    for cap in [0, N] {
        let c = Chan::<usize>::new(cap);
        let rx = c.clone();
        let h = go::spawn(move || {
            (0..N)
                .map(|_| {
                    go::runtime::gosched();
                    rx.recv().unwrap()
                })
                .collect::<Vec<_>>()
        });
        for _ in 0..N {
            Select::new().send(&c, 1, || ()).send(&c, 0, || ()).wait();
        }
        let l = h.join().unwrap();
        let n1: usize = l.iter().sum();
        let n0 = N - n1;
        assert!(
            n0 > N / 10 && n1 > N / 10,
            "want pseudorandom, got {n0} zeros and {n1} ones (cap {cap})"
        );
    }
}

/// TestMultiConsumer: 23 workers ranging over a channel, results summed.
#[test]
fn test_multi_consumer() {
    let _w = watchdog(Duration::from_secs(120), "TestMultiConsumer");
    const NWORK: usize = 23;
    const NITER: usize = 27_182;
    const PN: [usize; 10] = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31];
    let q = Chan::<usize>::new(NWORK * 3);
    let r = Chan::<usize>::new(NWORK * 3);
    let wg = WaitGroup::new();
    for w in 0..NWORK {
        let (q, r) = (q.receiver(), r.sender());
        wg.go(move || {
            for v in &q {
                // Mess with the FIFO-ish nature of range.
                if PN[w % PN.len()] == v {
                    go::runtime::gosched();
                }
                r.send(v);
            }
        });
    }
    let expect: usize = (0..NITER).map(|i| PN[i % PN.len()]).sum();
    {
        let (q, r, wg) = (q.clone(), r.clone(), wg.clone());
        go::spawn(move || {
            for i in 0..NITER {
                q.send(PN[i % PN.len()]);
            }
            q.close();
            wg.wait();
            r.close();
        });
    }
    let (mut n, mut s) = (0, 0);
    for v in &r {
        n += 1;
        s += v;
    }
    assert_eq!((n, s), (NITER, expect));
}

/// TestSelectDuplicateChannel: the same channel in two cases of a select.
#[test]
fn test_select_duplicate_channel() {
    let c = Chan::<i32>::new(0);
    let d = Chan::<i32>::new(0);
    let e = Chan::<i32>::new(0);
    let (c1, d1, e1) = (c.clone(), d.clone(), e.clone());
    // Blocks on c twice and on d; never woken through d.
    go::spawn(move || {
        Select::new().recv(&c1, |_| ()).recv(&c1, |_| ()).recv(&d1, |_| ()).wait();
        e1.send(9);
    });
    go::time::sleep(Duration::from_millis(1));
    // Another goroutine blocks on c too; the duplicate waiters must not
    // confuse the queue.
    let c2 = c.clone();
    go::spawn(move || {
        c2.recv();
    });
    go::time::sleep(Duration::from_millis(1));
    c.send(8);
    go::time::sleep(Duration::from_millis(1));
    c.send(7);
    assert_eq!(e.recv(), Some(9));
    drop(d);
}
