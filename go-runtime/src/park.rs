//! Blocking the caller, whoever it is: a goroutine parks (its worker runs
//! others), a plain thread parks its OS thread.
//!
//! Both behave like `std::thread::park`: an `unpark` that arrives before the
//! `park` makes the `park` return at once (one token), and `park` may return
//! spuriously. Every wait loop therefore re-checks its condition.

use std::thread::Thread;

use crate::coroutine::{GRef, Suspend};
use crate::scheduler::{self, worker};

/// Wakes one blocked caller: a goroutine or an OS thread.
#[derive(Debug, Clone)]
pub(crate) enum Unparker {
    /// A goroutine parked (or about to park) in [`park`].
    Goroutine(GRef),
    /// A plain thread parked (or about to park) in [`park`].
    Thread(Thread),
}

impl Unparker {
    /// The unparker of the caller.
    pub(crate) fn current() -> Self {
        match worker::current_gref() {
            Some(g) => Unparker::Goroutine(g),
            None => Unparker::Thread(std::thread::current()),
        }
    }

    /// Wakes the caller of the matching [`park`], or makes its next `park`
    /// return at once.
    pub(crate) fn unpark(self) {
        match self {
            Unparker::Goroutine(g) => {
                if g.unpark() {
                    scheduler::ready(g);
                }
            }
            Unparker::Thread(t) => t.unpark(),
        }
    }
}

/// Blocks the caller until an [`Unparker::unpark`] (possibly one that came
/// earlier), or spuriously.
pub(crate) fn park() {
    let p = worker::current_goroutine();
    if p.is_null() {
        std::thread::park();
        return;
    }
    // SAFETY: `p` is the goroutine running this code; its worker keeps it
    // alive while it runs.
    let g = unsafe { &*p };
    if g.take_notification() {
        return;
    }
    // SAFETY: we run on `g`'s own stack.
    unsafe { g.suspend(Suspend::Park) };
}

/// Lets other goroutines run; the caller stays runnable (Go's `Gosched`).
pub(crate) fn yield_now() {
    let p = worker::current_goroutine();
    if p.is_null() {
        std::thread::yield_now();
        return;
    }
    // SAFETY: as in `park`.
    unsafe { (*p).suspend(Suspend::Yield) };
}
