//! Facade defects fixed after review: unlock rows precede the next lock of the mutex,
//! `HEISEN_BACKEND` naming a backend the test excludes is reported as skipped (never a silent
//! pass), and `fetch_update` is recorded step by step. Model build only.
#![cfg(feature = "model")]

use heisen::runner::{check, Config};
use heisen::sync::atomic::{AtomicU64, Ordering::SeqCst};
use heisen::sync::{Arc, Mutex, RwLock};
use heisen::thread;

/// (lane, text) of every timeline row.
fn rows(timeline: &str) -> Vec<(String, String)> {
    timeline
        .lines()
        .filter_map(|l| {
            let (head, rest) = l.split_once('│')?;
            let lane = head.split_whitespace().nth(1)?.to_string();
            Some((lane, rest.trim().to_string()))
        })
        .collect()
}

/// In the timeline, a lock of `name` by one thread is never followed by a lock of it by
/// another thread before the first thread's unlock.
fn assert_lock_rows_exclusive(timeline: &str, names: &[&str]) {
    for name in names {
        let mut holder: Option<String> = None;
        for (lane, text) in rows(timeline) {
            let op = text.split("  ").next().unwrap_or("").trim();
            let is_lock = [
                format!("lock {name}"),
                format!("try_lock {name}"),
                format!("write {name}"),
            ]
            .iter()
            .any(|p| op == p.as_str());
            let is_unlock = op == format!("unlock {name}") || op == format!("write unlock {name}");
            if is_lock {
                assert!(
                    holder.is_none(),
                    "{lane} locks {name} while {holder:?} holds it:\n{timeline}"
                );
                holder = Some(lane);
            } else if is_unlock {
                assert_eq!(holder.as_deref(), Some(lane.as_str()), "{timeline}");
                holder = None;
            }
        }
    }
}

fn contended_locking() {
    let m = Arc::new(Mutex::new(0u64));
    let rw = Arc::new(RwLock::new(0u64));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let (m, rw) = (m.clone(), rw.clone());
            thread::spawn(move || {
                *m.lock().unwrap() += 1;
                if let Ok(mut g) = m.try_lock() {
                    *g += 1;
                }
                *rw.write().unwrap() += 1;
            })
        })
        .collect();
    *m.lock().unwrap() += 1;
    for h in hs {
        h.join().unwrap();
    }
    // Checked at the end of every explored execution.
    assert_lock_rows_exclusive(&heisen::runner::__current_timeline(), &["m", "rw"]);
}

#[test]
fn unlock_row_precedes_the_next_lock_in_every_timeline() {
    for cfg in [
        Config::new("t::lock_rows").shuttle_only().iterations(200),
        Config::new("t::lock_rows").loom_only(),
    ] {
        let s = check(&cfg, contended_locking).unwrap_or_else(|f| panic!("{f}"));
        assert!(s.runs[0].executions > 1, "{s}");
    }
}

#[test]
fn a_lock_row_appears_when_granted() {
    // The fencing-token shape: T1's lock request must not show before T0's unlock.
    let f = check(
        &Config::new("t::rows").shuttle_only().iterations(200),
        || {
            let m = Arc::new(Mutex::new(Vec::new()));
            let n = Arc::new(AtomicU64::new(0));
            let h = thread::spawn({
                let (m, n) = (m.clone(), n.clone());
                move || {
                    n.store(1, SeqCst);
                    m.lock().unwrap().push(1);
                }
            });
            m.lock().unwrap().push(0);
            h.join().unwrap();
            assert_lock_rows_exclusive(&heisen::runner::__current_timeline(), &["m"]);
            assert!(n.load(SeqCst) == 7, "always fails: show the timeline");
        },
    )
    .expect_err("fails on purpose");
    assert_lock_rows_exclusive(&f.report, &["m"]);
}

// ------------------------------------------------------------ HEISEN_BACKEND on a one-backend test

#[heisen::model(loom)]
fn loom_only_probe() {
    let n = Arc::new(AtomicU64::new(0));
    n.fetch_add(1, SeqCst);
}

#[test]
fn excluded_backend_is_reported_as_skipped_not_as_a_silent_pass() {
    if std::env::var("HEISEN_BACKEND").is_ok() {
        return; // we are the child process (or the user restricted the run)
    }
    let summary = std::env::temp_dir().join(format!("heisen-skip-{}.tsv", std::process::id()));
    let _ = std::fs::remove_file(&summary);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "loom_only_probe", "--nocapture"])
        .env("HEISEN_BACKEND", "shuttle")
        .env("HEISEN_SUMMARY_FILE", &summary)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("heisen: facade_fixes::loom_only_probe: skipped: test is loom-only, HEISEN_BACKEND=shuttle"),
        "{stdout}"
    );
    let tsv = std::fs::read_to_string(&summary).unwrap_or_default();
    let _ = std::fs::remove_file(&summary);
    let cols: Vec<&str> = tsv.trim_end().split('\t').collect();
    assert_eq!(cols.len(), 7, "{tsv:?}");
    assert_eq!(cols[0], "facade_fixes::loom_only_probe");
    assert_eq!(cols[2], "0");
    assert_eq!(cols[4], "skipped", "{tsv:?}");
    assert_eq!(
        cols[6],
        "skipped: test is loom-only, HEISEN_BACKEND=shuttle"
    );
}

#[test]
fn excluded_backend_in_check_returns_a_skipped_summary() {
    if std::env::var("HEISEN_BACKEND").is_ok() {
        return;
    }
    // Through `check`: the reason is in the summary, and nothing ran.
    let (ok, all) = run_self("loom_only_probe", &[("HEISEN_BACKEND", "lom".as_ref())]);
    assert!(!ok, "{all}");
    assert!(
        all.contains("HEISEN_BACKEND=\"lom\": expected `loom` or `shuttle`"),
        "{all}"
    );
}

// ------------------------------------------------------------ fetch_update

#[test]
fn fetch_update_is_recorded_with_each_cas_attempt() {
    let f = check(&Config::new("t::fu").shuttle_only().iterations(300), || {
        let balance = Arc::new(AtomicU64::new(100));
        let b2 = balance.clone();
        let h = thread::spawn(move || b2.fetch_update(SeqCst, SeqCst, |b| b.checked_sub(30)));
        let mine = balance.fetch_update(SeqCst, SeqCst, |b| b.checked_sub(30)); // FU
        assert!(mine.is_ok() && h.join().unwrap().is_ok());
        assert_eq!(balance.load(SeqCst), 40);
        // Fail on purpose in the executions where a CAS attempt failed and was retried.
        let t = heisen::runner::__current_timeline();
        assert!(!t.contains("FAILED"), "retried");
    })
    .expect_err("some schedule makes one fetch_update retry");
    let r = &f.report;
    assert!(
        r.contains("fetch_update: load balance = 100 (SeqCst)"),
        "{r}"
    );
    assert!(r.contains("fetch_update: load b2 = 100 (SeqCst)"), "{r}");
    assert!(r.contains("expected 100 FAILED (was 70) (SeqCst)"), "{r}");
    assert!(r.contains(" 70 → 40 succeeded (SeqCst)"), "{r}");
    assert!(r.contains(" 100 → 70 succeeded (SeqCst)"), "{r}");
}

#[test]
fn fetch_update_returning_none_and_get_mut_into_inner() {
    check(&Config::new("t::fu2").loom_only(), || {
        let a = AtomicU64::new(5);
        assert_eq!(a.fetch_update(SeqCst, SeqCst, |_| None), Err(5));
        assert_eq!(a.fetch_update(SeqCst, SeqCst, |v| Some(v * 2)), Ok(5));
        assert_eq!(a.into_inner(), 10);
    })
    .unwrap_or_else(|f| panic!("{f}"));
    // get_mut: std and shuttle objects (loom has none; documented).
    let mut a = AtomicU64::new(1);
    *a.get_mut() += 1;
    assert_eq!(a.load(SeqCst), 2);
    check(
        &Config::new("t::get_mut").shuttle_only().iterations(5),
        || {
            let mut a = AtomicU64::new(1);
            *a.get_mut() = 3;
            // (PCT insists on some concurrency)
            let c = Arc::new(AtomicU64::new(0));
            let c2 = c.clone();
            let h = thread::spawn(move || c2.fetch_add(1, SeqCst));
            c.fetch_add(1, SeqCst);
            h.join().unwrap();
            assert_eq!(a.into_inner(), 3);
        },
    )
    .unwrap_or_else(|f| panic!("{f}"));
}

// ------------------------------------------------- a panic on which Rust aborts

/// The probe: a destructor that panics while the body unwinds from its failure (Rust aborts
/// the process on that). Run only as the child of the test below.
#[test]
fn aborting_probe() {
    if std::env::var("HEISEN_ABORT_PROBE").is_err() {
        return;
    }
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("destructor panicked");
        }
    }
    heisen::runner::run_test(
        Config::new("facade_fixes::aborting_probe").shuttle_only(),
        || {
            let flag = Arc::new(AtomicU64::new(0));
            let f2 = flag.clone();
            let h = thread::spawn(move || f2.store(1, SeqCst));
            let _guard = PanicsOnDrop;
            if flag.load(SeqCst) == 0 {
                panic!("the original failure");
            }
            h.join().unwrap();
        },
    );
}

#[test]
fn a_panic_that_aborts_the_process_is_still_reported_with_its_failure() {
    let summary = std::env::temp_dir().join(format!("heisen-abort-{}.tsv", std::process::id()));
    let _ = std::fs::remove_file(&summary);
    // captured (no --nocapture): the report must bypass libtest's capture
    let (ok, all) = run_self(
        "aborting_probe",
        &[
            ("HEISEN_ABORT_PROBE", "1".as_ref()),
            ("HEISEN_SUMMARY_FILE", summary.as_os_str()),
        ],
    );
    assert!(!ok, "{all}");
    assert!(
        all.contains(
            "heisen: facade_fixes::aborting_probe FAILED under shuttle; the process aborts"
        ),
        "{all}"
    );
    assert!(
        all.contains("the original failure") && all.contains("destructor panicked"),
        "{all}"
    );
    assert!(all.contains("timeline of the failing execution"), "{all}");
    let tsv = std::fs::read_to_string(&summary).unwrap_or_default();
    let _ = std::fs::remove_file(&summary);
    let cols: Vec<&str> = tsv.trim_end().split('\t').collect();
    assert_eq!(
        (cols.first(), cols.get(1), cols.get(4)),
        (
            Some(&"facade_fixes::aborting_probe"),
            Some(&"shuttle"),
            Some(&"FAIL")
        ),
        "{tsv:?}"
    );
}

/// Runs one test of this binary in a child process: (success, stdout + stderr).
fn run_self(test: &str, env: &[(&str, &std::ffi::OsStr)]) -> (bool, String) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), all)
}
