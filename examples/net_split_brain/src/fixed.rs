//! A candidate leads only with a majority of the whole cluster (2 of 3 votes, its own
//! included): two majorities always overlap, so a partition can have at most one leader.
use crate::{Tally, NODES};

/// Whether the candidate with this tally leads.
pub fn elected(t: &Tally) -> bool {
    t.granted > NODES.len() / 2
}
