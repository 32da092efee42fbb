//! A parked waiter of a sync primitive and the verdict it wakes up with.
//!
//! The primitives keep FIFO queues of these under a small internal lock.
//! A waiter is woken exactly once, by whoever removes it from the queue,
//! with a verdict: `RETRY` (compete again, Go's normal mode) or `GRANTED`
//! (the resource was handed to it directly, Go's starvation mode and the
//! way readers, writers, semaphore units and condition signals are passed).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::park::{self, Unparker, WaitReason};

/// Not woken yet.
const WAITING: u8 = 0;
/// Woken: try to acquire again.
pub(crate) const RETRY: u8 = 1;
/// Woken: the resource is yours.
pub(crate) const GRANTED: u8 = 2;

/// One parked goroutine or thread.
#[derive(Debug)]
pub(crate) struct Waiter {
    /// `WAITING`, then the verdict.
    verdict: AtomicU8,
    /// Who waits.
    unparker: Unparker,
}

impl Waiter {
    /// A waiter for the caller.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Waiter { verdict: AtomicU8::new(WAITING), unparker: Unparker::current() })
    }

    /// Parks until woken; returns the verdict. `why` names the primitive.
    pub(crate) fn wait(&self, why: WaitReason) -> u8 {
        loop {
            // Acquire pairs with the Release in `wake`: a granted resource's
            // state is visible to its new owner.
            let v = self.verdict.load(Ordering::Acquire);
            if v != WAITING {
                return v;
            }
            park::park(why);
        }
    }

    /// Wakes the waiter with `verdict`. Called once, by whoever removed it
    /// from its queue, after releasing the queue's lock.
    pub(crate) fn wake(&self, verdict: u8) {
        debug_assert_ne!(verdict, WAITING);
        self.verdict.store(verdict, Ordering::Release);
        self.unparker.clone().unpark();
    }
}
