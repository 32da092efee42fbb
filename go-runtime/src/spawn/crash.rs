//! Go's report of a panic nobody recovered: `panic: <value>` (and the
//! panics it replaced), the goroutine and its stack, who created it; then
//! exit status 2 (docs/go-semantics.md, 1, 4 and 10).

use std::any::Any;
use std::backtrace::Backtrace;
use std::fmt::Write as _;
use std::io::Write as _;
use std::panic::Location;

use crate::report::{self, Traceback, payload_message, write_created_by};
use crate::{coroutine, scheduler};

/// What the crash report says about the goroutine that panicked.
#[derive(Debug)]
pub(super) struct CrashInfo {
    /// Goroutine id.
    id: u64,
    /// Spawner's goroutine id (0: a plain thread).
    parent: u64,
    /// Where it was spawned.
    spawn_site: &'static Location<'static>,
    /// The program's main goroutine: no "created by" line.
    main: bool,
    /// Where it last panicked, as `file:line:col`.
    panic_site: Option<String>,
    /// Its stack when it last panicked.
    backtrace: Option<Backtrace>,
    /// Messages of the panics the final one replaced, oldest first.
    replaced: Vec<String>,
    /// Spawned by `WaitGroup::go`, which recovers and re-panics (Go 1.26+).
    repanicked: bool,
}

impl CrashInfo {
    /// The report for the goroutine running on this thread (it takes the
    /// goroutine's panic record).
    pub(super) fn current(repanicked: bool) -> Option<Self> {
        let g = coroutine::current_ref()?;
        // SAFETY: called by the goroutine itself, outside the panic hook.
        let record = unsafe { (*g.panic_record()).take() };
        let (panic_site, backtrace, replaced) = match record {
            Some(r) => (Some(r.site), r.backtrace, r.replaced),
            None => (None, None, Vec::new()),
        };
        Some(CrashInfo {
            id: g.id(),
            parent: g.parent(),
            spawn_site: g.spawn_site(),
            main: g.is_main(),
            panic_site,
            backtrace,
            replaced,
            repanicked,
        })
    }
}

impl CrashInfo {
    /// Where it last panicked, as `file:line:col`.
    pub(super) fn panic_site(&self) -> Option<&str> {
        self.panic_site.as_deref()
    }
}

/// The text of the report.
pub(super) fn report(payload: &(dyn Any + Send), info: &CrashInfo) -> String {
    let mut s = String::new();
    let suffix = if info.repanicked { " [recovered, repanicked]" } else { "" };
    let last = payload_message(payload);
    let mut messages = info.replaced.iter().map(String::as_str).chain([last.as_str()]);
    let first = messages.next().unwrap_or_default();
    let _ = writeln!(s, "panic: {first}{suffix}");
    for m in messages {
        let _ = writeln!(s, "\tpanic: {m}");
    }
    // GOTRACEBACK=none: Go prints the panic lines only.
    if report::traceback() == Traceback::None {
        return s;
    }
    let _ = writeln!(s, "\ngoroutine {} [running]:", info.id);
    let mut frames = info.backtrace.as_ref().map(|b| report::user_frames(&b.to_string()));
    let creator = match (&mut frames, info.main) {
        (Some(frames), false) => report::take_spawn_closure(frames, info.spawn_site),
        (Some(frames), true) => {
            report::name_main_frame(frames);
            None
        }
        _ => None,
    };
    match frames {
        Some(frames) if !frames.is_empty() => {
            let _ = report::write_frames(&mut s, &frames);
        }
        // No usable stack: at least say where it panicked.
        _ => {
            if let Some(site) = &info.panic_site {
                let _ = writeln!(s, "\tpanicked at {site}");
            }
        }
    }
    if !info.main {
        let _ = write_created_by(&mut s, creator.as_deref(), info.parent, info.spawn_site);
    }
    // GOTRACEBACK=all: every other goroutine too.
    if report::traceback() == Traceback::All {
        s.push('\n');
        s.push_str(&scheduler::dump_text_except(info.id));
    }
    s
}

/// Prints Go's report of an unrecovered panic and exits with status 2.
pub(super) fn crash(payload: &(dyn Any + Send), info: &CrashInfo) -> ! {
    scheduler::begin_crash();
    let s = report(payload, info);
    // Output printed before the crash is never lost (docs/go-semantics.md, 6).
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(s.as_bytes());
    std::process::exit(2);
}
