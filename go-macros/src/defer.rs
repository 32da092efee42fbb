//! `defer!(expr)` / `defer! { stmts }`: run code when the enclosing block
//! ends, in LIFO order, also while unwinding from a panic.
//!
//! Parse: an expression, or statements (a top-level `;` or a leading
//! `let`). Validate: something to defer that does something (a bare name or
//! literal gets Go's `expression in defer must be function call`). Expand: a hidden `let` holding a guard
//! whose `Drop` runs a closure: each `defer!` is a new binding, and Rust
//! drops bindings in reverse order of declaration, which is Go's LIFO.
//!
//! Unlike Go, the deferred expression's operands are evaluated when it runs,
//! not when `defer!` is reached (it is a closure that borrows them); bind a
//! value first (`let i = i;`) to keep the value it has now.

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use syn::parse::Parser;
use syn::{Block, Expr};

use crate::util::{hidden, to_compile_errors};

/// The entry point of `defer!`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let guard = hidden("__go_defer");
    if input.is_empty() {
        return to_compile_errors(vec![syn::Error::new(
            proc_macro2::Span::call_site(),
            "missing function call in defer: write what to run at the end of the block, \
             `defer!(wg.done())` or `defer! { ... }`",
        )]);
    }
    // `defer! { a; b; }` arrives as the statements; `defer!({ ... })` as one
    // brace group. Both are statements to run.
    let is_stmts = looks_like_statements(&input);
    if is_stmts {
        let stmts = match Block::parse_within.parse2(input) {
            Ok(s) => s,
            Err(e) => return e.to_compile_error(),
        };
        return quote! {
            let #guard = ::go::__private::Defer::new(|| { #(#stmts)* });
        };
    }
    let expr: Expr = match syn::parse2(input) {
        Ok(e) => e,
        Err(e) => return e.to_compile_error(),
    };
    if matches!(expr, Expr::Path(_) | Expr::Lit(_) | Expr::Field(_)) {
        // `defer!(wg.done)`, `defer!(x)`: nothing would run.
        return to_compile_errors(vec![syn::Error::new_spanned(
            &expr,
            "expression in defer must be function call",
        )]);
    }
    if let Expr::Closure(c) = &expr {
        // `defer!(|| ...)`: Go's `defer func() { ... }()`; run the closure.
        return quote! {
            let #guard = ::go::__private::Defer::new(#c);
        };
    }
    quote! {
        let #guard = ::go::__private::Defer::new(|| { #expr; });
    }
}

/// Whether `input` is a statement list (has a top-level `;`, or starts
/// with `let`), rather than one expression.
fn looks_like_statements(input: &TokenStream) -> bool {
    let mut tts = input.clone().into_iter().peekable();
    matches!(tts.peek(), Some(TokenTree::Ident(id)) if id == "let")
        || tts.any(|tt| matches!(tt, TokenTree::Punct(p) if p.as_char() == ';'))
}
