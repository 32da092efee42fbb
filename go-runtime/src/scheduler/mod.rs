//! The scheduler, the runtime's kernel: worker threads, run queues,
//! stealing, idle parking, timers, the netpoller, sysmon, the goroutine
//! registry, dumps and the deadlock check.
//!
//! Design note: `README.md` beside this file (the worker's search order, the
//! park/wake protocol and its proof sketch, where goroutines go when they
//! become runnable).
//!
//! In this runtime one worker thread (M) owns one P for its whole life, so
//! "worker" names both. `global::Runtime` is the global part (Go's `sched`),
//! `remote::Remote` the part of a worker that other threads touch, and
//! `worker::Worker` the part only its own thread touches.
//!
//! # The face
//! Everything above the scheduler (channels, sync, time, net, spawn, the
//! `runtime` knobs) uses only what this file exports; every submodule is
//! private. Waiting: [`park`], [`Deadline`], [`yield_now`], [`Unparker`],
//! [`Latch`], [`checkpoint`]. Goroutines: [`spawn`]. Timers: [`add_timer`]. Sockets:
//! [`poll_register`], [`poll_deregister`], [`PollDesc`]. Threads:
//! [`HelperThread`]. Knobs and questions: [`gomaxprocs`] and the functions
//! after it, [`goroutines`], [`dump`].

mod deadlock;
mod dump;
mod global;
mod idle;
mod latch;
mod netpoll;
mod newproc;
mod park;
mod preempt;
mod registry;
mod remote;
mod runnext;
mod sysmon;
mod threads;
mod timers;
mod worker;

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;
use std::time::Instant;

pub(crate) use self::dump::dump_text_except;
pub use self::dump::{GoroutineInfo, GoroutineState, dump, goroutines};
use self::global::{runtime, try_runtime};
pub(crate) use self::latch::{Latch, VERDICT_MASK};
pub(crate) use self::netpoll::{Dir, PollDesc};
pub(crate) use self::newproc::{SpawnOpts, spawn};
pub(crate) use self::park::{Deadline, TaskWaker, Unparker, park, yield_now};
pub use self::sysmon::Stall;
pub(crate) use self::threads::HelperThread;
pub(crate) use self::timers::Callback;
use self::timers::Fire;
use crate::coroutine::{self, round_stack_size};

/// Runs `f` at about `deadline` from the calling goroutine's worker's timer
/// heap, on the worker's own stack: `f` must be short and must not block.
/// If `f` reports itself dead first ([`Callback::is_live`]), it is dropped
/// unrun, and the heap forgets it.
///
/// # Panics
/// When called off a goroutine (the caller checks
/// [`coroutine::on_goroutine`] and uses a goroutine of its own instead).
pub(crate) fn add_timer(deadline: Instant, f: Box<dyn Callback>) {
    assert!(coroutine::on_goroutine(), "add_timer is called on a goroutine");
    let w = worker::current().expect("a goroutine runs on a worker");
    w.add_timer(deadline, Fire::Call(f));
}

/// Registers the non-blocking socket `fd` with the netpoller (creating it
/// on first use); goroutines then wait for it with [`PollDesc::wait`].
pub(crate) fn poll_register(fd: RawFd) -> io::Result<&'static PollDesc> {
    netpoll::netpoll().register(fd)
}

/// Forgets `fd`, about to be closed, and wakes whoever waits on it.
pub(crate) fn poll_deregister(fd: RawFd, pd: &'static PollDesc) {
    netpoll::netpoll().deregister(fd, pd);
}

/// A scheduling point for a runtime call (a channel operation, `select`, a
/// socket operation, `sleep(0)`) that may not block: if sysmon has asked
/// the caller's worker to switch goroutines (it has run the caller for more
/// than 10 ms, or has a timer due), the caller yields (`preempt.rs`); else
/// the call is counted, and every 256th the goroutine checks itself.
/// Costs a relaxed load, a branch and a call of about ten instructions
/// while no worker is asked. Call it only where the caller holds no lock
/// another goroutine may take.
#[inline]
pub(crate) fn checkpoint() {
    if preempt::PENDING.load(Ordering::Relaxed) != 0 {
        preempt::yield_if_asked();
    } else {
        preempt::count_call();
    }
}

/// [`checkpoint`] without the count, for the uncontended `Mutex` and
/// `RwMutex` paths (a few nanoseconds, where the count's call was a third
/// more): sysmon's request is honoured, the self-check is left to the
/// goroutine's other runtime calls.
#[inline]
pub(crate) fn checkpoint_uncounted() {
    if preempt::PENDING.load(Ordering::Relaxed) != 0 {
        preempt::yield_if_asked();
    }
}

/// Runs `lock`, a wait for one of the runtime's own locks, which another
/// thread held when the caller looked, marked on the caller's worker: a
/// thread waiting in the kernel for such a lock (its holder's thread off
/// its CPU, with more workers than CPUs) is no goroutine's blocking call,
/// and sysmon neither reports it nor hands its worker's work off.
#[cold]
#[inline(never)]
pub(crate) fn wait_for_internal_lock<R>(lock: impl FnOnce() -> R) -> R {
    let Some(w) = worker::current() else { return lock() };
    let mark = &w.remote().counts.internal_wait;
    // Relaxed: only this thread writes it; sysmon reads it as a hint.
    mark.store(mark.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    let r = lock();
    mark.store(mark.load(Ordering::Relaxed) - 1, Ordering::Relaxed);
    r
}

/// The acquisition token of a raw runtime lock ([`lock_internal_raw`]).
pub(crate) type RawGuard = <parking_lot::RawMutex as parking_lot::lock_api::RawMutex>::Guard;

/// Takes one of the runtime's own raw locks (a channel's, for a `select`
/// that holds several), a wait marked as in [`wait_for_internal_lock`]
/// when another thread holds it. (A plain load decides, not a failed
/// `try_lock`: that compare-and-swap on a contended line, followed by the
/// lock's own, cost ping-pong 7% through the channel locks.)
#[inline]
pub(crate) fn lock_internal_raw(raw: &parking_lot::RawMutex) -> RawGuard {
    use parking_lot::lock_api::RawMutex as _;
    if raw.is_locked() { wait_for_internal_lock(|| raw.lock()) } else { raw.lock() }
}

/// Locks one of the runtime's own mutexes (a channel's state, a sync
/// primitive's queue) as [`lock_internal_raw`] does. (Not built on it:
/// making the guard from the raw token cost 18 instructions a ping-pong
/// round trip, callgrind.)
#[inline]
pub(crate) fn lock_internal<T: ?Sized>(
    m: &parking_lot::Mutex<T>,
) -> parking_lot::MutexGuard<'_, T> {
    if m.is_locked() { wait_for_internal_lock(|| m.lock()) } else { m.lock() }
}

/// The index of the worker running the caller, or `None` on a plain
/// thread. (Which worker a migratable goroutine runs on may change at its
/// next park: a hint only.)
pub(crate) fn current_worker() -> Option<usize> {
    worker::current().map(worker::Worker::index)
}

/// GOMAXPROCS: from the running runtime, or what it would start with.
pub(crate) fn gomaxprocs() -> usize {
    match try_runtime() {
        Some(rt) => rt.nprocs(),
        None => global::procs_from_env(),
    }
}

/// Sets GOMAXPROCS (starting the runtime if needed); returns the old value.
pub(crate) fn set_gomaxprocs(n: usize) -> usize {
    runtime().set_nprocs(n)
}

/// Live goroutines (0 before the runtime starts).
pub(crate) fn num_goroutine() -> usize {
    try_runtime().map_or(0, |rt| rt.live())
}

/// Sets the usable stack size of goroutines spawned without an explicit
/// one (rounded to a size class); returns the previous one.
pub(crate) fn set_default_stack_size(bytes: usize) -> usize {
    runtime().stack_size.swap(round_stack_size(bytes), Ordering::Relaxed)
}

/// Makes every goroutine spawned from now on migratable.
///
/// # Safety
/// The contract of `runtime::enable_migration`.
pub(crate) unsafe fn enable_migration() {
    runtime().migrate_all.store(true, Ordering::Relaxed);
}

/// Replaces sysmon's stall report.
pub(crate) fn set_stall_hook(hook: Box<dyn Fn(&Stall) + Send + Sync + 'static>) {
    sysmon::set_hook(hook);
}

/// The process is printing a crash report and will exit: stop sysmon's
/// stall reports (symbolizing a stack can take a while).
pub(crate) fn begin_crash() {
    sysmon::begin_crash();
}
