//! `maybe_grow`: run a deep computation on a fresh stack segment when the
//! current stack is nearly used up (the `stacker` crate's contract, which
//! rustc uses for its own deep recursion).
//!
//! The segment is a pooled, guarded goroutine stack of the size asked for;
//! `corosensei::on_stack` switches to it for the call and back after (a
//! panic comes back the same way). While the call runs, the segment's
//! guard is the one the overflow handler checks: the goroutine's `guard`
//! field is swapped for it (so a goroutine that parks and, migrating,
//! resumes elsewhere keeps it), or, on a plain thread, a thread-local.
//! Nested calls stack up the same way.

use std::cell::Cell;

use corosensei::stack::{Stack, StackPointer};

use super::stack::{GoStack, give_shared, take_shared};
use super::{Goroutine, current};
use crate::report;

thread_local! {
    /// On a plain thread: the guard of the segment `maybe_grow` runs on,
    /// `(0, 0)` when none (read by the overflow handler).
    static THREAD_SEGMENT: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// The guard of the segment a plain thread runs on now, if any (for the
/// overflow handler: a const-initialised thread-local without destructor,
/// so reading it is async-signal-safe).
pub(super) fn thread_segment_guard() -> (usize, usize) {
    THREAD_SEGMENT.with(Cell::get)
}

/// Runs `f` on a fresh stack segment of `stack_size` usable bytes if fewer
/// than `red_zone` bytes remain on the current stack (else right here).
pub(crate) fn maybe_grow<R>(red_zone: usize, stack_size: usize, f: impl FnOnce() -> R) -> R {
    if remaining_stack().is_none_or(|left| left >= red_zone) {
        return f();
    }
    let segment = match take_shared(stack_size) {
        Ok(s) => Segment(Some(s)),
        Err(e) => report::fatal(&format!("cannot map a stack segment for maybe_grow: {e}")),
    };
    let stack = segment.0.as_ref().expect("taken above");
    if !current::on_goroutine() {
        // A plain thread may not have started the runtime: the handler that
        // reports an exhausted segment must be there, with a signal stack.
        super::overflow::install_handler();
        super::overflow::ensure_alt_stack();
    }
    let _guard = GuardSwap::install(stack.guard_range(), stack.top());
    corosensei::on_stack(SegmentRef(stack), f)
}

/// Bytes left on the current stack above its guard, if known.
fn remaining_stack() -> Option<usize> {
    let here = std::hint::black_box(0u8);
    let sp = std::ptr::from_ref(&here) as usize;
    let g = current::current_ptr();
    // SAFETY: a non-null `g` is the goroutine running this code, kept alive
    // by its resumer.
    let bottom = match unsafe { g.as_ref() } {
        Some(g) => g.guard().1,
        None => match thread_segment_guard() {
            (0, 0) => thread_stack_bottom()?,
            (_, hi) => hi,
        },
    };
    sp.checked_sub(bottom)
}

/// The lowest usable address of the calling thread's own stack (above its
/// guard), from `pthread_getattr_np`.
fn thread_stack_bottom() -> Option<usize> {
    // SAFETY: `attr` is initialised by `pthread_getattr_np` before use and
    // destroyed after; the out-pointers are valid.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let (mut addr, mut size, mut guard) = (std::ptr::null_mut(), 0usize, 0usize);
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0
            && libc::pthread_attr_getguardsize(&attr, &mut guard) == 0;
        libc::pthread_attr_destroy(&mut attr);
        ok.then(|| addr as usize + guard)
    }
}

/// A segment taken from the pool, given back when dropped (also when `f`
/// panicked: `on_stack` has switched back by then).
struct Segment(Option<GoStack>);

impl Drop for Segment {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            give_shared(s);
        }
    }
}

/// Borrows a segment as a corosensei stack (`on_stack` takes its stack by
/// value; the segment must go back to the pool afterwards).
struct SegmentRef<'a>(&'a GoStack);

// SAFETY: the same memory as the `GoStack` it borrows (see its `Stack`
// impl), which is not used by anything else while `on_stack` runs on it.
unsafe impl Stack for SegmentRef<'_> {
    fn base(&self) -> StackPointer {
        self.0.base()
    }

    fn limit(&self) -> StackPointer {
        self.0.limit()
    }
}

/// The overflow handler's view of the current guard, swapped for a
/// segment's while `f` runs on it and restored after (also on unwinding).
enum GuardSwap {
    /// On a goroutine: its previous guard, and the top of that stack.
    Goroutine(*const Goroutine, ((usize, usize), usize)),
    /// On a plain thread: the previous thread-local value.
    Thread((usize, usize)),
}

impl GuardSwap {
    fn install(guard: (usize, usize), top: usize) -> Self {
        let g = current::current_ptr();
        // SAFETY: a non-null `g` is the goroutine running this code; only it
        // (and the overflow handler, reading, on its thread) touches `guard`.
        match unsafe { g.as_ref() } {
            Some(goroutine) => GuardSwap::Goroutine(g, goroutine.swap_guard((guard, top))),
            None => GuardSwap::Thread(THREAD_SEGMENT.with(|s| s.replace(guard))),
        }
    }
}

impl Drop for GuardSwap {
    fn drop(&mut self) {
        match *self {
            GuardSwap::Goroutine(g, old) => {
                // SAFETY: the same goroutine, still running this code (`g`
                // was current when installed, and `f` has returned or
                // unwound), kept alive by its resumer.
                unsafe { (*g).swap_guard(old) };
            }
            GuardSwap::Thread(old) => THREAD_SEGMENT.with(|s| s.set(old)),
        }
    }
}
