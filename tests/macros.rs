//! The macro DSL end to end: every valid form of `go!`, `select!`,
//! `defer!`, `make!`, `waitgroup!`, `#[goroutine]`, `#[go::main]`-style
//! entry and `#[go::test]`, checked for what it does at run time.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use go::chan::Chan;
use go::sync::{Mutex, WaitGroup};
use go::{defer, go, goroutine, make, select, waitgroup};

fn worker(id: u64, wg: &WaitGroup, sum: &Arc<AtomicU64>) {
    defer!(wg.done());
    sum.fetch_add(id, Ordering::Relaxed);
}

/// docs/go-semantics.md, 7 and the tutorial's WaitGroup example: `go worker(i, &wg)`.
#[test]
fn item_7_go_call_with_shared_handles_ports_unchanged() {
    let _w = common::watchdog(Duration::from_secs(30), "go call");
    for _ in 0..100 {
        let wg = WaitGroup::new();
        let sum = Arc::new(AtomicU64::new(0));
        for i in 1..=100 {
            wg.add(1);
            go!(worker(i, &wg, &sum));
        }
        wg.wait();
        assert_eq!(sum.load(Ordering::Relaxed), 5050);
    }
}

/// docs/go-semantics.md, 7: the function, receiver and arguments are evaluated by
/// the spawner, in order, before the goroutine runs.
#[test]
fn item_7_operands_are_evaluated_by_the_spawner_in_order() {
    let order = std::sync::Mutex::new(Vec::new());
    let note = |what: &'static str, v: u32| {
        order.lock().unwrap().push(what);
        v
    };
    let pick = |what| {
        order.lock().unwrap().push(what);
        |a: u32, b: u32| a + b
    };
    let h = go!(pick("func")(note("a", 1), note("b", 2)));
    // Evaluated before the goroutine could run, and in source order.
    assert_eq!(*order.lock().unwrap(), ["func", "a", "b"]);
    assert_eq!(h.join().unwrap(), 3);

    // A loop variable passed by value: each goroutine sees its own.
    let hs: Vec<_> = (0..10u32).map(|i| go!(std::convert::identity(i))).collect();
    let got: Vec<u32> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

struct Counter {
    hits: AtomicUsize,
}

impl Counter {
    fn hit(&self, n: usize) -> usize {
        self.hits.fetch_add(n, Ordering::Relaxed) + n
    }
}

#[test]
fn go_method_call_shares_a_handle_receiver() {
    let c = Arc::new(Counter { hits: AtomicUsize::new(0) });
    let hs: Vec<_> = (0..10).map(|_| go!(c.hit(2))).collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(c.hits.load(Ordering::Relaxed), 20);
    // A channel receiver, and a computed receiver moved in.
    let ch = make!(chan u32, 1);
    go!(ch.send(5)).join().unwrap();
    assert_eq!(ch.recv(), Some(5));
    let v = go!(vec![1, 2, 3].len()).join().unwrap();
    assert_eq!(v, 3);
}

#[test]
fn go_block_and_closure_forms() {
    let ch = make!(chan String);
    let tx = ch.clone();
    go!({
        tx.send("from a block".to_string());
    });
    assert_eq!(ch.recv().as_deref(), Some("from a block"));
    let tx = ch.clone();
    go!(move || tx.send("from a closure".to_string()));
    assert_eq!(ch.recv().as_deref(), Some("from a closure"));
    let h = go!((move |x: u32| x * 2)(21));
    assert_eq!(h.join().unwrap(), 42);
    let h = go!(println!("a macro call runs in the goroutine too"));
    h.join().unwrap();
}

#[test]
fn go_join_handle_returns_the_value_and_panics() {
    assert_eq!(go!(u64::pow(2, 10)).join().unwrap(), 1024);
    let h = go!({
        if true {
            panic!("boom");
        }
    });
    assert!(h.join().is_err());
}

#[goroutine]
fn counted(n: u64, wg: &WaitGroup, total: Arc<AtomicU64>) {
    defer!(wg.done());
    total.fetch_add(n, Ordering::Relaxed);
}

struct Server {
    served: AtomicU64,
}

impl Server {
    #[goroutine]
    fn serve(self: Arc<Self>, n: u64) {
        self.served.fetch_add(n, Ordering::Relaxed);
    }
}

#[test]
fn goroutine_attribute_keeps_calls_plain_and_go_spawns() {
    let wg = WaitGroup::new();
    let total = Arc::new(AtomicU64::new(0));
    wg.add(1);
    counted(1, &wg, total.clone()); // a plain call
    for i in 0..10 {
        wg.add(1);
        go!(counted(i, &wg, total.clone()));
    }
    wg.wait();
    assert_eq!(total.load(Ordering::Relaxed), 46);
    let s = Arc::new(Server { served: AtomicU64::new(0) });
    go!(s.clone().serve(3)).join().unwrap();
    assert_eq!(s.served.load(Ordering::Relaxed), 3);
}

/// The tutorial's mutex example, with the macros.
static COUNTER: Mutex<i32> = Mutex::new(0);

fn increment(wg: &WaitGroup) {
    defer!(wg.done());
    *COUNTER.lock() += 1;
}

#[test]
fn tutorial_mutex_example_counts_to_1000() {
    let wg = WaitGroup::new();
    for _ in 0..1000 {
        wg.add(1);
        go!(increment(&wg));
    }
    wg.wait();
    assert_eq!(*COUNTER.lock(), 1000);
}

#[test]
fn defer_runs_lifo_at_block_end_and_while_unwinding() {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    {
        let log2 = log.clone();
        defer!(log2.lock().unwrap().push(1));
        defer! {
            log.lock().unwrap().push(2);
        }
        defer!(|| log.lock().unwrap().push(3));
        log.lock().unwrap().push(0);
    }
    assert_eq!(*log.lock().unwrap(), [0, 3, 2, 1]);

    let log2 = log.clone();
    let r = std::panic::catch_unwind(move || {
        defer!(log2.lock().unwrap().push(9));
        panic!("unwinding");
    });
    assert!(r.is_err());
    assert_eq!(log.lock().unwrap().last(), Some(&9));
}

#[test]
fn make_builds_channels() {
    let c: Chan<u8> = make!(chan u8);
    assert_eq!(c.cap(), 0);
    let n = 3;
    let c = make!(chan Vec<String>, n + 1);
    assert_eq!(c.cap(), 4);
    let done = make!(chan struct{}, 1);
    done.send(());
    assert_eq!(done.recv(), Some(()));
}

/// docs/go-semantics.md, 28: operands and send values evaluated once, in order.
#[test]
fn item_28_select_operands_evaluated_once_in_source_order() {
    let order = std::cell::RefCell::new(Vec::new());
    let a = make!(chan i32, 1);
    let b = make!(chan i32, 1);
    let pick = |name: &'static str, c: &Chan<i32>| {
        order.borrow_mut().push(name);
        c.clone()
    };
    let val = |v: i32| {
        order.borrow_mut().push("value");
        v
    };
    let got = select! {
        case v := <-pick("a", &a) => v,
        case pick("b", &b) <- val(7) => -1,
    };
    assert_eq!(got, -1);
    assert_eq!(*order.borrow(), ["a", "b", "value"]);
    assert_eq!(b.recv(), Some(7));
}

#[test]
fn select_every_case_form() {
    let ch = make!(chan i32, 4);
    ch.send(1);
    // `case v := <-ch`
    assert_eq!(select! { case v := <-ch => v }, 1);
    // `case v, ok := <-ch` on a closed channel: zero value, false.
    ch.send(2);
    ch.close();
    let r = select! { case v, ok := <-ch => (v, ok) };
    assert_eq!(r, (2, true));
    let r = select! { case v, ok := <-ch => (v, ok) };
    assert_eq!(r, (0, false));
    // `case v := <-ch` on a closed channel gives the zero value.
    assert_eq!(select! { case v := <-ch => v }, 0);
    // Assignment forms.
    let (mut v, mut ok) = (9, true);
    assert_eq!((v, ok), (9, true));
    select! { case v, ok = <-ch => {} }
    assert_eq!((v, ok), (0, false));
    let c2 = make!(chan i32, 1);
    c2.send(5);
    select! { case v = <-c2 => {} }
    assert_eq!(v, 5);
    // `case <-ch`, send, default.
    let out = make!(chan & str, 1);
    let r = select! {
        case out <- "sent" => 1,
        default => 2,
    };
    assert_eq!((r, out.recv()), (1, Some("sent")));
    let empty = make!(chan());
    let r = select! {
        case <-empty => "recv",
        default => "default",
    };
    assert_eq!(r, "default");
    // A select with only a default.
    assert_eq!(select! { default => 3 }, 3);
}

#[test]
fn select_bodies_control_the_enclosing_function() {
    fn first_even(ch: &Chan<u32>) -> Option<u32> {
        loop {
            select! {
                case v, ok := <-ch => {
                    if !ok {
                        return None;
                    }
                    if v % 2 == 1 {
                        continue;
                    }
                    return Some(v);
                }
            }
        }
    }
    let ch = make!(chan u32, 8);
    for v in [1, 3, 4, 5] {
        ch.send(v);
    }
    assert_eq!(first_even(&ch), Some(4));
    ch.close();
    assert_eq!(first_even(&ch), Some(5).filter(|_| false).or(None));

    // Bodies may mutate the same local in several arms.
    let (a, b) = (make!(chan i32, 10), make!(chan i32, 10));
    for i in 0..5 {
        a.send(i);
        b.send(i);
    }
    let mut count = 0;
    for _ in 0..10 {
        select! {
            case v := <-a => count += v,
            case v := <-b => count += 10 * v,
        }
    }
    assert_eq!(count, 10 + 100);
}

#[test]
fn select_with_timeout_and_context() {
    let never = make!(chan i32);
    let r = select! {
        case v := <-never => v,
        case <-go::time::after(Duration::from_millis(5)) => -1,
    };
    assert_eq!(r, -1);
    let (ctx, cancel) = go::context::with_cancel(&go::context::background());
    cancel();
    let r = select! {
        case <-ctx.done() => "canceled",
        case <-never => "value",
    };
    assert_eq!(r, "canceled");
}

/// `select!` under load: two selects crossing over two channels lose and
/// duplicate nothing.
#[test]
fn select_stress_loses_nothing() {
    let _w = common::watchdog(Duration::from_secs(60), "select! stress");
    const N: u64 = 20_000;
    let (a, b) = (make!(chan u64), make!(chan u64, 3));
    let sum = Arc::new(AtomicU64::new(0));
    let (ta, tb) = (a.clone(), b.clone());
    let producer = go!({
        for i in 0..N {
            select! {
                case ta <- i => {},
                case tb <- i => {},
            }
        }
        ta.close();
        tb.close();
    });
    let (ra, rb, s) = (a.clone(), b.clone(), sum.clone());
    let consumer = go!({
        let (mut ra, mut rb) = (ra, rb);
        let mut seen = 0;
        while seen < 2 {
            select! {
                case v, ok := <-ra => if ok { s.fetch_add(v, Ordering::Relaxed); } else { seen += 1; ra = Chan::nil(); },
                case v, ok := <-rb => if ok { s.fetch_add(v, Ordering::Relaxed); } else { seen += 1; rb = Chan::nil(); },
            }
        }
    });
    producer.join().unwrap();
    consumer.join().unwrap();
    assert_eq!(sum.load(Ordering::Relaxed), N * (N - 1) / 2);
}

#[test]
fn waitgroup_block_borrows_and_joins() {
    let _w = common::watchdog(Duration::from_secs(30), "waitgroup!");
    for _ in 0..50 {
        let mut parts = vec![0u64; 64];
        let base = 10;
        let n = waitgroup! {
            for (i, p) in parts.iter_mut().enumerate() {
                go { *p = base + i as u64; };
            }
            64
        };
        assert_eq!(n, 64);
        assert_eq!(parts.iter().sum::<u64>(), 64 * 10 + 63 * 64 / 2);
    }
    // Calls with borrowed arguments, methods on borrowed receivers, nested
    // go statements.
    let total = AtomicU64::new(0);
    let add = |t: &AtomicU64, v: u64| {
        t.fetch_add(v, Ordering::Relaxed);
    };
    let shared = &total;
    waitgroup! {
        go add(&total, 1);
        go total.fetch_add(2, Ordering::Relaxed);
        go {
            go add(shared, 4);
        };
        if total.load(Ordering::Relaxed) < 100 {
            go add(&total, 8);
        }
    };
    assert_eq!(total.load(Ordering::Relaxed), 15);
}

#[test]
fn waitgroup_waits_for_all_then_reraises_the_first_panic() {
    let finished = AtomicUsize::new(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        waitgroup! {
            go {
                panic!("first");
            };
            for _ in 0..10 {
                go {
                    go::time::sleep(Duration::from_millis(20));
                    finished.fetch_add(1, Ordering::SeqCst);
                };
            }
        }
    }));
    let p = r.expect_err("the panic is re-raised");
    assert_eq!(p.downcast_ref::<&str>(), Some(&"first"));
    // All the others finished before the panic was re-raised.
    assert_eq!(finished.load(Ordering::SeqCst), 10);
}

#[go::test]
fn go_test_runs_as_a_goroutine() {
    assert!(go::runtime::goroutine_id().is_some());
}

#[go::test(gomaxprocs = 1)]
fn go_test_with_options() {
    assert_eq!(go::runtime::gomaxprocs(), 1);
}

/// Go's `func spawnWorkers(wg *sync.WaitGroup) { go worker(i, wg) }`: a
/// handle held by reference is shared the same way (`&wg` clones the
/// handle behind the reference), and works as a receiver.
#[test]
fn go_passes_on_handles_held_by_reference() {
    fn spawn_workers(wg: &WaitGroup, sum: &Arc<AtomicU64>, done: &Chan<()>) {
        for i in 1..=10 {
            wg.add(1);
            go!(worker(i, &wg, &sum));
        }
        // A receiver held by reference.
        let waiter = go!(wg.wait());
        waiter.join().unwrap();
        go!(done.close());
    }
    let wg = WaitGroup::new();
    let sum = Arc::new(AtomicU64::new(0));
    let done = make!(chan());
    spawn_workers(&wg, &sum, &done);
    assert_eq!(done.recv(), None);
    assert_eq!(sum.load(Ordering::Relaxed), 55);
}

/// A case operand's temporaries end when the operand has been evaluated
/// (Go evaluates operands once, on entry): a lock guard in an operand is
/// not held while the select waits, nor while the body runs. Before, the
/// sender below could never take the lock (a deadlock), and the body saw
/// the lock still held.
#[test]
fn select_operand_temporaries_end_before_the_wait() {
    struct State {
        ch: Chan<u8>,
    }
    let _w = common::watchdog(Duration::from_secs(30), "a select whose operand locks");
    let state = Arc::new(Mutex::new(State { ch: make!(chan u8) }));
    let s = state.clone();
    let sender = go::spawn(move || {
        go::time::sleep(go::time::MILLISECOND * 10);
        // The select is waiting by now: its operand's guard must be gone.
        let ch = s.lock().ch.clone();
        ch.send(7);
    });
    let held_in_body = go::spawn(move || {
        select! {
            case v := <-state.lock().ch => {
                assert_eq!(v, 7);
                state.try_lock().is_none()
            }
        }
    });
    assert!(!held_in_body.join().unwrap(), "the operand's guard was dropped before the body");
    sender.join().unwrap();
}

/// The same with std's `Mutex` and an index, the form the issue showed:
/// `case <-m.lock().unwrap()[0].req` no longer holds the guard in the body.
#[test]
fn select_operand_with_a_std_guard_and_an_index() {
    let m = std::sync::Mutex::new(vec![make!(chan u8, 1)]);
    m.lock().unwrap()[0].send(1);
    let held = select! {
        case <-m.lock().unwrap()[0] => m.try_lock().is_err(),
    };
    assert!(!held);
    // A place operand is still borrowed, not cloned.
    let ch = make!(chan u8, 1);
    ch.send(2);
    select! {
        case v := <-ch => assert_eq!(v, 2),
    }
    assert_eq!(ch.len(), 0);
}
