//! The translator: one loom or shuttle test file (read from the registry package) in, the same
//! tests written against heisen's facade and `#[heisen::model]` out.
//!
//! It is mechanical on purpose, doing what a user migrating a suite does and nothing else:
//!
//! * paths: `loom::{sync, thread, cell, hint, future, thread_local!, lazy_static!}` and
//!   `shuttle::{sync, thread, hint, future, thread_local!, lazy_static!}` become `heisen::…`
//!   (every other `loom::`/`shuttle::` path stays, and fails to compile: "not portable");
//!   `use` trees are split into one `use` per name, so one missing name costs only its users;
//! * a `#[test]` whose body has exactly one top-level model call becomes a
//!   `#[heisen::model(..)]` fn whose body is the statements before the call followed by the
//!   closure's body:
//!   - loom: `loom::model(f)` → `#[heisen::model]` (both backends: the run is compared with
//!     loom's verdict under both, and under each alone); `loom::model::Builder` fields map to
//!     arguments (`preemption_bound = Some(n)` → `preemption_bound = n`, `max_branches`); the
//!     fields without a heisen argument make the test "not portable";
//!   - shuttle: `check_random(f, n)` → `#[heisen::model(shuttle, iterations = n)]`,
//!     `check_pct(f, n, d)` → `(shuttle, iterations = n, pct_depth = d)`, `check_dfs(f, _)` and
//!     `check(f)` → `(shuttle)` (heisen has no exhaustive or round-robin shuttle mode: random +
//!     PCT with the defaults);
//!   - a test with statements *after* the model call (they check the exploration: outcome
//!     sets, counts) stays a `#[test]` and runs the same closure through
//!     `heisen::runner::run_test` with the equivalent `runner::Config`;
//!   - a test without any model run stays an ordinary `#[test]`;
//! * attributes other than `#[test]` are kept (`#[should_panic]`, `#[ignore]`, `cfg`s), so
//!   libtest's own result is the verdict to compare.
//!
//! Translator-side workarounds, only where the source is not std-shaped: lint levels of the
//! file (`#![deny(warnings)]`) are dropped (a lint is not a verdict, and the rewrite can leave an
//! unused import); `use test_log::test;` is dropped (it only installs a logger);
//! `#![cfg(feature = "futures")]` is dropped (heisen enables loom's `futures`);
//! `use futures::Future` becomes `use std::future::Future` (the same trait, re-exported).
//!
//! A test the translator cannot port (two model calls, statements *after* the model call —
//! they check something across executions —, a model run through a helper or `Runner`) is
//! replaced by a comment and recorded as not portable with the reason.
//!
//! Output is one item per line (printed from tokens), so a compiler error's line names the
//! item it belongs to, and a removed item is replaced by a comment on its line: line numbers
//! never move between compile rounds.

use proc_macro2::{Delimiter, Group, Ident, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use std::collections::BTreeMap;
use syn::{Attribute, Expr, Item, Stmt};

/// Which suite a file comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Loom,
    Shuttle,
}

/// One test the translator saw (by its path inside the file's module).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestDecl {
    /// `name` or `inner_mod::name`; for tests inside a `macro_rules!` transcriber, the fn name.
    pub path: String,
    pub should_panic: bool,
    pub ignored: bool,
    /// Set when the translator itself could not port the test.
    pub not_portable: Option<String>,
    /// Declared inside a `macro_rules!` transcriber (its full libtest path is known only after
    /// expansion; `path` is the fn name).
    pub in_macro: bool,
    /// How it was ported.
    pub form: Form,
}

/// How a test was ported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `#[heisen::model(..)] fn`
    Model,
    /// `#[test]` calling `heisen::runner::run_test` (statements after the model call check
    /// the exploration)
    Runner,
    /// a `#[test]` without any model run (kept as it is, paths rewritten)
    Plain,
    /// not ported
    None,
}

/// One output line: an item (or a structural line such as `mod m {`).
#[derive(Clone, Debug)]
pub struct Line {
    pub text: String,
    /// The item this line is, if it is a removable item.
    pub item: Option<usize>,
}

/// A removable item of the output.
#[derive(Clone, Debug)]
pub struct ItemRec {
    /// Names other items may use (fn, type, use leaf, macro, statics a macro declares).
    pub names: Vec<String>,
    /// The tests this item declares (test fns, an inline module's tests, a macro invocation's).
    pub tests: Vec<String>,
    /// An item of a `macro_rules!` transcriber: the macro's name (its tests count once per
    /// invocation).
    pub macro_member: Option<String>,
    /// A macro invocation of this file's test-declaring `macro_rules!`.
    pub invokes: Option<Invocation>,
    /// `Some(reason)` once removed.
    pub removed: Option<String>,
}

/// An invocation of a test-declaring `macro_rules!`.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub macro_name: String,
    /// module path of the invocation inside the file (`` or `m::`)
    pub prefix: String,
    /// metavariable → argument text
    pub subst: Vec<(String, String)>,
}

impl Invocation {
    /// The test path a transcriber test gets in this invocation (`int_u8::swap`).
    pub fn test_path(&self, path: &str) -> String {
        let mut p = path.to_string();
        for (v, a) in &self.subst {
            p = p.replace(&format!("{PLACEHOLDER}{v}"), a);
        }
        format!("{}{}", self.prefix, p.replace(PLACEHOLDER, "$"))
    }
}

/// `$name:ident, $ty:ty` → `["name", "ty"]`
fn matcher_vars(ts: TokenStream) -> Vec<String> {
    let toks: Vec<TokenTree> = ts.into_iter().collect();
    let mut out = Vec::new();
    for w in toks.windows(2) {
        if let (TokenTree::Punct(p), TokenTree::Ident(id)) = (&w[0], &w[1]) {
            if p.as_char() == '$' {
                out.push(id.to_string());
            }
        }
    }
    out
}

fn split_top_level_commas(ts: TokenStream) -> Vec<String> {
    let mut out = vec![TokenStream::new()];
    for t in ts {
        match &t {
            TokenTree::Punct(p) if p.as_char() == ',' => out.push(TokenStream::new()),
            _ => out.last_mut().unwrap().extend([t]),
        }
    }
    out.into_iter().map(|t| t.to_string()).collect()
}

/// A translated file.
#[derive(Clone, Debug)]
pub struct Translated {
    pub lines: Vec<Line>,
    pub items: Vec<ItemRec>,
    pub tests: Vec<TestDecl>,
    /// `macro_rules!` of this file that declare tests → (matcher metavariables, those tests'
    /// paths).
    pub macros: BTreeMap<String, (Vec<String>, Vec<String>)>,
}

impl Translated {
    /// The file's text with removed items replaced by a comment on their line.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            match l.item.and_then(|i| self.items[i].removed.as_ref()) {
                Some(why) => {
                    s.push_str("// not portable: ");
                    s.push_str(&why.replace('\n', " "));
                }
                None => s.push_str(&l.text),
            }
            s.push('\n');
        }
        s
    }
}

/// Translates one file's text. `Err` when it does not even parse.
pub fn translate(src: &str, origin: Origin) -> Result<Translated, String> {
    let file = syn::parse_file(src).map_err(|e| format!("does not parse: {e}"))?;
    let mut t = Translated {
        lines: Vec::new(),
        items: Vec::new(),
        tests: Vec::new(),
        macros: BTreeMap::new(),
    };
    for a in &file.attrs {
        if keep_inner_attr(a) {
            t.lines.push(Line {
                text: rewrite_paths(a.to_token_stream(), origin).to_string(),
                item: None,
            });
        }
    }
    let mut helpers = Vec::new();
    model_helpers(&file.items, origin, &mut helpers);
    let mut cx = Cx { origin, t, helpers };
    for item in &file.items {
        cx.item(item, "", false);
    }
    Ok(cx.t)
}

fn keep_inner_attr(a: &Attribute) -> bool {
    let p = a.path();
    if ["deny", "warn", "allow", "forbid"]
        .iter()
        .any(|l| p.is_ident(l))
    {
        return false; // a lint level is not a verdict
    }
    if p.is_ident("cfg") {
        let s = a.to_token_stream().to_string();
        if s.contains("\"futures\"") {
            return false; // heisen enables loom's `futures` feature
        }
    }
    true
}

struct Cx {
    origin: Origin,
    t: Translated,
    /// non-test fns of the file that run the model (a test calling one is not portable)
    helpers: Vec<String>,
}

/// The file's non-test fns (also in inline modules) whose body contains a model call.
fn model_helpers(items: &[Item], origin: Origin, out: &mut Vec<String>) {
    for i in items {
        match i {
            Item::Fn(f)
                if !f.attrs.iter().any(is_test_attr)
                    && contains_model_call(f.block.to_token_stream(), origin) =>
            {
                out.push(f.sig.ident.to_string());
            }
            Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    model_helpers(items, origin, out);
                }
            }
            _ => {}
        }
    }
}

/// Whether `ts` calls the fn `name` (`name(` anywhere, also as `path::name(`).
fn calls(ts: &TokenStream, name: &str) -> bool {
    let toks: Vec<TokenTree> = ts.clone().into_iter().collect();
    toks.iter().enumerate().any(|(i, t)| match t {
        TokenTree::Ident(id) => {
            id == name && matches!(toks.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
        }
        TokenTree::Group(g) => calls(&g.stream(), name),
        _ => false,
    })
}

fn is_test_attr(a: &Attribute) -> bool {
    let segs: Vec<String> = a
        .path()
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segs == ["test"] || segs == ["test_log", "test"] || segs == ["tokio", "test"]
}

fn has_attr(attrs: &[Attribute], name: &str) -> bool {
    attrs.iter().any(|a| a.path().is_ident(name))
}

impl Cx {
    fn push_item(&mut self, text: String, name: Option<String>, tests: Vec<String>) -> usize {
        let id = self.t.items.len();
        self.t.items.push(ItemRec {
            names: name.into_iter().collect(),
            tests,
            macro_member: None,
            invokes: None,
            removed: None,
        });
        self.t.lines.push(Line {
            text,
            item: Some(id),
        });
        id
    }

    fn item(&mut self, item: &Item, prefix: &str, in_macro: bool) {
        let origin = self.origin;
        match item {
            Item::Use(u) => {
                for (leaf, name) in use_leaves(u) {
                    if leaf.starts_with("test_log :: test") {
                        continue; // only installs a logger; `#[test]` is then libtest's
                    }
                    // The `futures` crate re-exports std's trait as `futures::Future`: the same
                    // item under std's path (the crate itself is not linked).
                    let leaf = match leaf.as_str() {
                        "futures :: Future" => "std :: future :: Future".to_string(),
                        _ => leaf,
                    };
                    let ts: TokenStream = leaf.parse().expect("use leaf tokens");
                    let vis = &u.vis;
                    let attrs = &u.attrs;
                    let text = rewrite_paths(quote!(#(#attrs)* #vis use #ts;), origin).to_string();
                    self.push_item(text, Some(name), Vec::new());
                }
            }
            Item::Fn(f) if f.attrs.iter().any(is_test_attr) => {
                let path = format!("{prefix}{}", f.sig.ident);
                let should_panic = has_attr(&f.attrs, "should_panic");
                let ignored = has_attr(&f.attrs, "ignore");
                match self.test_fn(f) {
                    Ok((ts, form)) => {
                        self.t.tests.push(TestDecl {
                            path: path.clone(),
                            should_panic,
                            ignored,
                            not_portable: None,
                            in_macro,
                            form,
                        });
                        let text = rewrite_paths(ts, origin).to_string();
                        self.push_item(text, Some(f.sig.ident.to_string()), vec![path]);
                    }
                    Err(why) => {
                        self.t.tests.push(TestDecl {
                            path: path.clone(),
                            should_panic,
                            ignored,
                            not_portable: Some(why.clone()),
                            in_macro,
                            form: Form::None,
                        });
                        let id = self.push_item(String::new(), None, vec![path]);
                        self.t.items[id].removed = Some(why);
                    }
                }
            }
            Item::Mod(m) if m.content.is_some() => {
                let (_, items) = m.content.as_ref().unwrap();
                let attrs = &m.attrs;
                let vis = &m.vis;
                let ident = &m.ident;
                self.t.lines.push(Line {
                    text: rewrite_paths(quote!(#(#attrs)* #vis mod #ident), origin).to_string()
                        + " {",
                    item: None,
                });
                let inner = format!("{prefix}{ident}::");
                for i in items {
                    self.item(i, &inner, in_macro);
                }
                self.t.lines.push(Line {
                    text: "}".into(),
                    item: None,
                });
            }
            Item::Macro(m) if m.mac.path.is_ident("macro_rules") => {
                let name = m.ident.as_ref().map(|i| i.to_string());
                if !self.macro_rules(m) {
                    let text = rewrite_paths(m.to_token_stream(), origin).to_string();
                    self.push_item(text, name, Vec::new());
                }
            }
            Item::Macro(m) => {
                // A macro invocation: if it is one of this file's `macro_rules!` with tests, it
                // declares them (counted per invocation, named by the invocation's text).
                let mname = m.mac.path.get_ident().map(|i| i.to_string());
                let invocation = mname
                    .as_ref()
                    .filter(|n| self.t.macros.contains_key(*n))
                    .map(|n| {
                        // metavariable → argument text, so `mod $name` gives the module's real name
                        let (vars, _) = &self.t.macros[n];
                        let args = split_top_level_commas(m.mac.tokens.clone());
                        let subst = vars.iter().cloned().zip(args).collect();
                        Invocation {
                            macro_name: n.clone(),
                            prefix: prefix.to_string(),
                            subst,
                        }
                    });
                let tests: Vec<String> = invocation
                    .as_ref()
                    .map(|inv| {
                        self.t.macros[&inv.macro_name]
                            .1
                            .iter()
                            .map(|t| inv.test_path(t))
                            .collect()
                    })
                    .unwrap_or_default();
                let text = rewrite_paths(item.to_token_stream(), origin).to_string();
                let id = self.push_item(text, None, tests);
                self.t.items[id].invokes = invocation;
                // `lazy_static! { static ref A: .. }`, `thread_local! { static B: .. }`
                self.t.items[id].names = static_names(m.mac.tokens.clone());
            }
            Item::Fn(f) if self.helpers.contains(&f.sig.ident.to_string()) => {
                // A harness that runs the model for its callers: each model call becomes a
                // `run_test` of the same closure (see [`runner_calls`]).
                let name = f.sig.ident.to_string();
                let ts = runner_calls(f.to_token_stream(), origin, &name, false);
                let text = rewrite_paths(ts, origin).to_string();
                self.push_item(text, Some(name), Vec::new());
            }
            other => {
                let name = item_name(other);
                let text = rewrite_paths(other.to_token_stream(), origin).to_string();
                self.push_item(text, name, Vec::new());
            }
        }
    }

    /// A `macro_rules!` whose single-arm transcriber parses as items once its metavariables are
    /// replaced by placeholder identifiers is translated like a file, one transcribed item per
    /// line (so an error in one test of the transcriber removes that test, not the macro).
    /// `false`: not of that shape (the caller rewrites its paths only).
    fn macro_rules(&mut self, m: &syn::ItemMacro) -> bool {
        let origin = self.origin;
        let toks: Vec<TokenTree> = m.mac.tokens.clone().into_iter().collect();
        // `(matcher) => { transcriber }` (one arm, optional trailing `;`)
        let (matcher, transcriber) = match toks.as_slice() {
            [TokenTree::Group(mt), TokenTree::Punct(p1), TokenTree::Punct(p2), TokenTree::Group(tr)]
            | [TokenTree::Group(mt), TokenTree::Punct(p1), TokenTree::Punct(p2), TokenTree::Group(tr), TokenTree::Punct(_)]
                if p1.as_char() == '=' && p2.as_char() == '>' =>
            {
                (mt.clone(), tr.clone())
            }
            _ => return false,
        };
        let Some(body) = placeholders(transcriber.stream()) else {
            return false;
        };
        let Ok(file) = syn::parse2::<syn::File>(body) else {
            return false;
        };
        let Some(name) = m.ident.as_ref().map(|i| i.to_string()) else {
            return false;
        };
        let mut sub = Cx {
            origin,
            helpers: self.helpers.clone(),
            t: Translated {
                lines: Vec::new(),
                items: Vec::new(),
                tests: Vec::new(),
                macros: BTreeMap::new(),
            },
        };
        for i in &file.items {
            sub.item(i, "", true);
        }
        let attrs = &m.attrs;
        let unplace = |s: &str| s.replace(PLACEHOLDER, "$");
        self.t.lines.push(Line {
            text: format!(
                "{} macro_rules! {name} {{ {} => {{",
                quote!(#(#attrs)*),
                unplace(&matcher.to_string())
            ),
            item: None,
        });
        for l in sub.t.lines {
            let item = l.item.map(|i| {
                let mut rec = sub.t.items[i].clone();
                rec.macro_member = Some(name.clone());
                self.t.items.push(rec);
                self.t.items.len() - 1
            });
            self.t.lines.push(Line {
                text: unplace(&l.text),
                item,
            });
        }
        self.t.lines.push(Line {
            text: "}; }".into(),
            item: None,
        });
        let vars = matcher_vars(matcher.stream());
        self.t.macros.insert(
            name,
            (vars, sub.t.tests.iter().map(|t| t.path.clone()).collect()),
        );
        self.t.tests.extend(sub.t.tests);
        true
    }

    /// A `#[test]` fn → a `#[heisen::model(..)]` fn, or why not. A test with statements
    /// *after* the model call (they check the exploration across executions: outcome sets,
    /// counts) stays a `#[test]` and calls `heisen::runner::run_test` with the same closure
    /// and the equivalent `runner::Config`, then runs those statements.
    fn test_fn(&self, f: &syn::ItemFn) -> Result<(TokenStream, Form), String> {
        let stmts = &f.block.stmts;
        let mut builder: Option<String> = None;
        let mut args = Args {
            shuttle_only: self.origin == Origin::Shuttle,
            ..Args::default()
        };
        let mut pre: Vec<&Stmt> = Vec::new();
        let mut post: Vec<&Stmt> = Vec::new();
        let mut call: Option<(TokenStream, Expr)> = None;
        let nested = "the model runs inside a helper, block or loop (e.g. `check_dfs` passed to a harness), not as a statement of the test";
        for s in stmts.iter() {
            if call.is_some() {
                if contains_model_call(s.to_token_stream(), self.origin) {
                    return self.test_with_runner_calls(f, "two model runs in one test");
                }
                post.push(s);
                continue;
            }
            // `let mut builder = loom::model::Builder::new();`
            if let Stmt::Local(l) = s {
                if let (syn::Pat::Ident(pi), Some(init)) = (&l.pat, &l.init) {
                    let init_s = init.expr.to_token_stream().to_string().replace(' ', "");
                    if init_s.ends_with("Builder::new()") && self.origin == Origin::Loom {
                        builder = Some(pi.ident.to_string());
                        continue;
                    }
                }
            }
            let expr = match s {
                Stmt::Expr(e, _) => Some(e),
                _ => None,
            };
            // `builder.field = value;`
            if let (Some(Expr::Assign(a)), Some(b)) = (expr, &builder) {
                if let Expr::Field(fe) = &*a.left {
                    if fe.base.to_token_stream().to_string() == *b {
                        let field = fe.member.to_token_stream().to_string();
                        builder_field(&field, &a.right, &mut args)?;
                        continue;
                    }
                }
            }
            if let Some(e) = expr {
                if let Some(found) = self.model_call(e, builder.as_deref(), &mut args) {
                    call = Some(found);
                    continue;
                }
            }
            if contains_model_call(s.to_token_stream(), self.origin) {
                return self.test_with_runner_calls(f, nested);
            }
            pre.push(s);
        }
        let Some((body, closure)) = call else {
            let body_ts = f.block.to_token_stream();
            if let Some(h) = self.helpers.iter().find(|h| calls(&body_ts, h)) {
                if has_attr(&f.attrs, "should_panic") {
                    // the helper's run is shared with passing tests: it cannot carry this
                    // test's expected failure
                    return Err(format!("{nested} (helper `{h}`) of a #[should_panic] test"));
                }
                return Ok((plain_test(f), Form::Runner));
            }
            let uses = called_paths(&body_ts);
            if !uses.is_empty() {
                return Err(format!("no model call in the test body{uses}"));
            }
            // no model run at all: an ordinary test, kept as it is
            return Ok((f.to_token_stream(), Form::Plain));
        };
        // syn keeps a body's inner attributes (`#![allow(..)]`) with the fn's: they stay
        // inside the body
        let (inner, attrs): (Vec<&Attribute>, Vec<&Attribute>) = f
            .attrs
            .iter()
            .filter(|a| !is_test_attr(a))
            .partition(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
        let vis = &f.vis;
        let ident = &f.sig.ident;
        if !post.is_empty() {
            let mut cfg = quote!(::heisen::runner::Config::new(::core::concat!(
                ::core::module_path!(),
                "::",
                ::core::stringify!(#ident)
            )));
            if args.shuttle_only {
                cfg = quote!(#cfg.shuttle_only());
            }
            if let Some(n) = args.preemption_bound {
                let n = n as usize;
                cfg = quote!(#cfg.preemption_bound(::core::option::Option::Some(#n)));
            }
            for (m, v) in [
                ("max_branches", args.max_branches),
                ("iterations", args.iterations),
                ("pct_depth", args.pct_depth),
            ] {
                if let Some(v) = v {
                    let m = Ident::new(m, proc_macro2::Span::call_site());
                    let v = v as usize;
                    cfg = quote!(#cfg.#m(#v));
                }
            }
            if has_attr(&f.attrs, "should_panic") {
                cfg = quote!(#cfg.expect_failure());
            }
            return Ok((
                quote! {
                    #[test]
                    #(#attrs)*
                    #vis fn #ident() {
                        #(#inner)*
                        #(#pre)*
                        ::heisen::runner::run_test(#cfg, #closure);
                        #(#post)*
                    }
                },
                Form::Runner,
            ));
        }
        let asyncness = &f.sig.asyncness;
        let model_attr = args.attribute();
        Ok((
            quote! {
                #model_attr
                #(#attrs)*
                #vis #asyncness fn #ident() {
                    #(#inner)*
                    #(#pre)*
                    #body
                }
            },
            Form::Model,
        ))
    }

    /// `Some((body tokens, closure))` when `e` is a model call of this suite.
    fn model_call(
        &self,
        e: &Expr,
        builder: Option<&str>,
        args: &mut Args,
    ) -> Option<(TokenStream, Expr)> {
        match (self.origin, e) {
            (Origin::Loom, Expr::Call(c)) => {
                let p = c.func.to_token_stream().to_string().replace(' ', "");
                if matches!(p.as_str(), "loom::model" | "model" | "loom::model::model")
                    && c.args.len() == 1
                {
                    return Some((closure_body(&c.args[0]), c.args[0].clone()));
                }
                None
            }
            (Origin::Loom, Expr::MethodCall(mc)) => {
                let recv = mc.receiver.to_token_stream().to_string();
                if Some(recv.as_str()) == builder && mc.method == "check" && mc.args.len() == 1 {
                    return Some((closure_body(&mc.args[0]), mc.args[0].clone()));
                }
                None
            }
            (Origin::Shuttle, Expr::Call(c)) => {
                let p = c.func.to_token_stream().to_string().replace(' ', "");
                let p = p.strip_prefix("shuttle::").unwrap_or(&p);
                let int = |i: usize| -> Option<u64> {
                    match c.args.iter().nth(i) {
                        Some(Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Int(n),
                            ..
                        })) => n.base10_parse().ok(),
                        _ => None,
                    }
                };
                match (p, c.args.len()) {
                    ("check_random", 2) => args.iterations = int(1),
                    ("check_pct", 3) => {
                        args.iterations = int(1);
                        args.pct_depth = int(2);
                    }
                    ("check_dfs", 2) | ("check", 1) => {}
                    _ => return None,
                }
                Some((closure_body(&c.args[0]), c.args[0].clone()))
            }
            _ => None,
        }
    }
}

impl Cx {
    /// A shuttle test whose model runs are not one statement of its own (inside a block, a
    /// loop, a closure handed to a harness, or two runs): it stays a `#[test]` and each run
    /// becomes a `run_test` in place (see [`runner_calls`]). loom's: not portable (`why`).
    fn test_with_runner_calls(
        &self,
        f: &syn::ItemFn,
        why: &str,
    ) -> Result<(TokenStream, Form), String> {
        if self.origin != Origin::Shuttle {
            return Err(why.into());
        }
        let name = f.sig.ident.to_string();
        let expect_failure = has_attr(&f.attrs, "should_panic");
        let block = runner_calls(
            f.block.to_token_stream(),
            self.origin,
            &name,
            expect_failure,
        );
        let attrs = f.attrs.iter().filter(|a| !is_test_attr(a));
        let vis = &f.vis;
        let ident = &f.sig.ident;
        Ok((
            quote! {
                #[test]
                #(#attrs)*
                #vis fn #ident() #block
            },
            Form::Runner,
        ))
    }
}

/// A `#[test]` kept as it is (its model runs are a helper's, rewritten there).
fn plain_test(f: &syn::ItemFn) -> TokenStream {
    let attrs = f.attrs.iter().filter(|a| !is_test_attr(a));
    let vis = &f.vis;
    let sig = &f.sig;
    let block = &f.block;
    quote! {
        #[test]
        #(#attrs)*
        #vis #sig #block
    }
}

/// Every shuttle model call in `ts` — `check_random(f, n)`, `check_pct(f, n, d)`,
/// `check_dfs(f, _)`, also `shuttle::`-qualified, anywhere (closures handed to a harness,
/// loops, helper fns) — becomes `::heisen::runner::run_test(cfg, f)` with the equivalent
/// `runner::Config` (named `<module>::<name>`; `n` and `d` may be any expression): what a user
/// does to port a harness over shuttle's checkers. A call whose arguments do not parse stays.
fn runner_calls(ts: TokenStream, origin: Origin, name: &str, expect_failure: bool) -> TokenStream {
    let toks: Vec<TokenTree> = ts.into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if let (TokenTree::Ident(id), Some(TokenTree::Group(g))) = (t, toks.get(i + 1)) {
            let after_dot = matches!(out.last(), Some(TokenTree::Punct(p)) if p.as_char() == '.');
            let checker = ["check_random", "check_pct", "check_dfs"]
                .iter()
                .any(|c| id == c);
            if origin == Origin::Shuttle
                && checker
                && !after_dot
                && g.delimiter() == Delimiter::Parenthesis
            {
                if let Some(call) = runner_call(&id.to_string(), g.stream(), name, expect_failure) {
                    // drop a `shuttle ::` qualifier already pushed
                    let n = out.len();
                    if n >= 3
                        && matches!(&out[n - 3], TokenTree::Ident(s) if s == "shuttle")
                        && matches!(&out[n - 2], TokenTree::Punct(p) if p.as_char() == ':')
                    {
                        out.truncate(n - 3);
                    }
                    out.extend(call);
                    i += 2;
                    continue;
                }
            }
        }
        match t {
            TokenTree::Group(g) => {
                let mut ng = Group::new(
                    g.delimiter(),
                    runner_calls(g.stream(), origin, name, expect_failure),
                );
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            t => out.push(t.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// `::heisen::runner::run_test(cfg, f)` for one shuttle checker call's arguments.
fn runner_call(
    checker: &str,
    args: TokenStream,
    name: &str,
    expect_failure: bool,
) -> Option<TokenStream> {
    use syn::parse::Parser;
    let args = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated
        .parse2(args)
        .ok()?;
    let a: Vec<&Expr> = args.iter().collect();
    let mut cfg = quote!(::heisen::runner::Config::new(::core::concat!(
        ::core::module_path!(),
        "::",
        #name
    ))
    .shuttle_only());
    match (checker, a.len()) {
        ("check_random", 2) => {
            let n = a[1];
            cfg = quote!(#cfg.iterations((#n) as usize));
        }
        ("check_pct", 3) => {
            let (n, d) = (a[1], a[2]);
            cfg = quote!(#cfg.iterations((#n) as usize).pct_depth((#d) as usize));
        }
        ("check_dfs", 2) => {}
        _ => return None,
    }
    if expect_failure {
        cfg = quote!(#cfg.expect_failure());
    }
    let f = a[0];
    Some(quote!(::heisen::runner::run_test(#cfg, #f)))
}

/// The model arguments a source test's configuration maps to.
#[derive(Default)]
struct Args {
    shuttle_only: bool,
    preemption_bound: Option<u64>,
    max_branches: Option<u64>,
    iterations: Option<u64>,
    pct_depth: Option<u64>,
}

impl Args {
    fn attribute(&self) -> TokenStream {
        let mut a: Vec<TokenStream> = Vec::new();
        if self.shuttle_only {
            a.push(quote!(shuttle));
        }
        if let Some(n) = self.preemption_bound {
            a.push(quote!(preemption_bound = #n));
        }
        if let Some(n) = self.max_branches {
            a.push(quote!(max_branches = #n));
        }
        if let Some(n) = self.iterations {
            a.push(quote!(iterations = #n));
        }
        if let Some(n) = self.pct_depth {
            a.push(quote!(pct_depth = #n));
        }
        if a.is_empty() {
            quote!(#[heisen::model])
        } else {
            quote!(#[heisen::model(#(#a),*)])
        }
    }
}

/// `builder.<field> = value` → model arguments, or why not.
fn builder_field(field: &str, value: &Expr, args: &mut Args) -> Result<(), String> {
    let v = value.to_token_stream().to_string().replace(' ', "");
    match field {
        "preemption_bound" => match v
            .strip_prefix("Some(")
            .and_then(|s| s.strip_suffix(')'))
            .and_then(|n| n.parse().ok())
        {
            Some(n) => args.preemption_bound = Some(n),
            None => return Err(format!("loom::model::Builder::preemption_bound = {v}")),
        },
        "max_branches" => match v.parse() {
            Ok(n) => args.max_branches = Some(n),
            Err(_) => return Err(format!("loom::model::Builder::max_branches = {v}")),
        },
        // output only
        "log" | "location" => {}
        other => {
            return Err(format!(
                "loom::model::Builder::{other} (no #[heisen::model] argument)"
            ))
        }
    }
    Ok(())
}

/// `: runs <A>, <B>` — the type-qualified and model-ish function paths a test body calls
/// (what it uses instead of a model call), for the "not portable" reason.
fn called_paths(ts: &TokenStream) -> String {
    fn walk(ts: TokenStream, out: &mut Vec<String>) {
        let toks: Vec<TokenTree> = ts.into_iter().collect();
        let mut i = 0;
        while i < toks.len() {
            if let TokenTree::Ident(id) = &toks[i] {
                let prev_colon =
                    i > 0 && matches!(&toks[i - 1], TokenTree::Punct(p) if p.as_char() == ':');
                let prev_dot =
                    i > 0 && matches!(&toks[i - 1], TokenTree::Punct(p) if p.as_char() == '.');
                if !prev_colon && !prev_dot {
                    let mut path = id.to_string();
                    let mut j = i + 1;
                    while let (
                        Some(TokenTree::Punct(a)),
                        Some(TokenTree::Punct(b)),
                        Some(TokenTree::Ident(n)),
                    ) = (toks.get(j), toks.get(j + 1), toks.get(j + 2))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        path.push_str("::");
                        path.push_str(&n.to_string());
                        j += 3;
                    }
                    let called = matches!(toks.get(j), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis);
                    let interesting = path.contains("Runner")
                        || path.contains("Scheduler")
                        || path.starts_with("check")
                        || path.contains("replay")
                        || ((path.starts_with("shuttle::") || path.starts_with("loom::"))
                            && !mapped_modules(Origin::Loom)
                                .iter()
                                .chain(mapped_modules(Origin::Shuttle))
                                .any(|m| path.split("::").nth(1) == Some(m)));
                    if called && interesting && !out.contains(&path) {
                        out.push(path);
                    }
                    i = j;
                    continue;
                }
            }
            if let TokenTree::Group(g) = &toks[i] {
                walk(g.stream(), out);
            }
            i += 1;
        }
    }
    let mut out = Vec::new();
    walk(ts.clone(), &mut out);
    if out.is_empty() {
        String::new()
    } else {
        out.truncate(3);
        format!(": runs `{}`", out.join("`, `"))
    }
}

/// The body a model closure runs, as statements of a fn body.
fn closure_body(e: &Expr) -> TokenStream {
    match e {
        Expr::Closure(c) if c.inputs.is_empty() => match &*c.body {
            Expr::Block(b) if b.attrs.is_empty() && b.label.is_none() => {
                let stmts = &b.block.stmts;
                quote!(#(#stmts)*)
            }
            other => quote!(#other;),
        },
        Expr::Path(p) => quote!(#p();),
        other => quote!((#other)();),
    }
}

fn contains_model_call(ts: TokenStream, origin: Origin) -> bool {
    let s = ts.to_string().replace(' ', "");
    match origin {
        Origin::Loom => s.contains("loom::model(") || s.contains(".check("),
        Origin::Shuttle => {
            s.contains("check_random(") || s.contains("check_pct(") || s.contains("check_dfs(")
        }
    }
}

fn static_names(ts: TokenStream) -> Vec<String> {
    let toks: Vec<TokenTree> = ts.into_iter().collect();
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if matches!(t, TokenTree::Ident(id) if id == "static") {
            let mut j = i + 1;
            if matches!(toks.get(j), Some(TokenTree::Ident(id)) if id == "ref") {
                j += 1;
            }
            if let Some(TokenTree::Ident(n)) = toks.get(j) {
                out.push(n.to_string());
            }
        }
    }
    out
}

fn item_name(i: &Item) -> Option<String> {
    Some(match i {
        Item::Fn(f) => f.sig.ident.to_string(),
        Item::Struct(s) => s.ident.to_string(),
        Item::Enum(e) => e.ident.to_string(),
        Item::Const(c) => c.ident.to_string(),
        Item::Static(s) => s.ident.to_string(),
        Item::Type(t) => t.ident.to_string(),
        Item::Trait(t) => t.ident.to_string(),
        Item::Mod(m) => m.ident.to_string(),
        Item::Union(u) => u.ident.to_string(),
        _ => return None,
    })
}

/// Splits a `use` into one tree per leaf: (`path::leaf [as alias]` tokens as text, bound name).
fn use_leaves(u: &syn::ItemUse) -> Vec<(String, String)> {
    fn walk(prefix: &str, t: &syn::UseTree, out: &mut Vec<(String, String)>) {
        match t {
            syn::UseTree::Path(p) => walk(&format!("{prefix}{} :: ", p.ident), &p.tree, out),
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                if name == "self" {
                    // `use a::b::{self}` is `use a::b;`
                    let p = prefix.trim_end_matches(" :: ");
                    out.push((
                        p.to_string(),
                        p.rsplit(" :: ").next().unwrap_or("").to_string(),
                    ))
                } else {
                    out.push((format!("{prefix}{name}"), name))
                }
            }
            syn::UseTree::Rename(r) => out.push((
                format!("{prefix}{} as {}", r.ident, r.rename),
                r.rename.to_string(),
            )),
            syn::UseTree::Glob(_) => out.push((format!("{prefix}*"), format!("{prefix}*"))),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    walk(prefix, t, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    let lead = if u.leading_colon.is_some() { ":: " } else { "" };
    walk(lead, &u.tree, &mut out);
    out
}

const PLACEHOLDER: &str = "__heisen_mv_";

/// `$name` → `__heisen_mv_name`; `None` if the transcriber has repetitions (`$( .. )*`).
fn placeholders(ts: TokenStream) -> Option<TokenStream> {
    let toks: Vec<TokenTree> = ts.into_iter().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match (&toks[i], toks.get(i + 1)) {
            (TokenTree::Punct(p), Some(TokenTree::Ident(id))) if p.as_char() == '$' => {
                out.push(TokenTree::Ident(Ident::new(
                    &format!("{PLACEHOLDER}{id}"),
                    id.span(),
                )));
                i += 2;
            }
            (TokenTree::Punct(p), _) if p.as_char() == '$' => return None,
            (TokenTree::Group(g), _) => {
                let mut ng = Group::new(g.delimiter(), placeholders(g.stream())?);
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
                i += 1;
            }
            (t, _) => {
                out.push(t.clone());
                i += 1;
            }
        }
    }
    Some(out.into_iter().collect())
}

/// The path mapping: which first segments after `loom::` / `shuttle::` are heisen's.
pub fn mapped_modules(origin: Origin) -> &'static [&'static str] {
    match origin {
        Origin::Loom => &[
            "sync",
            "thread",
            "cell",
            "hint",
            "future",
            "thread_local",
            "lazy_static",
        ],
        Origin::Shuttle => &[
            "sync",
            "thread",
            "hint",
            "future",
            "thread_local",
            "lazy_static",
        ],
    }
}

/// Replaces the crate name of `loom::<mapped>` / `shuttle::<mapped>` paths by `heisen`.
pub fn rewrite_paths(ts: TokenStream, origin: Origin) -> TokenStream {
    let krate = match origin {
        Origin::Loom => "loom",
        Origin::Shuttle => "shuttle",
    };
    let toks: Vec<TokenTree> = ts.into_iter().collect();
    let mut out = Vec::with_capacity(toks.len());
    for (i, t) in toks.iter().enumerate() {
        match t {
            TokenTree::Ident(id) if id == krate => {
                let colons = matches!((toks.get(i + 1), toks.get(i + 2)),
                    (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':');
                let mapped = matches!(toks.get(i + 3), Some(TokenTree::Ident(m))
                    if mapped_modules(origin).iter().any(|x| m == x));
                if colons && mapped {
                    out.push(TokenTree::Ident(Ident::new("heisen", id.span())));
                } else {
                    out.push(t.clone());
                }
            }
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), rewrite_paths(g.stream(), origin));
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            t => out.push(t.clone()),
        }
    }
    out.into_iter().collect()
}
