//! Go's concurrency model, in Rust: goroutines, channels, `select`, `sync`,
//! timers and `context` that behave like Go's, on a work-stealing M:N
//! runtime of stackful coroutines. Blocking parks the goroutine, never its
//! OS thread, and every primitive also works from plain threads.
//!
//! | Go | here |
//! |---|---|
//! | `go f(x, &wg)` | [`go!`]`(f(x, &wg))`; [`spawn`] returns a [`JoinHandle`] (drop it to detach), [`Builder`] |
//! | `defer wg.Done()` | [`defer!`]`(wg.done())` |
//! | `chan T`, `make(chan T, n)`, `select` | [`chan::Chan`], [`make!`]`(chan T, n)`, [`select!`] / [`chan::Select`] |
//! | `sync` | [`sync::WaitGroup`], [`waitgroup!`], [`sync::Mutex`], [`sync::RwMutex`], [`sync::Once`], [`sync::Cond`] |
//! | `time` | [`time::sleep`], [`time::after`], [`time::Timer`], [`time::Ticker`] |
//! | `context` | [`context::with_cancel`], [`context::with_timeout`], ... |
//! | `runtime` | [`runtime::gosched`], [`runtime::gomaxprocs`], [`runtime::blocking`], [`runtime::goroutines`], [`runtime::dump`] |
//! | `runtime/trace` | [`runtime::trace::start`], [`runtime::trace::stop`], or `GOTRACE=file` |
//! | `net` | [`net::TcpListener`], [`net::TcpStream`], [`net::UdpSocket`], [`net::copy`] (deadlines like `SetDeadline`) |
//! | `func main` | [`macro@main`], and [`macro@test`] for tests |
//!
//! ```
//! use go::sync::WaitGroup;
//! use go::{defer, go};
//!
//! fn worker(id: u32, wg: &WaitGroup) {
//!     defer!(wg.done());
//!     println!("Worker {id} started");
//! }
//!
//! let wg = WaitGroup::new();
//! for i in 1..=3 {
//!     wg.add(1);
//!     go!(worker(i, &wg));
//! }
//! wg.wait();
//! println!("All workers finished");
//! ```
//!
//! # Soundness first
//! Safe code cannot cause undefined behaviour with this crate. A started
//! goroutine always resumes on the OS thread it started on, because its
//! stack may hold a `thread_local!` reference or another value tied to the
//! thread; idle workers steal only goroutines that have not started.
//! Go-style migration is an `unsafe` opt-in ([`Builder::migratable`]).
//! For per-goroutine state use [`goroutine_local!`] rather than
//! `thread_local!`.

pub use go_macros::{defer, go, goroutine, main, make, select, test, waitgroup};
#[cfg(feature = "tokio")]
pub use go_runtime::tokio_handle;
pub use go_runtime::{
    Builder, GoroutineArg, GoroutineLocal, JoinHandle, Result, Scope, SharedHandle, block_on, chan,
    context, goroutine_local, net, os, panic, run, runtime, scope, spawn, time,
};

/// Go's `sync` package, and `golang.org/x/sync`'s `errgroup` and
/// `semaphore`: primitives that park the goroutine, never the OS thread,
/// and also work from plain threads.
///
/// # Example
/// ```
/// let wg = go::sync::WaitGroup::new();
/// wg.go(|| ());
/// wg.wait();
/// ```
pub mod sync {
    #[doc(inline)]
    pub use go_runtime::errgroup;
    #[doc(inline)]
    pub use go_runtime::sync::*;
}

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
