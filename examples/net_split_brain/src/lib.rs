//! Leader election among three nodes over a network (`heisen::net`) that may be partitioned.
//! See README.md.
pub mod buggy;
pub mod fixed;

use heisen::net::Node;
use std::time::Duration;

/// How long a candidate waits for votes.
pub const TIMEOUT: Duration = Duration::from_millis(150);

/// The cluster.
pub const NODES: [&str; 3] = ["a", "b", "c"];

/// The wire protocol (one election term).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// Candidate → peer: vote for me.
    RequestVote,
    /// Peer → candidate: the answer.
    Vote { granted: bool },
}

/// What a candidate heard during its election.
#[derive(Debug, Default)]
pub struct Tally {
    /// Votes for this candidate, its own included.
    pub granted: usize,
    /// Peers that refused.
    pub refused: usize,
    /// Peers that never answered in time.
    pub silent: usize,
}

/// Runs one election for `me`: asks every peer for its vote (voting for itself first) and
/// answers the other candidates' requests (refusing: it voted for itself) until every peer
/// answered or the timeout fired.
pub fn campaign(me: &Node<Msg>) -> Tally {
    let peers: Vec<&str> = NODES.iter().copied().filter(|n| *n != me.name()).collect();
    for p in &peers {
        me.send(p, Msg::RequestVote);
    }
    let mut t = Tally {
        granted: 1,
        ..Tally::default()
    };
    let mut answered = 0;
    while answered < peers.len() {
        match me.recv_timeout(TIMEOUT) {
            Some((from, Msg::RequestVote)) => me.send(&from, Msg::Vote { granted: false }),
            Some((_, Msg::Vote { granted })) => {
                answered += 1;
                if granted {
                    t.granted += 1;
                } else {
                    t.refused += 1;
                }
            }
            None => break,
        }
    }
    t.silent = peers.len() - answered;
    t
}

/// A voter that is no candidate: grants its one vote to the first candidate that asks and
/// refuses the others, until no request comes within the timeout.
pub fn voter(me: &Node<Msg>) {
    let mut voted = false;
    while let Some((from, msg)) = me.recv_timeout(TIMEOUT) {
        if msg == Msg::RequestVote {
            me.send(&from, Msg::Vote { granted: !voted });
            voted = true;
        }
    }
}
