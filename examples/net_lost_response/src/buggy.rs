//! Retry without an idempotency key: a retry after a *slow* response charges again.
use crate::{GaveUp, Msg, ATTEMPTS, TIMEOUT};
use heisen::net::Node;
use heisen::sync::Mutex;

/// The shop's side: charge `cents`, retrying when no receipt arrives in time.
pub fn checkout(shop: &Node<Msg>, cents: u64) -> Result<(), GaveUp> {
    for _ in 0..ATTEMPTS {
        shop.send("payments", Msg::Charge { key: None, cents });
        if let Some((_, Msg::Receipt { .. })) = shop.recv_timeout(TIMEOUT) {
            return Ok(());
        }
    }
    Err(GaveUp)
}

/// The payment service: charges every request it gets (`ledger` is the card's statement),
/// until no request comes within the timeout.
pub fn serve(payments: &Node<Msg>, ledger: &Mutex<Vec<u64>>) {
    while let Some((from, msg)) = payments.recv_timeout(TIMEOUT) {
        if let Msg::Charge { cents, .. } = msg {
            ledger.lock().unwrap().push(cents);
            payments.send(&from, Msg::Receipt { cents });
        }
    }
}
