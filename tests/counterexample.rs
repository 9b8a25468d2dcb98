//! The counterexample as data (`heisen::counterexample`): the structured timeline of a
//! failure, its JSON and its HTML page, checked against the text report of the same failure
//! and, when Chromium is installed, in a real headless browser. Model build only:
//! `cargo test --features heisen/model --test counterexample`.
#![cfg(feature = "model")]

#[path = "support/browser.rs"]
mod browser;

use heisen::counterexample::{Counterexample, Timeline};
use heisen::runner::{check, Config, Failure};
use heisen::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use heisen::sync::{Arc, Mutex};
use heisen::thread;

fn failure(cfg: Config, body: impl Fn() + Send + Sync + 'static) -> Box<Failure> {
    match check(&cfg, body) {
        Ok(s) => panic!("expected a failure, it passed:\n{s}"),
        Err(f) => f,
    }
}

fn lost_update() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let h = thread::spawn(move || {
        let v = n2.load(Ordering::SeqCst);
        n2.store(v + 1, Ordering::SeqCst);
    });
    let v = n.load(Ordering::SeqCst);
    n.store(v + 1, Ordering::SeqCst);
    h.join().unwrap();
    assert_eq!(n.load(Ordering::SeqCst), 2, "an increment was lost");
}

fn relaxed_publication() {
    let data = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(AtomicBool::new(false));
    let (d2, r2) = (data.clone(), ready.clone());
    let h = thread::spawn(move || {
        d2.store(42, Ordering::Relaxed);
        r2.store(true, Ordering::Relaxed);
    });
    if ready.load(Ordering::Relaxed) {
        assert_eq!(data.load(Ordering::Relaxed), 42, "published data visible");
    }
    h.join().unwrap();
}

fn lock_order_inversion() {
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    let (a2, b2) = (a.clone(), b.clone());
    let h = thread::spawn(move || {
        let _gb = b2.lock().unwrap();
        let _ga = a2.lock().unwrap();
    });
    {
        let _ga = a.lock().unwrap();
        let _gb = b.lock().unwrap();
    }
    h.join().unwrap();
}

fn timeline(f: &Failure) -> &Timeline {
    f.timeline
        .as_deref()
        .expect("a model failure carries its timeline")
}

/// Every step is a row of the text report, in the same order, lane and text.
fn assert_matches_report(f: &Failure) {
    let t = timeline(f);
    let rows = browser::report_rows(&f.report);
    assert_eq!(rows.len(), t.steps.len(), "{}", f.report);
    for (s, row) in t.steps.iter().zip(rows) {
        assert!(
            row.contains(&format!("T{} ", s.thread)) || row.contains(&format!("T{}│", s.thread))
        );
        assert!(
            row.contains(&s.text),
            "step {}: {:?} not in {row}",
            s.index,
            s.text
        );
        if let (Some(file), Some(src)) = (&s.file, &s.source) {
            assert!(row.contains(&format!("{file}:{}", s.line)), "{row}");
            assert!(row.contains(&src[..src.len().min(40)]), "{row}");
        }
    }
}

fn cx<'a>(f: &'a Failure) -> Counterexample<'a> {
    Counterexample {
        failure: f,
        status: "FAIL",
        package: None,
        timeline: timeline(f),
        at_source: None,
    }
}

fn json(f: &Failure) -> serde_json::Value {
    serde_json::from_str(&cx(f).to_json()).expect("valid JSON")
}

fn page(f: &Failure, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("heisen-cx-{name}-{}", std::process::id()));
    cx(f).write(&dir).expect("written")
}

fn browser_layout(f: &Failure, name: &str) -> Option<browser::Layout> {
    let page = page(f, name);
    let Some(chromium) = browser::chromium() else {
        eprintln!(
            "skipped: no Chromium to load {} (install chromium, or set HEISEN_CHROMIUM)",
            page.display()
        );
        return None;
    };
    let l = browser::layout(&chromium, &page);
    let t = timeline(f);
    let lanes: Vec<String> = t.lanes.iter().map(|l| l.label()).collect();
    let lanes: Vec<&str> = lanes.iter().map(String::as_str).collect();
    browser::assert_well_formed(&l, &lanes, t.steps.len());
    Some(l)
}

#[test]
fn a_lost_update_has_both_threads_reading_the_same_value_side_by_side() {
    let f = failure(Config::new("t::lost").shuttle_only(), lost_update);
    assert_matches_report(&f);
    let t = timeline(&f);
    assert_eq!(t.lanes.len(), 2);
    assert_eq!(t.lanes[0].name.as_deref(), Some("main"));
    let loads: Vec<_> = t
        .steps
        .iter()
        .filter(|s| s.op == "load" && s.value.as_deref() == Some("0"))
        .collect();
    assert_eq!(loads.len(), 2, "{t:#?}");
    assert_ne!(loads[0].thread, loads[1].thread);
    assert!(loads
        .iter()
        .all(|s| s.ordering.as_deref() == Some("SeqCst")));
    let stores: Vec<_> = t.steps.iter().filter(|s| s.op == "store").collect();
    assert!(
        stores.iter().all(|s| s.value.as_deref() == Some("1")),
        "both store 1: {t:#?}"
    );
    assert!(t.steps.last().unwrap().panic);
    let v = json(&f);
    assert_eq!(v["version"], 1);
    assert_eq!(v["steps"].as_array().unwrap().len(), t.steps.len());
    assert_eq!(v["lanes"][0]["name"], "main");
    assert_eq!(v["kind"], "assertion failed");
    assert!(v["replay"].as_str().unwrap().contains("HEISEN_REPLAY="));
    assert_eq!(v["report"], f.report.as_str());
    if let Some(l) = browser_layout(&f, "lost") {
        let shown: Vec<_> = l
            .rows
            .iter()
            .filter(|r| r.text.starts_with("load n") && r.text.contains("= 0"))
            .collect();
        assert_eq!(shown.len(), 2);
        assert!(shown[0].left != shown[1].left, "side by side");
    }
}

#[test]
fn a_weak_memory_stale_read_is_flagged_and_highlighted() {
    let f = failure(Config::new("t::stale").loom_only(), relaxed_publication);
    assert_matches_report(&f);
    let t = timeline(&f);
    let stale: Vec<_> = t
        .steps
        .iter()
        .filter(|s| s.stale_latest.is_some())
        .collect();
    assert_eq!(stale.len(), 1, "{t:#?}");
    assert_eq!(stale[0].value.as_deref(), Some("0"));
    assert_eq!(stale[0].stale_latest.as_deref(), Some("42"));
    assert_eq!(stale[0].ordering.as_deref(), Some("Relaxed"));
    assert!(
        stale[0].text.contains("stale"),
        "the text report says so too"
    );
    assert_eq!(json(&f)["steps"][stale[0].index - 1]["stale_latest"], "42");
    if let Some(l) = browser_layout(&f, "stale") {
        let row = &l.rows[stale[0].index - 1];
        assert!(row.class.contains("stale"), "{row:?}");
        assert_eq!(row.background, "rgb(255, 243, 191)", "the stale colour");
    }
}

#[test]
fn a_deadlock_has_its_blocked_requests_flagged_and_highlighted() {
    let f = failure(Config::new("t::deadlock").loom_only(), lock_order_inversion);
    assert_matches_report(&f);
    let t = timeline(&f);
    let blocked: Vec<_> = t.steps.iter().filter(|s| s.blocked).collect();
    assert_eq!(blocked.len(), 2, "{t:#?}");
    assert_ne!(blocked[0].thread, blocked[1].thread);
    assert!(blocked.iter().all(|s| s.text.contains("BLOCKED")));
    if let Some(l) = browser_layout(&f, "deadlock") {
        for b in &blocked {
            let row = &l.rows[b.index - 1];
            assert!(row.class.contains("blocked"), "{row:?}");
            assert_eq!(row.background, "rgb(255, 216, 216)", "the BLOCKED colour");
        }
    }
}

#[test]
fn file_names_and_hostile_text_are_safe() {
    let f = failure(Config::new("t::lost").shuttle_only(), || {
        panic!("<script>alert('x')</script> & \"quotes\"\nsecond line")
    });
    let c = Counterexample {
        package: Some("my-pkg".into()),
        ..cx(&f)
    };
    assert_eq!(c.file_stem(), "my-pkg.t.lost");
    let c = Counterexample {
        package: Some("t".into()),
        ..cx(&f)
    };
    assert_eq!(
        c.file_stem(),
        "t.lost",
        "the package's own crate is not repeated"
    );
    let html = cx(&f).to_html();
    assert!(!html.contains("<script>"), "text is escaped");
    assert!(html.contains("&lt;script&gt;"));
    let v = json(&f);
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("\"quotes\"\nsecond line"));
}
