//! Every goroutine that has blocked at least once, for dumps and deadlock
//! detection (Go's `allgs`): one registry per worker, holding the
//! goroutines that parked on it.
//!
//! # Protocol
//! 1. A worker registers a goroutine the first time it parks (the worker
//!    holds it then, before committing the park): the registry keeps a
//!    reference, and the goroutine its slot. A goroutine that runs to the
//!    end without blocking never registers (it cannot be in a deadlock, and
//!    spawn+join stays as cheap as before: 145 ns; registering at the first
//!    run cost 184).
//! 2. The goroutine leaves the registry when it finishes (its worker, before
//!    recycling the allocation, which needs the only reference).
//! 3. A goroutine parked for ever with nothing referencing it (a receive
//!    from a nil channel, `select {}`, a channel all of whose other ends are
//!    gone) stays registered: its reference here is what keeps it listed in
//!    dumps and counted by deadlock detection, as Go's `allgs` keeps it.
//! 4. Readers (dumps, the deadlock check) look at entries under the lock,
//!    reading only the goroutine's immutable fields and atomics.
//!
//! Cost, for a goroutine that blocks: one uncontended lock round trip and
//! one reference count change at its first park and at its finish; readers
//! are rare.

use super::global::runtime;
use super::remote::Remote;
use crate::coroutine::{self, GRef, Goroutine};
use crate::slots::Slots;

/// One worker's started goroutines (a [`Slots`] table: a goroutine keeps
/// its slot, so leaving is O(1); memory is given back once a burst is over).
#[derive(Debug, Default)]
pub(super) struct Registry(Slots<GRef>);

impl Registry {
    /// Step 1: adds `g`, returning its slot.
    pub(super) fn insert(&mut self, g: GRef) -> u32 {
        self.0.insert(g)
    }

    /// Step 2: removes the entry in `slot`, returning its reference.
    pub(super) fn remove(&mut self, slot: u32) -> Option<GRef> {
        self.0.remove(slot).0
    }

    /// Step 4: each goroutine.
    pub(super) fn each(&self, mut f: impl FnMut(&Goroutine)) {
        for g in self.0.iter() {
            f(g);
        }
    }

    /// Step 4: a reference to each goroutine.
    pub(super) fn refs(&self) -> Vec<GRef> {
        self.0.iter().cloned().collect()
    }

    /// Number of entries.
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

/// Step 1: records `g`, about to park for the first time on worker `w`.
pub(super) fn register(w: &Remote, g: &GRef) {
    let slot = w.registry.lock().insert(g.clone());
    g.registry().set((w.index as u64) << 32 | u64::from(slot));
}

/// Step 2: removes `g` from its registry, if it is in one.
pub(super) fn unregister(g: &Goroutine) {
    let r = g.registry().get();
    if r == coroutine::NOT_REGISTERED {
        return;
    }
    let (index, slot) = ((r >> 32) as usize, r as u32);
    g.registry().set(coroutine::NOT_REGISTERED);
    // Drop the registry's reference after releasing the lock.
    let entry = runtime().worker(index).and_then(|w| w.registry.lock().remove(slot));
    drop(entry);
}
