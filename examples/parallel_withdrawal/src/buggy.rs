//! Check-then-act on a balance: both withdrawals read 100, both pass the check, both write.

use crate::sqlx::{self, PgPool};
use crate::Insufficient;
use heisen::sync::atomic::{AtomicI64, Ordering::SeqCst};

/// An account balance in memory.
pub struct Account {
    balance: AtomicI64,
}

impl Account {
    /// An account holding `balance`.
    pub fn new(balance: i64) -> Account {
        Account {
            balance: AtomicI64::new(balance),
        }
    }

    /// The current balance.
    pub fn balance(&self) -> i64 {
        self.balance.load(SeqCst)
    }

    /// BUG: the load, the check and the store are three steps; another withdrawal can run
    /// between them, and then both succeed against the same balance.
    pub fn withdraw(&self, amount: i64) -> Result<(), Insufficient> {
        let balance = self.balance.load(SeqCst);
        if balance < amount {
            return Err(Insufficient);
        }
        self.balance.store(balance - amount, SeqCst);
        Ok(())
    }
}

/// The same bug in a repository: `SELECT` the balance, check it in Rust, `UPDATE` it.
/// BUG: nothing stops another request from updating the row between the two statements.
pub async fn withdraw(pool: &PgPool, id: i64, amount: i64) -> Result<(), Insufficient> {
    let row = sqlx::query("SELECT balance FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("account exists");
    let balance = row.get("balance");
    if balance < amount {
        return Err(Insufficient);
    }
    sqlx::query("UPDATE accounts SET balance = $1 WHERE id = $2")
        .bind(balance - amount)
        .bind(id)
        .execute(pool)
        .await
        .expect("update");
    Ok(())
}

/// The balance of account `id`.
pub async fn balance(pool: &PgPool, id: i64) -> i64 {
    sqlx::query("SELECT balance FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("account exists")
        .get("balance")
}
