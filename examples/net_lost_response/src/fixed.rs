//! Every attempt of one checkout carries the same idempotency key; the service charges a key
//! once and answers a repeated key with the original receipt.
use crate::{GaveUp, Msg, ATTEMPTS, TIMEOUT};
use heisen::net::Node;
use heisen::sync::Mutex;
use std::collections::HashMap;

/// The shop's side: charge `cents` for checkout `key`, retrying with the same key.
pub fn checkout(shop: &Node<Msg>, key: u64, cents: u64) -> Result<(), GaveUp> {
    for _ in 0..ATTEMPTS {
        shop.send(
            "payments",
            Msg::Charge {
                key: Some(key),
                cents,
            },
        );
        if let Some((_, Msg::Receipt { .. })) = shop.recv_timeout(TIMEOUT) {
            return Ok(());
        }
    }
    Err(GaveUp)
}

/// The payment service: charges each key once; a repeated key gets its first receipt again.
pub fn serve(payments: &Node<Msg>, ledger: &Mutex<Vec<u64>>) {
    let mut done: HashMap<u64, u64> = HashMap::new();
    while let Some((from, msg)) = payments.recv_timeout(TIMEOUT) {
        let Msg::Charge { key, cents } = msg else {
            continue;
        };
        let charged = match key {
            Some(k) => *done.entry(k).or_insert_with(|| {
                ledger.lock().unwrap().push(cents);
                cents
            }),
            None => {
                ledger.lock().unwrap().push(cents);
                cents
            }
        };
        payments.send(&from, Msg::Receipt { cents: charged });
    }
}
