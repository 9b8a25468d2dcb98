//! Every facade primitive works under both backends (correct programs pass), and the
//! classic condvar misuse is found. Model build only.
#![cfg(feature = "model")]

use heisen::runner::{check, Config};
use heisen::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use heisen::sync::{mpsc, Arc, Barrier, Condvar, Mutex, RwLock};
use heisen::thread;

#[path = "support/model.rs"]
mod support;

fn cfg(name: &str) -> Config {
    Config::new(name).iterations(100)
}

fn pass(name: &str, f: fn()) -> heisen::runner::Summary {
    check(&cfg(name), f).unwrap_or_else(|f| panic!("{f}"))
}

#[test]
fn condvar_handoff_with_a_loop_passes() {
    pass("t::condvar", || support::condvar_handoff(false));
}

fn condvar_without_predicate() {
    let pair = Arc::new((Mutex::new(()), Condvar::new()));
    let p2 = pair.clone();
    let h = thread::spawn(move || {
        let (_m, c) = &*p2;
        c.notify_one(); // NOTIFY
    });
    let (m, c) = &*pair;
    let g = m.lock().unwrap();
    let _g = c.wait(g).unwrap(); // WAIT
    h.join().unwrap();
}

#[test]
fn lost_wakeup_is_found_as_a_deadlock() {
    for c in [
        cfg("t::lost_wakeup").loom_only(),
        cfg("t::lost_wakeup").shuttle_only(),
    ] {
        let f = check(&c, condvar_without_predicate).expect_err("lost wakeup must be found");
        assert_eq!(f.kind, "deadlock", "{}", f.report);
        assert!(
            f.report
                .lines()
                .any(|l| l.contains("T1 │") && l.contains("notify_one")),
            "{}",
            f.report
        );
        assert!(
            f.report
                .lines()
                .any(|l| l.contains("T0 │") && l.contains("wait on")),
            "{}",
            f.report
        );
    }
}

#[test]
fn rwlock_readers_and_writer_pass() {
    pass("t::rwlock", || {
        let l = Arc::new(RwLock::new(0));
        let l2 = l.clone();
        let h = thread::spawn(move || *l2.write().unwrap() += 1);
        let v = *l.read().unwrap();
        assert!(v == 0 || v == 1);
        h.join().unwrap();
        assert_eq!(*l.read().unwrap(), 1);
    });
}

#[test]
fn barrier_and_channel_pass() {
    pass("t::barrier_mpsc", || {
        let b = Arc::new(Barrier::new(2));
        let (tx, rx) = mpsc::channel();
        let b2 = b.clone();
        let h = thread::spawn(move || {
            tx.send(7).unwrap();
            b2.wait();
        });
        assert_eq!(rx.recv().unwrap(), 7);
        b.wait();
        h.join().unwrap();
    });
}

#[test]
fn try_lock_and_fetch_ops_pass() {
    pass("t::misc", || {
        let m = Arc::new(Mutex::new(0));
        let n = Arc::new(AtomicUsize::new(0));
        let (m2, n2) = (m.clone(), n.clone());
        let h = thread::spawn(move || {
            if let Ok(mut g) = m2.try_lock() {
                *g += 1;
            }
            n2.fetch_add(2, SeqCst);
        });
        *m.lock().unwrap() += 1;
        n.fetch_add(1, SeqCst);
        assert!(n.fetch_max(1, SeqCst) >= 1);
        heisen::thread::yield_now();
        heisen::hint::spin_loop();
        h.join().unwrap();
        assert!((1..=2).contains(&*m.lock().unwrap()));
        assert_eq!(n.load(SeqCst), 3);
    });
}

#[test]
fn cas_failure_is_shown_with_the_actual_value() {
    // Bug: a single CAS attempt whose failure is ignored loses a withdrawal.
    let f = check(&cfg("t::cas_once"), || {
        let b = Arc::new(AtomicUsize::new(100));
        let b2 = b.clone();
        let h = thread::spawn(move || {
            let cur = b2.load(SeqCst);
            let _ = b2.compare_exchange(cur, cur - 50, SeqCst, SeqCst);
        });
        let cur = b.load(SeqCst);
        let _ = b.compare_exchange(cur, cur - 50, SeqCst, SeqCst);
        h.join().unwrap();
        assert_eq!(b.load(SeqCst), 0);
    })
    .expect_err("ignored CAS failure must be found");
    assert!(
        f.report
            .lines()
            .any(|l| l.contains("CAS b") && l.contains("expected 100 FAILED (was 50)")),
        "{}",
        f.report
    );
    assert!(
        f.report.lines().any(|l| l.contains("100 → 50 succeeded")),
        "{}",
        f.report
    );
}

fn scoped_counter(n: &AtomicUsize) {
    thread::scope(|s| {
        let h = s.spawn(|| n.fetch_add(1, SeqCst));
        n.fetch_add(1, SeqCst);
        h.join().unwrap();
    });
}

#[test]
fn scoped_threads_run_under_shuttle() {
    let s = check(&cfg("t::scope").shuttle_only(), || {
        let n = AtomicUsize::new(0);
        scoped_counter(&n);
        assert_eq!(n.load(SeqCst), 2);
    })
    .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(s.runs[0].executions, 200);
    // A scoped race is found and attributed to the scoped thread.
    let f = check(&cfg("t::scope_race").shuttle_only(), || {
        let n = AtomicUsize::new(0);
        thread::scope(|s| {
            s.spawn(|| {
                let v = n.load(SeqCst);
                n.store(v + 1, SeqCst);
            });
            let v = n.load(SeqCst);
            n.store(v + 1, SeqCst);
        });
        assert_eq!(n.load(SeqCst), 2);
    })
    .expect_err("lost update in a scope must be found");
    assert!(
        f.report
            .lines()
            .any(|l| l.contains("T1 │") && l.contains("store n ← 1")),
        "{}",
        f.report
    );
}

#[test]
fn scoped_threads_under_loom_explain_themselves() {
    let f = check(&cfg("t::scope_loom").loom_only(), || {
        let n = AtomicUsize::new(0);
        scoped_counter(&n);
    })
    .expect_err("loom has no scoped threads");
    assert!(
        f.message.contains("#[heisen::model(shuttle)]"),
        "{}",
        f.report
    );
}
