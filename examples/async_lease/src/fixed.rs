//! The storage fences: it refuses any token older than the newest it has seen.

use crate::Rejected;
use heisen::tokio::sync::Mutex;

struct State {
    high_water: u64,
    value: Option<(u64, &'static str)>,
}

/// Shared storage: the last value written and the token it came with.
pub struct Storage {
    state: Mutex<State>,
}

impl Storage {
    /// Empty storage.
    pub fn new() -> Storage {
        Storage {
            state: Mutex::new(State {
                high_water: 0,
                value: None,
            }),
        }
    }

}

impl crate::Storage for Storage {
    /// FIX: the token is checked against the newest one seen, in the same lock scope that
    /// stores it, so a deposed leader's late write is refused however late it lands.
    async fn put(&self, token: u64, value: &'static str) -> Result<(), Rejected> {
        let mut s = self.state.lock().await;
        if token < s.high_water {
            return Err(Rejected::Stale {
                token,
                high_water: s.high_water,
            });
        }
        s.high_water = token;
        s.value = Some((token, value));
        Ok(())
    }

    async fn value(&self) -> Option<(u64, &'static str)> {
        self.state.lock().await.value
    }
}

impl Default for Storage {
    fn default() -> Self {
        Storage::new()
    }
}
