//! A worker's sleeping goroutines, ordered by deadline (Go's per-P timer heap).
//!
//! Only the owning worker touches its `Timers`: a goroutine puts itself in the
//! heap of the worker it runs on, and that worker fires it. A timer fires by
//! `unpark`ing its goroutine; the goroutine re-checks the clock, so a stale
//! or early wake-up is harmless.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::coroutine::GRef;

/// One sleeping goroutine.
#[derive(Debug)]
struct Entry {
    /// When to wake it.
    deadline: Instant,
    /// Insertion order, so equal deadlines fire first-in first-out.
    seq: u64,
    /// The sleeper.
    g: GRef,
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
pub(crate) struct Timers {
    /// Entries, earliest deadline on top.
    heap: BinaryHeap<Entry>,
    /// The next `Entry::seq`.
    seq: u64,
}

impl Timers {
    /// Wakes `g` at `deadline`.
    pub(crate) fn add(&mut self, deadline: Instant, g: GRef) {
        self.seq += 1;
        self.heap.push(Entry {
            deadline,
            seq: self.seq,
            g,
        });
    }

    /// The earliest deadline, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.deadline)
    }

    /// Removes and returns one goroutine whose deadline is at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<GRef> {
        if self.heap.peek()?.deadline > now {
            return None;
        }
        let e = self.heap.pop().expect("peeked");
        if self.heap.is_empty() && self.heap.capacity() > 1024 {
            // A burst of sleepers is over: give the memory back.
            self.heap.shrink_to(64);
        }
        Some(e.g)
    }
}
