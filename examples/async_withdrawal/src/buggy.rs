//! The balance is read in one lock scope and written in another, with an await between them.

use crate::{fraud_check, Insufficient};
use heisen::tokio::sync::Mutex;

/// One account.
pub struct Account {
    balance: Mutex<i64>,
}

impl Account {
    /// An account holding `balance`.
    pub fn new(balance: i64) -> Account {
        Account {
            balance: Mutex::new(balance),
        }
    }

    /// The balance now.
    pub async fn balance(&self) -> i64 {
        *self.balance.lock().await
    }

    /// Withdraws `amount` if the balance covers it.
    /// BUG: the guard is dropped after the read; while this request awaits the fraud check,
    /// another one reads the same balance, and both debit it.
    pub async fn withdraw(&self, amount: i64) -> Result<(), Insufficient> {
        let balance = *self.balance.lock().await;
        if balance < amount {
            return Err(Insufficient);
        }
        fraud_check(amount).await;
        *self.balance.lock().await = balance - amount;
        Ok(())
    }
}
