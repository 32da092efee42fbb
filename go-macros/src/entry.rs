//! `#[go::main]` and `#[go::test]`: run a fn's body as the main goroutine.
//!
//! Parse: options `key = value, ...` (tokio-macros' `entry.rs` style), then
//! a fn. Validate, collecting every error: known keys only (the error lists
//! them), no duplicates, integer values; the fn is not `async` and takes no
//! arguments (Go: `func main must have no arguments and no return values`;
//! a Rust `main` may return a `Result`). Expand: the same fn whose body runs
//! through `go::run` on the global runtime (after `set_gomaxprocs` when
//! asked); `#[go::test]` adds `#[test]`. When `main` returns the process
//! exits, whatever other goroutines are doing (docs/go-semantics.md, 9).

use proc_macro2::TokenStream;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{Expr, ItemFn, Lit, Meta, Token};

use crate::util::{to_compile_errors, tokens};

/// Which attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[go::main]`.
    Main,
    /// `#[go::test]`.
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "go::main",
            Kind::Test => "go::test",
        }
    }
}

/// The keys an entry attribute understands.
const KEYS: &str = "`gomaxprocs = N`";

/// The entry point of both attributes.
pub(crate) fn expand(kind: Kind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    let mut gomaxprocs: Option<Expr> = None;
    match syn::parse::Parser::parse2(Punctuated::<Meta, Token![,]>::parse_terminated, attr) {
        Ok(metas) => {
            for meta in metas {
                let Meta::NameValue(nv) = &meta else {
                    errors.push(syn::Error::new_spanned(
                        &meta,
                        format!("#[{}] options are `key = value`: {KEYS}", kind.name()),
                    ));
                    continue;
                };
                if !nv.path.is_ident("gomaxprocs") {
                    errors.push(syn::Error::new_spanned(
                        &nv.path,
                        format!(
                            "unknown option `{}` of #[{}]; valid options: {KEYS}",
                            tokens(&nv.path),
                            kind.name()
                        ),
                    ));
                    continue;
                }
                if gomaxprocs.is_some() {
                    errors.push(syn::Error::new_spanned(&nv.path, "`gomaxprocs` given twice"));
                    continue;
                }
                match &nv.value {
                    Expr::Lit(l) if matches!(&l.lit, Lit::Int(i) if i.base10_parse::<usize>().is_ok_and(|n| n > 0)) =>
                    {
                        gomaxprocs = Some(nv.value.clone());
                    }
                    v => errors.push(syn::Error::new_spanned(
                        v,
                        "`gomaxprocs` takes a positive integer, such as `gomaxprocs = 2`",
                    )),
                }
            }
        }
        Err(e) => errors.push(e),
    }
    let mut f: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            errors.push(syn::Error::new(
                proc_macro2::Span::call_site(),
                format!("#[{}] goes on a fn", kind.name()),
            ));
            let errors = to_compile_errors(errors);
            return quote! { #errors #item };
        }
    };
    if let Some(a) = &f.sig.asyncness {
        errors.push(syn::Error::new_spanned(
            a,
            format!(
                "#[{}] runs the fn as a goroutine, which blocks instead of awaiting: remove \
                 `async`",
                kind.name()
            ),
        ));
        f.sig.asyncness = None;
    }
    if !f.sig.inputs.is_empty() {
        let what = if kind == Kind::Main { "func main" } else { "a test" };
        errors
            .push(syn::Error::new_spanned(&f.sig.inputs, format!("{what} must have no arguments")));
        f.sig.inputs = Punctuated::new();
    }
    let procs = match gomaxprocs {
        Some(n) => quote! { ::core::option::Option::Some(#n) },
        None => quote! { ::core::option::Option::None },
    };
    let body = &f.block;
    let entry = match kind {
        Kind::Main => quote! { ::go::__private::main_entry },
        Kind::Test => quote! { ::go::__private::test_entry },
    };
    let new_body: syn::Block = syn::parse_quote! {{
        #entry(#procs, move || #body)
    }};
    *f.block = new_body;
    let test_attr = (kind == Kind::Test).then(|| quote! { #[::core::prelude::v1::test] });
    let errors = to_compile_errors(errors);
    quote! { #errors #test_attr #f }
}
