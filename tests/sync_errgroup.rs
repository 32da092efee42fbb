//! `go::sync::errgroup`, with the tests of golang.org/x/sync/errgroup
//! (errgroup_test.go) ported, and a stress of the first-error rule.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::Duration;

use common::watchdog;
use go::chan::Chan;
use go::sync::errgroup::Group;

/// Go's TestZeroGroup: the group's first error. (Go's `Wait` returns it
/// again at every call; ours hands it over once, and later errors never
/// count, as in Go.)
#[test]
fn zero_group_returns_the_first_error() {
    let cases: [&[Option<&str>]; 4] =
        [&[], &[None], &[Some("err1")], &[Some("err1"), None, Some("err2")]];
    for errs in cases {
        let g = Group::new();
        let mut first: Option<&str> = None;
        let mut returned = false;
        for &err in errs {
            g.go(move || err.map_or(Ok(()), Err));
            if first.is_none() && err.is_some() {
                first = err;
            }
            let got = g.wait().err();
            let want = if returned { None } else { first };
            returned |= got.is_some();
            assert_eq!(got, want, "case {errs:?}");
        }
    }
}

/// Go's TestWithContext: `wait` returns the error and the context is done
/// after `wait`, error or not.
#[test]
fn with_context_is_cancelled_by_wait() {
    let cases: [&[Option<&str>]; 4] =
        [&[], &[None], &[Some("err1")], &[Some("err1"), None, Some("err2")]];
    for errs in cases {
        let (g, ctx) = Group::with_context(&go::context::background());
        for &err in errs {
            g.go(move || err.map_or(Ok(()), Err));
        }
        let want = errs.iter().flatten().next().copied();
        match g.wait() {
            Ok(()) => assert_eq!(want, None, "case {errs:?}"),
            Err(e) => assert!(errs.contains(&Some(e)), "case {errs:?}: {e}"),
        }
        assert!(ctx.done().try_recv().is_err() || ctx.err().is_some());
        assert!(ctx.err().is_some(), "ctx not cancelled after wait (case {errs:?})");
    }
}

/// The first error cancels the context at once: the siblings waiting on it
/// stop before `wait` is called.
#[test]
fn the_first_error_cancels_the_siblings() {
    let _dog = watchdog(Duration::from_secs(30), "errgroup cancellation");
    let (g, ctx) = Group::with_context(&go::context::background());
    let stopped = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let (ctx, stopped) = (ctx.clone(), stopped.clone());
        g.go(move || {
            ctx.done().recv();
            stopped.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
    }
    g.go(|| Err("boom"));
    while stopped.load(Ordering::SeqCst) < 10 {
        go::time::sleep(Duration::from_millis(1));
    }
    assert_eq!(g.wait(), Err("boom"));
}

/// Go's TestTryGo.
#[test]
fn try_go_respects_the_limit() {
    let _dog = watchdog(Duration::from_secs(30), "try_go");
    let g = Group::<()>::new();
    let n = 42;
    g.set_limit(42);
    let ch = Chan::<()>::new(0);
    let f = {
        let ch = ch.clone();
        move || {
            let ch = ch.clone();
            move || {
                ch.send(());
                Ok(())
            }
        }
    };
    for i in 0..n {
        assert!(g.try_go(f()), "TryGo should succeed but got fail at {i}-th call.");
    }
    assert!(!g.try_go(f()), "TryGo is expected to fail but succeeded.");
    let drain = |k: usize| {
        let ch = ch.clone();
        go::spawn(move || {
            for _ in 0..k {
                ch.recv();
            }
        })
    };
    drain(n);
    g.wait().unwrap();
    assert!(g.try_go(f()), "TryGo should success but got fail after all goroutines.");
    drain(1);
    g.wait().unwrap();

    // Switch limit.
    g.set_limit(1);
    assert!(g.try_go(f()), "TryGo should success but got failed.");
    assert!(!g.try_go(f()), "TryGo should fail but succeeded.");
    drain(1);
    g.wait().unwrap();

    // Block all calls.
    g.set_limit(0);
    for _ in 0..1 << 10 {
        assert!(!g.try_go(f()), "TryGo should fail but got succeeded.");
    }
    g.wait().unwrap();
}

/// Go's TestGoLimit: never more than the limit at once.
#[test]
fn go_never_exceeds_the_limit() {
    let _dog = watchdog(Duration::from_secs(60), "go limit");
    const LIMIT: i32 = 10;
    let g = Group::new();
    g.set_limit(LIMIT as isize);
    let active = Arc::new(AtomicI32::new(0));
    for _ in 0..=1 << 10 {
        let active = active.clone();
        g.go(move || {
            let n = active.fetch_add(1, Ordering::SeqCst) + 1;
            if n > LIMIT {
                return Err(format!("saw {n} active goroutines; want ≤ {LIMIT}"));
            }
            go::time::sleep(Duration::from_micros(1));
            active.fetch_add(-1, Ordering::SeqCst);
            Ok(())
        });
    }
    g.wait().unwrap();
}

/// Go panics when the limit changes under running goroutines.
#[test]
fn set_limit_while_active_panics_like_go() {
    let g = Group::<()>::new();
    g.set_limit(2);
    let hold = Chan::<()>::new(0);
    let h = hold.clone();
    g.go(move || {
        h.recv();
        Ok(())
    });
    let r = std::panic::catch_unwind(|| g.set_limit(5));
    let msg = r.unwrap_err();
    assert_eq!(
        msg.downcast_ref::<String>().map(String::as_str),
        Some("errgroup: modify limit while 1 goroutines in the group are still active")
    );
    hold.send(());
    g.wait().unwrap();
}

/// Many groups, many failing goroutines: exactly one error per group
/// comes back, and it is one of those returned.
#[test]
fn exactly_one_error_per_group() {
    let _dog = watchdog(Duration::from_secs(60), "errgroup stress");
    for round in 0..200 {
        let g = Group::new();
        let ran = Arc::new(AtomicUsize::new(0));
        for i in 0..20usize {
            let ran = ran.clone();
            g.go(move || {
                ran.fetch_add(1, Ordering::SeqCst);
                if i % 3 == 0 { Err(i) } else { Ok(()) }
            });
        }
        let e = g.wait().unwrap_err();
        assert_eq!(e % 3, 0, "round {round}");
        assert_eq!(ran.load(Ordering::SeqCst), 20);
        assert_eq!(g.wait(), Ok(()), "the error is handed over once");
    }
}

/// Go: a panic in a group's goroutine crashes the program (it is not
/// turned into the group's error).
#[test]
fn a_panic_in_a_group_goroutine_crashes() {
    const NAME: &str = "a_panic_in_a_group_goroutine_crashes";
    if common::is_child(NAME) {
        let g = Group::<String>::new();
        g.go(|| panic!("worker exploded"));
        let _ = g.wait();
        std::thread::sleep(Duration::from_secs(5));
        println!("unreachable");
        return;
    }
    let (_, stderr) = common::run_crashing_child(NAME, &[]);
    assert!(stderr.starts_with("panic: worker exploded"), "{stderr}");
}
