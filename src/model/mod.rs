//! Model-build implementation of the facade (feature `model`).
pub mod alloc;
pub mod arc;
pub mod atomic;
pub(crate) mod atomicity;
pub mod cell;
pub(crate) mod choice;
pub mod misc;
pub(crate) mod report;
pub mod rt;
pub mod statics;
pub mod sync;
pub mod thread;
pub mod time;
#[cfg(feature = "tokio")]
pub mod tokio;
