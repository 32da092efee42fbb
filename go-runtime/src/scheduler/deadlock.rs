//! Deadlock detection (docs/go-semantics.md, 58-61): `fatal error: all goroutines
//! are asleep - deadlock!` when nothing can ever wake any goroutine.
//!
//! # When it runs
//! The last worker to go idle with an empty timer heap parks with a
//! timeout (20 ms, doubling to 1 s) instead of for good, and on each
//! timeout runs [`check`]. So a deadlock is reported within tens of
//! milliseconds, and a busy program never pays for the check.
//!
//! # What it requires (all, twice, 5 ms apart, with nothing changed)
//! 1. Every worker is asleep with no timer (`parked_for_good`), and every
//!    run queue, runnext slot and inbox is empty.
//! 2. Every started goroutine is parked on a primitive only another
//!    goroutine or thread can complete (channel, select, Mutex, RwMutex,
//!    WaitGroup, Cond, semaphore, join), not sleeping or in a blocking call,
//!    and every live goroutine is in the registry (registered == live: one
//!    that never blocked is running or runnable).
//! 3. Every OS thread of the process is accounted for: a worker, a blocking
//!    helper, the SIGQUIT watcher, or a plain thread parked in one of our
//!    primitives without a deadline. Any other thread might still send on
//!    a channel or unlock a mutex, so its presence means "not dead": a
//!    report is never false, at the price of missing deadlocks in programs
//!    that keep other threads (a test harness, for one). And every one of
//!    those threads but the checker sleeps in the kernel (`S` in `/proc`):
//!    a plain thread woken from its park but descheduled before it could
//!    take itself off the count of parked threads is runnable, and so is
//!    not counted as stuck (once, before this, such a thread held 25 ms in
//!    that window made a correct program be reported).
//! 4. Counters that move on any scheduling, spawn, finish or wake-up of a
//!    plain thread are equal before and after the 5 ms pause.
//!
//! Partial deadlocks (some goroutines leaked, others running) are never
//! reported (61), as in Go. Unlike Go, a pending `Timer` or `Ticker` that
//! nobody watches delays the report (its timer is in a heap): conservative.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::global::Runtime;
use super::{dump, park, threads};
use crate::trace;

/// How long the last idle worker waits before the first check.
pub(super) const FIRST_CHECK: Duration = Duration::from_millis(20);
/// The longest wait between checks.
pub(super) const MAX_INTERVAL: Duration = Duration::from_secs(1);

/// Counters that change whenever anything happens (condition 4).
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    ticks: u64,
    spawned: usize,
    finished: usize,
    outside: (usize, usize),
}

/// Condition 1, and the counters of condition 4.
fn quiet(rt: &Runtime) -> Option<Snapshot> {
    let n = rt.num_started();
    let workers: Vec<_> = (0..n).filter_map(|i| rt.worker(i)).collect();
    if workers.len() != n || !rt.injector.is_empty() {
        return None;
    }
    let mut snap = Snapshot { ticks: 0, spawned: 0, finished: 0, outside: (0, 0) };
    // The SeqCst loads below pair with the SeqCst stores of
    // `parked_for_good` in `Worker::search` and the Release of
    // `Counts::bump`: a worker seen parked for good has published every
    // count it bumped before it parked. Condition 4 re-reads them all.
    for w in &workers {
        if !w.sleeper.is_sleeping()
            || !w.parked_for_good.load(Ordering::SeqCst)
            || !w.inbox.is_empty()
            || !w.stealer.is_empty()
            || !w.runnext.is_empty()
        {
            return None;
        }
        // SeqCst pairs with the Release of `Counts::bump` (see above).
        snap.ticks = snap.ticks.wrapping_add(u64::from(w.counts.schedtick.load(Ordering::SeqCst)));
        snap.spawned += w.counts.spawned.load(Ordering::SeqCst);
        snap.finished += w.counts.finished.load(Ordering::SeqCst);
    }
    // SeqCst pairs with the Relaxed `fetch_add` in `spawned_outside`
    // only through the 5 ms pause of condition 4 (a change detector).
    snap.spawned += rt.spawned_outside.load(Ordering::SeqCst);
    snap.outside = park::outside_counts();
    Some(snap)
}

/// Condition 2.
fn all_blocked_for_good(rt: &Runtime) -> bool {
    let mut registered = 0;
    let mut stuck = true;
    for i in 0..rt.num_started() {
        let Some(w) = rt.worker(i) else { return false };
        let reg = w.registry.lock();
        registered += reg.len();
        reg.each(|g| stuck &= g.is_parked() && g.wait_reason().0.needs_a_waker());
        if !stuck {
            return false;
        }
    }
    registered == rt.live()
}

/// Condition 3.
fn threads_accounted(rt: &Runtime) -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return false };
    let tids: Vec<i32> = tasks.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    let known = rt.num_started()
        + threads::helpers_alive()
        + threads::runtime_threads()
        + park::outside_counts().0;
    tids.len() == known && others_asleep(&tids)
}

/// Whether every thread in `tids` but the caller sleeps in the kernel
/// (state `S` in `/proc`). A thread woken from one of our parks but not
/// yet past its count of parked threads (descheduled right after the
/// wake-up, say) is still counted as parked: it is runnable (`R`), and so
/// it vetoes the report, as does a thread in any state but `S`.
fn others_asleep(tids: &[i32]) -> bool {
    // SAFETY: `gettid` has no preconditions.
    let me = unsafe { libc::gettid() };
    tids.iter().filter(|&&t| t != me).all(|t| {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{t}/stat")).unwrap_or_default();
        // The state is the first field after the parenthesised name.
        let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
        // A thread that is gone (no file) is not a reason to doubt.
        state.is_none_or(|c| c == 'S')
    })
}

/// Runs the check; reports the deadlock and exits if there is one.
pub(super) fn check(rt: &Runtime) {
    trace::emit(trace::Kind::DeadlockCheck, 0, 0, 0);
    let Some(before) = quiet(rt) else { return };
    if !all_blocked_for_good(rt) || !threads_accounted(rt) {
        return;
    }
    std::thread::sleep(Duration::from_millis(5));
    if quiet(rt) != Some(before) || !all_blocked_for_good(rt) || !threads_accounted(rt) {
        return;
    }
    dump::report_deadlock();
}
