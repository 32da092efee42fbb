//! `errgroup`: goroutines working on subtasks of one task, the first error
//! cancelling the rest (golang.org/x/sync/errgroup), as `go::sync::errgroup`.
//!
//! A `Group` is a `WaitGroup`, the first error (under a lock: the first
//! goroutine to fail records its error and cancels the group's context,
//! later errors are dropped, as Go's `errOnce`), and an optional limit on
//! the goroutines running at once (Go's semaphore channel: a buffered
//! channel of `limit` tokens; `go` blocks on the send while it is full,
//! `try_go` gives up).

use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::chan::Chan;
use crate::context::{self, Context};
use crate::sync::WaitGroup;

/// A collection of goroutines working on subtasks of a common task (Go's
/// `errgroup.Group`). Clones share the group, so goroutines of the group may
/// start more.
///
/// Unlike Go's, the error type is the group's parameter: each goroutine
/// returns `Result<(), E>`.
///
/// # Example
/// ```
/// use go::sync::errgroup::Group;
///
/// let g = Group::new();
/// for url in ["a.example", "b.example", "bad.example"] {
///     g.go(move || if url.starts_with("bad") { Err(format!("fetch {url}")) } else { Ok(()) });
/// }
/// assert_eq!(g.wait(), Err("fetch bad.example".to_string()));
/// ```
pub struct Group<E> {
    inner: Arc<Inner<E>>,
}

struct Inner<E> {
    /// Counts the running goroutines.
    wg: WaitGroup,
    /// Whether a goroutine failed (Go's `errOnce` has fired), and the
    /// first error, until `wait` takes it.
    err: Mutex<(bool, Option<E>)>,
    /// Cancels the context of `with_context`.
    cancel: Option<Box<dyn Fn() + Send + Sync>>,
    /// The tokens of `set_limit`: `None` without a limit.
    sem: Mutex<Option<Chan<()>>>,
}

// A panic never leaves a group half-updated: `set_limit` panics before it
// changes anything, and the error slot and limit change only under their
// locks in single steps.
impl<E> std::panic::UnwindSafe for Group<E> {}
impl<E> std::panic::RefUnwindSafe for Group<E> {}

impl<E> Clone for Group<E> {
    fn clone(&self) -> Self {
        Group { inner: self.inner.clone() }
    }
}

impl<E> fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group").field("wg", &self.inner.wg).finish_non_exhaustive()
    }
}

impl<E: Send + 'static> Default for Group<E> {
    fn default() -> Self {
        Group::new()
    }
}

impl<E: Send + 'static> Group<E> {
    /// A group with no context and no limit (Go's zero `errgroup.Group`).
    ///
    /// # Example
    /// ```
    /// let g = go::sync::errgroup::Group::<std::io::Error>::new();
    /// g.go(|| Ok(()));
    /// assert!(g.wait().is_ok());
    /// ```
    pub fn new() -> Self {
        Group::with_cancel(None)
    }

    fn with_cancel(cancel: Option<Box<dyn Fn() + Send + Sync>>) -> Self {
        Group {
            inner: Arc::new(Inner {
                wg: WaitGroup::new(),
                err: Mutex::new((false, None)),
                cancel,
                sem: Mutex::new(None),
            }),
        }
    }

    /// A group and a context derived from `parent` that is cancelled the
    /// first time a goroutine of the group returns an error, or when `wait`
    /// returns, whichever comes first (Go's `errgroup.WithContext`). Go
    /// records the error as the context's cause; here the cause is
    /// `context::Error::Canceled`, and the error is `wait`'s.
    ///
    /// # Example
    /// ```
    /// use go::sync::errgroup::Group;
    ///
    /// let (g, ctx) = Group::with_context(&go::context::background());
    /// let worker_ctx = ctx.clone();
    /// g.go(move || {
    ///     worker_ctx.done().recv(); // stops when a sibling fails
    ///     Ok(())
    /// });
    /// g.go(|| Err("failed"));
    /// assert_eq!(g.wait(), Err("failed"));
    /// assert!(ctx.err().is_some());
    /// ```
    pub fn with_context(parent: &Context) -> (Self, Context) {
        let (ctx, cancel) = context::with_cancel(parent);
        (Group::with_cancel(Some(Box::new(cancel))), ctx)
    }

    /// Runs `f` in a new goroutine of the group (Go's `g.Go(f)`). With a
    /// limit, first blocks until fewer than the limit run. The first error
    /// returned by a goroutine of the group cancels the group's context and
    /// is what `wait` returns. A panic in `f` crashes the program, as in Go.
    ///
    /// # Example
    /// ```
    /// let g = go::sync::errgroup::Group::<String>::new();
    /// let total = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    /// for i in 1..=4 {
    ///     let total = total.clone();
    ///     g.go(move || {
    ///         total.fetch_add(i, std::sync::atomic::Ordering::Relaxed);
    ///         Ok(())
    ///     });
    /// }
    /// g.wait().unwrap();
    /// assert_eq!(total.load(std::sync::atomic::Ordering::Relaxed), 10);
    /// ```
    #[track_caller]
    pub fn go(&self, f: impl FnOnce() -> Result<(), E> + Send + 'static) {
        let sem = self.inner.sem.lock().clone();
        if let Some(sem) = &sem {
            sem.send(());
        }
        self.start(sem, f);
    }

    /// Runs `f` in a new goroutine of the group only if that keeps the
    /// group within its limit; returns whether it did (Go's `g.TryGo`).
    ///
    /// # Example
    /// ```
    /// let g = go::sync::errgroup::Group::<()>::new();
    /// g.set_limit(1);
    /// let hold = go::chan::Chan::<()>::new(0);
    /// let h = hold.clone();
    /// assert!(g.try_go(move || { h.recv(); Ok(()) }));
    /// assert!(!g.try_go(|| Ok(()))); // the one slot is taken
    /// hold.send(());
    /// g.wait().unwrap();
    /// ```
    #[track_caller]
    pub fn try_go(&self, f: impl FnOnce() -> Result<(), E> + Send + 'static) -> bool {
        let sem = self.inner.sem.lock().clone();
        if let Some(sem) = &sem
            && sem.try_send(()).is_err()
        {
            return false;
        }
        self.start(sem, f);
        true
    }

    #[track_caller]
    fn start(&self, sem: Option<Chan<()>>, f: impl FnOnce() -> Result<(), E> + Send + 'static) {
        self.inner.wg.add(1);
        let inner = self.inner.clone();
        // Dropping the handle detaches it: a panic crashes the program.
        drop(crate::spawn::spawn(move || {
            if let Err(e) = f() {
                let mut first = inner.err.lock();
                if !first.0 {
                    *first = (true, Some(e));
                    drop(first);
                    if let Some(cancel) = &inner.cancel {
                        cancel();
                    }
                }
            }
            if let Some(sem) = sem {
                sem.recv();
            }
            inner.wg.done();
        }));
    }

    /// Limits the group to `n` goroutines running at once; a negative `n`
    /// removes the limit (Go's `g.SetLimit`).
    ///
    /// # Panics
    /// `errgroup: modify limit while N goroutines in the group are still
    /// active`, as Go's, if goroutines started under a limit still run.
    ///
    /// # Example
    /// ```
    /// let g = go::sync::errgroup::Group::<()>::new();
    /// g.set_limit(2);
    /// for _ in 0..10 {
    ///     g.go(|| Ok(())); // at most two at a time
    /// }
    /// g.wait().unwrap();
    /// ```
    pub fn set_limit(&self, n: isize) {
        let mut sem = self.inner.sem.lock();
        if let Some(old) = sem.as_ref()
            && !old.is_empty()
        {
            panic!(
                "errgroup: modify limit while {} goroutines in the group are still active",
                old.len()
            );
        }
        *sem = usize::try_from(n).ok().map(Chan::new);
    }

    /// Waits for every goroutine of the group, cancels its context, and
    /// returns the first error (Go's `g.Wait`). As in Go, only the group's
    /// first error ever counts; unlike Go, it is handed over once (errors
    /// need not be `Clone`): a later `wait` returns `Ok(())`.
    ///
    /// # Example
    /// ```
    /// let g = go::sync::errgroup::Group::new();
    /// g.go(|| Err(1));
    /// g.go(|| Err(2));
    /// let first = g.wait().unwrap_err();
    /// assert!(first == 1 || first == 2);
    /// ```
    pub fn wait(&self) -> Result<(), E> {
        self.inner.wg.wait();
        if let Some(cancel) = &self.inner.cancel {
            cancel();
        }
        match self.inner.err.lock().1.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
