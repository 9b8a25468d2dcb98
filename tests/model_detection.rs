//! Planted bugs that the model backends must find, their fixes that must pass, and the content
//! of the counterexample report. Model build only: `cargo test --features heisen/model`.
#![cfg(feature = "model")]

use heisen::cell::UnsafeCell;
use heisen::runner::{check, Config, Failure};
use heisen::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use heisen::sync::{Arc, Mutex};
use heisen::thread;

fn this_file() -> &'static str {
    file!()
}

/// Line number of the first line of this file containing `needle` (so assertions don't
/// hard-code line numbers).
fn line_of(needle: &str) -> usize {
    let src = std::fs::read_to_string(this_file()).expect("test source readable");
    src.lines()
        .position(|l| l.contains(needle) && !l.contains("line_of("))
        .expect("needle present")
        + 1
}

fn expect_failure(r: Result<heisen::runner::Summary, Box<Failure>>) -> Box<Failure> {
    match r {
        Ok(s) => panic!("expected the model to find the bug, but it passed:\n{s}"),
        Err(f) => f,
    }
}

// ---------------------------------------------------------------- parallel withdrawal

fn withdraw_racy() {
    let balance = Arc::new(AtomicU64::new(100));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let balance = balance.clone();
            thread::spawn(move || {
                let b = balance.load(Ordering::SeqCst); // RACY-LOAD
                balance.store(b - 50, Ordering::SeqCst); // RACY-STORE
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(balance.load(Ordering::SeqCst), 0, "balance == 0"); // FINAL-ASSERT
}

fn withdraw_cas() {
    let balance = Arc::new(AtomicU64::new(100));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let balance = balance.clone();
            thread::spawn(move || {
                let mut cur = balance.load(Ordering::SeqCst);
                while let Err(actual) =
                    balance.compare_exchange(cur, cur - 50, Ordering::SeqCst, Ordering::SeqCst)
                {
                    cur = actual;
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(balance.load(Ordering::SeqCst), 0);
}

fn assert_lost_update_report(f: &Failure) {
    let r = &f.report;
    let load = line_of("// RACY-LOAD");
    let store = line_of("// RACY-STORE");
    // Both spawned threads read 100 and wrote 50, at the user's lines.
    for t in ["T1", "T2"] {
        let row_load = r
            .lines()
            .find(|l| l.contains(&format!("{t} │")) && l.contains("load balance = 100"))
            .unwrap_or_else(|| panic!("no `{t} load balance = 100` row in:\n{r}"));
        assert!(
            row_load.contains(&format!("{}:{load}", this_file())),
            "{row_load}"
        );
        let row_store = r
            .lines()
            .find(|l| l.contains(&format!("{t} │")) && l.contains("store balance ← 50"))
            .unwrap_or_else(|| panic!("no `{t} store balance ← 50` row in:\n{r}"));
        assert!(
            row_store.contains(&format!("{}:{store}", this_file())),
            "{row_store}"
        );
    }
    assert!(r.contains("balance == 0"), "{r}");
    assert!(r.contains("thread:   T0 (main)"), "{r}");
    assert!(
        r.contains(&format!("{}:{}", this_file(), line_of("// FINAL-ASSERT"))),
        "{r}"
    );
    assert!(r.contains("replay"), "{r}");
}

#[test]
fn withdrawal_race_found_by_loom_with_report() {
    let f = expect_failure(check(
        &Config::new("t::withdraw").loom_only(),
        withdraw_racy,
    ));
    assert_eq!(f.backend, "loom");
    assert_eq!(f.kind, "assertion failed");
    assert_lost_update_report(&f);
    assert!(f.replay.contains("HEISEN_BACKEND=loom"), "{}", f.replay);
}

/// Runs `withdraw_racy` again on the shuttle schedule `f`'s replay recipe names.
fn replay_withdraw_racy(f: &Failure) -> Box<Failure> {
    let enc = f
        .replay
        .split("HEISEN_REPLAY='shuttle:")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("a shuttle replay recipe");
    expect_failure(check(
        &Config::new("t::withdraw")
            .shuttle_only()
            .replay(format!("shuttle:{enc}")),
        withdraw_racy,
    ))
}

#[test]
fn withdrawal_race_found_by_shuttle_with_report_and_replay() {
    let f = expect_failure(check(
        &Config::new("t::withdraw").shuttle_only(),
        withdraw_racy,
    ));
    assert_eq!(f.backend, "shuttle");
    assert_lost_update_report(&f);
    // The replay recipe reproduces the same failure deterministically.
    let again = replay_withdraw_racy(&f);
    assert!(
        again.report.contains("FAILED under shuttle (replay)"),
        "{}",
        again.report
    );
    let timeline = |r: &str| {
        r.split("failure:")
            .next()
            .unwrap()
            .split_once('\n')
            .unwrap()
            .1
            .to_string()
    };
    assert_eq!(timeline(&again.report), timeline(&f.report));
    assert_lost_update_report(&again);
}

#[test]
fn shuttle_schedules_spread_over_threads_find_the_race_and_run_every_schedule() {
    // Several OS threads, each with its share of the schedules: the race is still found, with
    // a full report and an exact replay recipe ...
    let cfg = Config::new("t::withdraw").shuttle_only().shuttle_jobs(3);
    let f = expect_failure(check(&cfg, withdraw_racy));
    assert_eq!(f.backend, "shuttle");
    assert_lost_update_report(&f);
    assert_lost_update_report(&replay_withdraw_racy(&f));
    // ... and a correct body runs every schedule once: 100 random + 100 PCT over 3 threads.
    let s = check(
        &Config::new("t::withdraw_cas")
            .shuttle_only()
            .iterations(100)
            .shuttle_jobs(3),
        withdraw_cas,
    )
    .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(s.runs[0].executions, 200);
    assert!(
        s.runs[0].description.contains("(3 threads)"),
        "{}",
        s.runs[0].description
    );
}

#[test]
fn withdrawal_cas_fix_passes_both_backends() {
    let s = check(
        &Config::new("t::withdraw_cas").iterations(300),
        withdraw_cas,
    )
    .unwrap_or_else(|f| panic!("{f}"));
    let (shuttle, loom) = (&s.runs[0], &s.runs[1]);
    assert_eq!(shuttle.backend, "shuttle");
    assert_eq!(shuttle.executions, 600, "{s}");
    let want = "300 random + 300 PCT(depth 3) schedules";
    assert!(shuttle.description.contains(want), "{s}");
    assert_eq!(loom.backend, "loom");
    assert!(loom.executions > 1, "{s}");
    assert!(
        loom.description.contains("preemption bound 2 — bounded"),
        "{s}"
    );
}

#[test]
fn unbounded_loom_run_says_complete() {
    let s = check(
        &Config::new("t::cas_full")
            .loom_only()
            .preemption_bound(None),
        withdraw_cas,
    )
    .unwrap_or_else(|f| panic!("{f}"));
    assert!(s.runs[0].description.ends_with("— complete"), "{s}");
    assert!(s.runs[0].bounded.is_none());
}

// ---------------------------------------------------------------- release/acquire

struct Slot {
    data: UnsafeCell<u64>,
    ready: AtomicBool,
}
unsafe impl Sync for Slot {}

fn publish_cell(store: Ordering, load: Ordering) {
    let s = Arc::new(Slot {
        data: UnsafeCell::new(0),
        ready: AtomicBool::new(false),
    });
    let s2 = s.clone();
    let h = thread::spawn(move || {
        s2.data.with_mut(|p| unsafe { *p = 42 }); // CELL-WRITE
        s2.ready.store(true, store);
    });
    if s.ready.load(load) {
        let v = s.data.with(|p| unsafe { *p }); // CELL-READ
        assert_eq!(v, 42);
    }
    h.join().unwrap();
}

fn publish_cell_relaxed() {
    publish_cell(Ordering::Relaxed, Ordering::Relaxed)
}
fn publish_cell_release_acquire() {
    publish_cell(Ordering::Release, Ordering::Acquire)
}

#[test]
fn relaxed_publication_through_unsafecell_is_a_data_race_under_loom() {
    let f = expect_failure(check(
        &Config::new("t::ra_cell").loom_only(),
        publish_cell_relaxed,
    ));
    assert_eq!(f.backend, "loom");
    assert!(f.kind.contains("data race"), "{}: {}", f.kind, f.report);
    if std::env::var("HEISEN_SHOW").is_ok() {
        eprintln!("{}", f.report);
    }
    let r = &f.report;
    let w = r
        .lines()
        .find(|l| l.contains("T1 │") && l.contains("write s2.data (UnsafeCell)"))
        .unwrap_or_else(|| panic!("{r}"));
    assert!(w.contains(&format!(":{}", line_of("// CELL-WRITE"))), "{w}");
    assert!(
        r.lines()
            .any(|l| l.contains("T0 │") && l.contains("load") && l.contains("= true (Relaxed)")),
        "{r}"
    );
    assert!(
        r.lines()
            .any(|l| l.contains("T1 │") && l.contains("store") && l.contains("← true (Relaxed)")),
        "{r}"
    );
    let rd = r
        .lines()
        .find(|l| l.contains("T0 │") && l.contains("read s.data (UnsafeCell)"))
        .unwrap_or_else(|| panic!("{r}"));
    assert!(
        rd.contains(&format!(":{}", line_of("// CELL-READ"))),
        "{rd}"
    );
}

#[test]
fn release_acquire_publication_through_unsafecell_passes_loom() {
    check(
        &Config::new("t::ra_cell_fixed")
            .loom_only()
            .preemption_bound(None),
        publish_cell_release_acquire,
    )
    .unwrap_or_else(|f| panic!("{f}"));
}

fn publish_atomic(store: Ordering, load: Ordering) {
    let data = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(AtomicBool::new(false));
    let (d2, r2) = (data.clone(), ready.clone());
    let h = thread::spawn(move || {
        d2.store(42, Ordering::Relaxed);
        r2.store(true, store);
    });
    if ready.load(load) {
        assert_eq!(data.load(Ordering::Relaxed), 42, "published data visible"); // ATOMIC-READ
    }
    h.join().unwrap();
}

#[test]
fn relaxed_publication_through_relaxed_atomic_fails_under_loom() {
    let f = expect_failure(check(&Config::new("t::ra_atomic").loom_only(), || {
        publish_atomic(Ordering::Relaxed, Ordering::Relaxed)
    }));
    let r = &f.report;
    assert_eq!(f.kind, "assertion failed", "{r}");
    // The stale read is in the timeline: data read as 0 after ready was seen true.
    let stale = r
        .lines()
        .find(|l| l.contains("T0 │") && l.contains("load data = 0 (Relaxed)"))
        .unwrap_or_else(|| panic!("{r}"));
    assert!(
        stale.contains(&format!(":{}", line_of("// ATOMIC-READ"))),
        "{stale}"
    );
    assert!(
        r.lines()
            .any(|l| l.contains("T1 │") && l.contains("store d2 ← 42")),
        "{r}"
    );
    assert!(r.contains("published data visible"), "{r}");
}

#[test]
fn release_acquire_publication_through_atomic_passes_loom() {
    check(
        &Config::new("t::ra_atomic_fixed")
            .loom_only()
            .preemption_bound(None),
        || publish_atomic(Ordering::Release, Ordering::Acquire),
    )
    .unwrap_or_else(|f| panic!("{f}"));
}

// ---------------------------------------------------------------- lock-order deadlock

fn lock_order_inversion() {
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    let (a2, b2) = (a.clone(), b.clone());
    let h = thread::spawn(move || {
        let _gb = b2.lock().unwrap(); // T1-LOCK-B
        let _ga = a2.lock().unwrap(); // T1-LOCK-A
    });
    {
        let _ga = a.lock().unwrap(); // T0-LOCK-A
        let _gb = b.lock().unwrap(); // T0-LOCK-B
    }
    h.join().unwrap();
}

fn assert_deadlock_report(f: &Failure) {
    let r = &f.report;
    if std::env::var("HEISEN_SHOW").is_ok() {
        eprintln!("{r}");
    }
    assert_eq!(f.kind, "deadlock", "{r}");
    let blocked: Vec<&str> = r.lines().filter(|l| l.contains("BLOCKED")).collect();
    assert_eq!(blocked.len(), 2, "{r}");
    assert!(
        blocked
            .iter()
            .any(|l| l.contains("T0 │") && l.contains(&format!(":{}", line_of("// T0-LOCK-B")))),
        "{r}"
    );
    assert!(
        blocked
            .iter()
            .any(|l| l.contains("T1 │") && l.contains(&format!(":{}", line_of("// T1-LOCK-A")))),
        "{r}"
    );
}

#[test]
fn lock_order_deadlock_is_reported_as_deadlock_by_loom() {
    let f = expect_failure(check(
        &Config::new("t::deadlock").loom_only(),
        lock_order_inversion,
    ));
    assert_deadlock_report(&f);
}

#[test]
fn lock_order_deadlock_is_reported_as_deadlock_by_shuttle() {
    let f = expect_failure(check(
        &Config::new("t::deadlock").shuttle_only(),
        lock_order_inversion,
    ));
    assert_deadlock_report(&f);
}

// ---------------------------------------------------------------- the attribute itself

#[heisen::model(iterations = 50)]
fn attribute_runs_a_correct_test_under_both_backends() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let h = thread::spawn(move || {
        n2.fetch_add(1, Ordering::SeqCst);
    });
    n.fetch_add(1, Ordering::SeqCst);
    h.join().unwrap();
    assert_eq!(n.load(Ordering::SeqCst), 2);
}

#[heisen::model(shuttle, iterations = 200)]
#[should_panic(expected = "FAILED under shuttle")]
fn attribute_reports_failure_by_panicking() {
    withdraw_racy()
}

#[heisen::model(loom)]
async fn attribute_accepts_async_bodies() {
    let n = Arc::new(AtomicUsize::new(1));
    let h = heisen::future::spawn({
        let n = n.clone();
        async move { n.fetch_add(1, Ordering::SeqCst) }
    });
    let prev = h.join().unwrap();
    assert!(prev == 1 || prev == 2);
}

#[test]
fn choose_explores_every_value_under_loom() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let s2 = seen.clone();
    check(&Config::new("t::choose").loom_only(), move || {
        s2.lock().unwrap().insert(heisen::choose(3));
    })
    .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(*seen.lock().unwrap(), [0, 1, 2].into_iter().collect());
}

// ---------------------------------------------------------------- never a silent pass

#[test]
fn time_limit_is_reported_as_bounded_not_as_a_silent_pass() {
    let slow_cas = || {
        std::thread::sleep(std::time::Duration::from_millis(3));
        withdraw_cas()
    };
    let cfg = Config::new("t::slow")
        .preemption_bound(None)
        .iterations(1_000)
        .timeout(std::time::Duration::from_millis(1));
    let s = check(&cfg, slow_cas).unwrap_or_else(|f| panic!("{f}"));
    for r in &s.runs {
        assert!(r.description.contains("time limit"), "{s}");
        assert!(
            r.bounded.as_deref().unwrap_or("").contains("time limit"),
            "{s}"
        );
    }
    assert!(s.runs[0].executions < 2_000, "{s}");
}

// ---------------------------------------------------------------- thread attribution

fn panics_in_spawned_thread() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let h = thread::spawn(move || {
        let seen = n2.load(Ordering::SeqCst);
        assert_eq!(seen, 1, "child saw the update"); // CHILD-ASSERT
    });
    n.store(1, Ordering::SeqCst);
    h.join().unwrap();
}

#[test]
fn failure_in_a_spawned_thread_names_that_thread() {
    for cfg in [
        Config::new("t::child").loom_only(),
        Config::new("t::child").shuttle_only(),
    ] {
        let f = expect_failure(check(&cfg, panics_in_spawned_thread));
        assert_eq!(f.thread, 1, "{}", f.report);
        assert!(f.report.contains("thread:   T1\n"), "{}", f.report);
        let at = format!("{}:{}", this_file(), line_of("// CHILD-ASSERT"));
        assert!(
            f.report.contains(&format!("at:       {at}")),
            "{}",
            f.report
        );
        assert!(
            f.report
                .lines()
                .any(|l| l.contains("T1 │") && l.contains("load n2 = 0")),
            "{}",
            f.report
        );
    }
}

#[test]
fn facade_outside_a_model_run_is_plain_std_in_a_model_build() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    thread::spawn(move || n2.fetch_add(1, Ordering::SeqCst))
        .join()
        .unwrap();
    let m = Mutex::new(5);
    *m.lock().unwrap() += 1;
    assert_eq!(n.load(Ordering::SeqCst) + *m.lock().unwrap(), 7);
}
