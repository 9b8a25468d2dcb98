//! A checkout charges a card through a payment service over a network (`heisen::net`). The
//! response may arrive after the client's timeout; the client retries. See README.md.
pub mod buggy;
pub mod fixed;

use std::time::Duration;

/// How long the shop waits for a receipt before it retries.
pub const TIMEOUT: Duration = Duration::from_millis(200);

/// Attempts per checkout (the first and one retry).
pub const ATTEMPTS: usize = 2;

/// The wire protocol between the shop and the payment service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// Charge `cents`; `key` identifies the checkout (the fixed client sends one).
    Charge { key: Option<u64>, cents: u64 },
    /// The charge went through.
    Receipt { cents: u64 },
}

/// The shop gave up: no receipt within any attempt.
#[derive(Debug, PartialEq, Eq)]
pub struct GaveUp;
