//! Go's words for what went wrong: `fatal error: ...`, the "created by"
//! lines of a goroutine report, and a panic value as Go prints it.
//!
//! A leaf: it imports nothing from the crate, so every layer can report.
//! `write_created_by` allocates nothing, so the stack overflow handler
//! (a signal handler) uses it too.

use std::any::Any;
use std::io::Write as _;
use std::panic::Location;

/// The panic value as Go prints it: strings as they are, common scalars by
/// value (docs/go-semantics.md, 2), anything else by type.
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

/// Writes the "created by" lines of a goroutine report: which function
/// spawned it (`creator`, when its stack showed it; else `go::spawn`), from
/// which goroutine (`parent`, or a plain thread for 0), and where.
pub(crate) fn write_created_by(
    w: &mut impl std::fmt::Write,
    creator: Option<&str>,
    parent: u64,
    site: &Location<'_>,
) -> std::fmt::Result {
    let creator = creator.unwrap_or("go::spawn");
    if parent == 0 {
        writeln!(w, "created by {creator} outside the runtime")?;
    } else {
        writeln!(w, "created by {creator} in goroutine {parent}")?;
    }
    writeln!(w, "\t{}:{}:{}", site.file(), site.line(), site.column())
}

/// Prints Go's `fatal error: <msg>` and exits with status 2: for failures no
/// goroutine can recover from (docs/go-semantics.md, 5).
#[cold]
pub(crate) fn fatal(msg: &str) -> ! {
    let _ = std::io::stdout().flush();
    let _ = writeln!(std::io::stderr(), "fatal error: {msg}");
    std::process::exit(2);
}

/// How much of the stacks a report prints: Go's `GOTRACEBACK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Traceback {
    /// `none`: no stacks, only the goroutine headers.
    None,
    /// `single` (the default): the goroutine that panicked.
    Single,
    /// `all` (and `system`, `crash`): every goroutine.
    All,
}

/// `GOTRACEBACK`, read once. Unknown values count as the default, as in Go.
pub(crate) fn traceback() -> Traceback {
    static LEVEL: std::sync::OnceLock<Traceback> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| match std::env::var("GOTRACEBACK").as_deref() {
        Ok("none" | "0") => Traceback::None,
        Ok("all" | "1" | "system" | "2" | "crash") => Traceback::All,
        _ => Traceback::Single,
    })
}

/// One frame of a goroutine's stack, as Go prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The function's path, such as `myapp::worker` or
    /// `myapp::main::{{closure}}`.
    pub(crate) function: String,
    /// `file:line`, when the binary has debug info.
    pub(crate) location: Option<String>,
}

/// Frames that are not the program's own: the runtime (the park, the
/// scheduler, corosensei, the facade's macro support) and Rust's standard
/// library (its panic machinery and the closure shims between user frames),
/// matched as prefixes of the function path. Go's reports leave out its
/// runtime's frames the same way.
const INTERNAL: &[&str] = &[
    "std::",
    "core::",
    "alloc::",
    "go_runtime::",
    "go::__private::",
    "corosensei::",
    "__rust",
    "rust_begin_unwind",
    "_Unwind_",
    "backtrace::",
    "stack_init_trampoline",
];

/// Where a goroutine's own code starts: below these frames are its entry
/// in the runtime and the worker thread.
const ENTRY: &[&str] = &["go_runtime::spawn::", "go_runtime::scheduler::", "corosensei::"];

/// The frames of `trace` (the text of a `std::backtrace::Backtrace` taken on
/// a goroutine's stack) that belong to the goroutine's own code, top first:
/// the run of internal frames at the top (the panic machinery, or the park
/// a goroutine waits in) is dropped, so is everything from the goroutine's
/// entry down, and so are internal frames in between.
pub(crate) fn user_frames(trace: &str) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    for line in trace.lines() {
        let t = line.trim_start();
        if let Some(at) = t.strip_prefix("at ") {
            if let Some(last) = frames.last_mut()
                && last.location.is_none()
            {
                // `file:line:col` -> `file:line`.
                let at = at.trim();
                let loc = match at.rsplit_once(':') {
                    Some((head, col)) if col.chars().all(|c| c.is_ascii_digit()) => head,
                    _ => at,
                };
                last.location = Some(loc.to_owned());
            }
        } else if let Some((num, name)) = t.split_once(": ")
            && num.chars().all(|c| c.is_ascii_digit())
        {
            frames.push(Frame { function: name.trim().to_owned(), location: None });
        }
    }
    // Trait impls read `<Type as Trait>::method`: match on the type's path.
    let matches = |f: &Frame, set: &[&str]| {
        let name = f.function.trim_start_matches('<');
        set.iter().any(|p| name.starts_with(p))
    };
    let start = frames.iter().position(|f| !matches(f, INTERNAL)).unwrap_or(frames.len());
    let frames = &frames[start..];
    let end = frames.iter().position(|f| matches(f, ENTRY)).unwrap_or(frames.len());
    frames[..end].iter().filter(|f| !matches(f, INTERNAL)).cloned().collect()
}

/// The function that spawned a goroutine, read off its stack: a goroutine
/// spawned with a closure (`go!`, `go::spawn(|| ...)`) has that closure as
/// its outermost frame, at the spawn site, and a closure's path is the path
/// of the function it is written in plus `::{{closure}}`. That frame is
/// removed (Go shows no frame for its `go` statement) and the function's
/// path returned. `None` (nothing removed) for a goroutine spawned with a
/// named function.
pub(crate) fn take_spawn_closure(frames: &mut Vec<Frame>, site: &Location<'_>) -> Option<String> {
    // A goroutine that blocks (or panics) in the closure itself keeps it:
    // it is the goroutine's only frame (Go's `main.main.func1()`).
    if frames.len() < 2 {
        return None;
    }
    let last = frames.last()?;
    let creator = last.function.strip_suffix("::{{closure}}")?;
    let at = last.location.as_deref()?;
    let at = at.strip_prefix("./").unwrap_or(at);
    let site_file = site.file().strip_prefix("./").unwrap_or(site.file());
    if at != format!("{site_file}:{}", site.line()) {
        return None;
    }
    let creator = creator.to_owned();
    frames.pop();
    Some(creator)
}

/// The main goroutine's outermost frame is the closure that `#[go::main]`
/// (or a `go::run` call) made of the function's body: shown as that
/// function, as Go shows `main.main()`.
pub(crate) fn name_main_frame(frames: &mut [Frame]) {
    if let Some(last) = frames.last_mut()
        && let Some(f) = last.function.strip_suffix("::{{closure}}")
    {
        last.function = f.to_owned();
    }
}

/// Writes `frames` in Go's layout: the function with `()`, then a tab and
/// `file:line`.
pub(crate) fn write_frames(w: &mut impl std::fmt::Write, frames: &[Frame]) -> std::fmt::Result {
    for f in frames {
        writeln!(w, "{}()", f.function)?;
        if let Some(loc) = &f.location {
            writeln!(w, "\t{loc}")?;
        }
    }
    Ok(())
}
