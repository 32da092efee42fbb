//! Go's panic policy: a panic in a goroutine nobody joins kills the process.
//!
//! The hook installed at runtime start records where a goroutine panicked
//! and prints nothing (the panic is either handed to `join` or reported in
//! Go's format by [`crash`]); panics on plain threads go to the previous hook
//! unchanged.

use std::any::Any;
use std::fmt::Write as _;
use std::io::Write as _;
use std::panic::Location;

use crate::scheduler::worker;

/// What the crash report says about the goroutine that panicked.
#[derive(Debug, Clone)]
pub(crate) struct CrashInfo {
    /// Goroutine id.
    pub(crate) id: u64,
    /// Spawner's goroutine id (0: a plain thread).
    pub(crate) parent: u64,
    /// Where it was spawned.
    pub(crate) spawn_site: &'static Location<'static>,
    /// Where it panicked, as `file:line:col`.
    pub(crate) panic_site: Option<String>,
    /// Spawned by `WaitGroup::go`, which recovers and re-panics (Go 1.26+).
    pub(crate) repanicked: bool,
}

impl CrashInfo {
    /// The report for the goroutine running on this thread.
    pub(crate) fn current(repanicked: bool) -> Option<Self> {
        let g = worker::current_gref()?;
        Some(CrashInfo {
            id: g.id(),
            parent: g.parent(),
            spawn_site: g.spawn_site(),
            panic_site: g.panic_site(),
            repanicked,
        })
    }
}

/// Installs the goroutine-aware panic hook (once, at runtime start).
pub(crate) fn install_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| match worker::current_gref() {
        Some(g) => g.set_panic_site(
            info.location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default(),
        ),
        None => previous(info),
    }));
}

/// The panic value as Go prints it: strings as they are, common scalars by
/// value (GO_SEMANTICS 2), anything else by type.
pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        return (*s).to_owned();
    }
    if let Some(s) = payload.downcast_ref::<String>() {
        return s.clone();
    }
    macro_rules! scalars {
        ($($t:ty),*) => {$(
            if let Some(v) = payload.downcast_ref::<$t>() {
                return v.to_string();
            }
        )*};
    }
    scalars!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64, bool, char);
    "Box<dyn Any>".to_owned()
}

/// Writes the "created by" lines of a goroutine report. Allocation-free, so
/// the stack overflow handler uses it too.
pub(crate) fn write_created_by(
    w: &mut impl std::fmt::Write,
    parent: u64,
    site: &Location<'_>,
) -> std::fmt::Result {
    if parent == 0 {
        w.write_str("created by go::spawn outside the runtime\n")?;
    } else {
        writeln!(w, "created by go::spawn in goroutine {parent}")?;
    }
    writeln!(w, "\t{}:{}:{}", site.file(), site.line(), site.column())
}

/// Prints Go's report of an unrecovered panic and exits with status 2
/// (GO_SEMANTICS 1, 10).
pub(crate) fn crash(payload: &(dyn Any + Send), info: &CrashInfo) -> ! {
    let mut s = String::new();
    let suffix = if info.repanicked { " [recovered, repanicked]" } else { "" };
    let _ = writeln!(s, "panic: {}{suffix}\n", payload_message(payload));
    let _ = writeln!(s, "goroutine {} [running]:", info.id);
    if let Some(site) = &info.panic_site {
        let _ = writeln!(s, "\tpanicked at {site}");
    }
    let _ = write_created_by(&mut s, info.parent, info.spawn_site);
    // Output printed before the crash is never lost (GO_SEMANTICS 6).
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(s.as_bytes());
    std::process::exit(2);
}

/// Prints Go's `fatal error: <msg>` and exits with status 2: for failures no
/// goroutine can recover from (GO_SEMANTICS 5).
#[cold]
pub(crate) fn fatal(msg: &str) -> ! {
    let _ = std::io::stdout().flush();
    let _ = writeln!(std::io::stderr(), "fatal error: {msg}");
    std::process::exit(2);
}
