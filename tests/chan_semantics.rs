//! Channels behave like Go's (docs/go-semantics.md, 19-27); each test names its item.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{is_child, run_child, texts, watchdog};
use go::chan::{Chan, RecvTimeoutError, TryRecvError};

fn panic_text(r: std::thread::Result<()>) -> String {
    let p = r.expect_err("expected a panic");
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap()
}

#[test]
fn item_19_unbuffered_send_waits_for_the_receiver() {
    let ch = Chan::new(0);
    let received = Arc::new(AtomicU64::new(0));
    let (rx, r) = (ch.clone(), received.clone());
    // The clock starts before the spawn: the other goroutine may start its
    // sleep on the other worker before this one reads the clock.
    let t = Instant::now();
    go::spawn(move || {
        go::time::sleep(Duration::from_millis(30));
        r.store(1, Ordering::SeqCst);
        rx.recv();
    });
    ch.send(1);
    assert!(t.elapsed() >= Duration::from_millis(25), "send returned before a receiver came");
    assert_eq!(received.load(Ordering::SeqCst), 1);
    // And a receive waits for a sender.
    let tx = ch.clone();
    let t = Instant::now();
    go::spawn(move || {
        go::time::sleep(Duration::from_millis(30));
        tx.send(2);
    });
    assert_eq!(ch.recv(), Some(2));
    assert!(t.elapsed() >= Duration::from_millis(25));
}

#[test]
fn item_20_buffered_is_fifo_and_blocks_only_when_full_or_empty() {
    let ch = Chan::new(3);
    for i in 0..3 {
        ch.send(i); // never blocks: room in the buffer
    }
    assert_eq!((ch.len(), ch.cap()), (3, 3));
    assert_eq!(ch.try_send(9), Err(9), "full");
    assert_eq!((0..3).map(|_| ch.recv().unwrap()).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
    let unbuffered = Chan::<u8>::new(0);
    assert_eq!((unbuffered.len(), unbuffered.cap()), (0, 0));
    let nil = Chan::<u8>::nil();
    assert_eq!((nil.len(), nil.cap()), (0, 0));
}

#[test]
fn item_21_parked_senders_and_receivers_are_served_fifo() {
    const NAME: &str = "item_21_parked_senders_and_receivers_are_served_fifo";
    if is_child(NAME) {
        // At GOMAXPROCS=1 goroutines block in spawn order, one at a time:
        // each runs (from runnext) while the spawner yields, and blocks.
        // (Not a 1 ms sleep: a goroutine that took longer than that to
        // reach its operation yielded there for the sleeper's due timer,
        // and the next one blocked first; seen under an emulator.)
        let order = go::run(|| {
            let ch = Chan::<usize>::new(0);
            let got = Chan::<(usize, usize)>::new(100);
            for id in 0..10 {
                let (ch, got) = (ch.clone(), got.clone());
                go::spawn(move || got.send((id, ch.recv().unwrap())));
                go::runtime::gosched();
            }
            for v in 0..10 {
                ch.send(v);
            }
            let mut pairs: Vec<_> = (0..10).map(|_| got.recv().unwrap()).collect();
            pairs.sort();
            // Receivers: the first to block gets the first value.
            let fifo_recv = pairs.iter().all(|&(id, v)| id == v);
            for id in 0..10 {
                let ch = ch.clone();
                go::spawn(move || ch.send(id));
                go::runtime::gosched();
            }
            let fifo_send = (0..10).all(|id| ch.recv() == Some(id));
            (fifo_recv, fifo_send)
        });
        println!("fifo={order:?}");
        return;
    }
    let out = run_child(NAME, &[("GOMAXPROCS", "1")]);
    let (stdout, stderr) = texts(&out);
    assert!(stdout.contains("fifo=(true, true)"), "stdout: {stdout} stderr: {stderr}");
}

#[test]
fn item_22_after_close_buffered_values_then_zero_at_once() {
    let ch = Chan::new(2);
    ch.send(10);
    ch.send(20);
    ch.close();
    assert_eq!(ch.recv_ok(), (10, true));
    assert_eq!(ch.recv_ok(), (20, true));
    let t = Instant::now();
    for _ in 0..100 {
        assert_eq!(ch.recv_ok(), (0, false));
    }
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(ch.recv_timeout(Duration::from_secs(5)), Err(RecvTimeoutError::Closed));
    // range ends.
    let ch = Chan::new(3);
    (1..=3).for_each(|i| ch.send(i));
    ch.close();
    assert_eq!(ch.iter().collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn item_23_close_wakes_every_receiver_and_blocked_senders_panic() {
    let _w = watchdog(Duration::from_secs(30), "close wakes");
    let ch = Chan::<u32>::new(0);
    let woken = Arc::new(AtomicUsize::new(0));
    let receivers: Vec<_> = (0..50)
        .map(|_| {
            let (ch, w) = (ch.clone(), woken.clone());
            go::spawn(move || {
                assert_eq!(ch.recv(), None);
                w.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    let thread_rx = {
        let ch = ch.clone();
        std::thread::spawn(move || ch.recv())
    };
    go::time::sleep(Duration::from_millis(20));
    ch.close();
    for h in receivers {
        h.join().unwrap();
    }
    assert_eq!(thread_rx.join().unwrap(), None);
    assert_eq!(woken.load(Ordering::SeqCst), 50);

    let full = Chan::<u32>::new(0);
    let senders: Vec<_> = (0..20)
        .map(|i| {
            let ch = full.clone();
            go::spawn(move || ch.send(i))
        })
        .collect();
    go::time::sleep(Duration::from_millis(20));
    full.close();
    for h in senders {
        let err = h.join().unwrap_err();
        assert_eq!(err.downcast_ref::<&str>(), Some(&"send on closed channel"));
    }
}

#[test]
fn item_24_panics_use_go_texts() {
    let ch = Chan::<u8>::new(1);
    ch.close();
    assert_eq!(panic_text(std::panic::catch_unwind(|| ch.send(1))), "send on closed channel");
    assert_eq!(panic_text(std::panic::catch_unwind(|| ch.close())), "close of closed channel");
    let nil = Chan::<u8>::nil();
    assert_eq!(panic_text(std::panic::catch_unwind(|| nil.close())), "close of nil channel");
    let c2 = ch.clone();
    assert_eq!(
        panic_text(std::panic::catch_unwind(move || {
            let _ = c2.try_send(1);
        })),
        "send on closed channel"
    );
    let c3 = ch.clone();
    let r = std::panic::catch_unwind(move || {
        let _ = c3.send_timeout(1, Duration::from_millis(1));
    });
    assert_eq!(panic_text(r), "send on closed channel");
}

#[test]
fn item_25_nil_channel_blocks_forever() {
    let nil = Chan::<u8>::nil();
    let t = Instant::now();
    assert_eq!(nil.recv_timeout(Duration::from_millis(30)), Err(RecvTimeoutError::Timeout));
    assert!(nil.send_timeout(1, Duration::from_millis(30)).is_err());
    assert!(t.elapsed() >= Duration::from_millis(55));
    assert_eq!(nil.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(nil.try_send(1), Err(1));
    // A goroutine blocked on a nil channel stays blocked.
    let n2 = nil.clone();
    let h = go::spawn(move || n2.recv());
    go::time::sleep(Duration::from_millis(30));
    assert!(!h.is_finished());
}

#[test]
fn item_26_directional_views() {
    let ch = Chan::new(1);
    let tx: go::chan::Sender<i32> = ch.sender();
    let rx: go::chan::Receiver<i32> = ch.receiver();
    tx.send(5);
    assert_eq!(rx.recv(), Some(5));
    tx.close();
    assert_eq!(rx.recv(), None);
    // Converting back is impossible, and a Receiver cannot send or close:
    // see the compile_fail doc tests on `Receiver`.
}

#[test]
fn item_27_send_happens_before_the_matching_receive_completes() {
    // A value written (Relaxed) before a send is seen after the receive.
    let _w = watchdog(Duration::from_secs(30), "happens-before");
    for cap in [0, 1, 16] {
        let data = Arc::new((0..64).map(|_| AtomicU64::new(0)).collect::<Vec<_>>());
        let ch = Chan::<usize>::new(cap);
        let (d, tx) = (data.clone(), ch.clone());
        let h = go::spawn(move || {
            for i in 0..10_000usize {
                d[i % 64].store(i as u64 + 1, Ordering::Relaxed);
                tx.send(i);
            }
        });
        for i in 0..10_000usize {
            assert_eq!(ch.recv(), Some(i));
            assert!(
                data[i % 64].load(Ordering::Relaxed) > i as u64,
                "cap {cap}: write before send not visible"
            );
        }
        h.join().unwrap();
    }
}

#[test]
fn mixed_thread_and_goroutine_endpoints() {
    let _w = watchdog(Duration::from_secs(60), "mixed endpoints");
    for cap in [0, 8] {
        let ch = Chan::<u64>::new(cap);
        let total = Arc::new(AtomicU64::new(0));
        // Two thread producers, two goroutine producers; two thread
        // consumers, two goroutine consumers.
        let mut threads = Vec::new();
        let mut gs = Vec::new();
        for p in 0..4u64 {
            let tx = ch.sender();
            let body = move || (0..10_000u64).for_each(|i| tx.send(p * 10_000 + i));
            if p < 2 { threads.push(std::thread::spawn(body)) } else { gs.push(go::spawn(body)) }
        }
        let mut consumers_t = Vec::new();
        let mut consumers_g = Vec::new();
        for c in 0..4 {
            let (rx, t) = (ch.receiver(), total.clone());
            let body = move || {
                let mut n = 0u64;
                for v in &rx {
                    t.fetch_add(v, Ordering::Relaxed);
                    n += 1;
                }
                n
            };
            if c < 2 {
                consumers_t.push(std::thread::spawn(body))
            } else {
                consumers_g.push(go::spawn(body))
            }
        }
        threads.into_iter().for_each(|t| t.join().unwrap());
        gs.into_iter().for_each(|g| g.join().unwrap());
        ch.close();
        let n: u64 = consumers_t.into_iter().map(|t| t.join().unwrap()).sum::<u64>()
            + consumers_g.into_iter().map(|g| g.join().unwrap()).sum::<u64>();
        assert_eq!(n, 40_000);
        assert_eq!(total.load(Ordering::Relaxed), (0..40_000u64).sum::<u64>());
    }
}

#[test]
fn stress_4_producers_4_consumers_sequence_numbers_per_producer() {
    // Nothing lost, nothing duplicated, nothing reordered per producer.
    let _w = watchdog(Duration::from_secs(240), "4x4 stress");
    const PER_PRODUCER: u64 = 250_000; // 1,000,000 messages in all
    for cap in [0usize, 64] {
        let ch = Chan::<(u64, u64)>::new(cap);
        let producers: Vec<_> = (0..4u64)
            .map(|p| {
                let tx = ch.sender();
                go::spawn(move || (0..PER_PRODUCER).for_each(|seq| tx.send((p, seq))))
            })
            .collect();
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let rx = ch.receiver();
                go::spawn(move || {
                    let mut last = [None::<u64>; 4];
                    let mut count = [0u64; 4];
                    for (p, seq) in &rx {
                        let p = p as usize;
                        assert!(last[p].is_none_or(|l| seq > l), "producer {p} reordered");
                        last[p] = Some(seq);
                        count[p] += 1;
                    }
                    count
                })
            })
            .collect();
        producers.into_iter().for_each(|h| h.join().unwrap());
        ch.close();
        let mut total = [0u64; 4];
        for h in consumers {
            for (t, c) in total.iter_mut().zip(h.join().unwrap()) {
                *t += c;
            }
        }
        assert_eq!(total, [PER_PRODUCER; 4], "cap {cap}: lost or duplicated messages");
    }
}

#[test]
fn a_channel_may_be_made_before_the_values_it_borrows() {
    // The values a channel carries need to outlive only their uses, not the
    // channel: locals declared after it are dropped first. A `Drop` on the
    // channel's shared state (its spare waiter, when it was first kept as
    // an `Arc<Waiter<T>>`) made this a borrow-check error: "`s` does not
    // live long enough".
    let ch = Chan::new(1);
    let s = String::from("borrowed");
    ch.send(s.as_str());
    assert_eq!(ch.recv(), Some("borrowed"));
    let other = Chan::new(0);
    let t = String::from("rendezvous");
    let tx = other.clone();
    let h = std::thread::scope(|scope| {
        let h = scope.spawn(|| tx.send(t.as_str()));
        assert_eq!(other.recv(), Some("rendezvous"));
        h.join()
    });
    h.unwrap();
}
