//! Starting goroutines: `spawn`, `Builder`, `JoinHandle`.
//!
//! A goroutine's closure and its result travel in one allocation, a `Task`,
//! shared by the goroutine (which runs it once) and its `JoinHandle` (which
//! sees only its `Packet`). The packet's lock orders the two events that decide what
//! happens to a panic: the goroutine finishing, and the handle being dropped.
//! Finished first: the result waits in the packet for `join` (and a panic
//! still unjoined when the handle drops kills the process, as in Go). Dropped
//! first: the goroutine is detached, and its panic kills the process at once.

use std::any::Any;
use std::cell::UnsafeCell;
use std::fmt;
use std::io;
use std::panic::{AssertUnwindSafe, Location};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::coroutine::stack::{self, round_stack_size};
use crate::coroutine::{Goroutine, Run, Spec};
use crate::panic::{CrashInfo, crash};
use crate::park::{self, Unparker};
use crate::scheduler::{self, runtime, worker};

/// What `join` returns: the goroutine's value, or the payload of its panic.
///
/// # Example
/// ```
/// let r: go::Result<u8> = go::spawn(|| 7).join();
/// assert_eq!(r.unwrap(), 7);
/// ```
pub type Result<T> = std::result::Result<T, Box<dyn Any + Send + 'static>>;

/// A goroutine's closure and the packet its result goes to.
struct Task<F, T> {
    /// Where the result meets the handle.
    packet: Packet<T>,
    /// The closure; taken by the one call of `Run::run`.
    f: UnsafeCell<Option<F>>,
    /// Spawned by `WaitGroup::go`: a panic is reported as re-panicked.
    repanicked: bool,
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
        let dropped = std::panic::catch_unwind(crate::local::drop_current);
        let result = match (result, dropped) {
            (Ok(_), Err(p)) => Err(p),
            (r, _) => r,
        };
        self.packet.complete(result, self.repanicked);
    }
}

/// The handle's view of a `Task`: its packet, whatever the closure's type.
trait HasPacket<T>: Send + Sync {
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
/// - `joiner`: written by the handle before `WAITING`, then never touched by
///   it; taken by the goroutine only if its `fetch_or(DONE)` saw `WAITING`.
struct Packet<T> {
    /// `DONE | DETACHED | WAITING` bits.
    state: AtomicU8,
    /// The goroutine's outcome.
    result: UnsafeCell<Option<Result<T>>>,
    /// Where a panic came from, for the crash report.
    crash: UnsafeCell<Option<CrashInfo>>,
    /// Who waits in `join`.
    joiner: UnsafeCell<Option<Unparker>>,
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
                *self.crash.get() = CrashInfo::current(repanicked);
            }
            *self.result.get() = Some(result);
        }
        // Release publishes the outcome to the handle's Acquire; Acquire
        // sees the joiner the handle wrote before `WAITING`.
        let prev = self.state.fetch_or(DONE, Ordering::AcqRel);
        if prev & DETACHED != 0 {
            // SAFETY: the handle is gone; the outcome is ours again.
            unsafe { self.crash_if_panicked() };
        } else if prev & WAITING != 0 {
            // SAFETY: the handle wrote `joiner` before `WAITING` and no longer
            // touches it.
            if let Some(j) = unsafe { (*self.joiner.get()).take() } {
                j.unpark();
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
        let p = self.task.packet();
        // Acquire pairs with the AcqRel in `complete`.
        if p.state.load(Ordering::Acquire) & DONE == 0 {
            // SAFETY: the handle writes `joiner` once, before `WAITING`.
            unsafe { *p.joiner.get() = Some(Unparker::current()) };
            // Release publishes the joiner to `complete`'s Acquire.
            if p.state.fetch_or(WAITING, Ordering::AcqRel) & DONE == 0 {
                while p.state.load(Ordering::Acquire) & DONE == 0 {
                    park::park(park::WaitReason::Join);
                }
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

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let p = self.task.packet();
        // Acquire sees the outcome if `DONE` was set first.
        if p.state.fetch_or(DETACHED, Ordering::AcqRel) & DONE != 0 {
            // SAFETY: `DONE` came first and the handle is the only reader; a
            // `join` that already took the result leaves `None`.
            unsafe { p.crash_if_panicked() };
        }
    }
}

/// Configures a goroutine before spawning it: its stack size, its name, and
/// the `unsafe` migration opt-in.
///
/// # Example
/// ```
/// // A deep recursion needs a bigger stack than the 64 KiB default.
/// fn depth(n: u64) -> u64 { if n == 0 { 0 } else { 1 + depth(n - 1) } }
/// let h = go::Builder::new()
///     .name("deep")
///     .stack_size(64 << 20)
///     .spawn(|| depth(200_000))
///     .expect("stack mapped");
/// assert_eq!(h.join().unwrap(), 200_000);
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a Builder does nothing until `spawn` is called"]
pub struct Builder {
    /// Usable stack bytes, rounded up to a power of two (at least 16 KiB).
    stack_size: Option<usize>,
    /// A name, for reports.
    name: Option<String>,
    /// The `unsafe` migration opt-in.
    migratable: bool,
}

impl Builder {
    /// A builder with the runtime's defaults.
    ///
    /// # Example
    /// ```
    /// let h = go::Builder::new().spawn(|| 1).unwrap();
    /// assert_eq!(h.join().unwrap(), 1);
    /// ```
    pub fn new() -> Self {
        Builder::default()
    }

    /// Names the goroutine (see [`runtime::goroutine_name`](crate::runtime::goroutine_name)).
    ///
    /// # Example
    /// ```
    /// let h = go::Builder::new().name("poller").spawn(go::runtime::goroutine_name).unwrap();
    /// assert_eq!(h.join().unwrap().as_deref(), Some("poller"));
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the usable stack size in bytes (rounded up to a power of two, at
    /// least 16 KiB). The memory is reserved, not committed: only the pages
    /// the goroutine touches cost RAM.
    ///
    /// # Example
    /// ```
    /// let h = go::Builder::new()
    ///     .stack_size(16 << 20)
    ///     .spawn(|| std::hint::black_box([1u8; 1 << 20]).len())
    ///     .unwrap();
    /// assert_eq!(h.join().unwrap(), 1 << 20);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Lets the goroutine move to another worker thread whenever it blocks, as
    /// Go's goroutines do, instead of always resuming on the thread it
    /// started on.
    ///
    /// # Safety
    /// Across every blocking call (channel operation, lock, sleep, `join`,
    /// `gosched`...) the goroutine must not hold anything tied to its OS
    /// thread: a reference into a `thread_local!`, an `Rc` obtained from one
    /// (such as `rand::thread_rng()`), a std `MutexGuard` or any other value
    /// that is not `Send`. After the call the goroutine may run on another
    /// thread, where such a value would be a data race. Values held only
    /// between two blocking calls are fine.
    ///
    /// # Example
    /// ```
    /// // SAFETY: the goroutine holds only an integer across `gosched`.
    /// let b = unsafe { go::Builder::new().migratable() };
    /// let h = b.spawn(|| {
    ///     let mut n = 0;
    ///     for _ in 0..10 {
    ///         go::runtime::gosched(); // may resume on another thread
    ///         n += 1;
    ///     }
    ///     n
    /// }).unwrap();
    /// assert_eq!(h.join().unwrap(), 10);
    /// ```
    pub unsafe fn migratable(mut self) -> Self {
        self.migratable = true;
        self
    }

    /// Spawns `f` as a new goroutine.
    ///
    /// # Errors
    /// When no stack can be mapped: the message names the limit that was
    /// probably reached (`vm.max_map_count`, address space, memory).
    ///
    /// # Example
    /// ```
    /// match go::Builder::new().spawn(|| 2 + 2) {
    ///     Ok(h) => assert_eq!(h.join().unwrap(), 4),
    ///     Err(e) => eprintln!("no stack for a goroutine: {e}"),
    /// }
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_at(f, Location::caller(), false)
    }

    /// `spawn`, with the spawn site given, and `WaitGroup::go`'s crash text.
    pub(crate) fn spawn_at<F, T>(
        self,
        f: F,
        site: &'static Location<'static>,
        repanicked: bool,
    ) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let rt = runtime();
        let size = match self.stack_size {
            Some(n) => round_stack_size(n),
            None => rt.stack_size.load(Ordering::Relaxed),
        };
        // The stack is taken when the goroutine first runs; make sure now
        // that one can be had, so that a mapping failure is this call's error.
        match worker::current() {
            Some(w) => w.stacks.borrow_mut().ensure_available(size)?,
            None => stack::ensure_available_shared(size)?,
        }
        let parent = worker::current_goroutine_id();
        let w = worker::current();
        let id = match w {
            Some(w) => w.spawned(),
            None => rt.spawned_outside(),
        };
        let task =
            Arc::new(Task { packet: Packet::new(), f: UnsafeCell::new(Some(f)), repanicked });
        let spec = Spec {
            id,
            parent,
            spawn_site: site,
            name: self.name.map(String::into_boxed_str),
            migratable: self.migratable || rt.migrate_all.load(Ordering::Relaxed),
        };
        let recycled = w.and_then(|w| w.take_recycled());
        let g = Goroutine::new(recycled, spec, size, task.clone());
        if scheduler::submit(g) {
            // A long queue on this worker: let it drain (see `submit`).
            park::yield_now();
        }
        Ok(JoinHandle { task, id })
    }
}

/// Runs `f` in a new goroutine (Go's `go f()`) and returns a handle to join it.
///
/// The closure and its result must be `Send + 'static`: a goroutine may start
/// on any worker thread and outlive the caller. Called from a plain thread,
/// `spawn` starts the global runtime on first use. Dropping the handle
/// detaches the goroutine (see [`JoinHandle`]).
///
/// # Panics
/// If no stack can be mapped for the goroutine (see [`Builder::spawn`] for a
/// fallible version).
///
/// # Compile-time checks
/// What Go's race detector finds at run time is a compile error here: a
/// goroutine cannot share an `Rc` (or a `RefCell`, or a borrowed local)
/// with its spawner.
/// ```compile_fail
/// let counter = std::rc::Rc::new(std::cell::Cell::new(0));
/// let c = counter.clone();
/// go::spawn(move || c.set(c.get() + 1)); // `Rc` is not `Send`
/// ```
/// ```compile_fail
/// let mut counter = 0;
/// go::spawn(|| counter += 1); // borrows a local: not `'static`
/// ```
/// `JoinHandle` can itself be sent to and shared with other goroutines:
/// ```
/// fn assert_send_sync<T: Send + Sync>(_: &T) {}
/// let h = go::spawn(|| 1);
/// assert_send_sync(&h);
/// go::spawn(move || h.join().unwrap()).join().unwrap();
/// ```
///
/// # Example
/// ```
/// use go::sync::WaitGroup;
///
/// let wg = WaitGroup::new();
/// for i in 1..=3 {
///     wg.add(1);
///     let wg = wg.clone();
///     go::spawn(move || {
///         println!("worker {i} started");
///         wg.done();
///     });
/// }
/// wg.wait();
/// ```
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let site = Location::caller();
    match Builder::new().spawn_at(f, site, false) {
        Ok(h) => h,
        Err(e) => panic!("{e}"),
    }
}
