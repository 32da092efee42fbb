//! Starting goroutines: [`spawn`], [`Builder`], and their [`JoinHandle`]
//! (`handle.rs`); an unjoined panic's report (`crash.rs`).

mod crash;
mod handle;

use std::any::Any;
use std::io;
use std::panic::Location;

pub use self::handle::JoinHandle;
pub(crate) use self::handle::PanicPolicy;
use self::handle::Task;
use crate::coroutine::MAX_STACK_SIZE;
use crate::scheduler::{self, SpawnOpts};

/// The usable stack size of the main goroutine (`#[go::main]`, `go::run`)
/// unless `#[go::main(stack_size = N)]` says otherwise: 8 MiB, as deep as a
/// main thread (reserved, not committed: untouched pages cost nothing).
///
/// # Example
/// ```
/// assert_eq!(go::runtime::MAIN_STACK_SIZE, 8 << 20);
/// ```
pub const MAIN_STACK_SIZE: usize = 8 << 20;

/// What `join` returns: the goroutine's value, or the payload of its panic.
///
/// # Example
/// ```
/// let r: go::Result<u8> = go::spawn(|| 7).join();
/// assert_eq!(r.unwrap(), 7);
/// ```
pub type Result<T> = std::result::Result<T, Box<dyn Any + Send + 'static>>;

/// Configures a goroutine before spawning it: its stack size, its name, and
/// the `unsafe` migration opt-in.
///
/// # Example
/// ```
/// // A deep recursion needs a bigger stack than the default.
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
    /// least 16 KiB, at most 1 GiB: a larger size makes `spawn` return an
    /// error). The memory is reserved, not committed: only the pages the
    /// goroutine touches cost RAM.
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
    /// between two blocking calls are fine. (A goroutine that blocks while
    /// it unwinds from a panic stays on its thread from then on: std counts
    /// panics per thread.)
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
        self.spawn_at(f, Location::caller(), PanicPolicy::Join)
    }

    /// `spawn`, with the spawn site given, and what becomes of a panic.
    pub(crate) fn spawn_at<F, T>(
        self,
        f: F,
        site: &'static Location<'static>,
        policy: PanicPolicy,
    ) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if let Some(n) = self.stack_size
            && n > MAX_STACK_SIZE
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "goroutine stack size {n} bytes exceeds the maximum of {MAX_STACK_SIZE} bytes \
                     (1 GiB; Go's limit is 1 GB)"
                ),
            ));
        }
        let task = Task::new(f, policy);
        let opts = SpawnOpts {
            site,
            name: self.name.map(String::into_boxed_str),
            stack_size: self.stack_size,
            migratable: self.migratable,
            main: policy == PanicPolicy::Crash,
        };
        let id = scheduler::spawn(opts, task.clone())?;
        Ok(JoinHandle::new(task, id))
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
    match Builder::new().spawn_at(f, site, PanicPolicy::Join) {
        Ok(h) => h,
        Err(e) => panic!("{e}"),
    }
}
