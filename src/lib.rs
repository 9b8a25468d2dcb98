//! heisen: concurrency-correctness facade (see the crate guide, filled in by the facade work).
pub use heisen_macros::*;
