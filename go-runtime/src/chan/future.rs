//! Channels from async code: [`RecvFuture`], [`SendFuture`] and the
//! `Stream` of a [`Receiver`].
//!
//! An async operation is a blocking one whose waiter wakes a task instead
//! of parking a goroutine: the same `Waiter` in the same queues, with the
//! task's `TaskWaker` as its latch's unparker, and a poll reading the
//! latch where a goroutine would park on it (`README.md`, "Async
//! operations"). No thread ever blocks, so awaiting never stalls an
//! executor's worker.
//!
//! # Cancellation
//! Dropping a future (another branch of a `select!` won) gives the
//! operation up as a deadline does: the open latch is cancelled and the
//! waiter leaves its queue. If a counterpart claimed it first, the
//! operation happened: a dropped send has sent (fine: the value is gone
//! either way), and a dropped receive has a value nobody will return; it is
//! put back at the head of the channel ([`State::unreceive`]), so no value
//! is lost and the order is kept.
//!
//! [`State::unreceive`]: super::raw::State::unreceive

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::raw::RawChan;
use super::waiter::{Outcome, Waiter};
use super::{Chan, Receiver, Sender};
use crate::scheduler::{TaskWaker, Unparker};

/// A receive in progress: its waiter, queued on the channel.
pub(super) struct AsyncRecv<T> {
    /// The queued waiter, while the receive waits.
    waiter: Option<Arc<Waiter<T>>>,
    /// The task to wake, kept across receives (a stream's).
    task: Option<Arc<TaskWaker>>,
}

impl<T> Default for AsyncRecv<T> {
    fn default() -> Self {
        AsyncRecv { waiter: None, task: None }
    }
}

impl<T: Send> AsyncRecv<T> {
    /// Polls a receive from `raw` (`None`: the nil channel, never ready):
    /// a value, or `None` once the channel is closed and drained.
    fn poll(&mut self, raw: Option<&Arc<RawChan<T>>>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let Some(raw) = raw else { return Poll::Pending };
        if let Some(w) = &self.waiter {
            // Register before looking: a completion after the look wakes
            // the waker registered here.
            self.task.as_ref().expect("a queued receive has a task").register(cx.waker());
            return match w.op.outcome() {
                None => Poll::Pending,
                Some(outcome) => {
                    let w = self.waiter.take().expect("checked above");
                    Poll::Ready(match outcome {
                        // SAFETY: the operation fired: the claimer put the
                        // value and is done with the slot.
                        Outcome::Completed(_) => Some(unsafe { w.take() }.expect("a value")),
                        Outcome::Closed(_) => None,
                        Outcome::TimedOut => unreachable!("an async receive has no deadline"),
                    })
                }
            };
        }
        let mut st = match raw.recv_or_keep(raw.lock()) {
            Ok(v) => return Poll::Ready(v),
            Err(st) => st,
        };
        let task = self.task.get_or_insert_with(TaskWaker::new);
        task.register(cx.waker());
        let w = Waiter::lone_for(None, Unparker::Task(task.clone()));
        st.push_receiver(w.clone());
        drop(st);
        self.waiter = Some(w);
        Poll::Pending
    }
}

/// The future of [`Chan::recv_async`] and [`Receiver::recv_async`]: a
/// value, or `None` once the channel is closed and drained.
///
/// It holds its own reference to the channel, so it is `'static` and may
/// outlive the handle it came from. Dropping it before it is ready loses no
/// value (it is *cancel-safe*, as `tokio::select!` needs): a value that
/// reached it is put back at the head of the channel.
///
/// # Example
/// ```
/// let ch = go::chan::Chan::new(1);
/// ch.send(5);
/// assert_eq!(go::block_on(ch.recv_async()), Some(5));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<T: Send> {
    /// `None`: the nil channel.
    raw: Option<Arc<RawChan<T>>>,
    /// The receive in progress.
    recv: AsyncRecv<T>,
    /// It returned its value: polling again is a bug.
    done: bool,
}

// Nothing is ever pinned in place: the value moves in and out by value.
impl<T: Send> Unpin for RecvFuture<T> {}

impl<T: Send> Future for RecvFuture<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        assert!(!this.done, "a channel's recv_async future was polled after it completed");
        let r = this.recv.poll(this.raw.as_ref(), cx);
        this.done = r.is_ready();
        r
    }
}

impl<T: Send> Drop for RecvFuture<T> {
    fn drop(&mut self) {
        self.recv.cancel(self.raw.as_ref());
    }
}

impl<T: Send> fmt::Debug for RecvFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").field("waiting", &self.recv.waiter.is_some()).finish()
    }
}

/// The future of [`Chan::send_async`] and [`Sender::send_async`]: ready
/// once a receiver took the value or the buffer had room.
///
/// Dropping it before it is ready cancels the send: the value is dropped
/// and was never received.
///
/// # Panics
/// When polled, `send on closed channel` if the channel is closed before
/// the value is taken (as [`Chan::send`]).
///
/// # Example
/// ```
/// let ch = go::chan::Chan::new(0);
/// let rx = ch.clone();
/// let h = go::spawn(move || rx.recv());
/// go::block_on(ch.send_async(7));
/// assert_eq!(h.join().unwrap(), Some(7));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<T: Send> {
    /// `None`: the nil channel.
    raw: Option<Arc<RawChan<T>>>,
    /// The value, until the first poll queues or sends it.
    value: Option<T>,
    /// The queued waiter (holding the value), while the send waits.
    waiter: Option<Arc<Waiter<T>>>,
    /// The task to wake.
    task: Option<Arc<TaskWaker>>,
}

// Nothing is ever pinned in place: the value moves in and out by value.
impl<T: Send> Unpin for SendFuture<T> {}

impl<T: Send> Future for SendFuture<T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(raw) = this.raw.as_ref() else { return Poll::Pending };
        if let Some(w) = &this.waiter {
            this.task.as_ref().expect("a queued send has a task").register(cx.waker());
            return match w.op.outcome() {
                None => Poll::Pending,
                Some(Outcome::Completed(_)) => {
                    this.waiter = None;
                    Poll::Ready(())
                }
                Some(Outcome::Closed(_)) => {
                    this.waiter = None;
                    panic!("send on closed channel");
                }
                Some(Outcome::TimedOut) => unreachable!("an async send has no deadline"),
            };
        }
        let v =
            this.value.take().expect("a channel's send_async future was polled after it completed");
        let (mut st, v) = match raw.send_or_keep(raw.lock(), v) {
            Ok(()) => return Poll::Ready(()),
            Err(kept) => kept,
        };
        let task = this.task.get_or_insert_with(TaskWaker::new);
        task.register(cx.waker());
        let w = Waiter::lone_for(Some(v), Unparker::Task(task.clone()));
        st.push_sender(w.clone());
        drop(st);
        this.waiter = Some(w);
        Poll::Pending
    }
}

impl<T: Send> Drop for SendFuture<T> {
    fn drop(&mut self) {
        if let (Some(w), Some(raw)) = (self.waiter.take(), self.raw.as_ref())
            && w.op.try_cancel()
        {
            // Not sent: leave the queue; the value drops with the waiter.
            raw.lock().remove(&w, true);
        }
    }
}

impl<T: Send> fmt::Debug for SendFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture").field("waiting", &self.waiter.is_some()).finish()
    }
}

impl<T: Send> Chan<T> {
    /// Receives from async code: a future of the next value, or `None` once
    /// the channel is closed and drained. Awaiting it never blocks the
    /// thread (a tokio worker runs its other tasks meanwhile), and dropping
    /// it loses no value ([`RecvFuture`]).
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(0);
    /// let tx = ch.clone();
    /// go::spawn(move || tx.send("hi"));
    /// assert_eq!(go::block_on(ch.recv_async()), Some("hi"));
    /// ```
    pub fn recv_async(&self) -> RecvFuture<T> {
        RecvFuture { raw: self.raw.clone(), recv: AsyncRecv::default(), done: false }
    }

    /// Sends from async code: a future that is ready once the value was
    /// taken by a receiver or buffered ([`SendFuture`]).
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(1);
    /// go::block_on(ch.send_async(1));
    /// assert_eq!(ch.recv(), Some(1));
    /// ```
    pub fn send_async(&self, v: T) -> SendFuture<T> {
        SendFuture { raw: self.raw.clone(), value: Some(v), waiter: None, task: None }
    }
}

impl<T: Send> Sender<T> {
    /// [`Chan::send_async`] on the send-only view.
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(1);
    /// go::block_on(ch.sender().send_async('a'));
    /// assert_eq!(ch.recv(), Some('a'));
    /// ```
    pub fn send_async(&self, v: T) -> SendFuture<T> {
        self.chan.send_async(v)
    }
}

impl<T: Send> Receiver<T> {
    /// [`Chan::recv_async`] on the receive-only view.
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(1);
    /// ch.send(2);
    /// assert_eq!(go::block_on(ch.receiver().recv_async()), Some(2));
    /// ```
    pub fn recv_async(&self) -> RecvFuture<T> {
        self.chan.recv_async()
    }
}

/// A receiver is a stream of the channel's values, ending when the
/// channel is closed and drained (Go's `for v := range ch`). A receive the
/// stream started stays queued between polls and is given up, losing no
/// value, when the receiver is dropped.
///
/// # Example
/// ```
/// use std::pin::Pin;
/// use std::task::Context;
///
/// use futures_core::Stream;
///
/// let ch = go::chan::Chan::new(2);
/// ch.send(1);
/// ch.close();
/// let mut rx = ch.receiver();
/// let next = std::future::poll_fn(|cx: &mut Context<'_>| Pin::new(&mut rx).poll_next(cx));
/// assert_eq!(go::block_on(next), Some(1));
/// ```
impl<T: Send> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.stream.poll(this.chan.raw.as_ref(), cx)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.stream.waiter.is_some() {
            self.stream.cancel(self.chan.raw.as_ref());
        }
    }
}

impl<T> AsyncRecv<T> {
    /// Gives up a waiting receive (module docs, "Cancellation").
    fn cancel(&mut self, raw: Option<&Arc<RawChan<T>>>) {
        let (Some(w), Some(raw)) = (self.waiter.take(), raw) else { return };
        if w.op.try_cancel() {
            raw.lock().remove(&w, false);
            return;
        }
        let mut st = raw.lock();
        if let Some(Outcome::Completed(_)) = w.op.outcome() {
            // SAFETY: fired: the slot is ours.
            let v = unsafe { w.take() }.expect("a completed receive got a value");
            let wake = st.unreceive(raw.cap(), v);
            drop(st);
            if let Some(u) = wake {
                u.unpark();
            }
        }
    }
}
