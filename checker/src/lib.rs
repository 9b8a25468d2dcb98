//! cargo-heisen library
