//! Go's `context` package: cancellation, deadlines and request-scoped values
//! that flow down a tree of contexts.
//!
//! # Design
//! A [`Context`] is a cheap clonable handle to a node: the background root,
//! a value node, or a cancelable node (made by `with_cancel`,
//! `with_timeout`, `with_deadline`). A cancelable node owns a `done`
//! channel, closed when it is cancelled, and registers with its nearest
//! cancelable ancestor. Cancelling a node (under its lock) records the
//! error, closes `done`, takes its children, and after unlocking cancels
//! each of them with the same error, then unregisters itself from its
//! parent: cancellation reaches descendants only, synchronously (every
//! descendant is cancelled when `cancel()` returns), and idempotently
//! (docs/go-semantics.md, 64). A child made from an already cancelled parent is
//! cancelled at once.
//!
//! `with_cancel_cause`, `cause`, `after_func` and `without_cancel` follow
//! Go 1.21 (docs/go-semantics.md, 66): a cause travels with the cancellation to the
//! descendants; `after_func` is a hidden cancelable child whose cancellation
//! starts the callback in a new goroutine; `without_cancel` stops the walk
//! up to the nearest cancelable ancestor.
//!
//! Locks are taken parent before child only in `register`, and a node's
//! lock is never held while another node's is taken during cancellation, so
//! no lock order can deadlock.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::chan::{Chan, Receiver};
use crate::spawn::spawn;
use crate::time::call_at;

/// Why a context is done (Go's `context.Canceled`,
/// `context.DeadlineExceeded`).
///
/// # Example
/// ```
/// use go::context::{self, Error};
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// cancel();
/// assert_eq!(ctx.err(), Some(Error::Canceled));
/// assert_eq!(Error::Canceled.to_string(), "context canceled");
/// assert_eq!(Error::DeadlineExceeded.to_string(), "context deadline exceeded");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The context was cancelled.
    Canceled,
    /// The context's deadline passed.
    DeadlineExceeded,
}

impl Error {
    /// Whether this is a timeout (Go's `Timeout()`; true for
    /// `DeadlineExceeded`, docs/go-semantics.md, 62).
    ///
    /// # Example
    /// ```
    /// assert!(go::context::Error::DeadlineExceeded.is_timeout());
    /// ```
    pub fn is_timeout(self) -> bool {
        self == Error::DeadlineExceeded
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Canceled => "context canceled",
            Error::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for Error {}

/// Why a context was cancelled, as given to a cause-taking cancel function
/// (Go's `context.Cause`).
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of node a context is.
enum Kind {
    /// `background()` or `todo()`.
    Root(&'static str),
    /// `without_cancel`: keeps the parent's values, cuts its cancellation.
    Detached,
    /// `with_value`.
    Value { key: Box<dyn Any + Send + Sync>, value: Box<dyn Any + Send + Sync> },
    /// `with_cancel`, `with_timeout`, `with_deadline`.
    Cancel(Cancel),
}

/// A cancelable node's own state.
struct Cancel {
    /// Unique id, the key in the parent's children.
    id: u64,
    /// Closed when cancelled.
    done: Chan<()>,
    /// This node's own deadline, if any.
    deadline: Option<Instant>,
    /// Made by `with_timeout` / `with_deadline` (for `Display`).
    timer: bool,
    /// Error and children, under one lock.
    state: parking_lot::Mutex<CancelState>,
}

/// The mutable part of a cancelable node.
#[derive(Default)]
struct CancelState {
    /// Set once, when cancelled.
    err: Option<Error>,
    /// The cause given to a cause-taking cancel, inherited by descendants.
    cause: Option<Cause>,
    /// Cancelable descendants registered with this node: weakly, so a
    /// child dropped without being cancelled is freed (Go would keep it
    /// until this node is cancelled), except `after_func` watchers, held
    /// strongly because their callback must run even if nobody keeps the
    /// stop function.
    children: HashMap<u64, Child>,
    /// An `after_func` callback, run in a new goroutine when cancelled.
    on_cancel: Option<Box<dyn FnOnce() + Send>>,
}

/// A registered descendant.
enum Child {
    /// A context: freed when its last handle goes.
    Weak(Weak<Node>),
    /// An `after_func` watcher: kept until it fires or is stopped.
    Strong(Arc<Node>),
}

impl Child {
    fn upgrade(self) -> Option<Arc<Node>> {
        match self {
            Child::Weak(w) => w.upgrade(),
            Child::Strong(a) => Some(a),
        }
    }
}

/// One context node.
struct Node {
    /// The parent (none for a root).
    parent: Option<Context>,
    /// What it is.
    kind: Kind,
}

/// A context (Go's `context.Context`): carries a done signal, an error, a
/// deadline and values down a tree of goroutines. Clones share the node.
///
/// # Example
/// ```
/// use go::chan::Select;
/// use go::context;
/// use go::time;
///
/// fn worker(ctx: context::Context) -> &'static str {
///     let done = ctx.done();
///     let work = time::after(time::SECOND);
///     Select::new().recv(&done, |_| "stopped").recv(&work, |_| "finished").wait()
/// }
///
/// let (ctx, cancel) = context::with_timeout(&context::background(), 10 * time::MILLISECOND);
/// let h = go::spawn(move || worker(ctx));
/// assert_eq!(h.join().unwrap(), "stopped");
/// cancel();
/// ```
#[derive(Clone)]
pub struct Context {
    /// The node.
    node: Arc<Node>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The root context: never cancelled, no deadline, no values (Go's
/// `context.Background()`); its `done` channel is nil (docs/go-semantics.md, 63).
///
/// # Example
/// ```
/// let ctx = go::context::background();
/// assert_eq!(ctx.err(), None);
/// assert_eq!(ctx.to_string(), "context.Background");
/// ```
pub fn background() -> Context {
    Context { node: Arc::new(Node { parent: None, kind: Kind::Root("context.Background") }) }
}

/// Like [`background`], for code that has not decided on a context yet (Go's
/// `context.TODO()`).
///
/// # Example
/// ```
/// assert_eq!(go::context::todo().to_string(), "context.TODO");
/// ```
pub fn todo() -> Context {
    Context { node: Arc::new(Node { parent: None, kind: Kind::Root("context.TODO") }) }
}

/// A child of `parent` that is cancelled when the returned function is
/// called or when `parent` is (Go's `context.WithCancel`). Calling the
/// function again does nothing.
///
/// # Example
/// ```
/// use go::context;
/// let (parent, cancel_parent) = context::with_cancel(&context::background());
/// let (child, _cancel_child) = context::with_cancel(&parent);
/// cancel_parent();
/// assert_eq!(child.err(), Some(context::Error::Canceled)); // at once
/// ```
#[must_use = "the cancel function releases the context's resources: call it when the work is done (go vet: lostcancel)"]
pub fn with_cancel(parent: &Context) -> (Context, impl Fn() + Clone + Send + Sync + 'static) {
    new_cancel(parent, None, None)
}

/// A child of `parent` cancelled at `deadline` at the latest (Go's
/// `context.WithDeadline`); its effective deadline is the earlier of its own
/// and its parent's, and a deadline in the past makes it done at once
/// (docs/go-semantics.md, 65).
///
/// # Example
/// ```
/// use go::context;
/// let past = std::time::Instant::now();
/// let (ctx, _cancel) = context::with_deadline(&context::background(), past);
/// assert_eq!(ctx.err(), Some(context::Error::DeadlineExceeded));
/// ```
#[must_use = "the cancel function releases the context's resources: call it when the work is done (go vet: lostcancel)"]
pub fn with_deadline(
    parent: &Context,
    deadline: Instant,
) -> (Context, impl Fn() + Clone + Send + Sync + 'static) {
    new_cancel(parent, Some(earliest(parent, deadline)), None)
}

/// A child of `parent` cancelled after `timeout` at the latest (Go's
/// `context.WithTimeout`).
///
/// # Example
/// ```
/// use go::context;
/// let (ctx, cancel) = context::with_timeout(&context::background(), go::time::MILLISECOND);
/// ctx.done().recv(); // closed when the deadline passes
/// assert!(ctx.err().unwrap().is_timeout());
/// cancel();
/// ```
#[must_use = "the cancel function releases the context's resources: call it when the work is done (go vet: lostcancel)"]
pub fn with_timeout(
    parent: &Context,
    timeout: Duration,
) -> (Context, impl Fn() + Clone + Send + Sync + 'static) {
    with_deadline(parent, deadline_after(timeout))
}

/// Like [`with_deadline`], and when the deadline cancels the context,
/// [`cause`] reports `cause` (Go's `context.WithDeadlineCause`); the
/// returned cancel function sets no cause.
///
/// # Example
/// ```
/// use go::context;
/// use std::sync::Arc;
///
/// let past = std::time::Instant::now();
/// let why = Arc::new(std::io::Error::other("backend too slow"));
/// let (ctx, _cancel) = context::with_deadline_cause(&context::background(), past, why);
/// assert_eq!(ctx.err(), Some(context::Error::DeadlineExceeded));
/// assert_eq!(context::cause(&ctx).unwrap().to_string(), "backend too slow");
/// ```
#[must_use = "the cancel function releases the context's resources: call it when the work is done (go vet: lostcancel)"]
pub fn with_deadline_cause(
    parent: &Context,
    deadline: Instant,
    cause: Cause,
) -> (Context, impl Fn() + Clone + Send + Sync + 'static) {
    // As in Go, a parent's earlier deadline makes this a plain child: the
    // parent's deadline cancels it, with the parent's cause.
    let own = parent.deadline().is_none_or(|p| deadline <= p);
    new_cancel(parent, Some(earliest(parent, deadline)), own.then_some(cause))
}

/// Like [`with_timeout`], and when the timeout cancels the context,
/// [`cause`] reports `cause` (Go's `context.WithTimeoutCause`).
///
/// # Example
/// ```
/// use go::context;
/// use std::sync::Arc;
///
/// let why = Arc::new(std::io::Error::other("lookup took too long"));
/// let (ctx, cancel) =
///     context::with_timeout_cause(&context::background(), go::time::MILLISECOND, why);
/// ctx.done().recv();
/// assert!(ctx.err().unwrap().is_timeout());
/// assert_eq!(context::cause(&ctx).unwrap().to_string(), "lookup took too long");
/// cancel();
/// ```
#[must_use = "the cancel function releases the context's resources: call it when the work is done (go vet: lostcancel)"]
pub fn with_timeout_cause(
    parent: &Context,
    timeout: Duration,
    cause: Cause,
) -> (Context, impl Fn() + Clone + Send + Sync + 'static) {
    with_deadline_cause(parent, deadline_after(timeout), cause)
}

/// `deadline`, or the parent's if that is earlier.
fn earliest(parent: &Context, deadline: Instant) -> Instant {
    match parent.deadline() {
        Some(p) if p < deadline => p,
        _ => deadline,
    }
}

/// `timeout` from now (a century if that overflows).
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or(now + Duration::from_secs(100 * 365 * 86_400))
}

/// A child of `parent` that carries `value` under `key` (Go's
/// `context.WithValue`); lookups walk up the tree.
///
/// # Example
/// ```
/// use go::context;
/// #[derive(PartialEq)]
/// struct RequestId;
/// let ctx = context::with_value(&context::background(), RequestId, 42u64);
/// assert_eq!(ctx.value::<_, u64>(&RequestId), Some(&42));
/// ```
pub fn with_value<K, V>(parent: &Context, key: K, value: V) -> Context
where
    K: PartialEq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    Context {
        node: Arc::new(Node {
            parent: Some(parent.clone()),
            kind: Kind::Value { key: Box::new(key), value: Box::new(value) },
        }),
    }
}

/// A cancelable child; `deadline_cause` is the cause recorded when the
/// deadline (not the cancel function) cancels it.
fn new_cancel(
    parent: &Context,
    deadline: Option<Instant>,
    deadline_cause: Option<Cause>,
) -> (Context, impl Fn() + Clone + Send + Sync + 'static) {
    new_node(parent, deadline, deadline_cause, false)
}

fn new_node(
    parent: &Context,
    deadline: Option<Instant>,
    deadline_cause: Option<Cause>,
    strong: bool,
) -> (Context, impl Fn() + Clone + Send + Sync + 'static) {
    let node = Arc::new(Node {
        parent: Some(parent.clone()),
        kind: Kind::Cancel(Cancel {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            done: Chan::new(0),
            deadline,
            timer: deadline.is_some(),
            state: parking_lot::Mutex::new(CancelState::default()),
        }),
    });
    let ctx = Context { node };
    ctx.register(strong);
    if let Some(t) = deadline {
        if t <= Instant::now() {
            ctx.cancel(Error::DeadlineExceeded, deadline_cause);
        } else {
            let weak = Arc::downgrade(&ctx.node);
            call_at(Some(t), move || {
                if let Some(node) = weak.upgrade() {
                    Context { node }.cancel(Error::DeadlineExceeded, deadline_cause);
                }
            });
        }
    }
    let handle = ctx.clone();
    (ctx, move || handle.cancel(Error::Canceled, None))
}

/// Like [`with_cancel`], but the cancel function takes a cause that
/// [`cause`] reports; `err()` is still `Canceled` (docs/go-semantics.md, 66).
///
/// # Example
/// ```
/// use go::context;
/// use std::sync::Arc;
///
/// let (ctx, cancel) = context::with_cancel_cause(&context::background());
/// cancel(Some(Arc::new(std::io::Error::other("upstream closed"))));
/// assert_eq!(ctx.err(), Some(context::Error::Canceled));
/// assert_eq!(context::cause(&ctx).unwrap().to_string(), "upstream closed");
/// ```
#[must_use = "the cancel function releases the context's resources: call it when the work is done (go vet: lostcancel)"]
pub fn with_cancel_cause(
    parent: &Context,
) -> (Context, impl Fn(Option<Cause>) + Clone + Send + Sync + 'static) {
    let (ctx, _) = new_cancel(parent, None, None);
    let handle = ctx.clone();
    (ctx, move |cause: Option<Cause>| handle.cancel(Error::Canceled, cause))
}

/// Why `ctx` was cancelled: the cause given to a cause-taking cancel of it
/// or an ancestor, else its `err()` as an error; `None` while it is live
/// (Go's `context.Cause`).
///
/// # Example
/// ```
/// use go::context;
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// assert!(context::cause(&ctx).is_none());
/// cancel();
/// assert_eq!(context::cause(&ctx).unwrap().to_string(), "context canceled");
/// ```
pub fn cause(ctx: &Context) -> Option<Cause> {
    let (_, c) = ctx.cancelable()?;
    let st = c.state.lock();
    let err = st.err?;
    Some(st.cause.clone().unwrap_or_else(|| Arc::new(err)))
}

/// Arranges for `f` to run in its own goroutine once `ctx` is done (at once
/// if it already is). The returned function stops that: it returns true if
/// it stopped `f` from being started (Go's `context.AfterFunc`).
///
/// # Example
/// ```
/// use go::context;
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// let ran = go::chan::Chan::new(1);
/// let tx = ran.clone();
/// let _stop = context::after_func(&ctx, move || tx.send("cleanup"));
/// cancel();
/// assert_eq!(ran.recv(), Some("cleanup"));
/// ```
pub fn after_func(
    ctx: &Context,
    f: impl FnOnce() + Send + 'static,
) -> impl Fn() -> bool + Clone + Send + Sync + 'static {
    let (watch, _) = new_node(ctx, None, None, true);
    let Kind::Cancel(c) = &watch.node.kind else { unreachable!("new_node makes a cancel node") };
    let mut st = c.state.lock();
    if st.err.is_some() {
        // Already done: `cancel` ran before there was a callback to start.
        drop(st);
        spawn(f);
    } else {
        st.on_cancel = Some(Box::new(f));
        drop(st);
    }
    move || {
        let Kind::Cancel(c) = &watch.node.kind else { return false };
        let stopped = c.state.lock().on_cancel.take().is_some();
        if stopped {
            watch.cancel(Error::Canceled, None);
        }
        stopped
    }
}

/// A child that keeps `parent`'s values but is never cancelled with it and
/// has no deadline (Go's `context.WithoutCancel`).
///
/// # Example
/// ```
/// use go::context;
/// let (parent, cancel) = context::with_cancel(&context::background());
/// let bg = context::without_cancel(&context::with_value(&parent, "k", 1));
/// cancel();
/// assert_eq!(bg.err(), None);
/// assert_eq!(bg.value::<_, i32>(&"k"), Some(&1));
/// ```
pub fn without_cancel(parent: &Context) -> Context {
    Context { node: Arc::new(Node { parent: Some(parent.clone()), kind: Kind::Detached }) }
}

impl Context {
    /// The nearest cancelable node at or above this one (none past a
    /// `without_cancel`).
    fn cancelable(&self) -> Option<(&Context, &Cancel)> {
        let mut c = self;
        loop {
            match &c.node.kind {
                Kind::Cancel(cancel) => return Some((c, cancel)),
                Kind::Detached => return None,
                _ => c = c.node.parent.as_ref()?,
            }
        }
    }

    /// Registers this new cancelable node with its nearest cancelable
    /// ancestor (strongly for an `after_func` watcher), or cancels it at
    /// once if that ancestor is done.
    fn register(&self, strong: bool) {
        let Kind::Cancel(me) = &self.node.kind else { return };
        let Some((_, ancestor)) = self.node.parent.as_ref().and_then(Context::cancelable) else {
            return;
        };
        let done = {
            let mut st = ancestor.state.lock();
            match st.err {
                Some(e) => Some((e, st.cause.clone())),
                None => {
                    let child = if strong {
                        Child::Strong(self.node.clone())
                    } else {
                        Child::Weak(Arc::downgrade(&self.node))
                    };
                    st.children.insert(me.id, child);
                    None
                }
            }
        };
        if let Some((e, cause)) = done {
            self.cancel(e, cause);
        }
    }

    /// Cancels this node and its descendants with `err` and `cause` (once).
    fn cancel(&self, err: Error, cause: Option<Cause>) {
        let Kind::Cancel(me) = &self.node.kind else { return };
        let (children, on_cancel) = {
            let mut st = me.state.lock();
            if st.err.is_some() {
                return;
            }
            st.err = Some(err);
            st.cause = cause.clone();
            (std::mem::take(&mut st.children), st.on_cancel.take())
        };
        me.done.close();
        if let Some(f) = on_cancel {
            spawn(f);
        }
        for child in children.into_values().filter_map(Child::upgrade) {
            Context { node: child }.cancel(err, cause.clone());
        }
        // Unregister from the ancestor, so it does not keep a dead child.
        if let Some((_, ancestor)) = self.node.parent.as_ref().and_then(Context::cancelable) {
            ancestor.state.lock().children.remove(&me.id);
        }
    }

    /// A channel that is closed when the context is cancelled, usable in a
    /// [`Select`](crate::chan::Select) (Go's `ctx.Done()`); the nil channel
    /// (never ready) for a context that can never be cancelled.
    ///
    /// # Example
    /// ```
    /// use go::context;
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// cancel();
    /// assert_eq!(ctx.done().recv(), None); // closed
    /// assert!(context::background().done().try_recv().is_err()); // nil
    /// ```
    pub fn done(&self) -> Receiver<()> {
        match self.cancelable() {
            Some((_, c)) => c.done.receiver(),
            None => Chan::nil().receiver(),
        }
    }

    /// `None` while the context is live; then why it is done (Go's
    /// `ctx.Err()`, docs/go-semantics.md, 62).
    ///
    /// # Example
    /// ```
    /// assert_eq!(go::context::background().err(), None);
    /// ```
    pub fn err(&self) -> Option<Error> {
        self.cancelable().and_then(|(_, c)| c.state.lock().err)
    }

    /// The time at which the context will be cancelled, if any (Go's
    /// `ctx.Deadline()`).
    ///
    /// # Example
    /// ```
    /// use go::context;
    /// let (ctx, _c) = context::with_timeout(&context::background(), go::time::SECOND);
    /// assert!(ctx.deadline().is_some());
    /// assert!(context::background().deadline().is_none());
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        let mut c = Some(self);
        while let Some(ctx) = c {
            match &ctx.node.kind {
                Kind::Cancel(cancel) if cancel.deadline.is_some() => return cancel.deadline,
                Kind::Detached => return None,
                _ => c = ctx.node.parent.as_ref(),
            }
        }
        None
    }

    /// The value stored under `key` by the nearest [`with_value`] above, if
    /// its type is `V` (Go's `ctx.Value(key)`).
    ///
    /// # Example
    /// ```
    /// use go::context;
    /// let ctx = context::with_value(&context::background(), "user", "gopher");
    /// let (child, _cancel) = context::with_cancel(&ctx);
    /// assert_eq!(child.value::<_, &str>(&"user"), Some(&"gopher"));
    /// assert_eq!(child.value::<_, &str>(&"missing"), None);
    /// ```
    pub fn value<K, V>(&self, key: &K) -> Option<&V>
    where
        K: PartialEq + 'static,
        V: 'static,
    {
        let mut c = Some(self);
        while let Some(ctx) = c {
            if let Kind::Value { key: k, value } = &ctx.node.kind
                && k.downcast_ref::<K>() == Some(key)
            {
                return value.downcast_ref::<V>();
            }
            c = ctx.node.parent.as_ref();
        }
        None
    }
}

impl fmt::Display for Context {
    /// Go's `String()`: `context.Background`, `context.Background.WithCancel`,
    /// `context.Background.WithDeadline(...)`, `context.Background.WithValue(...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.node.parent {
            write!(f, "{p}")?;
        }
        match &self.node.kind {
            Kind::Root(name) => f.write_str(name),
            Kind::Value { .. } => f.write_str(".WithValue"),
            Kind::Detached => f.write_str(".WithoutCancel"),
            Kind::Cancel(c) if c.timer => {
                write!(f, ".WithDeadline({:?})", c.deadline.expect("timer"))
            }
            Kind::Cancel(_) => f.write_str(".WithCancel"),
        }
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Context({self}, err: {:?})", self.err())
    }
}
