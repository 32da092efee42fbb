//! A blocked channel operation ([`BlockedOp`]: a lone send or receive, or a
//! whole `select`) and its cases queued on channels ([`Waiter`], Go's
//! `sudog`).
//!
//! A `BlockedOp` is a [`Latch`] whose verdict names the case that completed
//! (`case + 1`) and whether `close` completed it (`CLOSED`). The claim,
//! fire and cancel steps are the latch's (`scheduler/latch.rs`); what they
//! mean for channels, and the race they prevent, is in `README.md` beside
//! this file ("The waiter protocol").

use std::cell::UnsafeCell;
use std::sync::Arc;
use std::time::Instant;

use crate::coroutine::WaitReason;
use crate::scheduler::{Latch, Unparker, VERDICT_MASK};

/// Verdict bit: completed by `close` (a receiver got nothing, a sender must
/// panic).
const CLOSED: usize = (VERDICT_MASK >> 1) + 1;
/// The verdict bits below `CLOSED`: the claimed case index plus one.
const CASE_MASK: usize = CLOSED - 1;

/// The shared state of one blocking operation (all cases of a select).
#[derive(Debug)]
pub(crate) struct BlockedOp {
    /// Claimed with `case + 1`; fired with `CLOSED` added by `close`.
    latch: Latch,
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

impl BlockedOp {
    /// A new operation whose owner is the caller.
    pub(crate) fn new() -> Self {
        BlockedOp { latch: Latch::new() }
    }

    /// A finished operation's state, kept for reuse: nobody waits on it.
    fn idle() -> Self {
        BlockedOp { latch: Latch::for_waiter(Unparker::Nobody) }
    }

    /// A new operation whose owner is an async task (or nobody): `waiter`
    /// is woken when it completes, and the owner polls [`BlockedOp::outcome`].
    pub(crate) fn for_waiter(waiter: Unparker) -> Self {
        BlockedOp { latch: Latch::for_waiter(waiter) }
    }

    /// How the operation ended, if it has (without waiting).
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        self.latch.fired().map(|v| {
            if v & CLOSED != 0 {
                Outcome::Closed((v & CASE_MASK) - 1)
            } else {
                Outcome::Completed((v & CASE_MASK) - 1)
            }
        })
    }

    /// Whether nobody owns it: a value put back by a dropped receive
    /// future (`State::unreceive`).
    pub(crate) fn is_ownerless(&self) -> bool {
        self.latch.has_no_waiter()
    }

    /// Gives up an operation nobody has claimed: afterwards nobody can.
    /// Returns false if a claimer came first (it fires, or has fired, under
    /// the channel lock).
    pub(crate) fn try_cancel(&self) -> bool {
        self.latch.try_cancel()
    }

    /// Claims the operation for `case`. Only one claim ever succeeds.
    pub(crate) fn try_claim(&self, case: usize) -> bool {
        debug_assert!(case < CASE_MASK);
        self.latch.try_claim(case + 1)
    }

    /// Gives back a claim the owner made on itself but could not complete
    /// (the counterpart it saw was claimed by someone else meanwhile).
    pub(crate) fn unclaim(&self) {
        self.latch.unclaim();
    }

    /// Whether nobody has claimed or cancelled it yet.
    pub(crate) fn is_waiting(&self) -> bool {
        self.latch.is_open()
    }

    /// The claimer moved the value: marks the operation done and returns
    /// the unparker to call once the channel lock is released.
    pub(crate) fn finish(&self, closed: bool) -> &Unparker {
        self.latch.fire_claimed(if closed { CLOSED } else { 0 })
    }

    /// The owner completed its own operation (it claimed itself while
    /// registering and found a counterpart).
    pub(crate) fn finish_self(&self) {
        self.latch.fire_claimed(0);
    }

    /// Waits until the operation is done, or until `deadline` passes and it
    /// can be cancelled.
    pub(crate) fn wait(&self, deadline: Option<Instant>, why: WaitReason) -> Outcome {
        match self.latch.wait(why, deadline) {
            None => Outcome::TimedOut,
            Some(v) if v & CLOSED != 0 => Outcome::Closed((v & CASE_MASK) - 1),
            Some(v) => Outcome::Completed((v & CASE_MASK) - 1),
        }
    }
}

/// The operation a waiter belongs to: its own (a lone send or receive, one
/// allocation for both) or a select's, shared by its cases.
#[derive(Debug)]
pub(crate) enum OpRef {
    /// A lone operation's state, inside its only waiter.
    Own(BlockedOp),
    /// A select's state.
    Shared(Arc<BlockedOp>),
}

impl std::ops::Deref for OpRef {
    type Target = BlockedOp;
    fn deref(&self) -> &BlockedOp {
        match self {
            OpRef::Own(p) => p,
            OpRef::Shared(p) => p,
        }
    }
}

/// One case of a blocked operation, queued on one channel.
pub(crate) struct Waiter<T> {
    /// The operation this case belongs to.
    pub(crate) op: OpRef,
    /// Its case index within the operation.
    pub(crate) case: usize,
    /// A sender's value (taken by the claimer), or the value a receiver got
    /// (put by the claimer). Touched only under the protocol's exclusivity.
    slot: UnsafeCell<Option<T>>,
}

// SAFETY: `slot` is written by the owner before the waiter is queued (under
// the channel lock), then only by the one claimer (the claim makes it
// unique) before the operation fires, then only by the owner after it saw
// the firing (Acquire, `Latch::wait`). It holds a
// `T: Send`, moved between those threads.
unsafe impl<T: Send> Sync for Waiter<T> {}
// SAFETY: as above; the waiter only moves `T: Send` values between threads.
unsafe impl<T: Send> Send for Waiter<T> {}

impl<T> std::fmt::Debug for Waiter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter").field("case", &self.case).field("op", &self.op).finish()
    }
}

impl<T> Waiter<T> {
    /// A waiter for case `case` of `op` (a lone operation's own, case 0,
    /// or a select's), carrying `value` if it sends. (Blocking operations
    /// take theirs through their channel, which may reuse its spare:
    /// `RawChan::lone_waiter`, `RawChan::select_waiter`.)
    pub(crate) fn new(op: OpRef, case: usize, value: Option<T>) -> Arc<Self> {
        Arc::new(Waiter { op, case, slot: UnsafeCell::new(value) })
    }

    /// The waiter of a lone send or receive whose owner is an async task
    /// (or nobody), woken through `waiter`.
    pub(crate) fn lone_for(value: Option<T>, waiter: Unparker) -> Arc<Self> {
        Self::new(OpRef::Own(BlockedOp::for_waiter(waiter)), 0, value)
    }

    /// A waiter whose operation is over and that is out of every queue,
    /// made ready to be kept as its channel's spare
    /// ([`RawChan::recycle`](super::raw::RawChan)): nobody waits on it and
    /// it carries no value. `None` if someone else still holds a reference
    /// (a claimer that has not dropped its own yet).
    pub(crate) fn idle(mut this: Arc<Self>) -> Option<Arc<Self>> {
        // Drops the reference to the goroutine that waited (or to its
        // select's operation), so that a spare keeps nothing alive.
        let w = Arc::get_mut(&mut this)?;
        w.op = OpRef::Own(BlockedOp::idle());
        *w.slot.get_mut() = None;
        Some(this)
    }

    /// A spare that [`Waiter::idle`] returned, made the waiter of case
    /// `case` of `op` carrying `value`: the same as [`Waiter::new`],
    /// without the allocation.
    pub(crate) fn reuse(
        mut this: Arc<Self>,
        op: OpRef,
        case: usize,
        value: Option<T>,
    ) -> Arc<Self> {
        let w = Arc::get_mut(&mut this).expect("a spare waiter has one holder");
        w.op = op;
        w.case = case;
        *w.slot.get_mut() = value;
        this
    }

    /// Takes the value out of the slot.
    ///
    /// # Safety
    /// The caller has exclusive access to the slot under the protocol: it
    /// claimed the waiter, or it owns the operation and saw it fire or gave up.
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
