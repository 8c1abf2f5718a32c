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
///
/// It also declares the headers each hook reads, so that the host hands them to the hook
/// in its one call (contract 0.2): every `.header("key")`, `.header_string("key")` and
/// `.remove_header("key")` with a string literal in a method's body declares `key` for
/// the method's hooks. A method that reads keys the attribute cannot see (a variable, a
/// helper function) declares them with `#[reads("key", ...)]`, or `#[reads(all)]`, on the
/// method; undeclared keys still work, one crossing into the host per read. Keys are
/// derived from string literals only; a `const` key is declared with `reads(..)`.
/// `#[interceptor(reads(KEY, ...))]` declares keys for every hook of the block.
#[proc_macro_attribute]
pub fn interceptor(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut block = parse_macro_input!(item as ItemImpl);
    // Keys declared for the whole block: `#[interceptor(reads(...))]`.
    let mut block_reads: Option<std::collections::BTreeSet<String>> = Some(Default::default());
    let mut errors = Vec::new();
    if !attr.is_empty() {
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("reads") {
                let content;
                syn::parenthesized!(content in meta.input);
                let list =
                    syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated(
                        &content,
                    )?;
                read_keys(list, &mut block_reads, &mut errors);
                Ok(())
            } else {
                Err(meta.error("expected `reads(...)`"))
            }
        });
        if let Err(e) = syn::parse::Parser::parse(parser, attr) {
            errors.push(e);
        }
    }
    // hook -> phase bits (1 = before, 2 = after)
    let mut hooks: std::collections::BTreeMap<String, u8> = std::collections::BTreeMap::new();
    // hook -> declared keys; `None` = every header.
    let mut reads: std::collections::BTreeMap<String, Option<std::collections::BTreeSet<String>>> =
        std::collections::BTreeMap::new();
    for item in &mut block.items {
        let ImplItem::Fn(f) = item else { continue };
        // `None` = all; `Some(keys)` otherwise.
        let mut method_reads = block_reads.clone();
        let mut kept = Vec::new();
        for attr in std::mem::take(&mut f.attrs) {
            if !attr.path().is_ident("reads") {
                kept.push(attr);
                continue;
            }
            let parsed = attr.parse_args_with(
                syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
            );
            match parsed {
                Ok(list) => read_keys(list, &mut method_reads, &mut errors),
                Err(e) => errors.push(e),
            }
        }
        f.attrs = kept;
        if let Some(set) = &mut method_reads {
            literal_header_reads(
                f.block.stmts.iter().map(quote::ToTokens::to_token_stream),
                set,
            );
        }
        let f = &*f;
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
        let mut declare = |hook: &str| {
            *hooks.entry(hook.to_string()).or_default() |= bit;
            let entry = reads
                .entry(hook.to_string())
                .or_insert_with(|| Some(Default::default()));
            match (entry.as_mut(), &method_reads) {
                (Some(set), Some(keys)) => set.extend(keys.iter().cloned()),
                (_, None) => *entry = None,
                (None, _) => {}
            }
        };
        for (cat, list) in CATEGORIES {
            if *cat == rest {
                for h in list.iter() {
                    declare(h);
                }
                found = true;
            } else if list.contains(&rest) {
                declare(rest);
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
    // The host's limits on declared reads, said at compile time where the keys are literals.
    for (hook, keys) in &reads {
        let Some(keys) = keys else { continue };
        if keys.len() > 64 {
            errors.push(syn::Error::new(
                proc_macro2::Span::call_site(),
                format!("hook `{hook}` reads {} header keys; the host accepts at most 64 (use `reads(all)`)", keys.len()),
            ));
        }
        for k in keys {
            if let Ok(lit) = syn::parse_str::<syn::LitStr>(k)
                && lit.value().len() > 256
            {
                errors.push(syn::Error::new(
                    proc_macro2::Span::call_site(),
                    format!("header key of {} bytes read by hook `{hook}`; the host accepts at most 256", lit.value().len()),
                ));
            }
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
    let reads = hooks.keys().map(|h| match reads.get(h) {
        Some(None) => quote!(::interpose_guest::Reads::All),
        Some(Some(keys)) if !keys.is_empty() => {
            let keys = keys.iter().map(|k| {
                syn::parse_str::<syn::Expr>(k).expect("a key the macro read as an expression")
            });
            quote!(::interpose_guest::Reads::Keys(&[#(#keys),*]))
        }
        _ => quote!(::interpose_guest::Reads::None),
    });
    block.items.push(syn::parse_quote! {
        fn __interests_from_the_interceptor_attribute()
            -> &'static [(::interpose_guest::Hook, u8, ::interpose_guest::Reads)]
        {
            &[#((::interpose_guest::Hook::#variants, #bits, #reads)),*]
        }
    });
    quote!(#block).into()
}

/// Add the keys of a `reads(...)` list to `set` (`all` makes it `None`: every header).
/// A key is a string literal or any constant expression of type `&str`, kept as its
/// source text.
fn read_keys(
    list: syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>,
    set: &mut Option<std::collections::BTreeSet<String>>,
    errors: &mut Vec<syn::Error>,
) {
    for e in list {
        match &e {
            syn::Expr::Path(p) if p.path.is_ident("all") => *set = None,
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(_),
                ..
            })
            | syn::Expr::Path(_) => {
                if let Some(set) = set {
                    set.insert(quote!(#e).to_string());
                }
            }
            other => errors.push(syn::Error::new_spanned(
                other,
                "`reads(...)` takes header keys (string literals or `const`s), or `all`",
            )),
        }
    }
}

/// Collect the keys of `.header("k")`, `.header_string("k")` and `.remove_header("k")`
/// calls with a string literal, anywhere in `tokens` (closures and nested blocks included).
fn literal_header_reads(
    tokens: impl IntoIterator<Item = proc_macro2::TokenStream>,
    keys: &mut std::collections::BTreeSet<String>,
) {
    use proc_macro2::TokenTree;
    for stream in tokens {
        let trees: Vec<TokenTree> = stream.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Group(g) => literal_header_reads([g.stream()], keys),
                TokenTree::Ident(id)
                    if matches!(
                        id.to_string().as_str(),
                        "header" | "header_string" | "remove_header"
                    ) && i > 0
                        && matches!(&trees[i - 1], TokenTree::Punct(p) if p.as_char() == '.') =>
                {
                    let Some(TokenTree::Group(args)) = trees.get(i + 1) else {
                        continue;
                    };
                    if args.delimiter() != proc_macro2::Delimiter::Parenthesis {
                        continue;
                    }
                    let inner: Vec<TokenTree> = args.stream().into_iter().collect();
                    match inner.as_slice() {
                        [TokenTree::Literal(lit)]
                            if matches!(
                                syn::parse_str::<syn::Lit>(&lit.to_string()),
                                Ok(syn::Lit::Str(_))
                            ) =>
                        {
                            keys.insert(lit.to_string());
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }
}
