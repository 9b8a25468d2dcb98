//! A payment client retries `POST /charges` when the response does not arrive. See README.md.
pub mod buggy;
pub mod fixed;
pub mod http;
pub mod server;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// A random 64-bit value (std's per-process random hash keys; no dependency).
pub fn random_u64() -> u64 {
    RandomState::new().build_hasher().finish()
}

/// Full-jitter backoff before retry `attempt`: random in `0..=base * 2^attempt`.
pub fn jitter(base: Duration, attempt: u32) -> Duration {
    let bound = base.saturating_mul(1 << attempt.min(16)).as_millis() as u64;
    Duration::from_millis(random_u64() % (bound + 1))
}
