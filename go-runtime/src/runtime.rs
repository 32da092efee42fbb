//! Go's `runtime` package: the knobs and questions about the scheduler.

pub use crate::blocking::blocking;
pub use crate::coroutine::WaitReason;
pub use crate::scheduler::{GoroutineInfo, GoroutineState, Stall, dump, goroutines};
pub use crate::spawn::MAIN_STACK_SIZE;
use crate::spawn::{Builder, PanicPolicy};
use std::panic::Location;

use crate::coroutine::MAX_STACK_SIZE;
use crate::{coroutine, scheduler};

/// Lets other goroutines run; the caller stays runnable and continues later
/// (Go's `runtime.Gosched`). On a plain thread it yields the OS thread.
///
/// # Example
/// ```
/// // At GOMAXPROCS=1 a spawned goroutine runs when the spawner yields
/// // (docs/go-semantics.md, 12).
/// go::run(|| {
///     let h = go::spawn(|| println!("a"));
///     go::runtime::gosched();
///     println!("b");
///     h.join().unwrap();
/// });
/// ```
pub fn gosched() {
    scheduler::yield_now();
}

/// The number of goroutines that exist: spawned and not yet finished,
/// whether running, runnable or blocked (Go's `runtime.NumGoroutine`).
///
/// # Example
/// ```
/// go::run(|| assert!(go::runtime::num_goroutine() >= 1));
/// ```
pub fn num_goroutine() -> usize {
    scheduler::num_goroutine()
}

/// The current number of Ps (worker threads running goroutines in
/// parallel): Go's `runtime.GOMAXPROCS(0)`.
///
/// Set from the `GOMAXPROCS` environment variable when it holds a positive
/// integer, else from the available parallelism (CPU affinity and cgroup
/// quotas included).
///
/// # Example
/// ```
/// assert!(go::runtime::gomaxprocs() >= 1);
/// ```
pub fn gomaxprocs() -> usize {
    scheduler::gomaxprocs()
}

/// Sets the number of Ps and returns the previous value; `0` only queries
/// (Go's `runtime.GOMAXPROCS(n)`, where `n < 1` queries). Values above 1024
/// (Go's limit) are capped. Raising it starts worker threads;
/// lowering it stops the surplus workers from taking new work, though they
/// still finish the goroutines that started on them.
///
/// # Example
/// ```
/// let old = go::runtime::set_gomaxprocs(0); // query only
/// assert_eq!(go::runtime::set_gomaxprocs(old), old);
/// ```
pub fn set_gomaxprocs(n: usize) -> usize {
    if n == 0 {
        return scheduler::gomaxprocs();
    }
    scheduler::set_gomaxprocs(n)
}

/// The id of the calling goroutine (1 for the first one spawned), or `None`
/// on a plain thread. Go keeps this private; it is handy in logs and tests.
///
/// # Example
/// ```
/// assert_eq!(go::runtime::goroutine_id(), None);
/// let id = go::spawn(|| go::runtime::goroutine_id()).join().unwrap();
/// assert!(id.is_some());
/// ```
pub fn goroutine_id() -> Option<u64> {
    Some(coroutine::current_id()).filter(|&id| id != 0)
}

/// The name given with [`Builder::name`](crate::Builder::name) to the calling
/// goroutine, if any.
///
/// # Example
/// ```
/// let h = go::Builder::new().name("fetcher").spawn(go::runtime::goroutine_name).unwrap();
/// assert_eq!(h.join().unwrap().as_deref(), Some("fetcher"));
/// ```
pub fn goroutine_name() -> Option<String> {
    coroutine::current_ref().and_then(|g| g.name().map(str::to_owned))
}

/// Sets the usable stack size of goroutines spawned from now on without an
/// explicit [`Builder::stack_size`](crate::Builder::stack_size), and returns
/// the previous one (`#[go::main(goroutine_stack_size = N)]` calls it).
/// Rounded up to a power of two, at least 16 KiB. The default is 64 KiB of
/// reserved (not committed) memory; the main goroutine has 8 MiB, as a
/// main thread does.
///
/// # Panics
/// If `bytes` exceeds the 1 GiB maximum (Go's limit is 1 GB).
///
/// # Example
/// ```
/// let old = go::runtime::set_default_stack_size(256 << 10);
/// go::spawn(|| ()).join().unwrap();
/// go::runtime::set_default_stack_size(old);
/// ```
pub fn set_default_stack_size(bytes: usize) -> usize {
    assert!(
        bytes <= MAX_STACK_SIZE,
        "goroutine stack size {bytes} bytes exceeds the maximum of {MAX_STACK_SIZE} bytes"
    );
    scheduler::set_default_stack_size(bytes)
}

/// Runs `f` on a fresh stack segment of `stack_size` usable bytes when fewer
/// than `red_zone` bytes remain on the current stack, else right here: the
/// contract of the `stacker` crate (which rustc uses for its own deep
/// recursion), for goroutines and plain threads alike. Wrap a recursion
/// that may go deeper than the stack (a recursive `Drop` of a long list, a
/// tree walk on untrusted input) at each level, or once at the top with a
/// big segment. The segment is guarded: overflowing it too is Go's
/// `fatal error: stack overflow`, never undefined behaviour.
///
/// # Example
/// ```
/// struct Node(Option<Box<Node>>);
/// // A 100,000-node list: its recursive drop overflows a 64 KiB goroutine.
/// let mut list = None;
/// for _ in 0..100_000 {
///     list = Some(Box::new(Node(list)));
/// }
/// go::spawn(move || {
///     go::runtime::maybe_grow(64 << 10, 64 << 20, || drop(list));
/// })
/// .join()
/// .unwrap();
/// ```
pub fn maybe_grow<R>(red_zone: usize, stack_size: usize, f: impl FnOnce() -> R) -> R {
    coroutine::maybe_grow(red_zone, stack_size, f)
}

/// Lets every goroutine spawned from now on move between worker threads
/// when it blocks, like Go's goroutines, instead of always resuming on the
/// thread it started on. Per goroutine: [`Builder::migratable`](crate::Builder::migratable).
///
/// # Safety
/// Every goroutine spawned after the call, including those spawned by code
/// you did not write, must meet the contract of
/// [`Builder::migratable`](crate::Builder::migratable): hold nothing tied to
/// its OS thread (`thread_local!` references, `Rc`s from thread-locals, std
/// `MutexGuard`s, other `!Send` values) across a blocking call.
pub unsafe fn enable_migration() {
    // SAFETY: the caller's contract is the scheduler's.
    unsafe { scheduler::enable_migration() };
}

/// Runs `f` as a goroutine on the global runtime and blocks the calling
/// thread until it returns: the way a `main` becomes the main goroutine
/// (`#[go::main]` expands to it). Like Go's `main`, a panic in `f` ends the
/// program: `f`'s `defer!`s run, then Go's report (`panic: <value>`, the
/// goroutine and its stack) goes to stderr and the process exits with
/// status 2. The goroutine's stack is [`MAIN_STACK_SIZE`] (8 MiB).
///
/// # Example
/// ```
/// let sum = go::run(|| {
///     let hs: Vec<_> = (1..=10u64).map(|i| go::spawn(move || i * i)).collect();
///     hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
/// });
/// assert_eq!(sum, 385);
/// ```
#[track_caller]
pub fn run<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let h = match Builder::new().stack_size(MAIN_STACK_SIZE).spawn_at(
        f,
        Location::caller(),
        PanicPolicy::Crash,
    ) {
        Ok(h) => h,
        Err(e) => panic!("{e}"),
    };
    match h.join() {
        Ok(v) => v,
        // Not reached: a `Crash` goroutine's panic ends the process.
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// Replaces the report of a goroutine that blocks its worker's thread for
/// 20 ms or more (by default a line on stderr naming the goroutine and its
/// spawn site). sysmon reports each stall once, and brings in another
/// worker if other work is waiting.
///
/// # Example
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// static STALLS: AtomicU64 = AtomicU64::new(0);
/// go::runtime::set_stall_hook(|_stall| {
///     STALLS.fetch_add(1, Ordering::Relaxed);
/// });
/// ```
pub fn set_stall_hook(hook: impl Fn(&Stall) + Send + Sync + 'static) {
    scheduler::set_stall_hook(Box::new(hook));
}

/// Scheduling traces, Go's `runtime/trace`: which goroutine ran on which
/// worker (P) when, why each one blocked, who woke whom, and what sysmon
/// did, as a Chrome trace-event file that [Perfetto](https://ui.perfetto.dev)
/// and `chrome://tracing` open. `examples/trace_view.rs` draws one as an SVG
/// timeline and prints a summary.
///
/// Set `GOTRACE=path` in the environment to record a whole run (the file is
/// written when the process exits), or bracket a part of a program with
/// [`start`](trace::start) and [`stop`](trace::stop).
///
/// Recording costs about one clock read and a 32-byte write per event (a
/// goroutine starting, stopping, being woken); off, each event site costs
/// one load and a branch. The events stay in memory until the recording
/// stops: about 100 bytes per goroutine switch.
pub mod trace {
    use std::io;
    use std::path::Path;

    use crate::coroutine::WaitReason;

    /// Starts recording into a new file at `path` (Go's `trace.Start`).
    ///
    /// # Errors
    /// If the file cannot be created, or `tracing is already enabled`.
    ///
    /// # Example
    /// ```
    /// let path = std::env::temp_dir().join(format!("go-trace-doc-{}.json", std::process::id()));
    /// go::runtime::trace::start(&path)?;
    /// let h = go::spawn(|| 6 * 7);
    /// assert_eq!(h.join().unwrap(), 42);
    /// go::runtime::trace::stop()?;
    /// let json = std::fs::read_to_string(&path)?;
    /// assert!(json.starts_with('{') && json.contains("\"traceEvents\""));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(path: impl AsRef<Path>) -> io::Result<()> {
        crate::trace::start_file(path.as_ref(), WaitReason::name_of)
    }

    /// Stops the recording and writes its file (Go's `trace.Stop`); does
    /// nothing if none is on.
    ///
    /// # Errors
    /// Writing the file.
    ///
    /// # Example
    /// ```
    /// go::runtime::trace::stop()?; // not tracing: nothing to do
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stop() -> io::Result<()> {
        crate::trace::stop_file().map(drop)
    }
}
