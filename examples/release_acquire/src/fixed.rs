//! `Release` on the flag publishes the message write; `Acquire` on the load receives it.

use heisen::cell::UnsafeCell;
use heisen::sync::atomic::{AtomicBool, Ordering};

/// A slot written once by one producer and read once `ready` is set.
pub struct Mailbox {
    message: UnsafeCell<u64>,
    ready: AtomicBool,
}

// SAFETY: the message is only accessed by one producer before `ready` and by consumers after
// it, and the Release/Acquire pair on `ready` orders the two.
unsafe impl Sync for Mailbox {}

impl Mailbox {
    /// An empty mailbox.
    pub fn new() -> Mailbox {
        Mailbox {
            message: UnsafeCell::new(0),
            ready: AtomicBool::new(false),
        }
    }

    /// Producer: write the message, then raise the flag.
    /// FIX: `Release` makes every write before the store visible to an `Acquire` load of it.
    pub fn send(&self, message: u64) {
        self.message.with_mut(|p| unsafe { *p = message });
        self.ready.store(true, Ordering::Release);
    }

    /// Consumer: wait for the flag, then read the message.
    /// FIX: `Acquire` pairs with the `Release` store: the message write happened before.
    pub fn recv(&self) -> u64 {
        while !self.ready.load(Ordering::Acquire) {
            heisen::hint::spin_loop();
        }
        self.message.with(|p| unsafe { *p })
    }
}

impl Default for Mailbox {
    fn default() -> Self {
        Mailbox::new()
    }
}
