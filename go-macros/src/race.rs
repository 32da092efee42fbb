//! The data-race check shared by every macro that starts a goroutine from
//! code the user wrote inline (`go!({ ... })`, `go!(move || ...)`, `go { }`
//! in `waitgroup!`, a `#[goroutine]` fn).
//!
//! Go's `go func() { counter++ }()` races on `counter`, and Go finds it only
//! with `-race`. In Rust the same line either fails to borrow (an error
//! about lifetimes, not about the race) or, with `move` and a `Copy` value,
//! silently increments a private copy: a wrong answer. So an assignment in a
//! goroutine body to a plain variable that the body does not bind itself is
//! rejected here, with a message that names the race and the cure. So is a
//! write to a `static` (an upper-case name: locals are snake_case), the
//! `static mut COUNTER` port of Go's package-level `var counter int`.
//!
//! The check is syntactic and errs on the side of silence: a name bound
//! anywhere in the body (by `let`, a closure or `fn` parameter, a pattern)
//! is never reported, and writes through `*r`, fields or indexes are left to
//! the borrow checker.

use std::collections::HashSet;

use syn::visit::{self, Visit};
use syn::{BinOp, Expr, Ident, Pat};

/// What the check walks: a goroutine's body.
#[derive(Clone, Copy)]
pub(crate) enum Body<'a> {
    /// `go!({ ... })`, a closure's body.
    Expr(&'a Expr),
    /// A `#[goroutine]` fn's body.
    Block(&'a syn::Block),
}

/// Reports every write in `body` to a variable it does not bind itself.
/// `bound` holds names bound outside the body that are the goroutine's own
/// (a `#[goroutine]` fn's parameters).
pub(crate) fn check(body: Body<'_>, bound: HashSet<String>, errors: &mut Vec<syn::Error>) {
    let mut binds = Binds(bound);
    match body {
        Body::Expr(e) => binds.visit_expr(e),
        Body::Block(b) => binds.visit_block(b),
    }
    let mut writes = Writes { bound: &binds.0, errors };
    match body {
        Body::Expr(e) => writes.visit_expr(e),
        Body::Block(b) => writes.visit_block(b),
    }
}

/// Every name bound anywhere in `stmts` (by `let`, `for`, closure
/// parameters, match arms, ...).
pub(crate) fn bound_names(stmts: &[syn::Stmt]) -> HashSet<String> {
    let mut binds = Binds(HashSet::new());
    for s in stmts {
        binds.visit_stmt(s);
    }
    binds.0
}

/// The variables `e` uses but does not bind itself, each with the first
/// token that names it (for its span). Names inside macro calls count too:
/// identifiers among their tokens and `{name}` in their format strings.
pub(crate) fn free_names(e: &Expr) -> Vec<Ident> {
    let mut binds = Binds(HashSet::new());
    binds.visit_expr(e);
    let mut uses = Uses { seen: HashSet::new(), out: Vec::new() };
    uses.visit_expr(e);
    uses.out.retain(|i| !binds.0.contains(&i.to_string()));
    uses.out
}

/// Collects single-name paths, in order, once each.
struct Uses {
    /// Names already collected.
    seen: HashSet<String>,
    /// The first occurrence of each.
    out: Vec<Ident>,
}

impl Uses {
    fn add(&mut self, id: &Ident) {
        if self.seen.insert(id.to_string()) {
            self.out.push(id.clone());
        }
    }

    /// Names that look like variables among a macro call's tokens.
    fn tokens(&mut self, ts: proc_macro2::TokenStream) {
        use proc_macro2::TokenTree;
        let tts: Vec<TokenTree> = ts.into_iter().collect();
        for (i, tt) in tts.iter().enumerate() {
            let punct = |j: usize, c: char| matches!(tts.get(j), Some(TokenTree::Punct(p)) if p.as_char() == c);
            match tt {
                TokenTree::Ident(id) => {
                    let after_dot = i > 0 && punct(i - 1, '.');
                    let called = punct(i + 1, '!')
                        || punct(i + 1, ':')
                        || matches!(tts.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Parenthesis);
                    if !after_dot && !called && is_variable_like(&id.to_string()) {
                        self.add(id);
                    }
                }
                TokenTree::Group(g) => self.tokens(g.stream()),
                TokenTree::Literal(l) => {
                    if let Ok(syn::Lit::Str(s)) = syn::parse2::<syn::Lit>(tt.clone().into()) {
                        for name in format_names(&s.value()) {
                            self.add(&Ident::new(&name, l.span()));
                        }
                    }
                }
                TokenTree::Punct(_) => {}
            }
        }
    }
}

/// A lower-case name that is not a keyword or a primitive type: what a
/// local variable's name looks like.
pub(crate) fn is_variable_like(name: &str) -> bool {
    const NOT: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
        "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
        "type", "unsafe", "use", "where", "while", "bool", "char", "str", "u8", "u16", "u32",
        "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64",
    ];
    name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && !NOT.contains(&name)
        && name != "_"
}

/// The `{name}` and `{name:...}` arguments of a format string.
fn format_names(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        rest = &rest[i + 1..];
        if rest.starts_with('{') {
            rest = &rest[1..];
            continue;
        }
        let end = rest.find(['}', ':']).unwrap_or(rest.len());
        let name = &rest[..end];
        if !name.is_empty()
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
        {
            out.push(name.to_string());
        }
    }
    out
}

impl<'a> Visit<'a> for Uses {
    fn visit_expr_path(&mut self, p: &'a syn::ExprPath) {
        if p.qself.is_none()
            && let Some(id) = p.path.get_ident()
            && is_variable_like(&id.to_string())
        {
            self.add(id);
        }
    }

    fn visit_macro(&mut self, m: &'a syn::Macro) {
        self.tokens(m.tokens.clone());
    }

    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// Collects every name a pattern binds.
struct Binds(HashSet<String>);

impl<'a> Visit<'a> for Binds {
    fn visit_pat(&mut self, p: &'a Pat) {
        if let Pat::Ident(id) = p {
            self.0.insert(id.ident.to_string());
        }
        visit::visit_pat(self, p);
    }

    fn visit_item(&mut self, _: &'a syn::Item) {
        // A nested item is not part of the goroutine's body.
    }
}

/// Reports writes to names not in `bound`.
struct Writes<'b> {
    /// Names the body binds itself.
    bound: &'b HashSet<String>,
    /// Where the reports go.
    errors: &'b mut Vec<syn::Error>,
}

impl Writes<'_> {
    fn target(&mut self, lhs: &Expr) {
        let mut e = lhs;
        // `slots[k] = v`, `s.n += 1`: a write into the named variable.
        let mut element = false;
        loop {
            match e {
                Expr::Paren(p) => e = &p.expr,
                Expr::Index(i) => (e, element) = (&i.expr, true),
                Expr::Field(f) => (e, element) = (&f.base, true),
                _ => break,
            }
        }
        let Expr::Path(p) = e else { return };
        if element {
            if let Some(ident) = p.path.get_ident()
                && p.qself.is_none()
                && !self.bound.contains(&ident.to_string())
                && ident != "self"
                && !is_upper_case(&ident.to_string())
            {
                self.errors.push(element_write(ident, lhs));
            }
            return;
        }
        if p.qself.is_some() || p.path.leading_colon.is_some() {
            return;
        }
        let Some(ident) = p.path.get_ident() else {
            // `module::STATIC`: a static for sure.
            if let Some(last) = p.path.segments.last() {
                self.errors.push(static_write(&last.ident, lhs));
            }
            return;
        };
        let name = ident.to_string();
        if self.bound.contains(&name) {
            return;
        }
        if is_upper_case(&name) {
            self.errors.push(static_write(ident, lhs));
        } else {
            self.errors.push(syn::Error::new_spanned(
                lhs,
                format!(
                    "data race: this goroutine writes `{name}`, a variable it shares with the \
                     code that starts it; guard it with a `go::sync::Mutex` or make it an \
                     atomic (`std::sync::atomic::AtomicI64::fetch_add`), or, if each goroutine \
                     should own a copy, rebind it inside: `let mut {name} = {name};`"
                ),
            ));
        }
    }
}

/// A write into an element or field of a captured variable (`slots[k] =
/// v`): Go's goroutines would share the slice; here the goroutine owns a
/// copy of what it captures, so the write would be lost on the caller's
/// side, and rustc's own error (E0596, with a `mut` suggestion placed
/// inside the macro) says neither.
fn element_write(ident: &Ident, lhs: &Expr) -> syn::Error {
    syn::Error::new_spanned(
        lhs,
        format!(
            "this goroutine writes into `{ident}`, a variable it shares with the code that \
             starts it; in Go the goroutines would share `{ident}`, here each gets its own \
             copy and the write is lost: send the result back over a channel, share \
             `{ident}` as an `Arc<go::sync::Mutex<_>>`, or start the goroutines inside \
             `waitgroup! {{ ... }}` with each one given its own element (`iter_mut`, \
             `chunks_mut`); if the goroutine should own it, rebind it inside: `let mut \
             {ident} = {ident};`"
        ),
    )
}

fn static_write(ident: &Ident, lhs: &Expr) -> syn::Error {
    syn::Error::new_spanned(
        lhs,
        format!(
            "data race: this goroutine writes the static `{ident}` without synchronization; \
             make it a `static {ident}: go::sync::Mutex<_>` or an atomic \
             (`static {ident}: AtomicI64`)"
        ),
    )
}

/// `COUNTER`, `MAX_2`: the naming of statics and constants.
fn is_upper_case(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

impl<'a> Visit<'a> for Writes<'_> {
    fn visit_expr(&mut self, e: &'a Expr) {
        match e {
            Expr::Assign(a) => self.target(&a.left),
            Expr::Binary(b) if is_compound_assign(&b.op) => self.target(&b.left),
            _ => {}
        }
        visit::visit_expr(self, e);
    }

    fn visit_item(&mut self, _: &'a syn::Item) {}
}

fn is_compound_assign(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::AddAssign(_)
            | BinOp::SubAssign(_)
            | BinOp::MulAssign(_)
            | BinOp::DivAssign(_)
            | BinOp::RemAssign(_)
            | BinOp::BitXorAssign(_)
            | BinOp::BitAndAssign(_)
            | BinOp::BitOrAssign(_)
            | BinOp::ShlAssign(_)
            | BinOp::ShrAssign(_)
    )
}
