//! The check and the debit are one lock scope; the guard is held across the await.

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
    /// FIX: one guard for the read, the fraud check and the debit (a tokio `MutexGuard` may be
    /// held across `.await`): a second request waits for the first to finish.
    pub async fn withdraw(&self, amount: i64) -> Result<(), Insufficient> {
        let mut balance = self.balance.lock().await;
        if *balance < amount {
            return Err(Insufficient);
        }
        fraud_check(amount).await;
        *balance -= amount;
        Ok(())
    }
}
