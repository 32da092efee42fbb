//! A worker's timers, ordered by deadline (Go's per-P timer heap).
//!
//! Only the owning worker touches its `Timers`: a goroutine puts its timers
//! in the heap of the worker it runs on, and that worker fires them. A timer
//! either wakes a goroutine (`Fire::Wake`: the goroutine re-checks the clock,
//! so a stale or early wake-up is harmless) or runs a short callback on the
//! worker's own stack (`Fire::Call`: it must not block; `time::after` uses it
//! to put the time in a channel with room for it).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::coroutine::GRef;

/// What a timer does when it fires.
pub(super) enum Fire {
    /// Unpark this goroutine.
    Wake(GRef),
    /// Run this on the worker's stack; it must not block.
    Call(Box<dyn FnOnce() + Send>),
}

impl std::fmt::Debug for Fire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fire::Wake(g) => f.debug_tuple("Wake").field(&g.id()).finish(),
            Fire::Call(_) => f.write_str("Call"),
        }
    }
}

/// One timer.
#[derive(Debug)]
struct Entry {
    /// When it fires.
    deadline: Instant,
    /// Insertion order, so equal deadlines fire first-in first-out.
    seq: u64,
    /// What it does.
    fire: Fire,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

/// A min-heap of sleeping goroutines.
#[derive(Debug, Default)]
pub(super) struct Timers {
    /// Entries, earliest deadline on top.
    heap: BinaryHeap<Entry>,
    /// The next `Entry::seq`.
    seq: u64,
}

impl Timers {
    /// Does `fire` at `deadline`.
    pub(super) fn add(&mut self, deadline: Instant, fire: Fire) {
        self.seq += 1;
        self.heap.push(Entry { deadline, seq: self.seq, fire });
    }

    /// The earliest deadline, if any.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.deadline)
    }

    /// Removes and returns one timer whose deadline is at or before `now`.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<Fire> {
        if self.heap.peek()?.deadline > now {
            return None;
        }
        let e = self.heap.pop().expect("peeked");
        if self.heap.is_empty() && self.heap.capacity() > 1024 {
            // A burst of sleepers is over: give the memory back.
            self.heap.shrink_to(64);
        }
        Some(e.fire)
    }
}
