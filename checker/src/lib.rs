//! `cargo heisen check`: finds phantom concurrency bugs in Rust source without building it.
//!
//! Pipeline (see ARCHITECTURE.md): [`discover`] → [`engine`] (parse with syn, [`analysis`]
//! facts per function, [`index`] per crate, [`rules`] as queries, [`suppress`] + [`config`]
//! filtering) → [`output`].

pub mod analysis;
pub mod cache;
pub mod cli;
pub mod config;
pub mod discover;
pub mod engine;
pub mod finding;
pub mod gate;
pub mod hash;
pub mod index;
pub mod model_cmd;
pub mod output;
pub mod rules;
pub mod source;
pub mod suppress;
