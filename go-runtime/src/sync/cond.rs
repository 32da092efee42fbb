//! `Cond`: a condition variable (Go's `sync.Cond`) used with [`Mutex`].
//!
//! Waiters queue FIFO under the cond's own lock *before* releasing the
//! mutex, so a `signal` issued after the mutex is released always finds
//! them: no wake-up is lost between "unlock" and "park".

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use super::GRANTED;
use super::mutex::MutexGuard;
use crate::coroutine::WaitReason;
use crate::scheduler::Latch;
use crate::scheduler::lock_internal;

/// A condition variable: goroutines wait for an event while holding a
/// [`Mutex`](super::Mutex) (Go's `sync.Cond`).
///
/// `wait` unlocks the mutex, parks, and locks it again before returning;
/// `signal` wakes the oldest waiter, `broadcast` all (docs/go-semantics.md, 48).
///
/// # Example
/// ```
/// use go::sync::{Cond, Mutex};
/// use std::sync::Arc;
///
/// let state = Arc::new((Mutex::new(false), Cond::new()));
/// let s = state.clone();
/// go::spawn(move || {
///     *s.0.lock() = true;
///     s.1.signal();
/// });
/// let (m, c) = &*state;
/// let mut ready = m.lock();
/// while !*ready {
///     ready = c.wait(ready);
/// }
/// ```
pub struct Cond {
    /// Waiters, oldest first.
    waiters: parking_lot::Mutex<VecDeque<Arc<Latch>>>,
}

// Nothing in `Cond` panics while its queue is being changed.
impl std::panic::UnwindSafe for Cond {}
impl std::panic::RefUnwindSafe for Cond {}

impl fmt::Debug for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cond").field("waiters", &self.waiters.lock().len()).finish()
    }
}

impl Default for Cond {
    fn default() -> Self {
        Cond::new()
    }
}

impl Cond {
    /// A condition variable with no waiters.
    ///
    /// # Example
    /// ```
    /// let c = go::sync::Cond::new();
    /// c.signal(); // nobody waits: nothing happens
    /// ```
    pub const fn new() -> Self {
        Cond { waiters: parking_lot::Mutex::new(VecDeque::new()) }
    }

    /// Unlocks the guard's mutex, waits for a `signal` or `broadcast`, and
    /// locks the mutex again. As in Go, check the condition in a loop: the
    /// state may have changed again before the lock is re-taken.
    ///
    /// # Example
    /// ```
    /// use go::sync::{Cond, Mutex};
    /// static M: Mutex<u32> = Mutex::new(0);
    /// static C: Cond = Cond::new();
    /// go::spawn(|| {
    ///     *M.lock() = 1;
    ///     C.broadcast();
    /// });
    /// let mut g = M.lock();
    /// while *g == 0 {
    ///     g = C.wait(g);
    /// }
    /// assert_eq!(*g, 1);
    /// ```
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = guard.mutex();
        let w = Arc::new(Latch::new());
        lock_internal(&self.waiters).push_back(w.clone());
        drop(guard);
        let verdict = w.wait(WaitReason::SyncCondWait, None);
        debug_assert_eq!(verdict, Some(GRANTED));
        mutex.lock()
    }

    /// Wakes the oldest waiter, if any (Go's `Signal`).
    ///
    /// # Example
    /// ```
    /// go::sync::Cond::new().signal();
    /// ```
    pub fn signal(&self) {
        let w = lock_internal(&self.waiters).pop_front();
        if let Some(w) = w {
            w.fire(GRANTED);
        }
    }

    /// Wakes every waiter (Go's `Broadcast`).
    ///
    /// # Example
    /// ```
    /// go::sync::Cond::new().broadcast();
    /// ```
    pub fn broadcast(&self) {
        let all = std::mem::take(&mut *lock_internal(&self.waiters));
        for w in all {
            w.fire(GRANTED);
        }
    }
}
