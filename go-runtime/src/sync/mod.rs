//! Go's `sync` package: primitives that park the goroutine, never the OS
//! thread, and also work from plain threads.
//!
//! Design note: `README.md` beside this file (waiters and verdicts,
//! hand-off, starvation mode).
//!
//! | Go | here |
//! |---|---|
//! | `sync.WaitGroup` | [`WaitGroup`] |
//! | `sync.Mutex` + the data it guards | [`Mutex<T>`] |
//! | `sync.RWMutex` + the data | [`RwMutex<T>`] |
//! | `sync.Once`, `sync.OnceValue` | [`Once`], [`OnceValue`] |
//! | `sync.OnceFunc`, `sync.OnceValues` | [`OnceFunc`], [`OnceValues`] |
//! | `sync.Cond` | [`Cond`] |
//! | `x/sync/semaphore.Weighted` | [`Semaphore`] |
//! | `sync/atomic` | [`atomic`] (std's atomics) |

mod cond;
mod mutex;
mod once;
mod rwmutex;
mod semaphore;
mod waitgroup;

pub use self::cond::Cond;
pub use self::mutex::{Mutex, MutexGuard};
pub use self::once::{Once, OnceFunc, OnceValue, OnceValues};
pub use self::rwmutex::{RwMutex, RwMutexReadGuard, RwMutexWriteGuard};
pub use self::semaphore::Semaphore;
pub use self::waitgroup::{WaitFuture, WaitGroup};

/// Verdict of a parked waiter (fired into its `Latch`): try to acquire
/// again (a mutex in Go's normal mode).
const RETRY: usize = 1;
/// Verdict of a parked waiter: the resource was handed to it under the
/// queue's lock, and it owns it already (README, "Verdicts").
const GRANTED: usize = 2;

/// Go's `sync/atomic`: Rust's atomics already have Go's operations (`Add`
/// is `fetch_add` returning the old value, `Swap` is `swap`,
/// `CompareAndSwap` is `compare_exchange`, `And`/`Or` are `fetch_and` /
/// `fetch_or`).
///
/// # Example
/// ```
/// use go::sync::atomic::{AtomicI64, Ordering};
/// static HITS: AtomicI64 = AtomicI64::new(0);
/// let wg = go::sync::WaitGroup::new();
/// for _ in 0..100 {
///     wg.go(|| { HITS.fetch_add(1, Ordering::Relaxed); });
/// }
/// wg.wait();
/// assert_eq!(HITS.load(Ordering::Relaxed), 100);
/// ```
pub mod atomic {
    pub use std::sync::atomic::*;
}
