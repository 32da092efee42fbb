//! `select`: wait on several channel operations, run the one that completes.
//!
//! The protocol, Go's `selectgo` (poll in random order, `default`, register
//! under the locks of all the select's channels, wait, abort the rest), and
//! the race its locking prevents are in `README.md` beside this file
//! ("Select: register and abort"); `Select::wait` marks each step.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::raw::{ChanLock, TryRecv, TrySend};
use super::waiter::{BlockedOp, Outcome, Waiter};
use super::{AsRecv, AsSend, Chan, block_on_nil, deadline_after};
use crate::coroutine::WaitReason;
use crate::scheduler::{self, RawGuard, Unparker};

/// What registering a case did.
enum Reg {
    /// A waiter is queued on the channel.
    Queued,
    /// The case completed during registration (the select claimed itself).
    Completed,
}

/// One case of a select, type-erased over its channel's element type.
trait Case<'a, R> {
    /// Its channel's lock, `None` for a nil channel.
    fn chan_lock(&self) -> Option<&'a dyn ChanLock>;
    /// Whether its channel is nil (never ready).
    fn is_nil(&self) -> bool;
    /// Step 1: completes the operation if it can without blocking.
    fn poll(&mut self) -> bool;
    /// Step 2's second look: `poll` with every channel of the select
    /// locked by the caller. A counterpart it served goes in `wake`, to be
    /// woken after unlocking.
    ///
    /// # Safety
    /// As for `register`.
    unsafe fn poll_locked(&mut self, wake: &mut Option<Unparker>) -> bool;
    /// Step 3, with every channel of the select locked by the caller. A
    /// counterpart it served goes in `wake`, to be woken after unlocking.
    ///
    /// # Safety
    /// The caller holds this case's channel lock (`ChanLock::lock`) and no
    /// reference into that channel's state.
    unsafe fn register(
        &mut self,
        op: &Arc<BlockedOp>,
        index: usize,
        wake: &mut Option<Unparker>,
    ) -> Reg;
    /// Step 5: removes its queued waiter, if any.
    fn abort(&mut self);
    /// A counterpart (or `close`, if `closed`) completed it through its waiter.
    fn completed_by_waiter(&mut self, closed: bool);
    /// Runs its handler (once: the select that chose it calls it).
    fn run(&mut self) -> R;
}

/// A receive case.
#[doc(hidden)]
pub struct RecvCase<'a, T, F> {
    /// The channel.
    chan: &'a Chan<T>,
    /// The handler, until it runs.
    f: Option<F>,
    /// The queued waiter, once registered.
    waiter: Option<Arc<Waiter<T>>>,
    /// The outcome: `Some(None)` means the channel is closed.
    got: Option<Option<T>>,
}

/// A send case.
#[doc(hidden)]
pub struct SendCase<'a, T, F> {
    /// The channel.
    chan: &'a Chan<T>,
    /// The value, until it is sent or queued.
    value: Option<T>,
    /// The handler, until it runs.
    f: Option<F>,
    /// The queued waiter, once registered.
    waiter: Option<Arc<Waiter<T>>>,
    /// Completed by `close`: running it panics.
    closed: bool,
}

/// A case of `select!`, on the caller's stack, borrowed for
/// [`select_cases`] (`RecvCase::as_case`, `SendCase::as_case`).
#[doc(hidden)]
pub struct CaseRef<'b, 'a, R>(&'b mut (dyn Case<'a, R> + 'a));

impl<'a, T: Send + 'a, F: FnOnce(Option<T>) -> R + 'a, R> RecvCase<'a, T, F> {
    /// This case, for [`select_cases`].
    pub fn as_case(&mut self) -> CaseRef<'_, 'a, R> {
        CaseRef(self)
    }
}

impl<'a, T: Send + 'a, F: FnOnce() -> R + 'a, R> SendCase<'a, T, F> {
    /// This case, for [`select_cases`].
    pub fn as_case(&mut self) -> CaseRef<'_, 'a, R> {
        CaseRef(self)
    }
}

impl<T, F> fmt::Debug for RecvCase<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvCase").field("chan", self.chan).finish_non_exhaustive()
    }
}

impl<T, F> fmt::Debug for SendCase<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendCase").field("chan", self.chan).finish_non_exhaustive()
    }
}

impl<R> fmt::Debug for CaseRef<'_, '_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaseRef").field("nil", &self.0.is_nil()).finish_non_exhaustive()
    }
}

/// Where `run_select` finds a case: in the builder's buffer or borrowed
/// (`select!`).
trait Slot<'a, R> {
    fn case(&self) -> &(dyn Case<'a, R> + 'a);
    fn case_mut(&mut self) -> &mut (dyn Case<'a, R> + 'a);
}

impl<'a, R> Slot<'a, R> for Entry<'a, R> {
    fn case(&self) -> &(dyn Case<'a, R> + 'a) {
        // SAFETY: `at` points at the live case in the buffer as it is now
        // (`Cases` invariant); only `Cases::placed` hands out entries, and
        // its caller keeps the buffer in place and alive meanwhile.
        unsafe { &*self.at }
    }
    fn case_mut(&mut self) -> &mut (dyn Case<'a, R> + 'a) {
        // SAFETY: as in `case`; `&mut self` is the only access to this case.
        unsafe { &mut *self.at }
    }
}

/// 16 bytes of a [`Cases`] buffer, aligned for any case but an over-aligned
/// one (which goes in a `Box`).
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct Chunk([std::mem::MaybeUninit<u8>; 16]);

/// One case in a [`Cases`] buffer.
struct Entry<'a, R> {
    /// Its first chunk's index in the buffer.
    index: usize,
    /// Turns the address of its first chunk into the case.
    cast: fn(*mut Chunk) -> *mut (dyn Case<'a, R> + 'a),
    /// Its address in the buffer as it is now (`Cases::push` points every
    /// entry again when the buffer moves).
    at: *mut (dyn Case<'a, R> + 'a),
}

/// Room for one [`Entry`], whatever its `'a` and `R` (an index, a function
/// pointer and a `dyn` pointer: four words): the entry lists are kept
/// between builders as lists of these.
#[derive(Clone, Copy)]
#[repr(C)]
struct EntrySlot([usize; 4]);

thread_local! {
    /// A builder's case buffer and entry list, kept between selects on this
    /// thread so that a `Select` allocates nothing once they are big enough.
    static SPARE: std::cell::Cell<(Vec<Chunk>, Vec<EntrySlot>)> =
        const { std::cell::Cell::new((Vec::new(), Vec::new())) };
}

/// `v` (empty) as a list of `U` in the same allocation.
///
/// # Safety
/// `T` and `U` have the same size and alignment.
unsafe fn recast<T, U>(v: Vec<T>) -> Vec<U> {
    debug_assert!(v.is_empty());
    if v.capacity() == 0 {
        return Vec::new();
    }
    let mut v = std::mem::ManuallyDrop::new(v);
    // SAFETY: `v`'s allocation came from the global allocator for
    // `capacity` values of `T`, the same layout as `capacity` values of `U`
    // (caller's contract); the length is 0, so nothing is reinterpreted,
    // and `v` is not dropped: the allocation has one owner.
    unsafe { Vec::from_raw_parts(v.as_mut_ptr().cast::<U>(), 0, v.capacity()) }
}

/// The builder's cases, stored one after another in one buffer of
/// [`Chunk`]s instead of a `Box` each (the builder's cost was mostly
/// `malloc` and `free`: 4 boxes and a `Vec` for 4 cases).
///
/// # Invariants
/// - `buf[..len]` holds, for each entry in order, a live case of the type
///   its `cast` was made for, written at the entry's first chunk, and the
///   entry's `at` points at it.
/// - A case moves only bitwise, while the buffer grows, before any is
///   registered (a case holds no pointer to itself until `register`); every
///   `at` is pointed again at once.
/// - `needs_drop` is true if some case has drop glue.
struct Cases<'a, R> {
    buf: Vec<Chunk>,
    entries: Vec<Entry<'a, R>>,
    /// Whether some case needs dropping (else `drop` skips the list).
    needs_drop: bool,
}

impl<'a, R> Cases<'a, R> {
    #[inline]
    fn new() -> Self {
        const {
            assert!(
                std::mem::size_of::<Entry<'a, R>>() == std::mem::size_of::<EntrySlot>()
                    && std::mem::align_of::<Entry<'a, R>>() == std::mem::align_of::<EntrySlot>()
            )
        };
        let (buf, entries) = SPARE.try_with(std::cell::Cell::take).unwrap_or_default();
        // SAFETY: same size and alignment (asserted above).
        Cases { buf, entries: unsafe { recast(entries) }, needs_drop: false }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds `case` at the end.
    #[inline]
    fn push<C: Case<'a, R> + 'a>(&mut self, case: C) {
        if std::mem::align_of::<C>() > std::mem::align_of::<Chunk>() {
            self.place(Box::new(case));
        } else {
            self.place(case);
        }
    }

    /// `push` for a case aligned no more than a [`Chunk`].
    #[inline]
    fn place<C: Case<'a, R> + 'a>(&mut self, case: C) {
        debug_assert!(std::mem::align_of::<C>() <= std::mem::align_of::<Chunk>());
        /// The case at its first chunk `p`.
        fn cast<'a, R, C: Case<'a, R> + 'a>(p: *mut Chunk) -> *mut (dyn Case<'a, R> + 'a) {
            p.cast::<C>()
        }
        let chunks = std::mem::size_of::<C>().div_ceil(std::mem::size_of::<Chunk>()).max(1);
        let at = self.buf.len();
        if self.buf.capacity() - at < chunks {
            self.grow(chunks);
        }
        self.needs_drop |= std::mem::needs_drop::<C>();
        // SAFETY: there is room for `chunks` chunks past `len`, which hold
        // `size_of::<C>()` bytes, aligned for `C` (`push` checked); the new
        // chunks are `MaybeUninit`, so `set_len` over them is sound, and the
        // entry records the type and address for the invariant.
        unsafe {
            let p = self.buf.as_mut_ptr().add(at);
            p.cast::<C>().write(case);
            self.buf.set_len(at + chunks);
            self.entries.push(Entry { index: at, cast: cast::<R, C>, at: cast::<R, C>(p) });
        }
    }

    /// Makes room for `chunks` more chunks; the cases move with the buffer,
    /// so every entry is pointed at its case's new address.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, chunks: usize) {
        self.buf.reserve(chunks);
        let base = self.buf.as_mut_ptr();
        for e in &mut self.entries {
            // SAFETY: the index is inside `buf` (invariant); `cast` is the
            // one made for the case written there.
            e.at = (e.cast)(unsafe { base.add(e.index) });
        }
    }

    /// The entries, each pointing at its case: the buffer no longer moves
    /// while the caller holds the result.
    fn placed(&mut self) -> &mut [Entry<'a, R>] {
        &mut self.entries
    }
}

impl<R> Drop for Cases<'_, R> {
    fn drop(&mut self) {
        // Taken first: if a case's drop panics, the rest leak, never drop twice.
        let mut entries = std::mem::take(&mut self.entries);
        if self.needs_drop {
            for e in &entries {
                // SAFETY: a live case of its own type at `at` (invariant),
                // dropped once.
                unsafe { std::ptr::drop_in_place(e.at) };
            }
        }
        entries.clear();
        let mut buf = std::mem::take(&mut self.buf);
        if buf.capacity() > SPARE_MAX || entries.capacity() > SPARE_MAX {
            return;
        }
        buf.clear();
        // SAFETY: same size and alignment (asserted in `new`).
        let entries: Vec<EntrySlot> = unsafe { recast(entries) };
        // `try_with`: a select dropped by a thread-local's destructor keeps
        // nothing.
        let _ = SPARE.try_with(|s| {
            let (old_buf, old_entries) = s.take();
            s.set((
                if old_buf.capacity() >= buf.capacity() { old_buf } else { buf },
                if old_entries.capacity() >= entries.capacity() { old_entries } else { entries },
            ));
        });
    }
}

/// The largest buffer and entry list kept for the next select (4,096
/// chunks or entries: 64 or 128 KiB).
const SPARE_MAX: usize = 4096;

impl<'a, R, C: Case<'a, R> + ?Sized> Case<'a, R> for Box<C> {
    fn chan_lock(&self) -> Option<&'a dyn ChanLock> {
        (**self).chan_lock()
    }
    fn is_nil(&self) -> bool {
        (**self).is_nil()
    }
    fn poll(&mut self) -> bool {
        (**self).poll()
    }
    unsafe fn poll_locked(&mut self, wake: &mut Option<Unparker>) -> bool {
        // SAFETY: the caller's contract, passed on.
        unsafe { (**self).poll_locked(wake) }
    }
    unsafe fn register(
        &mut self,
        op: &Arc<BlockedOp>,
        index: usize,
        wake: &mut Option<Unparker>,
    ) -> Reg {
        // SAFETY: the caller's contract, passed on.
        unsafe { (**self).register(op, index, wake) }
    }
    fn abort(&mut self) {
        (**self).abort()
    }
    fn completed_by_waiter(&mut self, closed: bool) {
        (**self).completed_by_waiter(closed)
    }
    fn run(&mut self) -> R {
        (**self).run()
    }
}

impl<'a, R> Slot<'a, R> for CaseRef<'_, 'a, R> {
    fn case(&self) -> &(dyn Case<'a, R> + 'a) {
        &*self.0
    }
    fn case_mut(&mut self) -> &mut (dyn Case<'a, R> + 'a) {
        &mut *self.0
    }
}

/// `case v, ok := <-ch` for [`select_cases`]: `f` gets `Some(v)`, or `None`
/// if the channel is closed.
#[doc(hidden)]
pub fn recv_case<'a, T: Send + 'a, R, F: FnOnce(Option<T>) -> R>(
    ch: &'a impl AsRecv<T>,
    f: F,
) -> RecvCase<'a, T, F> {
    RecvCase { chan: ch.as_chan(), f: Some(f), waiter: None, got: None }
}

/// `case ch <- value` for [`select_cases`].
#[doc(hidden)]
pub fn send_case<'a, T: Send + 'a, R, F: FnOnce() -> R>(
    ch: &'a impl AsSend<T>,
    value: T,
    f: F,
) -> SendCase<'a, T, F> {
    SendCase { chan: ch.as_chan(), value: Some(value), f: Some(f), waiter: None, closed: false }
}

impl<'a, R, T: Send, F: FnOnce(Option<T>) -> R> Case<'a, R> for RecvCase<'a, T, F> {
    fn chan_lock(&self) -> Option<&'a dyn ChanLock> {
        self.chan.raw.as_deref().map(|r| r as &dyn ChanLock)
    }

    fn is_nil(&self) -> bool {
        self.chan.raw.is_none()
    }

    fn poll(&mut self) -> bool {
        let Some(raw) = &self.chan.raw else { return false };
        match raw.recv_or_keep(raw.lock()) {
            Ok(v) => {
                self.got = Some(v);
                true
            }
            Err(_) => false,
        }
    }

    unsafe fn poll_locked(&mut self, wake: &mut Option<Unparker>) -> bool {
        let Some(raw) = &self.chan.raw else { return false };
        // SAFETY: the caller holds the lock and no other reference into it.
        let st = unsafe { raw.locked_state() };
        match st.try_recv(raw.cap(), None) {
            TryRecv::Ready(v, served) => {
                *wake = served;
                self.got = Some(v);
                true
            }
            TryRecv::Empty => false,
        }
    }

    unsafe fn register(
        &mut self,
        op: &Arc<BlockedOp>,
        index: usize,
        wake: &mut Option<Unparker>,
    ) -> Reg {
        let raw = self.chan.raw.as_ref().expect("nil cases are not registered");
        // SAFETY: the caller holds the lock and no other reference into it.
        let st = unsafe { raw.locked_state() };
        if st.recv_ready(op) {
            // Nobody else can claim us: every channel we are queued on is
            // locked by us (module docs).
            let claimed = op.try_claim(index);
            debug_assert!(claimed, "a registering select is claimed by nobody");
            match st.try_recv(raw.cap(), Some(op)) {
                TryRecv::Ready(v, served) => {
                    op.finish_self();
                    *wake = served;
                    self.got = Some(v);
                    return Reg::Completed;
                }
                // The sender we saw was claimed elsewhere meanwhile.
                TryRecv::Empty => op.unclaim(),
            }
        }
        let w = raw.select_waiter(op, index, None);
        st.push_receiver(w.clone());
        self.waiter = Some(w);
        Reg::Queued
    }

    fn abort(&mut self) {
        if let (Some(w), Some(raw)) = (self.waiter.take(), &self.chan.raw) {
            raw.lock().remove(&w, false);
            raw.recycle(w);
        }
    }

    fn completed_by_waiter(&mut self, closed: bool) {
        let w = self.waiter.take().expect("a case completed through its waiter was queued");
        // SAFETY: the select saw this case fire: the claimer is done
        // with the slot.
        self.got = Some(if closed { None } else { unsafe { w.take() } });
        // Its claimer took it out of the queue.
        if let Some(raw) = &self.chan.raw {
            raw.recycle(w);
        }
    }

    fn run(&mut self) -> R {
        let got = self.got.take().expect("only a completed case runs");
        (self.f.take().expect("a case runs once"))(got)
    }
}

impl<'a, R, T: Send, F: FnOnce() -> R> Case<'a, R> for SendCase<'a, T, F> {
    fn chan_lock(&self) -> Option<&'a dyn ChanLock> {
        self.chan.raw.as_deref().map(|r| r as &dyn ChanLock)
    }

    fn is_nil(&self) -> bool {
        self.chan.raw.is_none()
    }

    fn poll(&mut self) -> bool {
        let Some(raw) = &self.chan.raw else { return false };
        let v = self.value.take().expect("a send case has its value until sent");
        match raw.send_or_keep(raw.lock(), v) {
            Ok(()) => true,
            Err((_, v)) => {
                self.value = Some(v);
                false
            }
        }
    }

    unsafe fn poll_locked(&mut self, wake: &mut Option<Unparker>) -> bool {
        let Some(raw) = &self.chan.raw else { return false };
        // SAFETY: the caller holds the lock and no other reference into it.
        let st = unsafe { raw.locked_state() };
        let v = self.value.take().expect("a send case has its value until sent");
        match st.try_send(raw.cap(), v, None) {
            TrySend::Sent(served) => {
                *wake = served;
                true
            }
            TrySend::Full(v) => {
                self.value = Some(v);
                false
            }
            // The caller's `LockAll` unlocks while this unwinds.
            TrySend::Closed(v) => {
                drop(v);
                panic!("send on closed channel");
            }
        }
    }

    unsafe fn register(
        &mut self,
        op: &Arc<BlockedOp>,
        index: usize,
        wake: &mut Option<Unparker>,
    ) -> Reg {
        let raw = self.chan.raw.as_ref().expect("nil cases are not registered");
        // SAFETY: the caller holds the lock and no other reference into it.
        let st = unsafe { raw.locked_state() };
        if st.send_ready(raw.cap(), op) {
            // Nobody else can claim us (module docs).
            let claimed = op.try_claim(index);
            debug_assert!(claimed, "a registering select is claimed by nobody");
            let v = self.value.take().expect("a send case has its value until sent");
            match st.try_send(raw.cap(), v, Some(op)) {
                TrySend::Sent(served) => {
                    op.finish_self();
                    *wake = served;
                    return Reg::Completed;
                }
                TrySend::Closed(v) => {
                    // Closed between the poll and now: this case is chosen,
                    // and running it panics (after the locks are released).
                    op.finish_self();
                    drop(v);
                    self.closed = true;
                    return Reg::Completed;
                }
                TrySend::Full(v) => {
                    self.value = Some(v);
                    op.unclaim();
                }
            }
        }
        let v = self.value.take();
        let w = raw.select_waiter(op, index, v);
        st.push_sender(w.clone());
        self.waiter = Some(w);
        Reg::Queued
    }

    fn abort(&mut self) {
        if let (Some(w), Some(raw)) = (self.waiter.take(), &self.chan.raw) {
            raw.lock().remove(&w, true);
            raw.recycle(w);
        }
    }

    fn completed_by_waiter(&mut self, closed: bool) {
        self.closed = closed;
        // Its claimer took it out of the queue (and its value, unless
        // `close` completed it: then the value goes with it).
        if let (Some(w), Some(raw)) = (self.waiter.take(), &self.chan.raw)
            && !closed
        {
            raw.recycle(w);
        }
    }

    fn run(&mut self) -> R {
        if self.closed {
            panic!("send on closed channel");
        }
        (self.f.take().expect("a case runs once"))()
    }
}

/// Waits on several channel operations and runs the handler of the one that
/// completes (Go's `select` statement; `select!` runs the same algorithm
/// with its cases on the caller's stack instead of boxed).
///
/// Operands and send values are evaluated once, in order, as the builder is
/// written (docs/go-semantics.md, 28). Among ready cases the choice is uniformly
/// random (29); a `default` runs only when none is ready (30); a select with
/// no cases, or only nil-channel cases and no default, blocks forever (31,
/// 32); a receive from a closed channel is always ready and gets `None`, a
/// send to a closed channel panics `send on closed channel` (33). A receive
/// handler gets `Some(v)`, or `None` when the channel is closed.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use go::chan::{Chan, Select};
///
/// let data = Chan::new(1);
/// let quit = Chan::<()>::new(0);
/// data.send(10);
/// let msg = Select::new()
///     .recv(&data, |v| format!("data {v:?}"))
///     .recv(&quit, |_| "quit".to_string())
///     .timeout(Duration::from_secs(1), || "timeout".to_string())
///     .wait();
/// assert_eq!(msg, "data Some(10)");
///
/// // `default` makes it non-blocking.
/// let r = Select::new().recv(&quit, |_| 1).default(|| 0).wait();
/// assert_eq!(r, 0);
/// ```
pub struct Select<'a, R> {
    /// The cases, in source order.
    cases: Cases<'a, R>,
    /// The `default` handler.
    default: Option<Box<dyn FnOnce() -> R + 'a>>,
    /// A deadline and its handler.
    timeout: Option<(Instant, Box<dyn FnOnce() -> R + 'a>)>,
}

impl<R> fmt::Debug for Select<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("cases", &self.cases.len())
            .field("default", &self.default.is_some())
            .field("deadline", &self.timeout.as_ref().map(|t| t.0))
            .finish()
    }
}

impl<R> Default for Select<'_, R> {
    fn default() -> Self {
        Select { cases: Cases::new(), default: None, timeout: None }
    }
}

impl<'a, R> Select<'a, R> {
    /// A select with no cases yet.
    ///
    /// # Example
    /// ```
    /// let r: u8 = go::chan::Select::new().default(|| 3).wait();
    /// assert_eq!(r, 3);
    /// ```
    pub fn new() -> Self {
        <Self as Default>::default()
    }

    /// Adds `case v, ok := <-ch`: `f` gets `Some(v)`, or `None` if the
    /// channel is closed.
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(1);
    /// ch.send(4);
    /// let r = go::chan::Select::new().recv(&ch, |v| v.unwrap() * 2).wait();
    /// assert_eq!(r, 8);
    /// ```
    #[inline]
    pub fn recv<T: Send + 'a>(
        mut self,
        ch: &'a impl AsRecv<T>,
        f: impl FnOnce(Option<T>) -> R + 'a,
    ) -> Self {
        self.cases.push(recv_case(ch, f));
        self
    }

    /// Adds `case ch <- v`; `f` runs once the value is sent.
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::new(1);
    /// let r = go::chan::Select::new().send(&ch, 5, || "sent").wait();
    /// assert_eq!((r, ch.recv()), ("sent", Some(5)));
    /// ```
    #[inline]
    pub fn send<T: Send + 'a>(
        mut self,
        ch: &'a impl AsSend<T>,
        value: T,
        f: impl FnOnce() -> R + 'a,
    ) -> Self {
        self.cases.push(send_case(ch, value, f));
        self
    }

    /// Adds `default`: runs when no case is ready, making the select
    /// non-blocking.
    ///
    /// # Panics
    /// If the select already has a default (Go: `multiple defaults in select`).
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::<u8>::new(0);
    /// assert!(go::chan::Select::new().recv(&ch, |_| false).default(|| true).wait());
    /// ```
    pub fn default(mut self, f: impl FnOnce() -> R + 'a) -> Self {
        assert!(self.default.is_none(), "multiple defaults in select");
        self.default = Some(Box::new(f));
        self
    }

    /// Gives up at `deadline` and runs `f` (like a `case <-time.After(d)`,
    /// without a timer channel).
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::<u8>::new(0);
    /// let t = std::time::Instant::now() + std::time::Duration::from_millis(5);
    /// assert_eq!(go::chan::Select::new().recv(&ch, |_| 1).deadline(t, || 0).wait(), 0);
    /// ```
    pub fn deadline(mut self, deadline: Instant, f: impl FnOnce() -> R + 'a) -> Self {
        self.timeout = Some((deadline, Box::new(f)));
        self
    }

    /// Gives up after `d` and runs `f`.
    ///
    /// # Example
    /// ```
    /// let ch = go::chan::Chan::<u8>::new(0);
    /// let r = go::chan::Select::new()
    ///     .recv(&ch, |_| "value")
    ///     .timeout(std::time::Duration::from_millis(5), || "timeout")
    ///     .wait();
    /// assert_eq!(r, "timeout");
    /// ```
    pub fn timeout(self, d: Duration, f: impl FnOnce() -> R + 'a) -> Self {
        self.deadline(deadline_after(d), f)
    }

    /// Blocks until one case completes (or the default or deadline applies)
    /// and returns what its handler returns.
    ///
    /// # Panics
    /// `send on closed channel` if the chosen send case's channel is closed.
    ///
    /// # Example
    /// ```
    /// let a = go::chan::Chan::new(1);
    /// let b = go::chan::Chan::new(1);
    /// b.send("from b");
    /// let got = go::chan::Select::new().recv(&a, |v| v).recv(&b, |v| v).wait();
    /// assert_eq!(got, Some("from b"));
    /// ```
    pub fn wait(mut self) -> R {
        let default = self.default.take();
        let timeout = self.timeout.take();
        run_select(self.cases.placed(), default, timeout)
    }
}

/// `select!`'s entry: the cases live on the caller's stack, so a select
/// whose case is ready at once allocates nothing (the builder allocates its
/// list of entries). Runs `default` if no case is ready and it is given.
#[doc(hidden)]
pub fn select_cases<'a, R>(
    cases: &mut [CaseRef<'_, 'a, R>],
    default: Option<impl FnOnce() -> R>,
) -> R {
    run_select(cases, default, None::<(Instant, fn() -> R)>)
}

/// Go's `selectgo` over `cases` (in the builder's buffer, or borrowed by
/// `select!`), with an optional `default` and deadline; the steps are the
/// README's ("Select: register and abort").
fn run_select<'a, R>(
    cases: &mut [impl Slot<'a, R>],
    default: Option<impl FnOnce() -> R>,
    mut timeout: Option<(Instant, impl FnOnce() -> R)>,
) -> R {
    crate::scheduler::checkpoint();
    // 1. Poll in a random order (on the stack for up to 16 cases).
    let n = cases.len();
    let mut small = [0usize; 16];
    let mut large = Vec::new();
    let order: &mut [usize] = if n <= small.len() {
        &mut small[..n]
    } else {
        large.resize(n, 0);
        &mut large
    };
    for (i, o) in order.iter_mut().enumerate() {
        *o = i;
    }
    shuffle(order);
    if let Some(i) = order.iter().copied().find(|&i| cases[i].case_mut().poll()) {
        return cases[i].case_mut().run();
    }
    // 2. Default, if nothing is ready with every channel locked: one lock
    // at a time, the poll can see a case not ready yet and then another no
    // longer ready, though one of them was ready all along (Go's
    // selectgo polls with all the locks held; TestNonblockSelectRace2).
    if let Some(f) = default {
        let mut wake = None;
        let ready = {
            let _locked =
                LockAll::new(cases.len(), cases.iter().filter_map(|c| c.case().chan_lock()));
            // SAFETY: `_locked` holds every non-nil case's channel lock, and
            // no reference into any channel state outlives a call.
            order.iter().copied().find(|&i| unsafe { cases[i].case_mut().poll_locked(&mut wake) })
        };
        if let Some(u) = wake {
            u.unpark();
        }
        return match ready {
            Some(i) => cases[i].case_mut().run(),
            None => f(),
        };
    }
    let deadline = timeout.as_ref().map(|t| t.0);
    if cases.iter().all(|c| c.case().is_nil()) {
        // `select {}`, or only nil channels: nothing can ever be ready.
        block_on_nil(deadline, WaitReason::SelectNoCases);
        let (_, f) = timeout.take().expect("only a deadline ends a select on nothing");
        return f();
    }
    // 3. Register, in the same random order: which of two cases on one
    // channel is queued first, and so served first, is random too, as in Go
    // (TestPseudoRandomSend).
    let op = Arc::new(BlockedOp::new());
    let mut selected = None;
    let mut wake = None;
    {
        let _locked = LockAll::new(cases.len(), cases.iter().filter_map(|c| c.case().chan_lock()));
        for &i in order.iter() {
            let case = cases[i].case_mut();
            if case.is_nil() {
                continue;
            }
            // SAFETY: `_locked` holds every non-nil case's channel lock, and
            // no reference into any channel state outlives a call.
            match unsafe { case.register(&op, i, &mut wake) } {
                Reg::Queued => {}
                Reg::Completed => {
                    selected = Some(i);
                    break;
                }
            }
        }
    }
    if let Some(u) = wake {
        u.unpark();
    }
    // 4. Wait.
    let outcome = match selected {
        Some(i) => Outcome::Completed(i),
        None => op.wait(deadline, WaitReason::Select),
    };
    // 5. Abort the other cases. (The chosen case's waiter, if it has one, is
    // out of its queue already: its claimer removed it.)
    let chosen = match outcome {
        Outcome::Completed(i) | Outcome::Closed(i) => Some(i),
        Outcome::TimedOut => None,
    };
    for (j, case) in cases.iter_mut().enumerate() {
        if Some(j) != chosen {
            case.case_mut().abort();
        }
    }
    match outcome {
        Outcome::Completed(i) | Outcome::Closed(i) => {
            let case = cases[i].case_mut();
            if selected.is_none() {
                case.completed_by_waiter(matches!(outcome, Outcome::Closed(_)));
            }
            case.run()
        }
        Outcome::TimedOut => {
            let (_, f) = timeout.take().expect("only a deadline times out");
            f()
        }
    }
}

/// The locks of all of a select's channels, taken in address order (each
/// once) so that two selects never deadlock; released on drop, also if a
/// registration panics.
struct LockAll<'a> {
    /// The locks taken, in order, for a select on up to `SMALL_LOCKS`
    /// cases (so that a select with a default that finds nothing ready
    /// locks its channels without allocating).
    small: [Option<(&'a dyn ChanLock, RawGuard)>; SMALL_LOCKS],
    /// The locks taken, in order, for a select on more cases.
    large: Vec<(&'a dyn ChanLock, RawGuard)>,
}

/// How many cases a select may have for `LockAll` to keep its locks on the
/// stack.
const SMALL_LOCKS: usize = 16;

impl<'a> LockAll<'a> {
    /// Takes the locks of `locks`, the channels of a select of `cases`
    /// cases, each once, in address order.
    fn new(cases: usize, locks: impl Iterator<Item = &'a dyn ChanLock>) -> Self {
        let small = cases <= SMALL_LOCKS;
        let (mut on_stack, mut on_heap) = ([None; SMALL_LOCKS], Vec::new());
        let refs: &mut [Option<&'a dyn ChanLock>] = if small {
            &mut on_stack[..cases]
        } else {
            on_heap.resize(cases, None);
            &mut on_heap
        };
        for (slot, l) in refs.iter_mut().zip(locks) {
            *slot = Some(l);
        }
        // Nil cases leave `None`, which sorts first and is skipped.
        refs.sort_unstable_by_key(|l| l.map(|l| l.addr()));
        let mut all = LockAll { small: [const { None }; SMALL_LOCKS], large: Vec::new() };
        let mut last = None;
        let mut held = 0;
        for &l in refs.iter().flatten() {
            if last == Some(l.addr()) {
                continue;
            }
            last = Some(l.addr());
            let taken = (l, l.lock());
            if small {
                all.small[held] = Some(taken);
            } else {
                all.large.push(taken);
            }
            held += 1;
        }
        all
    }
}

impl Drop for LockAll<'_> {
    fn drop(&mut self) {
        // One of the two is empty.
        let small = self.small.iter_mut().rev().filter_map(Option::take);
        for (l, token) in std::iter::from_fn(|| self.large.pop()).chain(small) {
            // SAFETY: `token` is the acquisition `new` made of this lock; the
            // registrations that used the state have returned.
            unsafe { l.unlock(token) };
        }
    }
}

/// Puts `order` in a uniformly random order (Fisher-Yates), with Go's
/// `cheaprandn` bound: a random word times the bound, keeping the high
/// half. The low half is still uniform and feeds the next step (Lemire's
/// batched bounded integers), so one draw of the generator serves a select
/// of up to 14 cases instead of one draw and a division per case; a new
/// draw comes once the bounds used multiply past 2^48, which keeps every
/// index's bias under 2^-16.
#[inline]
fn shuffle(order: &mut [usize]) {
    let mut r = fastrand();
    let mut used: u64 = 1;
    for i in (1..order.len()).rev() {
        let bound = i as u64 + 1;
        used = match used.checked_mul(bound) {
            Some(u) if u <= 1 << 48 => u,
            _ => {
                r = fastrand();
                bound
            }
        };
        let m = u128::from(r) * u128::from(bound);
        order.swap(i, (m >> 64) as usize);
        r = m as u64;
    }
}

/// A fast thread-local xorshift generator for the poll order. Never inlined,
/// and no reference into its state is held across a switch.
#[inline(never)]
fn fastrand() -> u64 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = const { Cell::new(0) };
    }
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            // Seed from the state's own address (one per thread) and the clock.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            x = (s as *const Cell<u64> as u64).rotate_left(32) ^ t ^ 0x9E37_79B9_7F4A_7C15;
            x |= 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}

/// Blocks forever: Go's `select {}`.
///
/// # Example
/// ```no_run
/// go::spawn(|| loop { go::time::sleep(go::time::SECOND) });
/// go::chan::select_forever(); // the main goroutine waits for ever
/// ```
pub fn select_forever() -> ! {
    loop {
        scheduler::park(WaitReason::SelectNoCases);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    /// Aligned beyond a chunk: a case that holds one goes in a `Box`.
    #[repr(align(64))]
    struct Align64;

    /// A case that is not a channel: `PAD` bytes of payload, the alignment
    /// of `A`, a value its `run` returns, and a log of its drop.
    struct Fake<const PAD: usize, A> {
        _align: [A; 0],
        value: usize,
        pad: [u8; PAD],
        drops: Rc<RefCell<Vec<usize>>>,
    }

    impl<const PAD: usize, A> Fake<PAD, A> {
        fn new(value: usize, drops: &Rc<RefCell<Vec<usize>>>) -> Self {
            Fake { _align: [], value, pad: [value as u8; PAD], drops: drops.clone() }
        }
    }

    impl<const PAD: usize, A> Drop for Fake<PAD, A> {
        fn drop(&mut self) {
            self.drops.borrow_mut().push(self.value);
        }
    }

    impl<const PAD: usize, A> Case<'static, usize> for Fake<PAD, A> {
        fn chan_lock(&self) -> Option<&'static dyn ChanLock> {
            None
        }
        fn is_nil(&self) -> bool {
            true
        }
        /// Intact: its payload unchanged, at an address aligned for it.
        fn poll(&mut self) -> bool {
            (&raw const *self).addr().is_multiple_of(std::mem::align_of::<Self>())
                && self.pad.iter().all(|&b| b == self.value as u8)
        }
        unsafe fn poll_locked(&mut self, _: &mut Option<Unparker>) -> bool {
            self.poll()
        }
        unsafe fn register(
            &mut self,
            _: &Arc<BlockedOp>,
            _: usize,
            _: &mut Option<Unparker>,
        ) -> Reg {
            Reg::Queued
        }
        fn abort(&mut self) {}
        fn completed_by_waiter(&mut self, _: bool) {}
        fn run(&mut self) -> usize {
            self.value
        }
    }

    /// Cases of mixed sizes (growing the buffer several times, moving the
    /// earlier ones), and one over-aligned, come back intact and in order,
    /// each dropped once, placed or not. Run under Miri too.
    #[test]
    fn builder_cases_keep_their_values_and_drop_once() {
        for placed in [false, true] {
            let drops = Rc::new(RefCell::new(Vec::new()));
            let mut cases = Cases::<'static, usize>::new();
            for i in 0..40 {
                match i % 4 {
                    0 => cases.push(Fake::<0, u64>::new(i, &drops)),
                    1 => cases.push(Fake::<13, u64>::new(i, &drops)),
                    2 => cases.push(Fake::<200, u64>::new(i, &drops)),
                    _ => cases.push(Fake::<1, Align64>::new(i, &drops)),
                }
            }
            assert_eq!(cases.len(), 40);
            if placed {
                for (i, e) in cases.placed().iter_mut().enumerate() {
                    assert!(e.case_mut().poll(), "case {i} intact");
                    assert_eq!(e.case_mut().run(), i);
                }
            }
            drop(cases);
            let mut dropped = drops.borrow().clone();
            dropped.sort_unstable();
            // Every case, over-aligned ones included, exactly once.
            assert_eq!(dropped, (0..40).collect::<Vec<usize>>());
            assert_eq!(Rc::strong_count(&drops), 1);
        }
    }

    /// Every order of 4 cases equally often, and with 20 cases (more than
    /// one draw of the generator) every case equally often in every place:
    /// each count within 5% (about 5 standard deviations) of its share.
    #[test]
    fn poll_orders_are_uniform() {
        let mut seen = std::collections::HashMap::new();
        for _ in 0..240_000 {
            let mut order = [0, 1, 2, 3];
            shuffle(&mut order);
            *seen.entry(order).or_insert(0u32) += 1;
        }
        assert_eq!(seen.len(), 24);
        for (order, &n) in &seen {
            assert!(n.abs_diff(10_000) < 500, "{order:?} came {n} times of 240,000");
        }
        let mut at = [[0u32; 20]; 20];
        for _ in 0..200_000 {
            let mut order: [usize; 20] = std::array::from_fn(|i| i);
            shuffle(&mut order);
            for (place, &case) in order.iter().enumerate() {
                at[place][case] += 1;
            }
        }
        for (place, counts) in at.iter().enumerate() {
            for (case, &n) in counts.iter().enumerate() {
                assert!(n.abs_diff(10_000) < 500, "case {case} polled {place}th {n} times");
            }
        }
    }

    /// A case that is not ready when polled alone, but is at the look with
    /// every lock held (as `c1`/`c2` in TestNonblockSelectRace2 can be,
    /// when another thread readies one and drains the other between two
    /// unlocked polls).
    struct ReadyOnSecondLook {
        polls: u32,
    }

    impl Case<'static, u32> for ReadyOnSecondLook {
        fn chan_lock(&self) -> Option<&'static dyn ChanLock> {
            None
        }
        fn is_nil(&self) -> bool {
            false
        }
        fn poll(&mut self) -> bool {
            self.polls += 1;
            false
        }
        unsafe fn poll_locked(&mut self, _: &mut Option<Unparker>) -> bool {
            true
        }
        unsafe fn register(
            &mut self,
            _: &Arc<BlockedOp>,
            _: usize,
            _: &mut Option<Unparker>,
        ) -> Reg {
            Reg::Queued
        }
        fn abort(&mut self) {}
        fn completed_by_waiter(&mut self, _: bool) {}
        fn run(&mut self) -> u32 {
            1
        }
    }

    /// A select with a default takes it only if no case is ready with all
    /// the channels locked: the unlocked poll alone took the default here.
    #[test]
    fn default_is_taken_only_after_a_look_with_every_lock_held() {
        let mut case = ReadyOnSecondLook { polls: 0 };
        let got = select_cases(&mut [CaseRef(&mut case)], Some(|| 0));
        assert_eq!(got, 1, "the default ran though the case was ready");
        assert_eq!(case.polls, 1);
    }
}
