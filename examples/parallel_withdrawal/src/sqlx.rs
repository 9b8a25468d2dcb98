//! A stand-in for the slice of `sqlx` the repository code uses (`query(..).bind(..)
//! .fetch_one(&pool)` / `.execute(&pool)`), backed by an in-memory `accounts` table so the
//! model tests need no database.
//!
//! Each statement takes the table lock once, like a database executing one statement
//! atomically; what happens *between* statements is up to the scheduler, as in production.
//! It understands exactly the statements of this example and panics on any other.

use heisen::sync::Mutex;
use std::collections::HashMap;

/// One row of `accounts`.
#[derive(Clone, Copy, Debug)]
struct Account {
    balance: i64,
    version: i64,
}

/// The connection pool (here: the whole database).
pub struct PgPool {
    accounts: Mutex<HashMap<i64, Account>>,
}

impl PgPool {
    /// A database whose `accounts` table holds `(id, balance)` rows, all at version 0.
    pub fn with_accounts(rows: &[(i64, i64)]) -> PgPool {
        let map = rows
            .iter()
            .map(|&(id, balance)| {
                (
                    id,
                    Account {
                        balance,
                        version: 0,
                    },
                )
            })
            .collect();
        PgPool {
            accounts: Mutex::new(map),
        }
    }
}

/// Errors (only `RowNotFound` here).
#[derive(Debug)]
pub enum Error {
    /// `fetch_one` found no row.
    RowNotFound,
}

/// A statement with its bound parameters (`$1`, `$2`, ...).
pub struct Query {
    sql: &'static str,
    args: Vec<i64>,
}

/// `sqlx::query(sql)`.
pub fn query(sql: &'static str) -> Query {
    Query {
        sql,
        args: Vec::new(),
    }
}

/// A fetched row.
pub struct PgRow {
    balance: i64,
    version: i64,
}

impl PgRow {
    /// The value of a column (`balance` or `version`).
    pub fn get(&self, column: &str) -> i64 {
        match column {
            "balance" => self.balance,
            "version" => self.version,
            other => panic!("no column {other}"),
        }
    }
}

/// What `execute` returns.
pub struct PgQueryResult {
    rows_affected: u64,
}

impl PgQueryResult {
    /// Rows the statement changed.
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

impl Query {
    /// Binds the next parameter.
    pub fn bind(mut self, value: i64) -> Query {
        self.args.push(value);
        self
    }

    /// Runs a `SELECT` that returns exactly one row.
    pub async fn fetch_one(self, pool: &PgPool) -> Result<PgRow, Error> {
        let table = pool.accounts.lock().unwrap(); // SELECT
        match self.sql {
            "SELECT balance FROM accounts WHERE id = $1"
            | "SELECT balance, version FROM accounts WHERE id = $1" => {
                let a = table.get(&self.args[0]).ok_or(Error::RowNotFound)?;
                Ok(PgRow {
                    balance: a.balance,
                    version: a.version,
                })
            }
            other => panic!("the fake database does not know `{other}`"),
        }
    }

    /// Runs an `UPDATE`.
    pub async fn execute(self, pool: &PgPool) -> Result<PgQueryResult, Error> {
        let mut table = pool.accounts.lock().unwrap(); // UPDATE
        let a = &self.args;
        let changed = match self.sql {
            "UPDATE accounts SET balance = $1 WHERE id = $2" => match table.get_mut(&a[1]) {
                Some(row) => {
                    row.balance = a[0];
                    row.version += 1;
                    1
                }
                None => 0,
            },
            "UPDATE accounts SET balance = $1, version = version + 1 \
             WHERE id = $2 AND version = $3" => match table.get_mut(&a[1]) {
                Some(row) if row.version == a[2] => {
                    row.balance = a[0];
                    row.version += 1;
                    1
                }
                _ => 0,
            },
            other => panic!("the fake database does not know `{other}`"),
        };
        Ok(PgQueryResult {
            rows_affected: changed,
        })
    }
}
