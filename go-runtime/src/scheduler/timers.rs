//! A worker's timers, ordered by deadline (Go's per-P timer heap).
//!
//! Only the owning worker touches its `Timers`: a goroutine puts its timers
//! in the heap of the worker it runs on, and that worker fires them. A timer
//! either wakes a goroutine (`Fire::Wake`: the goroutine re-checks the clock,
//! so an early wake-up is harmless) or runs a short callback on the worker's
//! own stack (`Fire::Call`: it must not block; `time::after` uses it to put
//! the time in a channel with room for it).
//!
//! # Dead timers
//! A timer whose firing can no longer matter is *dead*: a wake-up for a
//! wait that already ended (its ticket, held by the waiter, is gone), a
//! `time::after` whose channel nobody holds (Go 1.23 frees those at once).
//! A dead timer is dropped unfired, and the heap drops all of them whenever
//! it has doubled since the last sweep (`add`), so a loop that arms an
//! hour-long timeout a million times and never waits for it keeps a heap of
//! the live timers only. Each sweep costs one pass over the heap, and comes
//! after as many adds as the heap held: O(1) amortised per add.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Weak;
use std::time::Instant;

use crate::coroutine::GRef;

/// A timer's callback: run once at the deadline, on the worker's stack (it
/// must be short and must not block). Closures are callbacks that never
/// die; a callback that can tell it no longer matters says so in
/// `is_live`, and is then dropped unfired.
pub(crate) trait Callback: Send {
    /// Runs it.
    fn call(self: Box<Self>);
    /// Whether running it could still matter.
    fn is_live(&self) -> bool {
        true
    }
}

impl<F: FnOnce() + Send> Callback for F {
    fn call(self: Box<Self>) {
        self()
    }
}

/// What a timer does when it fires.
pub(super) enum Fire {
    /// Unpark this goroutine, if its wait is still on: the ticket is the
    /// waiter's (`park::Deadline`); `None` for a wait that cannot end
    /// early (`time::sleep`).
    Wake(GRef, Option<Weak<()>>),
    /// Run this on the worker's stack.
    Call(Box<dyn Callback>),
}

impl Fire {
    /// Whether firing could still matter (module docs, "Dead timers").
    fn is_live(&self) -> bool {
        match self {
            Fire::Wake(_, None) => true,
            Fire::Wake(_, Some(ticket)) => ticket.strong_count() > 0,
            Fire::Call(c) => c.is_live(),
        }
    }
}

impl std::fmt::Debug for Fire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fire::Wake(g, _) => f.debug_tuple("Wake").field(&g.id()).finish(),
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
    /// The heap size at which the next sweep of dead timers runs.
    sweep_at: usize,
}

/// The smallest heap that is swept.
const SWEEP_MIN: usize = 64;

impl Timers {
    /// Does `fire` at `deadline`.
    pub(super) fn add(&mut self, deadline: Instant, fire: Fire) {
        if self.heap.len() >= self.sweep_at.max(SWEEP_MIN) {
            self.heap.retain(|e| e.fire.is_live());
            self.sweep_at = 2 * self.heap.len();
        }
        self.seq += 1;
        self.heap.push(Entry { deadline, seq: self.seq, fire });
    }

    /// The earliest deadline, if any.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.deadline)
    }

    /// Removes and returns one live timer whose deadline is at or before
    /// `now` (dead ones on the way are dropped).
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<Fire> {
        loop {
            if self.heap.peek()?.deadline > now {
                return None;
            }
            let e = self.heap.pop().expect("peeked");
            if self.heap.is_empty() && self.heap.capacity() > 1024 {
                // A burst of sleepers is over: give the memory back.
                self.heap.shrink_to(64);
            }
            if e.fire.is_live() {
                return Some(e.fire);
            }
        }
    }
}
