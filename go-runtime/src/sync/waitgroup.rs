//! `WaitGroup`: wait for a collection of goroutines to finish.
//!
//! # Protocol
//! `count` is the counter; `waiters` (under its lock) the latches of the
//! parked waiters. A waiter checks the counter, then under the lock checks
//! it again and queues its latch. The `add` that brings the counter to zero
//! takes the lock, empties the list and fires every latch. The lock orders
//! the two: either the waiter's second check sees zero, or it queued before
//! the zero-crosser took the lock. Each waiter returns only when its own
//! latch fires, so a spurious wake-up or a reuse of the group (a new round
//! of `add` before it ran) cannot confuse it.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll};

use parking_lot::Mutex;

use crate::coroutine::WaitReason;
use crate::scheduler::lock_internal;
use crate::scheduler::{Latch, TaskWaker, Unparker};
use crate::spawn::{Builder, PanicPolicy};

/// Waits for a collection of goroutines to finish (Go's `sync.WaitGroup`).
///
/// A cheap clonable handle: clones share one counter, so `go worker(i, &wg)`
/// ports by handing each goroutine a clone. `add` raises the counter, `done`
/// lowers it, `wait` blocks until it is zero. It can be reused once `wait`
/// has returned.
///
/// # Example
/// ```
/// use go::sync::WaitGroup;
///
/// let wg = WaitGroup::new();
/// let total = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
/// for i in 1..=5u64 {
///     let total = total.clone();
///     wg.go(move || {
///         total.fetch_add(i, std::sync::atomic::Ordering::Relaxed);
///     });
/// }
/// wg.wait();
/// assert_eq!(total.load(std::sync::atomic::Ordering::Relaxed), 15);
/// ```
#[derive(Clone, Default)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The counter.
    count: AtomicI64,
    /// The latches of parked waiters, fired when the counter reaches zero.
    waiters: Mutex<Vec<Arc<Latch>>>,
}

// A panic cannot leave a WaitGroup half-updated: `add` restores the counter
// before it panics, and the waiter list is changed only under its lock by
// code that does not panic.
impl std::panic::UnwindSafe for WaitGroup {}
impl std::panic::RefUnwindSafe for WaitGroup {}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.inner.count.load(Ordering::Relaxed))
            .finish()
    }
}

impl WaitGroup {
    /// A WaitGroup with a zero counter.
    ///
    /// # Example
    /// ```
    /// let wg = go::sync::WaitGroup::new();
    /// wg.wait(); // zero: returns at once
    /// ```
    pub fn new() -> Self {
        WaitGroup::default()
    }

    /// Adds `delta` (which may be negative) to the counter; when it reaches
    /// zero, every goroutine blocked in [`wait`](Self::wait) is released.
    ///
    /// # Panics
    /// `sync: negative WaitGroup counter` if the counter would go below zero
    /// (docs/go-semantics.md, 36); the counter is left unchanged.
    ///
    /// # Example
    /// ```
    /// let wg = go::sync::WaitGroup::new();
    /// wg.add(2);
    /// for _ in 0..2 {
    ///     let wg = wg.clone();
    ///     go::spawn(move || wg.done());
    /// }
    /// wg.wait();
    /// ```
    pub fn add(&self, delta: i64) {
        if delta == 0 {
            return;
        }
        // Release pairs with the Acquire loads in `wait` (everything before
        // `done` happens before `wait` returns); Acquire pairs with the
        // Release of earlier `add`s (the zero-crosser sees every earlier
        // `done`'s writes, and passes them on through the waiters' latches).
        let now = self.inner.count.fetch_add(delta, Ordering::AcqRel) + delta;
        if now < 0 {
            // AcqRel: the same pairs as the `fetch_add` above.
            self.inner.count.fetch_sub(delta, Ordering::AcqRel);
            panic!("sync: negative WaitGroup counter");
        }
        if now == 0 {
            self.release_waiters();
        }
    }

    /// Decrements the counter by one (Go's `wg.Done()`).
    ///
    /// # Panics
    /// `sync: negative WaitGroup counter` if the counter is already zero.
    ///
    /// # Example
    /// ```
    /// let wg = go::sync::WaitGroup::new();
    /// wg.add(1);
    /// wg.done();
    /// wg.wait();
    /// let err = std::panic::catch_unwind(|| wg.done()).unwrap_err();
    /// assert_eq!(err.downcast_ref::<&str>(), Some(&"sync: negative WaitGroup counter"));
    /// ```
    pub fn done(&self) {
        self.add(-1);
    }

    /// Blocks until the counter is zero; returns at once if it is. On a
    /// goroutine only the goroutine waits; on a plain thread the thread does.
    ///
    /// # Example
    /// ```
    /// let wg = go::sync::WaitGroup::new();
    /// wg.go(|| go::time::sleep(go::time::MILLISECOND));
    /// wg.wait();
    /// ```
    pub fn wait(&self) {
        // Acquire pairs with the AcqRel `fetch_add` of the last `add`.
        if self.inner.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let latch = Arc::new(Latch::new());
        {
            let mut waiters = lock_internal(&self.inner.waiters);
            // Acquire: as above.
            if self.inner.count.load(Ordering::Acquire) == 0 {
                return;
            }
            waiters.push(latch.clone());
        }
        latch.wait(WaitReason::SyncWaitGroupWait, None);
    }

    /// Waits from async code: a future that is ready once the counter is
    /// zero. Awaiting it never blocks the thread (a tokio worker runs its
    /// other tasks meanwhile); dropping it leaves nothing behind.
    ///
    /// # Example
    /// ```
    /// let wg = go::sync::WaitGroup::new();
    /// for _ in 0..3 {
    ///     wg.go(|| go::time::sleep(std::time::Duration::from_millis(1)));
    /// }
    /// go::block_on(wg.wait_async());
    /// ```
    pub fn wait_async(&self) -> WaitFuture {
        WaitFuture { inner: self.inner.clone(), queued: None }
    }

    /// Runs `f` in a new goroutine counted by this group: `add(1)`, spawn, and
    /// `done()` when `f` returns (Go 1.25's `wg.Go`). If `f` panics the
    /// process crashes, as in Go, with `[recovered, repanicked]` after the
    /// message, and `done` is not called.
    ///
    /// # Example
    /// ```
    /// let wg = go::sync::WaitGroup::new();
    /// let hits = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    /// for _ in 0..10 {
    ///     let hits = hits.clone();
    ///     wg.go(move || { hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed); });
    /// }
    /// wg.wait();
    /// assert_eq!(hits.load(std::sync::atomic::Ordering::Relaxed), 10);
    /// ```
    #[track_caller]
    pub fn go<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.add(1);
        let wg = self.clone();
        let spawned = Builder::new().spawn_at(
            move || {
                f();
                wg.done();
            },
            Location::caller(),
            PanicPolicy::Repanicked,
        );
        if let Err(e) = spawned {
            self.done();
            panic!("{e}");
        }
    }

    /// Fires the latch of every waiter queued so far (the counter is zero).
    fn release_waiters(&self) {
        let waiters = std::mem::take(&mut *lock_internal(&self.inner.waiters));
        for w in waiters {
            w.fire(1);
        }
    }
}

/// The future of [`WaitGroup::wait_async`]: ready once the counter is zero.
///
/// # Example
/// ```
/// let wg = go::sync::WaitGroup::new();
/// let wait: go::sync::WaitFuture = wg.wait_async();
/// go::block_on(wait); // the counter is zero already
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct WaitFuture {
    /// The group.
    inner: Arc<Inner>,
    /// Its latch in the group's waiter list, once a poll queued it, and
    /// the task the latch wakes.
    queued: Option<(Arc<Latch>, Arc<TaskWaker>)>,
}

impl Future for WaitFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if let Some((latch, task)) = &this.queued {
            // Register, then look: a firing after the look wakes this waker.
            task.register(cx.waker());
            return if latch.fired().is_some() { Poll::Ready(()) } else { Poll::Pending };
        }
        // Acquire pairs with the AcqRel `fetch_add` of the last `add`.
        if this.inner.count.load(Ordering::Acquire) == 0 {
            return Poll::Ready(());
        }
        let task = TaskWaker::new();
        task.register(cx.waker());
        let latch = Arc::new(Latch::for_waiter(Unparker::Task(task.clone())));
        let mut waiters = lock_internal(&this.inner.waiters);
        // Acquire pairs with the AcqRel `fetch_add` of the last `add` (the
        // protocol's second check, under the lock).
        if this.inner.count.load(Ordering::Acquire) == 0 {
            return Poll::Ready(());
        }
        waiters.push(latch.clone());
        drop(waiters);
        this.queued = Some((latch, task));
        Poll::Pending
    }
}

impl Drop for WaitFuture {
    fn drop(&mut self) {
        if let Some((latch, _)) = self.queued.take()
            && latch.fired().is_none()
        {
            lock_internal(&self.inner.waiters).retain(|l| !Arc::ptr_eq(l, &latch));
        }
    }
}

impl fmt::Debug for WaitFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFuture").field("queued", &self.queued.is_some()).finish()
    }
}
