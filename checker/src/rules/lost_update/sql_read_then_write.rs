use crate::analysis::{last_segment, Deps, Event, EventId, EventKind, FnFacts, Root};
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, label, CrateContext, Rule, RuleMeta};
use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement, TableFactor, TableWithJoins};
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::collections::BTreeSet;

declare_rule! {
    /// ### What it does
    /// Finds a function that runs a SQL `SELECT` of table `T` (sqlx `query`/`query_as`/
    /// `query_scalar` and their macros, diesel `sql_query`, tokio-postgres/postgres, rusqlite,
    /// sea-orm `Statement::from_string`), then an `UPDATE T SET col = $n` whose bound value is
    /// computed from the selected row, or that only runs because of a check on it, and whose
    /// `WHERE` does not re-check what was read.
    ///
    /// ### Why is this bad
    /// The database runs the two statements as two steps. Two requests withdrawing 50 from an
    /// account holding 100 both `SELECT balance` and get 100, both pass the `>= 50` check in
    /// Rust, and both `UPDATE accounts SET balance = 50`: one withdrawal is lost. The default
    /// isolation level (`READ COMMITTED` in PostgreSQL, `REPEATABLE READ` in MySQL) does not
    /// prevent this, even inside a transaction, and nothing reports an error.
    ///
    /// ### Example
    /// ```rust,ignore
    /// let balance: i64 = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
    ///     .bind(id).fetch_one(&mut *tx).await?;
    /// if balance < amount {
    ///     return Err(Error::Insufficient);
    /// }
    /// sqlx::query("UPDATE accounts SET balance = $1 WHERE id = $2")
    ///     .bind(balance - amount).bind(id).execute(&mut *tx).await?;
    /// ```
    ///
    /// ### Use instead
    /// One self-relative `UPDATE` with the condition in its `WHERE`, checking the affected row
    /// count; or a version column (`WHERE id = $2 AND version = $3`, retry when 0 rows are
    /// affected); or `SELECT … FOR UPDATE` in the same transaction:
    /// ```rust,ignore
    /// let done = sqlx::query(
    ///     "UPDATE accounts SET balance = balance - $1 WHERE id = $2 AND balance >= $1",
    /// )
    /// .bind(amount).bind(id).execute(&pool).await?;
    /// if done.rows_affected() == 0 {
    ///     return Err(Error::Insufficient);
    /// }
    /// ```
    ///
    /// ### Known limitations
    /// Only SQL written as a string literal at the call, in a `const`/`static` string or in a
    /// `let` bound to a literal is read; SQL built with `format!` is not. Data flow is followed
    /// within one function. `INSERT … ON CONFLICT DO UPDATE` and `DELETE` are not checked.
    /// A `SERIALIZABLE` (or `REPEATABLE READ`, which PostgreSQL also enforces) isolation
    /// level named anywhere in the function (SQL text or an `IsolationLevel::Serializable`
    /// argument) silences the rule for the whole function.
    /// SQL that `sqlparser` cannot parse with the PostgreSQL, MySQL or SQLite dialect is
    /// skipped.
    pub static SQL_READ_THEN_WRITE = {
        name: "sql-read-then-write",
        group: LostUpdate,
        level: Warn,
        summary: "a SQL row is selected, then updated with a value derived from (or guarded by) the select without a version or self-relative guard",
    };
}

pub struct SqlReadThenWrite;

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

#[derive(Debug)]
enum Sql {
    Select {
        tables: BTreeSet<String>,
        /// `None` for `*`.
        columns: Option<BTreeSet<String>>,
        where_cols: BTreeSet<String>,
        locked: bool,
    },
    Update {
        table: String,
        /// Column, and the columns its new value refers to.
        set: Vec<(String, BTreeSet<String>)>,
        where_cols: BTreeSet<String>,
        returning: bool,
        /// 1-based indices of the bound parameters used in the SET clause (`$2`, or the n-th
        /// `?`).
        set_params: BTreeSet<usize>,
    },
}

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

fn parse(sql: &str) -> Option<Sql> {
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
        Statement::Query(q) => {
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
            Some(Sql::Select {
                tables,
                columns,
                where_cols: sel.selection.as_ref().map(expr_cols).unwrap_or_default(),
                locked: !q.locks.is_empty() || sql.to_uppercase().contains(" FOR UPDATE"),
            })
        }
        Statement::Update(u) => {
            let mut tables = BTreeSet::new();
            tables_of(std::slice::from_ref(&u.table), &mut tables);
            let table = tables.into_iter().next()?;
            let set = u
                .assignments
                .iter()
                .map(|a| (last_name(&a.target.to_string()), expr_cols(&a.value)))
                .collect();
            Some(Sql::Update {
                table,
                set,
                where_cols: u.selection.as_ref().map(expr_cols).unwrap_or_default(),
                returning: u.returning.is_some(),
                set_params: set_params(sql),
            })
        }
        _ => None,
    }
}

/// The SQL text an event passes, when it is one of the SQL APIs and the text is a literal or a
/// string `const`/`static` of the crate.
fn sql_text(cx: &CrateContext<'_>, func: &FnFacts, ev: &Event) -> Option<(usize, String)> {
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
                        cx.index.statics.get(last)?.str_value.clone()
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

/// Id-like columns: naming the row, not guarding its contents.
fn is_key_col(c: &str) -> bool {
    c == "id" || c.ends_with("_id") || c == "uuid" || c == "key" || c.ends_with("_key")
}

/// Everything the update's values and execution depend on: its own arguments, the binds
/// chained onto it, and the conditions it runs under.
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

fn update_deps(func: &FnFacts, u: &Event) -> (Deps, Deps) {
    let mut data: Deps = u.data_deps.clone();
    for e in &func.events[u.id + 1..] {
        if e.receiver_deps.contains(&u.id) && BINDS.contains(&e.name.as_str()) {
            data.extend(e.data_deps.iter().copied());
        }
    }
    (data, u.control_deps.clone())
}

/// The parsed SQL statements of `func` (event, index of the SQL argument, statement); `None`
/// when the function sets a serializable isolation level, which makes the database abort a
/// lost update.
fn statements(cx: &CrateContext<'_>, func: &FnFacts) -> Option<Vec<(EventId, usize, Sql)>> {
    let mut stmts: Vec<(EventId, usize, Sql)> = Vec::new();
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
        if let Some((i, text)) = sql_text(cx, func, ev) {
            if let Some(sql) = parse(&text) {
                stmts.push((ev.id, i, sql));
            }
        }
    }
    (!serializable).then_some(stmts)
}

impl Rule for SqlReadThenWrite {
    fn meta(&self) -> &'static RuleMeta {
        &SQL_READ_THEN_WRITE
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            let Some(stmts) = statements(cx, func) else {
                continue;
            };
            for (uid, sql_arg, usql) in &stmts {
                let Sql::Update {
                    table,
                    set,
                    where_cols,
                    returning,
                    set_params,
                } = usql
                else {
                    continue;
                };
                if *returning {
                    continue;
                }
                let u = &func.events[*uid];
                let (data, ctrl) = update_deps(func, u);
                let bound = bound_values(func, u, *sql_arg);
                let found = stmts.iter().rev().find_map(|(sid, _, ssql)| {
                    let Sql::Select {
                        tables,
                        columns,
                        where_cols: swhere,
                        locked,
                    } = ssql
                    else {
                        return None;
                    };
                    if sid >= uid || *locked || !tables.contains(table) {
                        return None;
                    }
                    // The select's value must reach a parameter of the SET clause (not only the
                    // row key in the WHERE) when the parameters can be told apart.
                    let from_data = match &bound {
                        Some(vals) => set_params.iter().any(|p| {
                            p.checked_sub(1)
                                .and_then(|i| vals.get(i))
                                .is_some_and(|d| d.contains(sid))
                        }),
                        None => data.contains(sid),
                    };
                    let from_ctrl = ctrl.contains(sid);
                    if !from_data && !from_ctrl {
                        return None;
                    }
                    // Overwritten columns that were read (or selected on), and set to a value
                    // that does not refer to the column itself.
                    // Under a check only: the overwritten column must be named by the select.
                    let explicit = |c: &String| {
                        columns.as_ref().is_some_and(|cols| cols.contains(c)) || swhere.contains(c)
                    };
                    let read = |c: &String| {
                        columns.as_ref().map_or(true, |cols| cols.contains(c)) || swhere.contains(c)
                    };
                    let overwritten: Vec<&String> = set
                        .iter()
                        .filter(|(c, value)| {
                            (if from_data { read(c) } else { explicit(c) })
                                && !value.contains(c)
                                && !is_key_col(c)
                        })
                        .map(|(c, _)| c)
                        .collect();
                    if overwritten.is_empty() {
                        return None;
                    }
                    // A WHERE predicate on a column read by the select (other than the row's
                    // key) or on a set column re-checks the row.
                    let guarded = where_cols.iter().any(|c| {
                        !is_key_col(c)
                            && (set.iter().any(|(s, _)| s == c)
                                || columns.as_ref().map_or(true, |cols| cols.contains(c)))
                    });
                    if guarded {
                        return None;
                    }
                    Some((*sid, overwritten[0].clone(), from_data, from_ctrl))
                });
                let Some((sid, col, from_data, from_ctrl)) = found else {
                    continue;
                };
                let how = match (from_data, from_ctrl) {
                    (true, true) => "to a value computed from, and under a check on,",
                    (true, false) => "to a value computed from",
                    _ => "under a check on",
                };
                let s = &func.events[sid];
                let mut f = finding(
                    &SQL_READ_THEN_WRITE,
                    file,
                    event_region(u),
                    format!(
                        "`{table}.{col}` is updated {how} an earlier SELECT, with no guard in the \
                         WHERE; an update committed by another request in between is lost"
                    ),
                    format!(
                        "make the write conditional on what was read: add a version column and \
                         `WHERE … AND version = $expected` (retry when 0 rows are affected), or \
                         use one self-relative `UPDATE {table} SET {col} = {col} - $1 WHERE … AND \
                         <condition>` and check the affected row count (or `SELECT … FOR UPDATE` \
                         in the same transaction)"
                    ),
                );
                label(&mut f, event_region(s), format!("`{table}` is read here"));
                out.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
