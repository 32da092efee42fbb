//! `JoinHandle` and the `Task` it shares with its goroutine.
//!
//! A goroutine's closure and its result travel in one allocation, a `Task`,
//! shared by the goroutine (which runs it once) and its `JoinHandle` (which
//! sees only its `Packet`). The packet's state word orders the two events
//! that decide what happens to a panic: the goroutine finishing, and the
//! handle being dropped. Finished first: the result waits in the packet for
//! `join` (and a panic still unjoined when the handle drops kills the
//! process, as in Go). Dropped first: the goroutine is detached, and its
//! panic kills the process at once.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use super::Result;
use super::crash::{CrashInfo, crash};
use crate::coroutine::{self, Run, WaitReason};
use crate::scheduler::{self, Latch, TaskWaker, Unparker};

/// A goroutine's closure and the packet its result goes to.
pub(super) struct Task<F, T> {
    /// Where the result meets the handle.
    packet: Packet<T>,
    /// The closure; taken by the one call of `Run::run`.
    f: UnsafeCell<Option<F>>,
    /// What becomes of a panic.
    policy: PanicPolicy,
}

/// What becomes of a goroutine's panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PanicPolicy {
    /// Handed to `join`; a crash if the handle is dropped first.
    Join,
    /// As `Join`, reported as `[recovered, repanicked]` (`WaitGroup::go`,
    /// whose goroutines nobody joins).
    Repanicked,
    /// The main goroutine: a crash at once, with Go's report, even while
    /// its handle waits (`go::run`, `#[go::main]`).
    Crash,
}

// SAFETY: `f` is touched only by `Run::run`, called once, by the goroutine
// (`Goroutine` hands its body out once); it is `Send`, so it may be dropped
// on any thread if the goroutine never runs. `packet`'s cells are each owned
// by one side at a time (the `Packet` protocol) and hold `Send` values.
unsafe impl<F: Send, T: Send> Sync for Task<F, T> {}

impl<F, T> Run for Task<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn run(self: Arc<Self>) {
        // SAFETY: `run` is called once (see the `Sync` argument above).
        let f = unsafe { (*self.f.get()).take() }.expect("a goroutine body runs once");
        let result = std::panic::catch_unwind(AssertUnwindSafe(f));
        // Goroutine-local values are dropped here, on the goroutine's own
        // stack and before the result is published (as a thread's locals are
        // dropped before `join` returns), so their destructors may block.
        // A panicking destructor becomes the goroutine's panic, unless it
        // had already panicked.
        let dropped = std::panic::catch_unwind(coroutine::drop_current);
        let result = match (result, dropped) {
            (Ok(_), Err(p)) => Err(p),
            (r, _) => r,
        };
        // A deferred call that panicked while unwinding replaced the panic
        // (`coroutine/panics.rs`): the last panic is the outcome.
        let result = result.map_err(|p| coroutine::take_replacement().unwrap_or(p));
        if self.policy == PanicPolicy::Crash
            && let Err(p) = &result
        {
            let info = CrashInfo::current(false).expect("a goroutine reports its own panic");
            crash(p.as_ref(), &info);
        }
        self.packet.complete(result, self.policy == PanicPolicy::Repanicked);
    }
}

impl<F, T> Task<F, T> {
    /// A task that runs `f`; `policy` says what becomes of a panic.
    pub(super) fn new(f: F, policy: PanicPolicy) -> Arc<Self> {
        Arc::new(Task { packet: Packet::new(), f: UnsafeCell::new(Some(f)), policy })
    }
}

/// The handle's view of a `Task`: its packet, whatever the closure's type.
pub(super) trait HasPacket<T>: Send + Sync {
    /// The packet.
    fn packet(&self) -> &Packet<T>;
}

impl<F: Send, T: Send> HasPacket<T> for Task<F, T> {
    fn packet(&self) -> &Packet<T> {
        &self.packet
    }
}

/// Where the result meets the handle.
///
/// # Protocol
/// `state` holds three bits, each set once: `DONE` (the goroutine wrote
/// `result` and `crash`), `DETACHED` (the handle was dropped), `WAITING` (the
/// handle wrote `joiner` and waits). Each side sets its bit with one
/// `fetch_or` and learns from the previous value what the other did:
/// - `result`/`crash`: written by the goroutine before `DONE`; afterwards
///   read by the handle (which saw `DONE`) or, if `DETACHED` came first, by
///   the goroutine itself, the handle being gone.
/// - `joiner`: written by the handle before `WAITING`; afterwards the handle
///   only waits on it, and the goroutine fires it if its `fetch_or(DONE)`
///   saw `WAITING`.
pub(super) struct Packet<T> {
    /// `DONE | DETACHED | WAITING` bits.
    state: AtomicU8,
    /// The goroutine's outcome.
    result: UnsafeCell<Option<Result<T>>>,
    /// Where a panic came from, for the crash report; boxed, so that a
    /// goroutine that does not panic carries one pointer for it.
    crash: UnsafeCell<Option<Box<CrashInfo>>>,
    /// What the handle waits on in `join`; boxed, so that a goroutine that
    /// is never waited for carries one pointer for it, not a whole latch.
    joiner: UnsafeCell<Option<Box<Latch>>>,
}

/// The goroutine finished and wrote its outcome.
const DONE: u8 = 1;
/// The handle was dropped: nobody will join.
const DETACHED: u8 = 2;
/// The handle registered a joiner and waits.
const WAITING: u8 = 4;

impl<T> Packet<T> {
    fn new() -> Self {
        Packet {
            state: AtomicU8::new(0),
            result: UnsafeCell::new(None),
            crash: UnsafeCell::new(None),
            joiner: UnsafeCell::new(None),
        }
    }

    /// Called by the goroutine as its last act.
    fn complete(&self, result: Result<T>, repanicked: bool) {
        let panicked = result.is_err();
        // SAFETY: before `DONE` only the goroutine touches `result`/`crash`.
        unsafe {
            if panicked {
                *self.crash.get() = CrashInfo::current(repanicked).map(Box::new);
            }
            *self.result.get() = Some(result);
        }
        // Release pairs with the Acquire in `join`/`is_finished`/`drop`
        // (they see the outcome); Acquire pairs with the AcqRel
        // `fetch_or(WAITING)` in `join` (we see the joiner it wrote).
        let prev = self.state.fetch_or(DONE, Ordering::AcqRel);
        if prev & DETACHED != 0 {
            // SAFETY: the handle is gone; the outcome is ours again.
            unsafe { self.crash_if_panicked() };
        } else if prev & WAITING != 0 {
            // SAFETY: the handle wrote `joiner` before `WAITING` and from
            // then on only reads it (waiting); `fire` needs only `&`.
            if let Some(j) = unsafe { (*self.joiner.get()).as_ref() } {
                j.fire(1);
            }
        }
    }

    /// Reports an unjoined panic like Go and exits; drops a value.
    ///
    /// # Safety
    /// The caller has exclusive access to `result` and `crash` (protocol above).
    unsafe fn crash_if_panicked(&self) {
        // SAFETY: caller's contract.
        if let Some(Err(payload)) = unsafe { (*self.result.get()).take() } {
            // SAFETY: caller's contract.
            let info = unsafe { (*self.crash.get()).take() };
            crash(payload.as_ref(), &info.expect("a panic carries its report"));
        }
    }
}

/// An owned permission to join a goroutine (wait for it and take its result).
///
/// Dropping the handle detaches the goroutine, as a Go `go` statement does:
/// it keeps running, and if it panics the process prints Go's panic report
/// and exits with status 2. A panic that a held handle has not yet joined
/// when it is dropped is reported the same way: a panic is never lost.
///
/// # Example
/// ```
/// let h = go::spawn(|| 6 * 7);
/// assert_eq!(h.join().unwrap(), 42);
///
/// let h = go::spawn(|| -> u32 { panic!("boom") });
/// let err = h.join().unwrap_err();
/// assert_eq!(err.downcast_ref::<&str>(), Some(&"boom"));
/// ```
pub struct JoinHandle<T> {
    /// Shared with the goroutine.
    task: Arc<dyn HasPacket<T>>,
    /// The goroutine's id.
    id: u64,
    /// Awaited: the waker of the joiner latch it registered.
    awaited: Option<Arc<TaskWaker>>,
}

impl<T> JoinHandle<T> {
    /// The handle of goroutine `id`, which runs `task`.
    pub(super) fn new(task: Arc<dyn HasPacket<T>>, id: u64) -> Self {
        JoinHandle { task, id, awaited: None }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).finish_non_exhaustive()
    }
}

impl<T> JoinHandle<T> {
    /// Waits for the goroutine to finish and returns its value, or the panic
    /// payload if it panicked. On a goroutine only the caller waits; on a plain
    /// thread the thread blocks.
    ///
    /// # Example
    /// ```
    /// let h = go::spawn(|| "done".to_string());
    /// assert_eq!(h.join().unwrap(), "done");
    /// ```
    pub fn join(self) -> Result<T> {
        self.wait_result()
    }

    /// `join`, and on a panic also where it happened (`file:line:col`), for
    /// the report of a failing `#[go::test]`.
    pub(crate) fn join_with_site(
        self,
    ) -> std::result::Result<T, (Box<dyn std::any::Any + Send>, Option<String>)> {
        let result = self.wait_result();
        result.map_err(|payload| {
            // SAFETY: `DONE` is set (`wait_result` returned) and the handle
            // is alive: `crash` is ours.
            let info = unsafe { (*self.task.packet().crash.get()).take() };
            (payload, info.and_then(|i| i.panic_site().map(str::to_owned)))
        })
    }

    /// Waits for `DONE` and takes the result.
    fn wait_result(&self) -> Result<T> {
        let p = self.task.packet();
        if let Some(awaited) = &self.awaited {
            // Polled before: its latch wakes the task waker; point that at us.
            let me = Unparker::current().waker();
            loop {
                awaited.register(&me);
                // Acquire pairs with the AcqRel `fetch_or(DONE)` in `complete`.
                if p.state.load(Ordering::Acquire) & DONE != 0 {
                    break;
                }
                scheduler::park(WaitReason::Join);
            }
        }
        // Acquire pairs with the AcqRel `fetch_or(DONE)` in `complete`.
        if p.state.load(Ordering::Acquire) & DONE == 0 {
            // SAFETY: the handle writes `joiner` once, before `WAITING`.
            let joiner = unsafe { (*p.joiner.get()).insert(Box::new(Latch::new())) };
            // Release pairs with the AcqRel `fetch_or(DONE)` in `complete`
            // (it sees the joiner); Acquire with the same (we see the
            // outcome if it came first).
            if p.state.fetch_or(WAITING, Ordering::AcqRel) & DONE == 0 {
                // The latch fires after `DONE` is set; its Acquire sees the
                // outcome.
                joiner.wait(WaitReason::Join, None);
            }
        }
        // SAFETY: `DONE` is set and the handle is alive: `result` is ours.
        unsafe { (*p.result.get()).take() }.expect("join takes the result once")
    }

    /// Whether the goroutine has finished (its result is waiting for `join`).
    ///
    /// # Example
    /// ```
    /// let h = go::spawn(|| ());
    /// while !h.is_finished() {
    ///     go::runtime::gosched();
    /// }
    /// h.join().unwrap();
    /// ```
    pub fn is_finished(&self) -> bool {
        // Acquire pairs with the AcqRel `fetch_or(DONE)` in `complete`.
        self.task.packet().state.load(Ordering::Acquire) & DONE != 0
    }

    /// The goroutine's id (as `go::runtime::goroutine_id` reports inside it).
    ///
    /// # Example
    /// ```
    /// let h = go::spawn(go::runtime::goroutine_id);
    /// let id = h.id();
    /// assert_eq!(h.join().unwrap(), Some(id));
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// A handle is a future of the goroutine's outcome, for async code
/// (a tokio task awaiting a goroutine): it never blocks the thread that
/// polls it. The same outcome as [`JoinHandle::join`]: the value, or the
/// goroutine's panic payload.
///
/// # Panics
/// If polled again after it returned the outcome.
///
/// # Example
/// ```
/// let h = go::spawn(|| 6 * 7);
/// let answer = go::block_on(async move { h.await.unwrap() });
/// assert_eq!(answer, 42);
/// ```
impl<T> Future for JoinHandle<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.get_mut();
        let p = this.task.packet();
        // Acquire pairs with the AcqRel `fetch_or(DONE)` in `complete`.
        if p.state.load(Ordering::Acquire) & DONE == 0 {
            match &this.awaited {
                Some(awaited) => {
                    // Register, then look: a `DONE` after the look fires
                    // the latch, which wakes the waker registered here.
                    awaited.register(cx.waker());
                    // Acquire: as above.
                    if p.state.load(Ordering::Acquire) & DONE == 0 {
                        return Poll::Pending;
                    }
                }
                None => {
                    let awaited = TaskWaker::new();
                    awaited.register(cx.waker());
                    let latch = Latch::for_waiter(Unparker::Task(awaited.clone()));
                    // SAFETY: the handle writes `joiner` once, before
                    // `WAITING` (`awaited` was `None`: not written yet).
                    unsafe { *p.joiner.get() = Some(Box::new(latch)) };
                    this.awaited = Some(awaited);
                    // Release pairs with the AcqRel `fetch_or(DONE)` in
                    // `complete` (it sees the joiner); Acquire with the
                    // same (we see the outcome if it came first).
                    if p.state.fetch_or(WAITING, Ordering::AcqRel) & DONE == 0 {
                        return Poll::Pending;
                    }
                }
            }
        }
        // SAFETY: `DONE` is set and the handle is alive: `result` is ours.
        let result = unsafe { (*p.result.get()).take() };
        Poll::Ready(result.expect("a JoinHandle was polled after it returned the outcome"))
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let p = self.task.packet();
        // Acquire pairs with the AcqRel `fetch_or(DONE)` in `complete`: we
        // see the outcome if `DONE` was set first; Release pairs with the
        // same, which then sees that we are gone.
        if p.state.fetch_or(DETACHED, Ordering::AcqRel) & DONE != 0 {
            // SAFETY: `DONE` came first and the handle is the only reader; a
            // `join` that already took the result leaves `None`.
            unsafe { p.crash_if_panicked() };
        }
    }
}
