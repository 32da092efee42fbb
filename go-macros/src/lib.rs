//! Procedural macros of the `go` crate: Go's `go`, `select`, `defer` and
//! `make` in Rust, and `#[go::main]`. Use them through `go` (`go::go!`,
//! `go::select!`, ...); their expansions name paths inside `go`.
//!
//! Each macro is one file: parse, validate (every error collected and
//! spanned on the user's own tokens, in Go's words), expand. A macro never
//! panics; on error it still expands to something that type-checks, so only
//! the real error shows.

mod defer;
mod entry;
mod go;
mod goroutine;
mod make;
mod race;
mod select;
mod util;
mod waitgroup;

#[cfg(test)]
mod fuzz;

use proc_macro::TokenStream;

/// Go's `go` statement: evaluates the function, the receiver and the
/// arguments now, in the caller, and runs the call in a new goroutine.
/// Returns the goroutine's [`JoinHandle`](../go/struct.JoinHandle.html);
/// dropping it detaches the goroutine.
///
/// | Go | Rust |
/// |---|---|
/// | `go worker(i, &wg)` | `go!(worker(i, &wg))` |
/// | `go s.serve(conn)` | `go!(s.serve(conn))` |
/// | `go func() { ... }()` | `go!({ ... })` or `go!(move \|\| ...)` |
/// | `go func(x int) { ... }(i)` | `go!((move \|x: i32\| ...)(i))` |
///
/// Arguments are moved into the goroutine and must be `Send`. An argument
/// written `&x`, and a receiver that names a variable or field, is shared
/// the way Go shares a pointer: `x` must be a shared handle
/// (`go::SharedHandle`: `WaitGroup`, `Chan`, `Sender`, `Receiver`, `Arc`,
/// `Context`, ...) and the goroutine gets its own clone. Borrowing anything
/// else is an error that names the variable: the goroutine may outlive it
/// (start it in `waitgroup!` to borrow).
///
/// A closure or block body that assigns to a variable of the enclosing
/// function is rejected as the data race it is in Go.
///
/// ```
/// use go::sync::WaitGroup;
///
/// fn worker(id: u32, wg: &WaitGroup) {
///     go::defer!(wg.done());
///     println!("Worker {id} started");
/// }
///
/// let wg = WaitGroup::new();
/// for i in 1..=3 {
///     wg.add(1);
///     go::go!(worker(i, &wg));
/// }
/// wg.wait();
///
/// let h = go::go!({ 6 * 7 });
/// assert_eq!(h.join().unwrap(), 42);
/// ```
#[proc_macro]
pub fn go(input: TokenStream) -> TokenStream {
    go::expand(input.into()).into()
}

/// Go's `select` statement, in Go's own words.
///
/// | Go | Rust |
/// |---|---|
/// | `case v := <-ch:` | `case v := <-ch => ...,` |
/// | `case ch <- x:` | `case ch <- x => ...,` |
/// | `case <-time.After(d):` | `case <-time::after(d) => ...,` |
/// | `default:` | `default => ...,` |
///
/// ```text
/// select! {
///     case v := <-ch => ...,       // v is Go's zero value (Default) if ch is closed
///     case v, ok := <-ch => ...,   // ok is false if ch is closed
///     case <-done => ...,
///     case v = <-ch => ...,        // assigns an existing variable
///     case out <- x => ...,        // send
///     case <-time::after(d) => ...,
///     default => ...,              // makes the select non-blocking
/// }
/// ```
///
/// Every channel operand and send value is evaluated once, in source order,
/// when the select starts (docs/go-semantics.md, 28); among ready cases one is
/// chosen uniformly at random (29). Bodies run in the enclosing function:
/// `return`, `?`, `continue` and `break` act on it (unlike Go, a bare
/// `break` leaves the enclosing loop, not just the select). `select! {}`
/// blocks for ever. The value of the chosen body is the select's value.
///
/// ```
/// use go::{make, select};
///
/// let ch = make!(chan i32, 1);
/// let quit = make!(chan ());
/// ch.send(7);
/// let got = select! {
///     case v := <-ch => v * 2,
///     case <-quit => 0,
/// };
/// assert_eq!(got, 14);
///
/// let idle = select! {
///     case v, ok := <-ch => if ok { v } else { -1 },
///     default => -2,
/// };
/// assert_eq!(idle, -2);
/// ```
#[proc_macro]
pub fn select(input: TokenStream) -> TokenStream {
    select::expand(input.into()).into()
}

/// Go's `defer`: runs the expression (or the statements) when the
/// enclosing block ends, also while unwinding from a panic; several run in
/// LIFO order.
///
/// | Go | Rust |
/// |---|---|
/// | `defer wg.Done()` | `defer!(wg.done())` |
/// | `defer func() { ... }()` | `defer! { ...; }` |
///
/// Unlike Go, the operands are evaluated when the deferred code runs (it is
/// a closure borrowing them); bind a value first to keep today's.
///
/// ```
/// use std::cell::RefCell;
///
/// let log = RefCell::new(Vec::new());
/// {
///     go::defer!(log.borrow_mut().push("first deferred, runs last"));
///     go::defer! { log.borrow_mut().push("second deferred, runs first"); }
///     log.borrow_mut().push("body");
/// }
/// assert_eq!(
///     *log.borrow(),
///     ["body", "second deferred, runs first", "first deferred, runs last"]
/// );
/// ```
#[proc_macro]
pub fn defer(input: TokenStream) -> TokenStream {
    defer::expand(input.into()).into()
}

/// Go's `make` for channels: `ch := make(chan int, 2)` is
/// `let ch = make!(chan i32, 2);`. `make!(chan T)` is unbuffered,
/// `make!(chan T, n)` buffers `n` values; `make!(chan struct{})` is a
/// `Chan<()>`.
///
/// ```
/// let ch = go::make!(chan String, 2);
/// ch.send("hello".to_string());
/// assert_eq!((ch.len(), ch.cap()), (1, 2));
/// let done = go::make!(chan struct{});
/// assert_eq!(done.cap(), 0);
/// ```
#[proc_macro]
pub fn make(input: TokenStream) -> TokenStream {
    make::expand(input.into()).into()
}

/// A block whose Go-syntax `go f(x);` statements start goroutines that the
/// block joins before it ends: Go's `WaitGroup` pattern with `Add`, `Done`
/// and `Wait` written for you. The goroutines may borrow the enclosing
/// function's locals (as with `std::thread::scope`). If any of them
/// panics, the block waits for all, then re-raises the first panic. The
/// block's value is the macro's value.
///
/// ```text
/// var wg sync.WaitGroup              waitgroup! {
/// for _, c := range chunks {             for c in data.chunks(3) {
///     wg.Add(1)                              go add_squares(c, &total);
///     go func(c []int) {                 }
///         defer wg.Done()            }
///         addSquares(c, &total)
///     }(c)
/// }
/// wg.Wait()
/// ```
///
/// `go f(a, &b);` evaluates `f` and its arguments now (a `&b` argument is a
/// borrow); `go { ... };` runs a block (a `move` closure: borrow first with
/// `let data = &data;` to share a local).
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// fn add_squares(xs: &[u64], total: &AtomicU64) {
///     total.fetch_add(xs.iter().map(|x| x * x).sum(), Ordering::Relaxed);
/// }
///
/// let data: Vec<u64> = (1..=10).collect();
/// let total = AtomicU64::new(0);
/// let chunks = go::waitgroup! {
///     for chunk in data.chunks(3) {
///         go add_squares(chunk, &total);
///     }
///     data.chunks(3).count()
/// };
/// assert_eq!((chunks, total.into_inner()), (4, 385));
/// ```
#[proc_macro]
pub fn waitgroup(input: TokenStream) -> TokenStream {
    waitgroup::expand(input.into()).into()
}

/// Go's `func worker(id int, wg *sync.WaitGroup)`, checked: `#[goroutine]`
/// verifies at compile time that a fn can be a goroutine's body: not `async`,
/// no borrowed parameters except `&` shared handles, `Send` parameters, no
/// writes to `static`s. It does not change what a call does: `go!(f(x))`
/// starts the goroutine, `f(x)` still just calls `f`.
///
/// ```
/// use go::sync::WaitGroup;
///
/// #[go::goroutine]
/// fn worker(id: u32, wg: &WaitGroup) {
///     go::defer!(wg.done());
///     println!("worker {id}");
/// }
///
/// let wg = WaitGroup::new();
/// wg.add(1);
/// go::go!(worker(1, &wg));
/// wg.wait();
/// ```
#[proc_macro_attribute]
pub fn goroutine(attr: TokenStream, item: TokenStream) -> TokenStream {
    goroutine::expand(attr.into(), item.into()).into()
}

/// Go's `func main()`: runs `main` as goroutine 1 of the global runtime. When it returns the
/// process exits, even if other goroutines are still running (docs/go-semantics.md,
/// 9); when it panics, its `defer!`s run, Go's report is printed and the process exits
/// with status 2. Options: `gomaxprocs = N`; `stack_size = BYTES`, main's own stack
/// (8 MiB by default, as deep as a main thread); `goroutine_stack_size = BYTES`, the
/// default stack of every other goroutine (64 KiB unless set).
///
/// ```
/// #[go::main(gomaxprocs = 2, goroutine_stack_size = 1 << 20)]
/// fn main() {
///     let h = go::go!({ go::runtime::gomaxprocs() });
///     assert_eq!(h.join().unwrap(), 2);
/// }
/// ```
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(entry::Kind::Main, attr.into(), item.into()).into()
}

/// Go's `func TestX(t *testing.T)`: a `#[test]` whose body runs as a goroutine (joined, so a panic fails the
/// test, with its message and location in the test's output, and `#[should_panic]` works).
/// Options: those of [`macro@main`].
///
/// ```
/// #[go::test]
/// fn channels_work() {
///     let ch = go::make!(chan u8, 1);
///     ch.send(1);
///     assert_eq!(ch.recv(), Some(1));
/// }
/// ```
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(entry::Kind::Test, attr.into(), item.into()).into()
}
