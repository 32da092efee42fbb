//! Goroutine-local storage: the safe alternative to `thread_local!`.
//!
//! A `thread_local!` value belongs to the OS thread; a goroutine-local value
//! belongs to the goroutine, so it stays the same across blocking calls and
//! follows a goroutine that migrates (the `unsafe` migration mode), and each
//! goroutine gets its own copy even when many share one thread.
//!
//! # Storage
//! Each goroutine's control block holds a list of `(key, Box<value>)`
//! (`coroutine/locals.rs`); the key is the address of the `GoroutineLocal`
//! static. Only the goroutine itself touches its list. Values are boxed, so
//! a reference handed to `with` stays valid while other locals are added
//! (the list may grow, the boxes do not move). Values are dropped when the
//! goroutine finishes, on its own stack. On a plain thread the list lives
//! in a `thread_local!`.
//!
//! Values must be `Send`: a migratable goroutine carries them to other
//! threads, one thread at a time (the same argument as moving a `Box<T>`).

use std::cell::RefCell;
use std::fmt;

use crate::coroutine::{self, LocalBox, Locals};

thread_local! {
    /// Goroutine-locals of a plain thread.
    static THREAD_LOCALS: RefCell<Locals> = const { RefCell::new(Vec::new()) };
}

/// A goroutine-local value; declare it with [`goroutine_local!`](crate::goroutine_local).
///
/// # Example
/// ```
/// use std::cell::Cell;
/// go::goroutine_local! {
///     static CALLS: Cell<u32> = Cell::new(0);
/// }
///
/// let hs: Vec<_> = (0..10)
///     .map(|_| {
///         go::spawn(|| {
///             for _ in 0..3 {
///                 CALLS.with(|c| c.set(c.get() + 1));
///                 go::time::sleep(go::time::MILLISECOND); // a blocking call
///             }
///             CALLS.with(Cell::get)
///         })
///     })
///     .collect();
/// // Each goroutine counted only its own calls.
/// assert!(hs.into_iter().all(|h| h.join().unwrap() == 3));
/// ```
pub struct GoroutineLocal<T: Send + 'static> {
    /// Makes a goroutine's first value.
    init: fn() -> T,
}

impl<T: Send + 'static> fmt::Debug for GoroutineLocal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GoroutineLocal { .. }")
    }
}

impl<T: Send + 'static> GoroutineLocal<T> {
    /// A local whose value starts as `init()` in each goroutine. Use
    /// [`goroutine_local!`](crate::goroutine_local) rather than calling this directly.
    ///
    /// # Example
    /// ```
    /// static NAME: go::GoroutineLocal<String> = go::GoroutineLocal::new(String::new);
    /// NAME.with(|n| assert!(n.is_empty()));
    /// ```
    pub const fn new(init: fn() -> T) -> Self {
        GoroutineLocal { init }
    }

    /// Calls `f` with this goroutine's value, creating it on first use.
    ///
    /// The reference stays valid across blocking calls inside `f` (the
    /// value belongs to the goroutine, not the thread). A `with` on a plain
    /// thread uses that thread's own value.
    ///
    /// # Example
    /// ```
    /// use std::cell::RefCell;
    /// go::goroutine_local!(static LOG: RefCell<Vec<u32>> = RefCell::new(Vec::new()));
    /// let v = go::spawn(|| {
    ///     LOG.with(|l| l.borrow_mut().push(1));
    ///     go::runtime::gosched();
    ///     LOG.with(|l| l.borrow_mut().push(2));
    ///     LOG.with(|l| l.borrow().clone())
    /// });
    /// assert_eq!(v.join().unwrap(), [1, 2]);
    /// ```
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        let key = self as *const Self as usize;
        let value = match coroutine::current_ref() {
            Some(g) => {
                // SAFETY: only the running goroutine touches its locals, and
                // no reference into the list itself is held across `init`
                // or `f` (only into a box, which does not move).
                let locals = unsafe { g.locals() };
                self.get_or_init(locals, key)
            }
            None => THREAD_LOCALS.with(|l| {
                // SAFETY: as above; this thread's list is touched only here,
                // and the borrow ends before `init` or `f` runs.
                let locals = unsafe { &mut *l.as_ptr() };
                self.get_or_init(locals, key)
            }),
        };
        // SAFETY: `value` points into a box owned by the current goroutine's
        // (or thread's) list; boxes are dropped only when the goroutine
        // finishes (or the thread exits), one at a time between calls like
        // this one, never during `f`.
        f(unsafe { &*value })
    }

    /// The value's address in `locals`, created with `init` if missing.
    fn get_or_init(&self, locals: *mut Locals, key: usize) -> *const T {
        // SAFETY: `locals` is the caller's own list (see `with`); each access
        // below is a fresh, short borrow that ends before `init` runs.
        let found = unsafe { &*locals }.iter().find(|(k, _)| *k == key).map(|(_, v)| {
            let Some(v) = v else {
                // A tombstone: its goroutine is destroying its locals
                // (std's thread-locals panic the same way).
                panic!("cannot access a goroutine-local value during or after destruction");
            };
            v.get().downcast_ref::<T>().expect("a goroutine-local key maps to its own type")
                as *const T
        });
        if let Some(p) = found {
            return p;
        }
        let boxed = LocalBox::new(Box::new((self.init)()));
        let p = boxed.get().downcast_ref::<T>().expect("just boxed") as *const T;
        // SAFETY: as above; `init` has returned, nothing else borrows the list.
        unsafe { &mut *locals }.push((key, Some(boxed)));
        p
    }
}

/// Declares goroutine-local statics, like `thread_local!` but per goroutine.
///
/// # Example
/// ```
/// use std::cell::Cell;
/// go::goroutine_local! {
///     /// The request this goroutine serves.
///     static REQUEST_ID: Cell<u64> = Cell::new(0);
///     static DEPTH: Cell<u32> = Cell::new(0);
/// }
/// go::spawn(|| {
///     REQUEST_ID.with(|r| r.set(7));
///     go::runtime::gosched();
///     assert_eq!(REQUEST_ID.with(Cell::get), 7);
///     assert_eq!(DEPTH.with(Cell::get), 0);
/// })
/// .join()
/// .unwrap();
/// ```
#[macro_export]
macro_rules! goroutine_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        $(#[$attr])*
        $vis static $name: $crate::GoroutineLocal<$t> = $crate::GoroutineLocal::new(|| $init);
        $crate::goroutine_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => {
        $(#[$attr])*
        $vis static $name: $crate::GoroutineLocal<$t> = $crate::GoroutineLocal::new(|| $init);
    };
}
