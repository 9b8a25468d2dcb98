//! The flag is raised and read with `Relaxed`: nothing orders the message write before it.

use heisen::cell::UnsafeCell;
use heisen::sync::atomic::{AtomicBool, Ordering};

/// A slot written once by one producer and read once `ready` is set.
pub struct Mailbox {
    message: UnsafeCell<u64>,
    ready: AtomicBool,
}

// SAFETY: the message is only accessed by one producer before `ready` and by consumers after
// it (that is the intent; the orderings below do not deliver it).
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
    /// BUG: a `Relaxed` store does not publish the write before it.
    pub fn send(&self, message: u64) {
        self.message.with_mut(|p| unsafe { *p = message });
        self.ready.store(true, Ordering::Relaxed);
    }

    /// Consumer: wait for the flag, then read the message.
    /// BUG: a `Relaxed` load does not make the producer's write visible.
    pub fn recv(&self) -> u64 {
        while !self.ready.load(Ordering::Relaxed) {
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
