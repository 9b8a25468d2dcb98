//! The payment provider's side: it performs each charge it receives, and remembers the
//! response of every request that carried an `Idempotency-Key`, so a retry of that request
//! returns the first response instead of charging again.

use heisen::sync::Mutex;
use std::collections::HashMap;

/// The payment provider.
#[derive(Default)]
pub struct PaymentServer {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Bodies of the charges performed, in order.
    charges: Vec<String>,
    /// Idempotency key → the response first sent for it.
    responses: HashMap<String, String>,
}

impl PaymentServer {
    /// A provider that has charged nothing yet.
    pub fn new() -> PaymentServer {
        PaymentServer::default()
    }

    /// Handles `POST /charges`: returns the response body.
    pub fn handle(&self, headers: &[(String, String)], body: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let key = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("Idempotency-Key"))
            .map(|(_, value)| value.clone());
        if let Some(first) = key.as_ref().and_then(|k| state.responses.get(k)) {
            return first.clone();
        }
        state.charges.push(body.to_string());
        let response = format!("charge #{} ok", state.charges.len());
        if let Some(k) = key {
            state.responses.insert(k, response.clone());
        }
        response
    }

    /// How many charges carried `body`.
    pub fn charges_of(&self, body: &str) -> usize {
        let state = self.state.lock().unwrap();
        state.charges.iter().filter(|c| *c == body).count()
    }
}
