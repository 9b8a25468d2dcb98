//! Full-jitter exponential backoff: each client waits a random time in
//! `0..=min(cap, base * 2^attempt)`, so retries spread out over time *and* across clients.

use crate::{Response, Service, Unavailable};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::thread::sleep;
use std::time::Duration;

const BASE: Duration = Duration::from_millis(100);
const CAP: Duration = Duration::from_secs(10);

/// A tiny xorshift generator, seeded differently in every process (from std's random hash
/// keys). Good enough for jitter; use `rand` / `fastrand` if you already depend on one.
pub struct JitterRng(u64);

impl JitterRng {
    /// A generator with a per-process random seed.
    pub fn new() -> JitterRng {
        JitterRng::with_seed(RandomState::new().build_hasher().finish())
    }

    /// A generator with a fixed seed (tests).
    pub fn with_seed(seed: u64) -> JitterRng {
        JitterRng(seed | 1)
    }

    /// A number in `0..=max`.
    pub fn up_to(&mut self, max: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % (max + 1)
    }
}

impl Default for JitterRng {
    fn default() -> Self {
        JitterRng::new()
    }
}

/// The delay before retry number `attempt` (0-based): full jitter over the exponential bound.
pub fn full_jitter(attempt: u32, rng: &mut JitterRng) -> Duration {
    let bound = BASE.saturating_mul(2u32.saturating_pow(attempt)).min(CAP);
    Duration::from_millis(rng.up_to(bound.as_millis() as u64))
}

/// FIX: exponential backoff with full jitter, and a bounded number of attempts.
pub fn call_with_backoff(service: &impl Service, attempts: u32) -> Result<Response, Unavailable> {
    let mut rng = JitterRng::new();
    for attempt in 0..attempts {
        match service.call() {
            Ok(response) => return Ok(response),
            Err(Unavailable) => sleep(full_jitter(attempt, &mut rng)),
        }
    }
    Err(Unavailable)
}
