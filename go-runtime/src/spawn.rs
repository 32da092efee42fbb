//! Starting goroutines: `spawn`, `Builder`, `JoinHandle`.
//!
//! A goroutine's result travels in a `Packet` shared by the goroutine and its
//! `JoinHandle`. The packet's lock orders the two events that decide what
//! happens to a panic: the goroutine finishing, and the handle being dropped.
//! Finished first: the result waits in the packet for `join` (and a panic
//! still unjoined when the handle drops kills the process, as in Go). Dropped
//! first: the goroutine is detached, and its panic kills the process at once.

use std::any::Any;
use std::fmt;
use std::io;
use std::panic::{AssertUnwindSafe, Location};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use crate::coroutine::stack::{self, round_stack_size};
use crate::coroutine::{Goroutine, Spec};
use crate::panic::{CrashInfo, crash};
use crate::park::{self, Unparker};
use crate::scheduler::{self, runtime, worker};

/// What `join` returns: the goroutine's value, or the payload of its panic.
pub type Result<T> = std::result::Result<T, Box<dyn Any + Send + 'static>>;

/// Where the result meets the handle.
struct Packet<T> {
    /// All of the packet's state, under one short lock.
    state: Mutex<PacketState<T>>,
}

struct PacketState<T> {
    /// The goroutine's outcome, until `join` takes it.
    result: Option<Result<T>>,
    /// Where a panic came from, for the crash report.
    crash: Option<CrashInfo>,
    /// The handle was dropped: nobody will join.
    detached: bool,
    /// Who waits in `join`.
    joiner: Option<Unparker>,
}

impl<T> Packet<T> {
    fn new() -> Self {
        Packet {
            state: Mutex::new(PacketState {
                result: None,
                crash: None,
                detached: false,
                joiner: None,
            }),
        }
    }

    /// Called by the goroutine as its last act.
    fn complete(&self, result: Result<T>, repanicked: bool) {
        let crash_info = result.is_err().then(|| {
            CrashInfo::current(repanicked).expect("a goroutine completes on its own stack")
        });
        let mut st = self.state.lock();
        if st.detached {
            drop(st);
            if let (Err(payload), Some(info)) = (&result, &crash_info) {
                crash(payload.as_ref(), info);
            }
            return;
        }
        st.result = Some(result);
        st.crash = crash_info;
        let joiner = st.joiner.take();
        drop(st);
        if let Some(j) = joiner {
            j.unpark();
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
    packet: Arc<Packet<T>>,
    /// The goroutine's id.
    id: u64,
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<T> JoinHandle<T> {
    /// Waits for the goroutine to finish and returns its value, or the panic
    /// payload if it panicked. On a goroutine only the caller waits; on a plain
    /// thread the thread blocks.
    pub fn join(self) -> Result<T> {
        loop {
            {
                let mut st = self.packet.state.lock();
                if let Some(r) = st.result.take() {
                    return r;
                }
                st.joiner = Some(Unparker::current());
            }
            park::park();
        }
    }

    /// Whether the goroutine has finished (its result is waiting for `join`).
    pub fn is_finished(&self) -> bool {
        self.packet.state.lock().result.is_some()
    }

    /// The goroutine's id (as `go::runtime::goroutine_id` reports inside it).
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let mut st = self.packet.state.lock();
        st.detached = true;
        st.joiner = None;
        if let Some(Err(payload)) = st.result.take() {
            let info = st.crash.take().expect("a panic result carries its report");
            drop(st);
            crash(payload.as_ref(), &info);
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
    pub fn new() -> Self {
        Builder::default()
    }

    /// Names the goroutine.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the usable stack size in bytes (rounded up to a power of two, at
    /// least 16 KiB). The memory is reserved, not committed: only the pages
    /// the goroutine touches cost RAM.
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
    pub unsafe fn migratable(mut self) -> Self {
        self.migratable = true;
        self
    }

    /// Spawns `f` as a new goroutine.
    ///
    /// # Errors
    /// When no stack can be mapped: the message names the limit that was
    /// probably reached (`vm.max_map_count`, address space, memory).
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
        let parent = worker::current_gref().map_or(0, |g| g.id());
        let id = rt.next_id();
        let packet = Arc::new(Packet::new());
        let theirs = Arc::clone(&packet);
        let body = move || {
            let result = std::panic::catch_unwind(AssertUnwindSafe(f));
            theirs.complete(result, repanicked);
        };
        let spec = Spec {
            id,
            parent,
            spawn_site: site,
            name: self.name.map(String::into_boxed_str),
            migratable: self.migratable || rt.migrate_all.load(Ordering::Relaxed),
        };
        let g = Goroutine::new(spec, size, Box::new(body));
        rt.live.fetch_add(1, Ordering::Relaxed);
        if scheduler::submit(g) {
            // A long queue on this worker: let it drain (see `submit`).
            park::yield_now();
        }
        Ok(JoinHandle { packet, id })
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
