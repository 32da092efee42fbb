//! `RwMutex<T>`: Go's `sync.RWMutex` with the data it protects.
//!
//! # State (under `state`'s lock)
//! `readers` holding it, `writer` holding it, and FIFO queues of waiting
//! readers and writers.
//!
//! # Protocol (Go's writer preference, GO_SEMANTICS 45)
//! - `read`: granted at once unless a writer holds it *or waits*; else queue.
//! - `write`: granted at once if nobody holds it and no writer waits; else
//!   queue.
//! - Last reader out: hand the lock to the oldest waiting writer.
//! - Writer out: admit every waiting reader (they queued while it held the
//!   lock, so they go before the next writer, as in Go); if none, hand the
//!   lock to the next writer.
//!
//! Hand-offs set the new holders' counts under the lock before waking them,
//! so a woken waiter owns the lock already and never re-competes.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::waiter::{GRANTED, Waiter};

/// Who holds or waits for an `RwMutex`.
struct State {
    /// Readers holding the lock.
    readers: usize,
    /// A writer holds the lock.
    writer: bool,
    /// Waiting readers, oldest first.
    readers_waiting: VecDeque<Arc<Waiter>>,
    /// Waiting writers, oldest first.
    writers_waiting: VecDeque<Arc<Waiter>>,
}

/// A reader/writer lock around a value (Go's `sync.RWMutex`): many readers
/// or one writer.
///
/// Blocking parks the goroutine, never its thread. Once a writer waits, new
/// readers wait too, so writers are not starved (GO_SEMANTICS 45).
///
/// # Example
/// ```
/// use go::sync::RwMutex;
///
/// static CONFIG: RwMutex<Vec<&str>> = RwMutex::new(Vec::new());
///
/// CONFIG.write().push("verbose");
/// let readers: Vec<_> =
///     (0..4).map(|_| go::spawn(|| CONFIG.read().contains(&"verbose"))).collect();
/// assert!(readers.into_iter().all(|h| h.join().unwrap()));
/// ```
pub struct RwMutex<T: ?Sized> {
    /// Holders and waiters.
    state: parking_lot::Mutex<State>,
    /// The guarded value.
    data: UnsafeCell<T>,
}

// SAFETY: readers share `&T` across threads (needs `Sync`), a writer gets
// `&mut T` on any thread (needs `Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwMutex<T> {}
// SAFETY: moving the lock moves the `T`.
unsafe impl<T: ?Sized + Send> Send for RwMutex<T> {}

impl<T> RwMutex<T> {
    /// A new unlocked `RwMutex` holding `value`.
    ///
    /// # Example
    /// ```
    /// let m = go::sync::RwMutex::new(1);
    /// assert_eq!(*m.read(), 1);
    /// ```
    pub const fn new(value: T) -> Self {
        RwMutex {
            state: parking_lot::Mutex::new(State {
                readers: 0,
                writer: false,
                readers_waiting: VecDeque::new(),
                writers_waiting: VecDeque::new(),
            }),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock, returning the value.
    ///
    /// # Example
    /// ```
    /// assert_eq!(go::sync::RwMutex::new("v").into_inner(), "v");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwMutex<T> {
    /// Locks for reading (Go's `RLock`); the guard unlocks (`RUnlock`).
    ///
    /// # Example
    /// ```
    /// let m = go::sync::RwMutex::new(5);
    /// let (a, b) = (m.read(), m.read()); // readers share
    /// assert_eq!(*a + *b, 10);
    /// ```
    pub fn read(&self) -> RwMutexReadGuard<'_, T> {
        let w = {
            let mut st = self.state.lock();
            if !st.writer && st.writers_waiting.is_empty() {
                st.readers += 1;
                return RwMutexReadGuard { lock: self };
            }
            let w = Waiter::new();
            st.readers_waiting.push_back(w.clone());
            w
        };
        let verdict = w.wait();
        debug_assert_eq!(verdict, GRANTED);
        RwMutexReadGuard { lock: self }
    }

    /// Locks for writing (Go's `Lock`); the guard unlocks (`Unlock`).
    ///
    /// # Example
    /// ```
    /// let m = go::sync::RwMutex::new(5);
    /// *m.write() += 1;
    /// assert_eq!(*m.read(), 6);
    /// ```
    pub fn write(&self) -> RwMutexWriteGuard<'_, T> {
        let w = {
            let mut st = self.state.lock();
            if !st.writer && st.readers == 0 && st.writers_waiting.is_empty() {
                st.writer = true;
                return RwMutexWriteGuard { lock: self };
            }
            let w = Waiter::new();
            st.writers_waiting.push_back(w.clone());
            w
        };
        let verdict = w.wait();
        debug_assert_eq!(verdict, GRANTED);
        RwMutexWriteGuard { lock: self }
    }

    /// Locks for reading without blocking; `None` while a writer holds or
    /// waits (Go's `TryRLock`, GO_SEMANTICS 44).
    ///
    /// # Example
    /// ```
    /// let m = go::sync::RwMutex::new(0);
    /// let w = m.write();
    /// assert!(m.try_read().is_none());
    /// drop(w);
    /// assert!(m.try_read().is_some());
    /// ```
    pub fn try_read(&self) -> Option<RwMutexReadGuard<'_, T>> {
        let mut st = self.state.lock();
        if st.writer || !st.writers_waiting.is_empty() {
            return None;
        }
        st.readers += 1;
        Some(RwMutexReadGuard { lock: self })
    }

    /// Locks for writing without blocking (Go's `TryLock`).
    ///
    /// # Example
    /// ```
    /// let m = go::sync::RwMutex::new(0);
    /// let r = m.read();
    /// assert!(m.try_write().is_none());
    /// drop(r);
    /// assert!(m.try_write().is_some());
    /// ```
    pub fn try_write(&self) -> Option<RwMutexWriteGuard<'_, T>> {
        let mut st = self.state.lock();
        if st.writer || st.readers != 0 {
            return None;
        }
        st.writer = true;
        Some(RwMutexWriteGuard { lock: self })
    }

    /// Mutable access without locking.
    ///
    /// # Example
    /// ```
    /// let mut m = go::sync::RwMutex::new(1);
    /// *m.get_mut() += 1;
    /// assert_eq!(*m.read(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    fn read_unlock(&self) {
        let granted = {
            let mut st = self.state.lock();
            st.readers -= 1;
            if st.readers != 0 {
                return;
            }
            let Some(w) = st.writers_waiting.pop_front() else { return };
            st.writer = true;
            w
        };
        granted.wake(GRANTED);
    }

    fn write_unlock(&self) {
        let mut granted = Vec::new();
        {
            let mut st = self.state.lock();
            st.writer = false;
            if !st.readers_waiting.is_empty() {
                st.readers += st.readers_waiting.len();
                granted.extend(st.readers_waiting.drain(..));
            } else if let Some(w) = st.writers_waiting.pop_front() {
                st.writer = true;
                granted.push(w);
            }
        }
        for w in granted {
            w.wake(GRANTED);
        }
    }
}

impl<T: Default> Default for RwMutex<T> {
    fn default() -> Self {
        RwMutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwMutex");
        match self.try_read() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Shared access to an [`RwMutex`]'s value; `RUnlock`s when dropped.
///
/// # Example
/// ```
/// let m = go::sync::RwMutex::new([1, 2]);
/// let g = m.read();
/// assert_eq!(g.len(), 2);
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwMutexReadGuard<'a, T: ?Sized> {
    /// The locked `RwMutex`.
    lock: &'a RwMutex<T>,
}

/// Exclusive access to an [`RwMutex`]'s value; `Unlock`s when dropped.
///
/// # Example
/// ```
/// let m = go::sync::RwMutex::new(vec![1]);
/// m.write().push(2);
/// assert_eq!(*m.read(), [1, 2]);
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwMutexWriteGuard<'a, T: ?Sized> {
    /// The locked `RwMutex`.
    lock: &'a RwMutex<T>,
}

// SAFETY: a read guard hands out `&T` only.
unsafe impl<T: ?Sized + Sync> Sync for RwMutexReadGuard<'_, T> {}
// SAFETY: moving a read guard moves shared access (`T: Sync`); unlocking
// from another thread is fine (the lock has no owner).
unsafe impl<T: ?Sized + Sync> Send for RwMutexReadGuard<'_, T> {}
// SAFETY: a write guard hands out `&T` through `&self`.
unsafe impl<T: ?Sized + Sync> Sync for RwMutexWriteGuard<'_, T> {}
// SAFETY: moving a write guard moves exclusive access (`T: Send`).
unsafe impl<T: ?Sized + Send> Send for RwMutexWriteGuard<'_, T> {}

impl<T: ?Sized> Deref for RwMutexReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: read-locked: no writer holds it.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Deref for RwMutexWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: write-locked: we are the only holder.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwMutexWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: write-locked, and `&mut self` excludes other borrows.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwMutexReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.read_unlock();
    }
}

impl<T: ?Sized> Drop for RwMutexWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.write_unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwMutexReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwMutexWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
