//! The single syntax walk that produces [`FileFacts`]. Nothing else in the checker walks
//! function bodies.

use super::span;
use super::*;
use crate::finding::Region;
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::discouraged::Speculative;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Block, Expr, Pat, Stmt};

/// Expressions nested deeper than this are not descended into (their facts are dropped).
/// Together with the checker's big-stack worker threads this keeps pathological input from
/// overflowing the stack.
const MAX_DEPTH: usize = 192;

/// Computes the facts of every function and the item-level declarations of one file.
pub fn analyze_file(file: &syn::File) -> FileFacts {
    let mut facts = FileFacts::default();
    let mut items = ItemVisitor {
        facts: &mut facts,
        macros: std::rc::Rc::new(super::macros::MacroTable::of_file(file)),
        self_ty: Vec::new(),
        depth: 0,
        cfg_test: usize::from(is_cfg_test(&file.attrs)),
    };
    items.visit_file(file);
    facts.cfg_test_file = is_cfg_test(&file.attrs);
    facts
}

fn region(span: Span) -> Region {
    Region::from_span(span)
}

/// Renders tokens compactly: `self . balance` → `self.balance`, `Arc < T >` → `Arc<T>`.
/// The arguments of a macro whose body is a comma-separated list of single literals and
/// plain identifiers (`println!("{} {}", a, b)`, `vec![x, y,]`), built from the tokens: the
/// expressions `FnWalker::macro_call`'s parser gives for such a body, without buffering and
/// parsing the tokens (most macro bodies are of this shape). `None` for any other body.
fn simple_macro_args(tokens: &TokenStream) -> Option<Vec<Expr>> {
    use proc_macro2::TokenTree;
    let mut out = Vec::new();
    let mut want_arg = true;
    for tt in tokens.clone() {
        match tt {
            TokenTree::Literal(l) if want_arg => out.push(Expr::Lit(syn::ExprLit {
                attrs: Vec::new(),
                lit: syn::Lit::new(l),
            })),
            TokenTree::Ident(i) if want_arg => {
                let text = i.to_string();
                let e = match text.as_str() {
                    "true" | "false" => Expr::Lit(syn::ExprLit {
                        attrs: Vec::new(),
                        lit: syn::Lit::Bool(syn::LitBool::new(text == "true", i.span())),
                    }),
                    // `self` is a path expression; `_`, other keywords and raw identifiers
                    // take the parser.
                    t if t != "self" && (KEYWORDS.contains(&t) || t.starts_with("r#")) => {
                        return None
                    }
                    _ => Expr::Path(syn::ExprPath {
                        attrs: Vec::new(),
                        qself: None,
                        path: syn::Path::from(i),
                    }),
                };
                out.push(e);
            }
            TokenTree::Punct(p) if !want_arg && p.as_char() == ',' => {
                want_arg = true;
                continue;
            }
            _ => return None,
        }
        want_arg = false;
    }
    Some(out)
}

/// Keywords (strict, reserved and `_`) that an identifier token may spell.
const KEYWORDS: &[&str] = &[
    "_", "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "Self", "static", "struct", "super", "trait", "type", "unsafe", "use",
    "where", "while", "abstract", "become", "box", "do", "final", "gen", "macro", "override",
    "priv", "try", "typeof", "unsized", "virtual", "yield",
];

pub(crate) fn tokens_text(tokens: TokenStream) -> String {
    compact(&tokens.to_string())
}

/// Drops the spaces of a token stream's display next to `. : ( ) < > [ ] & !`.
fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    compact_into(raw, &mut out);
    out
}

/// [`compact`], appended to `out`.
fn compact_into(raw: &str, out: &mut String) {
    let tight = |ch: char| {
        matches!(
            ch,
            '.' | ':' | '(' | ')' | '<' | '>' | '[' | ']' | '&' | '!'
        )
    };
    let mut prev = ' ';
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let next = chars.peek().copied().unwrap_or(' ');
            if tight(prev) || tight(next) {
                prev = c;
                continue;
            }
        }
        out.push(c);
        prev = c;
    }
}

/// [`tokens_text`] of an expression, without printing it for the common small shapes (paths,
/// field chains, literals, references to them) that most arguments and receivers are. Tested
/// equal to `tokens_text(e.to_token_stream())` over our own sources.
pub(crate) fn expr_text(e: &Expr) -> String {
    let mut out = String::new();
    if push_text(e, &mut out) {
        out
    } else {
        tokens_text(e.to_token_stream())
    }
}

/// Appends the compact text of `e` to `out`; `false` (with `out` unspecified) for a shape not
/// handled here.
fn push_text(e: &Expr, out: &mut String) -> bool {
    match e {
        Expr::Path(p) if p.attrs.is_empty() && p.qself.is_none() => {
            if p.path.leading_colon.is_some() {
                out.push_str("::");
            }
            for (i, seg) in p.path.segments.iter().enumerate() {
                if !matches!(seg.arguments, syn::PathArguments::None) {
                    return false;
                }
                if i > 0 {
                    out.push_str("::");
                }
                push_ident(&seg.ident, out);
            }
            true
        }
        Expr::Field(f) if f.attrs.is_empty() => {
            if !push_text(&f.base, out) {
                return false;
            }
            out.push('.');
            push_member(&f.member, out);
            true
        }
        // A literal prints as its one token; its text starts and ends with no space (quotes,
        // digits, a suffix), so compacting it alone is compacting it in context.
        Expr::Lit(l) if l.attrs.is_empty() => {
            use syn::Lit;
            let token = match &l.lit {
                Lit::Bool(b) => {
                    out.push_str(if b.value { "true" } else { "false" });
                    return true;
                }
                Lit::Str(t) => t.token(),
                Lit::ByteStr(t) => t.token(),
                Lit::CStr(t) => t.token(),
                Lit::Byte(t) => t.token(),
                Lit::Char(t) => t.token(),
                Lit::Int(t) => t.token(),
                Lit::Float(t) => t.token(),
                Lit::Verbatim(t) => t.clone(),
                _ => return false,
            };
            compact_into(&token.to_string(), out);
            true
        }
        Expr::Reference(r) if r.attrs.is_empty() => {
            out.push('&');
            if r.mutability.is_some() {
                out.push_str("mut ");
            }
            push_text(&r.expr, out)
        }
        _ => false,
    }
}

/// [`tokens_text`] of a type. The common shapes (paths with type and lifetime arguments,
/// references, tuples, slices) are written out as the token printer would print them and then
/// compacted, without building a token stream; tested equal over our sources (and the corpus).
pub(crate) fn type_text(ty: &syn::Type) -> String {
    let mut raw = String::new();
    if push_type_raw(ty, &mut raw) {
        compact(&raw)
    } else {
        tokens_text(ty.to_token_stream())
    }
}

/// Appends the token printer's rendering of `ty` (tokens separated by one space, none after a
/// joint punctuation) to `out`; `false` (with `out` unspecified) for a shape not handled here.
fn push_type_raw(ty: &syn::Type, out: &mut String) -> bool {
    // Each token written through `tok`: a space before every token but the first.
    fn tok(out: &mut String, t: &str) {
        if !out.is_empty() && !out.ends_with(['(', '[']) {
            out.push(' ');
        }
        out.push_str(t);
    }
    fn lifetime(l: &syn::Lifetime, out: &mut String) {
        tok(out, "'");
        push_ident(&l.ident, out);
    }
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => {
            if p.path.leading_colon.is_some() {
                tok(out, "::");
            }
            for (i, seg) in p.path.segments.iter().enumerate() {
                if i > 0 {
                    tok(out, "::");
                }
                tok(out, "");
                push_ident(&seg.ident, out);
                match &seg.arguments {
                    syn::PathArguments::None => {}
                    syn::PathArguments::AngleBracketed(a) => {
                        if a.colon2_token.is_some() {
                            tok(out, "::");
                        }
                        tok(out, "<");
                        for pair in a.args.pairs() {
                            let ok = match pair.value() {
                                syn::GenericArgument::Type(t) => push_type_raw(t, out),
                                syn::GenericArgument::Lifetime(l) => {
                                    lifetime(l, out);
                                    true
                                }
                                _ => false,
                            };
                            if !ok {
                                return false;
                            }
                            if pair.punct().is_some() {
                                tok(out, ",");
                            }
                        }
                        tok(out, ">");
                    }
                    syn::PathArguments::Parenthesized(_) => return false,
                }
            }
            true
        }
        syn::Type::Reference(r) => {
            tok(out, "&");
            if let Some(l) = &r.lifetime {
                lifetime(l, out);
            }
            if r.mutability.is_some() {
                tok(out, "mut");
            }
            push_type_raw(&r.elem, out)
        }
        syn::Type::Tuple(t) => {
            tok(out, "(");
            for pair in t.elems.pairs() {
                if !push_type_raw(pair.value(), out) {
                    return false;
                }
                if pair.punct().is_some() {
                    tok(out, ",");
                }
            }
            out.push(')');
            true
        }
        syn::Type::Slice(s) => {
            tok(out, "[");
            if !push_type_raw(&s.elem, out) {
                return false;
            }
            out.push(']');
            true
        }
        _ => false,
    }
}

/// The path's segment names joined by `::` (generic arguments and a leading `::` dropped).
fn path_text(path: &syn::Path) -> String {
    let mut out = String::new();
    push_path(path, &mut out);
    out
}

fn push_path(path: &syn::Path, out: &mut String) {
    for (i, seg) in path.segments.iter().enumerate() {
        if i > 0 {
            out.push_str("::");
        }
        push_ident(&seg.ident, out);
    }
}

fn push_ident(i: &proc_macro2::Ident, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(out, "{i}");
}

fn push_member(m: &syn::Member, out: &mut String) {
    match m {
        syn::Member::Named(i) => push_ident(i, out),
        syn::Member::Unnamed(i) => {
            use std::fmt::Write;
            let _ = write!(out, "{}", i.index);
        }
    }
}

/// Methods whose result is the receiver itself for place purposes (`x.clone()` of a shared
/// handle, `x.as_ref()`, …).
/// A field's name: its identifier, or its position in a tuple struct or variant (`0`, `1`).
fn field_name(f: &syn::Field, i: usize) -> String {
    f.ident
        .as_ref()
        .map_or_else(|| i.to_string(), |id| id.to_string())
}

fn is_handle_method(m: &proc_macro2::Ident) -> bool {
    ["clone", "as_ref", "borrow", "deref", "as_deref", "get_ref"]
        .iter()
        .any(|h| m == h)
}

struct ItemVisitor<'a> {
    facts: &'a mut FileFacts,
    /// The file's `macro_rules!` macros, expanded at invocations in function bodies.
    macros: std::rc::Rc<super::macros::MacroTable>,
    self_ty: Vec<String>,
    depth: usize,
    /// How many enclosing items are `#[cfg(test)]` (for [`FnFacts::cfg_test`]).
    cfg_test: usize,
}

/// Whether the attributes make an item exist only in test builds: `#[cfg(test)]`, or
/// `#[cfg(all(test, …))]` (`any(test, …)` and `not(test)` also exist outside tests).
pub(crate) fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        if !a.path().is_ident("cfg") {
            return false;
        }
        let Ok(list) = a.meta.require_list() else {
            return false;
        };
        let t = compact(&list.tokens.to_string());
        t == "test"
            || (t.starts_with("all(") && t[4..].split([',', ')']).any(|w| w.trim() == "test"))
    })
}

impl ItemVisitor<'_> {
    fn function(&mut self, name: String, sig: &syn::Signature, block: &Block, item_region: Region) {
        let mut w = FnWalker {
            macros: self.macros.clone(),
            ..FnWalker::default()
        };
        let mut params = Vec::new();
        for input in &sig.inputs {
            match input {
                syn::FnArg::Receiver(r) => {
                    // An explicitly typed receiver (`self: &Arc<Self>`, `self: Pin<&mut Self>`)
                    // is that type, not an owned `Self`: `Arc<Self>` is shared.
                    let ty = match (&r.colon_token, &r.reference, &r.mutability) {
                        (Some(_), ..) => type_text(&r.ty),
                        (None, Some(_), Some(_)) => "&mut Self".to_string(),
                        (None, Some(_), None) => "&Self".to_string(),
                        (None, None, _) => "Self".to_string(),
                    };
                    params.push(("self".to_string(), ty));
                }
                syn::FnArg::Typed(pt) => {
                    let ty = type_text(&pt.ty);
                    let mut names = Vec::new();
                    pat_idents(&pt.pat, &mut names);
                    for n in names {
                        w.params.insert(n.clone());
                        params.push((n, ty.clone()));
                    }
                }
            }
        }
        let tail = w.block(block);
        w.returns.union_with(&tail);
        let nested = std::mem::take(&mut w.nested_items);
        self.facts.functions.push(FnFacts {
            name,
            region: region(sig.ident.span()),
            item_region,
            is_async: sig.asyncness.is_some(),
            is_unsafe: sig.unsafety.is_some(),
            is_test: false,
            cfg_test: self.cfg_test > 0,
            params,
            ret: match &sig.output {
                syn::ReturnType::Default => None,
                syn::ReturnType::Type(_, ty) => Some(type_text(ty)),
            },
            events: w.events,
            loops: w.loops,
            field_inits: w.field_inits,
            bindings: w.bindings,
            returns: w.returns,
            derefs: w.derefs,
            cases: w.cases,
            scrutinees: w.scrutinees,
            exits: w.exits,
            continues: w.continues,
            comparisons: w.comparisons,
            expansions: w.expansion_regions,
        });
        if self.depth < 16 {
            self.depth += 1;
            for item in nested {
                self.visit_item(&item);
            }
            self.depth -= 1;
        }
    }

    /// Sets [`FnFacts::is_test`] on the function pushed at index `at` (`#[test]`,
    /// `#[tokio::test]`, `#[…_test]` attributes).
    fn mark_test(&mut self, at: usize, attrs: &[syn::Attribute]) {
        let test = attrs.iter().any(|a| {
            a.path().segments.last().is_some_and(|s| {
                let n = s.ident.to_string();
                n == "test" || n.ends_with("_test")
            })
        });
        if let Some(f) = self.facts.functions.get_mut(at).filter(|_| test) {
            f.is_test = true;
        }
    }

    /// Runs `f` with the `#[cfg(test)]` depth raised when `attrs` make the item test-only.
    fn in_cfg(&mut self, attrs: &[syn::Attribute], f: impl FnOnce(&mut Self)) {
        let t = usize::from(is_cfg_test(attrs));
        self.cfg_test += t;
        f(self);
        self.cfg_test -= t;
    }

    fn qualified(&self, name: &syn::Ident) -> String {
        match self.self_ty.last() {
            Some(t) => format!("{t}::{name}"),
            None => name.to_string(),
        }
    }
}

impl<'ast> Visit<'ast> for ItemVisitor<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let name = f.sig.ident.to_string();
        let at = self.facts.functions.len();
        self.in_cfg(&f.attrs, |v| {
            v.function(name, &f.sig, &f.block, span::item_fn(f))
        });
        self.mark_test(at, &f.attrs);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        let name = self.qualified(&f.sig.ident);
        let at = self.facts.functions.len();
        self.in_cfg(&f.attrs, |v| {
            v.function(name, &f.sig, &f.block, span::impl_item_fn(f))
        });
        self.mark_test(at, &f.attrs);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_none() && is_cfg_test(&m.attrs) {
            self.facts.cfg_test_mods.push(m.ident.to_string());
        }
        self.in_cfg(&m.attrs, |v| syn::visit::visit_item_mod(v, m));
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(block) = &f.default {
            let name = self.qualified(&f.sig.ident);
            self.function(name, &f.sig, block, span::trait_item_fn(f));
        }
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let name = match &*i.self_ty {
            syn::Type::Path(p) => p
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default(),
            other => type_text(other),
        };
        self.self_ty.push(name);
        self.in_cfg(&i.attrs, |v| syn::visit::visit_item_impl(v, i));
        self.self_ty.pop();
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        let sealed = t.supertraits.iter().any(|b| match b {
            syn::TypeParamBound::Trait(b) => {
                b.path.segments.last().is_some_and(|s| s.ident == "Sealed")
            }
            _ => false,
        });
        let methods = t.items.iter().filter_map(|i| match i {
            syn::TraitItem::Fn(f) => Some(f.sig.ident.to_string()),
            _ => None,
        });
        self.facts.traits.push(TraitDecl {
            name: t.ident.to_string(),
            open: matches!(t.vis, syn::Visibility::Public(_)) && !sealed,
            methods: methods.collect(),
            region: region(t.ident.span()),
        });
        self.self_ty.push(t.ident.to_string());
        syn::visit::visit_item_trait(self, t);
        self.self_ty.pop();
    }

    /// The fields of an enum's variants, as `FileFacts::variant_fields` (`TargetKind::Multi`'s
    /// `state`; tuple variants' fields `0`, `1`, …).
    fn visit_item_enum(&mut self, e: &'ast syn::ItemEnum) {
        let name = e.ident.to_string();
        for v in &e.variants {
            for (i, f) in v.fields.iter().enumerate() {
                self.facts.variant_fields.push(FieldDecl {
                    strukt: format!("{name}::{}", v.ident),
                    field: field_name(f, i),
                    ty: type_text(&f.ty),
                    region: region(f.span()),
                });
            }
        }
        syn::visit::visit_item_enum(self, e);
    }

    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        let strukt = s.ident.to_string();
        let mut names = Vec::new();
        for (i, f) in s.fields.iter().enumerate() {
            let field = field_name(f, i);
            self.facts.fields.push(FieldDecl {
                strukt: strukt.clone(),
                field: field.clone(),
                ty: type_text(&f.ty),
                region: region(f.span()),
            });
            names.push(field);
        }
        let mut derives = Vec::new();
        for attr in &s.attrs {
            if attr.path().is_ident("derive") {
                let _ = attr.parse_nested_meta(|m| {
                    if let Some(last) = m.path.segments.last() {
                        derives.push(last.ident.to_string());
                    }
                    Ok(())
                });
            }
        }
        self.facts.structs.push(StructDecl {
            name: strukt,
            derives,
            fields: names,
            generics: s
                .generics
                .type_params()
                .map(|p| p.ident.to_string())
                .collect(),
            region: region(s.ident.span()),
        });
    }

    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        self.facts.statics.push(StaticDecl {
            name: s.ident.to_string(),
            ty: type_text(&s.ty),
            region: region(s.ident.span()),
            str_value: str_lit_value(&s.expr),
        });
    }

    /// `lazy_static! { … }` and `thread_local! { … }` declare statics: each is a
    /// [`StaticDecl`] of its written type, as an item `static` is. Any other item-position
    /// invocation with a braced body that parses as items (`cfg_rt! { impl Task { … } }`, the
    /// feature gates tokio and others wrap whole modules in) is taken for a wrapper that emits
    /// them: its items are visited as if written here (best effort: a macro that rewrites its
    /// items is analysed as the items it was given). Their tokens keep their source spans, so
    /// findings land on the real lines. `macro_rules!` definitions are not invocations.
    fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
        if m.ident.is_some() {
            return;
        }
        let name = m.mac.path.segments.last().map(|s| s.ident.to_string());
        if matches!(name.as_deref(), Some("lazy_static" | "thread_local")) {
            self.facts.statics.extend(macro_statics(&m.mac));
            return;
        }
        if self.depth >= 16 || !matches!(m.mac.delimiter, syn::MacroDelimiter::Brace(_)) {
            return;
        }
        let Ok(body) = m.mac.parse_body::<syn::File>() else {
            return;
        };
        self.in_cfg(&m.attrs, |v| {
            v.depth += 1;
            for item in &body.items {
                v.visit_item(item);
            }
            v.depth -= 1;
        });
    }

    fn visit_item_const(&mut self, c: &'ast syn::ItemConst) {
        self.facts.statics.push(StaticDecl {
            name: c.ident.to_string(),
            ty: type_text(&c.ty),
            region: region(c.ident.span()),
            str_value: str_lit_value(&c.expr),
        });
    }
}

/// The statics a `lazy_static!` (`[pub] static ref NAME: Ty = expr;`) or `thread_local!`
/// (`[pub] static NAME: Ty = const { … } | expr;`) invocation declares, in order; empty for
/// any other macro, and the ones before the first declaration that does not parse.
fn macro_statics(mac: &syn::Macro) -> Vec<StaticDecl> {
    let name = mac.path.segments.last().map(|s| s.ident.to_string());
    if !matches!(name.as_deref(), Some("lazy_static" | "thread_local")) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let _ = mac.parse_body_with(|input: syn::parse::ParseStream| {
        while !input.is_empty() {
            syn::Attribute::parse_outer(input)?;
            input.parse::<syn::Visibility>()?;
            input.parse::<syn::Token![static]>()?;
            if input.peek(syn::Token![ref]) {
                input.parse::<syn::Token![ref]>()?;
            }
            let ident: syn::Ident = input.parse()?;
            input.parse::<syn::Token![:]>()?;
            let ty: syn::Type = input.parse()?;
            input.parse::<syn::Token![=]>()?;
            let value: Expr = input.parse()?;
            out.push(StaticDecl {
                name: ident.to_string(),
                ty: type_text(&ty),
                region: region(ident.span()),
                str_value: str_lit_value(&value),
            });
            if input.is_empty() {
                break;
            }
            input.parse::<syn::Token![;]>()?;
        }
        let _: TokenStream = input.parse()?;
        Ok(())
    });
    out
}

/// Sharing wrappers whose constructor's argument names the shared value's type.
const SHARING_WRAPPERS: &[&str] = &["Arc", "Rc"];

/// The type an unannotated `let` gets from nested constructors around a shared value:
/// `Arc::new(RwLock::new(State::new()))` builds an `Arc<RwLock<State>>`, `Arc::new(Mutex::
/// new(0))` an `Arc<Mutex<_>>` (an argument that is no constructor call is `_`). Only for an `Arc`/`Rc` constructor (the outermost), so that
/// a lock shared through it is known as one; `None` for anything else.
fn shared_constructor_type(e: &Expr) -> Option<String> {
    fn ctor(e: &Expr, depth: usize) -> Option<String> {
        let Expr::Call(c) = e else { return None };
        let Expr::Path(p) = &*c.func else { return None };
        let segs = &p.path.segments;
        let n = segs.len();
        if n < 2 || segs[n - 1].ident != "new" {
            return None;
        }
        let ty = segs[n - 2].ident.to_string();
        if !ty.starts_with(|c: char| c.is_ascii_uppercase()) {
            return None;
        }
        let Some(arg) = c.args.first() else {
            return Some(ty);
        };
        let inner = (depth < 8).then(|| ctor(arg, depth + 1)).flatten();
        Some(format!("{ty}<{}>", inner.as_deref().unwrap_or("_")))
    }
    let Expr::Call(c) = e else { return None };
    let Expr::Path(p) = &*c.func else { return None };
    let n = p.path.segments.len();
    let outer = n
        .checked_sub(2)
        .map(|i| p.path.segments[i].ident.to_string())?;
    if !SHARING_WRAPPERS.contains(&outer.as_str()) || c.args.len() != 1 {
        return None;
    }
    // The shared value must itself be built by a constructor.
    ctor(c.args.first()?, 1)?;
    ctor(e, 0)
}

/// The value of a string-literal expression.
fn str_lit_value(e: &Expr) -> Option<String> {
    match e {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    }
}

/// The head of a pattern for [`Case::pattern`]: `Err(e)` → `Err`, `None` → `None`, `x`/`_` → `_`,
/// `Ok(Err(e))` → `Ok(Err)`.
fn pat_head(p: &Pat) -> String {
    let last = |path: &syn::Path| {
        path.segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default()
    };
    match p {
        // `Ok(Err(e))` → `Ok(Err)`: nested results keep their inner constructor.
        Pat::TupleStruct(t) => match t.elems.first().map(pat_head) {
            Some(inner)
                if t.elems.len() == 1
                    && inner.starts_with(|c: char| c.is_ascii_uppercase())
                    && !inner.contains('|') =>
            {
                format!("{}({inner})", last(&t.path))
            }
            _ => last(&t.path),
        },
        Pat::Struct(s) => last(&s.path),
        Pat::Path(p) => last(&p.path),
        Pat::Ident(i) => match &i.subpat {
            Some((_, sub)) => pat_head(sub),
            None if i.ident.to_string().starts_with(char::is_uppercase) => i.ident.to_string(),
            None => "_".to_string(),
        },
        Pat::Wild(_) => "_".to_string(),
        Pat::Or(o) => {
            let mut heads: Vec<String> = Vec::new();
            for h in o.cases.iter().map(pat_head) {
                if !heads.contains(&h) {
                    heads.push(h);
                }
            }
            heads.join("|")
        }
        Pat::Reference(r) => pat_head(&r.pat),
        Pat::Paren(p) => pat_head(&p.pat),
        Pat::Type(t) => pat_head(&t.pat),
        other => tokens_text(other.to_token_stream()),
    }
}

fn pat_idents(p: &Pat, out: &mut Vec<String>) {
    match p {
        Pat::Ident(i) => {
            out.push(i.ident.to_string());
            if let Some((_, sub)) = &i.subpat {
                pat_idents(sub, out);
            }
        }
        Pat::Tuple(t) => t.elems.iter().for_each(|p| pat_idents(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| pat_idents(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| pat_idents(&f.pat, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| pat_idents(p, out)),
        Pat::Reference(r) => pat_idents(&r.pat, out),
        Pat::Or(o) => o.cases.iter().for_each(|p| pat_idents(p, out)),
        Pat::Type(t) => pat_idents(&t.pat, out),
        Pat::Paren(p) => pat_idents(&p.pat, out),
        _ => {}
    }
}

#[derive(Clone, Debug, Default)]
struct Local {
    deps: Deps,
    alias: Option<Place>,
    init: Option<String>,
    ty: Option<String>,
    /// Field reads of the initializer (`let exp = claims.exp` → `claims.exp`), for
    /// [`Arg::fields`] / [`Operand::fields`] of expressions that read the local.
    fields: Vec<Place>,
}

/// An open scope: its region (for [`Binding::scope`]) and its locals, each name once, in
/// binding order.
struct Scope {
    region: Region,
    locals: Vec<(String, Local)>,
}

impl Scope {
    fn get(&self, name: &str) -> Option<&Local> {
        self.locals.iter().find(|(n, _)| n == name).map(|(_, l)| l)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Local> {
        self.locals
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l)
    }
}

/// The parts of an [`Event`] its syntax gives; [`FnWalker::push_event`] adds the rest.
struct NewEvent {
    kind: EventKind,
    name: String,
    region: Region,
    name_region: Region,
    receiver: Option<Place>,
    receiver_region: Option<Region>,
    receiver_deps: Deps,
    args: Vec<Arg>,
}

/// The locals' deps at one point of the walk (see [`FnWalker::snapshot`]): every open scope's
/// locals in order, and how many each scope had.
#[derive(Default)]
struct Snapshot {
    deps: Vec<Deps>,
    lens: Vec<usize>,
}

#[derive(Default)]
struct FnWalker {
    events: Vec<Event>,
    loops: Vec<LoopInfo>,
    loop_stack: Vec<usize>,
    field_inits: Vec<FieldInit>,
    bindings: Vec<Binding>,
    /// The open scopes, innermost last.
    scopes: Vec<Scope>,
    guards: Vec<Deps>,
    closure_depth: usize,
    depth: usize,
    returns: Deps,
    params: std::collections::HashSet<String>,
    nested_items: Vec<syn::Item>,
    derefs: Vec<Deref>,
    comparisons: Vec<Comparison>,
    /// The event a pattern being bound destructures directly (for [`Binding::init`]).
    bind_init: Option<EventId>,
    /// The string literal a `let` binds (for [`Binding::str_value`]).
    bind_str: Option<String>,
    /// The field read a `let` binds (for [`Binding::field`]).
    bind_field: Option<Place>,
    cases: Vec<Case>,
    scrutinees: Vec<Scrutinee>,
    exits: Vec<Exit>,
    /// The element place the next closure's first parameter stands for (set just before a
    /// closure argument of an iterator adapter over a place: `self.shards.iter().for_each(|s|
    /// ..)` → `self.shards[]`), taken by [`FnWalker::expr_closure`].
    closure_elem: Option<Place>,
    continues: Vec<Exit>,
    /// The file's local macros ([`super::macros`]).
    macros: std::rc::Rc<super::macros::MacroTable>,
    /// How many local-macro expansions are being walked inside each other.
    macro_depth: usize,
    /// How many local-macro expansions this function has walked.
    expansions: usize,
    /// Their invocation regions ([`FnFacts::expansions`]).
    expansion_regions: Vec<Region>,
}

/// Local macros expanded inside each other at most this deep.
const MAX_MACRO_DEPTH: usize = 4;
/// Local-macro expansions walked per function at most.
const MAX_EXPANSIONS: usize = 256;

/// A local macro's expansion, parsed: one expression, or statements.
enum Expansion {
    Expr(Box<Expr>),
    Stmts(Vec<Stmt>),
}

impl Expansion {
    /// The expansion as statements (an expression is one tail statement). Items are left
    /// out: the walk sees the code of the invocation, not the items a macro defines.
    fn into_stmts(self) -> Vec<Stmt> {
        let stmts = match self {
            Expansion::Expr(e) => vec![Stmt::Expr(*e, None)],
            Expansion::Stmts(s) => s,
        };
        stmts
            .into_iter()
            .filter(|s| !matches!(s, Stmt::Item(_)))
            .collect()
    }
}

/// Iterator adapters whose closure's first parameter is the current element.
const ELEMENT_ADAPTERS: &[&str] = &[
    "for_each",
    "try_for_each",
    "map",
    "filter",
    "filter_map",
    "flat_map",
    "find",
    "find_map",
    "any",
    "all",
    "inspect",
    "position",
];

fn union(mut a: Deps, b: Deps) -> Deps {
    a.union_with(&b);
    a
}

fn union_all<'a>(sets: impl IntoIterator<Item = &'a Deps>) -> Deps {
    let mut out = Deps::new();
    for s in sets {
        out.union_with(s);
    }
    out
}

/// `ensure!(cond, err)` (anyhow, eyre, snafu, and crates' own): `if !cond { return Err(err) }`.
fn is_ensure_macro(m: &syn::Macro) -> bool {
    m.path.segments.last().is_some_and(|s| s.ident == "ensure")
}

fn is_diverging_macro(m: &syn::Macro) -> bool {
    m.path.segments.last().is_some_and(|s| {
        matches!(
            s.ident.to_string().as_str(),
            "panic" | "unreachable" | "todo" | "unimplemented" | "bail"
        )
    })
}

/// Whether executing `e` always leaves the enclosing block (return, break, continue, panic).
fn expr_diverges(e: &Expr) -> bool {
    match e {
        Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) => true,
        Expr::Macro(m) => is_diverging_macro(&m.mac),
        Expr::Block(b) => block_diverges(&b.block),
        Expr::Unsafe(b) => block_diverges(&b.block),
        Expr::If(i) => {
            block_diverges(&i.then_branch)
                && i.else_branch
                    .as_ref()
                    .is_some_and(|(_, e)| expr_diverges(e))
        }
        Expr::Paren(p) => expr_diverges(&p.expr),
        _ => false,
    }
}

fn block_diverges(b: &Block) -> bool {
    b.stmts.iter().any(|s| match s {
        Stmt::Expr(e, _) => expr_diverges(e),
        Stmt::Macro(m) => is_diverging_macro(&m.mac),
        _ => false,
    })
}

/// Whether a `match` only unwraps its scrutinee, the `?`/`unwrap()` written out: every arm
/// either diverges ([`expr_diverges`]: `return`, `break`, `continue`, `panic!`-like macros) or yields the one
/// identifier its pattern binds (`Ok(guard) => guard`), and at least one yields. The value of
/// `let g = match m.lock() { Ok(g) => g, Err(_) => return }` is then what the scrutinee's
/// call produced.
fn unwraps_by_hand(m: &syn::ExprMatch) -> bool {
    fn yields_binding(arm: &syn::Arm) -> bool {
        let Expr::Path(p) = &*arm.body else {
            return false;
        };
        let Some(name) = p.path.get_ident() else {
            return false;
        };
        let mut bound = Vec::new();
        pat_idents(&arm.pat, &mut bound);
        bound.len() == 1 && *name == bound[0] && arm.guard.is_none()
    }
    let mut yields = 0;
    for arm in &m.arms {
        if yields_binding(arm) {
            yields += 1;
        } else if !expr_diverges(&arm.body) {
            return false;
        }
    }
    yields > 0
}

fn strip_place_wrappers(mut e: &Expr) -> &Expr {
    loop {
        match e {
            Expr::Paren(p) => e = &p.expr,
            Expr::Group(g) => e = &g.expr,
            Expr::Reference(r) => e = &r.expr,
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => e = &u.expr,
            Expr::Unsafe(u) => match unsafe_tail(&u.block) {
                Some(t) => e = t,
                None => return e,
            },
            _ => return e,
        }
    }
}

/// The expression of an `unsafe { e }` block that holds nothing else: `unsafe { &*p }` names
/// the same place as `&*p`.
fn unsafe_tail(b: &Block) -> Option<&Expr> {
    match b.stmts.as_slice() {
        [Stmt::Expr(e, None)] => Some(e),
        _ => None,
    }
}

/// Unchecked element access (`xs.get_unchecked(i)`, `get_unchecked_mut`): a place, the element
/// `xs[]`, like `xs[i]`.
fn is_unchecked_index(m: &syn::ExprMethodCall) -> bool {
    m.args.len() == 1 && (m.method == "get_unchecked" || m.method == "get_unchecked_mut")
}

fn is_upper_ident(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_uppercase()) && !s.chars().any(|c| c.is_ascii_lowercase())
}

impl FnWalker {
    fn lookup(&self, name: &str) -> Option<&Local> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    /// Binds `name` in the innermost scope (replacing a binding of the same name there).
    fn insert_local(&mut self, name: String, local: Local) {
        if let Some(scope) = self.scopes.last_mut() {
            match scope.locals.iter_mut().find(|(n, _)| *n == name) {
                Some((_, l)) => *l = local,
                None => scope.locals.push((name, local)),
            }
        }
    }

    fn scope_region(&self) -> Region {
        self.scopes.last().map(|s| s.region).unwrap_or_default()
    }

    fn lookup_mut(&mut self, name: &str) -> Option<&mut Local> {
        self.scopes.iter_mut().rev().find_map(|s| s.get_mut(name))
    }

    fn guard_deps(&self) -> Deps {
        union_all(&self.guards)
    }

    /// Normalizes a receiver/target expression to a place, without recording events.
    fn place_of(&self, e: &Expr) -> Option<Place> {
        let mut text = String::new();
        let root = self.place_into(e, &mut text)?;
        Some(Place { text, root })
    }

    /// [`Self::place_of`], appending the place's text to `out` (unspecified on `None`).
    fn place_into(&self, e: &Expr, out: &mut String) -> Option<Root> {
        let e = strip_place_wrappers(e);
        match e {
            Expr::Field(f) => {
                let root = self.place_into(&f.base, out)?;
                out.push('.');
                push_member(&f.member, out);
                Some(root)
            }
            Expr::Index(i) => {
                let root = self.place_into(&i.expr, out)?;
                out.push_str("[]");
                Some(root)
            }
            Expr::Path(p) if p.qself.is_none() => {
                let segs = &p.path.segments;
                if segs.len() != 1 {
                    push_path(&p.path, out);
                    return Some(Root::Static);
                }
                let ident = &segs[0].ident;
                if ident == "self" {
                    out.push_str("self");
                    return Some(Root::SelfValue);
                }
                let name = ident.to_string();
                if let Some(local) = self.lookup(&name) {
                    if let Some(alias) = &local.alias {
                        out.push_str(&alias.text);
                        return Some(alias.root.clone());
                    }
                    out.push_str(&name);
                    return Some(Root::Local {
                        init: local.init.clone(),
                        ty: local.ty.clone(),
                    });
                }
                out.push_str(&name);
                if self.params.contains(&name) {
                    return Some(Root::Param);
                }
                Some(if is_upper_ident(&name) {
                    Root::Static
                } else {
                    // Captured from an enclosing scope we do not see: unknown origin.
                    Root::Local {
                        init: None,
                        ty: None,
                    }
                })
            }
            Expr::MethodCall(m) if m.args.is_empty() && is_handle_method(&m.method) => {
                self.place_into(&m.receiver, out)
            }
            Expr::MethodCall(m) if is_unchecked_index(m) => {
                let root = self.place_into(&m.receiver, out)?;
                out.push_str("[]");
                Some(root)
            }
            Expr::Call(c) if c.args.len() == 1 => match &*c.func {
                Expr::Path(p) => {
                    let t = path_text(&p.path);
                    if t.ends_with("Arc::clone") || t.ends_with("Rc::clone") {
                        self.place_into(&c.args[0], out)
                    } else {
                        None
                    }
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether `let x = e` makes `x` another name for the place `e` (a reference or a clone of
    /// a shared handle), rather than a copy of its value.
    fn alias_of(&self, e: &Expr) -> Option<Place> {
        let e = match e {
            Expr::Unsafe(u) => unsafe_tail(&u.block).unwrap_or(e),
            _ => e,
        };
        let is_aliasing = match e {
            Expr::Reference(_) => true,
            Expr::MethodCall(m) => {
                (m.args.is_empty() && is_handle_method(&m.method)) || is_unchecked_index(m)
            }
            Expr::Call(_) => true,
            _ => false,
        };
        if !is_aliasing {
            return None;
        }
        let p = self.place_of(e)?;
        // `let x = &y` where y is a plain local: keep y's own identity.
        Some(p)
    }

    fn bind(
        &mut self,
        pat: &Pat,
        deps: &Deps,
        ty: Option<String>,
        init: Option<String>,
        alias: Option<Place>,
    ) {
        match pat {
            Pat::Ident(i) => {
                let name = i.ident.to_string();
                self.bindings.push(Binding {
                    name: name.clone(),
                    region: region(i.ident.span()),
                    deps: deps.clone(),
                    ty: ty.clone(),
                    init: self.bind_init,
                    scope: self.scope_region(),
                    str_value: self.bind_str.clone(),
                    field: self.bind_field.clone(),
                    field_of: None,
                });
                self.insert_local(
                    name,
                    Local {
                        deps: deps.clone(),
                        alias,
                        init,
                        ty,
                        fields: Vec::new(),
                    },
                );
                if let Some((_, sub)) = &i.subpat {
                    self.bind(sub, deps, None, None, None);
                }
            }
            Pat::Type(t) => {
                let ty = Some(type_text(&t.ty));
                self.bind(&t.pat, deps, ty, init, alias);
            }
            Pat::Reference(r) => self.bind(&r.pat, deps, ty, init, alias),
            Pat::Paren(p) => self.bind(&p.pat, deps, ty, init, alias),
            other => {
                let mut collect = Vec::new();
                collect_pat_idents(other, &mut collect);
                let fields = pat_field_idents(other);
                for (name, span) in collect {
                    let field_of = fields
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, f)| f.clone());
                    self.bindings.push(Binding {
                        name: name.clone(),
                        region: region(span),
                        deps: deps.clone(),
                        ty: None,
                        init: self.bind_init,
                        scope: self.scope_region(),
                        str_value: None,
                        field: None,
                        field_of,
                    });
                    self.insert_local(
                        name,
                        Local {
                            deps: deps.clone(),
                            ..Local::default()
                        },
                    );
                }
            }
        }
    }

    /// A block is a scope; guards pushed by its statements (early exits, `let … else`) last
    /// until its end.
    fn block(&mut self, b: &Block) -> Deps {
        self.with_scope(span::block(b), |w| {
            let guard_len = w.guards.len();
            let mut last = Deps::new();
            let n = b.stmts.len();
            for (i, stmt) in b.stmts.iter().enumerate() {
                last = w.stmt(stmt, i + 1 == n);
                w.rest_case(stmt, b);
            }
            w.guards.truncate(guard_len);
            last
        })
    }

    /// Returns the deps of the statement's value (only meaningful for a tail expression).
    fn stmt(&mut self, s: &Stmt, is_last: bool) -> Deps {
        match s {
            Stmt::Local(l) => {
                if self.let_tuple(l) {
                    return Deps::new();
                }
                let (deps, init_path, alias) = match &l.init {
                    Some(init) => {
                        let deps = self.expr(&init.expr);
                        let init_path = match &*init.expr {
                            Expr::Call(c) => match &*c.func {
                                Expr::Path(p) => Some(path_text(&p.path)),
                                _ => None,
                            },
                            _ => None,
                        };
                        let alias = self.alias_of(&init.expr);
                        if let Some((_, diverge)) = &init.diverge {
                            // let-else: the rest of the block runs only if the pattern matched.
                            self.expr(diverge);
                            self.guards.push(deps.clone());
                        }
                        (deps, init_path, alias)
                    }
                    None => (Deps::new(), None, None),
                };
                self.bind_init = l.init.as_ref().and_then(|i| self.event_of(&i.expr));
                self.bind_str = l.init.as_ref().and_then(|i| str_lit_value(&i.expr));
                self.bind_field = l.init.as_ref().and_then(|i| self.field_read(&i.expr));
                let built = l
                    .init
                    .as_ref()
                    .and_then(|i| shared_constructor_type(&i.expr));
                self.bind(&l.pat, &deps, built, init_path, alias);
                self.bind_init = None;
                self.bind_str = None;
                self.bind_field = None;
                if let Some(init) = &l.init {
                    self.record_local_fields(&l.pat, &init.expr);
                }
                Deps::new()
            }
            Stmt::Item(item) => {
                self.nested_items.push(item.clone());
                Deps::new()
            }
            Stmt::Expr(e, semi) => {
                let deps = self.expr(e);
                if semi.is_some() || !is_last {
                    self.mark_discarded(e);
                }
                // `if cond { return … }` guards the rest of the block.
                self.early_exit_guard(e);
                if let Expr::Macro(m) = e {
                    self.ensure_exit(&m.mac, span::expr(e));
                }
                if semi.is_some() {
                    Deps::new()
                } else {
                    deps
                }
            }
            Stmt::Macro(m) => {
                if m.mac.path.is_ident("lazy_static") || m.mac.path.is_ident("thread_local") {
                    // Statics declared in the body: item-level declarations.
                    self.nested_items.push(syn::Item::Macro(syn::ItemMacro {
                        attrs: Vec::new(),
                        ident: None,
                        mac: m.mac.clone(),
                        semi_token: m.semi_token,
                    }));
                    return Deps::new();
                }
                if let Some(stmts) = self.expansion(&m.mac).map(|t| t.into_stmts()) {
                    // Statement position: the expansion's statements run in the enclosing
                    // block (their bindings and guards live to its end).
                    self.macro_depth += 1;
                    let n = stmts.len();
                    let mut last = Deps::new();
                    for (i, s) in stmts.iter().enumerate() {
                        last = self.stmt(s, is_last && m.semi_token.is_none() && i + 1 == n);
                    }
                    self.macro_depth -= 1;
                    return if is_last && m.semi_token.is_none() {
                        last
                    } else {
                        Deps::new()
                    };
                }
                let deps = self.macro_call(&m.mac, span::stmt_macro(m));
                if let Some(last) = self.events.last_mut() {
                    if last.kind == EventKind::Macro && last.region == span::stmt_macro(m) {
                        last.value_used = false;
                    }
                }
                self.ensure_exit(&m.mac, span::stmt_macro(m));
                deps
            }
        }
    }

    /// A statement `ensure!(cond, err)` just walked (its event at `span`) is an early exit
    /// like `if !cond { return Err(err) }`: a `return` under the condition, and the rest of
    /// the block runs only when the condition held.
    fn ensure_exit(&mut self, mac: &syn::Macro, span: Region) {
        if !is_ensure_macro(mac) {
            return;
        }
        let Some(cond) = self
            .events
            .iter()
            .rev()
            .find(|ev| ev.kind == EventKind::Macro && ev.region == span)
            .and_then(|ev| ev.args.first())
            .map(|a| a.deps.clone())
        else {
            return;
        };
        self.guards.push(cond);
        self.push_exit(span, true, None);
        self.count_exit();
    }

    fn early_exit_guard(&mut self, e: &Expr) {
        if let Expr::If(i) = e {
            let then_div = block_diverges(&i.then_branch);
            let else_div = i
                .else_branch
                .as_ref()
                .is_some_and(|(_, e)| expr_diverges(e));
            if then_div != else_div || (then_div && i.else_branch.is_none()) {
                let deps = self.cond_deps_no_events(&i.cond);
                self.guards.push(deps);
            }
        }
    }

    /// Deps of a condition already evaluated: find the events recorded inside its span.
    /// An already evaluated expression as an [`Operand`] with the given deps.
    fn operand(&self, e: &Expr, deps: Deps) -> Operand {
        Operand {
            region: span::expr(e),
            text: expr_text(e),
            deps,
            place: self.place_of(e),
            fields: self.field_reads(e),
        }
    }

    /// The outermost field-access chains read in `e`, not looking into closures or async
    /// blocks (see [`Arg::fields`]).
    fn field_reads(&self, e: &Expr) -> Vec<Place> {
        struct V<'w> {
            w: &'w FnWalker,
            out: Vec<Place>,
        }
        impl<'ast> Visit<'ast> for V<'_> {
            fn visit_expr(&mut self, e: &'ast Expr) {
                match e {
                    Expr::Field(f) => {
                        let place = self.w.place_of(e).unwrap_or_else(|| Place {
                            text: expr_text(e),
                            root: Root::Temporary,
                        });
                        self.out.push(place);
                        let mut base = &*f.base;
                        while let Expr::Field(inner) = base {
                            base = &inner.base;
                        }
                        self.visit_expr(base);
                    }
                    Expr::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
                        let name = p.path.segments[0].ident.to_string();
                        if let Some(l) = self.w.lookup(&name) {
                            self.out.extend(l.fields.iter().cloned());
                        }
                    }
                    Expr::Closure(_) | Expr::Async(_) => {}
                    _ => syn::visit::visit_expr(self, e),
                }
            }
        }
        let mut v = V {
            w: self,
            out: Vec::new(),
        };
        v.visit_expr(e);
        v.out
    }

    /// `let name = init;` (a plain name, possibly typed): remembers the field reads of `init`.
    /// `let (a, b) = (x, y);`: each element is bound to its own value, so a reading in `x`
    /// does not flow into `b`. Returns `false` (nothing walked) for any other `let`.
    fn let_tuple(&mut self, l: &syn::Local) -> bool {
        let (Pat::Tuple(pt), Some(init)) = (&l.pat, &l.init) else {
            return false;
        };
        let Expr::Tuple(et) = &*init.expr else {
            return false;
        };
        if init.diverge.is_some()
            || pt.elems.len() != et.elems.len()
            || pt.elems.iter().any(|p| matches!(p, Pat::Rest(_)))
        {
            return false;
        }
        let values: Vec<(Deps, Option<EventId>, Option<Place>)> = et
            .elems
            .iter()
            .map(|e| (self.expr(e), self.event_of(e), self.field_read(e)))
            .collect();
        for (p, (deps, init, field)) in pt.elems.iter().zip(values) {
            self.bind_init = init;
            self.bind_field = field;
            self.bind(p, &deps, None, None, None);
        }
        self.bind_init = None;
        self.bind_field = None;
        true
    }

    /// The expression as a field read (`row.id`, `&row.id`, `row.id.clone()`, `(row.0)`).
    fn field_read(&self, e: &Expr) -> Option<Place> {
        match e {
            Expr::Paren(p) => self.field_read(&p.expr),
            Expr::Reference(r) => self.field_read(&r.expr),
            Expr::MethodCall(m) if m.method == "clone" && m.args.is_empty() => {
                self.field_read(&m.receiver)
            }
            Expr::Field(_) => self.place_of(e).filter(|p| !p.text.ends_with("[]")),
            _ => None,
        }
    }

    /// `V(x)` (`Some(x)`, `Ok(x)`, `ExpiresAt(x)`, nested) matched against a local carrying
    /// `fields`: `x` is the whole payload, so it carries them too (a stamp stays a stamp).
    fn payload_fields(&mut self, pat: &Pat, fields: Option<Vec<Place>>) {
        let Some(fields) = fields.filter(|f| !f.is_empty()) else {
            return;
        };
        let mut p = pat;
        loop {
            match p {
                Pat::TupleStruct(ts) if ts.elems.len() == 1 => p = &ts.elems[0],
                Pat::Ident(i) if i.subpat.is_none() && !std::ptr::eq(p, pat) => {
                    if let Some(l) = self.lookup_mut(&i.ident.to_string()) {
                        l.fields = fields;
                    }
                    return;
                }
                _ => return,
            }
        }
    }

    /// The field reads a plain local carries ([`Self::record_local_fields`]).
    fn local_fields_of(&self, e: &Expr) -> Option<Vec<Place>> {
        let Expr::Path(p) = e else { return None };
        let name = p.path.get_ident()?.to_string();
        self.lookup(&name).map(|l| l.fields.clone())
    }

    fn record_local_fields(&mut self, pat: &Pat, init: &Expr) {
        if let (Pat::Tuple(pt), Expr::Block(b)) = (pat, init) {
            // `let (v, exp) = { let n = node.borrow(); (n.value.clone(), n.expires_at) };`:
            // each name carries the field reads of its own element of the block's tail tuple.
            if let Some(Stmt::Expr(Expr::Tuple(t), None)) = b.block.stmts.last() {
                if t.elems.len() == pt.elems.len() {
                    for (p, e) in pt.elems.iter().zip(&t.elems) {
                        if let Pat::Ident(i) = p {
                            let mut fields = self.field_reads(e);
                            fields.truncate(16);
                            if let Some(l) = self.lookup_mut(&i.ident.to_string()) {
                                l.fields = fields;
                            }
                        }
                    }
                }
            }
            return;
        }
        let ident = match pat {
            Pat::Ident(i) if i.subpat.is_none() => &i.ident,
            Pat::Type(t) => match &*t.pat {
                Pat::Ident(i) if i.subpat.is_none() => &i.ident,
                _ => return,
            },
            _ => return,
        };
        let mut fields = self.field_reads(init);
        fields.truncate(16);
        if let Some(l) = self.lookup_mut(&ident.to_string()) {
            l.fields = fields;
        }
    }

    fn cond_deps_no_events(&self, cond: &Expr) -> Deps {
        let r = span::expr(cond);
        let mut deps = Deps::new();
        for ev in &self.events {
            if region_within(&ev.region, &r) {
                deps.insert(ev.id);
                deps.union_with(&ev.data_deps);
                deps.union_with(&ev.receiver_deps);
            }
        }
        // Locals read by the condition.
        let mut names = Vec::new();
        expr_idents(cond, &mut names);
        for n in names {
            if let Some(l) = self.lookup(&n) {
                deps.union_with(&l.deps);
            }
        }
        deps
    }

    fn mark_discarded(&mut self, e: &Expr) {
        let mut inner = e;
        while let Expr::Await(a) = inner {
            inner = &a.base;
        }
        if matches!(inner, Expr::MethodCall(_) | Expr::Call(_) | Expr::Macro(_)) {
            let r = span::expr(inner);
            if let Some(ev) = self.events.iter_mut().rev().find(|ev| ev.region == r) {
                ev.value_used = false;
            }
        }
    }

    /// Records an event under the current guards, loops and closure depth; returns its id and
    /// its `data_deps` (the union of its arguments' deps).
    fn push_event(&mut self, new: NewEvent) -> (EventId, Deps) {
        let id = self.events.len();
        let data_deps = union_all(new.args.iter().map(|a| &a.deps));
        self.events.push(Event {
            id,
            kind: new.kind,
            name: new.name,
            region: new.region,
            name_region: new.name_region,
            receiver: new.receiver,
            receiver_region: new.receiver_region,
            receiver_deps: new.receiver_deps,
            args: new.args,
            data_deps: data_deps.clone(),
            control_deps: self.guard_deps(),
            loops: self.loop_stack.clone(),
            closure_depth: self.closure_depth,
            value_used: true,
            awaited: false,
        });
        (id, data_deps)
    }

    fn arg(&mut self, e: &Expr) -> Arg {
        let deps = self.expr(e);
        let stripped = strip_place_wrappers(e);
        let ordering = match stripped {
            Expr::Path(p) => p
                .path
                .segments
                .last()
                .and_then(|s| MemOrdering::from_ident(&s.ident.to_string())),
            _ => None,
        };
        let (str_lit, int_lit) = match stripped {
            Expr::Lit(l) => match &l.lit {
                syn::Lit::Str(s) => (Some(s.value()), None),
                syn::Lit::Int(i) => (None, i.base10_parse::<u128>().ok()),
                _ => (None, None),
            },
            _ => (None, None),
        };
        Arg {
            region: span::expr(e),
            deps,
            ordering,
            str_lit,
            int_lit,
            place: self.place_of(e),
            text: expr_text(e),
            fields: match stripped {
                Expr::Closure(c) => self.field_reads(&c.body),
                other => self.field_reads(other),
            },
            tuple_elems: match stripped {
                Expr::Tuple(t) => t
                    .elems
                    .iter()
                    .map(|el| {
                        let d = self.cond_deps_no_events(el);
                        self.operand(el, d)
                    })
                    .collect(),
                _ => Vec::new(),
            },
        }
    }

    /// The parsed expansion of a local macro invocation ([`super::macros`]), within the
    /// depth and count limits; `None` for any other macro or an expansion that does not parse.
    fn expansion(&mut self, mac: &syn::Macro) -> Option<Expansion> {
        if self.macros.is_empty()
            || self.macro_depth >= MAX_MACRO_DEPTH
            || self.expansions >= MAX_EXPANSIONS
        {
            return None;
        }
        let tokens = self.macros.expand(mac)?;
        let site = span::macro_invocation(mac);
        if !self.expansion_regions.contains(&site) {
            self.expansion_regions.push(site);
        }
        let parsed = match syn::parse2::<Expr>(tokens.clone()) {
            Ok(e) => Expansion::Expr(Box::new(e)),
            Err(_) => Expansion::Stmts(Block::parse_within.parse2(tokens).ok()?),
        };
        self.expansions += 1;
        Some(parsed)
    }

    /// A macro call in expression position: a local macro's expansion walked in its place
    /// (statements as a block), else a [`EventKind::Macro`] event with the arguments it parses.
    fn macro_call(&mut self, mac: &syn::Macro, span: Region) -> Deps {
        if let Some(expansion) = self.expansion(mac) {
            self.macro_depth += 1;
            let out = match expansion {
                Expansion::Expr(e) => self.expr(&e),
                Expansion::Stmts(stmts) => {
                    let block = Block {
                        brace_token: syn::token::Brace::default(),
                        stmts,
                    };
                    self.with_scope(span, |w| {
                        let n = block.stmts.len();
                        let mut last = Deps::new();
                        for (i, s) in block.stmts.iter().enumerate() {
                            last = w.stmt(s, i + 1 == n);
                        }
                        last
                    })
                }
            };
            self.macro_depth -= 1;
            return out;
        }
        self.macro_call_event(mac, span)
    }

    fn macro_call_event(&mut self, mac: &syn::Macro, span: Region) -> Deps {
        let name = path_text(&mac.path);
        // Comma-separated expressions; when the tail is something else (`matches!(x, Pat)`,
        // `write!(f, ..)` with odd tails, DSLs) only the leading expression. One pass over the
        // tokens: the tail is tried on a fork.
        let parsed: Option<Vec<Expr>> = simple_macro_args(&mac.tokens).or_else(|| {
            mac.parse_body_with(|input: syn::parse::ParseStream| {
                if input.is_empty() {
                    return Ok(Vec::new());
                }
                let mut out = vec![input.parse::<Expr>()?];
                let fork = input.fork();
                let tail = (|| -> syn::Result<Vec<Expr>> {
                    let mut tail = Vec::new();
                    while !fork.is_empty() {
                        fork.parse::<syn::Token![,]>()?;
                        if fork.is_empty() {
                            break;
                        }
                        tail.push(fork.parse::<Expr>()?);
                    }
                    Ok(tail)
                })();
                match tail {
                    Ok(tail) => {
                        input.advance_to(&fork);
                        out.extend(tail);
                    }
                    Err(_) => {
                        let _: TokenStream = input.parse()?;
                    }
                }
                Ok(out)
            })
            .ok()
        });
        let args: Vec<Arg> = parsed
            .unwrap_or_default()
            .iter()
            .map(|e| self.arg(e))
            .collect();
        let (id, mut out) = self.push_event(NewEvent {
            kind: EventKind::Macro,
            name,
            region: span,
            name_region: region(mac.path.span()),
            receiver: None,
            receiver_region: None,
            receiver_deps: Deps::new(),
            args,
        });
        out.insert(id);
        out
    }

    fn with_loop<F: FnOnce(&mut Self)>(
        &mut self,
        kind: LoopKind,
        span: Region,
        header: Option<&Expr>,
        header_deps: Deps,
        f: F,
    ) {
        let idx = self.loops.len();
        self.loops.push(LoopInfo {
            kind,
            region: span,
            header_deps,
            header_region: header.map(span::expr),
            header_text: header.map(expr_text).unwrap_or_default(),
            exits: 0,
            exit_deps: Deps::new(),
        });
        self.loop_stack.push(idx);
        f(self);
        self.loop_stack.pop();
    }

    fn expr(&mut self, e: &Expr) -> Deps {
        if self.depth >= MAX_DEPTH {
            return Deps::new();
        }
        self.depth += 1;
        let out = self.expr_inner(e);
        self.depth -= 1;
        out
    }

    /// Walks one expression; returns the events its value depends on. A dispatcher: each
    /// shape with more to it than its children has its own `expr_*` method.
    fn expr_inner(&mut self, e: &Expr) -> Deps {
        match e {
            Expr::MethodCall(m) => self.expr_method_call(e, m),
            Expr::Call(c) => self.expr_call(e, c),
            Expr::Macro(m) => self.macro_call(&m.mac, span::expr(e)),
            Expr::Assign(a) => self.expr_assign(e, &a.left, &a.right, None),
            Expr::Binary(b) if is_compound_assign(&b.op) => {
                let op = tokens_text(b.op.to_token_stream());
                self.expr_assign(e, &b.left, &b.right, Some(op))
            }
            Expr::Binary(b) => self.expr_binary(e, b),
            Expr::If(i) => self.expr_if(e, i),
            Expr::Match(m) => self.expr_match(e, m),
            Expr::While(w) => self.expr_while(e, w),
            Expr::Loop(l) => self.expr_loop(e, l),
            Expr::ForLoop(f) => self.expr_for(e, f),
            Expr::Block(b) => self.block(&b.block),
            Expr::Unsafe(b) => self.block(&b.block),
            Expr::Const(b) => self.block(&b.block),
            Expr::TryBlock(b) => self.block(&b.block),
            Expr::Async(a) => self.in_closure(|w| w.block(&a.block)),
            Expr::Closure(c) => self.expr_closure(e, c),
            Expr::Field(f) => self.expr(&f.base),
            Expr::Index(i) => {
                let a = self.expr(&i.expr);
                let b = self.expr(&i.index);
                union(a, b)
            }
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Reference(r) => self.expr(&r.expr),
            Expr::Unary(u) => self.expr_unary(e, u),
            Expr::Cast(c) => self.expr(&c.expr),
            Expr::Try(t) => self.expr(&t.expr),
            Expr::Await(a) => self.expr_await(a),
            Expr::Path(p) => {
                if p.qself.is_none() && p.path.segments.len() == 1 {
                    let name = p.path.segments[0].ident.to_string();
                    if let Some(l) = self.lookup(&name) {
                        return l.deps.clone();
                    }
                }
                Deps::new()
            }
            Expr::Struct(s) => self.expr_struct(s),
            Expr::Tuple(t) => self.exprs(t.elems.iter()),
            Expr::Array(a) => self.exprs(a.elems.iter()),
            Expr::Repeat(r) => self.expr(&r.expr),
            Expr::Range(r) => self.exprs(r.start.iter().chain(&r.end).map(|b| &**b)),
            Expr::Return(r) => {
                if let Some(v) = &r.expr {
                    let d = self.expr(v);
                    self.returns.union_with(&d);
                }
                self.push_exit(span::expr(e), true, None);
                self.count_exit();
                Deps::new()
            }
            Expr::Break(b) => {
                let d = match &b.expr {
                    Some(v) => self.expr(v),
                    None => Deps::new(),
                };
                let label = b.label.as_ref().map(|l| l.ident.to_string());
                self.push_exit(span::expr(e), false, label);
                self.count_exit();
                d
            }
            Expr::Continue(c) => {
                let label = c.label.as_ref().map(|l| l.ident.to_string());
                let exit = self.exit_here(span::expr(e), false, label);
                self.continues.push(exit);
                Deps::new()
            }
            Expr::Let(l) => {
                let d = self.expr(&l.expr);
                self.bind_init = self.event_of(&l.expr);
                self.bind(&l.pat, &d, None, None, None);
                self.bind_init = None;
                d
            }
            Expr::Yield(y) => match &y.expr {
                Some(v) => self.expr(v),
                None => Deps::new(),
            },
            _ => Deps::new(),
        }
    }

    /// Runs `f` in a new scope over `region` (for [`Binding::scope`]); its bindings end with it.
    fn with_scope<R>(&mut self, region: Region, f: impl FnOnce(&mut Self) -> R) -> R {
        self.scopes.push(Scope {
            region,
            locals: Vec::new(),
        });
        let out = f(self);
        self.scopes.pop();
        out
    }

    /// Runs `f` with `deps` deciding whether its events run (a branch condition).
    fn with_guard<R>(&mut self, deps: Deps, f: impl FnOnce(&mut Self) -> R) -> R {
        self.guards.push(deps);
        let out = f(self);
        self.guards.pop();
        out
    }

    /// Runs `f` one closure (or async block) level deeper.
    fn in_closure<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        self.closure_depth += 1;
        let out = f(self);
        self.closure_depth -= 1;
        out
    }

    fn expr_method_call(&mut self, e: &Expr, m: &syn::ExprMethodCall) -> Deps {
        let recv_deps = self.expr(&m.receiver);
        let one_closure = m.args.len() == 1 && matches!(m.args[0], Expr::Closure(_));
        let elem = if one_closure && ELEMENT_ADAPTERS.iter().any(|a| m.method == a) {
            self.element_place(&m.receiver)
        } else if one_closure && m.method == "with" {
            self.thread_local_place(&m.receiver)
        } else {
            None
        };
        let args: Vec<Arg> = m
            .args
            .iter()
            .map(|a| {
                self.closure_elem = elem.clone();
                let arg = self.arg(a);
                self.closure_elem = None;
                arg
            })
            .collect();
        let receiver = self.place_of(&m.receiver);
        let (id, arg_deps) = self.push_event(NewEvent {
            kind: EventKind::MethodCall,
            name: m.method.to_string(),
            region: span::expr(e),
            name_region: region(m.method.span()),
            receiver,
            receiver_region: Some(span::expr(&m.receiver)),
            receiver_deps: recv_deps.clone(),
            args,
        });
        let mut out = union(recv_deps, arg_deps);
        out.insert(id);
        out
    }

    fn expr_call(&mut self, e: &Expr, c: &syn::ExprCall) -> Deps {
        let (name, func_deps, name_region) = match &*c.func {
            Expr::Path(p) => (
                path_text(&p.path),
                // Calling a local closure: its result carries what it captured.
                self.expr(&c.func),
                p.path
                    .segments
                    .last()
                    .map(|s| region(s.ident.span()))
                    .unwrap_or_else(|| span::expr(&c.func)),
            ),
            other => (expr_text(other), self.expr(other), span::expr(other)),
        };
        let args: Vec<Arg> = c.args.iter().map(|a| self.arg(a)).collect();
        let (id, arg_deps) = self.push_event(NewEvent {
            kind: EventKind::Call,
            name,
            region: span::expr(e),
            name_region,
            receiver: None,
            receiver_region: None,
            receiver_deps: func_deps.clone(),
            args,
        });
        let mut out = union(func_deps, arg_deps);
        out.insert(id);
        out
    }

    /// `left = right` (`op` `None`) or `left op= right`: the value first, then the target (whose
    /// dereferences are writes).
    fn expr_assign(&mut self, e: &Expr, left: &Expr, right: &Expr, op: Option<String>) -> Deps {
        let value = self.arg(right);
        let n_derefs = self.derefs.len();
        let target_deps = self.expr(left);
        self.derefs[n_derefs..]
            .iter_mut()
            .for_each(|d| d.is_write = true);
        self.assign(left, value, target_deps, op, span::expr(e));
        Deps::new()
    }

    fn expr_binary(&mut self, e: &Expr, b: &syn::ExprBinary) -> Deps {
        let l = self.expr(&b.left);
        let r = self.expr(&b.right);
        if let Some(op) = ordering_op(&b.op) {
            let lhs = self.operand(&b.left, l.clone());
            let rhs = self.operand(&b.right, r.clone());
            self.comparisons.push(Comparison {
                op: op.to_string(),
                region: span::expr(e),
                lhs,
                rhs,
                after: self.events.len(),
                closure_depth: self.closure_depth,
            });
        }
        union(l, r)
    }

    /// `if`: the condition guards both branches; locals join after them.
    fn expr_if(&mut self, e: &Expr, i: &syn::ExprIf) -> Deps {
        let before = self.snapshot();
        let (c, t) = self.with_scope(span::expr(e), |w| {
            let c = w.cond(&i.cond);
            if let Expr::Let(l) = &*i.cond {
                w.scrutinees.push(Scrutinee {
                    kind: ScrutineeKind::IfLet,
                    expr: span::expr(&l.expr),
                    whole: span::expr(e),
                    then: span::block(&i.then_branch),
                });
                w.push_case(&l.pat, &c, span::block(&i.then_branch), false);
                if let Some((_, els)) = &i.else_branch {
                    w.push_case(&l.pat, &c, span::expr(els), true);
                }
            }
            let t = w.with_guard(c.clone(), |w| w.block(&i.then_branch));
            (c, t)
        });
        let mut out = union(c.clone(), t);
        if let Some((_, els)) = &i.else_branch {
            let after_then = self.snapshot();
            self.restore(&before, false);
            let e2 = self.with_guard(c, |w| w.expr(els));
            out.union_with(&e2);
            self.restore(&after_then, true);
        } else {
            self.restore(&before, true);
        }
        out
    }

    /// `match`: every arm starts from the state before it and runs under the scrutinee (and its
    /// guard); locals join after the match.
    fn expr_match(&mut self, e: &Expr, m: &syn::ExprMatch) -> Deps {
        self.scrutinees.push(Scrutinee {
            kind: ScrutineeKind::Match,
            expr: span::expr(&m.expr),
            whole: span::expr(e),
            then: span::expr(e),
        });
        let s = self.expr(&m.expr);
        let mut out = s.clone();
        let mut any_diverges = false;
        let scrutinee = self.event_of(&m.expr);
        let before = self.snapshot();
        let mut arm_states = Vec::new();
        for arm in &m.arms {
            self.restore(&before, false);
            let body = self.with_scope(span::arm(arm), |w| {
                w.bind_init = scrutinee;
                // (Read before binding: the arm may shadow the scrutinee's name.)
                let payload = w.local_fields_of(&m.expr);
                w.bind(&arm.pat, &s, None, None, None);
                w.bind_init = None;
                w.payload_fields(&arm.pat, payload);
                let mut g = s.clone();
                if let Some((_, guard)) = &arm.guard {
                    g.union_with(&w.expr(guard));
                }
                w.push_case(&arm.pat, &s, span::expr(&arm.body), false);
                w.with_guard(g, |w| w.expr(&arm.body))
            });
            out.union_with(&body);
            any_diverges |= expr_diverges(&arm.body);
            arm_states.push(self.snapshot());
        }
        // Join: a local after the match carries what any arm assigned to it.
        for (i, st) in arm_states.iter().enumerate() {
            self.restore(st, i > 0);
        }
        if any_diverges {
            // The code after the match runs only for the non-diverging arms.
            self.guards.push(s);
        }
        out
    }

    fn expr_while(&mut self, e: &Expr, w: &syn::ExprWhile) -> Deps {
        self.with_scope(span::expr(e), |this| {
            let h = this.cond(&w.cond);
            if let Expr::Let(l) = &*w.cond {
                this.scrutinees.push(Scrutinee {
                    kind: ScrutineeKind::WhileLet,
                    expr: span::expr(&l.expr),
                    whole: span::expr(e),
                    then: span::block(&w.body),
                });
                this.push_case(&l.pat, &h, span::block(&w.body), false);
            }
            let before = this.snapshot();
            this.with_loop(
                LoopKind::While,
                span::expr(e),
                Some(&w.cond),
                h.clone(),
                |this| {
                    this.with_guard(h, |this| this.block(&w.body));
                },
            );
            this.restore(&before, true);
        });
        Deps::new()
    }

    fn expr_loop(&mut self, e: &Expr, l: &syn::ExprLoop) -> Deps {
        let mut out = Deps::new();
        let before = self.snapshot();
        self.with_loop(LoopKind::Loop, span::expr(e), None, Deps::new(), |this| {
            out = this.block(&l.body);
        });
        self.restore(&before, true);
        out
    }

    /// The element place of an iteration over a place: `X.iter()`, `X.iter_mut()`,
    /// `X.values()`, `&X`, `&mut X` or `X` itself → `X[]` (a loop variable or an iterator
    /// closure's parameter stands for one element of `X`); `X.upgrade()` too, a `Weak`'s
    /// pointee (`self.0.upgrade().map(|s| ..)`: `s` is what `X` points to).
    fn element_place(&self, e: &Expr) -> Option<Place> {
        let base = match strip_place_wrappers(e) {
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && ["iter", "iter_mut", "values", "values_mut", "upgrade"]
                        .iter()
                        .any(|n| m.method == n) =>
            {
                &*m.receiver
            }
            other => other,
        };
        if !matches!(strip_place_wrappers(base), Expr::Field(_) | Expr::Path(_)) {
            return None;
        }
        let mut p = self.place_of(base)?;
        p.text.push_str("[]");
        Some(p)
    }

    /// The place a `thread_local!` key's `with` closure parameter stands for: the static
    /// itself (`STATE.with(|s| s.lock())` locks `STATE`'s value, the same one on every call
    /// from this thread). Only a path that names a static (`STATE`, `self::STATE`).
    fn thread_local_place(&self, e: &Expr) -> Option<Place> {
        if !matches!(strip_place_wrappers(e), Expr::Path(_)) {
            return None;
        }
        self.place_of(e).filter(|p| p.root == Root::Static)
    }

    fn expr_for(&mut self, e: &Expr, f: &syn::ExprForLoop) -> Deps {
        self.scrutinees.push(Scrutinee {
            kind: ScrutineeKind::ForIterable,
            expr: span::expr(&f.expr),
            whole: span::expr(e),
            then: span::block(&f.body),
        });
        let it = self.expr(&f.expr);
        let elem = self.element_place(&f.expr);
        self.with_scope(span::expr(e), |this| {
            this.bind(&f.pat, &it, None, None, elem);
            let before = this.snapshot();
            this.with_loop(LoopKind::For, span::expr(e), Some(&f.expr), it, |this| {
                this.block(&f.body);
            });
            this.restore(&before, true);
        });
        Deps::new()
    }

    fn expr_closure(&mut self, e: &Expr, c: &syn::ExprClosure) -> Deps {
        self.in_closure(|w| {
            w.with_scope(span::expr(e), |w| {
                // Closures run later, possibly many times, possibly on another thread: their
                // parameters carry nothing, and their loops are not the enclosing function's.
                let saved_loops = std::mem::take(&mut w.loop_stack);
                let mut elem = w.closure_elem.take();
                for input in &c.inputs {
                    w.bind(input, &Deps::new(), None, None, elem.take());
                }
                let d = w.expr(&c.body);
                w.loop_stack = saved_loops;
                d
            })
        })
    }

    /// `*e` records a [`Deref`]; `!e` and `-e` only pass their operand's deps on.
    fn expr_unary(&mut self, e: &Expr, u: &syn::ExprUnary) -> Deps {
        let d = self.expr(&u.expr);
        if matches!(u.op, syn::UnOp::Deref(_)) {
            self.derefs.push(Deref {
                region: span::expr(e),
                deps: d.clone(),
                after: self.events.len(),
                control_deps: self.guard_deps(),
                loops: self.loop_stack.clone(),
                closure_depth: self.closure_depth,
                is_write: false,
            });
        }
        d
    }

    fn expr_await(&mut self, a: &syn::ExprAwait) -> Deps {
        let d = self.expr(&a.base);
        let r = span::expr(&a.base);
        if let Some(ev) = self.events.iter_mut().rev().find(|ev| ev.region == r) {
            ev.awaited = true;
        }
        d
    }

    /// A struct literal records a [`FieldInit`] per field.
    fn expr_struct(&mut self, s: &syn::ExprStruct) -> Deps {
        let strukt = s
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let mut out = Deps::new();
        for f in &s.fields {
            let d = self.expr(&f.expr);
            let mut field = String::new();
            push_member(&f.member, &mut field);
            self.field_inits.push(FieldInit {
                strukt: strukt.clone(),
                field,
                region: span::field_value(f),
                deps: d.clone(),
                text: expr_text(&f.expr),
                field_read: self.field_read(&f.expr),
            });
            out.union_with(&d);
        }
        if let Some(rest) = &s.rest {
            out.union_with(&self.expr(rest));
        }
        out
    }

    /// The event recorded for `e` itself (a call, method call or macro), looking through
    /// parentheses, `?` and `.await`.
    fn event_of(&self, mut e: &Expr) -> Option<EventId> {
        loop {
            match e {
                Expr::Paren(p) => e = &p.expr,
                Expr::Group(g) => e = &g.expr,
                Expr::Try(t) => e = &t.expr,
                Expr::Await(a) => e = &a.base,
                Expr::Match(m) if unwraps_by_hand(m) => e = &m.expr,
                Expr::MethodCall(_) | Expr::Call(_) | Expr::Macro(_) => break,
                _ => return None,
            }
        }
        let r = span::expr(e);
        self.events
            .iter()
            .rev()
            .find(|ev| ev.region == r)
            .map(|ev| ev.id)
    }

    /// Records a [`Case`] for `body`, run when `pat` matched (or, `negated`, did not).
    fn push_case(&mut self, pat: &Pat, scrutinee: &Deps, body: Region, negated: bool) {
        self.cases.push(Case {
            region: body,
            scrutinee: scrutinee.clone(),
            pattern: pat_head(pat),
            negated,
        });
    }

    fn push_exit(&mut self, span: Region, is_return: bool, label: Option<String>) {
        let exit = self.exit_here(span, is_return, label);
        self.exits.push(exit);
    }

    fn exit_here(&self, span: Region, is_return: bool, label: Option<String>) -> Exit {
        Exit {
            region: span,
            is_return,
            label,
            loops: self.loop_stack.clone(),
            control_deps: self.guard_deps(),
            closure_depth: self.closure_depth,
        }
    }

    /// After `if let P = x { return }` or a `match` some of whose arms leave the block, the
    /// rest of block `b` runs only under the other patterns: record that as a [`Case`].
    fn rest_case(&mut self, stmt: &Stmt, b: &Block) {
        let e = match stmt {
            Stmt::Expr(e, _) => e,
            Stmt::Local(l) => match &l.init {
                Some(init) if init.diverge.is_none() => &*init.expr,
                _ => return,
            },
            _ => return,
        };
        let (pattern, scrutinee, negated) = match e {
            Expr::If(i) => {
                let Expr::Let(l) = &*i.cond else { return };
                let then_div = block_diverges(&i.then_branch);
                let else_div = i
                    .else_branch
                    .as_ref()
                    .is_some_and(|(_, e)| expr_diverges(e));
                if then_div == else_div {
                    return;
                }
                (
                    pat_head(&l.pat),
                    self.cond_deps_no_events(&l.expr),
                    then_div,
                )
            }
            Expr::Match(m) => {
                let staying: Vec<String> = m
                    .arms
                    .iter()
                    .filter(|a| !expr_diverges(&a.body))
                    .map(|a| pat_head(&a.pat))
                    .collect();
                if staying.is_empty() || staying.len() == m.arms.len() {
                    return;
                }
                let mut heads: Vec<String> = Vec::new();
                for h in staying.iter().flat_map(|h| h.split('|')) {
                    if !heads.iter().any(|x| x == h) {
                        heads.push(h.to_string());
                    }
                }
                (heads.join("|"), self.cond_deps_no_events(&m.expr), false)
            }
            _ => return,
        };
        let (start, end) = (span::stmt(stmt), span::block(b));
        self.cases.push(Case {
            region: Region {
                line: start.end_line,
                column: start.end_column,
                end_line: end.end_line,
                end_column: end.end_column,
            },
            scrutinee,
            pattern,
            negated,
        });
    }

    fn count_exit(&mut self) {
        if let Some(&l) = self.loop_stack.last() {
            self.loops[l].exits += 1;
            let g = self.guard_deps();
            self.loops[l].exit_deps.union_with(&g);
        }
    }

    /// Evaluates an `if`/`while` condition; `let` patterns bind into the current scope.
    fn cond(&mut self, c: &Expr) -> Deps {
        self.expr(c)
    }

    fn exprs<'a>(&mut self, it: impl Iterator<Item = &'a Expr>) -> Deps {
        let mut out = Deps::new();
        for e in it {
            out.union_with(&self.expr(e));
        }
        out
    }

    /// The deps of every visible local, scope by scope (for joins after branches and loops).
    fn snapshot(&self) -> Snapshot {
        let mut snap = Snapshot::default();
        for scope in &self.scopes {
            snap.lens.push(scope.locals.len());
            snap.deps
                .extend(scope.locals.iter().map(|(_, l)| l.deps.clone()));
        }
        snap
    }

    /// Sets (or, with `join`, adds) the locals' deps from a snapshot. Scopes opened and locals
    /// bound after the snapshot are left alone. (A scope's locals only grow, and rebinding a
    /// name replaces it in place, so a local's position stands for its name.)
    fn restore(&mut self, snap: &Snapshot, join: bool) {
        let mut start = 0;
        for (scope, &len) in self.scopes.iter_mut().zip(&snap.lens) {
            let saved = &snap.deps[start..start + len];
            start += len;
            for ((_, l), deps) in scope.locals.iter_mut().zip(saved) {
                if join {
                    l.deps.union_with(deps);
                } else {
                    l.deps.clone_from(deps);
                }
            }
        }
    }

    fn assign(
        &mut self,
        target: &Expr,
        value: Arg,
        target_deps: Deps,
        op: Option<String>,
        span: Region,
    ) {
        let place = self.place_of(target);
        // Plain local: a strong update (`x = v` replaces what `x` carried, `x op= v` adds to
        // it). Branches and loops join their states afterwards (see `snapshot`/`restore`), so
        // a conditional assignment still keeps the old value's deps after the branch.
        if let Expr::Path(p) = strip_place_wrappers(target) {
            if p.path.segments.len() == 1 {
                let name = p.path.segments[0].ident.to_string();
                let vdeps = value.deps.clone();
                let compound = op.is_some();
                if let Some(l) = self.lookup_mut(&name) {
                    if l.alias.is_none() {
                        if compound {
                            l.deps.union_with(&vdeps);
                        } else {
                            l.deps = vdeps;
                        }
                    }
                }
            }
        }
        let name = op.clone().unwrap_or_else(|| "=".to_string());
        self.push_event(NewEvent {
            kind: EventKind::Assign { op },
            name,
            region: span,
            name_region: span::expr(target),
            receiver: place,
            receiver_region: Some(span::expr(target)),
            receiver_deps: target_deps,
            args: vec![value],
        });
    }
}

/// `<`, `>`, `<=`, `>=` as written.
fn ordering_op(op: &syn::BinOp) -> Option<&'static str> {
    use syn::BinOp::*;
    Some(match op {
        Lt(_) => "<",
        Gt(_) => ">",
        Le(_) => "<=",
        Ge(_) => ">=",
        _ => return None,
    })
}

fn is_compound_assign(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitXorAssign(_)
            | BitAndAssign(_)
            | BitOrAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}

fn region_within(inner: &Region, outer: &Region) -> bool {
    (inner.line, inner.column) >= (outer.line, outer.column)
        && (inner.end_line, inner.end_column) <= (outer.end_line, outer.end_column)
}

/// The identifiers a struct, struct-variant or tuple-variant pattern binds directly to one of
/// its fields, with the pattern's path and the field (`TargetKind::Multi { ref state, .. }` →
/// `state` ↦ (`TargetKind::Multi`, `state`); `Some(x)` → `x` ↦ (`Some`, `0`)), one level deep
/// through references and parentheses.
fn pat_field_idents(p: &Pat) -> Vec<(String, (String, String))> {
    fn ident(p: &Pat) -> Option<String> {
        match p {
            Pat::Ident(i) if i.subpat.is_none() => Some(i.ident.to_string()),
            Pat::Reference(r) => ident(&r.pat),
            Pat::Paren(p) => ident(&p.pat),
            _ => None,
        }
    }
    let mut out = Vec::new();
    match p {
        Pat::Struct(s) => {
            let path = path_text(&s.path);
            for f in &s.fields {
                let member = match &f.member {
                    syn::Member::Named(n) => n.to_string(),
                    syn::Member::Unnamed(i) => i.index.to_string(),
                };
                if let Some(name) = ident(&f.pat) {
                    out.push((name, (path.clone(), member)));
                }
            }
        }
        Pat::TupleStruct(t) => {
            let path = path_text(&t.path);
            for (i, e) in t.elems.iter().enumerate() {
                if let Some(name) = ident(e) {
                    out.push((name, (path.clone(), i.to_string())));
                }
            }
        }
        Pat::Reference(r) => return pat_field_idents(&r.pat),
        Pat::Paren(p) => return pat_field_idents(&p.pat),
        _ => {}
    }
    out
}

fn collect_pat_idents(p: &Pat, out: &mut Vec<(String, Span)>) {
    match p {
        Pat::Ident(i) => {
            out.push((i.ident.to_string(), i.ident.span()));
            if let Some((_, sub)) = &i.subpat {
                collect_pat_idents(sub, out);
            }
        }
        Pat::Tuple(t) => t.elems.iter().for_each(|p| collect_pat_idents(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| collect_pat_idents(p, out)),
        Pat::Struct(s) => s
            .fields
            .iter()
            .for_each(|f| collect_pat_idents(&f.pat, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| collect_pat_idents(p, out)),
        Pat::Reference(r) => collect_pat_idents(&r.pat, out),
        Pat::Or(o) => {
            if let Some(first) = o.cases.first() {
                collect_pat_idents(first, out)
            }
        }
        Pat::Type(t) => collect_pat_idents(&t.pat, out),
        Pat::Paren(p) => collect_pat_idents(&p.pat, out),
        _ => {}
    }
}

/// Single-segment identifiers used in an expression (for condition deps).
fn expr_idents(e: &Expr, out: &mut Vec<String>) {
    struct V<'a>(&'a mut Vec<String>);
    impl<'ast> Visit<'ast> for V<'_> {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            if p.path.segments.len() == 1 {
                self.0.push(p.path.segments[0].ident.to_string());
            }
        }
    }
    V(out).visit_expr(e);
}

#[cfg(test)]
#[path = "walk_tests.rs"]
mod tests;
