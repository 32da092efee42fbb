//! The runtime behind the [`go`](https://docs.rs/go) crate: a work-stealing
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

mod blocking;
pub mod chan;
pub mod context;
mod coroutine;
mod handle;
mod introspect;
mod local;
pub mod net;
mod panic;
mod park;
pub mod runtime;
mod scheduler;
mod scope;
mod spawn;
pub mod sync;
pub mod time;

pub use crate::handle::SharedHandle;
pub use crate::local::GoroutineLocal;
pub use crate::runtime::run;
pub use crate::scope::{Scope, scope};
pub use crate::spawn::{Builder, JoinHandle, Result, spawn};
