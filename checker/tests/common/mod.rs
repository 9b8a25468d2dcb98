//! Shared by the integration tests that run the `cargo-heisen` binary.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `cargo heisen ARGS` in `dir` (no colour, cargo offline) and returns its output.
pub fn heisen_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-heisen"))
        .arg("heisen")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .expect("run cargo-heisen")
}
