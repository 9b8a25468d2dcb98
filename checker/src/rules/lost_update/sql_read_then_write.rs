use crate::analysis::db::{statements, Query, Statement};
use crate::analysis::EventId;
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, label, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds a function that runs a SQL `SELECT` of table `T` (sqlx `query`/`query_as`/
    /// `query_scalar` and their macros, diesel `sql_query`, tokio-postgres/postgres, rusqlite,
    /// sea-orm `Statement::from_string`), then an `UPDATE T SET col = $n` whose bound value is
    /// computed from the selected row, or that only runs because of a check on it (an `if`
    /// with an early return, `ensure!`), and whose `WHERE` does not re-check what was read.
    /// Query builders count as the same statements: diesel `t.find(id).select(col).first(conn)`
    /// then `diesel::update(t.find(id)).set(col.eq(v))` (or `row.save_changes(conn)`), sea-orm
    /// `Entity::find_by_id(id).one(db)` then an `ActiveModel` with `Set(v)` fields `.update(db)`;
    /// `.filter(col.eq(read))`, a self-relative `col.eq(col - x)`, `.for_update()` /
    /// `.lock_exclusive()` and `update_many().col_expr(..).filter(..)` are the guards.
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
    /// `let` bound to a literal is read; SQL built with `format!` is not. A builder update of
    /// a model value (`diesel::update(&row)`, an `ActiveModel`) names no table and is paired
    /// with a select of any table it depends on; a changeset struct counts as a whole-row
    /// write. Data flow is followed
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

/// Id-like columns: naming the row, not guarding its contents.
fn is_key_col(c: &str) -> bool {
    c == "id" || c.ends_with("_id") || c == "uuid" || c == "key" || c.ends_with("_key")
}

impl Rule for SqlReadThenWrite {
    fn meta(&self) -> &'static RuleMeta {
        &SQL_READ_THEN_WRITE
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            let Some(stmts) = statements(cx.index, func) else {
                continue;
            };
            for ustmt in &stmts {
                let Query::Update { returning, .. } = &ustmt.query else {
                    continue;
                };
                if *returning {
                    continue;
                }
                let uid = ustmt.event;
                let u = &func.events[uid];
                let found = stmts
                    .iter()
                    .rev()
                    .find_map(|sstmt| racing_select(ustmt, sstmt));
                let Some((sid, table, col, from_data, from_ctrl)) = found else {
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
                    if col == "*" {
                        format!(
                            "a `{table}` row read by an earlier SELECT is written back whole, \
                             with no guard in the WHERE; an update committed by another request \
                             in between is lost"
                        )
                    } else {
                        format!(
                            "`{table}.{col}` is updated {how} an earlier SELECT, with no guard in \
                             the WHERE; an update committed by another request in between is lost"
                        )
                    },
                    if col == "*" {
                        "make the write conditional on what was read: add a version column and \
                         filter the update on the version read (retry when 0 rows are affected), \
                         or write only the changed columns with self-relative values and the \
                         condition in the filter (or lock the row with `FOR UPDATE` in the same \
                         transaction)"
                            .to_string()
                    } else {
                        format!(
                            "make the write conditional on what was read: add a version column and \
                             `WHERE … AND version = $expected` (retry when 0 rows are affected), or \
                             use one self-relative `UPDATE {table} SET {col} = {col} - $1 WHERE … \
                             AND <condition>` and check the affected row count (or `SELECT … FOR \
                             UPDATE` in the same transaction)"
                        )
                    },
                );
                label(&mut f, event_region(s), format!("`{table}` is read here"));
                out.push(f);
            }
        }
    }
}

/// The earlier SELECT `sstmt` that the UPDATE `ustmt` writes back from without re-checking it
/// in its WHERE: its event, the table, the first overwritten column (`*` for a whole row) and
/// whether the select reaches the update as data and as a condition.
fn racing_select(
    ustmt: &Statement,
    sstmt: &Statement,
) -> Option<(EventId, String, String, bool, bool)> {
    let Query::Update {
        table,
        set,
        where_cols,
        ..
    } = &ustmt.query
    else {
        return None;
    };
    let uid = ustmt.event;
    let Query::Select {
        tables,
        columns,
        where_cols: swhere,
        locked,
    } = &sstmt.query
    else {
        return None;
    };
    let sid = sstmt.event;
    if sid >= uid || *locked || !Query::same_table(tables, table.as_ref()) {
        return None;
    }
    // The select's value must reach a value of the SET clause (not only the
    // row key in the WHERE) when the values can be told apart.
    let from_data = match &ustmt.set_deps {
        Some(d) => d.contains(&sid),
        None => ustmt.data.contains(&sid),
    };
    let from_ctrl = ustmt.ctrl.contains(&sid);
    if !from_data && !from_ctrl {
        return None;
    }
    // Overwritten columns that were read (or selected on), and set to a value
    // that does not refer to the column itself.
    // Under a check only: the overwritten column must be named by the select.
    let explicit =
        |c: &String| columns.as_ref().is_some_and(|cols| cols.contains(c)) || swhere.contains(c);
    let read =
        |c: &String| columns.as_ref().map_or(true, |cols| cols.contains(c)) || swhere.contains(c);
    let overwritten: Vec<&String> = set
        .iter()
        .filter(|(c, value)| {
            (if from_data { read(c) } else { explicit(c) }) && !value.contains(c) && !is_key_col(c)
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
    let table = table
        .clone()
        .or_else(|| tables.iter().next().cloned())
        .unwrap_or_default();
    Some((sid, table, overwritten[0].clone(), from_data, from_ctrl))
}
