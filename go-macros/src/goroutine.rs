//! `#[goroutine]`: checks at compile time that a fn can be a goroutine's
//! body, and says why not in Go's terms. It does not change what a call
//! does: `f(x)` still runs `f` on the caller's goroutine and `go!(f(x))`
//! starts a goroutine, so a fn ports from Go with its call sites unchanged.
//!
//! Parse: a fn item (free or associated). Validate, collecting every error:
//! - not `async` (a goroutine blocks; it does not return a future);
//! - no `&self` / `&mut self` receiver (the goroutine would borrow it);
//! - no `&mut T` parameter (two goroutines writing one value is a race);
//! - no `&str`, `&[T]` or `&dyn Trait` parameter (borrowed data);
//! - a `&T` parameter only for a shared handle `T` (checked by the compiler
//!   through a generated bound, named after the parameter);
//! - every by-value parameter `Send` (idem);
//! - the body writes no variable it does not own (`race.rs`: a `static mut`).
//!
//! Expand: the fn unchanged, with the generated checks at the top of its
//! body (they compile to nothing).

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItemFn, Pat, ReceiverKind, Type};

use crate::race;
use crate::util::{hidden, to_compile_errors, tokens};

/// The entry point of `#[goroutine]`.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    if !attr.is_empty() {
        errors.push(syn::Error::new_spanned(&attr, "#[goroutine] takes no arguments"));
    }
    // `ImplItemFn` parses free fns and methods alike (a body is required).
    let mut f: ImplItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            errors.push(syn::Error::new(
                proc_macro2::Span::call_site(),
                "#[goroutine] goes on a fn with a body",
            ));
            let errors = to_compile_errors(errors);
            return quote! { #errors #item };
        }
    };
    let sig = &f.sig;
    if let Some(a) = &sig.asyncness {
        errors.push(syn::Error::new_spanned(
            a,
            "a goroutine cannot be an `async fn`: goroutines block (on channels, locks, \
             sleeps) instead of awaiting; remove `async`",
        ));
    }
    let mut checks = Vec::new();
    let mut params = HashSet::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => match &r.kind {
                ReceiverKind::Value => {
                    params.insert("self".to_string());
                    checks.push(send_check(&syn::parse_quote!(Self)));
                }
                ReceiverKind::Typed(_, ty) => {
                    params.insert("self".to_string());
                    checks.push(send_check(ty));
                }
                _ => errors.push(syn::Error::new_spanned(
                    r,
                    "a goroutine cannot borrow its receiver: the method may outlive the \
                     caller's borrow; take `self` by value, or `self: Arc<Self>` to share it",
                )),
            },
            FnArg::Typed(pt) => {
                let name = match &*pt.pat {
                    Pat::Ident(id) => id.ident.to_string(),
                    other => tokens(other),
                };
                bind_names(&pt.pat, &mut params);
                match &*pt.ty {
                    Type::Reference(r) if r.mutability.is_some() => {
                        errors.push(syn::Error::new_spanned(
                            &pt.ty,
                            format!(
                                "goroutine parameter `{name}` borrows mutably: goroutines \
                                 writing one value at once is a data race; take it by value, \
                                 or share a `go::sync::Mutex` behind an `Arc`"
                            ),
                        ));
                    }
                    Type::Reference(r) if is_borrowed_data(&r.elem) => {
                        let owned = owned_hint(&r.elem);
                        errors.push(syn::Error::new_spanned(
                            &pt.ty,
                            format!(
                                "goroutine parameter `{name}` borrows data the goroutine may \
                                 outlive; take {owned} by value"
                            ),
                        ));
                    }
                    Type::Reference(r) => checks.push(handle_check(&r.elem)),
                    ty => checks.push(send_check(ty)),
                }
            }
        }
    }
    race::check(race::Body::Block(&f.block), params, &mut errors);
    let errors = to_compile_errors(errors);
    let stmts = std::mem::take(&mut f.block.stmts);
    let block = &mut f.block;
    block.stmts = syn::parse_quote! {
        #(#checks)*
        #(#stmts)*
    };
    quote! { #errors #f }
}

/// Every name `pat` binds.
fn bind_names(pat: &Pat, out: &mut HashSet<String>) {
    use syn::visit::Visit;
    struct V<'a>(&'a mut HashSet<String>);
    impl<'a> Visit<'a> for V<'_> {
        fn visit_pat_ident(&mut self, p: &'a syn::PatIdent) {
            self.0.insert(p.ident.to_string());
        }
    }
    V(out).visit_pat(pat);
}

/// `str`, `[T]`, `dyn Trait`: never shared handles.
fn is_borrowed_data(t: &Type) -> bool {
    matches!(t, Type::Slice(_) | Type::TraitObject(_))
        || matches!(t, Type::Path(p) if p.path.is_ident("str"))
}

fn owned_hint(t: &Type) -> &'static str {
    match t {
        Type::Slice(_) => "a `Vec<T>` (or an `Arc<[T]>`)",
        Type::TraitObject(_) => "a `Box<dyn ...>` (or an `Arc<dyn ...>`)",
        _ => "a `String` (or an `Arc<str>`)",
    }
}

/// A compile-time check that a by-value parameter's type `ty` is `Send`,
/// reported at `ty` with `go::GoroutineArg`'s message.
fn send_check(ty: &Type) -> TokenStream {
    let check = quote_spanned! {ty.span()=> <#ty as ::go::GoroutineArg>::moved_into_goroutine };
    quote! {
        let _ = #check;
    }
}

/// A compile-time check that a `&ty` parameter borrows a shared handle,
/// reported at `ty` with `go::SharedHandle`'s message. A bound on a local
/// function, not a call through the trait, which would also check the
/// trait's supertraits (a second error for an `Arc<RefCell<T>>`).
fn handle_check(ty: &Type) -> TokenStream {
    // rustc's note reads "required by a bound in `goroutine`", at the
    // attribute.
    let f = hidden("goroutine");
    let call = quote_spanned! {ty.span()=> #f::<#ty>() };
    quote! {
        {
            fn #f<T: ?::core::marker::Sized + ::go::SharedHandle>() {}
            #call;
        }
    }
}
