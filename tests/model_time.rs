//! `heisen::time` in model builds: each model thread reads its own skewed clock, loom explores
//! the skews {-bound, 0, +bound}, shuttle samples [-bound, +bound], and an order-of-events bug
//! caused by skew is found with the readings in its timeline.
#![cfg(feature = "model")]

use heisen::runner::{check, Config};
use heisen::sync::mpsc;
use heisen::thread;
use heisen::time::{Duration, SystemTime, UNIX_EPOCH};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

fn ms_since_epoch(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).unwrap().as_millis()
}

/// The readings (ms since the epoch) of two consecutive `now()` calls on the test's main
/// thread, over every execution of `cfg`.
fn main_thread_readings(cfg: Config) -> BTreeSet<(u128, u128)> {
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let s = seen.clone();
    check(&cfg, move || {
        // (shuttle's PCT refuses a test without a point where two threads could run)
        let other = thread::spawn(thread::yield_now);
        thread::yield_now();
        let a = ms_since_epoch(SystemTime::now());
        let b = ms_since_epoch(SystemTime::now());
        s.lock().unwrap().insert((a, b));
        other.join().unwrap();
    })
    .unwrap_or_else(|f| panic!("{f}"));
    let v = seen.lock().unwrap().clone();
    v
}

#[test]
fn without_clock_skew_the_model_clock_is_the_true_time() {
    for cfg in [
        Config::new("t::no_skew").loom_only(),
        Config::new("t::no_skew").shuttle_only().iterations(20),
    ] {
        // True time starts at 1 s after the epoch and advances 1 ms per reading.
        assert_eq!(
            main_thread_readings(cfg),
            [(1_000, 1_001)].into_iter().collect()
        );
    }
}

#[test]
fn loom_explores_minus_bound_zero_and_plus_bound() {
    let cfg = Config::new("t::loom_skew")
        .loom_only()
        .clock_skew(Duration::from_millis(50));
    // A thread's skew is fixed for the execution: its second reading is one tick later.
    assert_eq!(
        main_thread_readings(cfg),
        [(950, 951), (1_000, 1_001), (1_050, 1_051)]
            .into_iter()
            .collect()
    );
}

#[test]
fn shuttle_samples_skews_within_the_bound() {
    let cfg = Config::new("t::shuttle_skew")
        .shuttle_only()
        .iterations(100)
        .clock_skew(Duration::from_millis(50));
    let seen = main_thread_readings(cfg);
    assert!(seen
        .iter()
        .all(|&(a, b)| (950..=1_050).contains(&a) && b == a + 1));
    assert!(seen.len() > 20, "sampled skews should vary: {seen:?}");
}

#[test]
fn each_thread_gets_its_own_skew() {
    let pairs = Arc::new(Mutex::new(BTreeSet::new()));
    let p = pairs.clone();
    let cfg = Config::new("t::two_threads")
        .loom_only()
        .clock_skew(Duration::from_millis(50));
    check(&cfg, move || {
        let (tx, rx) = mpsc::channel();
        let h = thread::spawn(move || {
            let theirs = rx.recv().unwrap();
            (theirs, ms_since_epoch(SystemTime::now()))
        });
        tx.send(ms_since_epoch(SystemTime::now())).unwrap();
        let pair = h.join().unwrap();
        p.lock().unwrap().insert(pair);
    })
    .unwrap_or_else(|f| panic!("{f}"));
    // The reply is read one tick after the request: 3 × 3 skew combinations.
    let mut expected = BTreeSet::new();
    for a in [-50i128, 0, 50] {
        for b in [-50i128, 0, 50] {
            expected.insert(((1_000 + a) as u128, (1_001 + b) as u128));
        }
    }
    assert_eq!(*pairs.lock().unwrap(), expected);
}

/// A reply is read after its request arrived, but on another thread's clock.
fn reply_after_request() {
    let (tx, rx) = mpsc::channel();
    let server = thread::spawn(move || {
        let request = rx.recv().unwrap();
        let reply = SystemTime::now();
        assert!(reply >= request, "reply stamped before its request");
    });
    tx.send(SystemTime::now()).unwrap();
    server.join().unwrap();
}

#[test]
fn a_skew_that_reorders_causally_ordered_readings_is_found_by_both_backends() {
    for cfg in [
        Config::new("t::reply").loom_only(),
        Config::new("t::reply").shuttle_only(),
    ] {
        let f = check(
            &cfg.clock_skew(Duration::from_millis(50)),
            reply_after_request,
        )
        .expect_err("skew must reorder the stamps");
        assert!(f.message.contains("reply stamped before its request"));
        for lane in ["T0 │ SystemTime::now() = ", "T1 │     SystemTime::now() = "] {
            assert!(f.report.contains(lane), "{}", f.report);
        }
        assert!(f.report.contains("(skew "), "{}", f.report);
    }
    // Loom's skews are the bound's extremes (or zero).
    let f = check(
        &Config::new("t::reply")
            .loom_only()
            .clock_skew(Duration::from_millis(50)),
        reply_after_request,
    )
    .unwrap_err();
    assert!(
        f.report.contains("(skew +50ms)") || f.report.contains("(skew -50ms)"),
        "{}",
        f.report
    );
}

#[test]
fn without_skew_the_causal_order_holds_and_summaries_name_the_skew_exploration() {
    let s =
        check(&Config::new("t::reply_ok"), reply_after_request).unwrap_or_else(|f| panic!("{f}"));
    assert!(s.runs.iter().all(|r| !r.description.contains("clock skew")));
    let s = check(
        &Config::new("t::reply_fixed").clock_skew(Duration::from_millis(50)),
        || {
            let (tx, rx) = mpsc::channel();
            let server = thread::spawn(move || {
                let request: SystemTime = rx.recv().unwrap();
                // skew-tolerant: allow twice the bound
                let reply = SystemTime::now() + Duration::from_millis(100);
                assert!(reply >= request);
            });
            tx.send(SystemTime::now()).unwrap();
            server.join().unwrap();
        },
    )
    .unwrap_or_else(|f| panic!("{f}"));
    let d: Vec<_> = s.runs.iter().map(|r| r.description.as_str()).collect();
    assert!(
        d.iter()
            .any(|d| d.starts_with("shuttle:")
                && d.contains("clock skew ±50ms (each thread: sampled)")),
        "{d:?}"
    );
    assert!(
        d.iter().any(|d| d.starts_with("loom:")
            && d.contains("clock skew ±50ms (each thread: -50ms, 0 or +50ms)")),
        "{d:?}"
    );
}

#[test]
fn shuttle_replay_reproduces_the_skews() {
    let cfg = Config::new("t::replay")
        .shuttle_only()
        .clock_skew(Duration::from_millis(50));
    let f = check(&cfg, reply_after_request).unwrap_err();
    let schedule = f
        .replay
        .split('\'')
        .nth(1)
        .expect("HEISEN_REPLAY='shuttle:..'")
        .to_string();
    let again = check(&cfg.clone().replay(schedule), reply_after_request).unwrap_err();
    let rows = |r: &str| -> Vec<String> {
        r.lines()
            .filter(|l| l.contains("SystemTime::now()"))
            .map(str::to_string)
            .collect()
    };
    assert!(!rows(&f.report).is_empty());
    assert_eq!(rows(&f.report), rows(&again.report));
}

#[test]
fn elapsed_is_a_reading_and_the_api_mirrors_std() {
    let f = check(
        &Config::new("t::elapsed")
            .loom_only()
            .clock_skew(Duration::from_millis(50)),
        || {
            let t = SystemTime::now();
            let e = t.elapsed().unwrap();
            assert_eq!(e, Duration::from_millis(1)); // same thread, same skew, one tick
            let later = t + Duration::from_secs(1);
            assert!(later > t && later - Duration::from_secs(1) == t);
            assert_eq!(t.checked_add(Duration::MAX), None);
            assert_eq!(
                t.checked_sub(Duration::from_millis(1)).map(|e| e < t),
                Some(true)
            );
            let err = t.duration_since(later).unwrap_err();
            assert_eq!(err.duration(), Duration::from_secs(1));
            assert_eq!(err.to_string(), "second time provided was later than self");
            let std_t: std::time::SystemTime = t.into();
            assert_eq!(SystemTime::from(std_t), t);
            panic!("done");
        },
    )
    .unwrap_err();
    assert_eq!(f.message, "done", "{}", f.report);
    assert!(
        f.report.contains("elapsed: SystemTime::now() = "),
        "{}",
        f.report
    );
}

#[test]
fn outside_a_model_run_the_clock_is_real() {
    let now = SystemTime::now();
    assert!(now.duration_since(UNIX_EPOCH).unwrap() > Duration::from_secs(1_600_000_000));
    assert_eq!(
        format!("{now:?}"),
        format!("{:?}", std::time::SystemTime::from(now))
    );
}

#[heisen::model(clock_skew = "50ms")]
#[should_panic(expected = "reply stamped before its request")]
fn attribute_sets_the_clock_skew() {
    reply_after_request();
}

#[heisen::model]
fn attribute_without_clock_skew_has_none() {
    reply_after_request();
}

#[test]
fn capture_report_returns_the_report_instead_of_panicking() {
    let r = heisen::runner::capture_report(attribute_sets_the_clock_skew).expect("a failure");
    assert!(
        r.starts_with("heisen: model_time::attribute_sets_the_clock_skew FAILED under shuttle"),
        "{r}"
    );
    assert!(r.contains("SystemTime::now() = "), "{r}");
    // Deterministic: the same report every time (fixed seed).
    assert_eq!(
        heisen::runner::capture_report(attribute_sets_the_clock_skew).as_deref(),
        Some(r.as_str())
    );
    assert_eq!(
        heisen::runner::capture_report(attribute_without_clock_skew_has_none),
        None
    );
}
