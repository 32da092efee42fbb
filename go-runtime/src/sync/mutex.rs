//! `Mutex<T>`: Go's `sync.Mutex` with the data it protects.
//!
//! # State (`state`, one word)
//! - `LOCKED`: held.
//! - `WAITERS`: the queue may be non-empty (set under the queue lock before a
//!   waiter is queued; cleared under it when the queue empties).
//! - `STARVING`: Go's starvation mode: unlock hands the lock to the oldest
//!   waiter instead of releasing it, and newcomers queue without trying.
//!
//! # Protocol
//! 1. `lock`: CAS `0 -> LOCKED`. Else spin a little while the lock is held
//!    in normal mode, then under the queue lock set `WAITERS`, re-check (the
//!    holder may have released meanwhile: retry), queue (at the back; at the
//!    front if it was woken and lost the race, as Go does), and park. A
//!    waiter that has waited more than 1 ms switches the mutex to starvation
//!    mode (docs/go-semantics.md, 43).
//! 2. `unlock`: CAS `LOCKED -> 0`. Else (waiters or starving), under the
//!    queue lock: in starvation mode pop the oldest waiter and hand it the
//!    lock (`LOCKED` stays set), leaving starvation mode when the queue
//!    empties; in normal mode clear `LOCKED` and wake the oldest waiter to
//!    compete.
//! 3. A waiter handed the lock after waiting less than 1 ms leaves
//!    starvation mode (Go's other exit): the queue is moving again. Without
//!    this exit, goroutines that keep re-locking keep the queue non-empty,
//!    so one burst of contention left the mutex in hand-off mode for good,
//!    and every hand-off to a waiter homed on another worker is a
//!    cross-thread wake-up with the lock held meanwhile: about 1.5 s instead
//!    of 20-60 ms for 512,000 locks by 64 goroutines on two workers
//!    (sync README, "Mutex: leaving starvation mode").
//! 4. *Hand-off batches*: in starvation mode an unlock hands the lock to
//!    the oldest waiter homed on its own worker while the current batch (the
//!    hand-offs on one worker) is younger than 1 ms, and else to the oldest
//!    waiter of all, starting a batch on that waiter's worker. A hand-off on
//!    one worker is a push to its `runnext`; across workers it is a
//!    cross-thread wake-up, and with more workers than CPUs the woken thread
//!    may wait milliseconds for a CPU, so waits pass 1 ms and step 3 never
//!    comes: 9-76 s for the 512,000 locks of the convoy test at
//!    GOMAXPROCS=8 on two CPUs in half the runs, 35-53 ms with batches. The
//!    oldest waiter still gets the lock within about 1 ms per worker that
//!    has waiters.
//!
//! The lost wake-up it prevents: a locker queues itself just as the holder
//! releases. The locker sets `WAITERS` (one atomic RMW that also reads
//! `LOCKED`) before queueing; the holder's fast CAS only succeeds from
//! exactly `LOCKED`, so it either released before that RMW (the locker sees
//! `LOCKED` clear and retries) or it sees `WAITERS` and takes the slow path,
//! whose queue lock orders it after the locker's enqueue.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::{GRANTED, RETRY};
use crate::coroutine::WaitReason;
use crate::scheduler::Latch;
use crate::scheduler::lock_internal;

const LOCKED: u32 = 1;
const WAITERS: u32 = 2;
const STARVING: u32 = 4;

/// A waiter blocked longer than this switches the mutex to starvation mode.
const STARVATION_THRESHOLD: Duration = Duration::from_millis(1);
/// Spin attempts before queueing, while the lock is held in normal mode.
const SPINS: u32 = 4;

/// A starvation-mode hand-off stays among the waiters homed on the
/// worker that holds the lock for at most this long, while older waiters
/// homed elsewhere wait (module docs, step 4).
const BATCH: Duration = Duration::from_millis(1);

/// No fixed worker: a plain thread, or a goroutine that may migrate.
const ANYWHERE: usize = usize::MAX;

/// Parked lockers, oldest first, with the worker each will run on.
struct Waiters {
    /// `(home worker or ANYWHERE, latch)`, oldest first.
    queue: VecDeque<(usize, Arc<Latch>)>,
    /// How many queued waiters are homed on each worker (by index; grown on
    /// demand), so that an unlock looks for a waiter of its own worker only
    /// when there is one.
    per_worker: Vec<u32>,
    /// The current starvation-mode batch: the worker its waiters are homed
    /// on, and when it began.
    batch: Option<(usize, Instant)>,
}

impl Waiters {
    const fn new() -> Self {
        Waiters { queue: VecDeque::new(), per_worker: Vec::new(), batch: None }
    }

    fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    fn push(&mut self, w: Arc<Latch>, front: bool) {
        let home = w.home().unwrap_or(ANYWHERE);
        if home != ANYWHERE {
            if self.per_worker.len() <= home {
                self.per_worker.resize(home + 1, 0);
            }
            self.per_worker[home] += 1;
        }
        if front {
            self.queue.push_front((home, w));
        } else {
            self.queue.push_back((home, w));
        }
    }

    fn remove(&mut self, at: usize) -> Option<Arc<Latch>> {
        let (home, w) = self.queue.remove(at)?;
        if home != ANYWHERE {
            self.per_worker[home] -= 1;
        }
        Some(w)
    }

    /// The oldest waiter (normal mode: it will compete for the lock).
    fn pop_oldest(&mut self) -> Option<Arc<Latch>> {
        self.remove(0)
    }

    /// The waiter a starvation-mode unlock on worker `here` hands the lock
    /// to: the oldest one homed on `here` while the current batch (on
    /// `here`) is younger than [`BATCH`], else the oldest of all, which
    /// begins a batch on its home worker.
    fn pop_for_handoff(&mut self, here: Option<usize>) -> Option<Arc<Latch>> {
        if let (Some(h), Some((worker, since))) = (here, self.batch)
            && worker == h
            && self.per_worker.get(h).is_some_and(|&n| n > 0)
            && since.elapsed() < BATCH
        {
            let at = self.queue.iter().position(|&(home, _)| home == h);
            return self.remove(at.expect("per_worker counts a queued waiter"));
        }
        let home = self.queue.front()?.0;
        self.batch = (home != ANYWHERE).then(|| (home, Instant::now()));
        self.remove(0)
    }
}

/// The lock without the data: Go's `sync.Mutex`.
pub(crate) struct RawMutex {
    /// `LOCKED | WAITERS | STARVING`.
    state: AtomicU32,
    /// Parked lockers.
    queue: parking_lot::Mutex<Waiters>,
}

impl RawMutex {
    pub(crate) const fn new() -> Self {
        RawMutex { state: AtomicU32::new(0), queue: parking_lot::Mutex::new(Waiters::new()) }
    }

    pub(crate) fn try_lock(&self) -> bool {
        let s = self.state.load(Ordering::Relaxed);
        // Acquire pairs with the Release of `unlock`/`unlock_slow`: the
        // previous holder's critical section is visible to us.
        s & (LOCKED | STARVING) == 0
            && self
                .state
                .compare_exchange(s, s | LOCKED, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    pub(crate) fn lock(&self) {
        // Acquire pairs with the Release of `unlock`/`unlock_slow`.
        if self.state.compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.lock_slow();
        }
    }

    #[cold]
    fn lock_slow(&self) {
        let start = Instant::now();
        let mut woken = false;
        let mut spins = 0;
        loop {
            let s = self.state.load(Ordering::Relaxed);
            if s & (LOCKED | STARVING) == 0 {
                // Acquire pairs with the Release of `unlock`/`unlock_slow`.
                if self
                    .state
                    .compare_exchange_weak(s, s | LOCKED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return;
                }
                continue;
            }
            if s & STARVING == 0 && spins < SPINS {
                spins += 1;
                for _ in 0..30 {
                    std::hint::spin_loop();
                }
                continue;
            }
            let w = Arc::new(Latch::new());
            {
                let mut q = lock_internal(&self.queue);
                // AcqRel pairs with the Release `fetch_and` of `unlock_slow`:
                // if it released meanwhile we see it (and compete again).
                let s = self.state.fetch_or(WAITERS, Ordering::AcqRel);
                if s & (LOCKED | STARVING) == 0 {
                    // Released meanwhile: compete again.
                    if q.is_empty() {
                        self.state.fetch_and(!WAITERS, Ordering::Relaxed);
                    }
                    continue;
                }
                q.push(w.clone(), woken);
                if start.elapsed() > STARVATION_THRESHOLD {
                    self.state.fetch_or(STARVING, Ordering::Relaxed);
                }
            }
            if w.wait(WaitReason::SyncMutexLock, None) == Some(GRANTED) {
                if start.elapsed() < STARVATION_THRESHOLD {
                    // Handed the lock after a short wait: the queue moves,
                    // so back to normal mode (Go's rule, item 43). Under the
                    // queue lock, under which `unlock_slow` reads the mode.
                    let _q = lock_internal(&self.queue);
                    self.state.fetch_and(!STARVING, Ordering::Relaxed);
                }
                return;
            }
            woken = true;
            spins = 0;
        }
    }

    /// # Safety
    /// The mutex is locked (by anyone: Go's mutex has no owner).
    pub(crate) unsafe fn unlock(&self) {
        // Release pairs with the Acquire of the next `lock`/`try_lock`.
        if self.state.compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed).is_err() {
            self.unlock_slow();
        }
    }

    #[cold]
    fn unlock_slow(&self) {
        let mut q = lock_internal(&self.queue);
        let s = self.state.load(Ordering::Relaxed);
        debug_assert!(s & LOCKED != 0, "unlock of unlocked mutex");
        if s & STARVING != 0 {
            let w = q
                .pop_for_handoff(crate::scheduler::current_worker())
                .expect("starvation mode has waiters");
            if q.is_empty() {
                // Release pairs with the Acquire of the next `lock` once the
                // granted waiter unlocks (LOCKED stays set meanwhile).
                self.state.fetch_and(!(STARVING | WAITERS), Ordering::Release);
            }
            drop(q);
            // `LOCKED` stays set: ownership passes to `w` (the Release in
            // `Latch::fire` publishes the critical section to it).
            w.fire(GRANTED);
        } else {
            let w = q.pop_oldest();
            let clear = if q.is_empty() { LOCKED | WAITERS } else { LOCKED };
            // Release pairs with the Acquire of the next `lock`/`try_lock`.
            self.state.fetch_and(!clear, Ordering::Release);
            drop(q);
            if let Some(w) = w {
                w.fire(RETRY);
            }
        }
    }
}

/// A mutual exclusion lock around a value (Go's `sync.Mutex`, with the data
/// it guards inside, as Rust does it).
///
/// Blocking parks the goroutine, never its thread. Not reentrant: locking it
/// again while holding it blocks forever (docs/go-semantics.md, 41). Go's fairness:
/// a waiter blocked more than 1 ms switches the mutex to FIFO hand-off until
/// the queue drains (43). `new` is `const`, so Go's package-level `var mu
/// sync.Mutex` ports to a `static`.
///
/// # Example
/// ```
/// use go::sync::{Mutex, WaitGroup};
///
/// static COUNTER: Mutex<i32> = Mutex::new(0);
///
/// let wg = WaitGroup::new();
/// for _ in 0..1000 {
///     wg.go(|| *COUNTER.lock() += 1);
/// }
/// wg.wait();
/// assert_eq!(*COUNTER.lock(), 1000);
/// ```
pub struct Mutex<T: ?Sized> {
    /// The lock.
    raw: RawMutex,
    /// The guarded value.
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one holder at a time, so it
// may be shared between threads when `T` may be sent between them.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: moving the mutex moves the `T`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    ///
    /// # Example
    /// ```
    /// let m = go::sync::Mutex::new(vec![1]);
    /// m.lock().push(2);
    /// assert_eq!(m.into_inner(), [1, 2]);
    /// ```
    pub const fn new(value: T) -> Self {
        Mutex { raw: RawMutex::new(), data: UnsafeCell::new(value) }
    }

    /// Consumes the mutex, returning the value.
    ///
    /// # Example
    /// ```
    /// assert_eq!(go::sync::Mutex::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, blocking until it is free (Go's `mu.Lock()`); the
    /// guard unlocks it when dropped (Go's `defer mu.Unlock()`).
    ///
    /// # Example
    /// ```
    /// let m = go::sync::Mutex::new(0);
    /// *m.lock() += 1;
    /// assert_eq!(*m.lock(), 1);
    /// ```
    pub fn lock(&self) -> MutexGuard<'_, T> {
        crate::scheduler::checkpoint_uncounted();
        self.raw.lock();
        MutexGuard { mutex: self }
    }

    /// Locks the mutex if it is free, without blocking (Go's `TryLock`;
    /// false in starvation mode, as in Go).
    ///
    /// # Example
    /// ```
    /// let m = go::sync::Mutex::new(0);
    /// let g = m.lock();
    /// assert!(m.try_lock().is_none()); // not reentrant
    /// drop(g);
    /// assert!(m.try_lock().is_some());
    /// ```
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        crate::scheduler::checkpoint_uncounted();
        self.raw.try_lock().then(|| MutexGuard { mutex: self })
    }

    /// Mutable access without locking: the `&mut` proves nobody else holds it.
    ///
    /// # Example
    /// ```
    /// let mut m = go::sync::Mutex::new(1);
    /// *m.get_mut() = 2;
    /// assert_eq!(*m.lock(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Access to a [`Mutex`]'s value; unlocks when dropped.
///
/// Go's mutex has no owner, so the guard may be sent to another goroutine and
/// dropped there (docs/go-semantics.md, 42).
///
/// # Example
/// ```
/// let m = go::sync::Mutex::new(String::new());
/// let mut g = m.lock();
/// g.push_str("held");
/// drop(g); // Go's mu.Unlock()
/// assert_eq!(*m.lock(), "held");
/// ```
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    /// The locked mutex.
    mutex: &'a Mutex<T>,
}

// SAFETY: the guard gives `&T` to whoever holds a `&MutexGuard`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}
// SAFETY: the guard gives `&mut T` to whoever holds it, so moving it to
// another thread moves access to `T`; unlocking from another thread is
// fine (the lock has no owner).
unsafe impl<T: ?Sized + Send> Send for MutexGuard<'_, T> {}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard means the mutex is locked for us.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard means the mutex is locked for us, and `&mut self`
        // means no other reference through this guard is alive.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the guard exists, so the mutex is locked.
        unsafe { self.mutex.raw.unlock() };
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks (for `Cond`).
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
