//! `go!(f(x))` and the `go` statements of `waitgroup!`: evaluate the
//! function, the receiver and the arguments now, in the caller (docs/go-semantics.md,
//! 7), and run the call in a new goroutine.
//!
//! Parse: one expression. Validate: it is a call, a method call, a block, a
//! `move` closure or a macro call (Go: `expression in go must be function
//! call`); no `&mut` argument; inline bodies pass the data-race check
//! (`race.rs`). Expand: one hidden `let` per operand, in source order, then
//! the spawn of a `move` closure that makes the call.
//!
//! Capture rules of a detached goroutine (`go!`):
//! - `&x` (and a receiver that is a place, such as `wg` in `wg.wait()`):
//!   `x` must be a `SharedHandle`; the goroutine gets its own clone and the
//!   call gets `&clone`, so Go's `go worker(i, &wg)` ports unchanged.
//!   Anything else is an error at `&x`: the goroutine may outlive it.
//! - Any other argument is moved in, and must be `Send` (checked on the
//!   argument's own tokens so the error points there).
//!
//! How the checks report (`tests/ui`): through the public traits
//! `go::SharedHandle` and `go::GoroutineArg`, whose `on_unimplemented`
//! messages speak of goroutines, so rustc's help line names them or std's
//! `Send`. Rejected: a helper trait declared per `go!` (its message could
//! name the variable, but rustc prints a local trait as `main::Send`, which
//! also reads as if std's `Send` were meant), and a call through
//! `SharedHandle` itself (it checks the supertraits too: two errors for an
//! `Arc<RefCell<T>>`).
//!
//! A scoped goroutine (`waitgroup!`) may borrow, so its operands are plain
//! values: `&x` is a reference, a place receiver is borrowed.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Ident};

use crate::race;
use crate::util::{hidden, is_place, tokens};

/// Where the goroutine goes.
#[derive(Clone, Copy)]
pub(crate) enum Mode<'a> {
    /// `go!`: a detached goroutine; evaluates to its `JoinHandle`.
    Detached,
    /// A `go` statement in `waitgroup!`, joined by the scope named here.
    /// `inner` holds the names bound inside the `waitgroup!` block: a go
    /// block moves those in (they end before the scope does) and borrows
    /// every other variable it uses (Go's closures share them).
    Scoped(&'a Ident, &'a std::collections::HashSet<String>),
}

/// The entry point of `go!`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    if input.is_empty() {
        return crate::util::expr_fallback(vec![syn::Error::new(
            proc_macro2::Span::call_site(),
            "missing function call in go: write `go!(f(x))`, `go!({ ... })` or `go!(move || ...)`",
        )]);
    }
    let expr: Expr = match syn::parse2(input) {
        Ok(e) => e,
        Err(e) => return crate::util::expr_fallback(vec![e]),
    };
    let mut errors = Vec::new();
    let out = spawn(&expr, Mode::Detached, &mut errors);
    if errors.is_empty() { out } else { crate::util::expr_fallback(errors) }
}

/// Expands the operand of a go statement; problems go to `errors`.
pub(crate) fn spawn(expr: &Expr, mode: Mode<'_>, errors: &mut Vec<syn::Error>) -> TokenStream {
    match expr {
        Expr::Paren(p) => spawn(&p.expr, mode, errors),
        Expr::Call(call) => {
            let mut lets = Vec::new();
            let f = hidden("__go_f");
            let mut func = &*call.func;
            while let Expr::Paren(p) = func {
                func = &p.expr;
            }
            // `go!((move |k| { ... })(i))`: the closure is the goroutine's
            // body, checked as a `go!(move || ...)` body is.
            if let Expr::Closure(_) = func {
                race::check(race::Body::Expr(func), Default::default(), errors);
            }
            lets.push(quote! { let #f = #func; });
            let args = capture_args(call.args.iter(), mode, &mut lets, errors);
            finish(&lets, quote! { #f(#(#args),*) }, mode)
        }
        Expr::MethodCall(m) => {
            let mut lets = Vec::new();
            let r = hidden("__go_recv");
            lets.push(capture_receiver(&m.receiver, &r, mode));
            let args = capture_args(m.args.iter(), mode, &mut lets, errors);
            let (method, turbofish) = (&m.method, &m.turbofish);
            finish(&lets, quote! { #r.#method #turbofish (#(#args),*) }, mode)
        }
        Expr::Closure(c) => {
            if c.asyncness.is_some() {
                errors.push(syn::Error::new_spanned(
                    c.asyncness,
                    "a goroutine runs ordinary blocking code, not a future: remove `async`",
                ));
            }
            if !c.inputs.is_empty() {
                errors.push(syn::Error::new_spanned(
                    &c.inputs,
                    "a goroutine's closure takes no parameters; pass values with a call, \
                     `go!((move |x| ...)(value))`, or capture them",
                ));
            }
            if c.capture.is_none() && matches!(mode, Mode::Detached) {
                errors.push(syn::Error::new_spanned(
                    c.inputs_begin,
                    "a goroutine may outlive the function that starts it, so its closure must \
                     own what it captures: write `move || ...` (share values through handles \
                     such as `Arc` or `WaitGroup`)",
                ));
            }
            race::check(race::Body::Expr(&c.body), Default::default(), errors);
            match mode {
                Mode::Detached => quote! { ::go::__private::spawn(#c) },
                Mode::Scoped(scope, _) => {
                    let g = hidden("__go_closure");
                    quote! {{
                        let #g = #c;
                        #scope.go(::go::__private::discard(#g));
                    }}
                }
            }
        }
        Expr::Block(_) | Expr::Unsafe(_) => {
            race::check(race::Body::Expr(expr), Default::default(), errors);
            match mode {
                Mode::Detached => quote! { ::go::__private::spawn(move || #expr) },
                Mode::Scoped(scope, inner) => {
                    let borrows = race::free_names(expr)
                        .into_iter()
                        .filter(|n| {
                            // The scope itself (used by nested go statements)
                            // and other hidden names are the expansion's.
                            let name = n.to_string();
                            !inner.contains(&name) && !name.starts_with("__go_")
                        })
                        .map(|n| quote! { let #n = &#n; });
                    quote! {{
                        #(#borrows)*
                        #scope.go(::go::__private::discard(move || #expr));
                    }}
                }
            }
        }
        Expr::Macro(_) => match mode {
            Mode::Detached => quote! { ::go::__private::spawn(move || { #expr }) },
            Mode::Scoped(scope, _) => {
                quote! { #scope.go(::go::__private::discard(move || #expr)); }
            }
        },
        Expr::Async(_) => {
            errors.push(syn::Error::new_spanned(
                expr,
                "a goroutine runs ordinary blocking code, not a future: use a block `{ ... }` \
                 instead of `async { ... }`",
            ));
            TokenStream::new()
        }
        _ => {
            let mut msg = "expression in go must be function call".to_string();
            if let Expr::Path(p) = expr {
                msg += &format!(": call it, `go!({}())`", tokens(p));
            }
            errors.push(syn::Error::new_spanned(expr, msg));
            TokenStream::new()
        }
    }
}

/// The `let`s, then the spawn of the call.
fn finish(lets: &[TokenStream], call: TokenStream, mode: Mode<'_>) -> TokenStream {
    match mode {
        Mode::Detached => quote! {{
            #(#lets)*
            ::go::__private::spawn(move || #call)
        }},
        Mode::Scoped(scope, _) => quote! {{
            #(#lets)*
            #scope.go(::go::__private::discard(move || #call));
        }},
    }
}

/// Evaluates each argument into a hidden `let`; returns how the call uses it.
fn capture_args<'a>(
    args: impl Iterator<Item = &'a Expr>,
    mode: Mode<'_>,
    lets: &mut Vec<TokenStream>,
    errors: &mut Vec<syn::Error>,
) -> Vec<TokenStream> {
    let mut uses = Vec::new();
    for (i, arg) in args.enumerate() {
        // Hidden (mixed-site hygiene), but located at the argument, and so
        // is its use in the call: a type mismatch is reported at the
        // user's argument, as for a plain call.
        let at = arg.span();
        let a = Ident::new(&format!("__go_a{i}"), at.resolved_at(proc_macro2::Span::mixed_site()));
        match (mode, arg) {
            (Mode::Scoped(..), _) => {
                lets.push(quote! { let #a = #arg; });
                uses.push(quote_spanned! {at=> #a });
            }
            (Mode::Detached, Expr::Reference(r)) if r.mutability.is_some() => {
                errors.push(syn::Error::new_spanned(
                    arg,
                    format!(
                        "goroutine captures `{}` by mutable reference: writing it from two \
                         goroutines is a data race; pass it by value, or share it as a \
                         `go::sync::Mutex` behind an `Arc`",
                        tokens(&r.expr)
                    ),
                ));
            }
            (Mode::Detached, Expr::Reference(r)) => {
                let shared = share(&r.expr, arg);
                lets.push(quote! { let #a = #shared; });
                uses.push(quote_spanned! {at=> &#a });
            }
            (Mode::Detached, _) => {
                let sent = send(arg);
                lets.push(quote! { let #a = #sent; });
                uses.push(quote_spanned! {at=> #a.take() });
            }
        }
    }
    uses
}

/// The hidden `let` of a method call's receiver.
fn capture_receiver(recv: &Expr, r: &Ident, mode: Mode<'_>) -> TokenStream {
    let place = is_place(recv);
    match mode {
        Mode::Scoped(..) if place => quote! { let #r = &#recv; },
        Mode::Scoped(..) => quote! { let #r = #recv; },
        Mode::Detached if place => {
            let shared = share(recv, recv);
            quote! { let #r = #shared; }
        }
        Mode::Detached => {
            let sent = send(recv);
            quote! { let #r = #sent.take(); }
        }
    }
}

/// A clone of the shared handle `place`, or an error at `at` saying it is
/// not one (`go::SharedHandle`'s message). The bound sits on a local
/// function rather than on a call through the trait: calling the trait
/// would also check its supertraits, a second error for an `Arc<RefCell<T>>`.
/// Called as a path, so rustc attaches no fix-it to the argument.
fn share(place: &Expr, at: &dyn ToTokens) -> TokenStream {
    let probe = probe(quote! { &#place }, at.span());
    // rustc's note reads "required by a bound in `go`", at the `go!`.
    let f = hidden("go");
    let call = quote_spanned! {at.span()=> (#f::<_>)(#probe) };
    quote! {{
        fn #f<H: ::go::SharedHandle>(handle: H) -> H {
            handle
        }
        #call
    }}
}

/// `operand` through `go::__private::Probe`: a reference to a shared handle
/// comes out as a clone of the handle, anything else as itself.
/// The block's braces carry `span`, so an unmet bound on the result is
/// reported at the user's operand.
fn probe(operand: TokenStream, span: proc_macro2::Span) -> TokenStream {
    let body = quote! {
        #[allow(unused_imports)]
        use ::go::__private::{ProbeHandle as _, ProbeHandleRef as _, ProbeValue as _};
        (&::go::__private::Probe::new(#operand)).go_capture()
    };
    let mut g = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, body);
    g.set_span(span);
    proc_macro2::TokenTree::Group(g).into()
}

/// `value`, moved into the goroutine, or an error at it if it is not
/// `Send` (`go::GoroutineArg`'s message, then std's "the trait `Send` is
/// not implemented"). The function is called as a path (`(<_ as ..>::f)(v)`)
/// so the bound belongs to the path, not to the argument: rustc then does
/// not suggest `*rc`, which would move out of the `Rc`.
fn send(value: &Expr) -> TokenStream {
    quote_spanned! {value.span()=> (<_ as ::go::GoroutineArg>::moved_into_goroutine)(#value) }
}
