//! `Semaphore`: a weighted semaphore (golang.org/x/sync/semaphore).
//!
//! Waiters are served strictly FIFO: a large request at the head of the
//! queue is not overtaken by small ones, so it cannot starve.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use super::GRANTED;
use crate::coroutine::WaitReason;
use crate::scheduler::Latch;
use crate::scheduler::lock_internal;

/// Units and waiters, under one lock.
struct State {
    /// Units not held.
    available: u64,
    /// Waiters with the units they want, oldest first.
    waiters: VecDeque<(u64, Arc<Latch>)>,
}

/// A weighted semaphore: `size` units, acquired and released in any amounts
/// (Go's `golang.org/x/sync/semaphore.Weighted`). Blocking parks the
/// goroutine, never its thread.
///
/// # Example
/// ```
/// use go::sync::{Semaphore, WaitGroup};
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// // At most 3 of 20 jobs run at once.
/// let sem = Arc::new(Semaphore::new(3));
/// let running = Arc::new(AtomicU32::new(0));
/// let wg = WaitGroup::new();
/// for _ in 0..20 {
///     let (sem, running) = (sem.clone(), running.clone());
///     wg.go(move || {
///         sem.acquire(1);
///         assert!(running.fetch_add(1, Ordering::SeqCst) < 3);
///         go::time::sleep(go::time::MILLISECOND);
///         running.fetch_sub(1, Ordering::SeqCst);
///         sem.release(1);
///     });
/// }
/// wg.wait();
/// ```
pub struct Semaphore {
    /// Total units.
    size: u64,
    /// Units and waiters.
    state: parking_lot::Mutex<State>,
}

// `release` panics before changing anything, so a caught panic leaves the
// semaphore consistent.
impl std::panic::UnwindSafe for Semaphore {}
impl std::panic::RefUnwindSafe for Semaphore {}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock_internal(&self.state);
        f.debug_struct("Semaphore")
            .field("size", &self.size)
            .field("available", &st.available)
            .field("waiters", &st.waiters.len())
            .finish()
    }
}

impl Semaphore {
    /// A semaphore with `size` units, all available.
    ///
    /// # Example
    /// ```
    /// let sem = go::sync::Semaphore::new(2);
    /// assert!(sem.try_acquire(2));
    /// ```
    pub const fn new(size: u64) -> Self {
        Semaphore {
            size,
            state: parking_lot::Mutex::new(State { available: size, waiters: VecDeque::new() }),
        }
    }

    /// Acquires `n` units, blocking until they are available and every
    /// earlier waiter has been served. Asking for more than the size blocks
    /// forever, as in Go.
    ///
    /// # Example
    /// ```
    /// let sem = go::sync::Semaphore::new(4);
    /// sem.acquire(3);
    /// sem.release(3);
    /// ```
    pub fn acquire(&self, n: u64) {
        let w = {
            let mut st = lock_internal(&self.state);
            if st.waiters.is_empty() && st.available >= n {
                st.available -= n;
                return;
            }
            let w = Arc::new(Latch::new());
            st.waiters.push_back((n, w.clone()));
            w
        };
        let verdict = w.wait(WaitReason::Semacquire, None);
        debug_assert_eq!(verdict, Some(GRANTED));
    }

    /// Acquires `n` units if they are available now and nobody waits.
    ///
    /// # Example
    /// ```
    /// let sem = go::sync::Semaphore::new(1);
    /// assert!(sem.try_acquire(1));
    /// assert!(!sem.try_acquire(1));
    /// ```
    pub fn try_acquire(&self, n: u64) -> bool {
        let mut st = lock_internal(&self.state);
        if st.waiters.is_empty() && st.available >= n {
            st.available -= n;
            true
        } else {
            false
        }
    }

    /// Releases `n` units and serves waiters in order while they fit.
    ///
    /// # Panics
    /// `semaphore: released more than held` if that would exceed the size.
    ///
    /// # Example
    /// ```
    /// let sem = go::sync::Semaphore::new(1);
    /// sem.acquire(1);
    /// sem.release(1);
    /// assert!(sem.try_acquire(1));
    /// ```
    pub fn release(&self, n: u64) {
        let mut granted = Vec::new();
        {
            let mut st = lock_internal(&self.state);
            if st.available + n > self.size {
                drop(st);
                panic!("semaphore: released more than held");
            }
            st.available += n;
            while let Some(&(want, _)) = st.waiters.front() {
                if want > st.available {
                    break;
                }
                st.available -= want;
                granted.push(st.waiters.pop_front().expect("front exists").1);
            }
        }
        for w in granted {
            w.fire(GRANTED);
        }
    }
}
