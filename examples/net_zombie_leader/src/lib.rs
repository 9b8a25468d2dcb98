//! Leases and fencing tokens over a network (`heisen::net`), with the model's clock
//! (`heisen::time::Instant`, advanced by `heisen::thread::sleep`). See README.md.
pub mod buggy;
pub mod fixed;

use heisen::sync::Mutex;
use heisen::time::Instant;
use std::time::Duration;

/// How long a lease lasts.
pub const LEASE: Duration = Duration::from_millis(100);

/// The wire protocol between leaders and storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// Leader → storage: write `value`, under the lease with fencing token `token`.
    Write { token: u64, value: &'static str },
}

/// The lock service: one lease at a time; each grant has the next fencing token.
pub struct LockService {
    state: Mutex<(u64, Option<Instant>)>,
}

impl LockService {
    /// No lease granted yet.
    pub fn new() -> Self {
        LockService {
            state: Mutex::new((0, None)),
        }
    }
    /// A new lease and its token, if the previous lease expired.
    pub fn acquire(&self) -> Option<u64> {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap();
        if s.1.is_some_and(|expires| now < expires) {
            return None;
        }
        s.0 += 1;
        s.1 = Some(now + LEASE);
        Some(s.0)
    }
    /// Whether the lease of `token` is still the current, unexpired one.
    pub fn holds(&self, token: u64) -> bool {
        let now = Instant::now();
        let s = self.state.lock().unwrap();
        s.0 == token && s.1.is_some_and(|expires| now < expires)
    }
}

impl Default for LockService {
    fn default() -> Self {
        Self::new()
    }
}

/// A leader's turn: take the lease, check it, do some slow work, write the result.
pub fn lead(me: &heisen::net::Node<Msg>, locks: &LockService, value: &'static str, work: Duration) {
    let Some(token) = locks.acquire() else { return };
    if locks.holds(token) {
        // A GC pause, a slow disk: the lease may expire meanwhile.
        heisen::thread::sleep(work);
        me.send("storage", Msg::Write { token, value });
    }
}
