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
                    checks.push(send_check("self", &syn::parse_quote!(Self)));
                }
                ReceiverKind::Typed(_, ty) => {
                    params.insert("self".to_string());
                    checks.push(send_check("self", ty));
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
                    Type::Reference(r) => checks.push(handle_check(&name, &r.elem)),
                    ty => checks.push(send_check(&name, ty)),
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

/// A compile-time check that the by-value parameter `name: ty` is `Send`.
fn send_check(name: &str, ty: &Type) -> TokenStream {
    bound_check(
        ty,
        "Send",
        &quote! { ?::core::marker::Sized + ::core::marker::Send },
        &format!("goroutine parameter `{name}` cannot be sent to another goroutine"),
        "not `Send`",
        "a goroutine may run on another thread: its parameters must be `Send` (an `Rc` or \
         `RefCell` cannot be shared between goroutines; use `Arc` and `go::sync::Mutex`)",
    )
}

/// A compile-time check that `&ty` is a shared handle's reference.
fn handle_check(name: &str, ty: &Type) -> TokenStream {
    bound_check(
        ty,
        "SharedHandle",
        &quote! { ::go::__private::SharedHandle },
        &format!("goroutine parameter `{name}` borrows a `{{Self}}`, which is not a shared handle"),
        "borrowed",
        "a goroutine may outlive its caller's borrows: take the value by value, or share it \
         through a handle (`Arc<T>`, `WaitGroup`, `Chan<T>`, `Context`; implement \
         `go::SharedHandle` for your own)",
    )
}

/// A check that `ty` meets `bound`, reported with `message`, `label` and
/// `note` on the user's `ty` through a local trait named `trait_name` (the
/// name rustc's help line shows).
fn bound_check(
    ty: &Type,
    trait_name: &str,
    bound: &TokenStream,
    message: &str,
    label: &str,
    note: &str,
) -> TokenStream {
    let (t, f) = (hidden(trait_name), hidden("goroutine_parameter"));
    let call = quote_spanned! {ty.span()=> #f::<#ty>() };
    quote! {
        {
            #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
            trait #t {}
            #[diagnostic::do_not_recommend]
            impl<T: #bound> #t for T {}
            fn #f<T: ?::core::marker::Sized + #t>() {}
            #call;
        }
    }
}
