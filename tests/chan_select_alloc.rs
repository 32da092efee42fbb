//! `select!` keeps its cases on the caller's stack: a select with a ready
//! case allocates nothing. The `Select` builder keeps its cases in a buffer
//! reused per thread: once warm, it allocates nothing either.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use go::chan::{Chan, Select};

/// Counts the allocations made by the thread that set `COUNTING`.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counters are thread-locals
// with const initialisers, which do not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    ALLOCS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.with(Cell::get)
}

#[test]
fn a_select_with_a_ready_case_allocates_nothing() {
    // On a plain thread, so that no goroutine switch moves the count.
    let (a, b, c, d) = (Chan::new(1), Chan::new(1), Chan::<u64>::new(1), Chan::<u64>::new(1));
    a.send(1u64);
    b.send(2u64);
    let n = allocations(|| {
        for _ in 0..1000 {
            let got = go::select! {
                case v := <-a => { a.send(v); v },
                case v := <-b => { b.send(v); v },
                case v := <-c => v,
                case d <- 7 => { d.recv(); 0 },
            };
            assert!([0, 1, 2].contains(&got));
        }
    });
    assert_eq!(n, 0, "1000 selects allocated {n} times");
    // A non-blocking select with nothing ready falls to `default`, also
    // without allocating.
    let (e, f) = (Chan::<u8>::new(0), Chan::<u8>::new(0));
    let n = allocations(|| {
        for _ in 0..1000 {
            go::select! {
                case <-e => unreachable!(),
                case f <- 1 => unreachable!(),
                default => {}
            }
        }
    });
    assert_eq!(n, 0, "1000 selects with default allocated {n} times");
    // The builder's first select on a thread makes its case buffer and
    // entry list; later ones reuse them (with a box per case, each of
    // these selects allocated 3 times).
    let n = allocations(|| {
        let r = Select::new().recv(&a, |v| v).recv(&b, |v| v).wait();
        assert!(r.is_some());
    });
    assert!(n >= 2, "the first builder allocated {n} times");
    let four = || {
        let r = Select::new()
            .recv(&a, |v| v.inspect(|&v| a.send(v)))
            .recv(&b, |v| v.inspect(|&v| b.send(v)))
            .recv(&c, |v| v)
            .send(&d, 7, || {
                d.recv();
                Some(0)
            })
            .wait();
        assert!(r.is_some());
    };
    // More cases than before: the buffer grows once, then stays.
    let n = allocations(four);
    assert!(n <= 2, "growing to four cases allocated {n} times");
    let n = allocations(|| (0..1000).for_each(|_| four()));
    assert_eq!(n, 0, "1000 warm builder selects allocated {n} times");
}

#[test]
fn blocking_operations_reuse_their_channels_waiters() {
    // Each channel keeps the waiter of its last blocking operation for the
    // next one (chan README, "A spare waiter per channel"). Before, every
    // blocking send or receive allocated its waiter, and a blocking select
    // one per case besides its shared state.
    const SLOW: u64 = 1 << 20;
    let (ping, pong) = (Chan::<u64>::new(0), Chan::<u64>::new(0));
    let partner = {
        let (ping, pong) = (ping.clone(), pong.clone());
        std::thread::spawn(move || {
            for v in &ping {
                if v >= SLOW {
                    // Let the select block before the answer comes.
                    std::thread::sleep(std::time::Duration::from_micros(20));
                }
                pong.send(v + 1);
            }
        })
    };
    // On this plain thread: 1000 round trips, the receive blocking (the
    // partner has to wake first). A waiter whose claimer had not dropped
    // its reference yet when its owner woke is freed instead of kept, so
    // a few allocations are allowed.
    let trip = |i| {
        ping.send(i);
        assert_eq!(pong.recv(), Some(i + 1));
    };
    trip(0);
    let n = allocations(|| (1..=1000).for_each(trip));
    assert!(n < 100, "1000 blocking round trips allocated {n} times");
    // A select that blocks on two channels: its shared state is one
    // allocation; its cases' waiters come from the channels (3,000
    // allocations before).
    let quit = Chan::<()>::new(0);
    let select = |i| {
        ping.send(SLOW + i);
        let got = go::select! {
            case v := <-pong => v,
            case <-quit => unreachable!(),
        };
        assert_eq!(got, SLOW + i + 1);
    };
    select(0);
    let n = allocations(|| (1..=1000).for_each(select));
    assert!(n < 1300, "1000 blocking selects on two channels allocated {n} times");
    ping.close();
    partner.join().unwrap();
}
