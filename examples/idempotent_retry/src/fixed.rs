//! Retrying a charge with an idempotency key: every attempt is recognizably the same charge.

use crate::http::{Client, Error};
use crate::{jitter, random_u64};
use std::time::Duration;

/// Charges `amount_cents` for `order`, retrying timeouts (with jittered backoff).
/// FIX: one `Idempotency-Key` per logical charge, made before the first attempt and sent on
/// every attempt; the server performs the charge once and answers retries with the first
/// response.
pub fn charge(
    client: &Client,
    order: &str,
    amount_cents: u64,
    backoff: Duration,
) -> Result<String, Error> {
    let key = format!("{:016x}", random_u64());
    let mut attempt = 0;
    loop {
        let sent = client
            .post("https://pay.example/charges")
            .header("Idempotency-Key", &key)
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
