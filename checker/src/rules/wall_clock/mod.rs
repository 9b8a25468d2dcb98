//! Group `wall-clock`: wall-clock readings used to order events across nodes.

pub mod wall_clock_ordering;
