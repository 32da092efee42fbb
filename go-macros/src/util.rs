//! Helpers every macro uses: hygienic names, error collection, fallbacks.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::Ident;

/// A name for a binding of an expansion, invisible to the user's code.
pub(crate) fn hidden(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// All `errors` as `compile_error!`s.
pub(crate) fn to_compile_errors(errors: Vec<syn::Error>) -> TokenStream {
    errors.into_iter().map(|e| e.to_compile_error()).collect()
}

/// The expansion of an expression macro that reported `errors`: the errors,
/// and a value of any type so the surrounding code still type-checks and
/// only the real error shows.
pub(crate) fn expr_fallback(errors: Vec<syn::Error>) -> TokenStream {
    let errors = to_compile_errors(errors);
    quote! {{ #errors ::go::__private::fallback() }}
}

/// The source text of `t`, for messages: spaces kept only between words
/// and after commas.
pub(crate) fn tokens(t: &dyn ToTokens) -> String {
    let s = t.to_token_stream().to_string();
    let chars: Vec<char> = s.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '\'' || c == '"';
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let (prev, next) = (i.checked_sub(1).map(|j| chars[j]), chars.get(i + 1));
            let keep = matches!(prev, Some(',' | '=' | '|' | '>'))
                || matches!(next, Some('=' | '|'))
                || (prev.is_some_and(word) && next.is_some_and(|&n| word(n)));
            if !keep {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Whether `e` names a place (a variable, field or element) rather than
/// computing a new value.
pub(crate) fn is_place(e: &syn::Expr) -> bool {
    use syn::Expr;
    match e {
        Expr::Path(_) => true,
        Expr::Field(f) => is_place(&f.base),
        Expr::Index(i) => is_place(&i.expr),
        Expr::Paren(p) => is_place(&p.expr),
        _ => false,
    }
}
