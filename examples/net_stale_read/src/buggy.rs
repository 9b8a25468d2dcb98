//! The client reads from the follower right after its write was acknowledged, and the
//! follower answers with whatever it has applied so far.
use crate::Msg;
use heisen::net::Node;

/// Writes `value` through the primary, then reads it back from the follower.
pub fn write_then_read(client: &Node<Msg>, value: &'static str) -> Option<&'static str> {
    client.send("primary", Msg::Write(value));
    let (_, ack) = client.recv();
    assert!(matches!(ack, Msg::WriteOk { .. }));
    client.send("follower", Msg::Read { min_index: 0 });
    match client.recv() {
        (_, Msg::Value(v)) => v,
        (_, other) => panic!("unexpected {other:?}"),
    }
}

/// The follower: applies replication and answers one read with its current value.
pub fn follower(node: &Node<Msg>) {
    let mut value = None;
    let (mut replicated, mut answered) = (false, false);
    while !(replicated && answered) {
        match node.recv() {
            (_, Msg::Replicate { value: v, .. }) => {
                value = Some(v);
                replicated = true;
            }
            (from, Msg::Read { .. }) => {
                node.send(&from, Msg::Value(value));
                answered = true;
            }
            _ => {}
        }
    }
}
