//! A replicated register merged last-write-wins. See README.md.
pub mod buggy;
pub mod fixed;

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch on a machine whose clock is `skew_ms` off.
pub fn wall_clock_ms(skew_ms: i64) -> u64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    (ms + skew_ms) as u64
}
