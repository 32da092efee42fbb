//! A goroutine: its control block, its state machine and its stack. The
//! lowest layer of the runtime (docs/design.md, "Layers"): it imports only
//! the leaves `clock` and `report`.
//!
//! Design note: `README.md` beside this file (states, the park/unpark
//! protocol, why a started goroutine stays on its home thread, stack layout).
//!
//! # Invariants
//! - `body`, `coroutine` and `guard` are touched only by the one thread that
//!   holds the goroutine *to run it* (it popped it from a run queue, or is
//!   finishing it); the state machine makes that holder unique (see
//!   `README.md`, "Ownership").
//! - Before the first run `body` is `Some` and `coroutine` is `None`: an
//!   unstarted goroutine owns no stack. The first run moves `body` onto a
//!   stack taken from the running worker's cache.
//! - `yielder` is written once, by the goroutine itself when it first runs,
//!   and read only by the goroutine itself.
//! - A started goroutine whose `migratable` is false is resumed only on the
//!   worker thread whose index is in `home`.

mod current;
mod grow;
mod guards;
mod locals;
mod overflow;
mod panics;
mod stack;
mod wait_reason;

use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};

use corosensei::{Coroutine, CoroutineResult, Yielder};

pub(crate) use self::current::{current_id, current_ptr, current_ref, on_goroutine};
pub(crate) use self::grow::maybe_grow;
pub(crate) use self::guards::set_ready_hook;
pub(crate) use self::locals::{LocalBox, Locals, drop_current};
pub(crate) use self::overflow::{ensure_alt_stack, install_handler as install_overflow_handler};
pub(crate) use self::panics::{
    PanicRecord, install_hook as install_panic_hook, run_deferred, take_replacement,
};
pub(crate) use self::stack::{
    GoStack, MAX_STACK_SIZE, StackCache, ensure_available_shared, round_stack_size,
};
pub use self::wait_reason::WaitReason;
use crate::{clock, report, trace};

/// Why a goroutine handed control back to its worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Suspend {
    /// `gosched`: runnable again at once, at the back of the queue.
    Yield,
    /// Waiting for [`Goroutine::unpark`].
    Park,
}

/// What resuming a goroutine led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resumed {
    /// It suspended with this reason.
    Suspended(Suspend),
    /// Its body returned; its stack can be reused.
    Finished,
}

/// Why a worker resumes a goroutine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resume {
    /// To run it.
    Run,
    /// Only to record its stack, for a report: a parked goroutine records
    /// it and suspends again at once (`Goroutine::capture_stack`).
    CaptureStack,
}

/// The coroutine type of every goroutine.
type Coro = Coroutine<Resume, Suspend, (), GoStack>;

/// A goroutine's code: run once, on the goroutine's stack.
pub(crate) trait Run: Send + Sync + 'static {
    /// Runs the code and delivers its outcome.
    fn run(self: Arc<Self>);
}

/// A goroutine's code, shared with its `JoinHandle` until it gets a stack.
pub(crate) type Body = Arc<dyn Run>;

/// A shared reference to a goroutine: what run queues, timers and wait lists hold.
pub(crate) type GRef = Arc<Goroutine>;

/// In a run queue (or about to be pushed to one).
const RUNNABLE: u8 = 0;
/// A worker is running it.
const RUNNING: u8 = 1;
/// Suspended in `park`; only an `unpark` brings it back.
const PARKED: u8 = 2;
/// Running, and an `unpark` came in: its next `park` returns at once.
const NOTIFIED: u8 = 3;
/// Parked, and held by a report recording its stack (`capture_stack`)
/// or by a sweep taking its stack's guard (`release_guard`); an `unpark`
/// now is left for the holder to act on.
const HELD: u8 = 4;
/// `HELD`, and an `unpark` came in: the holder queues it when done.
const HELD_NOTIFIED: u8 = 5;
/// Its body returned (it stays so until the allocation is recycled).
const DONE: u8 = 6;

/// `Goroutine::guard_state`: its guard needs no care (it is installed with
/// `MADV_GUARD_INSTALL`, or the goroutine has no stack yet).
const GUARD_FIXED: u8 = 0;
/// An `mprotect` guard, and the goroutine is not tracked (`guards.rs`).
const GUARD_ON: u8 = 1;
/// An `mprotect` guard, and the goroutine is tracked: a sweep may take it.
const GUARD_TRACKED: u8 = 2;
/// A sweep took the guard: it must be put back before the goroutine runs.
const GUARD_OFF: u8 = 3;

/// `home` before the goroutine first ran: any worker may run it.
pub(crate) const NO_HOME: u32 = u32::MAX;

/// The control block of one goroutine (Go's `g`).
pub(crate) struct Goroutine {
    /// `RUNNABLE`, `RUNNING`, `PARKED`, `NOTIFIED`, `HELD`,
    /// `HELD_NOTIFIED` or `DONE` (see README, "States").
    state: AtomicU8,
    /// Whether its stack's guard is an `mprotect` one, tracked, or taken
    /// (`GUARD_*`). Touched only by its holder (a worker running it, or a
    /// sweep holding it parked).
    guard_state: Cell<u8>,
    /// Its slot in the table of tracked goroutines, or `guards::UNTRACKED`.
    /// Touched only by its holder.
    tracked: Cell<u32>,
    /// Go's goroutine id: 1 for the first goroutine, then increasing.
    id: u64,
    /// Id of the goroutine that spawned this one (0: a plain thread).
    parent: u64,
    /// Where `spawn` was called.
    spawn_site: &'static Location<'static>,
    /// The name given with `Builder::name`.
    name: Option<Box<str>>,
    /// May be resumed on any worker after it started (the `unsafe` opt-in).
    /// Cleared for good by the goroutine itself when it switches out while
    /// unwinding (`suspend`); read by wakers and thieves (Relaxed: the
    /// switch's park or requeue publishes it, as it does the goroutine).
    migratable: AtomicBool,
    /// The program's main goroutine (`#[go::main]`, `go::run`): reports
    /// name no creator for it, as Go's for goroutine 1.
    main: bool,
    /// Index of the worker it runs on once started (`NO_HOME` before). Written
    /// by the worker that runs it, before resuming it (Release); read by
    /// wakers (Acquire) to find the inbox to push to.
    home: AtomicU32,
    /// The guard page range of its stack once it has one, for the overflow
    /// handler (which reads it on the thread running the goroutine).
    guard: Cell<(usize, usize)>,
    /// The top of the stack `guard` belongs to (a sweep takes the guards of
    /// neighbouring stacks with one call, `guards.rs`).
    guard_top: Cell<usize>,
    /// Usable bytes of its stack (a size class).
    stack_size: usize,
    /// What it will run, until its first run puts it on a stack.
    body: UnsafeCell<Option<Body>>,
    /// The coroutine; `None` before the first run and once finished.
    coroutine: UnsafeCell<Option<Coro>>,
    /// The coroutine's yielder, set by the goroutine on its first run.
    yielder: Cell<*const Yielder<Resume, Suspend>>,
    /// The stack recorded by a `Resume::CaptureStack`, until the capturer
    /// takes it.
    captured: UnsafeCell<Option<Box<Backtrace>>>,
    /// Its latest panic and the panics that one replaced, recorded by the
    /// panic hook for the crash report (`panics.rs`).
    panic: UnsafeCell<Option<Box<PanicRecord>>>,
    /// Its goroutine-local values (`goroutine_local!`).
    locals: UnsafeCell<Locals>,
    /// Why it last parked (a `WaitReason`), for dumps and deadlock
    /// detection; meaningful while `state` is `PARKED`. Written by the
    /// goroutine itself before it parks, read by anyone (Relaxed: a hint).
    wait_reason: AtomicU8,
    /// When it last parked, in the runtime's coarse milliseconds.
    wait_since: AtomicU64,
    /// Its entry in its home worker's registry (`worker << 32 | slot`), or
    /// `NOT_REGISTERED`. Touched only by the worker running it.
    registry: Cell<u64>,
}

/// `Goroutine::registry` before the first run and after leaving it.
pub(crate) const NOT_REGISTERED: u64 = u64::MAX;

// SAFETY: (the `unsafe impl Send` argument of docs/design.md, "Soundness first")
// 1. The fields other than `body`, `coroutine`, `guard`, `yielder`,
//    `captured`, `panic` and `locals` are atomics or immutable after
//    construction.
// 2. Those seven are touched only by the thread
//    that currently runs the goroutine (module invariants); the run queues
//    hand the goroutine from thread to thread with Release/Acquire, so each
//    holder sees the previous holder's writes.
// 3. The coroutine's stack may hold `!Send` values (a `thread_local!`
//    reference, an `Rc` from `thread_rng()`, a std `MutexGuard`). Moving those
//    to another thread is what `Send` forbids. So a started goroutine is only
//    ever resumed on the thread it started on (`home`), unless it was spawned
//    with the `unsafe` migration opt-in, whose caller promised its stack holds
//    no such value across a blocking call. Before its first run there is no
//    stack, only the `Send` closure given to `spawn`, so any worker may take it.
// 4. Dropping the last reference never runs the coroutine's destructors on
//    another thread: a started, unfinished coroutine is leaked (see `Drop`).
unsafe impl Send for Goroutine {}
// SAFETY: shared access goes through atomics and the single-holder rule of
// points 1-2 above.
unsafe impl Sync for Goroutine {}

impl std::fmt::Debug for Goroutine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Goroutine")
            .field("id", &self.id)
            .field("state", &self.state.load(Ordering::Relaxed))
            .field("spawn_site", &self.spawn_site)
            .finish_non_exhaustive()
    }
}

/// What `Goroutine::new` needs besides the body.
#[derive(Debug)]
pub(crate) struct Spec {
    /// Goroutine id.
    pub(crate) id: u64,
    /// Spawner's goroutine id, 0 from a plain thread.
    pub(crate) parent: u64,
    /// Where `spawn` was called.
    pub(crate) spawn_site: &'static Location<'static>,
    /// Optional name.
    pub(crate) name: Option<Box<str>>,
    /// The `unsafe` migration opt-in.
    pub(crate) migratable: bool,
    /// The program's main goroutine.
    pub(crate) main: bool,
}

impl Goroutine {
    /// Makes a goroutine that will run `body` on a stack of `stack_size`
    /// usable bytes (a size class), taken when it first runs. Reuses the
    /// allocation of `recycled` (a finished goroutine from `recycle`) if given.
    pub(crate) fn new(recycled: Option<GRef>, spec: Spec, stack_size: usize, body: Body) -> GRef {
        let fresh = Goroutine {
            state: AtomicU8::new(RUNNABLE),
            guard_state: Cell::new(GUARD_FIXED),
            tracked: Cell::new(guards::UNTRACKED),
            id: spec.id,
            parent: spec.parent,
            spawn_site: spec.spawn_site,
            name: spec.name,
            migratable: AtomicBool::new(spec.migratable),
            main: spec.main,
            home: AtomicU32::new(NO_HOME),
            guard: Cell::new((0, 0)),
            guard_top: Cell::new(0),
            stack_size,
            body: UnsafeCell::new(Some(body)),
            coroutine: UnsafeCell::new(None),
            yielder: Cell::new(std::ptr::null()),
            captured: UnsafeCell::new(None),
            panic: UnsafeCell::new(None),
            locals: UnsafeCell::new(Vec::new()),
            wait_reason: AtomicU8::new(0),
            wait_since: AtomicU64::new(0),
            registry: Cell::new(NOT_REGISTERED),
        };
        match recycled {
            Some(mut g) => {
                *Arc::get_mut(&mut g).expect("a recycled goroutine is unshared") = fresh;
                g
            }
            None => Arc::new(fresh),
        }
    }

    /// Whether this finished goroutine's allocation can be reused: nothing
    /// else references it.
    pub(crate) fn recyclable(g: &mut GRef) -> bool {
        Arc::get_mut(g).is_some()
    }

    /// First run: puts the body on `stack` as a coroutine.
    ///
    /// # Safety
    /// The caller is the unique holder (as for `resume`) and the goroutine
    /// has not started.
    unsafe fn make_coroutine(&self, stack: GoStack) -> Coro {
        // SAFETY: unique holder (caller's contract).
        let body = unsafe { (*self.body.get()).take() }.expect("goroutine started twice");
        self.guard.set(stack.guard_range());
        self.guard_top.set(stack.top());
        if stack.protected() {
            self.guard_state.set(GUARD_ON);
        }
        let this: *const Goroutine = self;
        Coro::with_stack(stack, move |yielder: &Yielder<Resume, Suspend>, _first: Resume| {
            // SAFETY: the goroutine outlives its coroutine (it owns it), and
            // only the goroutine itself touches `yielder` (module invariants).
            unsafe { (*this).yielder.set(yielder) };
            body.run();
        })
    }

    /// Records why the goroutine is about to park (called by itself).
    pub(crate) fn set_wait_reason(&self, why: WaitReason) {
        self.wait_reason.store(why as u8, Ordering::Relaxed);
        self.wait_since.store(clock::coarse_millis(), Ordering::Relaxed);
    }

    /// Why it last parked, and since when (coarse milliseconds).
    pub(crate) fn wait_reason(&self) -> (WaitReason, u64) {
        (
            WaitReason::from_u8(self.wait_reason.load(Ordering::Relaxed)),
            self.wait_since.load(Ordering::Relaxed),
        )
    }

    /// Whether it is parked (a hint: it may change at once).
    pub(crate) fn is_parked(&self) -> bool {
        // Acquire pairs with the AcqRel CAS in `commit_park`: a reader
        // that sees PARKED sees the wait reason stored before it.
        matches!(self.state.load(Ordering::Acquire), PARKED | HELD | HELD_NOTIFIED)
    }

    /// Whether it is running on a worker now (a hint).
    pub(crate) fn is_running(&self) -> bool {
        // Relaxed: a hint for dumps; nothing is read through it.
        matches!(self.state.load(Ordering::Relaxed), RUNNING | NOTIFIED)
    }

    /// Its registry entry (see the field).
    pub(crate) fn registry(&self) -> &Cell<u64> {
        &self.registry
    }

    /// Go's goroutine id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The spawner's goroutine id (0 for a plain thread).
    pub(crate) fn parent(&self) -> u64 {
        self.parent
    }

    /// Where the goroutine was spawned.
    pub(crate) fn spawn_site(&self) -> &'static Location<'static> {
        self.spawn_site
    }

    /// The name given at spawn, if any.
    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether it may resume on any worker (the `unsafe` opt-in).
    pub(crate) fn migratable(&self) -> bool {
        // Relaxed: see the field.
        self.migratable.load(Ordering::Relaxed)
    }

    /// The worker it is bound to, or `NO_HOME` before its first run.
    pub(crate) fn home(&self) -> u32 {
        // Acquire pairs with the Release in `set_home`.
        self.home.load(Ordering::Acquire)
    }

    /// Whether a worker may steal it: it never ran, or it opted in to migration.
    pub(crate) fn stealable(&self) -> bool {
        self.migratable() || self.home() == NO_HOME
    }

    /// The guard page range of its stack.
    pub(crate) fn guard(&self) -> (usize, usize) {
        self.guard.get()
    }

    /// Replaces the guard range the overflow handler checks (by
    /// `maybe_grow`, on the goroutine itself), returning the previous one.
    fn swap_guard(&self, (guard, top): ((usize, usize), usize)) -> ((usize, usize), usize) {
        (self.guard.replace(guard), self.guard_top.replace(top))
    }

    /// Usable bytes of its stack.
    pub(crate) fn stack_size(&self) -> usize {
        self.stack_size
    }

    /// Whether it is the program's main goroutine.
    pub(crate) fn is_main(&self) -> bool {
        self.main
    }

    /// Its panic record.
    ///
    /// # Safety
    /// Only the goroutine itself calls this, while it runs (module
    /// invariants), and it holds no reference into the record across a
    /// panic (the hook writes it).
    pub(crate) unsafe fn panic_record(&self) -> *mut Option<Box<PanicRecord>> {
        self.panic.get()
    }

    /// Its goroutine-local values.
    ///
    /// # Safety
    /// Only the goroutine itself calls this, while it runs (module
    /// invariants), and it holds no reference into the list itself across a
    /// call that may touch it again.
    pub(crate) unsafe fn locals(&self) -> *mut Locals {
        self.locals.get()
    }

    /// Drops its goroutine-local values (when it has finished).
    ///
    /// # Safety
    /// As for [`Goroutine::take_stack`].
    pub(crate) unsafe fn drop_locals(&self) {
        // SAFETY: unique holder, and the goroutine no longer runs.
        drop(unsafe { std::mem::take(&mut *self.locals.get()) });
    }

    /// Resumes the goroutine on the calling worker thread, until it suspends
    /// or finishes, as the thread's current goroutine. On its first run it
    /// takes a stack from `stacks`.
    ///
    /// # Safety
    /// The caller holds the goroutine to run it (it took it from a run queue),
    /// is a worker thread with index `worker`, and `worker` is the goroutine's
    /// home unless the goroutine is unstarted or migratable.
    pub(crate) unsafe fn resume(&self, worker: u32, stacks: &RefCell<StackCache>) -> Resumed {
        debug_assert!(self.stealable() || self.home() == worker);
        // Release pairs with the Acquire in `home()`: a waker that reads the
        // new home also sees everything this worker did before.
        self.home.store(worker, Ordering::Release);
        self.state.store(RUNNING, Ordering::Relaxed);
        // SAFETY: we are the unique holder (caller's contract).
        let coro = unsafe { &mut *self.coroutine.get() };
        let coro = match coro {
            Some(coro) => {
                self.reguard_if_needed();
                coro
            }
            None => {
                let stack = stacks.borrow_mut().take(self.stack_size);
                let stack = stack
                    .and_then(GoStack::guarded)
                    .unwrap_or_else(|e| report::fatal(&e.to_string()));
                // SAFETY: unique holder, and no coroutine yet: not started.
                coro.insert(unsafe { self.make_coroutine(stack) })
            }
        };
        // The goroutine is "current" exactly while it runs on this thread:
        // the panic hook, the overflow handler and every primitive it calls
        // find it through `current`.
        let outer = current::set(self);
        let r = coro.resume(Resume::Run);
        current::set(outer);
        match r {
            CoroutineResult::Yield(s) => Resumed::Suspended(s),
            CoroutineResult::Return(()) => {
                // Relaxed: nothing is published through it; a sweep that
                // reads it only skips the goroutine.
                self.state.store(DONE, Ordering::Relaxed);
                Resumed::Finished
            }
        }
    }

    /// Takes the finished coroutine's stack for reuse.
    ///
    /// # Safety
    /// As for [`Goroutine::resume`], and the last resume returned `Finished`.
    pub(crate) unsafe fn take_stack(&self) -> GoStack {
        // SAFETY: unique holder (caller's contract).
        let coro = unsafe { (*self.coroutine.get()).take() };
        coro.expect("goroutine already released its stack").into_stack()
    }

    /// Hands control back to the worker. Called by the goroutine itself.
    ///
    /// # Safety
    /// The caller runs on this goroutine's own stack.
    #[inline]
    pub(crate) unsafe fn suspend(&self, why: Suspend) {
        if self.migratable() && std::thread::panicking() {
            self.stay_home();
        }
        let y = self.yielder.get();
        debug_assert!(!y.is_null());
        // SAFETY: `y` was set by this goroutine on its first run and points
        // into its own stack, which we are running on (caller's contract).
        let mut resumed = unsafe { (*y).suspend(why) };
        // A capture resumed us only to record the stack (only a parked
        // goroutine is captured): do that and suspend again, still parked.
        while why == Suspend::Park && resumed == Resume::CaptureStack {
            self.record_stack();
            // SAFETY: as above.
            resumed = unsafe { (*y).suspend(Suspend::Park) };
        }
    }

    /// Gives up migration for good: a goroutine that switches out while it
    /// unwinds must finish on this thread, whose panic count its panic
    /// raised (std counts panics per thread; finishing elsewhere would leave
    /// this thread's count raised and take the other's below zero).
    #[cold]
    fn stay_home(&self) {
        // Relaxed: see the field.
        self.migratable.store(false, Ordering::Relaxed);
    }

    /// Records this goroutine's stack, running on it (for `capture_stack`).
    /// Never inlined and touching no thread-local of its own: it may run on
    /// a thread other than the goroutine's home (`capture_stack` says why
    /// that is sound).
    #[cold]
    #[inline(never)]
    fn record_stack(&self) {
        let stack = Box::new(Backtrace::force_capture());
        // SAFETY: the capturer holds the goroutine (its contract) and reads
        // `captured` only after this resume returns.
        unsafe { *self.captured.get() = Some(stack) };
    }

    /// The stack of a parked goroutine, recorded by the goroutine itself:
    /// the caller takes hold of it (`PARKED -> HELD`), resumes it with
    /// `Resume::CaptureStack` on the calling thread, where it records its
    /// stack and suspends again at once, and lets it go (`HELD ->
    /// PARKED`). Returns `None` if the goroutine was not parked (running,
    /// runnable, or held by someone else) or never ran; else its stack,
    /// and whether an `unpark` came in meanwhile: then it is `RUNNABLE` and
    /// the caller must queue it, as that waker would have.
    ///
    /// Only `record_stack` runs on the goroutine meanwhile: no user code,
    /// and nothing that reads the goroutine's thread-bound state, so it
    /// may run on any thread (README, "Capturing a parked goroutine's
    /// stack"). The `HELD` state keeps every waker and worker away.
    /// (The goroutine itself, running, can never hold it: calling this on
    /// oneself returns `None`.)
    pub(crate) fn capture_stack(&self) -> Option<(Option<Backtrace>, bool)> {
        self.hold().ok()?;
        // SAFETY: `HELD` makes us the only holder: nobody queues,
        // resumes or frees the coroutine until we leave that state.
        let coro = unsafe { &mut *self.coroutine.get() };
        let stack = coro.as_mut().and_then(|coro| {
            // Nothing runs on a stack without its guard, not even this;
            // a guard put back only for it is taken again after.
            let was_off = self.guard_state.get() == GUARD_OFF;
            self.reguard_if_needed();
            let outer = current::set(self);
            let r = coro.resume(Resume::CaptureStack);
            current::set(outer);
            debug_assert!(matches!(r, CoroutineResult::Yield(Suspend::Park)));
            if was_off {
                let (lo, hi) = self.guard.get();
                if guards::unprotect(lo, hi - lo, 1) {
                    self.guard_state.set(GUARD_OFF);
                }
            }
            // SAFETY: the goroutine wrote it before suspending again.
            unsafe { (*self.captured.get()).take() }.map(|b| *b)
        });
        Some((stack, self.let_go()))
    }

    /// Takes hold of a parked goroutine (`PARKED -> HELD`), or returns the
    /// state it is in instead.
    fn hold(&self) -> Result<(), u8> {
        // Acquire pairs with the Release of `commit_park` (or of the
        // previous holder's `let_go`): we see the goroutine's stack and
        // control block as its last holder left them.
        self.state.compare_exchange(PARKED, HELD, Ordering::AcqRel, Ordering::Relaxed).map(|_| ())
    }

    /// Lets go of a goroutine taken with `hold`: `HELD -> PARKED`. Returns
    /// true if an `unpark` came in meanwhile: then it is `RUNNABLE` and the
    /// caller must queue it, as the waker would have.
    fn let_go(&self) -> bool {
        // Release pairs with the Acquire of the next `unpark` (or `hold`), or
        // the caller's queue push does: whoever takes it next sees what we
        // did while holding it.
        let woken =
            self.state.compare_exchange(HELD, PARKED, Ordering::AcqRel, Ordering::Acquire).is_err();
        if woken {
            debug_assert_eq!(self.state.load(Ordering::Relaxed), HELD_NOTIFIED);
            // Relaxed: the queue push that follows (the caller's) publishes.
            self.state.store(RUNNABLE, Ordering::Relaxed);
        }
        woken
    }

    /// Called by its worker when it parked, still holding it: a goroutine
    /// with an `mprotect` guard becomes a candidate for a sweep
    /// (`guards.rs`, protocol step 2).
    #[inline]
    pub(crate) fn note_parked(g: &GRef) {
        if g.guard_state.get() == GUARD_ON {
            g.guard_state.set(GUARD_TRACKED);
            guards::track(g);
        }
    }

    /// Called by its worker when it finished: leaves the sweep's table.
    #[inline]
    pub(crate) fn note_finished(&self) {
        if self.guard_state.get() == GUARD_TRACKED {
            guards::untrack(self);
        }
    }

    /// A sweep takes hold of a parked goroutine (`guards.rs`, protocol
    /// step 3). Returns `None` if it could not (running, queued, held by
    /// someone else, finished); else the goroutine's guard `(lo, hi)` and
    /// the top of its stack if a sweep may take that guard, and the caller
    /// must end the hold with [`Goroutine::end_sweep_hold`].
    pub(super) fn hold_for_sweep(&self) -> Option<Option<((usize, usize), usize)>> {
        self.hold().ok()?;
        // We hold it: `guard_state`, `guard` and `guard_top` are ours.
        let tracked = self.guard_state.get() == GUARD_TRACKED;
        Some(tracked.then(|| (self.guard.get(), self.guard_top.get())))
    }

    /// Ends a sweep's hold: `released` says whether the guard was taken.
    /// Returns true if an `unpark` came in meanwhile: then the caller must
    /// queue the goroutine.
    pub(super) fn end_sweep_hold(&self, released: bool) -> bool {
        if released {
            guards::untrack(self);
            self.guard_state.set(GUARD_OFF);
        }
        self.let_go()
    }

    /// Puts back the guard a sweep took, before the goroutine runs
    /// (`guards.rs`, protocol step 4). Called by its holder.
    #[inline]
    fn reguard_if_needed(&self) {
        if self.guard_state.get() == GUARD_OFF {
            self.reguard();
        }
    }

    #[cold]
    #[inline(never)]
    fn reguard(&self) {
        let (lo, hi) = self.guard.get();
        if let Err(e) = guards::protect(lo, hi - lo) {
            report::fatal(&stack::guard_error(e).to_string());
        }
        self.guard_state.set(GUARD_ON);
    }

    /// After the goroutine suspended with `Park`: tries to move it from
    /// `RUNNING` to `PARKED`. Returns false if an `unpark` arrived in between
    /// (state `NOTIFIED`): then it is runnable again and the caller requeues it.
    pub(crate) fn commit_park(&self) -> bool {
        // Release pairs with the Acquire in `unpark`: the waker that moves it
        // on sees its stack as this worker left it.
        match self.state.compare_exchange(RUNNING, PARKED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => true,
            Err(s) => {
                debug_assert_eq!(s, NOTIFIED);
                self.state.store(RUNNABLE, Ordering::Relaxed);
                false
            }
        }
    }

    /// Called by the goroutine itself before suspending with `Park`: consumes a
    /// pending notification. Returns true if there was one (do not suspend).
    pub(crate) fn take_notification(&self) -> bool {
        // AcqRel pairs with the AcqRel CAS in `unpark` that set NOTIFIED:
        // what the waker did before waking us is visible when we go on.
        self.state.compare_exchange(NOTIFIED, RUNNING, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// Marks the goroutine runnable again. Returns true if the caller must
    /// push it onto a run queue (it was parked); false if it was running (its
    /// next park returns at once) or already runnable.
    pub(crate) fn unpark(&self) -> bool {
        // Acquire pairs with the AcqRel CAS in `commit_park` (the first
        // guess at the state; the CAS below is what counts).
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let next = match s {
                RUNNING => NOTIFIED,
                PARKED => RUNNABLE,
                // A capture or a sweep holds it: it queues it when done.
                HELD => HELD_NOTIFIED,
                _ => return false,
            };
            // Acquire pairs with the Release in `commit_park`.
            match self.state.compare_exchange_weak(s, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    if s == PARKED && trace::on() {
                        trace::emit(trace::Kind::Unpark, self.id, current_id(), 0);
                    }
                    return s == PARKED;
                }
                Err(now) => s = now,
            }
        }
    }
}

impl Drop for Goroutine {
    fn drop(&mut self) {
        // (A started goroutine is never dropped while registered: the
        // registry holds a reference until it finishes.)
        // An unstarted goroutine owns only its `Send` body, dropped with it.
        let Some(coro) = self.coroutine.get_mut().take() else {
            return;
        };
        if coro.done() {
            stack::give_shared(coro.into_stack());
        } else {
            // Started and not finished: it is parked and nothing can ever wake
            // it (Go leaks such a goroutine too). Unwinding it here would run
            // its destructors on whatever thread dropped the last reference,
            // which may not be its home thread; freeing the stack without
            // unwinding would break `Pin`'s drop guarantee for values pinned on
            // it. So its stack stays allocated, untouched, forever.
            std::mem::forget(coro);
        }
    }
}
