//! Fencing: the storage remembers the highest token it has applied and refuses older ones.
use crate::Msg;
use heisen::net::Node;
use heisen::sync::Mutex;
use std::time::Duration;

/// Applies writes with a token at least the highest seen to `log` until none comes for
/// `idle`.
pub fn storage(me: &Node<Msg>, log: &Mutex<Vec<(u64, &'static str)>>, idle: Duration) {
    let mut highest = 0;
    while let Some((_, Msg::Write { token, value })) = me.recv_timeout(idle) {
        if token >= highest {
            highest = token;
            log.lock().unwrap().push((token, value));
        }
    }
}
