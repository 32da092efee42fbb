//! Go's `recover`: stop a panic and look at its value, without hand-written
//! `catch_unwind` and payload downcasting.
//!
//! Go recovers inside a deferred function; Rust's unwinding is caught
//! around a call instead, so `defer func() { if r := recover(); r != nil {
//! ... } }()` at the top of a function becomes `recover(|| body)` around
//! its body. A recovered panic is over: the goroutine goes on, and a later
//! panic is reported on its own (the report of a recovered panic is
//! dropped at the next one, `coroutine/panics.rs`). `Panic::resume`
//! raises it again with the same value, as Go's `panic(r)` does.

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::report;

/// Runs `f`, stopping a panic that unwinds out of it: `Ok` with `f`'s
/// value, or `Err` with the panic (Go's `recover()` in a deferred call at
/// the top of `f`).
///
/// As in Go, nothing checks what the panic left half-done: `f` need not be
/// `UnwindSafe`. A panic that aborts (`panic = "abort"`, a panic while
/// panicking outside `defer!`) cannot be recovered, as in Go a fatal error
/// cannot. On a plain thread std's panic hook still prints the panic
/// before it is recovered; on a goroutine nothing is printed.
///
/// # Example
/// ```
/// use go::panic::recover;
///
/// fn parse(s: &str) -> u32 {
///     s.parse().expect("not a number")
/// }
/// # go::run(|| {
/// assert_eq!(recover(|| parse("42")).ok(), Some(42));
/// let r = recover(|| parse("forty-two")).unwrap_err();
/// assert!(r.to_string().starts_with("not a number"));
/// # });
/// ```
pub fn recover<T>(f: impl FnOnce() -> T) -> Result<T, Panic> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| Panic { payload })
}

/// A recovered panic: its value, printable as Go prints a panic value
/// (strings as they are, numbers and `bool`s by value, other values by
/// type), and able to be raised again.
///
/// # Example
/// ```
/// # go::run(|| {
/// let r = go::panic::recover(|| std::panic::panic_any(42_i32)).unwrap_err();
/// assert_eq!(r.to_string(), "42");
/// assert_eq!(r.downcast_ref::<i32>(), Some(&42));
/// # });
/// ```
pub struct Panic {
    payload: Box<dyn Any + Send>,
}

impl Panic {
    /// The panic's value, if it is a `T` (a `&'static str` for
    /// `panic!("literal")`, a `String` for a formatted message, the value
    /// given to `std::panic::panic_any`).
    ///
    /// # Example
    /// ```
    /// # go::run(|| {
    /// let code = std::hint::black_box(7); // a value known only at run time
    /// let r = go::panic::recover(|| panic!("code {code}")).unwrap_err();
    /// assert_eq!(r.downcast_ref::<String>().map(String::as_str), Some("code 7"));
    /// let r = go::panic::recover(|| panic!("literal")).unwrap_err();
    /// assert_eq!(r.downcast_ref::<&str>(), Some(&"literal"));
    /// # });
    /// ```
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.payload.downcast_ref()
    }

    /// The panic's value, as `std::panic::catch_unwind` gives it.
    ///
    /// # Example
    /// ```
    /// # go::run(|| {
    /// let r = go::panic::recover(|| panic!("boom")).unwrap_err();
    /// let payload = r.into_payload();
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    /// # });
    /// ```
    pub fn into_payload(self) -> Box<dyn Any + Send> {
        self.payload
    }

    /// Raises the panic again with the same value (Go's `panic(r)` after a
    /// `recover`): callers further out, `join`, or the crash report see the
    /// original panic. The panic hook does not run again.
    ///
    /// # Example
    /// ```
    /// let h = go::spawn(|| {
    ///     if let Err(r) = go::panic::recover(|| panic!("deep")) {
    ///         // Log it, then pass it on.
    ///         r.resume();
    ///     }
    /// });
    /// let payload = h.join().unwrap_err();
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"deep"));
    /// ```
    pub fn resume(self) -> ! {
        resume_unwind(self.payload)
    }
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&report::payload_message(self.payload.as_ref()))
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Panic").field(&report::payload_message(self.payload.as_ref())).finish()
    }
}

impl From<Panic> for Box<dyn Any + Send> {
    fn from(p: Panic) -> Self {
        p.payload
    }
}
