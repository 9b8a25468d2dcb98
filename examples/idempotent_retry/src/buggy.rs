//! Retrying a charge after a timeout, without telling the server it is the same charge.

use crate::http::{Client, Error};
use crate::jitter;
use std::time::Duration;

/// Charges `amount_cents` for `order`, retrying timeouts (with jittered backoff).
/// BUG: a timeout does not mean the charge failed. When only the response was lost, the retry
/// is a brand-new charge to the server, and the customer pays twice.
pub fn charge(
    client: &Client,
    order: &str,
    amount_cents: u64,
    backoff: Duration,
) -> Result<String, Error> {
    let mut attempt = 0;
    loop {
        let sent = client
            .post("https://pay.example/charges")
            .body(format!("order={order}&amount={amount_cents}"))
            .send();
        match sent {
            Ok(receipt) => return Ok(receipt),
            Err(e) if attempt == 2 => return Err(e),
            Err(_) => {
                std::thread::sleep(jitter(backoff, attempt));
                attempt += 1;
            }
        }
    }
}
