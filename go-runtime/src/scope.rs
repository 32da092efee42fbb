//! Scoped goroutines: [`scope`] starts goroutines that may borrow from the
//! caller's stack, and returns only when all of them have finished
//! (`std::thread::scope` for goroutines; the `waitgroup!` macro builds on it).
//!
//! # Why it is sound
//! A scoped goroutine's closure borrows data that lives only as long as the
//! call to [`scope`]. The closure is handed to the runtime with its lifetime
//! erased, so the proof is that nothing touches it after `scope` returns:
//! 1. `Scope::go` counts the goroutine (`WaitGroup::add`) before spawning it.
//! 2. The goroutine calls the closure, which is consumed and dropped by the
//!    call, unwinding included; only then does it record a panic (through
//!    the scope, still alive: the count is not zero yet) and call `done` on
//!    its own clone of the group (an `Arc`, so `done` touches nothing the
//!    scope frees).
//! 3. `scope` waits for the count to reach zero on every path, also when its
//!    own body panics (it catches the panic first), and no value can be
//!    leaked to skip the wait: the wait is in `scope`'s own frame, not in a
//!    guard's `Drop`.

use std::any::Any;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, Location, catch_unwind, resume_unwind};
use std::sync::Mutex;

use crate::spawn::{Builder, PanicPolicy};
use crate::sync::WaitGroup;

/// Goroutines started in a [`scope`] may borrow from outside it; see there.
///
/// # Example
/// ```
/// let mut parts = [1, 2, 3, 4];
/// go::scope(|s| {
///     for p in parts.iter_mut() {
///         s.go(move || *p *= 10);
///     }
/// });
/// assert_eq!(parts, [10, 20, 30, 40]);
/// ```
pub struct Scope<'scope, 'env: 'scope> {
    /// Counts the goroutines still running.
    wg: WaitGroup,
    /// The first panic of a goroutine (or of the body), re-raised at the end.
    panic: Mutex<Option<Box<dyn Any + Send + 'static>>>,
    /// Invariance over `'scope`, as in `std::thread::Scope`.
    scope: PhantomData<&'scope mut &'scope ()>,
    /// Invariance over `'env`.
    env: PhantomData<&'env mut &'env ()>,
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

/// Runs `f`, which may start goroutines borrowing local data through
/// [`Scope::go`], and returns once `f` and every goroutine it started have
/// finished: Go's `WaitGroup` pattern with the wait built in.
///
/// If `f` or any of the goroutines panics, the first panic is re-raised here
/// after all of them have finished (a scoped goroutine's panic does not crash
/// the process, unlike a detached goroutine's).
///
/// # Example
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// let data: Vec<u64> = (1..=100).collect();
/// let total = AtomicU64::new(0);
/// go::scope(|s| {
///     for chunk in data.chunks(10) {
///         let total = &total;
///         s.go(move || {
///             total.fetch_add(chunk.iter().sum(), Ordering::Relaxed);
///         });
///     }
/// });
/// assert_eq!(total.into_inner(), 5050);
/// ```
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        wg: WaitGroup::new(),
        panic: Mutex::new(None),
        scope: PhantomData,
        env: PhantomData,
    };
    let result = catch_unwind(AssertUnwindSafe(|| f(&scope)));
    let result = result.map_err(|p| store_first(&scope.panic, p));
    // Step 3 of the soundness argument: wait on every path.
    scope.wg.wait();
    if let Some(p) = scope.panic.lock().unwrap_or_else(|e| e.into_inner()).take() {
        resume_unwind(p);
    }
    result.unwrap_or_else(|()| unreachable!("a panic of the body was recorded"))
}

/// Keeps `p` if it is the first panic recorded in `slot`.
fn store_first(slot: &Mutex<Option<Box<dyn Any + Send>>>, p: Box<dyn Any + Send>) {
    let mut first = slot.lock().unwrap_or_else(|e| e.into_inner());
    if first.is_none() {
        *first = Some(p);
    }
}

impl<'scope> Scope<'scope, '_> {
    /// Starts `f` in a new goroutine that may borrow anything that outlives
    /// the scope; the scope waits for it.
    ///
    /// # Panics
    /// If the runtime cannot allocate the goroutine's stack (see
    /// [`Builder::spawn`](crate::Builder::spawn)).
    ///
    /// # Example
    /// ```
    /// let names = vec!["Chirag".to_string(), "Rahul".to_string()];
    /// let greetings = go::sync::Mutex::new(Vec::new());
    /// go::scope(|s| {
    ///     for name in &names {
    ///         let greetings = &greetings;
    ///         s.go(move || greetings.lock().push(format!("Hello {name}")));
    ///     }
    /// });
    /// assert_eq!(greetings.into_inner().len(), 2);
    /// ```
    #[track_caller]
    pub fn go<F>(&'scope self, f: F)
    where
        F: FnOnce() + Send + 'scope,
    {
        let wg = self.wg.clone();
        let panic = &self.panic;
        let body = move || {
            // Step 2: the closure is consumed (and dropped) by this call.
            if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
                store_first(panic, p);
            }
            wg.done();
        };
        let body: Box<dyn FnOnce() + Send + 'scope> = Box::new(body);
        // Only the lifetime changes. The closure borrows data living at least
        // as long as `'scope`, and `scope` does not return (so no such data
        // is freed) before the closure has run and been dropped: it counted
        // it (the `add` below happens before the spawn) and waits for
        // `done`, which the closure calls last, after `f` and its captures
        // are gone; `panic` is written before that `done`.
        // SAFETY: by the argument above and the module docs' steps 1-3.
        let body: Box<dyn FnOnce() + Send + 'static> = unsafe {
            std::mem::transmute::<
                Box<dyn FnOnce() + Send + 'scope>,
                Box<dyn FnOnce() + Send + 'static>,
            >(body)
        };
        // Step 1: count it before it can run.
        self.wg.add(1);
        if let Err(e) = Builder::new().spawn_at(body, Location::caller(), PanicPolicy::Join) {
            // Never started: the closure was dropped inside `spawn_at`.
            self.wg.done();
            panic!("go: cannot start a scoped goroutine: {e}");
        }
    }
}
