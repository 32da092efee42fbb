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

/// Writes the "created by" lines of a goroutine report: who spawned it
/// (goroutine `parent`, or a plain thread for 0) and where.
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

/// Prints Go's `fatal error: <msg>` and exits with status 2: for failures no
/// goroutine can recover from (docs/go-semantics.md, 5).
#[cold]
pub(crate) fn fatal(msg: &str) -> ! {
    let _ = std::io::stdout().flush();
    let _ = writeln!(std::io::stderr(), "fatal error: {msg}");
    std::process::exit(2);
}
