//! Retrying a failed call: how long to wait before the next attempt. See README.md.
pub mod buggy;
pub mod fixed;

/// A response from the downstream service.
#[derive(Debug)]
pub struct Response(pub String);

/// The downstream service is down or overloaded.
#[derive(Debug)]
pub struct Unavailable;

/// A downstream service (an HTTP API, a database, a queue).
pub trait Service {
    /// One attempt.
    fn call(&self) -> Result<Response, Unavailable>;
}
