//! A candidate becomes leader unless a peer refused: a peer that never answered is taken to
//! be down, and silence counts as consent.
use crate::Tally;

/// Whether the candidate with this tally leads.
pub fn elected(t: &Tally) -> bool {
    t.refused == 0
}
