//! The runnext slot: one goroutine that runs next on its worker.
//!
//! Go's `p.runnext`: a goroutine spawned or woken by the running goroutine
//! goes here, so a producer/consumer pair hands the CPU back and forth
//! without a trip through the queue (docs/go-semantics.md, 13: spawning 0..9 at
//! GOMAXPROCS=1 runs 9 first, then 0..8).
//!
//! # Encoding
//! The slot is one `AtomicUsize`: 0 when empty, else the address of an
//! `Arc<Goroutine>` from `Arc::into_raw` (aligned to at least 8) with bit 0
//! set when the goroutine may be stolen (it never ran, or it migrates).
//!
//! Only the owning worker puts a goroutine in the slot. The owner takes it
//! with `swap`; a thief takes it only with a `compare_exchange` from a value
//! whose bit 0 is set, so a thief never takes a goroutine that must stay
//! home, and never dereferences the pointer before owning it. An ABA on the
//! address (the goroutine ran, was freed, and a new one got the same address
//! and the slot) hands the thief the new goroutine, which is stealable too
//! (bit 0 is part of the compared value): correct.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::coroutine::{GRef, Goroutine};

/// Bit 0: the goroutine in the slot may run on another worker.
const STEALABLE: usize = 1;

/// A worker's runnext slot.
#[derive(Debug, Default)]
pub(super) struct RunNext {
    /// 0, or an `Arc<Goroutine>` pointer with the `STEALABLE` bit.
    slot: AtomicUsize,
}

fn encode(g: GRef) -> usize {
    let tag = if g.stealable() { STEALABLE } else { 0 };
    Arc::into_raw(g) as usize | tag
}

/// # Safety
/// `v` is non-zero and came from `encode`, and the caller now owns that
/// reference (it removed `v` from the slot).
unsafe fn decode(v: usize) -> GRef {
    // SAFETY: caller's contract: `v & !STEALABLE` is an `Arc::into_raw` pointer
    // whose reference the caller owns.
    unsafe { Arc::from_raw((v & !STEALABLE) as *const Goroutine) }
}

impl RunNext {
    /// Owner: puts `g` in the slot, returning the goroutine it displaces.
    pub(super) fn put(&self, g: GRef) -> Option<GRef> {
        // AcqRel: the Release pairs with the Acquire of a thief's `steal`
        // (it sees `g` whole); the Acquire pairs with the Release of our
        // earlier `put` (we take the displaced one).
        let old = self.slot.swap(encode(g), Ordering::AcqRel);
        // SAFETY: we removed `old` from the slot, so its reference is ours.
        (old != 0).then(|| unsafe { decode(old) })
    }

    /// Owner: takes the goroutine in the slot.
    pub(super) fn take(&self) -> Option<GRef> {
        if self.slot.load(Ordering::Relaxed) == 0 {
            return None;
        }
        // Acquire pairs with the Release in `put`.
        let old = self.slot.swap(0, Ordering::Acquire);
        // SAFETY: as in `put`.
        (old != 0).then(|| unsafe { decode(old) })
    }

    /// Thief: takes the goroutine in the slot if it may move.
    pub(super) fn steal(&self) -> Option<GRef> {
        let v = self.slot.load(Ordering::Acquire);
        if v & STEALABLE == 0 {
            return None;
        }
        // Acquire pairs with the Release in `put`.
        self.slot
            .compare_exchange(v, 0, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            // SAFETY: the successful exchange removed `v` from the slot.
            .map(|v| unsafe { decode(v) })
    }

    /// Whether the slot holds a goroutine a thief may take (a hint).
    pub(super) fn steal_hint(&self) -> bool {
        self.slot.load(Ordering::Relaxed) & STEALABLE != 0
    }

    /// Whether the slot holds a goroutine (a hint: it may change at once).
    pub(super) fn is_empty(&self) -> bool {
        self.slot.load(Ordering::Relaxed) == 0
    }
}

impl Drop for RunNext {
    fn drop(&mut self) {
        drop(self.take());
    }
}
