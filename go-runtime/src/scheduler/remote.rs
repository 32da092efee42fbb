//! The part of a worker that other threads touch (tokio's `Remote`): its
//! runnext slot, the stealer of its local queue, its inbox, how to wake it,
//! its counters, its registry of goroutines and its timers. Everything else
//! about a worker is in `worker.rs` and touched only by its own thread.

use std::panic::Location;
use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
use std::time::Instant;

use crossbeam_deque::{Injector, Stealer};

use super::idle::Sleeper;
use super::registry::Registry;
use super::runnext::RunNext;
use super::timers::{Fire, Timers};
use crate::coroutine::GRef;

/// The part of a worker other threads use.
#[derive(Debug)]
pub(super) struct Remote {
    /// The worker's index (its P's id).
    pub(super) index: usize,
    /// Go's `runnext`.
    pub(super) runnext: RunNext,
    /// Steals from the worker's local queue (only stealable goroutines are
    /// ever in it).
    pub(super) stealer: Stealer<GRef>,
    /// Started goroutines of this worker woken by other threads; only this
    /// worker pops it.
    pub(super) inbox: Injector<GRef>,
    /// How to wake the worker.
    pub(super) sleeper: Sleeper,
    /// Goroutines spawned and finished on this worker.
    pub(super) counts: CachePadded<Counts>,
    /// The worker thread's kernel id (for sysmon's look at `/proc`).
    pub(super) tid: AtomicI32,
    /// The goroutines that parked on this worker (`registry.rs`).
    pub(super) registry: parking_lot::Mutex<Registry>,
    /// Set while the worker is parked with no timer to wake it (its timer
    /// heap is empty): only another thread can give it work. Read by the
    /// deadlock check.
    pub(super) parked_for_good: AtomicBool,
    /// Timers armed by goroutines running on this worker. Only the worker
    /// uses them, except sysmon, which fires the due ones of a stalled
    /// worker; the lock is uncontended otherwise.
    pub(super) timers: parking_lot::Mutex<Timers>,
}

impl Remote {
    /// Fires the due timers: a woken goroutine goes to `ready`, a callback
    /// runs here (without the lock). Returns the next deadline.
    pub(super) fn fire_timers(&self, mut ready: impl FnMut(GRef)) -> Option<Instant> {
        let mut timers = self.timers.lock();
        let next = timers.next_deadline()?;
        let now = Instant::now();
        if next > now {
            return Some(next);
        }
        while let Some(fire) = timers.pop_due(now) {
            match fire {
                Fire::Wake(g, _) => {
                    if g.unpark() {
                        ready(g);
                    }
                }
                Fire::Call(f) => {
                    // The callback may add timers or wake goroutines.
                    drop(timers);
                    f.call();
                    timers = self.timers.lock();
                }
            }
        }
        timers.next_deadline()
    }
}

/// A worker's goroutine counts, each written only by the worker's own thread.
#[derive(Debug, Default)]
pub(super) struct Counts {
    /// Goroutines spawned by goroutines running on this worker.
    pub(super) spawned: AtomicUsize,
    /// Goroutines that finished on this worker.
    pub(super) finished: AtomicUsize,
    /// The worker's schedule tick (one per goroutine run), for thieves
    /// deciding whether its runnext has waited long enough, and sysmon.
    pub(super) schedtick: AtomicU32,
    /// Id of the goroutine it runs now, 0 between goroutines (for sysmon).
    pub(super) running: AtomicU64,
    /// Where that goroutine was spawned (for sysmon's report).
    pub(super) running_site: AtomicPtr<Location<'static>>,
    /// Set by sysmon to ask the worker to switch goroutines (`preempt.rs`);
    /// unlike the rest, written by other threads too.
    pub(super) preempt: AtomicBool,
    /// Bumped by the goroutine running on this worker at each of its
    /// self-checks (every 256th runtime call, `preempt::self_check`): a
    /// thief reads it to tell a worker that is running its goroutine from
    /// one whose thread is off the CPU.
    pub(super) heartbeat: AtomicU32,
    /// How many goroutines wait in the worker's own queues (`pinned` and
    /// `local`), as of a recent schedule (every `LOAD_PERIOD`th tick): a
    /// worker balancing new goroutines compares it with its own
    /// (`Worker::balance`).
    pub(super) queued: AtomicU32,
    /// Non-zero while the worker's thread waits for one of the runtime's
    /// own locks (a channel's, a sync primitive's queue): a short wait for
    /// another thread, which holds such a lock only briefly and never
    /// across a blocking call. sysmon does not take it for a stall.
    pub(super) internal_wait: AtomicU32,
}

impl Counts {
    /// Adds one to a counter only the calling thread writes (no locked
    /// instruction needed).
    pub(super) fn bump(c: &AtomicUsize) {
        // Release pairs with the Acquire loads of `Runtime::live` and the
        // deadlock check's SeqCst loads.
        c.store(c.load(Ordering::Relaxed) + 1, Ordering::Release);
    }
}

/// Keeps a value on its own cache line (two, for the adjacent-line
/// prefetcher), so that writes to it do not slow readers of its neighbours.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(super) struct CachePadded<T>(pub(super) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
