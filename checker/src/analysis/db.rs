//! Database statements as query facts: what a function reads from and writes to which table,
//! on which columns, under which filter and lock, whatever API wrote the statement. SQL text
//! (sqlx, diesel `sql_query`, tokio-postgres, rusqlite, sea-orm `Statement`) is parsed with
//! `sqlparser`; query builders are read from their method chains: diesel
//! (`table.find(id).select(col).first(conn)`, `diesel::update(target).set(col.eq(v))`,
//! `.filter(..)`, `.for_update()`, `save_changes`) and sea-orm (`Entity::find_by_id(..).one(db)`,
//! an `ActiveModel`'s `Set(..)` fields then `.update(db)`, `Entity::update_many().col_expr(..)`).
//! Both give the same [`Statement`]s, so a rule's logic over them is written once.

use crate::analysis::{last_segment, Deps, Event, EventId, EventKind, FnFacts, Root};
use crate::finding::Region;
use crate::index::CrateIndex;
use sqlparser::ast::{
    Expr, SelectItem, SetExpr, Statement as SqlStatement, TableFactor, TableWithJoins,
};
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::collections::BTreeSet;

/// One statement's query facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    Select {
        /// Empty when the builder does not name its table.
        tables: BTreeSet<String>,
        /// `None` for `*` (or a whole-row load).
        columns: Option<BTreeSet<String>>,
        where_cols: BTreeSet<String>,
        /// `FOR UPDATE` / `FOR SHARE` and their builder forms.
        locked: bool,
    },
    Update {
        /// `None` when the builder does not name its table (a model value).
        table: Option<String>,
        /// Column, and the columns its new value refers to. Column `*` is a whole-row write
        /// whose columns are not known (a changeset struct, `save_changes`).
        set: Vec<(String, BTreeSet<String>)>,
        where_cols: BTreeSet<String>,
        returning: bool,
    },
}

impl Query {
    /// Whether a select and an update can be of one table (a builder that names none can be
    /// of any).
    pub fn same_table(select_tables: &BTreeSet<String>, update_table: Option<&String>) -> bool {
        match update_table {
            None => true,
            Some(t) => select_tables.is_empty() || select_tables.contains(t),
        }
    }
}

/// A statement of a function.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The event that names the statement: the SQL call, the builder call that starts an
    /// update, the call that runs a select.
    pub event: EventId,
    pub query: Query,
    /// The values an update writes in its SET clause, when they can be told apart from the row
    /// key (bound parameters of the SET clause, builder values); `None`: every value.
    pub set_deps: Option<Deps>,
    /// Every value the statement's arguments depend on.
    pub data: Deps,
    /// The conditions it runs under.
    pub ctrl: Deps,
}

/// Calls, methods and macros that take SQL text.
const SQL_APIS: &[&str] = &[
    "query",
    "query_as",
    "query_scalar",
    "query_with",
    "query_as_with",
    "query_scalar_with",
    "query_unchecked",
    "query_as_unchecked",
    "query_scalar_unchecked",
    "sql_query",
    "from_string",
    "from_sql_and_values",
    "execute",
    "query_one",
    "query_opt",
    "query_row",
    "query_map",
    "prepare",
    "prepare_cached",
    "fetch_one",
    "fetch_optional",
    "fetch_all",
];

/// Methods that add a bound value to (or run) a statement built earlier in the chain.
const BINDS: &[&str] = &["bind", "bind_by_ref", "push_bind", "bind_unchecked"];

/// Expression words that are not column names.
const STOP: &[&str] = &[
    "and",
    "or",
    "not",
    "is",
    "null",
    "in",
    "like",
    "ilike",
    "between",
    "true",
    "false",
    "case",
    "when",
    "then",
    "else",
    "end",
    "exists",
    "any",
    "all",
    "some",
    "select",
    "from",
    "where",
    "as",
    "coalesce",
    "now",
    "current_timestamp",
    "interval",
    "cast",
    "lower",
    "upper",
];

/// The bound-parameter indices that appear between `SET` and the end of the SET clause.
fn set_params(sql: &str) -> BTreeSet<usize> {
    let dialect = GenericDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize() else {
        return BTreeSet::new();
    };
    let mut out = BTreeSet::new();
    let mut positional = 0;
    let mut in_set = false;
    for t in tokens {
        match t {
            Token::Word(w) => {
                let u = w.value.to_uppercase();
                if w.quote_style.is_none() {
                    if u == "SET" {
                        in_set = true;
                    } else if matches!(u.as_str(), "WHERE" | "RETURNING" | "FROM") {
                        in_set = false;
                    }
                }
            }
            Token::Placeholder(p) => {
                let idx = if p == "?" {
                    positional += 1;
                    Some(positional)
                } else {
                    p.trim_start_matches(['$', '?']).parse().ok()
                };
                if let (true, Some(i)) = (in_set, idx) {
                    out.insert(i);
                }
            }
            _ => {}
        }
    }
    out
}

fn words(text: &str) -> BTreeSet<String> {
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, text).tokenize() else {
        return BTreeSet::new();
    };
    tokens
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some(w.value.to_lowercase()),
            _ => None,
        })
        .filter(|w| !STOP.contains(&w.as_str()))
        .collect()
}

fn expr_cols(e: &Expr) -> BTreeSet<String> {
    words(&e.to_string())
}

fn last_name(s: &str) -> String {
    s.rsplit('.')
        .next()
        .unwrap_or(s)
        .trim_matches(['"', '`', '[', ']'])
        .to_lowercase()
}

fn tables_of(from: &[TableWithJoins], out: &mut BTreeSet<String>) {
    for twj in from {
        for rel in std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation)) {
            if let TableFactor::Table { name, .. } = rel {
                out.insert(last_name(&name.to_string()));
            }
        }
    }
}

fn parse(sql: &str) -> Option<Query> {
    let dialects: [&dyn Dialect; 4] = [
        &PostgreSqlDialect {},
        &MySqlDialect {},
        &SQLiteDialect {},
        &GenericDialect {},
    ];
    let stmt = dialects
        .iter()
        .find_map(|d| Parser::parse_sql(*d, sql).ok())?
        .into_iter()
        .next()?;
    match stmt {
        SqlStatement::Query(q) => {
            let SetExpr::Select(sel) = &*q.body else {
                return None;
            };
            let mut tables = BTreeSet::new();
            tables_of(&sel.from, &mut tables);
            let mut columns = Some(BTreeSet::new());
            for item in &sel.projection {
                match item {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                        if let Some(c) = columns.as_mut() {
                            c.extend(expr_cols(e));
                        }
                    }
                    SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => columns = None,
                    _ => columns = None,
                }
            }
            Some(Query::Select {
                tables,
                columns,
                where_cols: sel.selection.as_ref().map(expr_cols).unwrap_or_default(),
                locked: !q.locks.is_empty() || sql.to_uppercase().contains(" FOR UPDATE"),
            })
        }
        SqlStatement::Update(u) => {
            let mut tables = BTreeSet::new();
            tables_of(std::slice::from_ref(&u.table), &mut tables);
            let table = tables.into_iter().next()?;
            let set = u
                .assignments
                .iter()
                .map(|a| (last_name(&a.target.to_string()), expr_cols(&a.value)))
                .collect();
            Some(Query::Update {
                table: Some(table),
                set,
                where_cols: u.selection.as_ref().map(expr_cols).unwrap_or_default(),
                returning: u.returning.is_some(),
            })
        }
        _ => None,
    }
}

/// The SQL text an event passes, when it is one of the SQL APIs and the text is a literal or a
/// string `const`/`static` of the crate.
fn sql_text(index: &CrateIndex<'_>, func: &FnFacts, ev: &Event) -> Option<(usize, String)> {
    let short = last_segment(&ev.name);
    if !SQL_APIS.contains(&short) {
        return None;
    }
    if matches!(ev.kind, EventKind::Assign { .. }) {
        return None;
    }
    ev.args.iter().take(2).enumerate().find_map(|(i, a)| {
        a.str_lit
            .clone()
            .or_else(|| {
                let p = a.place.as_ref()?;
                match p.root {
                    Root::Static => {
                        let last = last_segment(&p.text);
                        index.statics.get(last)?.str_value.clone()
                    }
                    // `let sql = "UPDATE …"; query(sql)`: the last such binding before the call.
                    Root::Local { .. } => func
                        .bindings
                        .iter()
                        .filter(|b| {
                            b.name == p.text
                                && (b.region.line, b.region.column)
                                    < (ev.region.line, ev.region.column)
                        })
                        .max_by_key(|b| (b.region.line, b.region.column))?
                        .str_value
                        .clone(),
                    _ => None,
                }
            })
            .map(|s| (i, s))
    })
}

/// The values bound to the statement's parameters, in order, when they can be told apart:
/// macro arguments after the SQL, `.bind(..)` calls chained on it, or a `params![..]` list.
fn bound_values(func: &FnFacts, u: &Event, sql_arg: usize) -> Option<Vec<Deps>> {
    if u.kind == EventKind::Macro {
        return Some(
            u.args[sql_arg + 1..]
                .iter()
                .map(|a| a.deps.clone())
                .collect(),
        );
    }
    let binds: Vec<Deps> = func.events[u.id + 1..]
        .iter()
        .filter(|e| e.receiver_deps.contains(&u.id) && BINDS.contains(&e.name.as_str()))
        .map(|e| e.data_deps.clone())
        .collect();
    if !binds.is_empty() {
        return Some(binds);
    }
    let rest = &u.args[sql_arg + 1..];
    if let [one] = rest {
        // `params![a, b]`
        let m = func.events[..u.id].iter().rev().find(|e| {
            e.kind == EventKind::Macro && e.name.ends_with("params") && one.deps.contains(&e.id)
        })?;
        return Some(m.args.iter().map(|a| a.deps.clone()).collect());
    }
    if rest.is_empty() {
        return Some(Vec::new());
    }
    None
}

/// The statements of `func`, in evaluation order; `None` when the function sets a
/// serializable (or repeatable-read) isolation level, under which the database aborts a lost
/// update.
pub fn statements(index: &CrateIndex<'_>, func: &FnFacts) -> Option<Vec<Statement>> {
    let mut stmts: Vec<Statement> = Vec::new();
    let mut serializable = false;
    for ev in &func.events {
        // PostgreSQL aborts a lost update under REPEATABLE READ as well; MySQL does
        // not, but the rule cannot tell the two apart and stays quiet.
        if ev.args.iter().any(|a| {
            a.text.contains("Serializable")
                || a.text.contains("RepeatableRead")
                || a.str_lit.as_ref().is_some_and(|s| {
                    let u = s.to_uppercase();
                    u.contains("SERIALIZABLE") || u.contains("REPEATABLE READ")
                })
        }) {
            serializable = true;
        }
        if let Some((i, text)) = sql_text(index, func, ev) {
            if let Some(query) = parse(&text) {
                stmts.push(sql_statement(func, ev, i, &text, query));
            }
        } else if let Some(s) = builder_statement(func, ev) {
            stmts.push(s);
        }
    }
    (!serializable).then_some(stmts)
}

/// A parsed SQL statement with its values: the SET clause's bound parameters when they can be
/// told apart, the binds chained onto the call.
fn sql_statement(func: &FnFacts, u: &Event, sql_arg: usize, text: &str, query: Query) -> Statement {
    let mut data: Deps = u.data_deps.clone();
    for e in &func.events[u.id + 1..] {
        if e.receiver_deps.contains(&u.id) && BINDS.contains(&e.name.as_str()) {
            data.union_with(&e.data_deps);
        }
    }
    let set_deps = match &query {
        Query::Update { .. } => bound_values(func, u, sql_arg).map(|vals| {
            let mut d = Deps::new();
            for p in set_params(text) {
                if let Some(v) = p.checked_sub(1).and_then(|i| vals.get(i)) {
                    d.union_with(v);
                }
            }
            d
        }),
        Query::Select { .. } => None,
    };
    Statement {
        event: u.id,
        query,
        set_deps,
        data,
        ctrl: u.control_deps.clone(),
    }
}

// ---- query builders ----

/// Builder methods that run a select and return rows.
const SELECT_RUNS: &[&str] = &["first", "get_result", "get_results", "load", "one", "all"];

/// Builder methods that lock the selected rows.
const LOCKS: &[&str] = &[
    "for_update",
    "for_no_key_update",
    "for_share",
    "for_key_share",
    "lock_exclusive",
    "lock_shared",
    "lock",
    "lock_with_behavior",
];

/// Builder methods that make a chain a query (rather than, say, an iterator).
const QUERY_METHODS: &[&str] = &[
    "find",
    "filter",
    "or_filter",
    "select",
    "order",
    "order_by",
    "then_order_by",
    "limit",
    "into_boxed",
    "inner_join",
    "left_join",
    "left_outer_join",
    "for_update",
    "for_no_key_update",
    "for_share",
    "for_key_share",
];

/// The event whose value is `ev`'s receiver (the previous link of a method chain).
fn receiver_event<'f>(func: &'f FnFacts, ev: &Event) -> Option<&'f Event> {
    let r = ev.receiver_region?;
    func.events[..ev.id]
        .iter()
        .rev()
        .find(|e| !matches!(e.kind, EventKind::Assign { .. }) && e.region == r)
}

/// The chain ending at `ev`, first link first.
fn chain<'f>(func: &'f FnFacts, ev: &'f Event) -> Vec<&'f Event> {
    let mut out = vec![ev];
    let mut cur = ev;
    while let Some(prev) = receiver_event(func, cur) {
        out.push(prev);
        cur = prev;
    }
    out.reverse();
    out
}

/// The chain links after `head` whose chain starts at `head` (the methods called on its
/// value, in order).
fn links_after<'f>(func: &'f FnFacts, head: &Event) -> Vec<&'f Event> {
    func.events[head.id + 1..]
        .iter()
        .filter(|e| {
            e.kind == EventKind::MethodCall
                && e.receiver_deps.contains(&head.id)
                && chain(func, e).first().is_some_and(|f| f.id == head.id)
        })
        .collect()
}

/// `CamelCase` → `camel_case` (sea-orm's `Column::CreatedAt` is column `created_at`).
fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The table a builder path names: `accounts::table` and `accounts::dsl::accounts` →
/// `accounts`, `account::Entity` → `account`, an entity alias `Account` → `account`.
fn table_of_path(path: &str) -> Option<String> {
    let segs: Vec<&str> = path
        .split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "crate" && *s != "self" && *s != "super")
        .collect();
    let last = *segs.last()?;
    let name = match last {
        "table" | "Entity" => *segs.get(segs.len().checked_sub(2)?)?,
        _ => last,
    };
    Some(snake(name))
}

/// The columns an expression of builder code names: paths into a schema (`accounts::balance`,
/// `account::Column::Balance`) and bare names that are no local binding at `at` (diesel's
/// `dsl::*` imports); not method or function names, not Rust values.
fn builder_cols(func: &FnFacts, text: &str, at: &Region) -> BTreeSet<String> {
    let b = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        if !(b[i].is_ascii_alphabetic() || b[i] == b'_') {
            i += 1;
            continue;
        }
        let start = i;
        let mut segs: Vec<&str> = Vec::new();
        loop {
            let s = i;
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
            segs.push(&text[s..i]);
            let mut j = i;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            if j + 2 < b.len() && &b[j..j + 2] == b"::" {
                let mut k = j + 2;
                while k < b.len() && b[k] == b' ' {
                    k += 1;
                }
                if k < b.len() && (b[k].is_ascii_alphabetic() || b[k] == b'_') {
                    i = k;
                    continue;
                }
            }
            break;
        }
        let before = text[..start].trim_end();
        let after = text[i..].trim_start();
        if before.ends_with('.') || after.starts_with('(') || after.starts_with('!') {
            continue;
        }
        let Some(&last) = segs.last() else { continue };
        if segs.len() == 1 {
            let bound =
                func.binding_at(last, at).is_some() || func.params.iter().any(|(n, _)| n == last);
            let keyword = matches!(last, "self" | "true" | "false" | "as" | "mut" | "move");
            if !bound && !keyword && last.starts_with(|c: char| c.is_ascii_lowercase()) {
                out.insert(last.to_string());
            }
        } else if segs.len() >= 2 && segs[segs.len() - 2] == "Column" {
            out.insert(snake(last));
        } else if last.starts_with(|c: char| c.is_ascii_lowercase())
            && !matches!(last, "table" | "dsl" | "star")
        {
            out.insert(last.to_string());
        }
    }
    out
}

/// The columns compared by the filters among `links` (`col.eq(v)`, `Column::C.gte(v)`, and
/// diesel's `find(key)`: the primary key, `id`).
fn filter_cols(func: &FnFacts, links: &[&Event]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for l in links {
        match l.name.as_str() {
            "find" | "find_by_id" => {
                out.insert("id".to_string());
            }
            "filter" | "or_filter" => {
                for a in &l.args {
                    out.extend(builder_cols(func, &a.text, &a.region));
                }
            }
            _ => {}
        }
    }
    out
}

/// A builder statement that `ev` starts or runs, if it is one.
fn builder_statement(func: &FnFacts, ev: &Event) -> Option<Statement> {
    diesel_select(func, ev)
        .or_else(|| diesel_update(func, ev))
        .or_else(|| diesel_save_changes(ev))
        .or_else(|| sea_select(func, ev))
        .or_else(|| sea_update_many(func, ev))
        .or_else(|| sea_active_update(func, ev))
}

/// A select run: `t.filter(..).select(..).first(conn)` (diesel): a run with one argument on
/// a chain that starts at a table path and uses a query method.
fn diesel_select(func: &FnFacts, ev: &Event) -> Option<Statement> {
    if ev.kind != EventKind::MethodCall
        || !SELECT_RUNS.contains(&ev.name.as_str())
        || ev.args.len() != 1
    {
        return None;
    }
    let links = chain(func, ev);
    let head = links.first()?;
    if head.kind != EventKind::MethodCall || head.id == ev.id {
        return None;
    }
    let root = head.receiver.as_ref()?;
    if !matches!(root.root, Root::Static | Root::Local { .. })
        || func.binding_at(&root.text, &head.region).is_some()
        || !links[..links.len() - 1]
            .iter()
            .all(|l| QUERY_METHODS.contains(&l.name.as_str()))
    {
        return None;
    }
    let table = table_of_path(&root.text)?;
    let columns = links
        .iter()
        .filter(|l| l.name == "select" && l.args.len() == 1)
        .map(|l| builder_cols(func, &l.args[0].text, &l.args[0].region))
        .next_back();
    Some(Statement {
        event: ev.id,
        query: Query::Select {
            tables: BTreeSet::from([table]),
            columns,
            where_cols: filter_cols(func, &links),
            locked: links.iter().any(|l| LOCKS.contains(&l.name.as_str())),
        },
        set_deps: None,
        data: ev.data_deps.clone(),
        ctrl: ev.control_deps.clone(),
    })
}

/// The SET columns of builder values in `args` (`col.eq(v)`, a tuple of them): column, the
/// columns the value refers to, the value's deps. `None` when the values are no `eq` pairs (a
/// changeset struct): a whole-row write.
type SetCols = Vec<(String, BTreeSet<String>, Deps)>;

fn eq_pairs(func: &FnFacts, within: &Region, before: EventId) -> SetCols {
    func.events[..before]
        .iter()
        .filter(|e| {
            e.is_method("eq", 1)
                && within.contains(&e.region)
                && e.receiver
                    .as_ref()
                    .is_some_and(|p| matches!(p.root, Root::Static | Root::Local { .. }))
        })
        .filter_map(|e| {
            let col = e.receiver.as_ref()?;
            let name = builder_cols(func, &col.text, &e.region)
                .into_iter()
                .next()?;
            let a = &e.args[0];
            Some((name, builder_cols(func, &a.text, &a.region), a.deps.clone()))
        })
        .collect()
}

fn update_statement(
    event: &Event,
    table: Option<String>,
    set: SetCols,
    where_cols: BTreeSet<String>,
    data: Deps,
) -> Statement {
    let mut set_deps = Deps::new();
    for (_, _, d) in &set {
        set_deps.union_with(d);
    }
    Statement {
        event: event.id,
        query: Query::Update {
            table,
            set: set.into_iter().map(|(c, refs, _)| (c, refs)).collect(),
            where_cols,
            returning: false,
        },
        set_deps: Some(set_deps),
        data,
        ctrl: event.control_deps.clone(),
    }
}

/// `diesel::update(target).set(values).execute(conn)`: the target's table and filters, the
/// filters chained after it, the `eq` pairs of `set`.
fn diesel_update(func: &FnFacts, ev: &Event) -> Option<Statement> {
    if ev.kind != EventKind::Call || last_segment(&ev.name) != "update" || ev.args.len() != 1 {
        return None;
    }
    let links = links_after(func, ev);
    let set = links
        .iter()
        .find(|l| l.name == "set" && l.args.len() == 1)?;
    let target = &ev.args[0];
    // The target's own chain: the last event inside the argument.
    let target_links: Vec<&Event> = func.events[..ev.id]
        .iter()
        .rev()
        .find(|e| e.region == target.region)
        .map(|e| chain(func, e))
        .unwrap_or_default();
    let root_text = match target_links.first() {
        Some(h) => h.receiver.as_ref().map(|p| (p.text.clone(), h.region)),
        None => target
            .place
            .as_ref()
            .map(|p| (p.text.clone(), target.region)),
    };
    // A table path names the table; a Rust value (`&row`) does not.
    let table = root_text
        .filter(|(t, at)| func.binding_at(t, at).is_none())
        .and_then(|(t, _)| table_of_path(&t));
    let mut where_cols = filter_cols(func, &target_links);
    where_cols.extend(filter_cols(func, &links));
    let mut cols = eq_pairs(func, &set.args[0].region, set.id);
    if cols.is_empty() {
        cols.push(("*".to_string(), BTreeSet::new(), set.args[0].deps.clone()));
    }
    let mut data = set.data_deps.clone();
    data.union_with(&ev.data_deps);
    Some(update_statement(ev, table, cols, where_cols, data))
}

/// `row.save_changes(conn)` (diesel): the whole row written back by its key.
fn diesel_save_changes(ev: &Event) -> Option<Statement> {
    if !ev.is_method("save_changes", 1) {
        return None;
    }
    ev.receiver.as_ref()?;
    let deps = ev.receiver_deps.clone();
    Some(update_statement(
        ev,
        None,
        vec![("*".to_string(), BTreeSet::new(), deps.clone())],
        BTreeSet::new(),
        deps,
    ))
}

/// `Entity::find_by_id(id)` / `Entity::find()` (sea-orm), run by `.one(db)` / `.all(db)`.
fn sea_select(func: &FnFacts, ev: &Event) -> Option<Statement> {
    let short = last_segment(&ev.name);
    if ev.kind != EventKind::Call
        || !matches!(short, "find" | "find_by_id")
        || !ev.name.contains("::")
    {
        return None;
    }
    let links = links_after(func, ev);
    let run = links
        .iter()
        .find(|l| matches!(l.name.as_str(), "one" | "all") && l.args.len() == 1)?;
    let owner = &ev.name[..ev.name.len() - short.len() - 2];
    let table = table_of_path(owner)?;
    let mut where_cols = filter_cols(func, &links);
    if short == "find_by_id" {
        where_cols.insert("id".to_string());
    }
    let columns = links.iter().any(|l| l.name == "select_only").then(|| {
        links
            .iter()
            .filter(|l| l.name == "column")
            .flat_map(|l| {
                l.args
                    .iter()
                    .flat_map(|a| builder_cols(func, &a.text, &a.region))
            })
            .collect()
    });
    Some(Statement {
        event: run.id,
        query: Query::Select {
            tables: BTreeSet::from([table]),
            columns,
            where_cols,
            locked: links.iter().any(|l| LOCKS.contains(&l.name.as_str())),
        },
        set_deps: None,
        data: ev.data_deps.clone(),
        ctrl: ev.control_deps.clone(),
    })
}

/// `Entity::update_many().col_expr(Column::C, expr).filter(..).exec(db)` (sea-orm).
fn sea_update_many(func: &FnFacts, ev: &Event) -> Option<Statement> {
    if ev.kind != EventKind::Call || last_segment(&ev.name) != "update_many" {
        return None;
    }
    let links = links_after(func, ev);
    let cols: SetCols = links
        .iter()
        .filter(|l| l.name == "col_expr" && l.args.len() == 2)
        .filter_map(|l| {
            let col = builder_cols(func, &l.args[0].text, &l.args[0].region)
                .into_iter()
                .next()?;
            let v = &l.args[1];
            Some((col, builder_cols(func, &v.text, &v.region), v.deps.clone()))
        })
        .collect();
    if cols.is_empty() {
        return None;
    }
    let owner = ev.name.strip_suffix("::update_many")?;
    let mut data = Deps::new();
    for l in &links {
        data.union_with(&l.data_deps);
    }
    Some(update_statement(
        ev,
        table_of_path(owner),
        cols,
        filter_cols(func, &links),
        data,
    ))
}

/// Whether a value is an `ActiveModel` field's `Set(v)`.
fn is_set_value(text: &str) -> bool {
    let t = text.trim_start();
    [
        "Set(",
        "ActiveValue::Set(",
        "sea_orm::Set(",
        "sea_orm::ActiveValue::Set(",
    ]
    .iter()
    .any(|p| t.starts_with(p))
}

/// `model.update(db)` / `Entity::update(model).filter(..).exec(db)` (sea-orm) of an
/// `ActiveModel` whose fields were given `Set(..)` values: in a struct literal, or assigned
/// (`model.balance = Set(v)`) before the update. The row is found by its key; the written
/// columns are the set fields.
fn sea_active_update(func: &FnFacts, ev: &Event) -> Option<Statement> {
    let (model_region, model_name, filters) =
        if ev.is_method("update", 1) || ev.is_method("save", 1) {
            (
                ev.receiver_region?,
                ev.receiver.as_ref().map(|p| p.text.clone()),
                Vec::new(),
            )
        } else if ev.kind == EventKind::Call
            && last_segment(&ev.name) == "update"
            && ev.args.len() == 1
            && ev.name.contains("::")
        {
            let a = &ev.args[0];
            (
                a.region,
                a.place.as_ref().map(|p| p.text.clone()),
                links_after(func, ev),
            )
        } else {
            return None;
        };
    let mut cols: SetCols = Vec::new();
    for fi in &func.field_inits {
        if fi.strukt == "ActiveModel" && model_region.contains(&fi.region) && is_set_value(&fi.text)
        {
            cols.push((fi.field.clone(), BTreeSet::new(), fi.deps.clone()));
        }
    }
    if let Some(name) = &model_name {
        let prefix = format!("{name}.");
        for e in &func.events[..ev.id] {
            let (EventKind::Assign { .. }, Some(p)) = (&e.kind, &e.receiver) else {
                continue;
            };
            let Some(field) = p.text.strip_prefix(&prefix) else {
                continue;
            };
            if field.contains('.') || !e.args.first().is_some_and(|a| is_set_value(&a.text)) {
                continue;
            }
            cols.push((field.to_string(), BTreeSet::new(), e.data_deps.clone()));
        }
    }
    if cols.is_empty() {
        return None;
    }
    // The model's type names the table: `let m: account::ActiveModel`, `account::ActiveModel {..}`.
    let table = model_name
        .as_ref()
        .and_then(|n| func.binding_at(n, &ev.region))
        .and_then(|b| b.ty.as_deref())
        .and_then(|t| t.trim().strip_suffix("::ActiveModel"))
        .and_then(table_of_path);
    let mut data = Deps::new();
    for (_, _, d) in &cols {
        data.union_with(d);
    }
    Some(update_statement(
        ev,
        table,
        cols,
        filter_cols(func, &filters),
        data,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze_file;

    fn queries(src: &str) -> Vec<Query> {
        let facts = analyze_file(&syn::parse_file(src).expect("test source parses"));
        let func = &facts.functions[0];
        let index = CrateIndex::build(&[&facts]);
        statements(&index, func)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.query)
            .collect()
    }

    fn cols(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn table_paths() {
        assert_eq!(
            table_of_path("accounts::table").as_deref(),
            Some("accounts")
        );
        assert_eq!(
            table_of_path("crate::schema::accounts::table").as_deref(),
            Some("accounts")
        );
        assert_eq!(
            table_of_path("accounts::dsl::accounts").as_deref(),
            Some("accounts")
        );
        assert_eq!(table_of_path("account::Entity").as_deref(), Some("account"));
        assert_eq!(
            table_of_path("BankAccount").as_deref(),
            Some("bank_account")
        );
        assert_eq!(table_of_path("Entity"), None);
        assert_eq!(table_of_path(""), None);
    }

    #[test]
    fn diesel_chains_are_selects_and_updates() {
        let q = queries(
            "fn f(conn: &mut C, id: i64, amount: i64) { \
             let (b, v): (i64, i64) = accounts::table.find(id).select((accounts::balance, accounts::version)).for_update().first(conn)?; \
             diesel::update(accounts::table.find(id)).filter(accounts::version.eq(v)).set((accounts::balance.eq(accounts::balance - amount), accounts::version.eq(v + 1))).execute(conn)?; }",
        );
        assert_eq!(
            q,
            vec![
                Query::Select {
                    tables: cols(&["accounts"]),
                    columns: Some(cols(&["balance", "version"])),
                    where_cols: cols(&["id"]),
                    locked: true,
                },
                Query::Update {
                    table: Some("accounts".into()),
                    set: vec![
                        ("balance".into(), cols(&["balance"])),
                        ("version".into(), BTreeSet::new()),
                    ],
                    where_cols: cols(&["id", "version"]),
                    returning: false,
                },
            ]
        );
    }

    #[test]
    fn sea_orm_models_and_update_many() {
        let q = queries(
            "async fn f(db: &Db, id: i32) { \
             let a = account::Entity::find_by_id(id).one(db).await?.unwrap(); \
             let mut m: account::ActiveModel = a.into(); m.balance = Set(a.balance + 1); m.note = NotSet; m.update(db).await?; \
             account::Entity::update_many().col_expr(account::Column::Balance, Expr::col(account::Column::Balance).add(1)).filter(account::Column::Id.eq(id)).exec(db).await?; }",
        );
        assert_eq!(
            q,
            vec![
                Query::Select {
                    tables: cols(&["account"]),
                    columns: None,
                    where_cols: cols(&["id"]),
                    locked: false,
                },
                Query::Update {
                    table: Some("account".into()),
                    set: vec![("balance".into(), BTreeSet::new())],
                    where_cols: BTreeSet::new(),
                    returning: false,
                },
                Query::Update {
                    table: Some("account".into()),
                    set: vec![("balance".into(), cols(&["balance"]))],
                    where_cols: cols(&["id"]),
                    returning: false,
                },
            ]
        );
    }

    #[test]
    fn look_alikes_are_no_statements() {
        // Iterator and hasher methods with the same names; an `update` call without `.set`.
        let q = queries(
            "fn f(rows: &[R], h: &mut H, x: X) { \
             let v: Vec<_> = rows.iter().filter(|r| r.ok).map(|r| r.id).collect(); \
             let first = items.iter().filter(|r| r.ok).first(x); \
             h.update(v.len().to_le_bytes()); update(x); self.cache.load(x); }",
        );
        assert_eq!(q, Vec::new());
    }

    #[test]
    fn set_params_positional_and_numbered() {
        assert_eq!(
            set_params("UPDATE items SET quantity = ? WHERE sku = ?"),
            BTreeSet::from([1])
        );
        assert_eq!(
            set_params("UPDATE t SET a = $2, b = b + $1 WHERE id = $3"),
            BTreeSet::from([1, 2])
        );
    }
}
