//! End to end over `examples/`: the real `cargo-heisen` binary checks every example, and
//!
//! * each `buggy` file is reported by the rules its example demonstrates (table below), and
//! * no `fixed` file has any finding.
//!
//! Every rule in the table must exist (a renamed rule fails here rather than silently dropping
//! its expectation). `NOT_YET` lists buggy files that no rule reports yet (the `net_*`
//! examples, and `async_lease`, whose storage ignores the fencing token: a missing check); a
//! file there that starts being reported fails the test, so the table gets updated.

use cargo_heisen::rules;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Buggy file (relative to `examples/`) → rules that must report it.
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "parallel_withdrawal/src/buggy.rs",
        &["atomic-load-store", "sql-read-then-write"],
    ),
    (
        "release_acquire/src/buggy.rs",
        &["relaxed-publication", "relaxed-consume"],
    ),
    ("fencing_token/src/buggy.rs", &["atomic-load-store"]),
    (
        "retry_storm/src/buggy.rs",
        &["retry-without-backoff", "retry-without-jitter"],
    ),
    ("idempotent_retry/src/buggy.rs", &["non-idempotent-retry"]),
    ("lww_clock_skew/src/buggy.rs", &["wall-clock-ordering"]),
    ("async_withdrawal/src/buggy.rs", &["split-lock-update"]),
];

/// Buggy files that no rule reports yet: the `net_*` examples' bugs are protocol bugs over
/// `heisen::net` (a retry without a key, a read from a follower, a vote count, a lease
/// check) that the model finds and no static rule models yet; `async_lease`'s storage ignores
/// the fencing token (a missing check).
const NOT_YET: &[&str] = &[
    "net_lost_response/src/buggy.rs",
    "net_stale_read/src/buggy.rs",
    "net_split_brain/src/buggy.rs",
    "net_zombie_leader/src/buggy.rs",
    "async_lease/src/buggy.rs",
];

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("checker/ has a parent")
        .join("examples")
}

/// Every `.rs` file under `dir` (skipping `target/`), relative to `root`, `/`-separated.
fn rust_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read examples/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(root, &path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under root");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// (file relative to `examples/`, rule, message) of every finding of `check examples --format json`.
fn findings() -> Vec<(String, String, String)> {
    let dir = examples_dir();
    // Run from `examples/`: paths are reported relative to it, and no `heisen.toml` of the
    // repository (or of `checker/`) changes what is checked.
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-heisen"))
        .current_dir(&dir)
        .args(["heisen", "check"])
        .arg(&dir)
        .args(["--format", "json"])
        .output()
        .expect("run cargo-heisen");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 output");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "cargo-heisen failed ({}):\n{}\n{}",
        out.status,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut found = Vec::new();
    let mut summary = None;
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        match v["kind"].as_str() {
            Some("finding") => {
                let file = v["file"].as_str().expect("finding has a file");
                let rel = Path::new(file)
                    .strip_prefix(&dir)
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_else(|_| file.to_string());
                found.push((
                    rel,
                    v["rule"].as_str().expect("rule").to_string(),
                    v["message"].as_str().unwrap_or_default().to_string(),
                ));
            }
            Some("summary") => summary = Some(v),
            _ => {}
        }
    }
    let summary = summary.expect("a summary line");
    assert_eq!(summary["parse_failed"], 0, "examples must parse: {summary}");
    // No example hides a finding behind a suppression: a fixed file is clean on its own.
    assert_eq!(
        summary["suppressed"], 0,
        "examples must not suppress: {summary}"
    );
    assert!(
        summary["files_scanned"].as_u64().unwrap_or(0) >= 2 * EXPECTED.len() as u64,
        "too few files scanned: {summary}"
    );
    found
}

#[test]
fn buggy_examples_are_reported_and_fixed_ones_are_clean() {
    let findings = findings();
    let mut by_file: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (file, rule, _) in &findings {
        by_file.entry(file).or_default().insert(rule);
    }
    for (file, expected) in EXPECTED {
        for rule in *expected {
            assert!(
                rules::find(rule).is_some(),
                "{file}: expects `{rule}`, which is no rule (renamed?); update EXPECTED"
            );
        }
    }

    // Every buggy file is in the table (or explicitly not covered yet).
    let mut files = Vec::new();
    let root = examples_dir();
    rust_files(&root, &root, &mut files);
    for f in files.iter().filter(|f| f.contains("buggy")) {
        assert!(
            EXPECTED.iter().any(|(e, _)| e == f) || NOT_YET.contains(&f.as_str()),
            "{f}: a new buggy example; add it to EXPECTED (or NOT_YET) in this test"
        );
    }

    // Each buggy file is reported by each of its rules.
    for (file, expected) in EXPECTED {
        assert!(files.iter().any(|f| f == file), "{file} does not exist");
        let got = by_file.get(file).cloned().unwrap_or_default();
        for rule in *expected {
            assert!(
                got.contains(rule),
                "{file}: expected a `{rule}` finding, got {got:?}"
            );
        }
    }

    // A buggy file that is not covered yet: if a rule starts reporting it, say so.
    for file in NOT_YET {
        assert!(
            !by_file.contains_key(file),
            "{file} is now reported ({:?}): move it from NOT_YET to EXPECTED",
            by_file[file]
        );
    }

    // Nothing in a fixed file.
    let in_fixed: Vec<_> = findings
        .iter()
        .filter(|(file, _, _)| file.contains("fixed"))
        .collect();
    assert!(
        in_fixed.is_empty(),
        "fixed examples must be clean: {in_fixed:#?}"
    );
}
