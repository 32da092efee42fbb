//! Waiters: a blocked channel operation (Go's `sudog`), and the claim that
//! makes one of a select's cases win.
//!
//! # Protocol
//! A blocking operation (a lone send/receive, or a whole `select`) owns one
//! [`Parked`]: a state word and the `Unparker` of whoever waits. Each of its
//! cases that waits on a channel is a [`Waiter`] in that channel's send or
//! receive queue, naming its case index.
//!
//! 1. Whoever wants to complete a waiter (a counterpart operation, `close`,
//!    or the select itself while it registers) must first **claim** it:
//!    `WAITING -> case + 1` with one CAS. At most one claim succeeds, so at
//!    most one case of a select completes, and a waiter is completed once.
//! 2. The claimer, holding the channel's lock, moves the value (into the
//!    waiter's slot for a receiver, out of it for a sender), then sets `DONE`
//!    (Release) and unparks the owner. `close` sets `CLOSED` with `DONE`.
//! 3. The owner waits until it sees `DONE` (Acquire), then reads the slot. A
//!    timeout **cancels** with `WAITING -> CANCELLED`; if that CAS fails a
//!    claimer got there first and the owner waits for `DONE` as usual.
//! 4. The owner then removes its other waiters from their channels' queues.
//!    A waiter whose `Parked` is no longer `WAITING` is *stale*: channel
//!    operations skip it and drop it from the queue.
//!
//! The race this prevents: two channels completing the same select at once
//! (each under its own lock), which would deliver two values for one select
//! or take a value from a sender that then also sends elsewhere. The single
//! CAS orders them; the loser sees a stale waiter and moves on.

use std::cell::UnsafeCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::park::{self, Unparker, WaitReason};

/// Nobody claimed the operation yet.
const WAITING: usize = 0;
/// The claimer finished moving the value.
const DONE: usize = 1 << 62;
/// Completed by `close`: a receiver got nothing, a sender must panic.
const CLOSED: usize = 1 << 61;
/// The owner gave up (timeout); nobody may claim it any more.
const CANCELLED: usize = 1 << 60;
/// The bits below the flags: the claimed case index plus one.
const CASE_MASK: usize = CANCELLED - 1;

/// The shared state of one blocking operation (all cases of a select).
#[derive(Debug)]
pub(crate) struct Parked {
    /// `WAITING`, `CANCELLED`, or `case + 1` with `DONE`/`CLOSED` bits.
    state: AtomicUsize,
    /// Who waits.
    unparker: Unparker,
}

/// How a claimed operation ended, as its owner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Case `0` completed by a counterpart.
    Completed(usize),
    /// Case `0` completed by `close`.
    Closed(usize),
    /// The deadline passed first.
    TimedOut,
}

impl Parked {
    /// A new operation whose owner is the caller.
    pub(crate) fn new() -> Self {
        Parked { state: AtomicUsize::new(WAITING), unparker: Unparker::current() }
    }

    /// Step 1: claims the operation for `case`. Only one claim ever succeeds.
    pub(crate) fn try_claim(&self, case: usize) -> bool {
        debug_assert!(case < CASE_MASK);
        // AcqRel: the claimer sees the owner's writes (the value a sender put
        // in its slot was published by the channel lock too).
        self.state.compare_exchange(WAITING, case + 1, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// Gives back a claim the owner made on itself but could not complete
    /// (the counterpart it saw was claimed by someone else meanwhile).
    pub(crate) fn unclaim(&self) {
        debug_assert_eq!(self.state.load(Ordering::Relaxed) & !CASE_MASK, 0);
        self.state.store(WAITING, Ordering::Release);
    }

    /// Whether nobody has claimed or cancelled it yet.
    pub(crate) fn is_waiting(&self) -> bool {
        self.state.load(Ordering::Acquire) == WAITING
    }

    /// Step 2: the claimer moved the value. Marks it done and returns the
    /// unparker to call once the channel lock is released.
    pub(crate) fn finish(&self, closed: bool) -> &Unparker {
        let bits = if closed { DONE | CLOSED } else { DONE };
        // Release pairs with the Acquire in `wait`.
        self.state.fetch_or(bits, Ordering::Release);
        &self.unparker
    }

    /// The owner completed its own operation (it claimed itself while
    /// registering and found a counterpart).
    pub(crate) fn finish_self(&self) {
        self.state.fetch_or(DONE, Ordering::Release);
    }

    /// Step 3: waits until the operation is done, or until `deadline` passes
    /// and it can be cancelled.
    pub(crate) fn wait(&self, deadline: Option<std::time::Instant>, why: WaitReason) -> Outcome {
        let mut deadline = deadline;
        loop {
            // Acquire pairs with the Release in `finish`.
            let s = self.state.load(Ordering::Acquire);
            if s & DONE != 0 {
                let case = (s & CASE_MASK) - 1;
                return if s & CLOSED != 0 {
                    Outcome::Closed(case)
                } else {
                    Outcome::Completed(case)
                };
            }
            match deadline {
                None => park::park(why),
                Some(t) => {
                    if std::time::Instant::now() >= t {
                        if self
                            .state
                            .compare_exchange(
                                WAITING,
                                CANCELLED,
                                Ordering::AcqRel,
                                Ordering::Acquire,
                            )
                            .is_ok()
                        {
                            return Outcome::TimedOut;
                        }
                        // Claimed meanwhile: the claimer is about to finish.
                        deadline = None;
                        continue;
                    }
                    park::park_until(t);
                }
            }
        }
    }
}

/// The operation a waiter belongs to: its own (a lone send or receive, one
/// allocation for both) or a select's, shared by its cases.
#[derive(Debug)]
pub(crate) enum ParkedRef {
    /// A lone operation's state, inside its only waiter.
    Own(Parked),
    /// A select's state.
    Shared(Arc<Parked>),
}

impl std::ops::Deref for ParkedRef {
    type Target = Parked;
    fn deref(&self) -> &Parked {
        match self {
            ParkedRef::Own(p) => p,
            ParkedRef::Shared(p) => p,
        }
    }
}

/// One case of a blocked operation, queued on one channel.
pub(crate) struct Waiter<T> {
    /// The operation this case belongs to.
    pub(crate) parked: ParkedRef,
    /// Its case index within the operation.
    pub(crate) case: usize,
    /// A sender's value (taken by the claimer), or the value a receiver got
    /// (put by the claimer). Touched only under the protocol's exclusivity.
    slot: UnsafeCell<Option<T>>,
}

// SAFETY: `slot` is written by the owner before the waiter is queued (under
// the channel lock), then only by the one claimer (step 1 makes it unique)
// before `DONE`, then only by the owner after `DONE` (Acquire). It holds a
// `T: Send`, moved between those threads.
unsafe impl<T: Send> Sync for Waiter<T> {}
// SAFETY: as above; the waiter only moves `T: Send` values between threads.
unsafe impl<T: Send> Send for Waiter<T> {}

impl<T> std::fmt::Debug for Waiter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter").field("case", &self.case).field("parked", &self.parked).finish()
    }
}

impl<T> Waiter<T> {
    /// A waiter for case `case` of a select's `parked`, carrying `value` if
    /// it sends.
    pub(crate) fn new(parked: Arc<Parked>, case: usize, value: Option<T>) -> Arc<Self> {
        Arc::new(Waiter { parked: ParkedRef::Shared(parked), case, slot: UnsafeCell::new(value) })
    }

    /// The waiter of a lone send or receive (case 0 of its own operation),
    /// owned by the caller.
    pub(crate) fn lone(value: Option<T>) -> Arc<Self> {
        Arc::new(Waiter {
            parked: ParkedRef::Own(Parked::new()),
            case: 0,
            slot: UnsafeCell::new(value),
        })
    }

    /// Takes the value out of the slot.
    ///
    /// # Safety
    /// The caller has exclusive access to the slot under the protocol: it
    /// claimed the waiter, or it owns the operation and saw `DONE` or gave up.
    pub(crate) unsafe fn take(&self) -> Option<T> {
        // SAFETY: caller's contract.
        unsafe { (*self.slot.get()).take() }
    }

    /// Puts a received value in the slot.
    ///
    /// # Safety
    /// The caller claimed the waiter and has not finished it yet.
    pub(crate) unsafe fn put(&self, v: T) {
        // SAFETY: caller's contract.
        unsafe { *self.slot.get() = Some(v) };
    }
}
