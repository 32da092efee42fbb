//! `waitgroup! { ... }`: a block whose Go-syntax `go f(x);` statements start
//! scoped goroutines, all joined before the block's value is returned.
//!
//! Parse, in two phases. 1: in the block's tokens, a `go` statement is the
//! identifier `go` at the start of a statement (after `{`, `;` or a `}`
//! that closed one) followed by an operand, up to the next `;`; each becomes
//! a call to a hidden marker, so the block is valid Rust (macro invocations
//! inside are left alone: a nested `waitgroup!` has its own statements).
//! 2: parse the block with syn, note every name bound inside it, and replace
//! the markers, innermost first. Validate: at least one `go` statement; no
//! `return` or `?` in the block's own code (they would leave the hidden
//! closure, not the enclosing function); each operand as in `go!`. Expand: `::go::__private::scope(|scope| { block })`
//! with each go statement a `scope.go(...)` (see `go_runtime::scope` for
//! why it is sound).
//!
//! Captures: a call's operands are evaluated in place (`&x` is a borrow). A
//! `go { ... }` block moves in the variables bound inside the `waitgroup!`
//! block (loop variables and other locals that end before the scope does:
//! each goroutine gets its own, like Go 1.22's per-iteration variables) and
//! borrows every other variable it names (shared, like a Go closure's).

use std::collections::HashSet;

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::quote;
use syn::parse::Parser;
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, Ident};

use crate::go::{Mode, spawn};
use crate::race;
use crate::util::{expr_fallback, hidden};

/// The entry point of `waitgroup!`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let scope = hidden("__go_scope");
    let marker = hidden("__go_statement");
    let mut found = 0;
    // Phase 1: each `go X;` becomes `__go_statement(X);`, valid Rust.
    let body = mark(input, &marker, &mut found);
    if found == 0 {
        return expr_fallback(vec![syn::Error::new(
            proc_macro2::Span::call_site(),
            "waitgroup! starts no goroutine: write Go's `go f(x);` statements inside it \
             (`waitgroup! { for i in 0..n { go worker(i, &data); } }`)",
        )]);
    }
    let mut stmts = match Block::parse_within.parse2(body) {
        Ok(s) => s,
        Err(e) => return expr_fallback(vec![e]),
    };
    // Validate: control flow that would leave the hidden closure instead
    // of the function the user wrote it in.
    let mut leaks = EscapeFinder { errors: Vec::new() };
    for s in &stmts {
        leaks.visit_stmt(s);
    }
    if !leaks.errors.is_empty() {
        return expr_fallback(leaks.errors);
    }
    // Phase 2: replace the markers, innermost first.
    let inner = race::bound_names(&stmts);
    let mut expander =
        Expander { marker: &marker, scope: &scope, inner: &inner, errors: Vec::new() };
    for s in &mut stmts {
        expander.visit_stmt_mut(s);
    }
    if !expander.errors.is_empty() {
        return expr_fallback(expander.errors);
    }
    quote! {
        ::go::__private::scope(|#scope| { #(#stmts)* })
    }
}

/// Finds `return` and `?` in the block's own code (not in closures, async
/// blocks or nested items, whose `return` is their own): the block runs as
/// a closure, so they would leave only that, not the enclosing function.
struct EscapeFinder {
    /// One error per `return` or `?`.
    errors: Vec<syn::Error>,
}

impl<'ast> Visit<'ast> for EscapeFinder {
    fn visit_expr(&mut self, e: &'ast Expr) {
        match e {
            Expr::Return(r) => self.errors.push(syn::Error::new_spanned(
                r.return_token,
                "`return` inside waitgroup! would leave only the block, which runs as a \
                 closure, not the enclosing function: make it the block's value and return \
                 after it (`let v = waitgroup! { ...; v }; return v;`)",
            )),
            Expr::Try(t) => self.errors.push(syn::Error::new_spanned(
                t.question_token,
                "`?` inside waitgroup! would leave only the block, which runs as a closure, \
                 not the enclosing function: make the result the block's value and apply `?` \
                 after it (`let r = waitgroup! { ...; r }; r?;`)",
            )),
            // Their own `return` and `?` are theirs.
            Expr::Closure(_) | Expr::Async(_) => return,
            _ => {}
        }
        visit::visit_expr(self, e);
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Replaces the markers of phase 1 with the spawns.
struct Expander<'a> {
    /// The marker function's name.
    marker: &'a Ident,
    /// The scope's name.
    scope: &'a Ident,
    /// Names bound inside the block.
    inner: &'a HashSet<String>,
    /// Problems found.
    errors: Vec<syn::Error>,
}

impl VisitMut for Expander<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        visit_mut::visit_expr_mut(self, e);
        let Expr::Call(call) = e else { return };
        let is_marker = matches!(&*call.func, Expr::Path(p) if p.path.is_ident(self.marker));
        if !is_marker || call.args.len() != 1 {
            return;
        }
        let operand = &call.args[0];
        let spawned = spawn(operand, Mode::Scoped(self.scope, self.inner), &mut self.errors);
        match syn::parse2::<Expr>(spawned) {
            Ok(new) => *e = new,
            Err(err) => self.errors.push(err),
        }
    }
}

/// Phase 1: replaces the `go` statements of `ts` (and of the groups inside
/// it, but not of macro calls) with calls to `marker`.
fn mark(ts: TokenStream, marker: &Ident, found: &mut usize) -> TokenStream {
    let tts: Vec<TokenTree> = ts.into_iter().collect();
    let mut out = TokenStream::new();
    let mut i = 0;
    // Whether the next token starts a statement.
    let mut at_start = true;
    while i < tts.len() {
        let tt = &tts[i];
        if at_start && is_go_keyword(tt) && tts.get(i + 1).is_some_and(starts_operand) {
            let mut end = i + 1;
            while end < tts.len() && !is_punct(&tts[end], ';') {
                end += 1;
            }
            *found += 1;
            let operand = mark(tts[i + 1..end].iter().cloned().collect(), marker, found);
            out.extend(quote! { #marker(#operand); });
            i = end + 1;
            at_start = true;
            continue;
        }
        match tt {
            TokenTree::Group(g) if !after_macro_bang(&tts, i) => {
                let inner = mark(g.stream(), marker, found);
                let mut ng = Group::new(g.delimiter(), inner);
                ng.set_span(g.span());
                out.extend([TokenTree::Group(ng)]);
                at_start = g.delimiter() == Delimiter::Brace;
            }
            TokenTree::Punct(p) if p.as_char() == ';' => {
                out.extend([tt.clone()]);
                at_start = true;
            }
            _ => {
                out.extend([tt.clone()]);
                at_start = false;
            }
        }
        i += 1;
    }
    out
}

fn is_go_keyword(tt: &TokenTree) -> bool {
    matches!(tt, TokenTree::Ident(id) if id == "go")
}

/// Whether `tt` can begin a go statement's operand: a name, a block or
/// parenthesised expression, a closure (`move`, `|`). Not `::` or `!`, so
/// `go::time::sleep(d)` and a macro named `go!` are left alone.
fn starts_operand(tt: &TokenTree) -> bool {
    match tt {
        TokenTree::Ident(_) => true,
        TokenTree::Group(g) => matches!(g.delimiter(), Delimiter::Brace | Delimiter::Parenthesis),
        TokenTree::Punct(p) => p.as_char() == '|',
        TokenTree::Literal(_) => false,
    }
}

fn is_punct(tt: &TokenTree, c: char) -> bool {
    matches!(tt, TokenTree::Punct(p) if p.as_char() == c)
}

/// Whether the group at `i` is a macro invocation's body (`name!(...)`).
fn after_macro_bang(tts: &[TokenTree], i: usize) -> bool {
    i >= 2 && is_punct(&tts[i - 1], '!') && matches!(tts[i - 2], TokenTree::Ident(_))
}
