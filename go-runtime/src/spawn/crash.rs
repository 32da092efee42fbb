//! Go's report of a panic nobody recovered: `panic: <value>`, the
//! goroutine, where it panicked and who created it; then exit status 2.

use std::any::Any;
use std::fmt::Write as _;
use std::io::Write as _;
use std::panic::Location;

use crate::coroutine;
use crate::report::{payload_message, write_created_by};

/// What the crash report says about the goroutine that panicked.
#[derive(Debug, Clone)]
pub(super) struct CrashInfo {
    /// Goroutine id.
    pub(super) id: u64,
    /// Spawner's goroutine id (0: a plain thread).
    pub(super) parent: u64,
    /// Where it was spawned.
    pub(super) spawn_site: &'static Location<'static>,
    /// Where it panicked, as `file:line:col`.
    pub(super) panic_site: Option<String>,
    /// Spawned by `WaitGroup::go`, which recovers and re-panics (Go 1.26+).
    pub(super) repanicked: bool,
}

impl CrashInfo {
    /// The report for the goroutine running on this thread.
    pub(super) fn current(repanicked: bool) -> Option<Self> {
        let g = coroutine::current_ref()?;
        Some(CrashInfo {
            id: g.id(),
            parent: g.parent(),
            spawn_site: g.spawn_site(),
            panic_site: g.panic_site(),
            repanicked,
        })
    }
}

/// Prints Go's report of an unrecovered panic and exits with status 2
/// (docs/go-semantics.md, 1 and 10).
pub(super) fn crash(payload: &(dyn Any + Send), info: &CrashInfo) -> ! {
    let mut s = String::new();
    let suffix = if info.repanicked { " [recovered, repanicked]" } else { "" };
    let _ = writeln!(s, "panic: {}{suffix}\n", payload_message(payload));
    let _ = writeln!(s, "goroutine {} [running]:", info.id);
    if let Some(site) = &info.panic_site {
        let _ = writeln!(s, "\tpanicked at {site}");
    }
    let _ = write_created_by(&mut s, info.parent, info.spawn_site);
    // Output printed before the crash is never lost (docs/go-semantics.md, 6).
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(s.as_bytes());
    std::process::exit(2);
}
