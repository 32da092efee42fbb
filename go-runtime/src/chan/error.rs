//! Errors of the non-blocking and timed channel operations.

use std::fmt;

/// Why [`Chan::try_recv`](super::Chan::try_recv) returned nothing.
///
/// # Example
/// ```
/// use go::chan::{Chan, TryRecvError};
/// let ch = Chan::<u8>::new(0);
/// assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
/// ch.close();
/// assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value is ready (and the channel is open, or nil).
    Empty,
    /// The channel is closed and drained.
    Closed,
}

/// Why [`Chan::recv_timeout`](super::Chan::recv_timeout) returned nothing.
///
/// # Example
/// ```
/// use go::chan::{Chan, RecvTimeoutError};
/// let ch = Chan::<u8>::new(0);
/// let err = ch.recv_timeout(std::time::Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err.to_string(), "timed out waiting on channel");
/// assert_eq!(err, RecvTimeoutError::Timeout);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvTimeoutError {
    /// Nothing arrived before the deadline.
    Timeout,
    /// The channel is closed and drained.
    Closed,
}

/// [`Chan::send_timeout`](super::Chan::send_timeout) could not send in time;
/// the value comes back.
///
/// # Example
/// ```
/// let ch = go::chan::Chan::new(0);
/// let err = ch.send_timeout("hi", std::time::Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err.into_inner(), "hi");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SendTimeoutError<T> {
    /// Nobody took the value before the deadline.
    Timeout(T),
}

impl<T> SendTimeoutError<T> {
    /// The value that was not sent.
    ///
    /// # Example
    /// ```
    /// let e = go::chan::SendTimeoutError::Timeout(5);
    /// assert_eq!(e.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(v) => v,
        }
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "receiving on an empty channel",
            TryRecvError::Closed => "receiving on a closed channel",
        })
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvTimeoutError::Timeout => "timed out waiting on channel",
            RecvTimeoutError::Closed => "receiving on a closed channel",
        })
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Timeout(..)")
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out sending on channel")
    }
}

impl std::error::Error for TryRecvError {}
impl std::error::Error for RecvTimeoutError {}
impl<T> std::error::Error for SendTimeoutError<T> {}
