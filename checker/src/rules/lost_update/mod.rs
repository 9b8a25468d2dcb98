//! Group `lost-update`: read-modify-write without a version guard.

pub mod atomic_load_store;
