//! Read-your-writes: the write's acknowledgement carries its log index, the read asks for at
//! least that index, and the follower holds the read until it has applied it.
use crate::Msg;
use heisen::net::Node;

/// Writes `value` through the primary, then reads it back from the follower at the write's
/// index or later.
pub fn write_then_read(client: &Node<Msg>, value: &'static str) -> Option<&'static str> {
    client.send("primary", Msg::Write(value));
    let (_, ack) = client.recv();
    let Msg::WriteOk { index } = ack else {
        panic!("unexpected {ack:?}")
    };
    client.send("follower", Msg::Read { min_index: index });
    match client.recv() {
        (_, Msg::Value(v)) => v,
        (_, other) => panic!("unexpected {other:?}"),
    }
}

/// The follower: applies replication; a read waits until its index is applied.
pub fn follower(node: &Node<Msg>) {
    let (mut value, mut applied) = (None, 0);
    let mut waiting: Vec<(String, u64)> = Vec::new();
    let (mut replicated, mut answered) = (false, false);
    while !(replicated && answered) {
        match node.recv() {
            (_, Msg::Replicate { index, value: v }) => {
                value = Some(v);
                applied = index;
                replicated = true;
            }
            (from, Msg::Read { min_index }) => waiting.push((from, min_index)),
            _ => {}
        }
        let (ready, still): (Vec<_>, Vec<_>) =
            waiting.drain(..).partition(|(_, min)| *min <= applied);
        waiting = still;
        for (from, _) in ready {
            node.send(&from, Msg::Value(value));
            answered = true;
        }
    }
}
