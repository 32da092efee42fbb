//! Helpers every macro uses: hygienic names, error collection, fallbacks.

use proc_macro2::{Span, TokenStream};
use quote::quote;
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
