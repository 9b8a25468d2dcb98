//! Retry loops that keep every client in lockstep.

use crate::{Response, Service, Unavailable};
use std::thread::sleep;
use std::time::Duration;

/// BUG: a fixed delay. Every client that failed when the service went down retries every
/// second, on the same schedule, for as long as the outage lasts.
pub fn call_with_fixed_delay(service: &impl Service) -> Response {
    loop {
        match service.call() {
            Ok(response) => return response,
            Err(Unavailable) => sleep(Duration::from_secs(1)),
        }
    }
}

/// BUG: exponential backoff without jitter. Retries of one client spread out over time, but
/// all clients still wait 100 ms, 200 ms, 400 ms... and arrive in synchronized waves.
pub fn call_with_backoff(service: &impl Service, attempts: u32) -> Result<Response, Unavailable> {
    let mut delay = Duration::from_millis(100);
    for _ in 0..attempts {
        match service.call() {
            Ok(response) => return Ok(response),
            Err(Unavailable) => {
                sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
    Err(Unavailable)
}
