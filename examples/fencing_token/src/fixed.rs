//! The token check raises the high-water mark and learns its old value in one atomic step.

use crate::StaleToken;
use heisen::sync::atomic::{AtomicU64, Ordering::SeqCst};
use heisen::sync::Mutex;

/// Storage that fences out deposed leaders.
pub struct Storage {
    high_water: AtomicU64,
    log: Mutex<Vec<(u64, &'static str)>>,
}

impl Storage {
    /// Empty storage; no token seen yet.
    pub fn new() -> Storage {
        Storage {
            high_water: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
        }
    }

    /// The highest token accepted so far.
    pub fn high_water(&self) -> u64 {
        self.high_water.load(SeqCst)
    }

    /// Accepts `value` if `token` is at least the highest token seen.
    /// FIX: `fetch_max` raises the mark and returns the previous one atomically, so the mark
    /// never goes down and every token is checked against every token before it.
    pub fn write(&self, token: u64, value: &'static str) -> Result<(), StaleToken> {
        let high_water = self.high_water.fetch_max(token, SeqCst);
        if token < high_water {
            return Err(StaleToken { token, high_water });
        }
        self.log.lock().unwrap().push((token, value));
        Ok(())
    }
}

impl Default for Storage {
    fn default() -> Self {
        Storage::new()
    }
}
