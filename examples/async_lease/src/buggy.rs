//! The storage trusts writers to check their own lease on the clock: it ignores the token.

use crate::Rejected;
use heisen::tokio::sync::Mutex;

/// Shared storage: the last value written and the token it came with.
pub struct Storage {
    value: Mutex<Option<(u64, &'static str)>>,
}

impl Storage {
    /// Empty storage.
    pub fn new() -> Storage {
        Storage {
            value: Mutex::new(None),
        }
    }

}

impl crate::Storage for Storage {
    /// BUG: the token is not checked: the storage trusts writers to have checked their lease,
    /// so a deposed leader's late write wins.
    async fn put(&self, token: u64, value: &'static str) -> Result<(), Rejected> {
        *self.value.lock().await = Some((token, value));
        Ok(())
    }

    async fn value(&self) -> Option<(u64, &'static str)> {
        *self.value.lock().await
    }
}

impl Default for Storage {
    fn default() -> Self {
        Storage::new()
    }
}
