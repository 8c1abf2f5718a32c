//! The `#[interceptor]` attribute of `interpose-guest`: derives a guest's interests from the
//! hook methods its `impl Interceptor` block defines, so they cannot drift apart.

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{ImplItem, ItemImpl, parse_macro_input};

// `CATEGORIES` (hooks per category, snake-case) and `GUEST_ITEMS`, generated from
// `wit/types.wit` by `build.rs` (interpose-catalogue).
include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));

/// The guest SDK's hook catalogue: the `Interceptor` trait's per-hook methods and dispatch
/// (through the SDK's `interceptor_trait!`), `hook_name` and `category_of`, generated from
/// the WIT. Used once, by `interpose-guest`.
#[doc(hidden)]
#[proc_macro]
pub fn __catalogue(_: TokenStream) -> TokenStream {
    GUEST_ITEMS
        .parse()
        .expect("the generated catalogue is valid Rust")
}

/// `start_workflow` → `StartWorkflow`.
fn camel(snake: &str) -> String {
    interpose_catalogue::camel(&snake.replace('_', "-"))
}

/// Put on `impl interpose_guest::Interceptor for YourType { ... }`.
///
/// The guest's interests become exactly the hooks it implements: `before_<hook>` or
/// `after_<hook>` declares `<hook>`; `before_<category>` or `after_<category>` (e.g.
/// `before_workflow_inbound`) declares every hook of that category. A method name that is
/// neither is a compile error.
#[proc_macro_attribute]
pub fn interceptor(_attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut block = parse_macro_input!(item as ItemImpl);
    // hook -> phase bits (1 = before, 2 = after)
    let mut hooks: std::collections::BTreeMap<String, u8> = std::collections::BTreeMap::new();
    let mut errors = Vec::new();
    for item in &block.items {
        let ImplItem::Fn(f) = item else { continue };
        let name = f.sig.ident.to_string();
        let (bit, rest) = match (name.strip_prefix("before_"), name.strip_prefix("after_")) {
            (Some(rest), _) => (1u8, Some(rest)),
            (_, Some(rest)) => (2u8, Some(rest)),
            _ => (0, None),
        };
        let Some(rest) = rest else {
            errors.push(syn::Error::new_spanned(
                &f.sig.ident,
                format!("`{name}` is not a hook method: hook methods are named `before_<hook>`, `after_<hook>`, `before_<category>` or `after_<category>`"),
            ));
            continue;
        };
        let mut found = false;
        for (cat, list) in CATEGORIES {
            if *cat == rest {
                for h in list.iter() {
                    *hooks.entry(h.to_string()).or_default() |= bit;
                }
                found = true;
            } else if list.contains(&rest) {
                *hooks.entry(rest.to_string()).or_default() |= bit;
                found = true;
            }
        }
        if !found {
            errors.push(syn::Error::new_spanned(
                &f.sig.ident,
                format!("`{rest}` is neither a hook nor a category of interpose:interceptor"),
            ));
        }
    }
    if let Some(first) = errors.into_iter().reduce(|mut a, b| {
        a.combine(b);
        a
    }) {
        return first.to_compile_error().into();
    }
    let variants = hooks.keys().map(|h| format_ident!("{}", camel(h)));
    let bits = hooks.values();
    block.items.push(syn::parse_quote! {
        fn __interests_from_the_interceptor_attribute() -> &'static [(::interpose_guest::Hook, u8)] {
            &[#((::interpose_guest::Hook::#variants, #bits)),*]
        }
    });
    quote!(#block).into()
}
