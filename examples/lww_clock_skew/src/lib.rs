//! A replicated register merged last-write-wins. See README.md.
pub mod buggy;
pub mod fixed;

use heisen::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch on a machine whose clock is `skew_ms` off (on top of the
/// skew a model run gives the calling thread's clock).
pub fn wall_clock_ms(skew_ms: i64) -> u64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    (ms + skew_ms) as u64
}
