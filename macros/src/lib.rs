//! Procedural macros behind `heisen`: `#[heisen::model]` and `#[heisen::critical]`.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, Meta, Token};

#[derive(Default)]
struct Args {
    loom: Option<Span>,
    shuttle: Option<Span>,
    preemption_bound: Option<(u64, Span)>,
    max_branches: Option<(u64, Span)>,
    iterations: Option<(u64, Span)>,
    pct_depth: Option<(u64, Span)>,
    seed: Option<(u64, Span)>,
    timeout_ms: Option<(u64, Span)>,
    clock_skew_ns: Option<(u64, Span)>,
    /// `net_faults`: (drop, duplicate, reorder).
    net_faults: Option<((bool, bool, bool), Span)>,
    max_net_faults: Option<(u64, Span)>,
    max_early_timers: Option<(u64, Span)>,
}

/// The fault kinds of `net_faults`.
const NET_FAULTS: &[&str] = &["drop", "duplicate", "reorder"];

/// `net_faults = "drop, duplicate, reorder"`: a non-empty comma-separated subset.
fn net_faults_arg(e: &Expr) -> syn::Result<(bool, bool, bool)> {
    let Expr::Lit(ExprLit {
        lit: Lit::Str(s), ..
    }) = e
    else {
        return Err(err(
            e.span(),
            "`net_faults` expects a string literal, e.g. `net_faults = \"drop, duplicate, reorder\"`",
        ));
    };
    let mut on = [false; 3];
    let value = s.value();
    for part in value.split(',').map(str::trim) {
        let Some(i) = NET_FAULTS.iter().position(|f| *f == part) else {
            return Err(err(
                s.span(),
                if part.is_empty() {
                    "invalid `net_faults`: an empty entry; expected a comma-separated list of drop, duplicate, reorder".to_string()
                } else {
                    format!("invalid `net_faults`: unknown fault `{part}`; expected a comma-separated list of drop, duplicate, reorder")
                },
            ));
        };
        if on[i] {
            return Err(err(
                s.span(),
                format!("invalid `net_faults`: `{part}` is listed twice"),
            ));
        }
        on[i] = true;
    }
    Ok((on[0], on[1], on[2]))
}

fn err(span: Span, msg: impl std::fmt::Display) -> syn::Error {
    syn::Error::new(span, msg)
}

fn int_arg(name: &str, e: &Expr, min: u64) -> syn::Result<u64> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => {
            let v: u64 = i.base10_parse()?;
            if v < min {
                return Err(err(i.span(), format!("`{name}` must be at least {min}")));
            }
            Ok(v)
        }
        _ => Err(err(
            e.span(),
            format!("`{name}` expects an integer literal, e.g. `{name} = 3`"),
        )),
    }
}

/// Parses a positive duration like "30s" or "500ms" into nanoseconds, accepting the `units`
/// given as (suffix, nanoseconds).
fn duration_ns(s: &str, units: &[(&str, u64)]) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = (&s[..split], s[split..].trim());
    let mult = units.iter().find(|(u, _)| *u == unit)?.1;
    let v: u64 = num.parse().ok()?;
    (v > 0).then(|| v.checked_mul(mult)).flatten()
}

const MS: u64 = 1_000_000;
/// Units of `timeout`.
const TIMEOUT_UNITS: &[(&str, u64)] = &[("ms", MS), ("s", 1_000 * MS), ("m", 60_000 * MS)];
/// Units of `clock_skew`.
const SKEW_UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", MS),
    ("s", 1_000 * MS),
];

/// A `name = "<duration>"` argument in nanoseconds, or a spanned error saying what is valid.
fn duration_arg(name: &str, e: &Expr, units: &[(&str, u64)], examples: &str) -> syn::Result<u64> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => duration_ns(&s.value(), units).ok_or_else(|| {
            err(
                s.span(),
                format!("invalid `{name}`: expected a positive duration like {examples}"),
            )
        }),
        other => Err(err(
            other.span(),
            format!(
                "`{name}` expects a string literal, e.g. `{name} = {}`",
                examples.split(',').next().unwrap_or_default()
            ),
        )),
    }
}

fn parse_args(attr: TokenStream2) -> syn::Result<Args> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let mut a = Args::default();
    for m in metas {
        let span = m.span();
        let name = m
            .path()
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let dup = |set: bool| -> syn::Result<()> {
            if set {
                Err(err(span, format!("duplicate argument `{name}`")))
            } else {
                Ok(())
            }
        };
        match (&m, name.as_str()) {
            (Meta::Path(_), "loom") => {
                dup(a.loom.is_some())?;
                a.loom = Some(span)
            }
            (Meta::Path(_), "shuttle") => {
                dup(a.shuttle.is_some())?;
                a.shuttle = Some(span)
            }
            (Meta::NameValue(nv), "timeout") => {
                dup(a.timeout_ms.is_some())?;
                let ns = duration_arg("timeout", &nv.value, TIMEOUT_UNITS, "\"30s\", \"500ms\" or \"2m\"")?;
                a.timeout_ms = Some((ns / MS, span));
            }
            (Meta::NameValue(nv), "clock_skew") => {
                dup(a.clock_skew_ns.is_some())?;
                let ns = duration_arg("clock_skew", &nv.value, SKEW_UNITS, "\"50ms\", \"2s\" or \"500us\"")?;
                if ns > i64::MAX as u64 {
                    return Err(err(nv.value.span(), "`clock_skew` is too large (at most 292 years)"));
                }
                a.clock_skew_ns = Some((ns, span));
            }
            (Meta::NameValue(nv), "net_faults") => {
                dup(a.net_faults.is_some())?;
                a.net_faults = Some((net_faults_arg(&nv.value)?, span));
            }
            (Meta::NameValue(nv), n @ ("preemption_bound" | "max_branches" | "iterations" | "pct_depth" | "seed" | "max_net_faults" | "max_early_timers")) => {
                let min = if matches!(n, "preemption_bound" | "seed" | "max_early_timers") { 0 } else { 1 };
                let v = (int_arg(n, &nv.value, min)?, span);
                let slot = match n {
                    "preemption_bound" => &mut a.preemption_bound,
                    "max_branches" => &mut a.max_branches,
                    "iterations" => &mut a.iterations,
                    "pct_depth" => &mut a.pct_depth,
                    "max_net_faults" => &mut a.max_net_faults,
                    "max_early_timers" => &mut a.max_early_timers,
                    _ => &mut a.seed,
                };
                dup(slot.is_some())?;
                *slot = Some(v);
            }
            (_, "loom" | "shuttle") => {
                return Err(err(span, format!("`{name}` takes no value: write `#[heisen::model({name})]`")))
            }
            (_, "preemption_bound" | "max_branches" | "iterations" | "pct_depth" | "seed" | "timeout" | "clock_skew" | "net_faults" | "max_net_faults" | "max_early_timers") => {
                return Err(err(span, format!("`{name}` needs a value, e.g. `{name} = ...`")))
            }
            _ => {
                return Err(err(
                    span,
                    format!(
                        "unknown heisen::model argument `{}`; expected one of: loom, shuttle, preemption_bound, max_branches, iterations, pct_depth, seed, timeout, clock_skew, net_faults, max_net_faults, max_early_timers",
                        quote!(#m)
                    ),
                ))
            }
        }
    }
    if let (Some((_, s)), None) = (a.max_net_faults, a.net_faults) {
        return Err(err(
            s,
            "`max_net_faults` needs `net_faults` (which faults to inject), e.g. `net_faults = \"drop\", max_net_faults = 2`",
        ));
    }
    if let Some((v, s)) = a.max_net_faults {
        if v > u64::from(u32::MAX) {
            return Err(err(s, "`max_net_faults` is too large"));
        }
    }
    // Backend-specific arguments must not contradict the chosen backend.
    let only_loom = a.loom.is_some() && a.shuttle.is_none();
    let only_shuttle = a.shuttle.is_some() && a.loom.is_none();
    if only_shuttle {
        for (n, v) in [
            ("preemption_bound", a.preemption_bound),
            ("max_branches", a.max_branches),
        ] {
            if let Some((_, s)) = v {
                return Err(err(
                    s,
                    format!("`{n}` is a loom setting, but this test runs only under shuttle"),
                ));
            }
        }
    }
    if only_loom {
        for (n, v) in [
            ("iterations", a.iterations),
            ("pct_depth", a.pct_depth),
            ("seed", a.seed),
        ] {
            if let Some((_, s)) = v {
                return Err(err(
                    s,
                    format!("`{n}` is a shuttle setting, but this test runs only under loom"),
                ));
            }
        }
    }
    Ok(a)
}

/// Marks a concurrency model test (replaces `#[test]`).
///
/// Model build (`--features heisen/model`): runs the body under loom and under shuttle
/// (random + PCT) and panics with a counterexample report on failure. Normal build: runs the
/// body once on real threads. See the `heisen` crate guide for the arguments and defaults.
#[proc_macro_attribute]
pub fn model(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let args = parse_args(attr)?;
    let f: ItemFn = syn::parse2(item)?;
    let sig = &f.sig;
    if let Some(i) = sig.inputs.first() {
        return Err(err(i.span(), "a #[heisen::model] test takes no arguments"));
    }
    if !sig.generics.params.is_empty() {
        return Err(err(
            sig.generics.span(),
            "a #[heisen::model] test cannot be generic",
        ));
    }
    if let syn::ReturnType::Type(_, t) = &sig.output {
        return Err(err(
            t.span(),
            "a #[heisen::model] test must return `()` (use assertions / unwrap)",
        ));
    }
    if let Some(c) = &sig.constness {
        return Err(err(c.span(), "a #[heisen::model] test cannot be `const`"));
    }
    if let Some(u) = &sig.unsafety {
        return Err(err(u.span(), "a #[heisen::model] test cannot be `unsafe`"));
    }
    if let Some(a) = f.attrs.iter().find(|a| a.path().is_ident("test")) {
        return Err(err(
            a.span(),
            "remove `#[test]`: #[heisen::model] already declares the test",
        ));
    }
    let name = &sig.ident;
    // Inner attributes (`#![allow(..)]` at the top of the body) stay inside the body; the
    // runner honours `#[should_panic]` itself (see `should_panic`), so libtest does not see it.
    let (inner, outer): (Vec<_>, Vec<_>) = f
        .attrs
        .iter()
        .partition(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    let mut expected_failure = None;
    let mut attrs = Vec::new();
    for a in outer {
        if a.path().is_ident("should_panic") {
            if expected_failure.is_some() {
                return Err(err(a.span(), "duplicate `#[should_panic]`"));
            }
            expected_failure = Some(should_panic(a)?);
        } else {
            attrs.push(a);
        }
    }
    let vis = &f.vis;
    let stmts = &f.block.stmts;
    let body = if sig.asyncness.is_some() {
        quote! { { #(#inner)* ::heisen::__private::block_on_body(async move { #(#stmts)* }) } }
    } else {
        quote! { { #(#inner)* #(#stmts)* } }
    };
    let mut cfg = quote! {
        ::heisen::runner::Config::new(::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)))
    };
    if args.loom.is_some() && args.shuttle.is_none() {
        cfg = quote! { #cfg.loom_only() };
    }
    if args.shuttle.is_some() && args.loom.is_none() {
        cfg = quote! { #cfg.shuttle_only() };
    }
    let set = |cfg: &mut TokenStream2, v: Option<(u64, Span)>, m: TokenStream2| {
        if let Some((v, s)) = v {
            *cfg = quote_spanned! {s=> #cfg.#m(#v as _) };
        }
    };
    if let Some((v, s)) = args.preemption_bound {
        let v = v as usize;
        cfg = quote_spanned! {s=> #cfg.preemption_bound(::core::option::Option::Some(#v)) };
    }
    set(&mut cfg, args.max_branches, quote!(max_branches));
    set(&mut cfg, args.iterations, quote!(iterations));
    set(&mut cfg, args.pct_depth, quote!(pct_depth));
    set(&mut cfg, args.seed, quote!(seed));
    set(&mut cfg, args.max_early_timers, quote!(max_early_timers));
    match expected_failure {
        Some(Some(text)) => cfg = quote! { #cfg.expect_failure_containing(#text) },
        Some(None) => cfg = quote! { #cfg.expect_failure() },
        None => {}
    }
    if let Some((ms, s)) = args.timeout_ms {
        cfg = quote_spanned! {s=> #cfg.timeout(::std::time::Duration::from_millis(#ms)) };
    }
    if let Some((ns, s)) = args.clock_skew_ns {
        cfg = quote_spanned! {s=> #cfg.clock_skew(::std::time::Duration::from_nanos(#ns)) };
    }
    if let Some(((d, u, r), s)) = args.net_faults {
        let max = args.max_net_faults.map_or(2, |(v, _)| v as u32);
        cfg = quote_spanned! {s=> #cfg.net_faults(::heisen::net::Faults::new(#d, #u, #r, #max)) };
    }
    Ok(quote! {
        #[test]
        #(#attrs)*
        #vis fn #name() {
            fn __heisen_model_body() #body
            ::heisen::runner::run_test(#cfg, __heisen_model_body);
        }
    })
}

/// The `expected` text of a `#[should_panic]` attribute (`None` for the bare form), in
/// libtest's three forms: `#[should_panic]`, `#[should_panic = ".."]` and
/// `#[should_panic(expected = "..")]`.
fn should_panic(a: &syn::Attribute) -> syn::Result<Option<syn::LitStr>> {
    let bad = |span| {
        err(
            span,
            "expected `#[should_panic]`, `#[should_panic = \"..\"]` or `#[should_panic(expected = \"..\")]`",
        )
    };
    match &a.meta {
        Meta::Path(_) => Ok(None),
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(Some(s.clone())),
            other => Err(bad(other.span())),
        },
        Meta::List(l) => {
            let mut text = None;
            l.parse_nested_meta(|m| {
                if m.path.is_ident("expected") && text.is_none() {
                    text = Some(m.value()?.parse::<syn::LitStr>()?);
                    Ok(())
                } else {
                    Err(bad(m.path.span()))
                }
            })?;
            text.map(Some).ok_or_else(|| bad(l.span()))
        }
    }
}

/// Marks a function or method as a **critical section**: it must behave as if it ran alone.
///
/// Normal build: the item is emitted exactly as written (the expansion goes through a
/// `macro_rules!` selector defined by `heisen` itself, whose normal-build arm returns the
/// original tokens). Model build: entering the function records a section entry and its
/// accesses are checked for conflict-serializability at the end of every explored execution.
/// See the `heisen` crate guide, section "Critical sections".
///
/// Arguments: none, or `name = "..."` (default: the function's name). For a block, use
/// `heisen::critical_section!(name, { .. })` (an attribute and a `macro!` cannot share the
/// name `critical`).
#[proc_macro_attribute]
pub fn critical(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand_critical(attr.into(), item.into()) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn parse_critical_args(attr: TokenStream2) -> syn::Result<Option<String>> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let mut name: Option<String> = None;
    for m in metas {
        let span = m.span();
        match &m {
            Meta::NameValue(nv) if nv.path.is_ident("name") => {
                if name.is_some() {
                    return Err(err(span, "duplicate argument `name`"));
                }
                match &nv.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }) => {
                        let v = s.value();
                        if v.trim().is_empty() {
                            return Err(err(s.span(), "`name` must not be empty"));
                        }
                        name = Some(v);
                    }
                    other => {
                        return Err(err(
                            other.span(),
                            "`name` expects a string literal, e.g. `#[heisen::critical(name = \"withdraw\")]`",
                        ))
                    }
                }
            }
            _ if m.path().is_ident("name") => {
                return Err(err(
                    span,
                    "`name` needs a value, e.g. `#[heisen::critical(name = \"withdraw\")]`",
                ))
            }
            _ => {
                return Err(err(
                    span,
                    format!(
                    "unknown heisen::critical argument `{}`; expected nothing or `name = \"...\"`",
                    quote!(#m)
                ),
                ))
            }
        }
    }
    Ok(name)
}

/// Whether a return type can annotate a `let` (no `impl Trait`, not `!`).
fn annotatable(ty: &syn::Type) -> bool {
    fn has_impl(ts: TokenStream2) -> bool {
        ts.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "impl",
            proc_macro2::TokenTree::Group(g) => has_impl(g.stream()),
            _ => false,
        })
    }
    !matches!(ty, syn::Type::Never(_)) && !has_impl(quote!(#ty))
}

fn expand_critical(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let name_arg = parse_critical_args(attr)?;
    if let Ok(t) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        if t.default.is_none() {
            return Err(err(
                t.sig.span(),
                "#[heisen::critical] needs a function body (put it on the implementations, or give the trait method a default body)",
            ));
        }
    }
    let f: ItemFn = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(f)) => f,
        Ok(other) => {
            return Err(err(
                other.span(),
                "#[heisen::critical] applies to a function or method; for a block use `heisen::critical_section!(name, { .. })`",
            ))
        }
        Err(e) => return Err(e),
    };
    let sig = &f.sig;
    if let Some(c) = &sig.constness {
        return Err(err(
            c.span(),
            "#[heisen::critical] cannot apply to a `const fn` (model builds record the section at run time)",
        ));
    }
    let name = name_arg.unwrap_or_else(|| {
        let n = sig.ident.to_string();
        n.strip_prefix("r#").map(str::to_string).unwrap_or(n)
    });
    let attrs = &f.attrs;
    let vis = &f.vis;
    let block = &f.block;
    let annot = match &sig.output {
        syn::ReturnType::Type(_, ty) if annotatable(ty) => quote!(: #ty),
        _ => quote!(),
    };
    let enter = quote_spanned! {sig.ident.span()=>
        ::heisen::__private::CriticalGuard::enter(#name)
    };
    let instrumented = quote! {
        #(#attrs)*
        #[allow(unused_braces, unreachable_code, clippy::let_and_return)]
        #vis #sig {
            let __heisen_critical = #enter;
            let __heisen_value #annot = #block;
            __heisen_value
        }
    };
    // `heisen` picks the arm by its own `model` feature: a cfg here would be evaluated in the
    // user's crate, which has no such feature.
    Ok(quote! {
        ::heisen::__critical_select! { { #item } { #instrumented } }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_expansion_carries_the_original_item_verbatim_as_the_first_arm() {
        let item: TokenStream2 = quote! {
            pub fn withdraw(&self, amount: u64) -> bool {
                let b = self.balance.load(SeqCst);
                b >= amount
            }
        };
        let out = expand_critical(quote!(), item.clone()).unwrap();
        let mut it = out.into_iter();
        let path: String = it.by_ref().take(7).map(|t| t.to_string()).collect();
        assert_eq!(path, "::heisen::__critical_select!");
        let Some(proc_macro2::TokenTree::Group(g)) = it.next() else {
            panic!("selector body")
        };
        let mut arms = g.stream().into_iter();
        let Some(proc_macro2::TokenTree::Group(orig)) = arms.next() else {
            panic!("first arm")
        };
        assert_eq!(orig.stream().to_string(), item.to_string());
        assert!(it.next().is_none());
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ns("50ms", SKEW_UNITS), Some(50_000_000));
        assert_eq!(duration_ns("2s", SKEW_UNITS), Some(2_000_000_000));
        assert_eq!(duration_ns("500us", SKEW_UNITS), Some(500_000));
        assert_eq!(duration_ns(" 7 ns ", SKEW_UNITS), Some(7));
        assert_eq!(duration_ns("2m", TIMEOUT_UNITS), Some(120_000_000_000));
        for bad in [
            "0ms",
            "50",
            "ms",
            "-5ms",
            "1.5s",
            "2m",
            "50 parsecs",
            "99999999999999999999s",
        ] {
            assert_eq!(duration_ns(bad, SKEW_UNITS), None, "{bad}");
        }
    }

    #[test]
    fn critical_arguments() {
        assert_eq!(parse_critical_args(quote!()).unwrap(), None);
        assert_eq!(
            parse_critical_args(quote!(name = "w")).unwrap().as_deref(),
            Some("w")
        );
        assert!(parse_critical_args(quote!(name = 3)).is_err());
        assert!(parse_critical_args(quote!(loom)).is_err());
    }
}
