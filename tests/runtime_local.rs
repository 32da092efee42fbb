//! `goroutine_local!`: per-goroutine values that survive blocking calls and
//! follow migrating goroutines.

mod common;

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

go::goroutine_local! {
    static COUNT: Cell<u64> = Cell::new(0);
    static TRAIL: RefCell<Vec<u64>> = RefCell::new(Vec::new());
}

#[test]
fn each_goroutine_has_its_own_value_across_1000_blocking_calls() {
    let _w = common::watchdog(Duration::from_secs(60), "goroutine locals");
    let hs: Vec<_> = (0..50u64)
        .map(|n| {
            go::spawn(move || {
                for i in 0..1000u64 {
                    COUNT.with(|c| c.set(c.get() + n));
                    match i % 3 {
                        0 => go::runtime::gosched(),
                        1 => go::time::sleep(Duration::from_micros(10)),
                        _ => go::spawn(|| ()).join().unwrap(),
                    }
                }
                COUNT.with(Cell::get)
            })
        })
        .collect();
    for (n, h) in hs.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), 1000 * n as u64);
    }
}

#[test]
fn a_reference_from_with_survives_blocking_calls_and_other_locals() {
    let v = go::spawn(|| {
        TRAIL.with(|t| {
            t.borrow_mut().push(1);
            go::time::sleep(Duration::from_millis(1)); // held across a park
            COUNT.with(|c| c.set(5)); // another local is created meanwhile
            t.borrow_mut().push(2);
            t.borrow().clone()
        })
    });
    assert_eq!(v.join().unwrap(), [1, 2]);
}

#[test]
fn locals_follow_a_migrating_goroutine() {
    let hs: Vec<_> = (0..16u64)
        .map(|n| {
            // SAFETY: these goroutines hold nothing thread-bound across
            // blocking calls; their state is goroutine-local.
            let b = unsafe { go::Builder::new().migratable() };
            b.spawn(move || {
                for _ in 0..200 {
                    COUNT.with(|c| c.set(c.get() + 1));
                    go::runtime::gosched();
                    go::time::sleep(Duration::from_micros(20));
                }
                (n, COUNT.with(Cell::get))
            })
            .unwrap()
        })
        .collect();
    for h in hs {
        assert_eq!(h.join().unwrap().1, 200);
    }
}

#[test]
fn values_are_dropped_when_the_goroutine_finishes_before_join_returns() {
    struct Noisy(Arc<AtomicU32>);
    impl Drop for Noisy {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    go::goroutine_local! {
        static GUARD: RefCell<Option<Noisy>> = RefCell::new(None);
    }
    let counter = Arc::new(AtomicU32::new(0));
    let hs: Vec<_> = (0..20)
        .map(|_| {
            let c = counter.clone();
            go::spawn(move || GUARD.with(|g| *g.borrow_mut() = Some(Noisy(c))))
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(counter.load(Ordering::SeqCst), 20, "every goroutine's value dropped by join");
}

#[test]
fn plain_threads_get_their_own_values() {
    let t = std::thread::spawn(|| {
        COUNT.with(|c| c.set(41));
        COUNT.with(|c| c.get() + 1)
    });
    assert_eq!(t.join().unwrap(), 42);
    assert_eq!(COUNT.with(Cell::get), 0, "this thread's value is untouched");
}

/// A value whose destructor uses its own key: std's thread-locals panic
/// ("cannot access ... during or after destruction"); so does this, and the
/// goroutine's join reports it. (It looped for ever before.)
#[test]
fn a_destructor_using_its_own_key_panics_instead_of_looping() {
    struct UsesItself;
    impl Drop for UsesItself {
        fn drop(&mut self) {
            SELF_REF.with(|_| ());
        }
    }
    go::goroutine_local! {
        // Every new value would, when dropped, create the next one.
        static SELF_REF: UsesItself = UsesItself;
    }
    let _w = common::watchdog(Duration::from_secs(30), "a local's destructor using its own key");
    let h = go::spawn(|| SELF_REF.with(|_| ()));
    let err = h.join().expect_err("the destructor's access panics");
    let msg =
        err.downcast_ref::<String>().map(String::as_str).or(err.downcast_ref::<&str>().copied());
    assert_eq!(msg, Some("cannot access a goroutine-local value during or after destruction"));
}

/// A destructor may use *other* goroutine-locals, even ones not created
/// yet: those are dropped too, and every destructor runs.
#[test]
fn a_destructor_may_use_other_locals() {
    static DROPS: AtomicU32 = AtomicU32::new(0);
    struct Second;
    impl Drop for Second {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    struct First;
    impl Drop for First {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
            OTHER.with(|o| *o.borrow_mut() = Some(Second));
        }
    }
    go::goroutine_local! {
        static FIRST: RefCell<Option<First>> = RefCell::new(None);
        static OTHER: RefCell<Option<Second>> = RefCell::new(None);
    }
    go::spawn(|| FIRST.with(|f| *f.borrow_mut() = Some(First))).join().unwrap();
    assert_eq!(DROPS.load(Ordering::SeqCst), 2);
}
