//! Model fidelity of the runner and its reports (#15): bodies without concurrency, honest
//! `complete`/`bounded` labels, caught panics, the failing row of a failure raised inside an
//! operation, backend limits in the run's output. Model build only.
#![cfg(feature = "model")]

use heisen::runner::{check, Config, Failure, Summary};
use heisen::sync::atomic::{AtomicBool, AtomicUsize, Ordering, Ordering::*};
use heisen::sync::{Arc, Barrier, Mutex};
use heisen::thread;

#[path = "support/model.rs"]
mod support;
use support::condvar_handoff;

/// `file:line` of the first line of this file containing `needle`.
fn at(needle: &str) -> String {
    support::at(file!(), needle)
}

/// The timeline rows of a report.
fn rows(report: &str) -> Vec<&str> {
    report
        .split("\nfailure:")
        .next()
        .unwrap()
        .lines()
        .filter(|l| l.contains(" │ "))
        .collect()
}

fn pass(r: Result<Summary, Box<Failure>>) -> Summary {
    r.unwrap_or_else(|f| panic!("expected a pass, got:\n{f}"))
}

fn fail(r: Result<Summary, Box<Failure>>) -> Box<Failure> {
    match r {
        Ok(s) => panic!("expected a failure, but it passed:\n{s}"),
        Err(f) => f,
    }
}

// ------------------------------------------------------------ no concurrency (item 1, 8)

fn single_threaded_atomics() {
    let a = AtomicUsize::new(1);
    assert_eq!(a.fetch_add(1, SeqCst), 1);
    assert_eq!(a.swap(5, SeqCst), 2);
    assert_eq!(a.compare_exchange(5, 6, SeqCst, SeqCst), Ok(5));
    assert_eq!(a.load(SeqCst), 6);
}

fn barrier_of_one() {
    let b = Barrier::new(1);
    assert!(b.wait().is_leader());
}

fn spawn_then_join() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let h = thread::spawn(move || n2.store(1, SeqCst));
    h.join().unwrap();
    assert_eq!(n.load(SeqCst), 1);
}

#[test]
fn a_body_without_concurrency_passes_shuttle_as_one_complete_execution() {
    for (name, body) in [
        ("t::atomics", single_threaded_atomics as fn()),
        ("t::barrier1", barrier_of_one),
    ] {
        let s = pass(check(&Config::new(name).shuttle_only(), body));
        let r = &s.runs[0];
        assert_eq!(r.executions, 1, "{s}");
        assert!(
            r.description
                .starts_with("shuttle: 1 execution, no concurrency")
                && r.description.ends_with("— complete"),
            "{s}"
        );
        assert_eq!(r.explored(), "complete", "{s}");
    }
    // Two threads that are never runnable together (the spawner joins at once): PCT has
    // nothing to reorder, and the run passes either way.
    let s = pass(check(
        &Config::new("t::spawn_join").shuttle_only(),
        spawn_then_join,
    ));
    assert!(s.runs[0].executions >= 1, "{s}");
}

#[test]
fn random_choices_without_concurrency_are_sampled_and_pct_is_not_run() {
    let s = pass(check(
        &Config::new("t::choice").shuttle_only().iterations(40),
        || {
            let v = heisen::choose(3);
            assert!(v < 3);
        },
    ));
    let r = &s.runs[0];
    // The choice makes executions differ: all 40 random schedules run, PCT (which would panic
    // without two runnable threads) stops after its first.
    assert!(r.executions > 1, "{s}");
    assert!(r.description.contains("40 random"), "{s}");
    assert_eq!(r.explored(), "bounded", "{s}");
}

#[heisen::model]
fn attribute_passes_a_body_without_concurrency() {
    single_threaded_atomics()
}

#[test]
fn one_loom_execution_under_a_bound_is_complete_and_a_cut_one_is_bounded() {
    let s = pass(check(
        &Config::new("t::one").loom_only(),
        single_threaded_atomics,
    ));
    let r = &s.runs[0];
    assert_eq!(r.executions, 1, "{s}");
    assert!(r.bounded.is_none(), "{s}");
    assert!(
        r.description
            .contains("preemption bound 2 (no other schedule to explore)")
            && r.description.ends_with("— complete"),
        "{s}"
    );
    assert!(r.warning.is_none(), "one thread: {s}");
    // Bound 0 keeps loom from ever preempting: its one execution may hide others.
    let s = pass(check(
        &Config::new("t::zero").loom_only().preemption_bound(Some(0)),
        || counter(SeqCst),
    ));
    assert_eq!(s.runs[0].explored(), "bounded", "{s}");
    assert!(s.runs[0].description.ends_with("— bounded"), "{s}");
}

// ------------------------------------------------------------ never-overlapping threads (13)

#[test]
fn two_threads_in_one_loom_execution_are_warned_about() {
    let s = pass(check(&Config::new("t::apart").loom_only(), spawn_then_join));
    let r = &s.runs[0];
    assert_eq!(r.executions, 1, "{s}");
    assert_eq!(
        r.warning.as_deref(),
        Some(
            "loom: 1 execution for 2 threads — the threads never overlapped; is the test \
             shaped to race?"
        ),
        "{s}"
    );
    assert!(s.to_string().contains(
        "heisen: t::apart: warning: loom: 1 execution for 2 threads — the threads never overlapped"
    ));
    // Threads that do race: several executions, no warning.
    let s = pass(check(&Config::new("t::race").loom_only(), || {
        counter(SeqCst)
    }));
    assert!(s.runs[0].executions > 1, "{s}");
    assert!(s.runs[0].warning.is_none(), "{s}");
}

// ------------------------------------------------------------ caught panics (item 6)

fn caught_then_real_failure() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let h = thread::spawn(move || {
        let r = std::panic::catch_unwind(|| panic!("expected and caught")); // CAUGHT
        assert!(r.is_err());
        n2.store(1, SeqCst); // AFTER-CATCH
    });
    h.join().unwrap();
    assert_eq!(n.load(SeqCst), 2, "the real failure"); // REAL-FAIL
}

#[test]
fn a_caught_panic_is_not_the_failure() {
    for cfg in [
        Config::new("t::caught").loom_only(),
        Config::new("t::caught").shuttle_only(),
    ] {
        let f = fail(check(&cfg, caught_then_real_failure));
        let r = &f.report;
        assert_eq!(f.thread, 0, "{r}");
        assert!(f.message.contains("the real failure"), "{r}");
        assert_eq!(f.kind, "assertion failed", "{r}");
        assert!(r.contains("thread:   T0 (main)"), "{r}");
        assert!(
            r.contains(&format!("at:       {}", at("// REAL-FAIL"))),
            "{r}"
        );
        // The timeline goes on after the caught panic, which is shown as caught.
        let rows = rows(r);
        let caught = rows
            .iter()
            .position(|l| l.contains("T1 │") && l.contains("panic (caught"))
            .unwrap_or_else(|| panic!("no caught-panic row:\n{r}"));
        let store = rows
            .iter()
            .position(|l| l.contains("store n2 ← 1") && l.contains(&at("// AFTER-CATCH")))
            .unwrap_or_else(|| panic!("no store row after the catch:\n{r}"));
        assert!(caught < store, "{r}");
        let last = rows.last().unwrap();
        assert!(
            last.contains("T0 │") && last.contains("PANIC:") && last.contains("the real failure"),
            "{r}"
        );
        assert_eq!(r.matches("PANIC:").count(), 1, "{r}");
    }
}

#[test]
fn a_thread_that_caught_a_panic_goes_on_and_the_run_passes() {
    for cfg in [
        Config::new("t::caught_ok").loom_only(),
        Config::new("t::caught_ok").shuttle_only().iterations(50),
    ] {
        pass(check(&cfg, || {
            let m = Arc::new(Mutex::new(0));
            let m2 = m.clone();
            let h = thread::spawn(move || {
                let r = std::panic::catch_unwind(|| panic!("caught"));
                assert!(r.is_err());
                *m2.lock().unwrap() += 1;
            });
            *m.lock().unwrap() += 1;
            h.join().unwrap();
            assert_eq!(*m.lock().unwrap(), 2);
        }));
    }
}

#[heisen::critical]
fn withdraw(balance: &AtomicUsize) {
    let b = balance.load(SeqCst);
    balance.store(b - 10, SeqCst);
}

#[test]
fn critical_sections_are_still_checked_after_a_caught_panic() {
    // A lost update with no assertion: only the atomicity check finds it, and it must not be
    // skipped because an earlier panic was caught.
    let f = fail(check(&Config::new("t::caught_crit").loom_only(), || {
        let _ = std::panic::catch_unwind(|| panic!("caught first"));
        let b = Arc::new(AtomicUsize::new(100));
        let b2 = b.clone();
        let h = thread::spawn(move || withdraw(&b2));
        withdraw(&b);
        h.join().unwrap();
    }));
    assert_eq!(f.kind, "atomicity violation", "{}", f.report);
}

// ------------------------------------------------------------ the failing row (item 11)

fn twelve_steps() {
    let a = AtomicUsize::new(0);
    a.store(1, SeqCst); // STEP-01
    a.store(2, SeqCst); // STEP-02
    a.store(3, SeqCst); // STEP-03
    a.store(4, SeqCst); // STEP-04
    a.store(5, SeqCst); // STEP-05
    a.store(6, SeqCst); // STEP-06
    a.store(7, SeqCst); // STEP-07
    a.store(8, SeqCst); // STEP-08
    a.store(9, SeqCst); // STEP-09
    a.store(10, SeqCst); // STEP-10
    a.store(11, SeqCst); // STEP-11
    a.store(12, SeqCst); // STEP-12
}

#[test]
fn a_failure_raised_inside_an_operation_points_at_that_operation() {
    // loom raises its branch limit inside the store that exceeds it.
    let f = fail(check(
        &Config::new("t::branches").loom_only().max_branches(6),
        twelve_steps,
    ));
    let r = &f.report;
    assert_eq!(f.kind, "exploration limit (loom max_branches)", "{r}");
    let rows = rows(r);
    let completed = rows.iter().filter(|l| l.contains("store a ←")).count();
    assert!((1..12).contains(&completed), "{r}");
    // The store after the last completed one failed: the PANIC row and `at:` name it.
    let failing = at(&format!("// STEP-{:02}", completed + 1));
    let panic_row = rows.last().unwrap();
    assert!(
        panic_row.contains("PANIC:") && panic_row.contains(&failing),
        "{failing}:\n{r}"
    );
    assert!(
        r.contains(&format!("at:       {failing}")),
        "{failing}:\n{r}"
    );
    assert!(r.contains("raised by loom at"), "{r}");
}

// ------------------------------------------------------------ backend limits (item 9)

/// Two threads increment one counter with `order`.
fn counter(order: Ordering) {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let h = thread::spawn(move || {
        n2.fetch_add(1, order);
    });
    n.fetch_add(1, order);
    h.join().unwrap();
}

#[test]
fn shuttle_says_weak_orderings_ran_as_seqcst() {
    let note = "every atomic ran as SeqCst (weak-memory behaviours of the weaker orderings used are loom's job)";
    let s = pass(check(&Config::new("t::relaxed").iterations(20), || {
        counter(Relaxed)
    }));
    assert!(s.runs[0].description.contains(note), "{s}");
    assert!(
        !s.runs[1].description.contains("SeqCst"),
        "loom explores them: {s}"
    );
    let s = pass(check(
        &Config::new("t::seqcst").shuttle_only().iterations(20),
        || counter(SeqCst),
    ));
    assert!(!s.runs[0].description.contains(note), "{s}");
}

/// Store buffering with `SeqCst` everywhere: Rust's (C++20's) `SeqCst` forbids both threads
/// reading 0, loom 0.7's weaker `SeqCst` explores it. `order` is the loads' ordering.
fn store_buffering(order: Ordering) {
    let x = Arc::new(AtomicUsize::new(0));
    let y = Arc::new(AtomicUsize::new(0));
    let (x2, y2) = (x.clone(), y.clone());
    let h = thread::spawn(move || {
        y2.store(1, SeqCst);
        x2.load(order)
    });
    x.store(1, SeqCst);
    let r1 = y.load(order);
    let r2 = h.join().unwrap();
    assert!(
        r1 == 1 || r2 == 1,
        "both threads read 0 (r1 = {r1}, r2 = {r2})"
    );
}

#[test]
fn loom_says_a_failure_in_a_non_sequentially_consistent_seqcst_execution_may_be_its_own() {
    let note = "loom 0.7 models SeqCst more weakly than Rust does";
    let f = fail(check(&Config::new("t::sb").iterations(200), || {
        store_buffering(SeqCst)
    }));
    // shuttle (sequentially consistent) passes; loom reaches the outcome SeqCst forbids, and
    // its report says which rows make the execution not sequentially consistent.
    assert_eq!(f.backend, "loom", "{}", f.report);
    assert!(
        f.runs.iter().any(|r| r.backend == "shuttle" && !r.failed),
        "{}",
        f.report
    );
    let r = f.report.replace("\n            ", " ");
    assert!(r.contains(note), "{}", f.report);
    assert!(
        r.contains("the execution is not sequentially consistent"),
        "{r}"
    );
    assert!(
        r.contains(
            "shuttle, whose schedules are all sequentially consistent, passed 400 executions"
        ),
        "{r}"
    );
    let rows = rows(&f.report);
    let load = r
        .split("note:     row ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .expect("the note names the load's row");
    assert!(
        rows[load - 1].contains("load") && rows[load - 1].contains("= 0"),
        "row {load} is the stale load: {r}"
    );

    // Near misses: the same outcome with Acquire loads is allowed by Rust too (no note), and
    // a shuttle failure never carries it.
    let f = fail(check(&Config::new("t::sb_acq").loom_only(), || {
        store_buffering(Acquire)
    }));
    assert!(!f.report.contains(note), "{}", f.report);
    let f = fail(check(
        &Config::new("t::sb_shuttle").shuttle_only().iterations(2000),
        || {
            let n = Arc::new(AtomicUsize::new(0));
            let n2 = n.clone();
            let h = thread::spawn(move || {
                let v = n2.load(SeqCst);
                n2.store(v + 1, SeqCst);
            });
            let v = n.load(SeqCst);
            n.store(v + 1, SeqCst);
            h.join().unwrap();
            assert_eq!(n.load(SeqCst), 2, "lost update");
        },
    ));
    assert_eq!(f.backend, "shuttle", "{}", f.report);
    assert!(!f.report.contains(note), "{}", f.report);
}

#[test]
fn loom_says_notify_one_wakes_the_first_waiter() {
    let note = "Condvar::notify_one always wakes the first waiter under loom";
    let s = pass(check(&Config::new("t::one").iterations(20), || {
        condvar_handoff(false)
    }));
    assert!(
        !s.runs[0].description.contains(note),
        "shuttle explores it: {s}"
    );
    assert!(s.runs[1].description.contains(note), "{s}");
    let s = pass(check(&Config::new("t::all").loom_only(), || {
        condvar_handoff(true)
    }));
    assert!(!s.runs[0].description.contains(note), "{s}");
}

#[test]
fn shuttle_says_futures_are_never_polled_spuriously() {
    let note = "futures are never polled spuriously under shuttle";
    let s = pass(check(
        &Config::new("t::fut").shuttle_only().iterations(20),
        || {
            let flag = Arc::new(AtomicBool::new(false));
            let f2 = flag.clone();
            let h = heisen::future::spawn(async move { f2.store(true, SeqCst) });
            h.join().unwrap();
            assert!(flag.load(SeqCst));
        },
    ));
    assert!(s.runs[0].description.contains(note), "{s}");
    let s = pass(check(
        &Config::new("t::nofut").shuttle_only().iterations(20),
        || counter(SeqCst),
    ));
    assert!(!s.runs[0].description.contains(note), "{s}");
}
