//! The channel itself (Go's `hchan`): a lock, a ring buffer, and two queues
//! of waiters.
//!
//! # Invariants (under `state`'s lock)
//! - `buf.len() <= cap`.
//! - Non-stale waiters are in at most one of the queues' roles at a time: if
//!   `recvq` holds a waiting receiver then `buf` is empty and `sendq` holds no
//!   waiting sender (Go: "at least one of c.sendq and c.recvq is empty"),
//!   except for waiters of one select waiting on both sides of the same
//!   channel, which never match each other.
//! - If `sendq` holds a waiting sender then `buf` is full.
//! - Once `closed`, no waiter is added and both queues are empty, but for
//!   the ownerless senders of [`State::unreceive`] (values a dropped
//!   receive future put back), which receivers drain as they drain the
//!   buffer.
//!
//! One implementation serves both flavours, as in Go: `cap == 0` is a
//! rendezvous (a value passes straight from a sender's slot to a receiver),
//! `cap > 0` a FIFO buffer.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering};

use parking_lot::{Mutex, MutexGuard};

use super::waiter::{BlockedOp, OpRef, Waiter};
use crate::scheduler::{RawGuard, Unparker};

/// A channel's shared state.
pub(crate) struct RawChan<T> {
    /// Capacity: 0 for a rendezvous channel.
    cap: usize,
    /// Everything else, under one lock (Go's `hchan.lock`).
    state: Mutex<State<T>>,
    /// An idle waiter kept for the next blocking operation. README, "A
    /// spare waiter per channel".
    spare: Spare,
}

/// A channel's spare waiter: an idle `Arc<Waiter<T>>` (from
/// `Arc::into_raw`, type-erased), or null.
///
/// Type-erased so that `RawChan<T>` has no `Drop` of its own: one would
/// make the borrow checker require whatever a channel's values borrow to
/// outlive the channel (a `Chan<&str>` made before the string it carries
/// stopped compiling). Freeing the spare touches no `T`: an idle waiter
/// carries no value (`Waiter::idle`).
struct Spare {
    /// The waiter, or null.
    ptr: AtomicPtr<()>,
    /// Frees a waiter of the channel's `T` (`free_spare::<T>`).
    free: unsafe fn(*mut ()),
}

impl Drop for Spare {
    fn drop(&mut self) {
        let p = *self.ptr.get_mut();
        if !p.is_null() {
            // SAFETY: `p` came from `Arc::into_raw` in `RawChan::recycle` of
            // the channel whose `T` `free` was made for; the slot was its
            // only holder, and nobody else can reach the slot now.
            unsafe { (self.free)(p) };
        }
    }
}

/// Frees a spare waiter of element type `T`.
///
/// # Safety
/// `p` came from `Arc::into_raw` of an `Arc<Waiter<T>>` made idle by
/// `Waiter::idle`, and the caller was its only holder.
unsafe fn free_spare<T>(p: *mut ()) {
    // SAFETY: the caller's contract.
    drop(unsafe { Arc::from_raw(p.cast::<Waiter<T>>()) });
}

/// What the lock protects.
pub(crate) struct State<T> {
    /// Buffered values, oldest first.
    buf: VecDeque<T>,
    /// `close` was called.
    closed: bool,
    /// Blocked receivers, oldest first (some may be stale).
    recvq: VecDeque<Arc<Waiter<T>>>,
    /// Blocked senders with their values, oldest first (some may be stale).
    sendq: VecDeque<Arc<Waiter<T>>>,
}

/// The result of trying a send without blocking.
pub(crate) enum TrySend<T> {
    /// Sent; wake this waiter (a receiver that took it) after unlocking.
    Sent(Option<Unparker>),
    /// No room and no receiver: the value comes back.
    Full(T),
    /// The channel is closed: the value comes back (the caller panics).
    Closed(T),
}

/// The result of trying a receive without blocking.
pub(crate) enum TryRecv<T> {
    /// A value, or `None` if the channel is closed and drained; wake this
    /// waiter (a sender whose value was taken) after unlocking.
    Ready(Option<T>, Option<Unparker>),
    /// Nothing to receive yet.
    Empty,
}

impl<T> std::fmt::Debug for RawChan<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.state.lock();
        f.debug_struct("Chan")
            .field("len", &st.buf.len())
            .field("cap", &self.cap)
            .field("closed", &st.closed)
            .finish()
    }
}

impl<T> RawChan<T> {
    /// A channel with room for `cap` values.
    pub(crate) fn new(cap: usize) -> Self {
        RawChan {
            cap,
            state: Mutex::new(State {
                buf: VecDeque::with_capacity(cap.min(1024)),
                closed: false,
                recvq: VecDeque::new(),
                sendq: VecDeque::new(),
            }),
            spare: Spare { ptr: AtomicPtr::new(std::ptr::null_mut()), free: free_spare::<T> },
        }
    }

    /// The waiter of a blocking send (`Some(v)`) or receive (`None`) by
    /// the caller: the channel's spare if it has one, else a new one.
    pub(crate) fn lone_waiter(&self, value: Option<T>) -> Arc<Waiter<T>> {
        self.waiter(OpRef::Own(BlockedOp::new()), 0, value)
    }

    /// The waiter of case `case` of the select `op` on this channel: the
    /// channel's spare if it has one, else a new one.
    pub(crate) fn select_waiter(
        &self,
        op: &Arc<BlockedOp>,
        case: usize,
        value: Option<T>,
    ) -> Arc<Waiter<T>> {
        self.waiter(OpRef::Shared(op.clone()), case, value)
    }

    /// The waiter of case `case` of `op`: the spare, reset, if the channel
    /// has one, else a new one.
    fn waiter(&self, op: OpRef, case: usize, value: Option<T>) -> Arc<Waiter<T>> {
        // Acquire pairs with the Release of the swap in `recycle`: the
        // spare's reset is visible.
        let p = self.spare.ptr.swap(std::ptr::null_mut(), Ordering::Acquire);
        if p.is_null() {
            return Waiter::new(op, case, value);
        }
        // SAFETY: `p` came from `Arc::into_raw` of a waiter of this channel
        // in `recycle`, and the swap that took it out of the slot made us
        // its only holder.
        Waiter::reuse(unsafe { Arc::from_raw(p.cast::<Waiter<T>>()) }, op, case, value)
    }

    /// Keeps `w`, the caller's waiter whose operation is over and which is
    /// in no queue any more, as the channel's spare, if nobody else holds
    /// it.
    pub(crate) fn recycle(&self, w: Arc<Waiter<T>>) {
        let Some(w) = Waiter::idle(w) else { return };
        // Release pairs with the Acquire swap of `waiter` (or of this
        // function, for the spare it replaces): whoever takes it sees it reset.
        let old = self.spare.ptr.swap(Arc::into_raw(w).cast_mut().cast(), Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: as in `waiter`: the swap made us its only holder.
            drop(unsafe { Arc::from_raw(old.cast::<Waiter<T>>()) });
        }
    }

    /// The capacity.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// Tries to send under the lock `st` (taken on this channel). On success
    /// releases the lock and wakes the receiver it served; if the buffer is
    /// full and nobody waits, gives back the lock, still held, and the value.
    ///
    /// # Panics
    /// `send on closed channel`, after releasing the lock.
    pub(crate) fn send_or_keep<'a>(
        &'a self,
        mut st: MutexGuard<'a, State<T>>,
        v: T,
    ) -> Result<(), (MutexGuard<'a, State<T>>, T)> {
        match st.try_send(self.cap, v, None) {
            TrySend::Sent(wake) => {
                drop(st);
                if let Some(u) = wake {
                    u.unpark();
                }
                Ok(())
            }
            TrySend::Full(v) => Err((st, v)),
            TrySend::Closed(v) => {
                drop(st);
                drop(v);
                panic!("send on closed channel");
            }
        }
    }

    /// Tries to receive under the lock `st`. On success (a value, or `None`
    /// for closed and drained) releases the lock and wakes the sender it
    /// served; if nothing is ready gives back the lock, still held.
    pub(crate) fn recv_or_keep<'a>(
        &'a self,
        mut st: MutexGuard<'a, State<T>>,
    ) -> Result<Option<T>, MutexGuard<'a, State<T>>> {
        match st.try_recv(self.cap, None) {
            TryRecv::Ready(v, wake) => {
                drop(st);
                if let Some(u) = wake {
                    u.unpark();
                }
                Ok(v)
            }
            TryRecv::Empty => Err(st),
        }
    }

    /// Locks the channel.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<T>> {
        crate::scheduler::lock_internal(&self.state)
    }

    /// The state, while the caller holds the lock through [`ChanLock::lock`].
    ///
    /// # Safety
    /// The caller holds the lock, and holds no other reference into the
    /// state while the returned one lives.
    #[expect(clippy::mut_from_ref, reason = "exclusive by the lock the caller holds")]
    pub(crate) unsafe fn locked_state(&self) -> &mut State<T> {
        // SAFETY: the lock makes this thread the only one touching the
        // state, and the caller holds no other reference into it.
        unsafe { &mut *self.state.data_ptr() }
    }
}

/// A channel's lock without its element type, for a select that holds the
/// locks of all its channels at once.
pub(crate) trait ChanLock {
    /// The channel's address: the order in which a select takes locks.
    fn addr(&self) -> usize;
    /// Takes the lock; the token must go back to `unlock`.
    fn lock(&self) -> RawGuard;
    /// Releases the lock.
    ///
    /// # Safety
    /// `token` came from this channel's `lock`, and the caller holds no
    /// reference obtained from `locked_state` any more.
    unsafe fn unlock(&self, token: RawGuard);
}

impl<T> ChanLock for RawChan<T> {
    fn addr(&self) -> usize {
        std::ptr::from_ref(self).addr()
    }

    fn lock(&self) -> RawGuard {
        // SAFETY: taking the raw lock invalidates no guard or reference: it
        // waits for them to be released like `Mutex::lock`.
        crate::scheduler::lock_internal_raw(unsafe { self.state.raw() })
    }

    unsafe fn unlock(&self, token: RawGuard) {
        // SAFETY: the caller's contract: `token` is this lock's acquisition
        // and no reference into the state is live.
        unsafe { self.state.force_unlock(token) };
    }
}

/// Removes and claims the oldest waiter of `q` that is still waiting and does
/// not belong to `me`; drops stale waiters on the way. Waiters of `me` (a
/// select waiting on both ends of one channel) stay queued.
fn claim_first<T>(
    q: &mut VecDeque<Arc<Waiter<T>>>,
    me: Option<&BlockedOp>,
) -> Option<Arc<Waiter<T>>> {
    // The common case: the oldest waiter is not ours (a lone operation
    // passes no `me`), taken with `pop_front`, which `remove(0)` is not
    // compiled to (it shifts through `wrap_copy`).
    if me.is_none() {
        while let Some(w) = q.pop_front() {
            if w.op.try_claim(w.case) {
                return Some(w);
            }
            // Stale: claimed elsewhere or cancelled; it is dropped here.
        }
        return None;
    }
    let mut i = 0;
    while i < q.len() {
        let w = &q[i];
        if me.is_some_and(|me| std::ptr::eq(me, &*w.op)) {
            i += 1;
            continue;
        }
        let w = q.remove(i).expect("index in bounds");
        if w.op.try_claim(w.case) {
            return Some(w);
        }
        // Stale: claimed elsewhere or cancelled; it is dropped here.
    }
    None
}

/// Whether `q` holds a waiter that is still waiting and not `me`'s.
fn has_waiting<T>(q: &VecDeque<Arc<Waiter<T>>>, me: &BlockedOp) -> bool {
    q.iter().any(|w| !std::ptr::eq(me, &*w.op) && w.op.is_waiting())
}

impl<T> State<T> {
    /// Number of buffered values.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether `close` was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Sends without blocking (Go's `chansend` fast paths). `me` is the
    /// calling select's own operation, whose waiters must not match.
    pub(crate) fn try_send(&mut self, cap: usize, v: T, me: Option<&BlockedOp>) -> TrySend<T> {
        if self.closed {
            return TrySend::Closed(v);
        }
        if let Some(r) = claim_first(&mut self.recvq, me) {
            // SAFETY: we claimed `r` (step 1 of the waiter protocol).
            unsafe { r.put(v) };
            return TrySend::Sent(Some(r.op.finish(false).clone()));
        }
        if self.buf.len() < cap {
            self.buf.push_back(v);
            return TrySend::Sent(None);
        }
        TrySend::Full(v)
    }

    /// Receives without blocking (Go's `chanrecv` fast paths).
    pub(crate) fn try_recv(&mut self, cap: usize, me: Option<&BlockedOp>) -> TryRecv<T> {
        if let Some(s) = claim_first(&mut self.sendq, me) {
            // SAFETY: we claimed `s`; its slot holds the value it sends.
            let sent = unsafe { s.take() }.expect("a queued sender carries its value");
            let v = if cap == 0 {
                sent
            } else {
                // The buffer is full: take its oldest value and put the
                // sender's at the back, keeping FIFO order.
                let oldest = self.buf.pop_front().expect("a blocked sender means a full buffer");
                self.buf.push_back(sent);
                oldest
            };
            return TryRecv::Ready(Some(v), Some(s.op.finish(false).clone()));
        }
        if let Some(v) = self.buf.pop_front() {
            return TryRecv::Ready(Some(v), None);
        }
        if self.closed {
            return TryRecv::Ready(None, None);
        }
        TryRecv::Empty
    }

    /// Whether a send by `me` could complete now (a select about to claim
    /// itself while registering).
    pub(crate) fn send_ready(&self, cap: usize, me: &BlockedOp) -> bool {
        self.closed || self.buf.len() < cap || has_waiting(&self.recvq, me)
    }

    /// Whether a receive by `me` could complete now.
    pub(crate) fn recv_ready(&self, me: &BlockedOp) -> bool {
        self.closed || !self.buf.is_empty() || has_waiting(&self.sendq, me)
    }

    /// Puts back a value a receive future got but was dropped before it
    /// could return it (`future.rs`): it goes first, as if never received.
    /// A waiting receiver takes it (wake the returned unparker after
    /// unlocking); else it goes to the front of the buffer, whose newest
    /// value moves, if the buffer is full, to an ownerless sender at the
    /// front of the senders (their values are all newer); a rendezvous
    /// channel gets such a sender for the value itself. A closed channel
    /// still hands it to its next receiver, as it does buffered values.
    pub(crate) fn unreceive(&mut self, cap: usize, v: T) -> Option<Unparker> {
        if let Some(r) = claim_first(&mut self.recvq, None) {
            // SAFETY: we claimed `r` (step 1 of the waiter protocol).
            unsafe { r.put(v) };
            return Some(r.op.finish(false).clone());
        }
        let spill = if cap == 0 {
            Some(v)
        } else {
            self.buf.push_front(v);
            (self.buf.len() > cap).then(|| self.buf.pop_back().expect("the buffer holds `v`"))
        };
        if let Some(v) = spill {
            self.sendq.push_front(Waiter::lone_for(Some(v), Unparker::Nobody));
        }
        None
    }

    /// Queues a blocked sender.
    pub(crate) fn push_sender(&mut self, w: Arc<Waiter<T>>) {
        debug_assert!(!self.closed);
        self.sendq.push_back(w);
    }

    /// Queues a blocked receiver.
    pub(crate) fn push_receiver(&mut self, w: Arc<Waiter<T>>) {
        debug_assert!(!self.closed);
        self.recvq.push_back(w);
    }

    /// Removes a waiter that gave up or whose select completed elsewhere.
    pub(crate) fn remove(&mut self, w: &Arc<Waiter<T>>, sender: bool) {
        let q = if sender { &mut self.sendq } else { &mut self.recvq };
        if let Some(i) = q.iter().position(|x| Arc::ptr_eq(x, w)) {
            q.remove(i);
        }
    }

    /// Closes the channel (Go's `closechan`): every waiting receiver gets
    /// nothing, every waiting sender will panic. Returns false if it was
    /// already closed. The unparkers to call after unlocking go in `wake`.
    pub(crate) fn close(&mut self, wake: &mut Vec<Unparker>) -> bool {
        if self.closed {
            return false;
        }
        self.closed = true;
        // An ownerless sender holds a value that was already received once
        // and put back (`unreceive`): it stays, for the receivers to drain
        // like the buffer; every other waiter completes with "closed".
        let senders = std::mem::take(&mut self.sendq);
        for w in self.recvq.drain(..).chain(senders) {
            if w.op.is_ownerless() {
                self.sendq.push_back(w);
            } else if w.op.try_claim(w.case) {
                wake.push(w.op.finish(true).clone());
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::time::Duration;

    use crate::chan::Chan;

    /// A value that counts its drops.
    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The spare's hand-offs between plain threads, small enough for Miri
    /// (`.ci/run` runs it there: the `Arc::into_raw`/`from_raw` round trips
    /// and the resets under `Arc::get_mut`).
    #[test]
    fn spare_waiter_cases_between_threads() {
        let ch = Chan::<Counted>::new(0);
        let drops = Arc::new(AtomicUsize::new(0));
        const ROUNDS: usize = 20;
        let rx = ch.clone();
        let receiver = std::thread::spawn(move || {
            for _ in 0..ROUNDS {
                drop(rx.recv().expect("a value"));
            }
        });
        for _ in 0..ROUNDS {
            ch.send(Counted(drops.clone()));
        }
        receiver.join().unwrap();
        // A blocking select: its case on `ch` gets the spare and is
        // aborted when the other completes.
        let other = Chan::<u8>::new(0);
        let tx = other.clone();
        let sender = std::thread::spawn(move || tx.send(1));
        let got = crate::chan::Select::new().recv(&ch, |v| v.map(|_| 0)).recv(&other, |v| v).wait();
        sender.join().unwrap();
        assert_eq!(got, Some(1));
        assert_eq!(drops.load(Ordering::SeqCst), ROUNDS);
        drop(ch);
    }

    #[test]
    fn a_blocking_operation_reuses_the_channels_spare_waiter() {
        let ch = Chan::<Counted>::new(0);
        let raw = ch.raw.clone().expect("a made channel");
        let drops = Arc::new(AtomicUsize::new(0));
        // Rendezvous with a goroutine, either side blocking first: every
        // value is dropped exactly once (a spare keeps none) and the
        // channel keeps one idle waiter.
        for round in 0..200 {
            let tx = ch.clone();
            let d = drops.clone();
            let h = crate::spawn::spawn(move || tx.send(Counted(d)));
            if round % 2 == 0 {
                std::thread::sleep(Duration::from_micros(100));
            }
            drop(ch.recv().expect("a value"));
            h.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), round + 1, "round {round}");
        }
        let spare = raw.spare.ptr.load(Ordering::SeqCst).cast::<super::Waiter<Counted>>();
        assert!(!spare.is_null(), "no spare waiter after 200 blocking operations");
        // SAFETY: nobody takes the spare while this test looks at it (no
        // operation is in progress on the channel).
        assert!(unsafe { &*spare }.op.is_ownerless(), "the spare keeps its last owner alive");
        // A receive that blocks takes the spare and puts the same
        // allocation back.
        let tx = ch.clone();
        let d = drops.clone();
        let h = crate::spawn::spawn(move || {
            crate::time::sleep(Duration::from_millis(20));
            tx.send(Counted(d));
        });
        drop(ch.recv().expect("a value"));
        h.join().unwrap();
        assert_eq!(
            raw.spare.ptr.load(Ordering::SeqCst).cast::<super::Waiter<Counted>>(),
            spare,
            "the blocking receive did not reuse the spare"
        );
        assert_eq!(drops.load(Ordering::SeqCst), 201);
    }

    #[test]
    fn a_worker_waiting_for_a_channel_lock_is_not_reported_as_blocked() {
        // A worker whose goroutine waits for a channel's lock waits in the
        // kernel while the holder's thread is off its CPU (more workers
        // than CPUs). sysmon saw a thread out of its CPU on one goroutine
        // for 20 ms and reported a blocking call: "has blocked worker ...
        // run blocking calls through go::runtime::blocking", and handed
        // the worker's work to another thread. Here a plain thread holds
        // the lock for 100 ms.
        static REPORTED: AtomicU64 = AtomicU64::new(0);
        crate::runtime::set_stall_hook(|s| REPORTED.store(s.goroutine, Ordering::SeqCst));
        let ch = Chan::<u8>::new(1);
        let raw = ch.raw.clone().expect("a made channel");
        // The goroutine starts and parks before the lock is taken, so that
        // its run up to the lock wait is short however slowly it started
        // (under an emulator a start took longer than sysmon's 20 ms).
        let (started, go_ahead) = (Chan::<()>::new(1), Chan::<()>::new(1));
        let (s, g) = (started.clone(), go_ahead.clone());
        let h = crate::spawn::spawn(move || {
            s.send(());
            g.recv();
            ch.send(1);
            crate::coroutine::current_id()
        });
        started.recv();
        std::thread::sleep(Duration::from_millis(10));
        let held = raw.lock();
        go_ahead.send(());
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        let id = h.join().unwrap();
        assert_ne!(REPORTED.load(Ordering::SeqCst), id, "a wait for a channel lock was reported");
    }
}
