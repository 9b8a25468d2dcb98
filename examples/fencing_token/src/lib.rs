//! Fencing tokens: a storage layer rejects writes from a leader whose token is older than the
//! highest one it has seen. See README.md.
pub mod buggy;
pub mod fixed;

/// The write carried a token older than the storage's high-water mark.
#[derive(Debug, PartialEq, Eq)]
pub struct StaleToken {
    /// The rejected token.
    pub token: u64,
    /// The highest token seen.
    pub high_water: u64,
}
