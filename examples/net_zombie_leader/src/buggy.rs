//! The storage applies every write it receives: the leader checked its lease, didn't it?
use crate::Msg;
use heisen::net::Node;
use heisen::sync::Mutex;
use std::time::Duration;

/// Applies writes to `log` until none comes for `idle`.
pub fn storage(me: &Node<Msg>, log: &Mutex<Vec<(u64, &'static str)>>, idle: Duration) {
    while let Some((_, Msg::Write { token, value })) = me.recv_timeout(idle) {
        log.lock().unwrap().push((token, value));
    }
}
