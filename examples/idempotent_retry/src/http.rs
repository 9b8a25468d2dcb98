//! A stand-in for the `reqwest::blocking` calls the client uses (`client.post(url)
//! .header(..).body(..).send()`), wired to an in-process [`PaymentServer`] over a network
//! that can lose responses.
//!
//! A lost response is the interesting failure: the server *did* perform the request, and the
//! client only sees a timeout. Each client's connection loses the responses of its first `k`
//! requests, `k` in `0..=3` chosen nondeterministically when the client is made
//! ([`heisen::choose`]): a model run explores every `k`; a normal run loses none. (One choice
//! per client rather than one per request: under loom each `choose` costs one of the four
//! threads an execution may create.)

use crate::server::PaymentServer;
use heisen::sync::Arc;
use std::cell::Cell;

/// An HTTP client bound to one server.
pub struct Client {
    server: Arc<PaymentServer>,
    /// Responses still to be lost.
    lose_next: Cell<usize>,
}

/// The request timed out: it may or may not have been performed.
#[derive(Debug)]
pub struct Error;

impl Client {
    /// A client of `server`.
    pub fn new(server: Arc<PaymentServer>) -> Client {
        let lost_responses = heisen::choose(4);
        Client {
            server,
            lose_next: Cell::new(lost_responses),
        }
    }

    /// Starts a `POST` request.
    pub fn post(&self, url: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            client: self,
            url: url.to_string(),
            headers: Vec::new(),
            body: String::new(),
        }
    }
}

/// A request being built.
pub struct RequestBuilder<'c> {
    client: &'c Client,
    url: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl<'c> RequestBuilder<'c> {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> RequestBuilder<'c> {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<String>) -> RequestBuilder<'c> {
        self.body = body.into();
        self
    }

    /// Sends the request; the server performs it, then the response may be lost.
    pub fn send(self) -> Result<String, Error> {
        assert_eq!(self.url, "https://pay.example/charges");
        let response = self.client.server.handle(&self.headers, &self.body);
        let lose = self.client.lose_next.get();
        if lose > 0 {
            self.client.lose_next.set(lose - 1);
            Err(Error)
        } else {
            Ok(response)
        }
    }
}
