//! Guard pages on kernels without `MADV_GUARD_INSTALL` (older than Linux
//! 6.13). There each guard is an `mprotect(PROT_NONE)` range, which splits
//! its slab's mapping: two mappings (VMAs) per guarded stack, against a
//! default `vm.max_map_count` of 65530. Guarding every stack would cap a
//! program near 32,000 goroutines.
//!
//! Only a stack that runs needs its guard. So on this fallback a stack is
//! guarded just before it runs, and when more than a budget of stacks hold
//! a guard, parked goroutines and free stacks give theirs back (the guard
//! range becomes read/write again and the kernel merges the mapping with its
//! neighbours). A goroutine whose guard was taken gets it back before it
//! runs again. The number of mappings is then bounded by the budget, not by
//! the goroutines alive. Design note: `README.md`, "Guards on older
//! kernels".
//!
//! # Protocol
//! 1. *Guard*: the holder of a stack that is about to run (a worker, or
//!    `maybe_grow` taking a segment) calls [`protect`]; the count of guarded
//!    stacks goes up, and past the budget's trigger a sweep runs there, on
//!    the caller's thread, before the stack runs.
//! 2. *Track*: a guarded goroutine that parks for the first time since it
//!    was guarded is tracked: [`track`] puts a reference in the table the
//!    sweep walks (its worker does, while it still holds it).
//! 3. *Sweep*: first free stacks in the shared pool lose their guard, then
//!    tracked goroutines, from a rotating hand. A goroutine is released only
//!    while the sweeper *holds* it (`PARKED -> HELD`, the state a stack
//!    capture uses): no worker can resume it meanwhile, so no goroutine
//!    ever runs on a stack without its guard. A wake-up during the hold is
//!    handed on by the sweeper (`Goroutine::let_go`, then the scheduler's
//!    ready hook), as for a capture.
//! 4. *Re-guard*: `Goroutine::resume` sees the goroutine's guard was taken
//!    and calls [`protect`] before switching to the stack.
//! 5. *Untrack*: a tracked goroutine that finishes leaves the table
//!    (its worker, before recycling the allocation).

use std::io;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::{GRef, Goroutine, stack};
use crate::slots::Slots;

/// Stacks that carry an `mprotect` guard now (free or in use).
static GUARDED: AtomicUsize = AtomicUsize::new(0);
/// The guarded count above which the next [`protect`] sweeps.
static TRIGGER: AtomicUsize = AtomicUsize::new(usize::MAX);
/// The budget, read once.
static BUDGET: OnceLock<Budget> = OnceLock::new();
/// Tracked goroutines (protocol step 2).
static TRACKED: Mutex<Tracked> = Mutex::new(Tracked { slots: Slots::new(), hand: 0 });
/// Held by the sweeping thread: one sweep at a time.
static SWEEPING: Mutex<()> = Mutex::new(());
/// Queues a goroutine whose wake-up came in while a sweep held it (the
/// scheduler's `ready`, installed when the runtime starts).
static READY: OnceLock<fn(GRef)> = OnceLock::new();

/// `Goroutine::tracked` when the goroutine is not in the table.
pub(super) const UNTRACKED: u32 = u32::MAX;

/// How many stacks may hold a guard.
#[derive(Debug, Clone, Copy)]
struct Budget {
    /// A sweep starts above this many guarded stacks...
    high: usize,
    /// ...and stops at this many.
    low: usize,
}

fn budget() -> Budget {
    *BUDGET.get_or_init(|| {
        // `GODEBUG=stackguards=N`: a budget of N stacks (at least 16),
        // for tests that want sweeps with few goroutines.
        let forced = std::env::var("GODEBUG").ok().and_then(|v| {
            v.split(',').find_map(|kv| kv.trim().strip_prefix("stackguards=")?.parse().ok())
        });
        // Else a quarter of the mapping limit in stacks: half the limit in
        // mappings, the other half left to the program (its libraries,
        // allocator arenas, thread stacks, files).
        let high = forced.unwrap_or_else(|| max_map_count() / 4).max(16);
        let budget = Budget { high, low: high / 2 };
        // Relaxed: a threshold; a stale value only delays one sweep.
        TRIGGER.store(high, Ordering::Relaxed);
        budget
    })
}

/// `vm.max_map_count` (65530 if it cannot be read).
fn max_map_count() -> usize {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65530)
}

/// Installs the scheduler's `ready`, used to queue a goroutine woken while
/// a sweep held it.
pub(crate) fn set_ready_hook(ready: fn(GRef)) {
    let _ = READY.set(ready);
}

/// Whether free stacks should lose their guard when they go to the shared
/// pool: the guarded count is above the budget's low mark.
pub(super) fn under_pressure() -> bool {
    // Relaxed: a heuristic; a stale count costs a syscall or a mapping.
    GUARDED.load(Ordering::Relaxed) > budget().low
}

/// Step 1: guards `[lo, lo + len)` with `mprotect(PROT_NONE)`. If the kernel
/// refuses (the mapping limit), sweeps as far as it can and tries once more.
pub(super) fn protect(lo: usize, len: usize) -> io::Result<()> {
    let budget = budget();
    if mprotect(lo, len, libc::PROT_NONE).is_err() {
        sweep(0, true);
        mprotect(lo, len, libc::PROT_NONE)?;
    }
    // Relaxed: a count; no memory is published through it.
    let now = GUARDED.fetch_add(1, Ordering::Relaxed) + 1;
    if now > TRIGGER.load(Ordering::Relaxed) {
        sweep(budget.low, false);
    }
    Ok(())
}

/// Takes the guards of `count` stacks off `[lo, lo + len)` (none of them
/// runs). Returns false if the kernel refused; the guards then stay.
pub(super) fn unprotect(lo: usize, len: usize, count: usize) -> bool {
    let ok = mprotect(lo, len, libc::PROT_READ | libc::PROT_WRITE).is_ok();
    if ok {
        // Relaxed: a count.
        GUARDED.fetch_sub(count, Ordering::Relaxed);
    }
    ok
}

fn mprotect(lo: usize, len: usize, prot: libc::c_int) -> io::Result<()> {
    // SAFETY: `[lo, lo + len)` is the guard range of a stack the caller
    // holds (no coroutine runs on it, or it is being prepared to run), part
    // of one of our slab mappings; changing its protection touches nothing
    // else.
    match unsafe { libc::mprotect(lo as *mut libc::c_void, len, prot) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Step 2: puts `g`, parked with a guarded stack, in the table. Called by
/// the worker that holds it, before it commits the park.
pub(super) fn track(g: &GRef) {
    let slot = TRACKED.lock().insert(g.clone());
    g.tracked.set(slot);
}

/// Step 5 (and step 3's release): takes `g` out of the table. Called by
/// the goroutine's holder.
pub(super) fn untrack(g: &Goroutine) {
    let slot = g.tracked.replace(UNTRACKED);
    if slot != UNTRACKED {
        // Drop the table's reference after releasing the lock.
        let entry = TRACKED.lock().remove(slot);
        drop(entry);
    }
}

/// Step 3: takes guards off free stacks, then off parked goroutines, until
/// at most `target` stacks are guarded or a full turn of the table found no
/// more. `wait`: wait for a sweep in progress instead of leaving it the work.
fn sweep(target: usize, wait: bool) {
    let _sweeping = match SWEEPING.try_lock() {
        Some(lock) => lock,
        None if wait => SWEEPING.lock(),
        None => return,
    };
    let excess = || GUARDED.load(Ordering::Relaxed).saturating_sub(target);
    if excess() > 0 {
        stack::unguard_pool();
    }
    let mut turn = TRACKED.lock().len_slots();
    while excess() > 0 && turn > 0 {
        let n = turn.min(SWEEP_BATCH);
        turn -= n;
        let batch = TRACKED.lock().next_from_hand(n);
        release_batch(batch, excess());
    }
    // Sweep again only after another half budget of guards: if the parked
    // goroutines did not suffice (most guarded stacks are running or
    // queued), sweeping at every guard would cost a turn of the table each.
    let budget = budget();
    let again = GUARDED.load(Ordering::Relaxed) + (budget.high - budget.low);
    // Relaxed: see `budget`.
    TRIGGER.store(again.max(budget.high), Ordering::Relaxed);
}

/// Slots of the table a sweep looks at per round.
const SWEEP_BATCH: usize = 256;

/// Takes the guards of up to `want` goroutines of `batch` that can be held
/// parked. Neighbouring stacks (one's top is the next one's guard) are
/// released with one `mprotect` over all of them: a burst of goroutines
/// that parked in the order they took their stacks costs a few calls per
/// slab instead of one per stack (and every call takes the process's
/// memory-map lock for writing, stalling page faults on all threads).
fn release_batch(batch: Vec<GRef>, want: usize) {
    let mut held: Vec<((usize, usize), usize, GRef)> = Vec::new();
    for g in batch {
        if held.len() >= want {
            break;
        }
        match g.hold_for_sweep() {
            None => {}
            Some(Some((guard, top))) => held.push((guard, top, g)),
            Some(None) => end_hold(g, false),
        }
    }
    held.sort_unstable_by_key(|&((lo, _), _, _)| lo);
    let mut rest = held.as_slice();
    while let Some(first) = rest.first() {
        // The run: while the next guard starts at this stack's top.
        let mut len = 1;
        while len < rest.len() && rest[len].0.0 == rest[len - 1].1 {
            len += 1;
        }
        let (lo, hi) = (first.0.0, rest[len - 1].0.1);
        let released = unprotect(lo, hi - lo, len);
        for (_, _, g) in &rest[..len] {
            end_hold(g.clone(), released);
        }
        rest = &rest[len..];
    }
}

/// Ends a sweep's hold on `g`, queueing it if it was woken meanwhile.
fn end_hold(g: GRef, released: bool) {
    if g.end_sweep_hold(released) {
        match READY.get() {
            Some(ready) => ready(g),
            None => unreachable!("only a started runtime has parked goroutines"),
        }
    }
}

/// The table of tracked goroutines ([`Slots`], so that untracking is
/// O(1)), and a hand that the sweep moves round.
struct Tracked {
    /// The goroutines.
    slots: Slots<GRef>,
    /// Where the next sweep starts.
    hand: usize,
}

impl Tracked {
    fn insert(&mut self, g: GRef) -> u32 {
        self.slots.insert(g)
    }

    fn remove(&mut self, slot: u32) -> Option<GRef> {
        let (g, reset) = self.slots.remove(slot);
        if reset {
            self.hand = 0;
        }
        g
    }

    fn len_slots(&self) -> usize {
        self.slots.capacity()
    }

    /// References to the live entries among the next `n` slots from the
    /// hand, which moves past them.
    fn next_from_hand(&mut self, n: usize) -> Vec<GRef> {
        let len = self.slots.capacity();
        let mut out = Vec::new();
        for _ in 0..n.min(len) {
            self.hand %= len;
            out.extend(self.slots.get(self.hand).cloned());
            self.hand += 1;
        }
        out
    }
}
