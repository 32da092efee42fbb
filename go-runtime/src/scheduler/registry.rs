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

/// One worker's started goroutines.
#[derive(Debug, Default)]
pub(super) struct Registry {
    /// Live entries, and `None` for free slots.
    slots: Vec<Option<GRef>>,
    /// Free slots, reused first.
    free: Vec<u32>,
}

impl Registry {
    /// Step 1: adds `g`, returning its slot.
    pub(super) fn insert(&mut self, g: GRef) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(g);
                i
            }
            None => {
                self.slots.push(Some(g));
                u32::try_from(self.slots.len() - 1).expect("fewer than 4 billion goroutines")
            }
        }
    }

    /// Step 2: removes the entry in `slot`, returning its reference.
    pub(super) fn remove(&mut self, slot: u32) -> Option<GRef> {
        let g = self.slots[slot as usize].take();
        self.free.push(slot);
        // Give memory back once a burst is over (a million goroutines, then
        // none): only when empty, so that removal stays O(1).
        if self.free.len() == self.slots.len() && self.slots.len() > 1024 {
            self.slots = Vec::new();
            self.free = Vec::new();
        }
        g
    }

    /// Step 4: each goroutine.
    pub(super) fn each(&self, mut f: impl FnMut(&Goroutine)) {
        for g in self.slots.iter().flatten() {
            f(g);
        }
    }

    /// Step 4: a reference to each goroutine.
    pub(super) fn refs(&self) -> Vec<GRef> {
        self.slots.iter().flatten().cloned().collect()
    }

    /// Number of entries.
    pub(super) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
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
