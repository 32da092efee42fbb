//! `context` (docs/go-semantics.md, 62-65).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use go::chan::Select;
use go::context::{self, Error};

#[test]
fn item_62_err_is_none_then_canceled_or_deadline_exceeded() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    assert_eq!(ctx.err(), None);
    cancel();
    assert_eq!(ctx.err(), Some(Error::Canceled));
    assert_eq!(ctx.err().unwrap().to_string(), "context canceled");
    assert!(!ctx.err().unwrap().is_timeout());
    let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(5));
    assert_eq!(ctx.done().recv(), None);
    assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
    assert_eq!(ctx.err().unwrap().to_string(), "context deadline exceeded");
    assert!(ctx.err().unwrap().is_timeout());
}

#[test]
fn item_63_background_and_todo() {
    let bg = context::background();
    assert!(bg.done().recv_timeout(Duration::from_millis(10)).is_err(), "Done() is nil");
    assert_eq!(bg.to_string(), "context.Background");
    assert_eq!(context::todo().to_string(), "context.TODO");
    let (c, _cancel) = context::with_cancel(&bg);
    assert_eq!(c.to_string(), "context.Background.WithCancel");
}

#[test]
fn item_64_cancel_closes_done_is_idempotent_and_reaches_descendants_only() {
    let bg = context::background();
    let (parent, cancel_parent) = context::with_cancel(&bg);
    let (sibling, _cancel_sibling) = context::with_cancel(&bg);
    let (child, cancel_child) = context::with_cancel(&parent);
    let valued = context::with_value(&child, "k", 1);
    let (grandchild, _cancel_gc) = context::with_timeout(&valued, Duration::from_secs(60));
    // Cancelling the child cancels its descendants, not its parent.
    cancel_child();
    assert_eq!(grandchild.err(), Some(Error::Canceled), "synchronously");
    assert_eq!(parent.err(), None);
    cancel_child(); // idempotent
    assert_eq!(child.err(), Some(Error::Canceled));
    // Cancelling the parent does not touch its sibling.
    cancel_parent();
    assert_eq!(parent.err(), Some(Error::Canceled));
    assert_eq!(sibling.err(), None);
    // A child of a cancelled parent is born cancelled.
    let (late, _c) = context::with_cancel(&parent);
    assert_eq!(late.err(), Some(Error::Canceled));
    // Done wakes goroutines blocked in a select.
    let (ctx, cancel) = context::with_cancel(&bg);
    let hs: Vec<_> = (0..10)
        .map(|_| {
            let ctx = ctx.clone();
            go::spawn(move || {
                let done = ctx.done();
                let never = go::chan::Chan::<u8>::new(0);
                Select::new().recv(&done, |_| "done").recv(&never, |_| "value").wait()
            })
        })
        .collect();
    go::time::sleep(Duration::from_millis(10));
    cancel();
    assert!(hs.into_iter().all(|h| h.join().unwrap() == "done"));
}

#[test]
fn item_65_deadline_is_the_earlier_of_own_and_parent() {
    let bg = context::background();
    let soon = Instant::now() + Duration::from_millis(20);
    let (parent, _c1) = context::with_deadline(&bg, soon);
    let (child, _c2) = context::with_timeout(&parent, Duration::from_secs(60));
    assert_eq!(child.deadline(), Some(soon));
    let t = Instant::now();
    assert_eq!(child.done().recv(), None);
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(child.err(), Some(Error::DeadlineExceeded));
    // A deadline in the past: done at once.
    let (past, _c3) = context::with_deadline(&bg, Instant::now() - Duration::from_millis(1));
    assert_eq!(past.err(), Some(Error::DeadlineExceeded));
    assert!(past.done().try_recv().is_err_and(|e| e == go::chan::TryRecvError::Closed));
}

#[test]
fn values_are_found_up_the_tree_by_key_and_type() {
    #[derive(PartialEq)]
    struct UserKey;
    let bg = context::background();
    let a = context::with_value(&bg, UserKey, String::from("gopher"));
    let (b, _cancel) = context::with_cancel(&a);
    let c = context::with_value(&b, "trace", 7u32);
    assert_eq!(c.value::<_, String>(&UserKey).map(String::as_str), Some("gopher"));
    assert_eq!(c.value::<_, u32>(&"trace"), Some(&7));
    assert_eq!(c.value::<_, u64>(&"trace"), None, "wrong type");
    assert_eq!(bg.value::<_, u32>(&"trace"), None);
    // The nearest binding wins.
    let d = context::with_value(&c, "trace", 8u32);
    assert_eq!(d.value::<_, u32>(&"trace"), Some(&8));
}

#[test]
fn many_contexts_cancel_without_leaking_children() {
    let _w = common::watchdog(Duration::from_secs(30), "context tree");
    let (root, cancel_root) = context::with_cancel(&context::background());
    for _ in 0..10_000 {
        let (c, cancel) = context::with_cancel(&root);
        cancel();
        assert_eq!(c.err(), Some(Error::Canceled));
    }
    let (survivor, _c) = context::with_cancel(&root);
    cancel_root();
    assert_eq!(survivor.err(), Some(Error::Canceled));
}

#[test]
fn item_66_causes_after_func_and_without_cancel() {
    use std::sync::Arc;
    // A cause is reported by `cause`, while `err` stays standard, and it
    // travels to descendants.
    let (ctx, cancel) = context::with_cancel_cause(&context::background());
    let (child, _c) = context::with_cancel(&ctx);
    assert!(context::cause(&child).is_none());
    cancel(Some(Arc::new(std::io::Error::other("quota exceeded"))));
    assert_eq!(child.err(), Some(Error::Canceled));
    assert_eq!(context::cause(&child).unwrap().to_string(), "quota exceeded");
    // Without a cause, the cause is the error.
    let (ctx2, cancel2) = context::with_cancel_cause(&context::background());
    cancel2(None);
    assert_eq!(context::cause(&ctx2).unwrap().to_string(), "context canceled");

    // after_func runs f in a new goroutine when the context is done...
    let (ctx, cancel) = context::with_cancel(&context::background());
    let ran = go::chan::Chan::new(1);
    let tx = ran.clone();
    let stop = context::after_func(&ctx, move || tx.send(go::runtime::goroutine_id()));
    cancel();
    let id = ran.recv().unwrap();
    assert!(id.is_some() && id != go::runtime::goroutine_id());
    assert!(!stop(), "f already started");
    // ... stop prevents it ...
    let (ctx, cancel) = context::with_cancel(&context::background());
    let ran = go::chan::Chan::<u8>::new(1);
    let tx = ran.clone();
    let stop = context::after_func(&ctx, move || tx.send(1));
    assert!(stop());
    cancel();
    assert!(ran.recv_timeout(Duration::from_millis(30)).is_err());
    // ... and it runs at once on a context already done.
    let ran = go::chan::Chan::new(1);
    let tx = ran.clone();
    let _ = context::after_func(&ctx, move || tx.send(2));
    assert_eq!(ran.recv(), Some(2));

    // without_cancel keeps values, drops cancellation and deadline.
    let (parent, cancel) = context::with_timeout(&context::background(), Duration::from_secs(60));
    let v = context::with_value(&parent, "k", 5);
    let detached = context::without_cancel(&v);
    cancel();
    assert_eq!(detached.err(), None);
    assert_eq!(detached.deadline(), None);
    assert_eq!(detached.value::<_, i32>(&"k"), Some(&5));
    let (under, _c) = context::with_cancel(&detached);
    assert_eq!(under.err(), None, "a child of a detached context is live");
}

#[test]
fn item_66_after_func_runs_even_if_the_stop_function_is_dropped() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    let ran = go::chan::Chan::new(1);
    let tx = ran.clone();
    drop(context::after_func(&ctx, move || tx.send("ran")));
    cancel();
    assert_eq!(ran.recv_timeout(Duration::from_secs(5)), Ok("ran"));
}

/// A user value whose last reference a context's deadline timer drops.
struct DropsBadly {
    /// Panic in `drop`, or block on this channel first.
    blocks_on: Option<go::chan::Chan<()>>,
}

impl Drop for DropsBadly {
    fn drop(&mut self) {
        match &self.blocks_on {
            Some(ch) => ch.send(()),
            None => panic!("boom in drop"),
        }
    }
}

/// The program: the deadline timer cancels the context and drops
/// the last reference to the tree holding the value.
fn drop_through_a_deadline(value: DropsBadly) {
    let (t, c) = context::with_timeout(&context::background(), Duration::from_millis(50));
    let v = context::with_value(&t, "k", Arc::new(value));
    let s = context::after_func(&v, || {});
    drop((s, v, t, c));
}

/// User code the runtime runs from a timer (here a `Drop`) runs in a
/// goroutine: its panic is a goroutine's panic, reported like Go's, not a
/// dead worker thread and a hang (as before).
#[test]
fn a_drop_run_by_a_deadline_timer_that_panics_is_a_goroutine_panic() {
    const NAME: &str = "a_drop_run_by_a_deadline_timer_that_panics_is_a_goroutine_panic";
    if common::is_child(NAME) {
        let _w = common::watchdog(Duration::from_secs(20), "a panicking drop run by a timer");
        go::run(|| {
            drop_through_a_deadline(DropsBadly { blocks_on: None });
            go::time::sleep(Duration::from_secs(10));
        });
        return;
    }
    let out = common::run_child(NAME, &[]);
    let (_, stderr) = common::texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("panic: boom in drop\n\ngoroutine "), "{stderr}");
}

/// ... and its blocking call parks only its own goroutine: the program goes
/// on (before, the worker thread blocked as if it were a plain thread).
#[test]
fn a_drop_run_by_a_deadline_timer_that_blocks_parks_a_goroutine() {
    const NAME: &str = "a_drop_run_by_a_deadline_timer_that_blocks_parks_a_goroutine";
    if common::is_child(NAME) {
        let _w = common::watchdog(Duration::from_secs(20), "a blocking drop run by a timer");
        go::run(|| {
            let ch = go::chan::Chan::new(0);
            drop_through_a_deadline(DropsBadly { blocks_on: Some(ch.clone()) });
            // The timer fires at 50 ms; its goroutine waits in `send`.
            go::time::sleep(Duration::from_millis(150));
            // Every worker still runs goroutines.
            let hs: Vec<_> = (0..8).map(|i| go::spawn(move || i)).collect();
            assert_eq!(hs.into_iter().map(|h| h.join().unwrap()).sum::<i32>(), 28);
            ch.recv().expect("the drop sends");
            println!("drop finished");
        });
        return;
    }
    for procs in ["1", "2"] {
        let out = common::run_child(NAME, &[("GOMAXPROCS", procs)]);
        let (stdout, stderr) = common::texts(&out);
        assert!(out.status.success(), "GOMAXPROCS={procs}: {stderr}");
        assert!(stdout.contains("drop finished"), "{stdout}");
    }
}

/// Go's `WithTimeoutCause` / `WithDeadlineCause`: the deadline records the
/// cause (and children see it); the cancel function records none.
#[test]
fn deadline_causes() {
    let why: context::Cause = Arc::new(std::io::Error::other("backend too slow"));
    let (ctx, cancel) =
        context::with_timeout_cause(&context::background(), Duration::from_millis(5), why);
    let (child, cancel_child) = context::with_cancel(&ctx);
    child.done().recv();
    assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
    assert_eq!(context::cause(&ctx).unwrap().to_string(), "backend too slow");
    assert_eq!(context::cause(&child).unwrap().to_string(), "backend too slow");
    cancel();
    cancel_child();

    // Cancelled before the deadline: no cause but the error.
    let why: context::Cause = Arc::new(std::io::Error::other("never seen"));
    let far = Instant::now() + Duration::from_secs(60);
    let (ctx, cancel) = context::with_deadline_cause(&context::background(), far, why);
    cancel();
    assert_eq!(ctx.err(), Some(Error::Canceled));
    assert_eq!(context::cause(&ctx).unwrap().to_string(), Error::Canceled.to_string());

    // A parent's earlier deadline wins, and its own cause (none) with it.
    let (parent, cancel_parent) =
        context::with_timeout(&context::background(), Duration::from_millis(1));
    let why: context::Cause = Arc::new(std::io::Error::other("child's cause"));
    let (ctx, cancel) = context::with_deadline_cause(&parent, far, why);
    assert!(ctx.deadline().unwrap() < far);
    ctx.done().recv();
    assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
    assert_eq!(context::cause(&ctx).unwrap().to_string(), Error::DeadlineExceeded.to_string());
    cancel();
    cancel_parent();
}
