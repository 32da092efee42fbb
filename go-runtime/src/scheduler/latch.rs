//! [`Latch`]: a one-shot wake-up, the one thing every blocking operation of
//! the runtime waits on (a channel operation or `select`, a lock, a
//! `WaitGroup`, `join`, a `runtime::blocking` call).
//!
//! # Protocol
//! The goroutine or thread that will wait makes the latch (it records the
//! caller's [`Unparker`]) and puts it where its waker will find it, under
//! that primitive's own lock. The state word is:
//!
//! | state | meaning |
//! |---|---|
//! | `OPEN` (0) | nobody has claimed, fired or cancelled it |
//! | `v` (`1..=VERDICT_MASK`) | claimed by the party that will fire it with verdict `v` |
//! | `v \| FIRED` | fired with verdict `v`: the waiter may go |
//! | `CANCELLED` | the waiter gave up at its deadline: nobody may claim it |
//!
//! 1. A waker that removed the latch from its queue **fires** it at once
//!    (`fire`: `FIRED | v`, Release), then unparks the waiter. Only latches
//!    whose waiter has no deadline are fired this way (the sync primitives,
//!    `WaitGroup`, `join`, `blocking`): nobody else can touch their state.
//! 2. Where several wakers may race for one latch (the cases of a `select`
//!    on several channels), a waker first **claims** it (`OPEN -> v`, one
//!    CAS: exactly one claim succeeds), moves the value, then fires the claim
//!    (`fire_claimed`: `|= FIRED`, Release) and unparks the waiter once its
//!    own lock is released.
//! 3. The waiter loops: it reads the state (Acquire, pairing with the
//!    Release of step 1 or 2), returns the verdict once `FIRED` is set, else
//!    parks. At its deadline it **cancels** (`OPEN -> CANCELLED`); if that
//!    CAS fails, a waker claimed it first and is about to fire: the waiter
//!    waits on without a deadline.
//!
//! `park` may return spuriously (the goroutine's token may be stale), which
//! is why step 3 re-reads the state rather than trusting the wake-up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::park::{self, Deadline, Unparker};
use crate::coroutine::WaitReason;

/// Nobody claimed, fired or cancelled the latch yet.
const OPEN: usize = 0;
/// Set with the verdict once the waiter may go.
const FIRED: usize = 1 << 62;
/// The waiter gave up at its deadline.
const CANCELLED: usize = 1 << 61;
/// The bits a verdict may use.
pub(crate) const VERDICT_MASK: usize = CANCELLED - 1;

/// A one-shot wake-up for the goroutine or thread that made it (module docs).
#[derive(Debug)]
pub(crate) struct Latch {
    /// `OPEN`, a claimed verdict, a verdict with `FIRED`, or `CANCELLED`.
    state: AtomicUsize,
    /// Who waits.
    waiter: Unparker,
}

impl Latch {
    /// A latch the caller will wait on.
    pub(crate) fn new() -> Self {
        Latch { state: AtomicUsize::new(OPEN), waiter: Unparker::current() }
    }

    /// A latch an async task waits on: firing it wakes `waiter` (the
    /// task's poll reads [`Latch::fired`] instead of calling `wait`).
    pub(crate) fn for_waiter(waiter: Unparker) -> Self {
        Latch { state: AtomicUsize::new(OPEN), waiter }
    }

    /// The worker the waiter will run on when woken, if that is fixed: a
    /// started goroutine that may not migrate. A primitive that hands a
    /// resource over may prefer waiters homed on the waker's worker
    /// ([`current_worker`](super::current_worker)): waking one is a push to
    /// that worker's own `runnext`, not a cross-thread wake-up.
    pub(crate) fn home(&self) -> Option<usize> {
        match &self.waiter {
            Unparker::Goroutine(g) if !g.stealable() => Some(g.home() as usize),
            _ => None,
        }
    }

    /// Whether nobody waits on it (its unparker is `Unparker::Nobody`).
    pub(crate) fn has_no_waiter(&self) -> bool {
        matches!(self.waiter, Unparker::Nobody)
    }

    /// Cancels an open latch: afterwards nobody can claim it. Returns false
    /// if a waker claimed (or fired) it first: it is then about to fire, or
    /// has. (What `wait` does at a deadline, for a dropped future.)
    pub(crate) fn try_cancel(&self) -> bool {
        // AcqRel pairs with the claiming CAS in `try_claim`: one of the two
        // wins.
        self.state.compare_exchange(OPEN, CANCELLED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Step 1: wakes the waiter with `verdict` (non-zero, within
    /// `VERDICT_MASK`). For latches whose waiter has no deadline, fired once,
    /// by whoever removed the latch from its queue.
    pub(crate) fn fire(&self, verdict: usize) {
        debug_assert!(verdict != OPEN && verdict <= VERDICT_MASK);
        debug_assert_eq!(self.state.load(Ordering::Relaxed), OPEN, "a latch fires once");
        // Release pairs with the Acquire in `wait`/`fired`: what the waker
        // did before (a handed-over lock, a finished result) is visible to
        // the waiter.
        self.state.store(verdict | FIRED, Ordering::Release);
        self.waiter.wake();
    }

    /// Step 2: claims the latch for `verdict` (non-zero, within
    /// `VERDICT_MASK`). Only one claim ever succeeds, and none after a
    /// cancellation.
    pub(crate) fn try_claim(&self, verdict: usize) -> bool {
        debug_assert!(verdict != OPEN && verdict <= VERDICT_MASK);
        // AcqRel pairs with the cancelling CAS in `wait` (one of the two
        // wins) and with a competing claim; Acquire also sees what the
        // waiter wrote before it queued the latch.
        self.state.compare_exchange(OPEN, verdict, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// Gives back a claim the waiter made on its own latch but could not
    /// complete (see `chan/select.rs`, registration).
    pub(crate) fn unclaim(&self) {
        debug_assert_eq!(self.state.load(Ordering::Relaxed) & !VERDICT_MASK, 0);
        // Release pairs with the Acquire of a later `try_claim` or
        // `is_open`: nothing the claimer did is lost to the next one.
        self.state.store(OPEN, Ordering::Release);
    }

    /// Whether nobody has claimed, fired or cancelled the latch yet.
    pub(crate) fn is_open(&self) -> bool {
        // Acquire pairs with the Release in `unclaim`.
        self.state.load(Ordering::Acquire) == OPEN
    }

    /// Step 2, second half: fires a claimed latch, adding `extra` bits
    /// (within `VERDICT_MASK`) to the claimed verdict. Returns the waiter's
    /// unparker, to be woken once the caller has released its lock (the
    /// waiter itself, completing its own claim, wakes nobody).
    pub(crate) fn fire_claimed(&self, extra: usize) -> &Unparker {
        debug_assert!(extra & !VERDICT_MASK == 0);
        // Release pairs with the Acquire in `wait`.
        self.state.fetch_or(extra | FIRED, Ordering::Release);
        &self.waiter
    }

    /// The verdict, if the latch has fired.
    pub(crate) fn fired(&self) -> Option<usize> {
        // Acquire pairs with the Release in `fire` / `fire_claimed`.
        let s = self.state.load(Ordering::Acquire);
        (s & FIRED != 0).then_some(s & VERDICT_MASK)
    }

    /// Step 3: waits until the latch fires and returns its verdict, or,
    /// once `deadline` has passed and nobody claimed the latch, cancels it
    /// and returns `None`. `why` is what goroutine dumps show meanwhile.
    pub(crate) fn wait(&self, why: WaitReason, deadline: Option<Instant>) -> Option<usize> {
        let Some(at) = deadline else {
            // No deadline: the common case, kept to this loop.
            loop {
                if let Some(v) = self.fired() {
                    return Some(v);
                }
                park::park(why);
            }
        };
        let mut deadline = Some(Deadline::new(at));
        loop {
            if let Some(v) = self.fired() {
                return Some(v);
            }
            match &mut deadline {
                None => park::park(why),
                // A timer ends the wait: dumps show it as sleeping.
                Some(d) if !d.passed() => d.park(WaitReason::Sleep),
                Some(_) => {
                    // AcqRel pairs with the claiming CAS in `try_claim`: one
                    // of the two wins.
                    let cancelled = self.state.compare_exchange(
                        OPEN,
                        CANCELLED,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                    if cancelled.is_ok() {
                        return None;
                    }
                    // Claimed meanwhile: the claimer is about to fire.
                    deadline = None;
                }
            }
        }
    }
}
