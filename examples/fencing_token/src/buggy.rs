//! The token check reads the high-water mark, compares, and stores: three steps.

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
    /// BUG: between the load and the store a newer leader can raise the mark; the older
    /// token's store then lowers it again, and the deposed leader's writes are accepted.
    pub fn write(&self, token: u64, value: &'static str) -> Result<(), StaleToken> {
        let high_water = self.high_water.load(SeqCst);
        if token < high_water {
            return Err(StaleToken { token, high_water });
        }
        self.high_water.store(token, SeqCst);
        self.log.lock().unwrap().push((token, value));
        Ok(())
    }
}

impl Default for Storage {
    fn default() -> Self {
        Storage::new()
    }
}
