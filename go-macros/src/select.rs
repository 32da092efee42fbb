//! `select! { case v := <-ch => ..., case ch <- x => ..., default => ... }`:
//! Go's `select` statement, in Go's words, on `go::chan::Select`.
//!
//! Parse: arms `case <head> => <body>` and `default => <body>`, each body
//! an expression or a block, comma-separated. A head is split on its
//! top-level `:=`, `=` and `<-` tokens (Rust has no such operators, so they
//! are found in the token stream): `<-ch`, `v := <-ch`, `v, ok := <-ch`,
//! `v = <-ch`, `v, ok = <-ch`, `ch <- x`. Validate: every head has one of
//! those shapes (Go: `select case must be receive, send or assign recv`),
//! at most one default (Go: `multiple defaults in select`). Expand:
//! 1. evaluate every channel operand and send value once, in source order
//!    (docs/go-semantics.md, 28), into hidden `let`s; an operand that is not
//!    a place is cloned out of its temporaries, which end there
//!    (`bind_operand`), so a lock guard in an operand is not held while
//!    the select waits;
//! 2. one `Select` whose handlers only wrap what they got in a variant of a
//!    local enum (one per case);
//! 3. a `match` on that enum that runs the chosen arm's body in the
//!    caller's own scope, so bodies may `return`, `break`, `continue`, use
//!    `?` and borrow mutably, as Go's case bodies do.

use proc_macro2::{Spacing, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, Token};

use crate::util::{expr_fallback, hidden, is_place};

/// One arm.
enum Arm {
    /// `case ... => body`.
    Case { head: Box<Head>, body: Expr },
    /// `default => body`.
    Default { token: syn::Ident, body: Expr },
}

/// What a case does.
enum Head {
    /// `<-ch`, `v := <-ch`, `v, ok := <-ch` (`bind`), or `v = <-ch`,
    /// `v, ok = <-ch` (`assign`).
    Recv { chan: Expr, value: Option<Target>, ok: Option<Target> },
    /// `ch <- value`.
    Send { chan: Expr, value: Expr },
}

/// Where a received value goes.
enum Target {
    /// `v :=`: a new binding (a name or `_`).
    Bind(syn::Pat),
    /// `v =`: an existing place.
    Assign(Expr),
}

/// The whole input.
struct Input {
    /// The arms, in source order.
    arms: Vec<Arm>,
    /// Problems found while parsing that did not stop it.
    errors: Vec<syn::Error>,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut arms = Vec::new();
        let mut errors = Vec::new();
        while !input.is_empty() {
            let kw: syn::Ident = input.parse().map_err(|e| {
                syn::Error::new(e.span(), "expected `case` or `default` (Go's select syntax)")
            })?;
            let arm = if kw == "default" {
                if input.peek(Token![:]) && !input.peek(Token![::]) {
                    let colon: Token![:] = input.parse()?;
                    return Err(go_colon(colon.span));
                }
                input.parse::<Token![=>]>()?;
                Arm::Default { token: kw, body: parse_body(input)? }
            } else if kw == "case" {
                let mut head = TokenStream::new();
                let mut after_joint_colon = false;
                while !input.is_empty() && !input.peek(Token![=>]) {
                    let tt: TokenTree = input.parse()?;
                    // Go ends a case with a lone `:` (not `:=`, not `::`).
                    if let TokenTree::Punct(p) = &tt
                        && p.as_char() == ':'
                    {
                        if p.spacing() == Spacing::Alone && !after_joint_colon {
                            return Err(go_colon(p.span()));
                        }
                        after_joint_colon = p.spacing() == Spacing::Joint;
                    } else {
                        after_joint_colon = false;
                    }
                    head.extend([tt]);
                }
                let arrow: Token![=>] = input.parse()?;
                let head = match parse_head(head, arrow.span()) {
                    Ok(h) => h,
                    Err(e) => {
                        errors.push(e);
                        parse_body(input)?;
                        continue;
                    }
                };
                Arm::Case { head: Box::new(head), body: parse_body(input)? }
            } else {
                return Err(syn::Error::new_spanned(
                    &kw,
                    format!("expected `case` or `default`, found `{kw}` (Go's select syntax)"),
                ));
            };
            arms.push(arm);
        }
        Ok(Input { arms, errors })
    }
}

/// The error for Go's `case ...:` / `default:`, at the colon.
fn go_colon(at: Span) -> syn::Error {
    syn::Error::new(at, "use `=>` after a case, as in `match` (Go's `:` ends a case)")
}

/// An arm's body and the comma after it (optional after a block).
fn parse_body(input: ParseStream<'_>) -> syn::Result<Expr> {
    let body: Expr =
        if input.peek(syn::token::Brace) { Expr::Block(input.parse()?) } else { input.parse()? };
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    } else if !input.is_empty() && !matches!(body, Expr::Block(_)) {
        return Err(input.error("expected `,` after the case's body"));
    }
    Ok(body)
}

/// Index of the first top-level `a` `b` pair (with `a` joint to `b`).
fn find_pair(tts: &[TokenTree], a: char, b: char) -> Option<usize> {
    (0..tts.len().saturating_sub(1)).find(|&i| {
        matches!(&tts[i], TokenTree::Punct(p) if p.as_char() == a && p.spacing() == Spacing::Joint)
            && matches!(&tts[i + 1], TokenTree::Punct(p) if p.as_char() == b)
    })
}

/// Index of a top-level `=` that stands alone (not `==`, `=>`, `<=`, ...).
fn find_assign(tts: &[TokenTree]) -> Option<usize> {
    (0..tts.len()).find(|&i| {
        let TokenTree::Punct(p) = &tts[i] else { return false };
        let prev_joint =
            i > 0 && matches!(&tts[i - 1], TokenTree::Punct(q) if q.spacing() == Spacing::Joint);
        p.as_char() == '=' && p.spacing() == Spacing::Alone && !prev_joint
    })
}

fn stream(tts: &[TokenTree]) -> TokenStream {
    tts.iter().cloned().collect()
}

/// Splits and parses a case head.
fn parse_head(head: TokenStream, at: Span) -> syn::Result<Head> {
    let tts: Vec<TokenTree> = head.clone().into_iter().collect();
    let shape_error = || {
        let msg = "select case must be receive, send or assign recv: `case v := <-ch`, \
                   `case v, ok := <-ch`, `case <-ch`, `case v = <-ch` or `case ch <- x`";
        if tts.is_empty() { syn::Error::new(at, msg) } else { syn::Error::new_spanned(&head, msg) }
    };
    // `<-ch`
    if find_pair(&tts, '<', '-') == Some(0) {
        let chan = parse_operand(&tts[2..], &shape_error)?;
        return Ok(Head::Recv { chan, value: None, ok: None });
    }
    // `lhs := <-ch` / `lhs = <-ch`
    let split = find_pair(&tts, ':', '=')
        .map(|i| (i, 2, true))
        .or_else(|| find_assign(&tts).map(|i| (i, 1, false)));
    if let Some((i, width, bind)) = split {
        let rhs = &tts[i + width..];
        if find_pair(rhs, '<', '-') != Some(0) {
            return Err(shape_error());
        }
        let chan = parse_operand(&rhs[2..], &shape_error)?;
        let lhs = &tts[..i];
        let parts: Vec<&[TokenTree]> =
            lhs.split(|tt| matches!(tt, TokenTree::Punct(p) if p.as_char() == ',')).collect();
        if parts.is_empty() || parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(syn::Error::new_spanned(
                stream(lhs),
                "a receive case assigns one or two values: `v := <-ch` or `v, ok := <-ch`",
            ));
        }
        let target = |p: &[TokenTree]| -> syn::Result<Target> {
            if bind {
                let pat = syn::Pat::parse_single.parse2(stream(p))?;
                match &pat {
                    syn::Pat::Ident(_) | syn::Pat::Wild(_) => Ok(Target::Bind(pat)),
                    _ => Err(syn::Error::new_spanned(
                        &pat,
                        "`:=` declares names: `v := <-ch` or `v, ok := <-ch`",
                    )),
                }
            } else {
                Ok(Target::Assign(syn::parse2(stream(p))?))
            }
        };
        let value = Some(target(parts[0])?);
        let ok = parts.get(1).map(|p| target(p)).transpose()?;
        return Ok(Head::Recv { chan, value, ok });
    }
    // `ch <- value`
    if let Some(i) = find_pair(&tts, '<', '-') {
        let chan = parse_operand(&tts[..i], &shape_error)?;
        let value = parse_operand(&tts[i + 2..], &shape_error)?;
        return Ok(Head::Send { chan, value });
    }
    Err(shape_error())
}

fn parse_operand(tts: &[TokenTree], err: &dyn Fn() -> syn::Error) -> syn::Result<Expr> {
    if tts.is_empty() {
        return Err(err());
    }
    syn::parse2(stream(tts))
}

/// The entry point of `select!`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let Input { arms, mut errors } = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return expr_fallback(vec![e]),
    };
    let defaults: Vec<&syn::Ident> = arms
        .iter()
        .filter_map(|a| match a {
            Arm::Default { token, .. } => Some(token),
            Arm::Case { .. } => None,
        })
        .collect();
    for extra in defaults.iter().skip(1) {
        errors.push(syn::Error::new_spanned(extra, "multiple defaults in select"));
    }
    if !errors.is_empty() {
        return expr_fallback(errors);
    }
    if arms.is_empty() {
        // `select {}`: block for ever.
        return quote! { ::go::__private::select_forever() };
    }

    let sel_enum = hidden("__GoSelected");
    let mut lets = Vec::new();
    let mut variants = Vec::new();
    let mut params = Vec::new();
    let mut cases = Vec::new();
    let mut default = None;
    let mut match_arms = Vec::new();
    let mut case_no = 0usize;
    for arm in &arms {
        match arm {
            Arm::Default { body, .. } => {
                let v = hidden("Default");
                variants.push(quote! { #v });
                default = Some(quote! { || #sel_enum::#v });
                match_arms.push(quote! { #sel_enum::#v => #body, });
            }
            Arm::Case { head, body } => {
                let v = format_ident!("C{}", case_no, span = Span::mixed_site());
                let p = format_ident!("T{}", case_no, span = Span::mixed_site());
                // Spanned on the user's operand (so an operand that is not a
                // channel is reported there); no user code names it.
                let op = syn::Ident::new(&format!("__go_op{case_no}"), chan_span(head));
                case_no += 1;
                variants.push(quote! { #v(#p) });
                params.push(p);
                match &**head {
                    Head::Recv { chan, value, ok } => {
                        lets.push(bind_operand(&op, chan));
                        let case = hidden(&format!("__go_case{}", case_no - 1));
                        // The channel check is the public trait's method, so
                        // that a failure names it, not a hidden helper.
                        lets.push(quote_spanned! {chan_span(head)=>
                            let #op = ::go::chan::AsRecv::as_chan(#op);
                        });
                        lets.push(quote! {
                            let mut #case = ::go::__private::recv_case(#op, #sel_enum::#v);
                        });
                        cases.push(case);
                        // Spanned on the user's target, so a missing zero
                        // value is reported there.
                        let got = syn::Ident::new("__go_got", target_span(value.as_ref(), chan));
                        let take = recv_bindings(&got, value.as_ref(), ok.as_ref());
                        match_arms.push(quote! { #sel_enum::#v(#got) => { #take #body } });
                    }
                    Head::Send { chan, value } => {
                        let val = hidden(&format!("__go_val{}", case_no - 1));
                        lets.push(bind_operand(&op, chan));
                        lets.push(quote! { let #val = #value; });
                        lets.push(quote_spanned! {chan.span()=>
                            let #op = ::go::chan::AsSend::as_chan(#op);
                        });
                        let case = hidden(&format!("__go_case{}", case_no - 1));
                        lets.push(quote_spanned! {chan.span()=>
                            let mut #case =
                                ::go::__private::send_case(#op, #val, || #sel_enum::#v(()));
                        });
                        cases.push(case);
                        match_arms.push(quote! { #sel_enum::#v(()) => #body, });
                    }
                }
            }
        }
    }
    let chosen = hidden("__go_chosen");
    // The cases live here, on the caller's stack: a select with a ready case
    // allocates nothing.
    let default = match default {
        Some(d) => quote! { ::core::option::Option::Some(#d) },
        None => quote! { ::core::option::Option::None::<fn() -> _> },
    };
    quote! {{
        enum #sel_enum<#(#params),*> { #(#variants),* }
        #(#lets)*
        let #chosen = ::go::__private::select_cases(
            &mut [#(#cases.as_case()),*],
            #default,
        );
        match #chosen { #(#match_arms)* }
    }}
}

/// Evaluates a case's channel operand into `op`, once, on entry (Go's
/// rule). A place (`ch`, `self.ch`, `&ch`) is borrowed. Anything else may
/// make temporaries (`state.lock().unwrap().ch`, `time::after(d)`): the
/// channel handle is cloned out of it inside a block, so those temporaries
/// (a lock guard!) end before the select waits, rather than living until
/// the chosen body has run. A reference into a temporary is then a borrow
/// error rather than a lock held across the wait.
fn bind_operand(op: &syn::Ident, chan: &Expr) -> TokenStream {
    if borrows_a_place(chan) {
        return quote_spanned! {chan.span()=> let #op = &(#chan); };
    }
    let tmp = hidden("__go_operand");
    quote_spanned! {chan.span()=>
        let #op = &{
            let #tmp = &(#chan);
            ::core::clone::Clone::clone(#tmp)
        };
    }
}

/// Whether borrowing `e` makes no temporary: a place, or a reference to or
/// dereference of one.
fn borrows_a_place(e: &Expr) -> bool {
    match e {
        Expr::Reference(r) => borrows_a_place(&r.expr),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => borrows_a_place(&u.expr),
        Expr::Paren(p) => borrows_a_place(&p.expr),
        e => is_place(e),
    }
}

/// The span of a case's channel operand.
fn chan_span(head: &Head) -> Span {
    match head {
        Head::Recv { chan, .. } | Head::Send { chan, .. } => chan.span(),
    }
}

/// The span of a receive's first target, else of its channel.
fn target_span(value: Option<&Target>, chan: &Expr) -> Span {
    match value {
        Some(Target::Bind(p)) => p.span(),
        Some(Target::Assign(e)) => e.span(),
        None => chan.span(),
    }
}

/// The statements that bind or assign what a receive case got (`got` is an
/// `Option<T>`: `None` when the channel is closed).
fn recv_bindings(got: &syn::Ident, value: Option<&Target>, ok: Option<&Target>) -> TokenStream {
    let Some(value) = value else {
        return quote! { let _ = #got; };
    };
    match ok {
        None => {
            let zero = quote! { ::go::chan::ZeroValue::or_zero(#got) };
            match value {
                Target::Bind(p) => quote! { let #p = #zero; },
                Target::Assign(e) => quote! { #e = #zero; },
            }
        }
        Some(ok) => {
            let pair = quote! { ::go::chan::ZeroValue::or_zero_ok(#got) };
            let (v, k) = (hidden("__go_v"), hidden("__go_ok"));
            let assign = |t: &Target, from: &syn::Ident| match t {
                Target::Bind(p) => quote! { let #p = #from; },
                Target::Assign(e) => quote! { #e = #from; },
            };
            let (av, ak) = (assign(value, &v), assign(ok, &k));
            quote! { let (#v, #k) = #pair; #av #ak }
        }
    }
}
