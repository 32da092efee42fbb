//! The runtime behind the `go` crate (its facade, which adds the macros): a work-stealing
//! M:N scheduler of stackful goroutines, with Go's channels, `select`,
//! `sync`, `time` and `context`. Use it through `go`, which adds the macros.
//!
//! # Example
//! ```
//! use go::sync::WaitGroup;
//!
//! let wg = WaitGroup::new();
//! for i in 0..100 {
//!     wg.go(move || {
//!         go::time::sleep(go::time::MILLISECOND);
//!         let _ = i;
//!     });
//! }
//! wg.wait();
//! ```
//!
//! # Soundness
//! A goroutine that has started always resumes on the OS thread it started
//! on, because its stack may hold values tied to that thread (`thread_local!`
//! references, `Rc`s, std `MutexGuard`s). Idle workers steal only goroutines
//! that have not started yet. Go-style migration of started goroutines is an
//! `unsafe` opt-in: [`Builder::migratable`], [`runtime::enable_migration`].

// The layers, bottom to top (docs/design.md, "Layers"; `tests/layers.rs`
// checks that each module imports only from the rows above its own).
// Leaves.
mod clock;
mod report;
mod slots;
mod trace;
// The goroutine itself.
mod coroutine;
// The kernel.
mod scheduler;
// Primitives.
mod blocking;
mod bridge;
pub mod chan;
pub mod context;
mod local;
pub mod net;
pub mod os;
pub mod panic;
mod spawn;
pub mod sync;
pub mod time;
// The API.
pub mod errgroup;
mod handle;
#[doc(hidden)]
pub mod macro_support;
pub mod runtime;
mod scope;

pub use crate::bridge::block_on;
#[cfg(feature = "tokio")]
pub use crate::bridge::tokio_rt::handle as tokio_handle;
#[doc(hidden)]
pub use crate::handle::Arg;
pub use crate::handle::{GoroutineArg, SharedHandle};
pub use crate::local::GoroutineLocal;
pub use crate::runtime::run;
pub use crate::scope::{Scope, scope};
pub use crate::spawn::{Builder, JoinHandle, Result, spawn};
