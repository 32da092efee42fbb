//! Which goroutine runs on this thread: a thread-local pointer that
//! [`Goroutine::resume`](super::Goroutine::resume) sets before switching to
//! the goroutine and clears when it switches back.
//!
//! Every accessor is `#[inline(never)]`: code running on a goroutine calls
//! them, and a goroutine that migrates (the `unsafe` opt-in) must not use a
//! thread-local address cached from before a switch (docs/design.md,
//! "Soundness first"; rust-lang/rust#33368).

use std::cell::Cell;
use std::sync::Arc;

use super::{GRef, Goroutine};

thread_local! {
    /// The goroutine running on this thread, or null. While it is set, the
    /// thread that resumed the goroutine holds a strong reference to it.
    static CURRENT: Cell<*const Goroutine> = const { Cell::new(std::ptr::null()) };
}

/// Sets the running goroutine (null: none); returns the previous value.
pub(super) fn set(g: *const Goroutine) -> *const Goroutine {
    CURRENT.with(|c| c.replace(g))
}

/// The goroutine running on this thread, or null. A non-null pointer stays
/// valid while the goroutine runs (its resumer holds a reference).
#[inline(never)]
pub(crate) fn current_ptr() -> *const Goroutine {
    CURRENT.with(Cell::get)
}

/// Whether the caller runs on a goroutine (not a plain thread).
#[inline(never)]
pub(crate) fn on_goroutine() -> bool {
    !current_ptr().is_null()
}

/// The id of the goroutine running on this thread, 0 if none.
pub(crate) fn current_id() -> u64 {
    let p = current_ptr();
    // SAFETY: a non-null `p` is the goroutine this thread runs, kept alive by
    // its resumer while it runs.
    unsafe { p.as_ref() }.map_or(0, Goroutine::id)
}

/// A new reference to the goroutine running on this thread, if any.
pub(crate) fn current_ref() -> Option<GRef> {
    let p = current_ptr();
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` is the goroutine this thread runs; its resumer holds a
    // strong reference for as long as it runs (`CURRENT`), so the count is
    // at least one and stays so while we add ours.
    unsafe {
        Arc::increment_strong_count(p);
        Some(Arc::from_raw(p))
    }
}
