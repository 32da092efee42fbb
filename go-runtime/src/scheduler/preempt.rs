//! Cooperative preemption: a goroutine asked to yield does so at its next
//! runtime call (Go's behaviour before 1.14, when the check sat in every
//! function prologue).
//!
//! sysmon asks a worker (`request`) when its goroutine has run for more
//! than [`AFTER`] without a scheduling point, or when the worker has a
//! timer due that it cannot fire while the goroutine runs (README,
//! "Fairness"). Runtime calls (channel operations and `select`, locks,
//! sockets) call [`checkpoint`](super::checkpoint): one relaxed load of
//! [`PENDING`] and a branch while nobody is asked; when some worker is,
//! the slow path reads the caller's worker and yields if it is the one.
//! The worker withdraws the request once its goroutine has switched out
//! (`Worker::execute`), so a request is satisfied by any switch, not only
//! by the yield it asked for.
//!
//! A goroutine also asks itself, every 256th counted runtime call
//! (`count_call`; channel operations, `select`, sockets, `sleep(0)`, not
//! the uncontended lock paths): it yields if its worker has a timer due or
//! it has run [`AFTER`], so a late sysmon (its thread waiting for a CPU)
//! delays nobody; and it beats its worker's heartbeat, which thieves read
//! before taking the worker's `runnext`.
//!
//! A goroutine that is unwinding (a `Drop` run by a panic) is never asked
//! to yield, nor does it ask itself: the panic count std keeps is the
//! thread's, so a goroutine switched out mid-unwind would leave it raised
//! for the goroutines that run next on its thread (`thread::panicking()`
//! true there, and a `std::sync::Mutex` they unlock poisoned). A blocking
//! operation in such a `Drop` still switches goroutines, as it must (see
//! `coroutine/README.md`, "Panics").
//!
//! The flags are hints: a request that lands on the next goroutine (the
//! asked one switched out meanwhile) costs that goroutine one early yield.
//! Relaxed ordering throughout, since nothing is published through them.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::{park, worker};
use crate::{coroutine, trace};

/// A goroutine that has run this long without switching out is asked to
/// yield (Go's `forcePreemptNS`).
pub(super) const AFTER: Duration = Duration::from_millis(10);

/// How many workers are asked to switch goroutines now.
pub(super) static PENDING: AtomicUsize = AtomicUsize::new(0);

/// Asks the worker whose flag is `asked` to switch goroutines.
pub(super) fn request(asked: &AtomicBool) {
    if !asked.swap(true, Ordering::Relaxed) {
        PENDING.fetch_add(1, Ordering::Relaxed);
    }
}

/// Withdraws a request on `asked`; returns whether there was one.
pub(super) fn withdraw(asked: &AtomicBool) -> bool {
    // A plain load first: the worker calls this after every goroutine run.
    if asked.load(Ordering::Relaxed) && asked.swap(false, Ordering::Relaxed) {
        PENDING.fetch_sub(1, Ordering::Relaxed);
        return true;
    }
    false
}

/// Whether sysmon asks workers to switch goroutines: yes, unless
/// `GODEBUG=sysmonpreempt=0` (a diagnostic, like Go's `asyncpreemptoff`:
/// then only the goroutines' own checks preempt; tests use it to check
/// those alone).
pub(super) fn sysmon_asks() -> bool {
    static ASKS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ASKS.get_or_init(|| {
        !std::env::var("GODEBUG")
            .is_ok_and(|v| v.split(',').any(|kv| kv.trim() == "sysmonpreempt=0"))
    })
}

/// Runtime calls between two checks a running goroutine makes of itself
/// (`self_check`).
const SELF_CHECK_EVERY: u32 = 256;

thread_local! {
    /// Runtime calls made on this thread, modulo 2^32.
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

/// `checkpoint` while nobody is asked: counts the call, and every
/// [`SELF_CHECK_EVERY`]th the goroutine checks itself, so that a due timer
/// or a long run is noticed without waiting for sysmon, whose thread the
/// kernel may not schedule for milliseconds when the workers keep every
/// CPU busy.
///
/// Never inlined: the count is a `thread_local!`, which code inlined into
/// another crate (a `Chan<T>` method) reaches through a function pointer,
/// and the out-of-line call is cheaper (ten instructions).
#[inline(never)]
pub(super) fn count_call() {
    let n = CALLS.get().wrapping_add(1);
    CALLS.set(n);
    if n.is_multiple_of(SELF_CHECK_EVERY) {
        self_check();
    }
}

/// The goroutine on this thread beats its worker's heartbeat (thieves read
/// it: `Counts::heartbeat`), and yields if its worker has a timer due or
/// it has run for [`AFTER`] (what sysmon would ask, asked by itself).
#[cold]
#[inline(never)]
fn self_check() {
    if !coroutine::on_goroutine() || std::thread::panicking() {
        return;
    }
    let Some(w) = worker::current() else { return };
    let beat = &w.remote().counts.heartbeat;
    // Relaxed: only this thread writes it; thieves take it as a hint.
    beat.store(beat.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    if w.should_switch() {
        if trace::on() {
            trace::emit(trace::Kind::Preempt, coroutine::current_id(), w.index() as u64, 1);
        }
        park::yield_now();
    }
}

/// The slow path of `checkpoint`: some worker is asked to switch; if it is
/// the caller's and the caller is a goroutine, yield.
#[cold]
#[inline(never)]
pub(super) fn yield_if_asked() {
    if !coroutine::on_goroutine() || std::thread::panicking() {
        return;
    }
    if worker::current().is_some_and(|w| w.asked_to_switch()) {
        park::yield_now();
    }
}
