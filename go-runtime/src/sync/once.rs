//! `Once` and `OnceValue`: run a function once (Go's `sync.Once`,
//! `sync.OnceValue`).
//!
//! `done` is set (Release) after the function returns or panics, under the
//! mutex; the fast path reads it (Acquire) and skips the mutex. Callers that
//! arrive while the function runs block on the mutex until it is done, as
//! in Go; a recursive call deadlocks, as in Go (docs/go-semantics.md, 46).

use std::any::Any;
use std::cell::UnsafeCell;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, Ordering};

use super::mutex::RawMutex;
use crate::report::payload_message;

/// Runs a function exactly once (Go's `sync.Once`).
///
/// A panicking function still counts as done: later calls return at once
/// (docs/go-semantics.md, 46).
///
/// # Example
/// ```
/// use go::sync::{Once, WaitGroup};
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// static INIT: Once = Once::new();
/// static RUNS: AtomicU32 = AtomicU32::new(0);
///
/// let wg = WaitGroup::new();
/// for _ in 0..100 {
///     wg.go(|| INIT.call(|| { RUNS.fetch_add(1, Ordering::SeqCst); }));
/// }
/// wg.wait();
/// assert_eq!(RUNS.load(Ordering::SeqCst), 1);
/// ```
pub struct Once {
    /// The function has returned or panicked.
    done: AtomicBool,
    /// Serialises the first calls.
    m: RawMutex,
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").field("done", &self.done.load(Ordering::Relaxed)).finish()
    }
}

impl Default for Once {
    fn default() -> Self {
        Once::new()
    }
}

impl Once {
    /// A `Once` that has not run.
    ///
    /// # Example
    /// ```
    /// let once = go::sync::Once::new();
    /// assert!(!once.is_done());
    /// ```
    pub const fn new() -> Self {
        Once { done: AtomicBool::new(false), m: RawMutex::new() }
    }

    /// Calls `f` if no call has run yet (Go's `once.Do(f)`); otherwise
    /// returns at once, after the first call finished. A panic in `f`
    /// propagates to this caller and still marks the `Once` done.
    ///
    /// # Example
    /// ```
    /// let once = go::sync::Once::new();
    /// let mut n = 0;
    /// once.call(|| n += 1);
    /// once.call(|| n += 1);
    /// assert_eq!(n, 1);
    /// ```
    pub fn call(&self, f: impl FnOnce()) {
        // Acquire pairs with the Release below: the effects of `f` are
        // visible to every caller that sees `done`.
        if self.done.load(Ordering::Acquire) {
            return;
        }
        self.call_slow(f);
    }

    #[cold]
    fn call_slow(&self, f: impl FnOnce()) {
        self.m.lock();
        let r = if self.done.load(Ordering::Relaxed) {
            Ok(())
        } else {
            catch_unwind(AssertUnwindSafe(f))
        };
        // Release pairs with the Acquire of `is_done` and of the fast path
        // of `call`: whoever sees `done` sees what `f` did.
        self.done.store(true, Ordering::Release);
        // SAFETY: we locked it above.
        unsafe { self.m.unlock() };
        if let Err(p) = r {
            resume_unwind(p);
        }
    }

    /// Whether the function has run (returned or panicked).
    ///
    /// # Example
    /// ```
    /// let once = go::sync::Once::new();
    /// once.call(|| ());
    /// assert!(once.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        // Acquire pairs with the Release store in `call_slow`.
        self.done.load(Ordering::Acquire)
    }
}

/// The outcome of the function, kept for every later call.
enum Outcome<T> {
    /// It returned this.
    Value(T),
    /// It panicked with this message.
    Panicked(PanicCopy),
}

/// A panic payload that can be raised again: strings keep their text; any
/// other payload is raised again as the text `Box<dyn Any>`.
#[derive(Clone)]
struct PanicCopy(String);

impl PanicCopy {
    fn of(p: &(dyn Any + Send)) -> Self {
        PanicCopy(payload_message(p))
    }
}

/// A value computed once, on first use, by a function that runs at most
/// once (Go's `sync.OnceValue`).
///
/// If the function panics, that call and every later call panic with the
/// same message (docs/go-semantics.md, 47).
///
/// # Example
/// ```
/// use go::sync::OnceValue;
///
/// static PRIMES: OnceValue<Vec<u32>> = OnceValue::new(|| {
///     (2..50).filter(|n| (2..*n).all(|d| n % d != 0)).collect()
/// });
/// assert_eq!(PRIMES.get()[..5], [2, 3, 5, 7, 11]);
/// assert_eq!(PRIMES.get().len(), 15); // computed once, cached
/// ```
pub struct OnceValue<T, F = fn() -> T> {
    /// Runs the function once.
    once: Once,
    /// The function, until it runs.
    f: UnsafeCell<Option<F>>,
    /// Its outcome, once it ran.
    outcome: UnsafeCell<Option<Outcome<T>>>,
}

// SAFETY: `f` and `outcome` are written only inside `once.call` (one caller,
// under the mutex) and read only after `once` is done (Acquire); `get`
// hands out `&T` to many threads (needs `Sync`) and the value may be created
// on one thread and dropped on another (needs `Send`); `F` runs on one
// thread and may be created on another (needs `Send`).
unsafe impl<T: Send + Sync, F: Send> Sync for OnceValue<T, F> {}

// A panicking function leaves a consistent state (done, with the panic kept
// for later calls), so observing a `Once` or `OnceValue` after a caught
// panic is fine.
impl std::panic::UnwindSafe for Once {}
impl std::panic::RefUnwindSafe for Once {}
impl<T: std::panic::UnwindSafe, F> std::panic::UnwindSafe for OnceValue<T, F> {}
impl<T: std::panic::RefUnwindSafe, F> std::panic::RefUnwindSafe for OnceValue<T, F> {}

impl<T, F> fmt::Debug for OnceValue<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceValue").field("done", &self.once.is_done()).finish_non_exhaustive()
    }
}

impl<T, F: FnOnce() -> T> OnceValue<T, F> {
    /// A value that `f` will compute on first use.
    ///
    /// # Example
    /// ```
    /// let v = go::sync::OnceValue::new(|| 6 * 7);
    /// assert_eq!(*v.get(), 42);
    /// ```
    pub const fn new(f: F) -> Self {
        OnceValue { once: Once::new(), f: UnsafeCell::new(Some(f)), outcome: UnsafeCell::new(None) }
    }

    /// The value, computing it on the first call.
    ///
    /// # Panics
    /// If the function panicked, on this and every later call, with the
    /// same message.
    ///
    /// # Example
    /// ```
    /// let v = go::sync::OnceValue::new(|| -> u8 { panic!("no config") });
    /// for _ in 0..2 {
    ///     let err = std::panic::catch_unwind(|| *v.get()).unwrap_err();
    ///     assert_eq!(err.downcast_ref::<String>().unwrap(), "no config");
    /// }
    /// ```
    pub fn get(&self) -> &T {
        self.once.call(|| {
            // SAFETY: inside `once.call`, the only writer (see `Sync`).
            let f = unsafe { (*self.f.get()).take() }.expect("the function runs once");
            let outcome = match catch_unwind(AssertUnwindSafe(f)) {
                Ok(v) => Outcome::Value(v),
                Err(p) => Outcome::Panicked(PanicCopy::of(p.as_ref())),
            };
            // SAFETY: as above.
            unsafe { *self.outcome.get() = Some(outcome) };
        });
        // SAFETY: `once` is done, so `outcome` is written and never again.
        match unsafe { (*self.outcome.get()).as_ref() }.expect("set by the call") {
            Outcome::Value(v) => v,
            Outcome::Panicked(p) => resume_unwind(Box::new(p.0.clone())),
        }
    }
}

/// A function that runs at most once, however often it is called (Go's
/// `sync.OnceFunc`: `once := sync.OnceFunc(f); once()` ports as
/// `let once = OnceFunc::new(f); once.call()`).
///
/// If the function panics, that call and every later call panic with the
/// same message.
///
/// # Example
/// ```
/// use go::sync::{OnceFunc, WaitGroup};
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// let runs = Arc::new(AtomicU32::new(0));
/// let r = runs.clone();
/// let init = Arc::new(OnceFunc::new(move || {
///     r.fetch_add(1, Ordering::SeqCst);
/// }));
/// let wg = WaitGroup::new();
/// for _ in 0..10 {
///     let init = init.clone();
///     wg.go(move || init.call());
/// }
/// wg.wait();
/// assert_eq!(runs.load(Ordering::SeqCst), 1);
/// ```
pub struct OnceFunc<F = fn()> {
    /// The function's outcome: nothing, or its panic.
    inner: OnceValue<(), F>,
}

impl<F> fmt::Debug for OnceFunc<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceFunc").field("done", &self.inner.once.is_done()).finish_non_exhaustive()
    }
}

impl<F: FnOnce()> OnceFunc<F> {
    /// A function that will run `f` on its first call.
    ///
    /// # Example
    /// ```
    /// static GREET: go::sync::OnceFunc = go::sync::OnceFunc::new(|| println!("hello, once"));
    /// GREET.call();
    /// GREET.call(); // prints nothing
    /// ```
    pub const fn new(f: F) -> Self {
        OnceFunc { inner: OnceValue::new(f) }
    }

    /// Runs the function if it has not run yet; else returns at once (or
    /// waits for the first call to finish).
    ///
    /// # Panics
    /// If the function panicked, on this and every later call, with the
    /// same message.
    ///
    /// # Example
    /// ```
    /// let f = go::sync::OnceFunc::new(|| panic!("setup failed"));
    /// for _ in 0..2 {
    ///     let err = std::panic::catch_unwind(|| f.call()).unwrap_err();
    ///     assert_eq!(err.downcast_ref::<String>().unwrap(), "setup failed");
    /// }
    /// ```
    pub fn call(&self) {
        self.inner.get();
    }
}

/// Two values computed once, on first use (Go's `sync.OnceValues`, whose
/// usual pair is a value and an error).
///
/// # Example
/// ```
/// use go::sync::OnceValues;
///
/// static CONFIG: OnceValues<String, Option<std::io::ErrorKind>> = OnceValues::new(|| {
///     match std::fs::read_to_string("/definitely/not/here.toml") {
///         Ok(text) => (text, None),
///         Err(e) => (String::new(), Some(e.kind())),
///     }
/// });
/// let (text, err) = CONFIG.get();
/// assert!(text.is_empty());
/// assert_eq!(*err, Some(std::io::ErrorKind::NotFound));
/// ```
pub struct OnceValues<T1, T2, F = fn() -> (T1, T2)> {
    /// The pair.
    inner: OnceValue<(T1, T2), F>,
}

impl<T1, T2, F> fmt::Debug for OnceValues<T1, T2, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceValues")
            .field("done", &self.inner.once.is_done())
            .finish_non_exhaustive()
    }
}

impl<T1, T2, F: FnOnce() -> (T1, T2)> OnceValues<T1, T2, F> {
    /// Values that `f` will compute on first use.
    ///
    /// # Example
    /// ```
    /// let v = go::sync::OnceValues::new(|| (1, "one"));
    /// assert_eq!(v.get(), (&1, &"one"));
    /// ```
    pub const fn new(f: F) -> Self {
        OnceValues { inner: OnceValue::new(f) }
    }

    /// The values, computing them on the first call.
    ///
    /// # Panics
    /// If the function panicked, on this and every later call, with the
    /// same message.
    ///
    /// # Example
    /// ```
    /// let v = go::sync::OnceValues::new(|| (vec![1, 2], 3));
    /// let (list, n) = v.get();
    /// assert_eq!((list.len(), *n), (2, 3));
    /// ```
    pub fn get(&self) -> (&T1, &T2) {
        let (a, b) = self.inner.get();
        (a, b)
    }
}
