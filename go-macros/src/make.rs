//! `make!(chan T)`, `make!(chan T, n)`: Go's `make` for channels.
//!
//! Parse: `chan`, a type (Go's `struct{}` is accepted and means `()`), an
//! optional capacity expression. Validate: the first word is `chan` (Go's
//! slices and maps have Rust spellings of their own, named in the error).
//! Expand: `Chan::<T>::new(n)`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Token, Type};

use crate::util::{expr_fallback, tokens};

/// `make!`'s input.
struct Make {
    /// The element type.
    elem: Type,
    /// The capacity, if given.
    cap: Option<Expr>,
}

impl Parse for Make {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let start = input.fork();
        let is_chan = input.peek(syn::Ident) && input.fork().parse::<syn::Ident>()? == "chan";
        if !is_chan {
            let what: TokenStream = start.parse()?;
            // The type part: up to a top-level comma.
            let ty: TokenStream = what
                .clone()
                .into_iter()
                .take_while(
                    |tt| !matches!(tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == ','),
                )
                .collect();
            let text = tokens(&ty);
            let hint = if text.starts_with('[') {
                "; for a slice use `vec![zero; n]` or `Vec::with_capacity(n)`"
            } else if text.starts_with("map") {
                "; for a map use `HashMap::new()`"
            } else {
                ""
            };
            return Err(syn::Error::new_spanned(
                &what,
                format!(
                    "cannot make `{text}`: make! builds channels, `make!(chan T)` or \
                     `make!(chan T, n)`{hint}"
                ),
            ));
        }
        input.parse::<syn::Ident>()?;
        if input.is_empty() {
            return Err(input.error("missing element type: `make!(chan T)`"));
        }
        // Go's `chan struct{}`.
        let elem = if input.peek(Token![struct]) && input.peek2(syn::token::Brace) {
            input.parse::<Token![struct]>()?;
            let content;
            syn::braced!(content in input);
            if !content.is_empty() {
                return Err(
                    content.error("only Go's empty `struct{}` is understood here: use a Rust type")
                );
            }
            syn::parse_quote!(())
        } else {
            input.parse()?
        };
        let cap = if input.is_empty() {
            None
        } else {
            input.parse::<Token![,]>()?;
            let cap = if input.is_empty() { None } else { Some(input.parse()?) };
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
            cap
        };
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the capacity"));
        }
        Ok(Make { elem, cap })
    }
}

/// The entry point of `make!`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    if input.is_empty() {
        return expr_fallback(vec![syn::Error::new(
            proc_macro2::Span::call_site(),
            "missing argument to make: `make!(chan T)` or `make!(chan T, n)`",
        )]);
    }
    match syn::parse2::<Make>(input) {
        Ok(Make { elem, cap }) => {
            let cap = cap.map_or_else(|| quote!(0), |c| quote!(#c));
            quote! { ::go::__private::Chan::<#elem>::new(#cap) }
        }
        Err(e) => expr_fallback(vec![e]),
    }
}
