//! The bridge to async Rust without tokio: `go::block_on`, and the futures
//! of goroutines, channels and WaitGroups polled by hand or by `block_on`.
//! (The tokio side is `tests/async_tokio.rs`, behind the `tokio` feature.)

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use common::{is_child, run_child, texts, watchdog};
use go::chan::Chan;
use go::sync::WaitGroup;

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<Count>, Waker) {
    let c = Arc::new(Count::default());
    (c.clone(), Waker::from(c))
}

fn poll_once<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

/// While one goroutine waits in `block_on` for 200 ms, a neighbour on the
/// same (only) worker keeps ticking: `block_on` parks the goroutine, not
/// the worker. (Blocking the worker would show a 200 ms gap.)
#[test]
fn block_on_parks_only_the_goroutine() {
    const NAME: &str = "block_on_parks_only_the_goroutine";
    if is_child(NAME) {
        let ch = Chan::<u32>::new(0);
        let (rx, tx) = (ch.clone(), ch.clone());
        let waiter = go::spawn(move || go::block_on(rx.recv_async()));
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            tx.send(7);
        });
        let ticker = go::spawn(|| common::worst_tick_gap(Duration::from_millis(300)));
        println!("got={:?}", waiter.join().unwrap());
        println!("gap_ms={}", ticker.join().unwrap().as_millis());
        return;
    }
    let out = run_child(NAME, &[("GOMAXPROCS", "1")]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("got=Some(7)"), "{stdout}");
    let gap = common::reported(&stdout, "gap_ms", &stderr);
    assert!(gap < 100, "the neighbour waited {gap} ms");
}

#[test]
fn block_on_runs_futures_on_threads_and_goroutines() {
    let _dog = watchdog(Duration::from_secs(30), "block_on");
    assert_eq!(go::block_on(async { 1 + 1 }), 2);
    // Woken from another thread, on a plain thread.
    let ch = Chan::new(0);
    let tx = ch.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        tx.send("late");
    });
    assert_eq!(go::block_on(ch.recv_async()), Some("late"));
    // On a goroutine, woken by a goroutine; the future borrows the stack.
    let h = go::spawn(|| {
        let local = [1u64, 2, 3];
        let ch = Chan::new(0);
        let tx = ch.clone();
        go::spawn(move || tx.send(10u64));
        go::block_on(async { local.iter().sum::<u64>() + ch.recv_async().await.unwrap() })
    });
    assert_eq!(h.join().unwrap(), 16);
}

#[test]
fn a_panicking_future_panics_in_block_on() {
    let r = go::spawn(|| go::block_on(async { panic!("inside the future") })).join();
    let payload = r.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"inside the future"));
}

/// 10,000 goroutines awaited from one `block_on`: every result arrives,
/// and a panic comes back as the error.
#[test]
fn join_handles_are_futures() {
    let _dog = watchdog(Duration::from_secs(60), "awaiting join handles");
    let handles: Vec<go::JoinHandle<u64>> = (0..10_000u64)
        .map(|i| {
            go::spawn(move || {
                if i.is_multiple_of(7) {
                    go::runtime::gosched();
                }
                i
            })
        })
        .collect();
    let sum = go::block_on(async move {
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, (0..10_000u64).sum::<u64>());
    let h = go::spawn(|| -> u8 { panic!("awaited panic") });
    let err = go::block_on(h).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"awaited panic"));
}

/// A waker registered by polling a handle is woken when the goroutine
/// ends; and a handle polled once (pending) can still be joined.
#[test]
fn a_polled_handle_wakes_its_task_and_can_still_be_joined() {
    let _dog = watchdog(Duration::from_secs(30), "polled handles");
    let ch = Chan::<()>::new(0);
    let rx = ch.clone();
    let mut h = go::spawn(move || {
        rx.recv();
        5
    });
    let (count, waker) = counting_waker();
    assert!(poll_once(&mut h, &waker).is_pending());
    ch.send(());
    while count.0.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(h.is_finished());
    assert!(matches!(poll_once(&mut h, &waker), Poll::Ready(Ok(5))));
    assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken once");

    let rx = ch.clone();
    let mut h = go::spawn(move || {
        rx.recv();
        6
    });
    assert!(poll_once(&mut h, &waker).is_pending());
    let tx = ch.clone();
    go::spawn(move || tx.send(()));
    assert_eq!(h.join().unwrap(), 6);
}

/// Receive futures dropped at random points (as a losing `select!` branch
/// drops them) while 4 goroutines send: every value is received exactly
/// once, in per-sender order, on rendezvous and buffered channels.
#[test]
fn dropped_receive_futures_lose_no_value() {
    let _dog = watchdog(Duration::from_secs(120), "cancelled receives");
    for cap in [0usize, 1, 16] {
        const PER: usize = 25_000;
        let ch = Chan::<(usize, usize)>::new(cap);
        let wg = WaitGroup::new();
        for s in 0..4 {
            let tx = ch.clone();
            wg.go(move || {
                for i in 0..PER {
                    tx.send((s, i));
                }
            });
        }
        let closer = ch.clone();
        let wg2 = wg.clone();
        go::spawn(move || {
            wg2.wait();
            closer.close();
        });
        let (_, waker) = counting_waker();
        let mut next = [0usize; 4];
        let mut got = 0;
        let mut round = 0u64;
        loop {
            round += 1;
            let mut f = ch.recv_async();
            let polled = poll_once(&mut f, &waker);
            let polled = match polled {
                Poll::Pending if round.is_multiple_of(3) => {
                    // Give a sender time to claim it, then drop it.
                    std::thread::yield_now();
                    poll_once(&mut f, &waker)
                }
                p => p,
            };
            match polled {
                Poll::Ready(Some((s, i))) => {
                    assert_eq!(i, next[s], "sender {s}'s values out of order (cap {cap})");
                    next[s] += 1;
                    got += 1;
                }
                Poll::Ready(None) => break,
                Poll::Pending => drop(f),
            }
        }
        assert_eq!(got, 4 * PER, "cap {cap}");
    }
}

/// A value put back by a dropped receive future survives a `close` that
/// follows: receivers get it before they see the channel closed. (Found by
/// the tokio `select!` test: `close` completed the put-back value's
/// ownerless sender like a blocked one, and the value was lost.)
#[test]
fn a_put_back_value_survives_close() {
    let _dog = watchdog(Duration::from_secs(30), "put back, then close");
    for cap in [0usize, 1] {
        let ch = Chan::new(cap);
        if cap == 1 {
            ch.send(0);
        }
        let (_, waker) = counting_waker();
        let mut f = ch.recv_async();
        let first = poll_once(&mut f, &waker);
        if cap == 1 {
            assert_eq!(first, Poll::Ready(Some(0)));
            f = ch.recv_async();
            assert!(poll_once(&mut f, &waker).is_pending());
        } else {
            assert!(first.is_pending());
        }
        let tx = ch.clone();
        let sender = go::spawn(move || tx.send(1));
        // The send completes into the queued receive future...
        sender.join().unwrap();
        // ...which is dropped unpolled: the value goes back, then close.
        drop(f);
        ch.close();
        assert_eq!(ch.recv(), Some(1), "cap {cap}");
        assert_eq!(ch.recv(), None);
    }
}

/// A send future dropped before a receiver came sends nothing.
#[test]
fn a_dropped_send_future_sends_nothing() {
    let ch = Chan::new(0);
    let (_, waker) = counting_waker();
    let mut f = ch.send_async(1);
    assert!(poll_once(&mut f, &waker).is_pending());
    drop(f);
    assert!(ch.try_recv().is_err(), "nothing was sent");
    let tx = ch.clone();
    go::spawn(move || tx.send(2));
    assert_eq!(ch.recv(), Some(2));
}

/// A send future completes when a receiver takes the value, and wakes its
/// task then; a closed channel makes it panic, as `send` does.
#[test]
fn send_futures_wake_when_taken_and_panic_when_closed() {
    let ch = Chan::new(0);
    let (count, waker) = counting_waker();
    let mut f = ch.send_async(9);
    assert!(poll_once(&mut f, &waker).is_pending());
    assert_eq!(ch.recv(), Some(9));
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert!(poll_once(&mut f, &waker).is_ready());

    let mut f = ch.send_async(1);
    assert!(poll_once(&mut f, &waker).is_pending());
    ch.close();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(&mut f, &waker)));
    let msg = r.unwrap_err();
    assert_eq!(msg.downcast_ref::<&str>(), Some(&"send on closed channel"));
}

/// A receiver is a `Stream` of the channel's values, ending at close.
#[test]
fn a_receiver_is_a_stream() {
    use futures_core::Stream;
    let ch = Chan::new(0);
    let tx = ch.clone();
    go::spawn(move || {
        for i in 0..100 {
            tx.send(i);
        }
        tx.close();
    });
    let mut rx = ch.receiver();
    let mut seen = Vec::new();
    while let Some(v) = go::block_on(std::future::poll_fn(|cx| Pin::new(&mut rx).poll_next(cx))) {
        seen.push(v);
    }
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
}

/// A receiver dropped with a stream receive queued gives it up and loses
/// no value.
#[test]
fn dropping_a_receiver_mid_stream_loses_no_value() {
    use futures_core::Stream;
    let _dog = watchdog(Duration::from_secs(30), "the put-back value");
    let ch = Chan::new(0);
    let (_, waker) = counting_waker();
    let mut rx = ch.receiver();
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut rx).poll_next(&mut cx).is_pending());
    let tx = ch.clone();
    let sender = go::spawn(move || tx.send(42));
    // The sender may hand the value to the queued stream receive; dropping
    // the receiver must put it back.
    std::thread::sleep(Duration::from_millis(20));
    drop(rx);
    assert_eq!(ch.recv(), Some(42));
    sender.join().unwrap();
}

/// `wait_async` is ready at zero, wakes its task when the count reaches
/// zero, and a dropped one leaves no latch behind.
#[test]
fn waitgroup_wait_async() {
    let wg = WaitGroup::new();
    let (count, waker) = counting_waker();
    assert!(poll_once(&mut wg.wait_async(), &waker).is_ready());
    wg.add(1);
    for _ in 0..1000 {
        let mut f = wg.wait_async();
        assert!(poll_once(&mut f, &waker).is_pending());
    }
    let mut f = wg.wait_async();
    assert!(poll_once(&mut f, &waker).is_pending());
    wg.done();
    assert_eq!(count.0.load(Ordering::SeqCst), 1, "only the live future was woken");
    assert!(poll_once(&mut f, &waker).is_ready());
    // From goroutines, through block_on.
    let wg = WaitGroup::new();
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let done = done.clone();
        wg.go(move || {
            go::time::sleep(Duration::from_millis(1));
            done.fetch_add(1, Ordering::SeqCst);
        });
    }
    go::block_on(wg.wait_async());
    assert_eq!(done.load(Ordering::SeqCst), 100);
}

/// A context's `done()` channel can be awaited: it is ready once the
/// context is cancelled.
#[test]
fn context_done_can_be_awaited() {
    let (ctx, cancel) = go::context::with_cancel(&go::context::background());
    let start = Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        cancel();
    });
    assert_eq!(go::block_on(ctx.done().recv_async()), None);
    assert!(start.elapsed() >= Duration::from_millis(25));
    assert!(ctx.err().is_some());
}

/// Values sent by goroutines arrive in full at an async receiver.
#[test]
fn an_async_receiver_gets_every_value() {
    let _dog = watchdog(Duration::from_secs(60), "async receive");
    let ch = Chan::new(64);
    let wg = WaitGroup::new();
    for s in 0..8u64 {
        let tx = ch.clone();
        wg.go(move || {
            for i in 0..10_000u64 {
                tx.send(s * 1_000_000 + i);
            }
        });
    }
    let closer = ch.clone();
    go::spawn(move || {
        wg.wait();
        closer.close();
    });
    let seen = go::block_on(async {
        let mut seen = HashSet::new();
        while let Some(v) = ch.recv_async().await {
            assert!(seen.insert(v), "{v} twice");
        }
        seen
    });
    assert_eq!(seen.len(), 80_000);
}
