//! `#[go::main]` and `#[go::test]`: run a fn's body as the main goroutine.
//!
//! Parse: options `key = value, ...` (tokio-macros' `entry.rs` style), then
//! a fn. Validate, collecting every error: known keys only (the error lists
//! them: `gomaxprocs`, `stack_size`, `goroutine_stack_size`), no duplicates,
//! a positive integer literal for `gomaxprocs`; the fn is not `async` and takes no
//! arguments (Go: `func main must have no arguments and no return values`;
//! a Rust `main` may return a `Result`). Expand: the same fn whose body runs
//! as the main goroutine (8 MiB of stack unless `stack_size` says
//! otherwise), after `set_gomaxprocs` and `set_default_stack_size` when
//! asked; `#[go::test]` adds `#[test]`. When `main` returns the process
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
const KEYS: &str = "`gomaxprocs = N`, `stack_size = BYTES` (the main goroutine's stack, \
                    8 MiB by default), `goroutine_stack_size = BYTES` (every other goroutine's)";

/// The options, each checked: `gomaxprocs` a positive integer literal, the
/// sizes any `usize` expression (`16 << 20`), checked when the program
/// starts.
#[derive(Default)]
struct Options {
    gomaxprocs: Option<Expr>,
    stack_size: Option<Expr>,
    goroutine_stack_size: Option<Expr>,
}

/// The entry point of both attributes.
pub(crate) fn expand(kind: Kind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    let mut opts = Options::default();
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
                let key = nv.path.get_ident().map(ToString::to_string).unwrap_or_default();
                let slot = match key.as_str() {
                    "gomaxprocs" => &mut opts.gomaxprocs,
                    "stack_size" => &mut opts.stack_size,
                    "goroutine_stack_size" => &mut opts.goroutine_stack_size,
                    _ => {
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
                };
                if slot.is_some() {
                    errors.push(syn::Error::new_spanned(&nv.path, format!("`{key}` given twice")));
                    continue;
                }
                if key == "gomaxprocs"
                    && !matches!(&nv.value, Expr::Lit(l) if matches!(&l.lit, Lit::Int(i) if i.base10_parse::<usize>().is_ok_and(|n| n > 0)))
                {
                    errors.push(syn::Error::new_spanned(
                        &nv.value,
                        "`gomaxprocs` takes a positive integer, such as `gomaxprocs = 2`",
                    ));
                    continue;
                }
                *slot = Some(nv.value.clone());
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
    let some = |e: &Option<Expr>| match e {
        Some(n) => quote! { ::core::option::Option::Some(#n) },
        None => quote! { ::core::option::Option::None },
    };
    let (procs, stack, goroutine_stack) =
        (some(&opts.gomaxprocs), some(&opts.stack_size), some(&opts.goroutine_stack_size));
    let body = &f.block;
    let entry = match kind {
        Kind::Main => quote! { ::go::__private::main_entry },
        Kind::Test => quote! { ::go::__private::test_entry },
    };
    let new_body: syn::Block = syn::parse_quote! {{
        #entry(
            ::go::__private::EntryOptions {
                gomaxprocs: #procs,
                stack_size: #stack,
                goroutine_stack_size: #goroutine_stack,
            },
            move || #body,
        )
    }};
    *f.block = new_body;
    let test_attr = (kind == Kind::Test).then(|| quote! { #[::core::prelude::v1::test] });
    let errors = to_compile_errors(errors);
    quote! { #errors #test_attr #f }
}
