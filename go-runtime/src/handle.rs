//! What a goroutine may be given: [`SharedHandle`], the types it may share
//! by cloning, and [`GoroutineArg`], the values it may be handed.
//!
//! Both traits carry the messages `go!` and `#[goroutine]` report: the
//! macros check an argument by calling the trait's own hidden function, so
//! a failure is reported against this public trait (and, below it,
//! `std::marker::Send`) at the user's argument, never against a helper.

use std::sync::Arc;

use crate::chan::{Chan, Receiver, Sender};
use crate::context::Context;
use crate::sync::WaitGroup;

/// A cheap, cloneable handle to state that goroutines share safely: every
/// clone refers to the same channel, group, context or allocation. Go
/// passes such things by pointer (`go worker(i, &wg)`); `go!(worker(i, &wg))`
/// gives the new goroutine its own clone of a `SharedHandle` argument, so the
/// Go line ports unchanged. Implement it for your own `Arc`-backed handles.
///
/// # Example
/// ```
/// use go::SharedHandle;
///
/// #[derive(Clone)]
/// struct Inventory(std::sync::Arc<go::sync::Mutex<u32>>);
/// impl SharedHandle for Inventory {}
///
/// fn takes_handle<H: SharedHandle>(h: &H) -> H {
///     h.clone()
/// }
/// let inv = Inventory(Default::default());
/// *takes_handle(&inv).0.lock() += 1;
/// assert_eq!(*inv.0.lock(), 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a shared handle, so a goroutine cannot borrow it",
    label = "borrowed by a goroutine",
    note = "a goroutine may outlive the function that starts it, so it cannot borrow that \
            function's values: pass a value (or a `.clone()`), or share it through a handle \
            (`Arc<T>` with `T: Send + Sync`, `Chan`, `WaitGroup`, `Context`, or your own type \
            implementing `go::SharedHandle`); a `RefCell` cannot be shared between goroutines \
            even inside an `Arc`: use `Arc<go::sync::Mutex<T>>`. Or start the goroutine inside \
            `waitgroup! {{ ... }}`, where it may borrow"
)]
pub trait SharedHandle: Clone + Send + Sync + 'static {}

// `do_not_recommend`: a type that is almost a handle (an `Arc` of a
// `RefCell`) is reported as "not a shared handle" with the note above, not
// with a list of these impls pointing into this file.
#[diagnostic::do_not_recommend]
impl<T: ?Sized + Send + Sync + 'static> SharedHandle for Arc<T> {}
#[diagnostic::do_not_recommend]
impl SharedHandle for WaitGroup {}
#[diagnostic::do_not_recommend]
impl SharedHandle for Context {}
#[diagnostic::do_not_recommend]
impl<T: Send + 'static> SharedHandle for Chan<T> {}
#[diagnostic::do_not_recommend]
impl<T: Send + 'static> SharedHandle for Sender<T> {}
#[diagnostic::do_not_recommend]
impl<T: Send + 'static> SharedHandle for Receiver<T> {}

/// A value `go!` may move into a new goroutine: every `Send` type. Go
/// copies a `go` statement's arguments into the new goroutine; Rust moves
/// them, and a goroutine may run on another thread, so they must be
/// `Send`. The trait exists so that `go!(f(rc))` with an `Rc` says so in
/// goroutine terms; the one impl covers every `Send` type, and no other
/// impl can produce the [`Arg`] its function returns.
///
/// # Example
/// ```
/// fn check<T: go::GoroutineArg>(_: &T) {}
/// check(&std::sync::Arc::new(1)); // `Send`: a goroutine may be given it
/// ```
/// An `Rc` may not:
/// ```compile_fail,E0277
/// go::go!(drop(std::rc::Rc::new(1)));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent to another goroutine",
    label = "not `Send`",
    note = "a goroutine may run on another thread, so what it is given must be `Send`: an `Rc` \
            or a `RefCell` cannot be shared between goroutines; use `Arc` and \
            `go::sync::Mutex` (or an atomic) instead"
)]
pub trait GoroutineArg: Sized {
    /// `go!`'s check of a by-value argument, wrapped for the goroutine.
    /// Called through the trait (which has no supertraits) so that a
    /// non-`Send` argument is one error, at the argument, with this
    /// trait's message.
    #[doc(hidden)]
    fn moved_into_goroutine(value: Self) -> Arg<Self>;
}

impl<T: Send> GoroutineArg for T {
    #[inline]
    fn moved_into_goroutine(value: T) -> Arg<T> {
        Arg(value)
    }
}

/// An argument that [`GoroutineArg`] checked, on its way into the
/// goroutine.
#[doc(hidden)]
#[derive(Debug)]
pub struct Arg<T>(T);

impl<T> Arg<T> {
    /// The argument, inside the goroutine.
    #[inline]
    pub fn take(self) -> T {
        self.0
    }
}

// SAFETY: an `Arg<T>` is only ever built by the blanket impl of
// `GoroutineArg::moved_into_goroutine`, for `T: Send` (the field is private
// to this module, and no other impl of the trait can build one), so every
// `Arg` that exists holds a `Send` value. The impl exists so that a failed check is reported once,
// at the argument, rather than a second time by `spawn`'s bound on the
// whole closure.
unsafe impl<T> Send for Arg<T> {}
