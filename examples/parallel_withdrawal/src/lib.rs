//! Two withdrawals race on one balance: in memory (an atomic) and in SQL (two statements).
//! See README.md for the story; `buggy` and `fixed` differ only in the read-modify-write.
pub mod buggy;
pub mod fixed;
pub mod sqlx;

/// The balance does not cover the withdrawal.
#[derive(Debug, PartialEq, Eq)]
pub struct Insufficient;
