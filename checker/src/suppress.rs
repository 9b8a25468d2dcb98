//! Suppression directives: collecting them from a file and applying them to its findings.
//!
//! Two forms are recognised.
//!
//! **Comment form** — a plain line comment (not a `///` or `//!` doc comment):
//!
//! ```text
//! // heisen: allow(atomic-load-store) -- only the ledger thread writes `balance`
//! // heisen: allow(atomic-load-store, wall-clock) -- several rules or group names
//! ```
//!
//! The text after the closing parenthesis, with an optional leading `--` removed and
//! trimmed, is the reason (up to a `//~` fixture marker, which is not part of it). A
//! comment that starts with `heisen:` but is not followed by a
//! well-formed `allow(..)` is reported as a malformed directive (see
//! [`Directive::error`]). Other comments are ignored. Comments are found by a small lexer
//! over the raw text ([`scan_comments`]) that skips string, byte-string, C-string, raw-string
//! and char literals, so `"// heisen: allow(x)"` inside a string is not a directive.
//!
//! Coverage: a comment that follows code on its line (*trailing*) covers its own line and
//! the next one. A comment on a line of its own covers its own line through the next line
//! that has code, skipping blank and comment-only lines (so stacked directives all apply to
//! the statement below them).
//!
//! **Attribute form** — on any item, impl/trait item, statement (`let`), expression, match
//! arm, field or variant, or as an inner attribute of a file or module:
//!
//! ```text
//! #[cfg_attr(any(), heisen::allow(atomic-load-store, reason = "single writer"))]
//! ```
//!
//! `cfg_attr(any(), ..)` makes rustc ignore it (any cfg predicate is accepted; several
//! `heisen::allow(..)` in one `cfg_attr` are all read). A bare `#[heisen::allow(..)]` is read
//! too, for projects that register the tool. Rule names are kebab-case token sequences
//! (`atomic-load-store` is lexed as `atomic - load - store` and joined back) or string
//! literals. The attribute covers every line of the annotated node.
//!
//! Matching: a finding is suppressed when its start line (`region.line`) is covered by a
//! directive naming its rule or its group. A directive without a reason *still suppresses*;
//! the missing reason is reported as `suppression-without-reason`. A named rule that
//! suppresses nothing, an unknown name, and a malformed directive are reported as
//! `unused-suppression`.

use crate::finding::{Finding, Group, Region};
use crate::rules::meta::{SUPPRESSION_WITHOUT_REASON, UNUSED_SUPPRESSION};
use crate::rules::RuleMeta;
use proc_macro2::{TokenStream, TokenTree};
use std::ops::RangeInclusive;
use syn::spanned::Spanned;
use syn::visit::Visit;

/// How a directive was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Form {
    /// `// heisen: allow(..) -- reason`
    Comment,
    /// `#[cfg_attr(any(), heisen::allow(.., reason = ".."))]`
    Attribute,
}

/// One suppression directive. Serializable: the result cache stores a file's directives.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Directive {
    /// Rule or group names, as written (kebab-case).
    pub rules: Vec<String>,
    /// The reason; `None` when missing or empty.
    pub reason: Option<String>,
    /// The lines it covers (1-based, inclusive).
    pub lines: RangeInclusive<usize>,
    /// Where the directive itself is written.
    pub region: Region,
    /// Comment or attribute.
    pub form: Form,
    /// Set when the directive could not be read (e.g. `// heisen: allow` without
    /// parentheses); such a directive suppresses nothing and is reported as
    /// `unused-suppression` with this message.
    pub error: Option<String>,
}

/// The result of [`apply`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Findings not suppressed (including findings of other files, passed through).
    pub kept: Vec<Finding>,
    /// How many findings were suppressed.
    pub suppressed: usize,
    /// `unused-suppression` and `suppression-without-reason` findings, sorted by position.
    pub meta: Vec<Finding>,
}

/// A plain (non-doc) line comment found by [`scan_comments`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineComment {
    /// 1-based line.
    pub line: usize,
    /// 1-based char column of the first `/`.
    pub column: usize,
    /// The text after `//`.
    pub body: String,
    /// Whether code precedes the comment on its line.
    pub trailing: bool,
}

/// Result of lexing a file for comments.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    /// Plain line comments, in order.
    pub comments: Vec<LineComment>,
    /// `has_code[i]` tells whether line `i + 1` has any code (text outside comments).
    pub has_code: Vec<bool>,
}

/// Lexes `text` just enough to find line comments outside literals.
///
/// Handles `"..."` (with escapes), `b".."`, `c".."`, raw strings `r#".."#` / `br".."` /
/// `cr".."` with any number of hashes, char and byte literals (`'x'`, `'\''`, `b'"'`) versus
/// lifetimes (`'a`), and nested block comments. Never panics; an unterminated literal or
/// comment runs to the end of the text.
pub fn scan_comments(text: &str) -> Scan {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    // (line, column) of every char, plus one past the end.
    let mut pos = Vec::with_capacity(n + 1);
    let (mut line, mut col) = (1usize, 1usize);
    for &ch in &chars {
        pos.push((line, col));
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    pos.push((line, col));
    let mut has_code = vec![false; line];
    let mut comments = Vec::new();
    let mut i = 0usize;
    while i < n {
        let ch = chars[i];
        let next = chars.get(i + 1).copied();
        if ch == '/' && next == Some('/') {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(n, |k| i + k);
            let body: String = chars[i + 2..end].iter().collect();
            let is_doc =
                (body.starts_with('/') && !body.starts_with("//")) || body.starts_with('!');
            let (l, c) = pos[i];
            if !is_doc {
                comments.push(LineComment {
                    line: l,
                    column: c,
                    body,
                    trailing: has_code.get(l - 1).copied().unwrap_or(false),
                });
            }
            i = end;
        } else if ch == '/' && next == Some('*') {
            i = skip_block_comment(&chars, i);
        } else {
            let end = skip_token(&chars, i).clamp(i + 1, n);
            for k in i..end {
                if !chars[k].is_whitespace() {
                    if let Some(slot) = has_code.get_mut(pos[k].0 - 1) {
                        *slot = true;
                    }
                }
            }
            i = end;
        }
    }
    Scan { comments, has_code }
}

/// Index just past the block comment starting at `i` (`/*`), nesting respected.
fn skip_block_comment(chars: &[char], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < chars.len() {
        let next = chars.get(i + 1).copied();
        if chars[i] == '/' && next == Some('*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && next == Some('/') {
            depth = depth.saturating_sub(1);
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    chars.len()
}

/// Index just past the closing `"` of a string whose body starts at `j`.
fn skip_quoted(chars: &[char], mut j: usize) -> usize {
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            '"' => return j + 1,
            _ => j += 1,
        }
    }
    chars.len()
}

/// Index just past the token (literal, identifier or single char) starting at `i`.
fn skip_token(chars: &[char], i: usize) -> usize {
    let n = chars.len();
    let at = |k: usize| chars.get(k).copied();
    let ch = chars[i];
    if ch == '"' {
        return skip_quoted(chars, i + 1);
    }
    if ch == '\'' {
        return skip_char_or_lifetime(chars, i);
    }
    if ch.is_alphabetic() || ch == '_' {
        let mut j = i + 1;
        while j < n && (chars[j].is_alphanumeric() || chars[j] == '_') {
            j += 1;
        }
        let word: String = chars[i..j].iter().collect();
        match (word.as_str(), at(j)) {
            ("r" | "br" | "cr", Some('#' | '"')) => {
                let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
                if at(j + hashes) != Some('"') {
                    return j; // raw identifier `r#ident`
                }
                let mut k = j + hashes + 1;
                while k < n {
                    if chars[k] == '"'
                        && chars[k + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|&&c| c == '#')
                            .count()
                            == hashes
                    {
                        return k + 1 + hashes;
                    }
                    k += 1;
                }
                return n;
            }
            ("b" | "c", Some('"')) => return skip_quoted(chars, j + 1),
            ("b", Some('\'')) => return skip_char_or_lifetime(chars, j),
            _ => return j,
        }
    }
    i + 1
}

/// `'x'`, `'\n'`, `'\u{..}'` (a char literal) or `'a` (a lifetime or label) at `i`.
fn skip_char_or_lifetime(chars: &[char], i: usize) -> usize {
    let n = chars.len();
    match (chars.get(i + 1), chars.get(i + 2)) {
        (Some('\\'), _) => {
            let mut k = i + 3;
            while k < n && chars[k] != '\'' && chars[k] != '\n' {
                k += 1;
            }
            (k + 1).min(n)
        }
        (Some(_), Some('\'')) => i + 3,
        _ => i + 1,
    }
}

/// Parses the body of a line comment (the text after `//`) as a directive.
///
/// Returns `None` when the comment is not a heisen directive at all (does not start with
/// `heisen:` followed by `allow`), `Some(Err(message))` when it is malformed, and
/// `Some(Ok((rules, reason)))` otherwise.
#[allow(clippy::type_complexity)]
fn parse_comment_directive(body: &str) -> Option<Result<(Vec<String>, Option<String>), String>> {
    let rest = body.trim_start().strip_prefix("heisen:")?.trim_start();
    let rest = rest.strip_prefix("allow")?;
    let rest = rest.trim_start();
    let Some(inner) = rest.strip_prefix('(') else {
        return Some(Err(
            "malformed suppression: expected `heisen: allow(rule, ..) -- reason`".to_string(),
        ));
    };
    let Some(close) = inner.find(')') else {
        return Some(Err(
            "malformed suppression: missing `)` in `heisen: allow(..)`".to_string(),
        ));
    };
    let rules: Vec<String> = inner[..close]
        .split(',')
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    if rules.is_empty() {
        return Some(Err(
            "malformed suppression: `heisen: allow()` names no rule".to_string(),
        ));
    }
    let after = inner[close + 1..].trim();
    // A trailing fixture marker (`//~ rule`) is not part of the reason.
    let after = after.find("//~").map_or(after, |i| after[..i].trim());
    let after = after.strip_prefix("--").unwrap_or(after).trim();
    let reason = (!after.is_empty()).then(|| after.to_string());
    Some(Ok((rules, reason)))
}

/// Collects every directive of a file: comment directives from `text` and attribute
/// directives from `file` (the parse of `text`).
pub fn collect(text: &str, file: &syn::File) -> Vec<Directive> {
    // Both forms spell `heisen` in the source text; most files never do, and skip both the
    // comment scan and the attribute walk.
    if !text.contains("heisen") {
        return Vec::new();
    }
    let scan = scan_comments(text);
    let mut out = Vec::new();
    for c in &scan.comments {
        let Some(parsed) = parse_comment_directive(&c.body) else {
            continue;
        };
        let last = if c.trailing {
            c.line + 1
        } else {
            (c.line + 1..=scan.has_code.len())
                .find(|&l| scan.has_code.get(l - 1).copied().unwrap_or(false))
                .unwrap_or(c.line + 1)
        };
        let region = Region {
            line: c.line,
            column: c.column,
            end_line: c.line,
            end_column: c.column + 2 + c.body.trim_end().chars().count(),
        };
        let (rules, reason, error) = match parsed {
            Ok((rules, reason)) => (rules, reason, None),
            Err(e) => (Vec::new(), None, Some(e)),
        };
        out.push(Directive {
            rules,
            reason,
            lines: c.line..=last,
            region,
            form: Form::Comment,
            error,
        });
    }
    let mut visitor = AttrVisitor { out: &mut out };
    let file_lines = text.lines().count().max(1);
    visitor.attrs(&file.attrs, || 1..=file_lines);
    visitor.visit_file(file);
    out.sort_by_key(|d| d.region);
    out
}

struct AttrVisitor<'a> {
    out: &'a mut Vec<Directive>,
}

fn node_lines(node: &impl Spanned) -> RangeInclusive<usize> {
    let span = node.span();
    let start = span.start().line.max(1);
    start..=span.end().line.max(start)
}

fn is_heisen_allow(path: &syn::Path) -> bool {
    path.leading_colon.is_none()
        && path.segments.len() == 2
        && path.segments[0].ident == "heisen"
        && path.segments[1].ident == "allow"
}

impl AttrVisitor<'_> {
    /// Directives among `attrs`; `lines` (the lines of the node carrying them) is computed
    /// only when there is one, since a node's span costs a walk over the whole node.
    fn attrs(&mut self, attrs: &[syn::Attribute], lines: impl Fn() -> RangeInclusive<usize>) {
        for attr in attrs {
            if !attr.path().is_ident("cfg_attr") && !is_heisen_allow(attr.path()) {
                continue;
            }
            let region = Region::from_span(attr.span());
            let mut metas = Vec::new();
            if attr.path().is_ident("cfg_attr") {
                let parsed = attr.parse_args_with(
                    syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
                );
                if let Ok(list) = parsed {
                    metas.extend(
                        list.into_iter()
                            .skip(1)
                            .filter(|m| is_heisen_allow(m.path())),
                    );
                }
            } else if is_heisen_allow(attr.path()) {
                metas.push(attr.meta.clone());
            }
            for meta in metas {
                let (rules, reason, error) = match meta {
                    syn::Meta::List(list) => parse_allow_tokens(list.tokens),
                    _ => (
                        Vec::new(),
                        None,
                        Some(
                            "malformed suppression: expected `heisen::allow(rule, .., reason = \"..\")`"
                                .to_string(),
                        ),
                    ),
                };
                self.out.push(Directive {
                    rules,
                    reason,
                    lines: lines(),
                    region,
                    form: Form::Attribute,
                    error,
                });
            }
        }
    }
}

/// Parses the tokens inside `heisen::allow(..)`: comma-separated rule names (token
/// sequences joined without spaces, or string literals) and `reason = "..."`.
fn parse_allow_tokens(tokens: TokenStream) -> (Vec<String>, Option<String>, Option<String>) {
    let mut parts: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for tt in tokens {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(Vec::new()),
            _ => {
                if let Some(last) = parts.last_mut() {
                    last.push(tt);
                }
            }
        }
    }
    let mut rules = Vec::new();
    let mut reason = None;
    let mut error = None;
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        let is_reason = matches!(
            (part.first(), part.get(1)),
            (Some(TokenTree::Ident(id)), Some(TokenTree::Punct(eq)))
                if id == "reason" && eq.as_char() == '='
        );
        if is_reason {
            let value: TokenStream = part[2..].iter().cloned().collect();
            match syn::parse2::<syn::LitStr>(value) {
                Ok(lit) => {
                    let text = lit.value().trim().to_string();
                    reason = (!text.is_empty()).then_some(text);
                }
                Err(_) => {
                    error =
                        Some("malformed suppression: `reason` must be a string literal".to_string())
                }
            }
            continue;
        }
        let name: String = if let [TokenTree::Literal(lit)] = part.as_slice() {
            match syn::parse2::<syn::LitStr>(TokenTree::Literal(lit.clone()).into()) {
                Ok(s) => s.value(),
                Err(_) => lit.to_string(),
            }
        } else {
            part.iter().map(|t| t.to_string()).collect()
        };
        rules.push(name);
    }
    if rules.is_empty() && error.is_none() {
        error = Some("malformed suppression: `heisen::allow(..)` names no rule".to_string());
    }
    if error.is_some() {
        rules.clear();
    }
    (rules, reason, error)
}

macro_rules! visit_with_attrs {
    ($($method:ident($ty:ty) => $walk:path;)*) => {
        $(
            fn $method(&mut self, node: &'ast $ty) {
                self.attrs(attrs_of(node), || node_lines(node));
                $walk(self, node);
            }
        )*
    };
}

impl<'ast> Visit<'ast> for AttrVisitor<'_> {
    visit_with_attrs! {
        visit_item(syn::Item) => syn::visit::visit_item;
        visit_impl_item(syn::ImplItem) => syn::visit::visit_impl_item;
        visit_trait_item(syn::TraitItem) => syn::visit::visit_trait_item;
        visit_foreign_item(syn::ForeignItem) => syn::visit::visit_foreign_item;
        visit_local(syn::Local) => syn::visit::visit_local;
        visit_stmt_macro(syn::StmtMacro) => syn::visit::visit_stmt_macro;
        visit_expr(syn::Expr) => syn::visit::visit_expr;
        visit_arm(syn::Arm) => syn::visit::visit_arm;
        visit_field(syn::Field) => syn::visit::visit_field;
        visit_variant(syn::Variant) => syn::visit::visit_variant;
        visit_field_value(syn::FieldValue) => syn::visit::visit_field_value;
    }
}

/// The attributes of a node that can carry them.
trait HasAttrs {
    fn attrs_ref(&self) -> &[syn::Attribute];
}

fn attrs_of<T: HasAttrs>(node: &T) -> &[syn::Attribute] {
    node.attrs_ref()
}

macro_rules! simple_attrs {
    ($($ty:ty),*) => {
        $(impl HasAttrs for $ty {
            fn attrs_ref(&self) -> &[syn::Attribute] {
                &self.attrs
            }
        })*
    };
}

simple_attrs!(
    syn::Local,
    syn::StmtMacro,
    syn::Arm,
    syn::Field,
    syn::Variant,
    syn::FieldValue
);

impl HasAttrs for syn::Item {
    fn attrs_ref(&self) -> &[syn::Attribute] {
        use syn::Item::*;
        match self {
            Const(i) => &i.attrs,
            Enum(i) => &i.attrs,
            ExternCrate(i) => &i.attrs,
            Fn(i) => &i.attrs,
            ForeignMod(i) => &i.attrs,
            Impl(i) => &i.attrs,
            Macro(i) => &i.attrs,
            Mod(i) => &i.attrs,
            Static(i) => &i.attrs,
            Struct(i) => &i.attrs,
            Trait(i) => &i.attrs,
            TraitAlias(i) => &i.attrs,
            Type(i) => &i.attrs,
            Union(i) => &i.attrs,
            Use(i) => &i.attrs,
            _ => &[],
        }
    }
}

impl HasAttrs for syn::ImplItem {
    fn attrs_ref(&self) -> &[syn::Attribute] {
        match self {
            syn::ImplItem::Const(i) => &i.attrs,
            syn::ImplItem::Fn(i) => &i.attrs,
            syn::ImplItem::Type(i) => &i.attrs,
            syn::ImplItem::Macro(i) => &i.attrs,
            _ => &[],
        }
    }
}

impl HasAttrs for syn::TraitItem {
    fn attrs_ref(&self) -> &[syn::Attribute] {
        match self {
            syn::TraitItem::Const(i) => &i.attrs,
            syn::TraitItem::Fn(i) => &i.attrs,
            syn::TraitItem::Type(i) => &i.attrs,
            syn::TraitItem::Macro(i) => &i.attrs,
            _ => &[],
        }
    }
}

impl HasAttrs for syn::ForeignItem {
    fn attrs_ref(&self) -> &[syn::Attribute] {
        match self {
            syn::ForeignItem::Fn(i) => &i.attrs,
            syn::ForeignItem::Static(i) => &i.attrs,
            syn::ForeignItem::Type(i) => &i.attrs,
            syn::ForeignItem::Macro(i) => &i.attrs,
            _ => &[],
        }
    }
}

impl HasAttrs for syn::Expr {
    fn attrs_ref(&self) -> &[syn::Attribute] {
        use syn::Expr::*;
        match self {
            Array(e) => &e.attrs,
            Assign(e) => &e.attrs,
            Async(e) => &e.attrs,
            Await(e) => &e.attrs,
            Binary(e) => &e.attrs,
            Block(e) => &e.attrs,
            Break(e) => &e.attrs,
            Call(e) => &e.attrs,
            Cast(e) => &e.attrs,
            Closure(e) => &e.attrs,
            Const(e) => &e.attrs,
            Continue(e) => &e.attrs,
            Field(e) => &e.attrs,
            ForLoop(e) => &e.attrs,
            Group(e) => &e.attrs,
            If(e) => &e.attrs,
            Index(e) => &e.attrs,
            Infer(e) => &e.attrs,
            Let(e) => &e.attrs,
            Lit(e) => &e.attrs,
            Loop(e) => &e.attrs,
            Macro(e) => &e.attrs,
            Match(e) => &e.attrs,
            MethodCall(e) => &e.attrs,
            Paren(e) => &e.attrs,
            Path(e) => &e.attrs,
            Range(e) => &e.attrs,
            RawAddr(e) => &e.attrs,
            Reference(e) => &e.attrs,
            Repeat(e) => &e.attrs,
            Return(e) => &e.attrs,
            Struct(e) => &e.attrs,
            Try(e) => &e.attrs,
            TryBlock(e) => &e.attrs,
            Tuple(e) => &e.attrs,
            Unary(e) => &e.attrs,
            Unsafe(e) => &e.attrs,
            While(e) => &e.attrs,
            Yield(e) => &e.attrs,
            _ => &[],
        }
    }
}

/// Where a name in a directive points.
enum Target {
    Rule(String),
    Group(Group),
    Unknown,
}

/// Applies `directives` (from [`collect`]) to the `findings` of `file`.
///
/// Findings of other files are passed through to `kept` untouched. A name in a directive is
/// a group when [`Group::from_name`] knows it, else a rule when `rule_group_of` maps it to a
/// group (`None` = unknown name, reported as `unused-suppression`). Meta findings are at the meta rules' default
/// levels; the caller applies configured levels afterwards.
pub fn apply(
    file: &str,
    findings: Vec<Finding>,
    directives: &[Directive],
    rule_group_of: impl Fn(&str) -> Option<Group>,
) -> Applied {
    let targets: Vec<Vec<Target>> = directives
        .iter()
        .map(|d| {
            d.rules
                .iter()
                .map(|name| {
                    if let Some(g) = Group::from_name(name) {
                        Target::Group(g)
                    } else if rule_group_of(name).is_some() {
                        Target::Rule(name.clone())
                    } else {
                        Target::Unknown
                    }
                })
                .collect()
        })
        .collect();
    let mut used: Vec<Vec<bool>> = directives
        .iter()
        .map(|d| vec![false; d.rules.len()])
        .collect();
    let mut applied = Applied::default();
    for finding in findings {
        let mut hit = false;
        if finding.file == file {
            for (d, directive) in directives.iter().enumerate() {
                if !directive.lines.contains(&finding.region.line) {
                    continue;
                }
                for (r, target) in targets[d].iter().enumerate() {
                    let matches = match target {
                        Target::Rule(name) => name == finding.rule,
                        Target::Group(g) => *g == finding.group,
                        Target::Unknown => false,
                    };
                    if matches {
                        used[d][r] = true;
                        hit = true;
                    }
                }
            }
        }
        if hit {
            applied.suppressed += 1;
        } else {
            applied.kept.push(finding);
        }
    }
    for (d, directive) in directives.iter().enumerate() {
        if let Some(error) = &directive.error {
            applied.meta.push(meta_finding(
                &UNUSED_SUPPRESSION,
                file,
                directive.region,
                error.clone(),
                "write it as `// heisen: allow(rule-name) -- reason` or \
                 `#[cfg_attr(any(), heisen::allow(rule-name, reason = \"...\"))]`"
                    .to_string(),
            ));
            continue;
        }
        let mut unused = Vec::new();
        let mut unknown = 0usize;
        for (r, target) in targets[d].iter().enumerate() {
            let name = &directive.rules[r];
            match target {
                Target::Unknown => {
                    unknown += 1;
                    applied.meta.push(meta_finding(
                        &UNUSED_SUPPRESSION,
                        file,
                        directive.region,
                        format!("unknown rule `{name}`"),
                        "use a rule or group name from `cargo heisen rules`".to_string(),
                    ))
                }
                _ if !used[d][r] => unused.push(format!("`{name}`")),
                _ => {}
            }
        }
        if !unused.is_empty() {
            let lines = if directive.lines.start() == directive.lines.end() {
                format!("line {}", directive.lines.start())
            } else {
                format!(
                    "lines {}-{}",
                    directive.lines.start(),
                    directive.lines.end()
                )
            };
            let help = if unused.len() + unknown == directive.rules.len() {
                "remove the suppression".to_string()
            } else {
                format!("remove {} from the suppression", unused.join(", "))
            };
            applied.meta.push(meta_finding(
                &UNUSED_SUPPRESSION,
                file,
                directive.region,
                format!(
                    "unused suppression: no {} finding on {lines}",
                    unused.join(", ")
                ),
                help,
            ));
        }
        if directive.reason.is_none() {
            let names = directive.rules.join(", ");
            let help = match directive.form {
                Form::Comment => {
                    format!("say why it is safe: `// heisen: allow({names}) -- <reason>`")
                }
                Form::Attribute => {
                    format!("say why it is safe: `heisen::allow({names}, reason = \"...\")`")
                }
            };
            applied.meta.push(meta_finding(
                &SUPPRESSION_WITHOUT_REASON,
                file,
                directive.region,
                format!("suppression of {names} gives no reason"),
                help,
            ));
        }
    }
    applied.meta.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    applied
}

fn meta_finding(
    rule: &'static RuleMeta,
    file: &str,
    region: Region,
    message: String,
    help: String,
) -> Finding {
    Finding {
        rule: rule.name,
        group: rule.group,
        level: rule.default_level,
        file: file.to_string(),
        region,
        message,
        help,
        labels: Vec::new(),
        fix: None,
        function: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Level;

    fn group_of(name: &str) -> Option<Group> {
        match name {
            "atomic-load-store" | "check-then-act" => Some(Group::LostUpdate),
            "wall-clock-ordering" => Some(Group::WallClock),
            "relaxed-any" => Some(Group::MemoryOrdering),
            _ => None,
        }
    }

    fn directives(text: &str) -> Vec<Directive> {
        let file = syn::parse_file(text).expect("test source parses");
        collect(text, &file)
    }

    fn finding(rule: &'static str, line: usize) -> Finding {
        Finding {
            rule,
            group: group_of(rule).unwrap_or(Group::Retry),
            level: Level::Warn,
            file: "src/lib.rs".into(),
            region: Region {
                line,
                column: 5,
                end_line: line,
                end_column: 9,
            },
            message: "m".into(),
            help: "h".into(),
            labels: vec![],
            fix: None,
            function: None,
        }
    }

    fn run(text: &str, findings: Vec<Finding>) -> Applied {
        apply("src/lib.rs", findings, &directives(text), group_of)
    }

    fn meta_messages(a: &Applied) -> Vec<(String, &'static str, usize)> {
        a.meta
            .iter()
            .map(|f| (f.message.clone(), f.rule, f.region.line))
            .collect()
    }

    const SAME_LINE: &str = "fn f() {\n    let b = x.load(SeqCst);\n    x.store(b + 1, SeqCst); // heisen: allow(atomic-load-store) -- single writer\n}\n";

    #[test]
    fn comment_on_same_line() {
        let d = directives(SAME_LINE);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].rules, ["atomic-load-store"]);
        assert_eq!(d[0].reason.as_deref(), Some("single writer"));
        assert_eq!(d[0].region.line, 3);
        assert_eq!(d[0].region.column, 29);
        assert_eq!(d[0].form, Form::Comment);
        let a = run(SAME_LINE, vec![finding("atomic-load-store", 3)]);
        assert_eq!(a.suppressed, 1);
        assert!(a.kept.is_empty());
        assert!(a.meta.is_empty(), "{:?}", a.meta);
    }

    #[test]
    fn comment_on_line_above_and_stacked() {
        let text = "fn f() {\n    // heisen: allow(atomic-load-store) -- single writer\n    // heisen: allow(relaxed-any) -- counter only\n\n    x.store(b + 1, Relaxed);\n    y.store(1, Relaxed);\n}\n";
        let d = directives(text);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].lines, 2..=5);
        assert_eq!(d[1].lines, 3..=5);
        let a = run(
            text,
            vec![
                finding("atomic-load-store", 5),
                finding("relaxed-any", 5),
                // Line 6 is not covered.
                finding("relaxed-any", 6),
            ],
        );
        assert_eq!(a.suppressed, 2);
        assert_eq!(a.kept.len(), 1);
        assert_eq!(a.kept[0].region.line, 6);
        assert!(a.meta.is_empty(), "{:?}", a.meta);
    }

    #[test]
    fn trailing_comment_covers_next_line_only() {
        let text = "fn f() {\n    let b = x.load(SeqCst); // heisen: allow(atomic-load-store) -- r\n    x.store(b, SeqCst);\n    x.store(b, SeqCst);\n}\n";
        let d = directives(text);
        assert_eq!(d[0].lines, 2..=3);
        let a = run(
            text,
            vec![
                finding("atomic-load-store", 3),
                finding("atomic-load-store", 4),
            ],
        );
        assert_eq!(a.suppressed, 1);
        assert_eq!(a.kept[0].region.line, 4);
    }

    #[test]
    fn multiple_rules_and_partial_use() {
        let text = "fn f() {\n    // heisen: allow(atomic-load-store, wall-clock-ordering) -- reviewed\n    x.store(b + 1, SeqCst);\n}\n";
        let d = directives(text);
        assert_eq!(d[0].rules, ["atomic-load-store", "wall-clock-ordering"]);
        let a = run(text, vec![finding("atomic-load-store", 3)]);
        assert_eq!(a.suppressed, 1);
        assert_eq!(
            meta_messages(&a),
            [(
                "unused suppression: no `wall-clock-ordering` finding on lines 2-3".to_string(),
                "unused-suppression",
                2
            )]
        );
        assert_eq!(
            a.meta[0].help,
            "remove `wall-clock-ordering` from the suppression"
        );
    }

    #[test]
    fn group_name() {
        let text = "fn f() {\n    // heisen: allow(lost-update) -- single writer\n    x.store(b + 1, SeqCst);\n}\n";
        let a = run(
            text,
            vec![finding("atomic-load-store", 3), finding("relaxed-any", 3)],
        );
        assert_eq!(a.suppressed, 1);
        assert_eq!(a.kept[0].rule, "relaxed-any");
        assert!(a.meta.is_empty());
    }

    #[test]
    fn group_name_when_lookup_also_knows_groups() {
        let text = "fn f() {\n    // heisen: allow(lost-update) -- single writer\n    x.store(b + 1, SeqCst);\n}\n";
        let lookup = |n: &str| group_of(n).or_else(|| Group::from_name(n));
        let a = apply(
            "src/lib.rs",
            vec![finding("atomic-load-store", 3)],
            &directives(text),
            lookup,
        );
        assert_eq!(a.suppressed, 1);
        assert!(a.meta.is_empty(), "{:?}", a.meta);
    }

    #[test]
    fn fixture_marker_is_not_a_reason() {
        let text = "fn f() {\n    // heisen: allow(atomic-load-store) //~ suppression-without-reason\n    x.store(b + 1, SeqCst);\n}\n";
        assert_eq!(directives(text)[0].reason, None);
        let text = "fn f() {\n    // heisen: allow(atomic-load-store) -- ok //~ x\n    x.store(b + 1, SeqCst);\n}\n";
        assert_eq!(directives(text)[0].reason.as_deref(), Some("ok"));
    }

    #[test]
    fn missing_reason_still_suppresses_and_is_reported() {
        for text in [
            "fn f() {\n    // heisen: allow(atomic-load-store)\n    x.store(b + 1, SeqCst);\n}\n",
            "fn f() {\n    // heisen: allow(atomic-load-store) --   \n    x.store(b + 1, SeqCst);\n}\n",
        ] {
            let a = run(text, vec![finding("atomic-load-store", 3)]);
            assert_eq!(a.suppressed, 1);
            assert_eq!(
                meta_messages(&a),
                [(
                    "suppression of atomic-load-store gives no reason".to_string(),
                    "suppression-without-reason",
                    2
                )]
            );
            assert_eq!(a.meta[0].group, Group::Meta);
            assert_eq!(a.meta[0].level, Level::Warn);
        }
    }

    #[test]
    fn unused_and_unknown() {
        let text = "fn f() {\n    // heisen: allow(atomic-load-store, no-such-rule) -- stale\n    x.fetch_add(1, SeqCst);\n}\n";
        let a = run(text, vec![]);
        assert_eq!(
            meta_messages(&a),
            [
                (
                    "unknown rule `no-such-rule`".to_string(),
                    "unused-suppression",
                    2
                ),
                (
                    "unused suppression: no `atomic-load-store` finding on lines 2-3".to_string(),
                    "unused-suppression",
                    2
                ),
            ]
        );
        assert_eq!(a.meta[1].help, "remove the suppression");
    }

    #[test]
    fn malformed_comment_directive() {
        let text = "fn f() {\n    // heisen: allow atomic-load-store\n    // heisen: allow(\n    // heisen: this is just prose\n    x();\n}\n";
        let d = directives(text);
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|d| d.error.is_some() && d.rules.is_empty()));
        let a = run(text, vec![finding("atomic-load-store", 5)]);
        assert_eq!(a.suppressed, 0);
        assert_eq!(a.meta.len(), 2);
        assert!(a.meta.iter().all(|m| m.rule == "unused-suppression"));
    }

    #[test]
    fn string_literals_are_not_directives() {
        let text = r####"fn f() {
    let a = "// heisen: allow(atomic-load-store) -- in a string";
    let b = r#"// heisen: allow(atomic-load-store) -- raw "quoted" string"#;
    let c = b"// heisen: allow(atomic-load-store) -- bytes";
    let d = '"'; // heisen: allow(relaxed-any) -- real, after a quote char
    let e = "escaped \" // heisen: allow(wall-clock-ordering) -- still string";
    /* // heisen: allow(atomic-load-store) -- block comment */
    /// heisen: allow(atomic-load-store) -- doc comment
    let g = 1;
}
"####;
        let d = directives(text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].rules, ["relaxed-any"]);
        assert_eq!(d[0].region.line, 5);
    }

    #[test]
    fn scanner_lifetimes_chars_and_nesting() {
        let text = "fn f<'a>(x: &'a str) -> char { /* /* nested */ \" */ '\\'' } // c1\nlet s = br##\"a\"# // no\"##; // c2\n'x'; b'\"'; // c3\n";
        let scan = scan_comments(text);
        let bodies: Vec<&str> = scan.comments.iter().map(|c| c.body.as_str()).collect();
        assert_eq!(bodies, [" c1", " c2", " c3"]);
        assert!(scan.comments.iter().all(|c| c.trailing));
        // Unterminated things never panic.
        for t in ["\"abc", "r#\"abc", "/* abc", "'", "b'", "r#", "//", "'\\"] {
            let _ = scan_comments(t);
        }
    }

    #[test]
    fn scanner_never_panics_on_truncated_input() {
        let text = "fn f<'a>() { let s = r##\"x\"# \"##; let c = '\\u{1F980}'; let b = b'\\''; /* a /* b */ */ \"é\\\"€\" } // heisen: allow(x) -- é\n";
        let mut ends: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        ends.push(text.len());
        for end in ends {
            let scan = scan_comments(&text[..end]);
            assert!(scan.comments.len() <= 1);
            for c in &scan.comments {
                let _ = parse_comment_directive(&c.body);
            }
        }
        let full = scan_comments(text);
        assert_eq!(full.comments.len(), 1, "{:?}", full.comments);
        assert_eq!(full.comments[0].body, " heisen: allow(x) -- é");
    }

    #[test]
    fn attribute_on_fn_covers_body() {
        let text = r#"#[cfg_attr(any(), heisen::allow(atomic-load-store, reason = "single writer"))]
fn credit(x: &AtomicI64) {
    let b = x.load(SeqCst);
    x.store(b + 1, SeqCst);
}

fn other(x: &AtomicI64) {
    x.store(x.load(SeqCst) + 1, SeqCst);
}
"#;
        let d = directives(text);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].rules, ["atomic-load-store"]);
        assert_eq!(d[0].reason.as_deref(), Some("single writer"));
        assert_eq!(d[0].lines, 1..=5);
        assert_eq!(d[0].form, Form::Attribute);
        assert_eq!(d[0].region.line, 1);
        let a = run(
            text,
            vec![
                finding("atomic-load-store", 4),
                finding("atomic-load-store", 8),
            ],
        );
        assert_eq!(a.suppressed, 1);
        assert_eq!(a.kept.len(), 1);
        assert_eq!(a.kept[0].region.line, 8);
        assert!(a.meta.is_empty());
    }

    #[test]
    fn attribute_forms() {
        let text = r#"#![cfg_attr(any(), heisen::allow(retry))]
impl Foo {
    #[cfg_attr(any(), heisen::allow("relaxed-any", wall-clock, reason = "x"))]
    fn a(&self) {}
}
fn g() {
    #[cfg_attr(any(), heisen::allow(check-then-act, reason = "y"))]
    let v = {
        1
    };
    #[cfg_attr(feature = "x", derive(Debug))]
    let w = 2;
    #[cfg_attr(any(), heisen::allow)]
    let z = 3;
}
"#;
        let d = directives(text);
        let summary: Vec<_> = d
            .iter()
            .map(|d| {
                (
                    d.rules.clone(),
                    d.reason.clone(),
                    d.lines.clone(),
                    d.error.is_some(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (vec!["retry".to_string()], None, 1..=15, false),
                (
                    vec!["relaxed-any".to_string(), "wall-clock".to_string()],
                    Some("x".to_string()),
                    3..=4,
                    false
                ),
                (
                    vec!["check-then-act".to_string()],
                    Some("y".to_string()),
                    7..=10,
                    false
                ),
                (vec![], None, 13..=14, true),
            ]
        );
        let a = apply("src/lib.rs", vec![], &d, group_of);
        let rules: Vec<_> = a.meta.iter().map(|m| (m.rule, m.region.line)).collect();
        assert_eq!(
            rules,
            [
                ("suppression-without-reason", 1),
                ("unused-suppression", 1),
                ("unused-suppression", 3),
                ("unused-suppression", 7),
                ("unused-suppression", 13),
            ]
        );
        assert_eq!(
            a.meta[0].help,
            "say why it is safe: `heisen::allow(retry, reason = \"...\")`"
        );
    }

    #[test]
    fn other_files_pass_through() {
        let mut f = finding("atomic-load-store", 3);
        f.file = "src/other.rs".into();
        let a = run(SAME_LINE, vec![f]);
        assert_eq!(a.suppressed, 0);
        assert_eq!(a.kept.len(), 1);
        assert_eq!(a.meta.len(), 1); // the directive in src/lib.rs is unused
    }
}
