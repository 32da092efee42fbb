//! Go's channels: `chan T`, `chan<- T`, `<-chan T`, and `select`.
//!
//! Design note: `README.md` beside this file (the waiter protocol, the
//! select register/abort race, why no value is lost or delivered twice).
//!
//! A blocked send or receive parks the goroutine (or, off the runtime, the
//! calling thread), never a worker thread, and parked senders and receivers
//! are served first-in first-out. The panics carry Go's texts: `send on
//! closed channel`, `close of closed channel`, `close of nil channel`.
//!
//! ```
//! use go::chan::Chan;
//!
//! let ch = Chan::new(0); // make(chan int)
//! let tx = ch.clone();
//! go::spawn(move || {
//!     for i in 0..3 {
//!         tx.send(i); // ch <- i
//!     }
//!     tx.close();
//! });
//! let got: Vec<i32> = ch.iter().collect(); // for v := range ch
//! assert_eq!(got, [0, 1, 2]);
//! ```

mod error;
mod future;
mod raw;
mod select;
mod waiter;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::scheduler::Deadline;

pub use self::error::{RecvTimeoutError, SendTimeoutError, TryRecvError};
use self::future::AsyncRecv;
pub use self::future::{RecvFuture, SendFuture};
use self::raw::RawChan;
#[doc(hidden)]
pub use self::select::{CaseRef, RecvCase, SendCase, recv_case, select_cases, send_case};
pub use self::select::{Select, select_forever};
use self::waiter::Outcome;
use crate::coroutine::WaitReason;
use crate::scheduler;

/// A channel (Go's `chan T`): a cheap clonable handle; clones are the same
/// channel.
///
/// `Chan::new(0)` is a rendezvous channel (a send waits for a receiver),
/// `Chan::new(n)` a FIFO buffer of `n` values, `Chan::nil()` Go's nil
/// channel (every operation blocks forever). Dropping the handles does not
/// close the channel, as in Go.
///
/// # Example
/// ```
/// use go::chan::Chan;
///
/// let jobs = Chan::new(100);
/// let results = Chan::new(100);
/// for _ in 0..3 {
///     let (jobs, results) = (jobs.receiver(), results.sender());
///     go::spawn(move || {
///         for j in &jobs {
///             results.send(j * 2);
///         }
///     });
/// }
/// for j in 1..=5 {
///     jobs.send(j);
/// }
/// jobs.close();
/// let mut sum = 0;
/// for _ in 1..=5 {
///     sum += results.recv().unwrap();
/// }
/// assert_eq!(sum, 30);
/// ```
pub struct Chan<T> {
    /// `None` is the nil channel.
    raw: Option<Arc<RawChan<T>>>,
}

/// A channel handle that does not keep the channel alive
/// ([`Chan::downgrade`]).
pub(crate) struct WeakChan<T> {
    /// `None` for the nil channel.
    raw: Option<std::sync::Weak<RawChan<T>>>,
}

impl<T> WeakChan<T> {
    /// The channel, if some handle still holds it.
    pub(crate) fn upgrade(&self) -> Option<Chan<T>> {
        Some(Chan { raw: Some(self.raw.as_ref()?.upgrade()?) })
    }

    /// Whether some handle still holds the channel.
    pub(crate) fn is_held(&self) -> bool {
        self.raw.as_ref().is_some_and(|w| w.strong_count() > 0)
    }
}

/// The send-only view of a channel (Go's `chan<- T`).
///
/// Made from a [`Chan`] with [`Chan::sender`]; there is no way back to a
/// `Chan` or a [`Receiver`], so a function that takes a `Sender` cannot
/// receive, as in Go.
///
/// # Example
/// ```
/// use go::chan::{Chan, Sender};
///
/// fn produce(out: Sender<u32>) {
///     out.send(7);
///     out.close();
/// }
/// let ch = Chan::new(1);
/// produce(ch.sender());
/// assert_eq!(ch.recv(), Some(7));
/// assert_eq!(ch.recv(), None);
/// ```
///
/// Receiving from a send-only channel, or turning it back, does not compile
/// (Go: `invalid operation: cannot receive from send-only channel`):
/// ```compile_fail
/// let tx = go::chan::Chan::<u8>::new(1).sender();
/// tx.recv();
/// ```
/// ```compile_fail
/// let tx = go::chan::Chan::<u8>::new(1).sender();
/// let ch: go::chan::Chan<u8> = tx.into();
/// ```
pub struct Sender<T> {
    /// The channel.
    chan: Chan<T>,
}

/// The receive-only view of a channel (Go's `<-chan T`).
///
/// Made from a [`Chan`] with [`Chan::receiver`]; it cannot send or close.
///
/// # Example
/// ```
/// use go::chan::{Chan, Receiver};
///
/// fn drain(input: Receiver<u32>) -> u32 {
///     input.iter().sum()
/// }
/// let ch = Chan::new(3);
/// for i in 1..=3 {
///     ch.send(i);
/// }
/// ch.close();
/// assert_eq!(drain(ch.receiver()), 6);
/// ```
///
/// Sending on or closing a receive-only channel does not compile (Go:
/// `invalid operation: cannot send to receive-only channel`):
/// ```compile_fail
/// let rx = go::chan::Chan::<u8>::new(1).receiver();
/// rx.send(1);
/// ```
/// ```compile_fail
/// let rx = go::chan::Chan::<u8>::new(1).receiver();
/// rx.close();
/// ```
pub struct Receiver<T> {
    /// The channel.
    chan: Chan<T>,
    /// The receive its `Stream` started and has not finished.
    stream: AsyncRecv<T>,
}

// A panic never leaves a channel half-updated: the operations that panic
// (`send on closed channel`, `close of closed channel`) do so before changing
// anything or after releasing the lock, and the queues are consistent at
// every point where a value's destructor may run.
impl<T> std::panic::UnwindSafe for Chan<T> {}
impl<T> std::panic::RefUnwindSafe for Chan<T> {}
impl<T> std::panic::UnwindSafe for Sender<T> {}
impl<T> std::panic::RefUnwindSafe for Sender<T> {}
impl<T> std::panic::UnwindSafe for Receiver<T> {}
impl<T> std::panic::RefUnwindSafe for Receiver<T> {}

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan { raw: self.raw.clone() }
    }
}
impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender { chan: self.chan.clone() }
    }
}
impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver { chan: self.chan.clone(), stream: AsyncRecv::default() }
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.raw {
            Some(raw) => raw.fmt(f),
            None => f.write_str("Chan(nil)"),
        }
    }
}
impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Sender").field(&self.chan).finish()
    }
}
impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Receiver").field(&self.chan).finish()
    }
}

impl<T> PartialEq for Chan<T> {
    /// Go's channel equality: the same channel (or both nil).
    fn eq(&self, other: &Self) -> bool {
        match (&self.raw, &other.raw) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}
impl<T> Eq for Chan<T> {}

impl<T> Default for Chan<T> {
    /// The nil channel, Go's zero value for a channel.
    fn default() -> Self {
        Chan::nil()
    }
}

impl<T> From<Chan<T>> for Sender<T> {
    fn from(chan: Chan<T>) -> Self {
        Sender { chan }
    }
}
impl<T> From<Chan<T>> for Receiver<T> {
    fn from(chan: Chan<T>) -> Self {
        Receiver { chan, stream: AsyncRecv::default() }
    }
}

impl<T> Chan<T> {
    /// A channel with room for `cap` buffered values; 0 makes a rendezvous
    /// channel (Go's `make(chan T, cap)`).
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(2);
    /// ch.send("a");
    /// ch.send("b"); // does not block: the buffer has room
    /// assert_eq!((ch.len(), ch.cap()), (2, 2));
    /// ```
    pub fn new(cap: usize) -> Self {
        Chan { raw: Some(Arc::new(RawChan::new(cap))) }
    }

    /// The nil channel (Go's `var ch chan T`): sends and receives block
    /// forever, `close` panics, and in a [`Select`] its cases are never
    /// ready, which is how Go programs switch a case off.
    ///
    /// # Example
    /// ```
    /// let ch: go::chan::Chan<u8> = go::chan::Chan::nil();
    /// assert!(ch.is_nil());
    /// assert_eq!(ch.try_recv(), Err(go::chan::TryRecvError::Empty));
    /// ```
    pub fn nil() -> Self {
        Chan { raw: None }
    }

    /// Whether this is the nil channel.
    ///
    /// # Example
    /// ```
    /// assert!(!go::chan::Chan::<u8>::new(0).is_nil());
    /// ```
    pub fn is_nil(&self) -> bool {
        self.raw.is_none()
    }

    /// The send-only view (Go's conversion to `chan<- T`).
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(1);
    /// ch.sender().send(1);
    /// assert_eq!(ch.recv(), Some(1));
    /// ```
    pub fn sender(&self) -> Sender<T> {
        Sender { chan: self.clone() }
    }

    /// The receive-only view (Go's conversion to `<-chan T`).
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(1);
    /// ch.send(1);
    /// assert_eq!(ch.receiver().recv(), Some(1));
    /// ```
    pub fn receiver(&self) -> Receiver<T> {
        Receiver { chan: self.clone(), stream: AsyncRecv::default() }
    }

    /// The number of buffered values (Go's `len(ch)`; 0 for rendezvous and
    /// nil channels).
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(4);
    /// ch.send(1);
    /// assert_eq!(ch.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.raw.as_ref().map_or(0, |r| r.lock().len())
    }

    /// Whether no value is buffered.
    ///
    /// # Example
    /// ```
    /// assert!(go::chan::Chan::<u8>::new(4).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer capacity (Go's `cap(ch)`; 0 for rendezvous and nil
    /// channels).
    ///
    /// # Example
    /// ```
    /// assert_eq!(go::chan::Chan::<u8>::new(4).cap(), 4);
    /// ```
    pub fn cap(&self) -> usize {
        self.raw.as_ref().map_or(0, |r| r.cap())
    }

    /// Closes the channel (Go's `close(ch)`): buffered values can still be
    /// received, then receives return `None` at once; every blocked receiver
    /// wakes with `None`, every blocked sender panics.
    ///
    /// # Panics
    /// `close of closed channel`, `close of nil channel` (docs/go-semantics.md, 24).
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(1);
    /// ch.send(5);
    /// ch.close();
    /// assert_eq!(ch.recv(), Some(5));
    /// assert_eq!(ch.recv(), None);
    /// ```
    pub fn close(&self) {
        let Some(raw) = &self.raw else { panic!("close of nil channel") };
        let mut wake = Vec::new();
        let closed = raw.lock().close(&mut wake);
        if !closed {
            panic!("close of closed channel");
        }
        for u in wake {
            u.unpark();
        }
    }

    /// Whether this is the only handle left to the channel (nobody else can
    /// send or receive on it).
    pub(crate) fn is_unreferenced(&self) -> bool {
        self.raw.as_ref().is_some_and(|r| Arc::strong_count(r) == 1)
    }

    /// A reference that does not keep the channel alive (for a timer that
    /// must not: `time::after`).
    pub(crate) fn downgrade(&self) -> WeakChan<T> {
        WeakChan { raw: self.raw.as_ref().map(Arc::downgrade) }
    }

    /// Whether `close` was called (not part of Go; handy in tests and
    /// assertions, racy as a condition).
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::<u8>::new(0);
    /// ch.close();
    /// assert!(ch.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.raw.as_ref().is_some_and(|r| r.lock().is_closed())
    }
}

impl<T: Send> Chan<T> {
    /// Sends `v` (Go's `ch <- v`), blocking until a receiver takes it
    /// (rendezvous) or there is room in the buffer.
    ///
    /// # Panics
    /// `send on closed channel`, also when the channel is closed while the
    /// send waits.
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(0);
    /// let rx = ch.clone();
    /// let h = go::spawn(move || rx.recv());
    /// ch.send(42); // waits for the goroutine to receive
    /// assert_eq!(h.join().unwrap(), Some(42));
    /// ```
    pub fn send(&self, v: T) {
        if let Err(SendTimeoutError::Timeout(_)) = send(self.raw.as_ref(), v, None) {
            unreachable!("a send without a deadline does not time out");
        }
    }

    /// Receives a value (Go's `<-ch`), blocking until one is available;
    /// `None` once the channel is closed and drained.
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(1);
    /// ch.send('x');
    /// assert_eq!(ch.recv(), Some('x'));
    /// ch.close();
    /// assert_eq!(ch.recv(), None);
    /// ```
    pub fn recv(&self) -> Option<T> {
        match recv(self.raw.as_ref(), None) {
            Ok(v) => Some(v),
            Err(RecvTimeoutError::Closed) => None,
            Err(RecvTimeoutError::Timeout) => unreachable!("no deadline"),
        }
    }

    /// Go's `v, ok := <-ch`: the value and `true`, or the zero value and
    /// `false` once the channel is closed and drained.
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::<i32>::new(1);
    /// ch.send(3);
    /// ch.close();
    /// assert_eq!(ch.recv_ok(), (3, true));
    /// assert_eq!(ch.recv_ok(), (0, false));
    /// ```
    pub fn recv_ok(&self) -> (T, bool)
    where
        T: Default,
    {
        match self.recv() {
            Some(v) => (v, true),
            None => (T::default(), false),
        }
    }

    /// Sends without blocking: `Err(v)` gives the value back if no receiver
    /// waits and the buffer is full (Go's `select` with a `default`).
    ///
    /// # Panics
    /// `send on closed channel` (as Go's select does, default or not).
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(1);
    /// assert_eq!(ch.try_send(1), Ok(()));
    /// assert_eq!(ch.try_send(2), Err(2)); // full
    /// ```
    pub fn try_send(&self, v: T) -> Result<(), T> {
        crate::scheduler::checkpoint();
        self.try_send_in_place(v)
    }

    /// [`try_send`](Self::try_send) without the scheduling point: it never
    /// switches goroutines, for runtime code that holds a lock of its own.
    pub(crate) fn try_send_in_place(&self, v: T) -> Result<(), T> {
        let Some(raw) = &self.raw else { return Err(v) };
        raw.send_or_keep(raw.lock(), v).map_err(|(_, v)| v)
    }

    /// Receives without blocking.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if nothing is ready (always, for the nil
    /// channel); [`TryRecvError::Closed`] if the channel is closed and
    /// drained.
    ///
    /// # Example
    /// ```
    /// use go::chan::{Chan, TryRecvError};
    /// let ch = Chan::new(1);
    /// assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
    /// ch.send(1);
    /// assert_eq!(ch.try_recv(), Ok(1));
    /// ch.close();
    /// assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        crate::scheduler::checkpoint();
        self.try_recv_in_place()
    }

    /// [`try_recv`](Self::try_recv) without the scheduling point: it never
    /// switches goroutines, for runtime code that holds a lock of its own.
    pub(crate) fn try_recv_in_place(&self) -> Result<T, TryRecvError> {
        let Some(raw) = &self.raw else { return Err(TryRecvError::Empty) };
        match raw.recv_or_keep(raw.lock()) {
            Ok(v) => v.ok_or(TryRecvError::Closed),
            Err(_) => Err(TryRecvError::Empty),
        }
    }

    /// Sends, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] with the value if it could not be sent in
    /// time.
    ///
    /// # Panics
    /// `send on closed channel`.
    ///
    /// # Example
    /// ```
    /// use std::time::Duration;
    /// let ch = go::chan::Chan::new(0);
    /// let err = ch.send_timeout(1, Duration::from_millis(5)).unwrap_err();
    /// assert_eq!(err.into_inner(), 1);
    /// ```
    pub fn send_timeout(&self, v: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        send(self.raw.as_ref(), v, Some(deadline_after(timeout)))
    }

    /// Receives, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] if nothing arrived in time,
    /// [`RecvTimeoutError::Closed`] if the channel is closed and drained.
    ///
    /// # Example
    /// ```
    /// use std::time::Duration;
    /// use go::chan::{Chan, RecvTimeoutError};
    /// let ch = Chan::<u8>::new(0);
    /// assert_eq!(ch.recv_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        recv(self.raw.as_ref(), Some(deadline_after(timeout)))
    }

    /// An iterator over received values that ends when the channel is closed
    /// and drained (Go's `for v := range ch`).
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(3);
    /// for i in 0..3 {
    ///     ch.send(i);
    /// }
    /// ch.close();
    /// assert_eq!(ch.iter().sum::<i32>(), 3);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { chan: self }
    }
}

/// `now + timeout`, or about a century away if that overflows.
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

/// Blocks forever (a nil channel operation), or until `deadline`.
fn block_on_nil(deadline: Option<Instant>, why: WaitReason) {
    match deadline {
        None => loop {
            scheduler::park(why);
        },
        Some(t) => {
            let mut deadline = Deadline::new(t);
            while !deadline.passed() {
                deadline.park(WaitReason::Sleep);
            }
        }
    }
}

/// A blocking send, with an optional deadline.
fn send<T: Send>(
    raw: Option<&Arc<RawChan<T>>>,
    v: T,
    deadline: Option<Instant>,
) -> Result<(), SendTimeoutError<T>> {
    crate::scheduler::checkpoint();
    let Some(raw) = raw else {
        block_on_nil(deadline, WaitReason::ChanSendNil);
        return Err(SendTimeoutError::Timeout(v));
    };
    let (mut st, v) = match raw.send_or_keep(raw.lock(), v) {
        Ok(()) => return Ok(()),
        Err(kept) => kept,
    };
    if deadline.is_some_and(|t| Instant::now() >= t) {
        return Err(SendTimeoutError::Timeout(v));
    }
    let w = raw.lone_waiter(Some(v));
    st.push_sender(w.clone());
    drop(st);
    match w.op.wait(deadline, WaitReason::ChanSend) {
        Outcome::Completed(_) => {
            raw.recycle(w);
            Ok(())
        }
        Outcome::Closed(_) => panic!("send on closed channel"),
        Outcome::TimedOut => {
            raw.lock().remove(&w, true);
            // SAFETY: we cancelled the operation, so nobody claimed the
            // waiter and its slot is ours again.
            let v = unsafe { w.take() }.expect("an unclaimed sender keeps its value");
            Err(SendTimeoutError::Timeout(v))
        }
    }
}

/// A blocking receive, with an optional deadline.
fn recv<T: Send>(
    raw: Option<&Arc<RawChan<T>>>,
    deadline: Option<Instant>,
) -> Result<T, RecvTimeoutError> {
    crate::scheduler::checkpoint();
    let Some(raw) = raw else {
        block_on_nil(deadline, WaitReason::ChanReceiveNil);
        return Err(RecvTimeoutError::Timeout);
    };
    let mut st = match raw.recv_or_keep(raw.lock()) {
        Ok(v) => return v.ok_or(RecvTimeoutError::Closed),
        Err(st) => st,
    };
    if deadline.is_some_and(|t| Instant::now() >= t) {
        return Err(RecvTimeoutError::Timeout);
    }
    let w = raw.lone_waiter(None);
    st.push_receiver(w.clone());
    drop(st);
    match w.op.wait(deadline, WaitReason::ChanReceive) {
        Outcome::Completed(_) => {
            // SAFETY: the operation fired: the claimer put the value and
            // is done with the slot.
            let v = unsafe { w.take() }.expect("a completed receiver got a value");
            raw.recycle(w);
            Ok(v)
        }
        Outcome::Closed(_) => Err(RecvTimeoutError::Closed),
        Outcome::TimedOut => {
            raw.lock().remove(&w, false);
            Err(RecvTimeoutError::Timeout)
        }
    }
}

impl<T: Send> Sender<T> {
    /// Sends `v`, blocking as [`Chan::send`] does.
    ///
    /// # Panics
    /// `send on closed channel`.
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(1);
    /// ch.sender().send(1);
    /// assert_eq!(ch.recv(), Some(1));
    /// ```
    pub fn send(&self, v: T) {
        self.chan.send(v);
    }

    /// Sends without blocking, as [`Chan::try_send`].
    ///
    /// # Panics
    /// `send on closed channel`.
    ///
    /// # Example
    /// ```
    /// let tx = go::chan::Chan::new(0).sender();
    /// assert_eq!(tx.try_send(1), Err(1)); // nobody receives
    /// ```
    pub fn try_send(&self, v: T) -> Result<(), T> {
        self.chan.try_send(v)
    }

    /// Sends, waiting at most `timeout`, as [`Chan::send_timeout`].
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] with the value.
    ///
    /// # Example
    /// ```
    /// let tx = go::chan::Chan::new(1).sender();
    /// assert!(tx.send_timeout(1, std::time::Duration::from_millis(1)).is_ok());
    /// ```
    pub fn send_timeout(&self, v: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.chan.send_timeout(v, timeout)
    }

    /// Closes the channel, as [`Chan::close`] (Go allows `close` on a
    /// `chan<- T`).
    ///
    /// # Panics
    /// `close of closed channel`, `close of nil channel`.
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::<u8>::new(0);
    /// ch.sender().close();
    /// assert_eq!(ch.recv(), None);
    /// ```
    pub fn close(&self) {
        self.chan.close();
    }

    /// Buffered values, as [`Chan::len`].
    ///
    /// # Example
    /// ```
    /// assert_eq!(go::chan::Chan::<u8>::new(1).sender().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no value is buffered.
    ///
    /// # Example
    /// ```
    /// assert!(go::chan::Chan::<u8>::new(1).sender().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.chan.is_empty()
    }

    /// Capacity, as [`Chan::cap`].
    ///
    /// # Example
    /// ```
    /// assert_eq!(go::chan::Chan::<u8>::new(1).sender().cap(), 1);
    /// ```
    pub fn cap(&self) -> usize {
        self.chan.cap()
    }
}

impl<T: Send> Receiver<T> {
    /// Receives, blocking as [`Chan::recv`] does; `None` once closed and
    /// drained.
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(1);
    /// ch.send(1);
    /// assert_eq!(ch.receiver().recv(), Some(1));
    /// ```
    pub fn recv(&self) -> Option<T> {
        self.chan.recv()
    }

    /// Go's `v, ok := <-ch`, as [`Chan::recv_ok`].
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::<u8>::new(0);
    /// ch.close();
    /// assert_eq!(ch.receiver().recv_ok(), (0, false));
    /// ```
    pub fn recv_ok(&self) -> (T, bool)
    where
        T: Default,
    {
        self.chan.recv_ok()
    }

    /// Receives without blocking, as [`Chan::try_recv`].
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] or [`TryRecvError::Closed`].
    ///
    /// # Example
    /// ```
    /// let rx = go::chan::Chan::<u8>::new(1).receiver();
    /// assert!(rx.try_recv().is_err());
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Receives, waiting at most `timeout`, as [`Chan::recv_timeout`].
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Closed`].
    ///
    /// # Example
    /// ```
    /// let rx = go::chan::Chan::<u8>::new(1).receiver();
    /// assert!(rx.recv_timeout(std::time::Duration::from_millis(1)).is_err());
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.chan.recv_timeout(timeout)
    }

    /// Iterates until the channel is closed and drained (Go's `range`).
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(2);
    /// ch.send(1);
    /// ch.send(2);
    /// ch.close();
    /// assert_eq!(ch.receiver().iter().count(), 2);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        self.chan.iter()
    }

    /// Buffered values, as [`Chan::len`].
    ///
    /// # Example
    /// ```
    /// assert_eq!(go::chan::Chan::<u8>::new(1).receiver().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no value is buffered.
    ///
    /// # Example
    /// ```
    /// assert!(go::chan::Chan::<u8>::new(1).receiver().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.chan.is_empty()
    }

    /// Capacity, as [`Chan::cap`].
    ///
    /// # Example
    /// ```
    /// assert_eq!(go::chan::Chan::<u8>::new(3).receiver().cap(), 3);
    /// ```
    pub fn cap(&self) -> usize {
        self.chan.cap()
    }
}

/// Iterator over received values; ends when the channel is closed and
/// drained. Made by [`Chan::iter`], [`Receiver::iter`] or `for v in &ch`.
///
/// # Example
/// ```
/// let ch = go::chan::Chan::new(1);
/// ch.send(9);
/// ch.close();
/// for v in &ch {
///     assert_eq!(v, 9);
/// }
/// ```
#[derive(Debug)]
pub struct Iter<'a, T> {
    /// The channel.
    chan: &'a Chan<T>,
}

impl<T: Send> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.chan.recv()
    }
}

impl<'a, T: Send> IntoIterator for &'a Chan<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<'a, T: Send> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// A type with a Go zero value: every [`Default`] type.
///
/// `select!`'s `case v := <-ch` gives `v` the zero value when `ch` is
/// closed, as Go does, so it needs the element type to have one; `case v,
/// ok := <-ch` gives `ok == false` beside it. (A receive case written
/// `case <-ch`, or `Select::recv`, whose handler gets an `Option`, needs
/// none.)
///
/// # Example
/// ```
/// use go::chan::{Chan, ZeroValue};
///
/// assert_eq!(<u32 as ZeroValue>::zero(), 0);
/// let ch = Chan::<u32>::new(1);
/// ch.close();
/// go::select! {
///     case v, ok := <-ch => assert_eq!((v, ok), (0, false)),
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no zero value for a receive from a closed channel",
    label = "Go gives the zero value here when the channel is closed",
    note = "implement `Default` for `{Self}`, or write `case <-ch` and receive with `go::chan::Select`, whose handlers get an `Option`"
)]
pub trait ZeroValue: Sized {
    /// The zero value.
    fn zero() -> Self;

    /// What a receive case binds: the value received, or the zero value if
    /// the channel was closed (`None`).
    #[doc(hidden)]
    #[inline]
    fn or_zero(got: Option<Self>) -> Self {
        got.unwrap_or_else(Self::zero)
    }

    /// What `case v, ok := <-ch` binds.
    #[doc(hidden)]
    #[inline]
    fn or_zero_ok(got: Option<Self>) -> (Self, bool) {
        match got {
            Some(v) => (v, true),
            None => (Self::zero(), false),
        }
    }
}

#[diagnostic::do_not_recommend]
impl<T: Default> ZeroValue for T {
    #[inline]
    fn zero() -> Self {
        T::default()
    }
}

/// Something a [`Select`] can receive from: a [`Chan`] or a [`Receiver`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a channel to receive from",
    label = "not a channel",
    note = "a receive case needs a `Chan<T>` or a `Receiver<T>` (Go's `chan T` or `<-chan T`)"
)]
pub trait AsRecv<T> {
    /// The channel.
    fn as_chan(&self) -> &Chan<T>;
}
/// Something a [`Select`] can send to: a [`Chan`] or a [`Sender`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a channel to send on",
    label = "cannot send here",
    note = "a send case needs a `Chan<T>` or a `Sender<T>`; a `Receiver<T>` is receive-only (Go's `<-chan T`)"
)]
pub trait AsSend<T> {
    /// The channel.
    fn as_chan(&self) -> &Chan<T>;
}
#[diagnostic::do_not_recommend]
impl<T, C: AsRecv<T> + ?Sized> AsRecv<T> for &C {
    fn as_chan(&self) -> &Chan<T> {
        (**self).as_chan()
    }
}
#[diagnostic::do_not_recommend]
impl<T, C: AsSend<T> + ?Sized> AsSend<T> for &C {
    fn as_chan(&self) -> &Chan<T> {
        (**self).as_chan()
    }
}
#[diagnostic::do_not_recommend]
impl<T> AsRecv<T> for Chan<T> {
    fn as_chan(&self) -> &Chan<T> {
        self
    }
}
#[diagnostic::do_not_recommend]
impl<T> AsRecv<T> for Receiver<T> {
    fn as_chan(&self) -> &Chan<T> {
        &self.chan
    }
}
#[diagnostic::do_not_recommend]
impl<T> AsSend<T> for Chan<T> {
    fn as_chan(&self) -> &Chan<T> {
        self
    }
}
#[diagnostic::do_not_recommend]
impl<T> AsSend<T> for Sender<T> {
    fn as_chan(&self) -> &Chan<T> {
        &self.chan
    }
}
