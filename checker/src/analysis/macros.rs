//! Local `macro_rules!` macros, expanded best effort so that the walk sees the code of an
//! invocation inside a function body as if it were written there.
//!
//! Only macros defined in the same file are known (a file's facts depend on its text alone:
//! the per-file cache's invariant). A rule's matcher is matched against the invocation's
//! tokens with the fragment kinds `ident`, `lifetime`, `literal`, `tt`, `block` read from the
//! tokens and `expr`, `ty`, `pat`, `pat_param`, `path`, `stmt`, `item`, `vis`, `meta` by syn's
//! parsers; repetitions `$( … ) sep? *|+|?` match greedily. The first rule that matches is
//! transcribed, `$crate` becomes `crate`. Anything not understood (a metavariable used at
//! another repetition depth than bound, repetitions of different lengths) gives up: `None`.
//!
//! **Spans.** Tokens substituted for a metavariable keep their own spans (they were written at
//! the invocation). Every token of the transcriber itself gets the span of the whole
//! invocation, so every node of the expansion lies inside the invocation's region and inside
//! every scope, loop and statement around it. Ordering inside the expansion is carried by the
//! walk order (event ids), not by positions; a temporary or binding scope inside the expansion
//! covers the rest of the invocation (an over-approximation of liveness inside one invocation,
//! never an under-approximation outside it).

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use std::collections::HashMap;
use syn::parse::{ParseStream, Parser};

/// How many token trees one expansion may produce (nested groups count their contents).
const MAX_TOKENS: usize = 20_000;

/// One rule `(matcher) => { transcriber }`.
#[derive(Clone, Debug)]
pub(crate) struct MacroRule {
    matcher: Vec<TokenTree>,
    transcriber: Vec<TokenTree>,
}

/// The `macro_rules!` macros of one file by name, each with its rules in order (several
/// definitions of one name: all their rules, in file order).
#[derive(Clone, Debug, Default)]
pub(crate) struct MacroTable {
    macros: HashMap<String, Vec<MacroRule>>,
}

impl MacroTable {
    /// Collects every `macro_rules!` definition in `file`, at any nesting (modules, function
    /// bodies).
    pub(crate) fn of_file(file: &syn::File) -> MacroTable {
        use syn::visit::Visit;
        struct Collect<'a>(&'a mut MacroTable);
        impl<'ast> Visit<'ast> for Collect<'_> {
            fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
                if let Some(name) = &m.ident {
                    if m.mac.path.is_ident("macro_rules") {
                        let rules = parse_rules(m.mac.tokens.clone());
                        if !rules.is_empty() {
                            self.0
                                .macros
                                .entry(name.to_string())
                                .or_default()
                                .extend(rules);
                        }
                    }
                }
            }
        }
        let mut table = MacroTable::default();
        Collect(&mut table).visit_file(file);
        table
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.macros.is_empty()
    }

    /// The expansion of an invocation of `mac`, a local macro, or `None` (not local, no rule
    /// matches, or the transcription is not understood).
    pub(crate) fn expand(&self, mac: &syn::Macro) -> Option<TokenStream> {
        let segs: Vec<String> = mac
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let name = match segs.as_slice() {
            [name] => name,
            [first, name] if first == "crate" || first == "self" || first == "$crate" => name,
            _ => return None,
        };
        let rules = self.macros.get(name.as_str())?;
        let input: Vec<TokenTree> = mac.tokens.clone().into_iter().collect();
        let site = invocation_span(mac);
        for rule in rules {
            let mut b = Bindings::new();
            if let Some(end) = match_seq(&rule.matcher, &input, 0, &mut b) {
                if end != input.len() {
                    continue;
                }
                let mut out = Vec::new();
                let mut budget = MAX_TOKENS;
                transcribe(&rule.transcriber, &b, site, &mut out, &mut budget)?;
                return Some(out.into_iter().collect());
            }
        }
        None
    }
}

/// The span of the whole invocation `path!( … )`, or of its path when spans cannot be joined.
fn invocation_span(mac: &syn::Macro) -> Span {
    let first = mac
        .path
        .segments
        .first()
        .map_or_else(Span::call_site, |s| s.ident.span());
    let last = match &mac.delimiter {
        syn::MacroDelimiter::Paren(p) => p.span.close(),
        syn::MacroDelimiter::Brace(b) => b.span.close(),
        syn::MacroDelimiter::Bracket(b) => b.span.close(),
    };
    first.join(last).unwrap_or(first)
}

/// The rules of a `macro_rules!` body: `(matcher) => {transcriber}` separated by `;`. A body
/// that does not have this shape gives no rules.
fn parse_rules(body: TokenStream) -> Vec<MacroRule> {
    let tts: Vec<TokenTree> = body.into_iter().collect();
    let mut rules = Vec::new();
    let mut i = 0;
    while i < tts.len() {
        let (Some(TokenTree::Group(m)), Some(TokenTree::Punct(eq)), Some(TokenTree::Punct(gt))) =
            (tts.get(i), tts.get(i + 1), tts.get(i + 2))
        else {
            return Vec::new();
        };
        let Some(TokenTree::Group(t)) = tts.get(i + 3) else {
            return Vec::new();
        };
        if eq.as_char() != '=' || gt.as_char() != '>' {
            return Vec::new();
        }
        rules.push(MacroRule {
            matcher: m.stream().into_iter().collect(),
            transcriber: t.stream().into_iter().collect(),
        });
        i += 4;
        if matches!(tts.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ';') {
            i += 1;
        }
    }
    rules
}

/// What a metavariable matched: one fragment, or one per repetition.
#[derive(Clone, Debug)]
enum Fragment {
    One(Vec<TokenTree>, Frag),
    Many(Vec<Fragment>),
}

type Bindings = HashMap<String, Fragment>;

/// Fragment kinds, by how they are matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frag {
    Ident,
    Lifetime,
    Literal,
    Tt,
    Block,
    Expr,
    Ty,
    Pat,
    Path,
    Stmt,
    Item,
    Vis,
    Meta,
}

impl Frag {
    fn of(name: &str) -> Option<Frag> {
        Some(match name {
            "ident" => Frag::Ident,
            "lifetime" => Frag::Lifetime,
            "literal" => Frag::Literal,
            "tt" => Frag::Tt,
            "block" => Frag::Block,
            "expr" | "expr_2021" => Frag::Expr,
            "ty" => Frag::Ty,
            "pat" | "pat_param" => Frag::Pat,
            "path" => Frag::Path,
            "stmt" => Frag::Stmt,
            "item" => Frag::Item,
            "vis" => Frag::Vis,
            "meta" => Frag::Meta,
            _ => return None,
        })
    }
}

/// One element of a matcher.
enum Matcher<'a> {
    Var(String, Frag),
    Repeat {
        sub: Vec<TokenTree>,
        sep: Option<&'a TokenTree>,
        op: char,
    },
    Group(&'a Group),
    Token(&'a TokenTree),
}

/// Reads the matcher element at `i`; returns it and the index after it.
fn matcher_at(m: &[TokenTree], i: usize) -> Option<(Matcher<'_>, usize)> {
    let tt = m.get(i)?;
    if let TokenTree::Punct(p) = tt {
        if p.as_char() == '$' {
            match m.get(i + 1) {
                Some(TokenTree::Ident(name)) => {
                    // `$name:frag`
                    if let (Some(TokenTree::Punct(colon)), Some(TokenTree::Ident(kind))) =
                        (m.get(i + 2), m.get(i + 3))
                    {
                        if colon.as_char() == ':' {
                            let frag = Frag::of(&kind.to_string())?;
                            return Some((Matcher::Var(name.to_string(), frag), i + 4));
                        }
                    }
                    // `$crate` and the like: a literal token.
                    return Some((Matcher::Token(tt), i + 1));
                }
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
                    let sub: Vec<TokenTree> = g.stream().into_iter().collect();
                    let (sep, op, next) = repeat_tail(m, i + 2)?;
                    return Some((Matcher::Repeat { sub, sep, op }, next));
                }
                _ => {}
            }
        }
    }
    Some(match tt {
        TokenTree::Group(g) => (Matcher::Group(g), i + 1),
        other => (Matcher::Token(other), i + 1),
    })
}

/// After `$( … )` at `i`: an optional separator token and the operator `*`, `+` or `?`.
fn repeat_tail(m: &[TokenTree], i: usize) -> Option<(Option<&TokenTree>, char, usize)> {
    let op_of = |tt: Option<&TokenTree>| match tt {
        Some(TokenTree::Punct(p)) if matches!(p.as_char(), '*' | '+' | '?') => Some(p.as_char()),
        _ => None,
    };
    if let Some(op) = op_of(m.get(i)) {
        return Some((None, op, i + 1));
    }
    let sep = m.get(i)?;
    let op = op_of(m.get(i + 1))?;
    Some((Some(sep), op, i + 2))
}

fn same_token(a: &TokenTree, b: &TokenTree) -> bool {
    match (a, b) {
        (TokenTree::Ident(x), TokenTree::Ident(y)) => x == y,
        (TokenTree::Punct(x), TokenTree::Punct(y)) => x.as_char() == y.as_char(),
        (TokenTree::Literal(x), TokenTree::Literal(y)) => x.to_string() == y.to_string(),
        (TokenTree::Group(x), TokenTree::Group(y)) => {
            x.delimiter() == y.delimiter() && x.stream().to_string() == y.stream().to_string()
        }
        _ => false,
    }
}

/// Matches the matcher `m` against `input` from `pos`; returns the position after the match.
fn match_seq(
    m: &[TokenTree],
    input: &[TokenTree],
    mut pos: usize,
    b: &mut Bindings,
) -> Option<usize> {
    let mut i = 0;
    while i < m.len() {
        let (el, next) = matcher_at(m, i)?;
        i = next;
        match el {
            Matcher::Token(t) => {
                if !same_token(t, input.get(pos)?) {
                    return None;
                }
                pos += 1;
            }
            Matcher::Group(g) => {
                let TokenTree::Group(ig) = input.get(pos)? else {
                    return None;
                };
                if ig.delimiter() != g.delimiter() {
                    return None;
                }
                let sub: Vec<TokenTree> = g.stream().into_iter().collect();
                let inner: Vec<TokenTree> = ig.stream().into_iter().collect();
                if match_seq(&sub, &inner, 0, b)? != inner.len() {
                    return None;
                }
                pos += 1;
            }
            Matcher::Var(name, frag) => {
                let n = fragment_len(frag, &input[pos.min(input.len())..])?;
                b.insert(name, Fragment::One(input[pos..pos + n].to_vec(), frag));
                pos += n;
            }
            Matcher::Repeat { sub, sep, op } => {
                let mut iterations: Vec<Bindings> = Vec::new();
                let mut at = pos;
                // Bounded by the input: every repetition consumes at least one token.
                loop {
                    let start = match (iterations.is_empty(), sep) {
                        (false, Some(sep)) => match input.get(at) {
                            Some(t) if same_token(sep, t) => at + 1,
                            _ => break,
                        },
                        _ => at,
                    };
                    let mut ib = Bindings::new();
                    match match_seq(&sub, input, start, &mut ib) {
                        Some(end) if end > at => {
                            iterations.push(ib);
                            at = end;
                        }
                        _ => break,
                    }
                    if op == '?' {
                        break;
                    }
                }
                if op == '+' && iterations.is_empty() {
                    return None;
                }
                let mut names = Vec::new();
                metavar_names(&sub, &mut names);
                for name in names {
                    let per: Vec<Fragment> = iterations
                        .iter()
                        .filter_map(|ib| ib.get(&name).cloned())
                        .collect();
                    b.insert(name, Fragment::Many(per));
                }
                pos = at;
            }
        }
    }
    Some(pos)
}

/// The names of the metavariables a matcher binds (at any depth).
fn metavar_names(m: &[TokenTree], out: &mut Vec<String>) {
    let mut i = 0;
    while i < m.len() {
        let Some((el, next)) = matcher_at(m, i) else {
            return;
        };
        i = next;
        match el {
            Matcher::Var(name, _) => out.push(name),
            Matcher::Repeat { sub, .. } => metavar_names(&sub, out),
            Matcher::Group(g) => {
                let sub: Vec<TokenTree> = g.stream().into_iter().collect();
                metavar_names(&sub, out);
            }
            Matcher::Token(_) => {}
        }
    }
}

/// How many token trees at the start of `input` a fragment of kind `frag` takes.
fn fragment_len(frag: Frag, input: &[TokenTree]) -> Option<usize> {
    match frag {
        Frag::Tt => input.first().map(|_| 1),
        Frag::Ident => match input.first()? {
            TokenTree::Ident(_) => Some(1),
            _ => None,
        },
        Frag::Lifetime => match (input.first()?, input.get(1)?) {
            (TokenTree::Punct(p), TokenTree::Ident(_)) if p.as_char() == '\'' => Some(2),
            _ => None,
        },
        Frag::Literal => match input.first()? {
            TokenTree::Literal(_) => Some(1),
            TokenTree::Ident(i) if i == "true" || i == "false" => Some(1),
            TokenTree::Punct(p) if p.as_char() == '-' => match input.get(1)? {
                TokenTree::Literal(_) => Some(2),
                _ => None,
            },
            _ => None,
        },
        Frag::Block => match input.first()? {
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => Some(1),
            _ => None,
        },
        _ => {
            let stream: TokenStream = input.iter().cloned().collect();
            let total = input.len();
            let parser = move |s: ParseStream| -> syn::Result<usize> {
                match frag {
                    Frag::Expr => {
                        s.parse::<syn::Expr>()?;
                    }
                    Frag::Ty => {
                        s.parse::<syn::Type>()?;
                    }
                    Frag::Pat => {
                        syn::Pat::parse_multi_with_leading_vert(s)?;
                    }
                    Frag::Path => {
                        s.parse::<syn::Path>()?;
                    }
                    Frag::Stmt => {
                        s.parse::<syn::Stmt>()?;
                    }
                    Frag::Item => {
                        s.parse::<syn::Item>()?;
                    }
                    Frag::Vis => {
                        s.parse::<syn::Visibility>()?;
                    }
                    Frag::Meta => {
                        s.parse::<syn::Meta>()?;
                    }
                    _ => return Err(s.error("unexpected fragment")),
                }
                let rest: TokenStream = s.parse()?;
                Ok(total - rest.into_iter().count())
            };
            let n = parser.parse2(stream).ok()?;
            // A fragment that must be something but is nothing (`vis` may be empty).
            (n > 0 || frag == Frag::Vis).then_some(n)
        }
    }
}

/// Writes the transcription of `t` under bindings `b` to `out`; `None` when it is not
/// understood or exceeds the token budget.
fn transcribe(
    t: &[TokenTree],
    b: &Bindings,
    site: Span,
    out: &mut Vec<TokenTree>,
    budget: &mut usize,
) -> Option<()> {
    let mut i = 0;
    while i < t.len() {
        *budget = budget.checked_sub(1)?;
        let tt = &t[i];
        if let TokenTree::Punct(p) = tt {
            if p.as_char() == '$' {
                match t.get(i + 1) {
                    Some(TokenTree::Ident(name)) if name == "crate" => {
                        out.push(TokenTree::Ident(proc_macro2::Ident::new("crate", site)));
                        i += 2;
                        continue;
                    }
                    Some(TokenTree::Ident(name)) => {
                        match b.get(&name.to_string())? {
                            Fragment::One(tokens, frag) => substitute(tokens, *frag, out, budget)?,
                            Fragment::Many(_) => return None,
                        }
                        i += 2;
                        continue;
                    }
                    Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
                        let sub: Vec<TokenTree> = g.stream().into_iter().collect();
                        let (sep, _op, next) = repeat_tail(t, i + 2)?;
                        repeat(&sub, sep, b, site, out, budget)?;
                        i = next;
                        continue;
                    }
                    _ => {}
                }
            }
        }
        match tt {
            TokenTree::Group(g) => {
                let sub: Vec<TokenTree> = g.stream().into_iter().collect();
                let mut inner = Vec::new();
                transcribe(&sub, b, site, &mut inner, budget)?;
                let mut ng = Group::new(g.delimiter(), inner.into_iter().collect());
                ng.set_span(site);
                out.push(TokenTree::Group(ng));
            }
            other => {
                let mut c = other.clone();
                c.set_span(site);
                out.push(c);
            }
        }
        i += 1;
    }
    Some(())
}

/// Transcribes `$( sub ) sep op`: once per repetition of the repeated metavariables `sub`
/// uses (all of one length), with the separator between.
fn repeat(
    sub: &[TokenTree],
    sep: Option<&TokenTree>,
    b: &Bindings,
    site: Span,
    out: &mut Vec<TokenTree>,
    budget: &mut usize,
) -> Option<()> {
    let mut used = Vec::new();
    transcriber_vars(sub, &mut used);
    let mut len: Option<usize> = None;
    for name in &used {
        if let Some(Fragment::Many(v)) = b.get(name) {
            match len {
                Some(l) if l != v.len() => return None,
                _ => len = Some(v.len()),
            }
        }
    }
    let n = len?;
    for k in 0..n {
        if k > 0 {
            if let Some(sep) = sep {
                let mut s = sep.clone();
                s.set_span(site);
                out.push(s);
            }
        }
        let mut inner = b.clone();
        for name in &used {
            if let Some(Fragment::Many(v)) = b.get(name) {
                inner.insert(name.clone(), v.get(k)?.clone());
            }
        }
        transcribe(sub, &inner, site, out, budget)?;
    }
    Some(())
}

/// The metavariable names a transcriber part mentions.
fn transcriber_vars(t: &[TokenTree], out: &mut Vec<String>) {
    for (i, tt) in t.iter().enumerate() {
        match tt {
            TokenTree::Punct(p) if p.as_char() == '$' => {
                if let Some(TokenTree::Ident(name)) = t.get(i + 1) {
                    out.push(name.to_string());
                }
            }
            TokenTree::Group(g) => {
                let sub: Vec<TokenTree> = g.stream().into_iter().collect();
                transcriber_vars(&sub, out);
            }
            _ => {}
        }
    }
}

/// Emits a matched fragment. An `expr` that is not a single operand (`a + b`, `*p`, `&x`,
/// a closure) is parenthesized, as the compiler keeps it one expression; other fragments and
/// operands (paths, field chains, calls) are spliced as written.
fn substitute(
    tokens: &[TokenTree],
    frag: Frag,
    out: &mut Vec<TokenTree>,
    budget: &mut usize,
) -> Option<()> {
    *budget = budget.checked_sub(tokens.len())?;
    if frag == Frag::Expr && !is_operand(tokens) {
        let span = tokens.first().map_or_else(Span::call_site, |t| t.span());
        let end = tokens.last().map_or(span, |t| t.span());
        let mut g = Group::new(Delimiter::Parenthesis, tokens.iter().cloned().collect());
        g.set_span(span.join(end).unwrap_or(span));
        out.push(TokenTree::Group(g));
    } else {
        out.extend(tokens.iter().cloned());
    }
    Some(())
}

/// Whether an expression's tokens are a postfix chain on a primary expression (a path,
/// literal, group, call, method call, field, index, `?`, `.await`, macro): splicing it next to
/// other tokens keeps it one expression.
fn is_operand(tokens: &[TokenTree]) -> bool {
    let Ok(e) = syn::parse2::<syn::Expr>(tokens.iter().cloned().collect()) else {
        return false;
    };
    let mut e = &e;
    loop {
        e = match e {
            syn::Expr::MethodCall(m) => &m.receiver,
            syn::Expr::Field(f) => &f.base,
            syn::Expr::Call(c) => &c.func,
            syn::Expr::Index(x) => &x.expr,
            syn::Expr::Try(t) => &t.expr,
            syn::Expr::Await(a) => &a.base,
            syn::Expr::Path(_)
            | syn::Expr::Lit(_)
            | syn::Expr::Paren(_)
            | syn::Expr::Tuple(_)
            | syn::Expr::Array(_)
            | syn::Expr::Macro(_) => return true,
            _ => return false,
        }
    }
}
