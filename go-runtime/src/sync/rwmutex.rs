//! `RwMutex<T>`: Go's `sync.RWMutex` with the data it protects, using Go's
//! algorithm (`src/sync/rwmutex.go`).
//!
//! # State
//! - `w`: a [`RawMutex`] held by the writer that holds or waits for the lock,
//!   so writers queue among themselves.
//! - `reader_count`: readers holding the lock; a writer subtracts
//!   `MAX_READERS` to announce itself, so while it is negative new readers
//!   queue on `reader_sem` (writer preference, docs/go-semantics.md, 45).
//! - `reader_wait`: readers that were inside when the writer announced
//!   itself and have not left yet; the last one releases `writer_sem`.
//! - `reader_sem`, `writer_sem`: counting semaphores that park goroutines.
//!
//! # Protocol
//! - `read`: `reader_count += 1`; if the result is negative a writer is
//!   pending: wait on `reader_sem`.
//! - `read` unlock: `reader_count -= 1`; if negative, a writer waits: count
//!   down `reader_wait`, and the last reader releases `writer_sem`.
//! - `write`: lock `w`; `reader_count -= MAX_READERS` gives the readers
//!   inside, `r`; if `r != 0`, add it to `reader_wait` and, unless they all
//!   left meanwhile, wait on `writer_sem`.
//! - `write` unlock: `reader_count += MAX_READERS` gives the readers that
//!   queued meanwhile; release `reader_sem` that many times (they go before
//!   the next writer, as in Go); unlock `w`.
//!
//! The semaphores count, so a release that comes before the matching wait
//! is not lost: that is what makes the reader/writer hand-offs race-free
//! without a lock on the fast paths.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use super::GRANTED;
use super::mutex::RawMutex;
use crate::coroutine::WaitReason;
use crate::scheduler::Latch;
use crate::scheduler::lock_internal;

/// More readers than can ever hold the lock at once (Go's `rwmutexMaxReaders`).
const MAX_READERS: i64 = 1 << 30;

/// A counting semaphore that parks (Go's `runtime_Semacquire`).
struct Sema {
    /// Tokens and FIFO waiters.
    st: parking_lot::Mutex<(usize, VecDeque<Arc<Latch>>)>,
}

impl Sema {
    const fn new() -> Self {
        Sema { st: parking_lot::Mutex::new((0, VecDeque::new())) }
    }

    fn acquire(&self, why: WaitReason) {
        let w = {
            let mut st = lock_internal(&self.st);
            if st.0 > 0 {
                st.0 -= 1;
                return;
            }
            let w = Arc::new(Latch::new());
            st.1.push_back(w.clone());
            w
        };
        let verdict = w.wait(why, None);
        debug_assert_eq!(verdict, Some(GRANTED));
    }

    fn release(&self) {
        let w = {
            let mut st = lock_internal(&self.st);
            match st.1.pop_front() {
                Some(w) => w,
                None => {
                    st.0 += 1;
                    return;
                }
            }
        };
        w.fire(GRANTED);
    }
}

/// A reader/writer lock around a value (Go's `sync.RWMutex`): many readers
/// or one writer.
///
/// Blocking parks the goroutine, never its thread. Once a writer waits, new
/// readers wait too, so writers are not starved (docs/go-semantics.md, 45).
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
    /// Held by the pending or holding writer.
    w: RawMutex,
    /// Readers inside, minus `MAX_READERS` while a writer is pending.
    reader_count: AtomicI64,
    /// Readers a pending writer still waits for.
    reader_wait: AtomicI64,
    /// Where readers wait for a writer to leave.
    reader_sem: Sema,
    /// Where a writer waits for readers to leave.
    writer_sem: Sema,
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
            w: RawMutex::new(),
            reader_count: AtomicI64::new(0),
            reader_wait: AtomicI64::new(0),
            reader_sem: Sema::new(),
            writer_sem: Sema::new(),
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
        crate::scheduler::checkpoint_uncounted();
        // Acquire pairs with the Release in `write_unlock`.
        if self.reader_count.fetch_add(1, Ordering::Acquire) + 1 < 0 {
            self.reader_sem.acquire(WaitReason::SyncRwMutexRLock);
        }
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
        crate::scheduler::checkpoint_uncounted();
        self.w.lock();
        // Announce the writer; AcqRel pairs with the readers' Release.
        let r = self.reader_count.fetch_sub(MAX_READERS, Ordering::AcqRel);
        if r != 0 && self.reader_wait.fetch_add(r, Ordering::AcqRel) + r != 0 {
            self.writer_sem.acquire(WaitReason::SyncRwMutexLock);
        }
        RwMutexWriteGuard { lock: self }
    }

    /// Locks for reading without blocking; `None` while a writer holds or
    /// waits (Go's `TryRLock`, docs/go-semantics.md, 44).
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
        crate::scheduler::checkpoint_uncounted();
        let mut c = self.reader_count.load(Ordering::Relaxed);
        while c >= 0 {
            // Acquire pairs with the Release `fetch_add` of `write_unlock`:
            // the last writer's changes are visible to this reader.
            match self.reader_count.compare_exchange_weak(
                c,
                c + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(RwMutexReadGuard { lock: self }),
                Err(now) => c = now,
            }
        }
        None
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
        crate::scheduler::checkpoint_uncounted();
        if !self.w.try_lock() {
            return None;
        }
        // Acquire pairs with the Release `fetch_sub` of `read_unlock`: the
        // readers that left are done with the data.
        if self
            .reader_count
            .compare_exchange(0, -MAX_READERS, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // SAFETY: we locked `w` just above.
            unsafe { self.w.unlock() };
            return None;
        }
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
        // Release pairs with the writer's AcqRel.
        if self.reader_count.fetch_sub(1, Ordering::Release) - 1 < 0
            && self.reader_wait.fetch_sub(1, Ordering::AcqRel) - 1 == 0
        {
            // The last reader the pending writer waited for.
            self.writer_sem.release();
        }
    }

    fn write_unlock(&self) {
        // Release pairs with the Acquire of the next `read`/`try_read`:
        // readers that enter next see the writer's changes.
        let r = self.reader_count.fetch_add(MAX_READERS, Ordering::Release) + MAX_READERS;
        for _ in 0..r {
            self.reader_sem.release();
        }
        // SAFETY: the writer holds `w` (taken in `write` or `try_write`).
        unsafe { self.w.unlock() };
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

impl<T: ?Sized + fmt::Display> fmt::Display for RwMutexReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwMutexWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwMutexWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
