//! What `#[heisen::model]` tests tell libtest and `HEISEN_SUMMARY_FILE` (#15 items 7, 12, 13):
//! each test below runs one of this binary's own model tests in a child process, with the
//! environment a user would set, and reads libtest's verdict and the summary file. Model build
//! only.
#![cfg(feature = "model")]

use heisen::cell::UnsafeCell;
use heisen::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use heisen::sync::Arc;
use heisen::thread;
use std::process::Output;

#[path = "support/model.rs"]
mod support;
use support::withdraw_racy;

#[heisen::model(shuttle, iterations = 200)]
#[should_panic(expected = "FAILED under shuttle")]
fn shuttle_only_expected_failure() {
    withdraw_racy()
}

#[heisen::model(iterations = 30)]
#[should_panic(expected = "no such text in the report")]
#[ignore = "run by expected_text_must_match"]
fn failure_with_other_text() {
    withdraw_racy()
}

#[heisen::model(iterations = 30)]
#[should_panic]
#[ignore = "run by a_should_panic_test_that_passes_fails"]
fn expected_failure_that_passes() {}

struct Slot {
    data: UnsafeCell<u64>,
    ready: AtomicBool,
}
unsafe impl Sync for Slot {}

/// A relaxed publication: every shuttle schedule passes (shuttle runs atomics as SeqCst), loom
/// finds the data race.
#[heisen::model(iterations = 30)]
#[ignore = "run by a_shuttle_pass_is_kept_when_loom_then_fails"]
fn passes_shuttle_fails_loom() {
    let s = Arc::new(Slot {
        data: UnsafeCell::new(0),
        ready: AtomicBool::new(false),
    });
    let s2 = s.clone();
    let h = thread::spawn(move || {
        s2.data.with_mut(|p| unsafe { *p = 42 });
        s2.ready.store(true, Relaxed);
    });
    if s.ready.load(Relaxed) {
        assert_eq!(s.data.with(|p| unsafe { *p }), 42);
    }
    h.join().unwrap();
}

#[heisen::model(loom)]
fn threads_that_never_overlap() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    thread::spawn(move || n2.store(1, SeqCst)).join().unwrap();
    assert_eq!(n.load(SeqCst), 1);
}

/// Runs this binary's test `name` (`--ignored` ones too) with `env`; returns libtest's output
/// and the summary file's rows, split into columns.
fn run_child(name: &str, env: &[(&str, &str)]) -> (Output, Vec<Vec<String>>) {
    run_child_args(name, env, &[])
}

fn run_child_args(name: &str, env: &[(&str, &str)], args: &[&str]) -> (Output, Vec<Vec<String>>) {
    // One file per call: several tests run the same child test at once.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "heisen-summary-{}-{n}-{name}.tsv",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--include-ignored", "--exact", name])
        .args(args)
        .env("HEISEN_SUMMARY_FILE", &path)
        .env_remove("HEISEN_BACKEND")
        .env_remove("HEISEN_REPLAY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let tsv = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    let rows = tsv
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    (out, rows)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Nothing in this file makes sense inside a child that restricts the backend.
fn in_child() -> bool {
    std::env::var_os("HEISEN_BACKEND").is_some()
}

#[test]
fn a_skipped_should_panic_test_is_ok_and_recorded_as_skipped() {
    if in_child() {
        return;
    }
    let name = "shuttle_only_expected_failure";
    let (out, rows) = run_child(name, &[("HEISEN_BACKEND", "loom")]);
    let o = stdout(&out);
    assert!(out.status.success(), "{o}");
    assert!(o.contains(&format!("test {name} ... ok")), "{o}");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][1], "-", "{rows:?}");
    assert_eq!(rows[0][4], "skipped", "{rows:?}");
    assert!(
        rows[0][6].contains("shuttle-only, HEISEN_BACKEND=loom"),
        "{rows:?}"
    );
    // Without the restriction it runs and fails as expected.
    let (out, rows) = run_child(name, &[]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0][1].as_str(), rows[0][4].as_str()),
        ("shuttle", "xfail")
    );
}

#[test]
fn expected_text_must_match() {
    if in_child() {
        return;
    }
    let (out, _) = run_child("failure_with_other_text", &[]);
    let o = stdout(&out);
    assert!(!out.status.success(), "{o}");
    assert!(
        o.contains("the failure does not contain the #[should_panic] text")
            && o.contains("no such text in the report")
            && o.contains("FAILED under shuttle"),
        "{o}"
    );
}

#[test]
fn an_expected_failure_still_prints_its_counterexample() {
    if in_child() {
        return;
    }
    let name = "shuttle_only_expected_failure";
    let (out, rows) = run_child_args(name, &[], &["--nocapture"]);
    let o = stdout(&out);
    assert!(out.status.success(), "{o}");
    assert!(
        o.contains("timeline of the failing execution") && o.contains("HEISEN_REPLAY="),
        "{o}"
    );
    assert!(o.contains("failed as expected (#[should_panic])"), "{o}");
    assert_eq!(
        rows.last().map(|r| r[4].as_str()),
        Some("xfail"),
        "{rows:?}"
    );
}

#[test]
fn a_should_panic_test_that_passes_fails() {
    if in_child() {
        return;
    }
    let (out, rows) = run_child("expected_failure_that_passes", &[]);
    let o = stdout(&out);
    assert!(!out.status.success(), "{o}");
    assert!(
        o.contains("#[should_panic] test did not fail: every backend passed"),
        "{o}"
    );
    assert!(rows.iter().all(|r| r[4] == "pass"), "{rows:?}");
}

#[test]
fn a_shuttle_pass_is_kept_when_loom_then_fails() {
    if in_child() {
        return;
    }
    let name = "passes_shuttle_fails_loom";
    let (out, rows) = run_child(name, &[]);
    let o = stdout(&out);
    assert!(!out.status.success(), "{o}");
    // The passing shuttle run's summary line is printed ...
    assert!(
        o.contains(&format!(
            "heisen: model_summary::{name}: shuttle: 30 random + 30 PCT(depth 3) schedules"
        )),
        "{o}"
    );
    assert!(o.contains("FAILED under loom"), "{o}");
    // ... and each backend's row says what it did.
    let results: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[1].as_str(), r[4].as_str()))
        .collect();
    assert_eq!(results, [("shuttle", "pass"), ("loom", "FAIL")], "{rows:?}");
}

#[test]
fn the_summary_file_carries_the_never_overlapped_warning() {
    if in_child() {
        return;
    }
    let (out, rows) = run_child("threads_that_never_overlap", &[]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(
        (r[1].as_str(), r[3].as_str(), r[4].as_str()),
        ("loom", "complete", "pass")
    );
    assert_eq!(
        r[7],
        "loom: 1 execution for 2 threads — the threads never overlapped; is the test shaped to race?"
    );
}
