//! The storage of goroutine-local values (`goroutine_local!`, the API in
//! `local.rs`): a list of `(key, value)` pairs in each goroutine's control
//! block, touched only by the goroutine itself.
//!
//! Values are boxed, so a reference into one stays valid while other locals
//! are added (the list may grow, the boxes do not move). They are dropped
//! when the goroutine finishes, on its own stack ([`drop_current`]), one at
//! a time: each leaves a tombstone (`None`), so a destructor that uses its
//! own key (or one already destroyed) panics, as std's thread-locals do,
//! instead of creating the value again for ever.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use super::current;

/// The values of one goroutine (or plain thread): `(key, value)` pairs; a
/// `None` value was destroyed.
pub(crate) type Locals = Vec<(usize, Option<LocalBox>)>;

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
/// its last act), one at a time, each leaving a tombstone. A destructor may
/// create other locals (they are dropped too); one that uses a destroyed
/// key panics. Every value is dropped even if one destructor panics; the
/// first panic is raised again at the end. Does nothing on a plain thread.
pub(crate) fn drop_current() {
    let g = current::current_ptr();
    if g.is_null() {
        return;
    }
    let mut first_panic = None;
    loop {
        // SAFETY: `g` is the goroutine running this code (kept alive by its
        // resumer), and only it touches its locals; the borrow ends before
        // the value is dropped (its destructor may touch the list).
        let next = unsafe { &mut *(*g).locals() }.iter_mut().find_map(|(_, v)| v.take());
        let Some(value) = next else { break };
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| drop(value))) {
            first_panic.get_or_insert(p);
        }
    }
    // SAFETY: as above; only tombstones are left.
    drop(std::mem::take(unsafe { &mut *(*g).locals() }));
    if let Some(p) = first_panic {
        resume_unwind(p);
    }
}
