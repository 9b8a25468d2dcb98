//! A key-value store with a primary and an asynchronously replicated follower, over a network
//! (`heisen::net`). A client writes to the primary, then reads from the follower. See
//! README.md.
pub mod buggy;
pub mod fixed;

/// The wire protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// Client → primary: set the value.
    Write(&'static str),
    /// Primary → client: applied as log entry `index`.
    WriteOk { index: u64 },
    /// Primary → follower: apply log entry `index`.
    Replicate { index: u64, value: &'static str },
    /// Client → follower: read the value, once entry `min_index` is applied (0: now).
    Read { min_index: u64 },
    /// Follower → client: the value it has.
    Value(Option<&'static str>),
}

/// The primary: applies one write, acknowledges it, and replicates it to the follower
/// (asynchronously: it does not wait for the follower).
pub fn primary(node: &heisen::net::Node<Msg>) {
    let mut index = 0;
    let (client, msg) = node.recv();
    if let Msg::Write(value) = msg {
        index += 1;
        node.send(&client, Msg::WriteOk { index });
        node.send("follower", Msg::Replicate { index, value });
    }
}
