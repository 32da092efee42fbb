//! What a goroutine's panics leave behind for its report.
//!
//! The panic hook, installed at runtime start, runs on the stack of the
//! goroutine that panics. It prints nothing (the panic is either handed to
//! `join` or reported in Go's format when the goroutine ends) and records,
//! in the goroutine's control block, the panic's message, where it
//! happened and the goroutine's stack at that moment (unless
//! `GOTRACEBACK=none`). A panic on a plain thread goes to the previous
//! hook unchanged.
//!
//! # Nested panics
//! A `defer!` that panics while its goroutine is already unwinding would
//! make Rust abort the process (a panic escaping a destructor during
//! unwinding). The deferred call runs through [`run_deferred`] instead,
//! which catches such a panic and records it: the unwinding goes on (so
//! the `defer!`s further out still run), and when it reaches the
//! goroutine's entry, the recorded panic replaces the one that was being
//! unwound, as in Go, whose report lists both (`panic: first`, then
//! `\tpanic: second`).

use std::any::Any;
use std::backtrace::Backtrace;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::current;
use crate::report::{self, Traceback};

/// The latest panic of a goroutine, and the panics it replaced.
#[derive(Debug)]
pub(crate) struct PanicRecord {
    /// The latest panic's message.
    pub(crate) message: String,
    /// Where it happened, as `file:line:col`.
    pub(crate) site: String,
    /// The goroutine's stack when it happened (`None` with
    /// `GOTRACEBACK=none`).
    pub(crate) backtrace: Option<Backtrace>,
    /// The messages of earlier panics that a deferred call's panic replaced,
    /// oldest first.
    pub(crate) replaced: Vec<String>,
    /// The payload of the panic a deferred call raised while the goroutine
    /// was unwinding: it is the goroutine's outcome instead of the payload
    /// being unwound.
    pub(crate) replacement: Option<Box<dyn Any + Send>>,
    /// How many deferred calls run through [`run_deferred`] now: a panic
    /// while none does starts a new story (what `replaced` and
    /// `replacement` held is stale: that panic was caught).
    deferred_depth: u32,
}

/// Installs the goroutine-aware panic hook (once, at runtime start).
pub(crate) fn install_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let Some(g) = current::current_ref() else {
            return previous(info);
        };
        let message = match info.payload_as_str() {
            Some(s) => s.to_owned(),
            None => report::payload_message(info.payload()),
        };
        let site = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let backtrace = (report::traceback() != Traceback::None).then(Backtrace::force_capture);
        // SAFETY: the hook runs on the goroutine's own stack, and nothing
        // else touches its record while it runs.
        let record = unsafe { &mut *g.panic_record() };
        match record {
            Some(r) => {
                if r.deferred_depth == 0 {
                    r.replaced.clear();
                    r.replacement = None;
                }
                r.message = message;
                r.site = site;
                r.backtrace = backtrace;
            }
            None => {
                *record = Some(Box::new(PanicRecord {
                    message,
                    site,
                    backtrace,
                    replaced: Vec::new(),
                    replacement: None,
                    deferred_depth: 0,
                }))
            }
        }
    }));
}

/// Runs a deferred call `f` while the caller is unwinding from a panic (see
/// the module docs): a panic of `f` is caught and recorded instead of
/// aborting the process. On a plain thread it is caught and dropped (the
/// previous hook has printed it).
pub(crate) fn run_deferred(f: impl FnOnce()) {
    let p = current::current_ptr();
    // SAFETY: `p` is null or the goroutine running this code, kept alive by
    // its resumer; only it touches its panic record, and no reference into
    // the record is held across `f` (which may panic and re-enter the hook).
    let record = || unsafe { p.as_ref().and_then(|g| (*g.panic_record()).as_mut()) };
    let unwinding = record().map(|r| {
        r.deferred_depth += 1;
        r.message.clone()
    });
    let outcome = catch_unwind(AssertUnwindSafe(f));
    let Some(r) = record() else { return };
    r.deferred_depth -= 1;
    if let Err(payload) = outcome {
        r.replaced.extend(unwinding);
        r.replacement = Some(payload);
    }
}

/// The payload of a panic that replaced the one the current goroutine
/// unwound (see the module docs), taken; `None` on a plain thread.
pub(crate) fn take_replacement() -> Option<Box<dyn Any + Send>> {
    let g = current::current_ptr();
    // SAFETY: as in `run_deferred`.
    unsafe { g.as_ref() }.and_then(|g| unsafe { (*g.panic_record()).as_mut() }?.replacement.take())
}
