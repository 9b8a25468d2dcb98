//! An async account service on tokio: `withdraw` checks the balance, awaits the fraud check,
//! then debits. See README.md; `buggy` and `fixed` differ only in the lock scopes.
pub mod buggy;
pub mod fixed;

use heisen::tokio::time::{sleep, Duration};

/// The balance does not cover the withdrawal.
#[derive(Debug, PartialEq, Eq)]
pub struct Insufficient;

/// The fraud check a withdrawal awaits between reading and debiting the balance (a remote
/// call: 20 ms on the virtual clock).
pub async fn fraud_check(_amount: i64) {
    sleep(Duration::from_millis(20)).await;
}
