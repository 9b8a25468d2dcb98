//! The read, the check and the write as one atomic step.

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

    /// FIX: a compare-and-swap loop: the new balance is written only if the balance is still
    /// the one that was checked; if another withdrawal got in between, check again.
    pub fn withdraw(&self, amount: i64) -> Result<(), Insufficient> {
        let mut current = self.balance.load(SeqCst);
        loop {
            if current < amount {
                return Err(Insufficient);
            }
            match self
                .balance
                .compare_exchange(current, current - amount, SeqCst, SeqCst)
            {
                Ok(_) => return Ok(()),
                Err(actual) => current = actual,
            }
        }
    }
}

/// FIX: optimistic concurrency. The `UPDATE` only applies if the row still has the version
/// that was read; when another request got there first it changes 0 rows, and we read again.
pub async fn withdraw(pool: &PgPool, id: i64, amount: i64) -> Result<(), Insufficient> {
    loop {
        let row = sqlx::query("SELECT balance, version FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .expect("account exists");
        let balance = row.get("balance");
        let version = row.get("version");
        if balance < amount {
            return Err(Insufficient);
        }
        let done = sqlx::query(
            "UPDATE accounts SET balance = $1, version = version + 1 \
             WHERE id = $2 AND version = $3",
        )
        .bind(balance - amount)
        .bind(id)
        .bind(version)
        .execute(pool)
        .await
        .expect("update");
        if done.rows_affected() == 1 {
            return Ok(());
        }
        // Someone else changed the row between our SELECT and UPDATE: start over.
    }
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
