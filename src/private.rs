//! What the macros' expansions call. Not public API: names and signatures
//! may change in any release.

use std::cell::Cell;

pub use go_runtime::SharedHandle;
pub use go_runtime::chan::{Chan, Select, recv_case, select_cases, select_forever, send_case};
pub use go_runtime::{Scope, scope, spawn};

/// `go!`'s capture of one operand, resolved by the type at the call site
/// (autoref specialization): a reference to a shared handle (`&H`, `&&H`)
/// becomes a clone of the handle; anything else is moved in as it is.
pub struct Probe<T>(Cell<Option<T>>);

impl<T> std::fmt::Debug for Probe<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probe")
    }
}

impl<T> Probe<T> {
    /// Wraps an operand.
    #[inline]
    pub fn new(v: T) -> Self {
        Probe(Cell::new(Some(v)))
    }

    fn take(&self) -> T {
        self.0.take().expect("a go! operand is captured once")
    }
}

/// First choice: the operand is a reference to a shared handle.
pub trait ProbeHandle {
    /// The handle.
    type Out;
    /// A clone of the handle.
    fn go_capture(&self) -> Self::Out;
}

impl<H: SharedHandle> ProbeHandle for Probe<&H> {
    type Out = H;
    #[inline]
    fn go_capture(&self) -> H {
        self.take().clone()
    }
}

/// First choice too: a reference to a reference to a shared handle (a
/// `wg: &WaitGroup` parameter named as a receiver).
pub trait ProbeHandleRef {
    /// The handle.
    type Out;
    /// A clone of the handle.
    fn go_capture(&self) -> Self::Out;
}

impl<H: SharedHandle> ProbeHandleRef for Probe<&&H> {
    type Out = H;
    #[inline]
    fn go_capture(&self) -> H {
        (*self.take()).clone()
    }
}

/// Otherwise: the operand itself (found one autoref later).
pub trait ProbeValue {
    /// The operand's type.
    type Out;
    /// The operand.
    fn go_capture(&self) -> Self::Out;
}

impl<T> ProbeValue for &Probe<T> {
    type Out = T;
    #[inline]
    fn go_capture(&self) -> T {
        self.take()
    }
}

/// A scoped `go` statement's body, its value (if any) dropped.
#[inline]
pub fn discard<T>(f: impl FnOnce() -> T + Send) -> impl FnOnce() + Send {
    move || drop(f())
}

/// `defer!`: runs its closure when dropped, at the end of the enclosing
/// block, also while unwinding.
pub struct Defer<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> std::fmt::Debug for Defer<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Defer")
    }
}

impl<F: FnOnce()> Defer<F> {
    /// Schedules `f`.
    #[inline]
    pub fn new(f: F) -> Self {
        Defer(Some(f))
    }
}

impl<F: FnOnce()> Drop for Defer<F> {
    #[inline]
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            if std::thread::panicking() {
                // A panic of `f` now would abort the process (it would
                // escape a destructor during unwinding); the runtime catches
                // it and makes it the goroutine's panic, as Go does.
                go_runtime::macro_support::run_deferred(f);
            } else {
                f();
            }
        }
    }
}

pub use go_runtime::macro_support::{EntryOptions, main_entry, test_entry};

/// A value of any type, for the expansion of a macro that reported an
/// error, so that only that error shows. Never runs: the program does not
/// compile.
pub fn fallback<T>() -> T {
    unreachable!("expansion of a macro that reported a compile error")
}
