//! Creating a goroutine (Go's `newproc`): its id, an early check that a
//! stack can be had, and where the new goroutine is queued.
//!
//! A goroutine owns no stack until it first runs (README, "Spawning"), so
//! `spawn` only checks that one of the right size class can be mapped, so
//! that a mapping failure is the spawner's error rather than a fatal error
//! later.

use std::io;
use std::panic::Location;
use std::sync::atomic::Ordering;

use super::global::runtime;
use super::{park, worker};
use crate::coroutine::{self, Body, GRef, Goroutine, Spec};
use crate::trace;

/// How many unstarted goroutines a worker's local queue may hold before a
/// goroutine that spawns more yields to them. Go's local run queue holds 256
/// and Go preempts a goroutine after 10 ms, which together keep a spawning
/// loop from queueing a million goroutines; without preemption this bound
/// plays that part (README, "Spawning").
const SPAWN_BACKLOG: usize = 256;

/// What the spawner chose for a new goroutine (`go::Builder`'s settings).
#[derive(Debug)]
pub(crate) struct SpawnOpts {
    /// Where `spawn` was called.
    pub(crate) site: &'static Location<'static>,
    /// Optional name, for reports.
    pub(crate) name: Option<Box<str>>,
    /// Usable stack bytes asked for; `None` for the runtime's default.
    pub(crate) stack_size: Option<usize>,
    /// The `unsafe` migration opt-in.
    pub(crate) migratable: bool,
    /// The program's main goroutine (reports name no creator).
    pub(crate) main: bool,
}

/// Creates a goroutine that will run `body`, and makes it runnable. Returns
/// its id.
///
/// # Errors
/// When no stack of the goroutine's size can be mapped (the message names
/// the limit that was probably reached).
pub(crate) fn spawn(opts: SpawnOpts, body: Body) -> io::Result<u64> {
    let rt = runtime();
    let size = match opts.stack_size {
        Some(n) => coroutine::round_stack_size(n),
        None => rt.stack_size.load(Ordering::Relaxed),
    };
    let w = worker::current();
    // The stack is taken when the goroutine first runs; make sure now that
    // one can be had, so that a mapping failure is this call's error.
    match w {
        Some(w) => w.stacks.borrow_mut().ensure_available(size)?,
        None => coroutine::ensure_available_shared(size)?,
    }
    let id = match w {
        Some(w) => w.spawned(),
        None => rt.spawned_outside(),
    };
    let spec = Spec {
        id,
        parent: coroutine::current_id(),
        spawn_site: opts.site,
        name: opts.name,
        migratable: opts.migratable || rt.migrate_all.load(Ordering::Relaxed),
        main: opts.main,
    };
    if trace::on() {
        let site = opts.site as *const Location<'static> as u64;
        trace::emit(trace::Kind::Create, id, site, 0);
        let parent = coroutine::current_id();
        if parent != 0 {
            trace::emit(trace::Kind::CreatedBy, id, parent, 0);
        }
    }
    let recycled = w.and_then(|w| w.take_recycled());
    let g = Goroutine::new(recycled, spec, size, body);
    if submit(g) && !std::thread::panicking() {
        // A long queue on this worker: let it drain (see `submit`; not
        // while unwinding, `preempt.rs`).
        park::yield_now();
    } else {
        // A spawn is a runtime call like any other: a goroutine asked to
        // yield (it has run 10 ms) does so here. Without it, a loop whose
        // spawns another worker takes as fast as they come never yielded.
        super::checkpoint();
    }
    Ok(id)
}

/// Makes a new goroutine runnable: on the caller's runnext slot when called
/// on an active worker (Go's `newproc`), else on the global queue. Returns
/// true if the calling goroutine should yield because its worker's queue is
/// long.
fn submit(g: GRef) -> bool {
    if let Some(w) = worker::current()
        && w.is_active()
    {
        w.put_runnext(g);
        runtime().notify_one();
        return w.local_len() > SPAWN_BACKLOG;
    }
    runtime().inject(g);
    false
}
