//! The bridge to async Rust: [`block_on`] runs a future from a goroutine
//! (parking only the goroutine) or a plain thread; with the `tokio` feature
//! it also drives tokio's I/O and timers on one background thread.
//!
//! The other direction, async code awaiting goroutines and channels, is in
//! the primitives themselves (`JoinHandle: Future`, `Chan::recv_async`,
//! `WaitGroup::wait_async`), built on the scheduler's `TaskWaker`.
//!
//! # Protocol
//! `block_on` polls the future with a waker that unparks its caller, and
//! parks between polls. A goroutine's park keeps one wake-up token (a wake
//! that arrives while it still runs makes the next park return at once),
//! as does a thread's, so a wake between a `Pending` poll and the park is
//! never lost; a spurious return only costs one more poll.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};

use crate::coroutine::WaitReason;
use crate::scheduler::{self, Unparker};

/// Runs `future` to completion and returns its output: Rust's async code
/// from a goroutine.
///
/// On a goroutine only the goroutine waits: its worker runs other
/// goroutines until the future's waker is called (from any thread), and
/// the goroutine resumes on its home worker. On a plain thread the thread
/// blocks. With the `tokio` feature the future runs inside the context of
/// a tokio runtime that this crate starts on first use on one background
/// thread, so `tokio::net`, `tokio::time` and libraries built on them work.
///
/// The future is polled on the caller's own stack: it may borrow from it.
///
/// Only the polls run inside tokio's context: a tokio future that needs it
/// already when it is *made* (`tokio::time::sleep(d)`, `TcpStream::connect`
/// called outside an async block) must be made inside the async block
/// given to `block_on`: `go::block_on(async { tokio::time::sleep(d).await })`.
///
/// # Panics
/// If the future panics, the panic propagates to the caller.
///
/// # Example
/// ```
/// let ch = go::chan::Chan::new(0);
/// let tx = ch.clone();
/// let h = go::spawn(move || {
///     // An async block awaiting a goroutine's channel, run from a goroutine.
///     go::block_on(async move { tx.send_async(21).await; 21 })
/// });
/// assert_eq!(go::block_on(ch.recv_async()), Some(21));
/// assert_eq!(h.join().unwrap(), 21);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Unparker::current().waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = poll_in_context(future.as_mut(), &mut cx) {
            return v;
        }
        scheduler::park(WaitReason::BlockOn);
    }
}

/// Polls once, inside the tokio runtime's context when the feature is on.
#[inline]
fn poll_in_context<F: Future>(
    future: std::pin::Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<F::Output> {
    // Entered for the poll only: a goroutine parked with the context entered
    // would leave it entered for the other goroutines of its worker thread,
    // and tokio's guards must be dropped in the order they were made.
    #[cfg(feature = "tokio")]
    let _entered = tokio_rt::handle().enter();
    future.poll(cx)
}

/// The tokio runtime behind the `tokio` feature.
#[cfg(feature = "tokio")]
pub(crate) mod tokio_rt {
    use std::sync::OnceLock;

    /// The handle of the tokio runtime `block_on` polls in: a current-thread
    /// runtime with I/O and timers enabled, driven by one background thread
    /// (`go-tokio`) started on first use. Spawn tokio tasks on it, or hand
    /// it to libraries that ask for one.
    ///
    /// # Example
    /// ```
    /// # mod go { pub use ::go::*; pub use go_runtime::tokio_handle; }
    /// let h = go::tokio_handle().spawn(async { 6 * 7 });
    /// assert_eq!(go::block_on(h).unwrap(), 42);
    /// ```
    pub fn handle() -> &'static tokio::runtime::Handle {
        static HANDLE: OnceLock<tokio::runtime::Handle> = OnceLock::new();
        HANDLE.get_or_init(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| crate::report::fatal(&format!("cannot start tokio: {e}")));
            let handle = rt.handle().clone();
            std::thread::Builder::new()
                .name("go-tokio".into())
                .spawn(move || rt.block_on(std::future::pending::<()>()))
                .unwrap_or_else(|e| crate::report::fatal(&format!("cannot start tokio: {e}")));
            handle
        })
    }
}
