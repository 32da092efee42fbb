//! [`Slots`]: a table whose entries keep their index, so that an entry
//! removes itself in O(1) by the slot it was given (the goroutine registry
//! and the table of guarded goroutines). A leaf: it imports nothing from
//! the crate.

/// Entries in slots reused through a free list.
#[derive(Debug)]
pub(crate) struct Slots<T> {
    /// Live entries, and `None` for free slots.
    slots: Vec<Option<T>>,
    /// Free slots, reused first.
    free: Vec<u32>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots { slots: Vec::new(), free: Vec::new() }
    }
}

impl<T> Slots<T> {
    /// An empty table (usable in a `static`).
    pub(crate) const fn new() -> Self {
        Slots { slots: Vec::new(), free: Vec::new() }
    }

    /// Adds `v`, returning its slot.
    pub(crate) fn insert(&mut self, v: T) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(v);
                i
            }
            None => {
                self.slots.push(Some(v));
                u32::try_from(self.slots.len() - 1).expect("fewer than 4 billion entries")
            }
        }
    }

    /// Removes the entry in `slot`. Once the table is empty after a burst
    /// (more than 1024 slots), its memory is given back: only then, so that
    /// removal stays O(1). Returns the entry and whether that happened
    /// (slot numbers start again from 0).
    pub(crate) fn remove(&mut self, slot: u32) -> (Option<T>, bool) {
        let v = self.slots[slot as usize].take();
        self.free.push(slot);
        let reset = self.free.len() == self.slots.len() && self.slots.len() > 1024;
        if reset {
            self.slots = Vec::new();
            self.free = Vec::new();
        }
        (v, reset)
    }

    /// The entry in slot `i`, if any.
    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        self.slots.get(i).and_then(Option::as_ref)
    }

    /// Every entry.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten()
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Number of slots, free ones included.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }
}
