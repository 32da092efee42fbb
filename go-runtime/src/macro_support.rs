//! What the `go` facade's attribute and `defer!` macros need from the
//! runtime. Hidden from the docs and outside the stability promise: user
//! code reaches it only through the macros' expansions.

use std::panic::{Location, resume_unwind};

use crate::coroutine::{self, MAX_STACK_SIZE};
use crate::report::payload_message;
use crate::scheduler;
use crate::spawn::{Builder, MAIN_STACK_SIZE, PanicPolicy};

/// What `#[go::main(...)]` and `#[go::test(...)]` were given.
#[derive(Debug, Default, Clone, Copy)]
pub struct EntryOptions {
    /// `gomaxprocs = N`.
    pub gomaxprocs: Option<usize>,
    /// `stack_size = N`: the main goroutine's stack.
    pub stack_size: Option<usize>,
    /// `goroutine_stack_size = N`: every other goroutine's default stack.
    pub goroutine_stack_size: Option<usize>,
}

/// Applies `opts`, and spawns `f` under `policy` with the main goroutine's
/// stack (called from the attribute's expansion, so `#[track_caller]` makes
/// the user's fn the spawn site). A bad size is reported as a panic naming
/// the option.
#[track_caller]
fn spawn_entry<T: Send + 'static>(
    opts: EntryOptions,
    policy: PanicPolicy,
    f: impl FnOnce() -> T + Send + 'static,
) -> crate::spawn::JoinHandle<T> {
    if let Some(n) = opts.gomaxprocs {
        scheduler::set_gomaxprocs(n);
    }
    if let Some(n) = opts.goroutine_stack_size {
        assert!(
            n <= MAX_STACK_SIZE,
            "goroutine_stack_size = {n} exceeds the maximum of {MAX_STACK_SIZE} bytes"
        );
        scheduler::set_default_stack_size(n);
    }
    let stack = opts.stack_size.unwrap_or(MAIN_STACK_SIZE);
    match Builder::new().stack_size(stack).spawn_at(f, Location::caller(), policy) {
        Ok(h) => h,
        Err(e) => panic!("stack_size = {stack}: {e}"),
    }
}

/// `#[go::main]`: runs `f` as the main goroutine, which a panic ends like
/// Go's: its `defer!`s run, then Go's report, then exit status 2.
#[track_caller]
pub fn main_entry<T: Send + 'static>(
    opts: EntryOptions,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    match spawn_entry(opts, PanicPolicy::Crash, f).join() {
        Ok(v) => v,
        // Not reached: a `Crash` goroutine's panic ends the process.
        Err(p) => resume_unwind(p),
    }
}

/// `#[go::test]`: runs the test body as a goroutine. A panic fails the test
/// as it would fail a plain `#[test]`: the message and its location are
/// printed on the test's own thread (so the harness shows them with the
/// test's output), then the same payload is raised again there (so
/// `#[should_panic(expected = "...")]` sees it).
#[track_caller]
pub fn test_entry<T: Send + 'static>(
    opts: EntryOptions,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    match spawn_entry(opts, PanicPolicy::Join, f).join_with_site() {
        Ok(v) => v,
        Err((payload, site)) => {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("<unnamed>");
            let site = site.unwrap_or_else(|| "<unknown>".to_owned());
            eprintln!("thread '{name}' panicked at {site}:\n{}", payload_message(payload.as_ref()));
            resume_unwind(payload)
        }
    }
}

/// `defer!`'s call while its goroutine (or thread) unwinds from a panic: a
/// panic of `f` is recorded instead of aborting the process, and replaces
/// the one being unwound as the goroutine's outcome
/// (`coroutine/panics.rs`).
pub fn run_deferred(f: impl FnOnce()) {
    coroutine::run_deferred(f);
}
