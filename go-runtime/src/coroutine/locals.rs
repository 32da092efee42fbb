//! The storage of goroutine-local values (`goroutine_local!`, the API in
//! `local.rs`): a list of `(key, value)` pairs in each goroutine's control
//! block, touched only by the goroutine itself.
//!
//! Values are boxed, so a reference into one stays valid while other locals
//! are added (the list may grow, the boxes do not move). They are dropped
//! when the goroutine finishes, on its own stack ([`drop_current`]).

use std::any::Any;

use super::current;

/// The values of one goroutine (or plain thread): `(key, value)` pairs.
pub(crate) type Locals = Vec<(usize, LocalBox)>;

/// A boxed value kept as a raw pointer, so that moving it (when the list
/// grows) does not reassert the unique ownership a `Box` would, which would
/// invalidate references that `GoroutineLocal::with` has handed out.
pub(crate) struct LocalBox(std::ptr::NonNull<dyn Any + Send>);

// SAFETY: it owns a `dyn Any + Send` value, like a `Box<dyn Any + Send>`.
unsafe impl Send for LocalBox {}

impl LocalBox {
    /// Takes ownership of `v`.
    pub(crate) fn new(v: Box<dyn Any + Send>) -> Self {
        LocalBox(std::ptr::NonNull::from(Box::leak(v)))
    }

    /// The value.
    pub(crate) fn get(&self) -> &(dyn Any + Send) {
        // SAFETY: the pointer came from `Box::leak` and is freed only in
        // `drop`.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for LocalBox {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` in `new` and is dropped
        // once, here.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// Drops the current goroutine's local values (called by the goroutine as
/// its last act). A destructor may use locals again; what it creates is
/// dropped too. Does nothing on a plain thread.
pub(crate) fn drop_current() {
    let g = current::current_ptr();
    if g.is_null() {
        return;
    }
    loop {
        // SAFETY: `g` is the goroutine running this code (kept alive by its
        // worker), and only it touches its locals; the list is taken out, so
        // destructors that touch locals see (and may refill) a fresh one.
        let taken = std::mem::take(unsafe { &mut *(*g).locals() });
        if taken.is_empty() {
            return;
        }
        drop(taken);
    }
}
