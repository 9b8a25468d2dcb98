//! Source regions of syntax nodes without printing them.
//!
//! `syn::spanned::Spanned::span` prints a node back into a token stream and joins the spans of
//! its first and last tokens: linear in the node's size and allocation-heavy, so taking the span
//! of every method call, block and function of a file costs more than parsing it (a receiver
//! chain `a.b().c().d()` is even printed once per link). The functions here find the first and
//! last token by looking only at the node's edges, and fall back to `Spanned` for the rare
//! shapes they do not model (attributes on expressions, types, patterns, verbatim tokens). The
//! result is the same region `Spanned` gives; `tests::same_regions_as_spanned` checks that over
//! every expression, statement and function of the checker's own sources and fixtures (and
//! `walk::expr_text` and `walk::type_text` against `walk::tokens_text` over every expression and type).

use crate::finding::Region;
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, Stmt};

/// A region from the start of `first` to the end of `last`.
fn between(first: Span, last: Span) -> Region {
    let (s, e) = (first.start(), last.end());
    Region {
        line: s.line,
        column: s.column + 1,
        end_line: e.line,
        end_column: e.column + 1,
    }
}

/// The region of an expression (what `Region::from_span(e.span())` gives).
pub(crate) fn expr(e: &Expr) -> Region {
    match edges(e) {
        Some((first, last)) => between(first, last),
        None => Region::from_span(e.span()),
    }
}

/// The region of a block, braces included.
pub(crate) fn block(b: &syn::Block) -> Region {
    between(b.brace_token.span.open(), b.brace_token.span.close())
}

/// The region of a statement.
pub(crate) fn stmt(s: &Stmt) -> Region {
    let edges = match s {
        Stmt::Local(l) if l.attrs.is_empty() => Some((l.let_token.span, l.semi_token.span)),
        Stmt::Expr(e, semi) => edges(e).map(|(first, last)| (first, semi.map_or(last, |s| s.span))),
        Stmt::Macro(m) => return stmt_macro(m),
        _ => None,
    };
    match edges {
        Some((first, last)) => between(first, last),
        None => Region::from_span(s.span()),
    }
}

/// The region of a macro invocation in statement position.
pub(crate) fn stmt_macro(m: &syn::StmtMacro) -> Region {
    if !m.attrs.is_empty() {
        return Region::from_span(m.span());
    }
    let last = m
        .semi_token
        .map_or_else(|| delimiter_close(&m.mac.delimiter), |s| s.span);
    between(path_first(&m.mac.path), last)
}

/// The region of a macro invocation `path!( … )` itself (attributes and `;` left out).
pub(crate) fn macro_invocation(m: &syn::Macro) -> Region {
    between(path_first(&m.path), delimiter_close(&m.delimiter))
}

/// The region of a match arm (a pattern's span is cheap: patterns are small).
pub(crate) fn arm(a: &syn::Arm) -> Region {
    let last = match (&a.comma, last(&a.body)) {
        (Some(c), _) => c.spans[0],
        (None, Some(l)) => l,
        (None, None) => return Region::from_span(a.span()),
    };
    if !a.attrs.is_empty() {
        return Region::from_span(a.span());
    }
    let first = a.pat.span();
    between(first, last)
}

/// The region of `field: value` in a struct expression.
pub(crate) fn field_value(f: &syn::FieldValue) -> Region {
    let first = match &f.member {
        syn::Member::Named(i) => i.span(),
        syn::Member::Unnamed(i) => i.span,
    };
    let last = if f.colon_token.is_some() {
        last(&f.expr)
    } else {
        Some(first)
    };
    match last {
        Some(last) if f.attrs.is_empty() => between(first, last),
        _ => Region::from_span(f.span()),
    }
}

/// The region of a function item (attributes, doc comments and visibility included).
pub(crate) fn item_fn(f: &syn::ItemFn) -> Region {
    let first = outer_attr(&f.attrs)
        .or_else(|| visibility(&f.vis))
        .unwrap_or_else(|| signature_first(&f.sig));
    between(first, f.block.brace_token.span.close())
}

/// The region of a function in an `impl` block.
pub(crate) fn impl_item_fn(f: &syn::ImplItemFn) -> Region {
    let first = outer_attr(&f.attrs)
        .or_else(|| visibility(&f.vis))
        .or_else(|| f.defaultness.map(|d| d.span))
        .unwrap_or_else(|| signature_first(&f.sig));
    between(first, f.block.brace_token.span.close())
}

/// The region of a provided method of a trait.
pub(crate) fn trait_item_fn(f: &syn::TraitItemFn) -> Region {
    let first = outer_attr(&f.attrs).unwrap_or_else(|| signature_first(&f.sig));
    let last = match (&f.default, &f.semi_token) {
        (Some(b), _) => b.brace_token.span.close(),
        (None, Some(s)) => s.span,
        (None, None) => return Region::from_span(f.span()),
    };
    between(first, last)
}

fn outer_attr(attrs: &[syn::Attribute]) -> Option<Span> {
    attrs
        .iter()
        .find(|a| matches!(a.style, syn::AttrStyle::Outer))
        .map(|a| a.pound_token.span)
}

fn visibility(vis: &syn::Visibility) -> Option<Span> {
    match vis {
        syn::Visibility::Public(p) => Some(p.span),
        syn::Visibility::Restricted(r) => Some(r.pub_token.span),
        _ => None,
    }
}

fn signature_first(sig: &syn::Signature) -> Span {
    sig.constness
        .map(|t| t.span)
        .or_else(|| sig.asyncness.map(|t| t.span))
        .or_else(|| sig.unsafety.map(|t| t.span))
        .or_else(|| sig.abi.as_ref().map(|a| a.extern_token.span))
        .unwrap_or(sig.fn_token.span)
}

fn path_first(p: &syn::Path) -> Span {
    match (&p.leading_colon, p.segments.first()) {
        (Some(c), _) => c.spans[0],
        (None, Some(s)) => s.ident.span(),
        (None, None) => p.span(),
    }
}

fn path_last(p: &syn::Path) -> Option<Span> {
    let seg = p.segments.last()?;
    match &seg.arguments {
        syn::PathArguments::None => Some(seg.ident.span()),
        syn::PathArguments::AngleBracketed(a) => Some(a.gt_token.span),
        syn::PathArguments::Parenthesized(_) => None,
    }
}

fn delimiter_close(d: &syn::MacroDelimiter) -> Span {
    match d {
        syn::MacroDelimiter::Paren(p) => p.span.close(),
        syn::MacroDelimiter::Brace(b) => b.span.close(),
        syn::MacroDelimiter::Bracket(b) => b.span.close(),
    }
}

fn label_first(label: &Option<syn::Label>) -> Option<Span> {
    label.as_ref().map(|l| l.name.apostrophe)
}

/// The spans of the first and last token of `e`, or `None` for a shape not modelled here.
fn edges(e: &Expr) -> Option<(Span, Span)> {
    Some((first(e)?, last(e)?))
}

/// Outer attributes on an expression come first when printed; those are left to `Spanned`.
fn has_attrs(e: &Expr) -> bool {
    let attrs: &[syn::Attribute] = match e {
        Expr::Array(x) => &x.attrs,
        Expr::Assign(x) => &x.attrs,
        Expr::Async(x) => &x.attrs,
        Expr::Await(x) => &x.attrs,
        Expr::Binary(x) => &x.attrs,
        Expr::Block(x) => &x.attrs,
        Expr::Break(x) => &x.attrs,
        Expr::Call(x) => &x.attrs,
        Expr::Cast(x) => &x.attrs,
        Expr::Closure(x) => &x.attrs,
        Expr::Const(x) => &x.attrs,
        Expr::Continue(x) => &x.attrs,
        Expr::Field(x) => &x.attrs,
        Expr::ForLoop(x) => &x.attrs,
        Expr::Group(x) => &x.attrs,
        Expr::If(x) => &x.attrs,
        Expr::Index(x) => &x.attrs,
        Expr::Infer(x) => &x.attrs,
        Expr::Let(x) => &x.attrs,
        Expr::Lit(x) => &x.attrs,
        Expr::Loop(x) => &x.attrs,
        Expr::Macro(x) => &x.attrs,
        Expr::Match(x) => &x.attrs,
        Expr::MethodCall(x) => &x.attrs,
        Expr::Paren(x) => &x.attrs,
        Expr::Path(x) => &x.attrs,
        Expr::Range(x) => &x.attrs,
        Expr::Reference(x) => &x.attrs,
        Expr::Repeat(x) => &x.attrs,
        Expr::Return(x) => &x.attrs,
        Expr::Struct(x) => &x.attrs,
        Expr::Try(x) => &x.attrs,
        Expr::TryBlock(x) => &x.attrs,
        Expr::Tuple(x) => &x.attrs,
        Expr::Unary(x) => &x.attrs,
        Expr::Unsafe(x) => &x.attrs,
        Expr::While(x) => &x.attrs,
        Expr::Yield(x) => &x.attrs,
        _ => return true,
    };
    !attrs.is_empty()
}

fn first(e: &Expr) -> Option<Span> {
    if has_attrs(e) {
        return None;
    }
    Some(match e {
        Expr::Array(x) => x.bracket_token.span.open(),
        Expr::Assign(x) => first(&x.left)?,
        Expr::Async(x) => x.async_token.span,
        Expr::Await(x) => first(&x.base)?,
        Expr::Binary(x) => first(&x.left)?,
        Expr::Block(x) => label_first(&x.label).unwrap_or(x.block.brace_token.span.open()),
        Expr::Break(x) => x.break_token.span,
        Expr::Call(x) => first(&x.func)?,
        Expr::Cast(x) => first(&x.expr)?,
        Expr::Closure(x) => x
            .lifetimes
            .as_ref()
            .map(|l| l.for_token.span)
            .or_else(|| x.constness.map(|t| t.span))
            .or_else(|| x.movability.map(|t| t.span))
            .or_else(|| x.asyncness.map(|t| t.span))
            .or_else(|| x.capture.map(|t| t.span))
            .unwrap_or(x.or1_token.span),
        Expr::Const(x) => x.const_token.span,
        Expr::Continue(x) => x.continue_token.span,
        Expr::Field(x) => first(&x.base)?,
        Expr::ForLoop(x) => label_first(&x.label).unwrap_or(x.for_token.span),
        Expr::If(x) => x.if_token.span,
        Expr::Index(x) => first(&x.expr)?,
        Expr::Infer(x) => x.underscore_token.span,
        Expr::Let(x) => x.let_token.span,
        Expr::Lit(x) => x.lit.span(),
        Expr::Loop(x) => label_first(&x.label).unwrap_or(x.loop_token.span),
        Expr::Macro(x) => path_first(&x.mac.path),
        Expr::Match(x) => x.match_token.span,
        Expr::MethodCall(x) => first(&x.receiver)?,
        Expr::Paren(x) => x.paren_token.span.open(),
        Expr::Path(x) => match &x.qself {
            Some(q) => q.lt_token.span,
            None => path_first(&x.path),
        },
        Expr::Range(x) => match &x.start {
            Some(s) => first(s)?,
            None => range_limits(&x.limits),
        },
        Expr::Reference(x) => x.and_token.span,
        Expr::Repeat(x) => x.bracket_token.span.open(),
        Expr::Return(x) => x.return_token.span,
        Expr::Struct(x) => match &x.qself {
            Some(q) => q.lt_token.span,
            None => path_first(&x.path),
        },
        Expr::Try(x) => first(&x.expr)?,
        Expr::TryBlock(x) => x.try_token.span,
        Expr::Tuple(x) => x.paren_token.span.open(),
        Expr::Unary(x) => match x.op {
            syn::UnOp::Deref(t) => t.span,
            syn::UnOp::Not(t) => t.span,
            syn::UnOp::Neg(t) => t.span,
            _ => return None,
        },
        Expr::Unsafe(x) => x.unsafe_token.span,
        Expr::While(x) => label_first(&x.label).unwrap_or(x.while_token.span),
        Expr::Yield(x) => x.yield_token.span,
        _ => return None,
    })
}

fn range_limits(l: &syn::RangeLimits) -> Span {
    match l {
        syn::RangeLimits::HalfOpen(t) => t.spans[0],
        syn::RangeLimits::Closed(t) => t.spans[0],
    }
}

fn range_limits_last(l: &syn::RangeLimits) -> Span {
    match l {
        syn::RangeLimits::HalfOpen(t) => t.spans[1],
        syn::RangeLimits::Closed(t) => t.spans[2],
    }
}

fn last(e: &Expr) -> Option<Span> {
    Some(match e {
        Expr::Array(x) => x.bracket_token.span.close(),
        Expr::Assign(x) => last(&x.right)?,
        Expr::Async(x) => x.block.brace_token.span.close(),
        Expr::Await(x) => x.await_token.span,
        Expr::Binary(x) => last(&x.right)?,
        Expr::Block(x) => x.block.brace_token.span.close(),
        Expr::Break(x) => match (&x.expr, &x.label) {
            (Some(e), _) => last(e)?,
            (None, Some(l)) => l.ident.span(),
            (None, None) => x.break_token.span,
        },
        Expr::Call(x) => x.paren_token.span.close(),
        Expr::Cast(x) => x.ty.span(),
        Expr::Closure(x) => last(&x.body)?,
        Expr::Const(x) => x.block.brace_token.span.close(),
        Expr::Continue(x) => match &x.label {
            Some(l) => l.ident.span(),
            None => x.continue_token.span,
        },
        Expr::Field(x) => match &x.member {
            syn::Member::Named(i) => i.span(),
            syn::Member::Unnamed(i) => i.span,
        },
        Expr::ForLoop(x) => x.body.brace_token.span.close(),
        Expr::If(x) => match &x.else_branch {
            Some((_, e)) => last(e)?,
            None => x.then_branch.brace_token.span.close(),
        },
        Expr::Index(x) => x.bracket_token.span.close(),
        Expr::Infer(x) => x.underscore_token.span,
        Expr::Let(x) => last(&x.expr)?,
        Expr::Lit(x) => x.lit.span(),
        Expr::Loop(x) => x.body.brace_token.span.close(),
        Expr::Macro(x) => delimiter_close(&x.mac.delimiter),
        Expr::Match(x) => x.brace_token.span.close(),
        Expr::MethodCall(x) => x.paren_token.span.close(),
        Expr::Paren(x) => x.paren_token.span.close(),
        Expr::Path(x) => path_last(&x.path)?,
        Expr::Range(x) => match &x.end {
            Some(e) => last(e)?,
            None => range_limits_last(&x.limits),
        },
        Expr::Reference(x) => last(&x.expr)?,
        Expr::Repeat(x) => x.bracket_token.span.close(),
        Expr::Return(x) => match &x.expr {
            Some(e) => last(e)?,
            None => x.return_token.span,
        },
        Expr::Struct(x) => x.brace_token.span.close(),
        Expr::Try(x) => x.question_token.span,
        Expr::TryBlock(x) => x.block.brace_token.span.close(),
        Expr::Tuple(x) => x.paren_token.span.close(),
        Expr::Unary(x) => last(&x.expr)?,
        Expr::Unsafe(x) => x.block.brace_token.span.close(),
        Expr::While(x) => x.body.brace_token.span.close(),
        Expr::Yield(x) => match &x.expr {
            Some(e) => last(e)?,
            None => x.yield_token.span,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::visit::Visit;

    /// Compares every modelled node's region with `Spanned`'s.
    struct Compare {
        file: String,
        checked: usize,
    }

    impl Compare {
        fn same(&mut self, fast: Region, slow: Span, what: &str) {
            assert_eq!(
                fast,
                Region::from_span(slow),
                "{what} region differs from Spanned in {}",
                self.file
            );
            self.checked += 1;
        }
    }

    impl<'ast> Visit<'ast> for Compare {
        fn visit_expr(&mut self, e: &'ast Expr) {
            self.same(expr(e), e.span(), "expression");
            // The text shortcut of the walk, checked here since this visits every expression.
            assert_eq!(
                super::super::walk::expr_text(e),
                super::super::walk::tokens_text(quote::ToTokens::to_token_stream(e)),
                "expression text differs in {}",
                self.file
            );
            syn::visit::visit_expr(self, e);
        }
        fn visit_type(&mut self, t: &'ast syn::Type) {
            // The type text shortcut of the walk.
            assert_eq!(
                super::super::walk::type_text(t),
                super::super::walk::tokens_text(quote::ToTokens::to_token_stream(t)),
                "type text differs in {}",
                self.file
            );
            syn::visit::visit_type(self, t);
        }
        fn visit_arm(&mut self, a: &'ast syn::Arm) {
            self.same(arm(a), a.span(), "arm");
            syn::visit::visit_arm(self, a);
        }
        fn visit_field_value(&mut self, f: &'ast syn::FieldValue) {
            self.same(field_value(f), f.span(), "field value");
            syn::visit::visit_field_value(self, f);
        }
        fn visit_stmt(&mut self, s: &'ast Stmt) {
            self.same(stmt(s), s.span(), "statement");
            syn::visit::visit_stmt(self, s);
        }
        fn visit_block(&mut self, b: &'ast syn::Block) {
            self.same(block(b), b.span(), "block");
            syn::visit::visit_block(self, b);
        }
        fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
            self.same(item_fn(f), f.span(), "fn");
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
            self.same(impl_item_fn(f), f.span(), "impl fn");
            syn::visit::visit_impl_item_fn(self, f);
        }
        fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
            self.same(trait_item_fn(f), f.span(), "trait fn");
            syn::visit::visit_trait_item_fn(self, f);
        }
    }

    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn same_regions_as_spanned() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["src", "tests", "../src", "../examples"] {
            let d = root.join(dir);
            if d.is_dir() {
                rust_files(&d, &mut files);
            }
        }
        // `HEISEN_SPAN_CORPUS=target/corpus cargo test --release -p cargo-heisen --lib span`
        // compares over the whole benchmark corpus too.
        if let Some(corpus) = std::env::var_os("HEISEN_SPAN_CORPUS") {
            rust_files(std::path::Path::new(&corpus), &mut files);
        }
        // Shapes the sources above may not contain.
        let extra = r#"
            #[inline] pub(crate) const unsafe extern "C" fn f() {}
            impl S { default fn g(&self) {} pub fn h() -> u8 { 1 } }
            trait T { fn a(&self) { } fn b(&self); #[doc = "x"] fn c() {} }
            fn all() {
                let _ = [1, 2]; x = 1; let _ = async move { 1 }; let _ = f.await;
                'a: { break 'a 1; } 'b: loop { break 'b; continue 'b; }
                let _ = for<'x> |a: &'x u8| -> u8 { *a }; let _ = static || 1;
                let _ = move || (); let _ = const { 1 }; let _ = t.0 + t.field;
                'c: for i in 0..=n {} 'd: while let Some(x) = it.next() {}
                if a { } else if b { } else { } let _ = v[i]; let _ = _;
                let _ = m!(x); let _ = m![x]; let _ = m! { x }; match x { _ => {} }
                let _ = (1); let _ = <T as Tr>::f(); let _ = Vec::<u8>::new; let _ = ..;
                let _ = ..=b; let _ = a..; let _ = &mut x; let _ = &raw const x;
                let _ = [0; 3]; return; let _ = S { a: 1, ..d }; let _ = <S>::X;
                let _ = x?; let _ = (); let _ = (1,); let _ = -x; let _ = !x; let _ = *x;
                let _ = unsafe { 1 }; let _ = x as u64; let _ = x as Vec<u8>;
                let _ = #[allow(x)] 1; m!(); m! { } ::std::f(); yield; yield 1;
                let _ = Fn::<()>::call; let _ = a.b::<u8>(1).c().d;
                let _ = || -> u8 { 1 }; let _ = 'e: loop {};
                let _: (&'a mut ::std::vec::Vec<(u8,)>, [Option<&'b str>], (), Box<dyn T>);
                let _: r#type::Q<r#u8, 'static, [u8; 4], fn(u8) -> u8, A<B=C>, T,>;
            }
        "#;
        let mut cases: Vec<(String, String)> = files
            .iter()
            .filter_map(|p| Some((p.display().to_string(), std::fs::read_to_string(p).ok()?)))
            .collect();
        cases.push(("<extra>".into(), extra.into()));
        let mut total = 0;
        for (name, text) in cases {
            let Ok(ast) = syn::parse_file(&text) else {
                continue;
            };
            let mut c = Compare {
                file: name,
                checked: 0,
            };
            c.visit_file(&ast);
            total += c.checked;
            proc_macro2::extra::invalidate_current_thread_spans();
        }
        assert!(total > 10_000, "only {total} nodes compared");
    }
}
