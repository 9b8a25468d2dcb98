//! Overhead of `heisen::runner` (facade dispatch + trace recording + reporting) against the same
//! test hand-wired to `loom::model` and `shuttle::check_random` / `check_pct`.
//!
//! Also the cost of `#[heisen::critical]` recording and checking (`bench_critical_vs_plain`).
//!
//! A benchmark, not a check: run it with
//! `cargo test --release --features heisen/model --test overhead -- --ignored --nocapture`.
#![cfg(feature = "model")]

use std::time::{Duration, Instant};

const ITERS: usize = 1_000;

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn facade_body() {
    use heisen::sync::atomic::{AtomicU64, Ordering::SeqCst};
    let balance = heisen::sync::Arc::new(AtomicU64::new(200));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let balance = balance.clone();
            heisen::thread::spawn(move || {
                for _ in 0..2 {
                    let mut cur = balance.load(SeqCst);
                    while let Err(a) = balance.compare_exchange(cur, cur - 50, SeqCst, SeqCst) {
                        cur = a;
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(balance.load(SeqCst), 0);
}

macro_rules! native_body {
    ($m:ident) => {{
        use $m::sync::atomic::{AtomicU64, Ordering::SeqCst};
        let balance = std::sync::Arc::new(AtomicU64::new(200));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let balance = balance.clone();
                $m::thread::spawn(move || {
                    for _ in 0..2 {
                        let mut cur = balance.load(SeqCst);
                        while let Err(a) = balance.compare_exchange(cur, cur - 50, SeqCst, SeqCst) {
                            cur = a;
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(balance.load(SeqCst), 0);
    }};
}

#[test]
#[ignore = "benchmark; run with --ignored --nocapture (ideally --release)"]
fn bench_overhead_vs_hand_wired() {
    use heisen::runner::{check, Config};
    // Minimum of several rounds: the machine is shared, the minimum is the least noisy.
    let (mut nl, mut hl, mut ns, mut hs) =
        (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
    let mut loom_execs = 0;
    for _ in 0..7 {
        // loom, exhaustive (no preemption bound) so both explore the same executions.
        nl = nl.min(time(|| {
            let mut b = loom::model::Builder::new();
            b.preemption_bound = None;
            b.check(|| native_body!(loom));
        }));
        hl = hl.min(time(|| {
            let cfg = Config::new("bench").loom_only().preemption_bound(None);
            let s = check(&cfg, facade_body).unwrap();
            loom_execs = s.runs[0].executions;
        }));
        ns = ns.min(time(|| {
            shuttle::check_random(|| native_body!(shuttle), ITERS);
            shuttle::check_pct(|| native_body!(shuttle), ITERS, 3);
        }));
        hs = hs.min(time(|| {
            let cfg = Config::new("bench").shuttle_only().iterations(ITERS);
            check(&cfg, facade_body).unwrap();
        }));
    }
    println!(
        "loom    ({loom_execs} executions): hand-wired {nl:?}, heisen {hl:?}, ratio {:.2}",
        hl.as_secs_f64() / nl.as_secs_f64()
    );
    println!(
        "shuttle ({ITERS} random + {ITERS} PCT): hand-wired {ns:?}, heisen {hs:?}, ratio {:.2}",
        hs.as_secs_f64() / ns.as_secs_f64()
    );
}

fn critical_body(critical: bool) {
    use heisen::sync::atomic::{AtomicU64, Ordering::SeqCst};
    let balance = heisen::sync::Arc::new(AtomicU64::new(200));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let balance = balance.clone();
            heisen::thread::spawn(move || {
                for _ in 0..2 {
                    let withdraw = || {
                        let mut cur = balance.load(SeqCst);
                        while let Err(a) = balance.compare_exchange(cur, cur - 50, SeqCst, SeqCst) {
                            cur = a;
                        }
                    };
                    if critical {
                        heisen::critical_section!(withdraw, { withdraw() });
                    } else {
                        withdraw();
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(balance.load(SeqCst), 0);
}

/// Cost of `critical` (section entry/exit rows + the conflict-serializability check at the
/// end of every execution) against the same model without it.
#[test]
#[ignore = "benchmark; run with --ignored --nocapture (ideally --release)"]
fn bench_critical_vs_plain() {
    use heisen::runner::{check, Config};
    let (mut pl, mut cl, mut ps, mut cs) =
        (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
    let (mut execs, mut instances) = (0, 0);
    for _ in 0..7 {
        let loom = Config::new("bench").loom_only().preemption_bound(None);
        pl = pl.min(time(|| {
            check(&loom, || critical_body(false)).unwrap();
        }));
        cl = cl.min(time(|| {
            let s = check(&loom, || critical_body(true)).unwrap();
            execs = s.runs[0].executions;
            instances = s.runs[0].critical_sections;
        }));
        let shuttle = Config::new("bench").shuttle_only().iterations(ITERS);
        ps = ps.min(time(|| {
            check(&shuttle, || critical_body(false)).unwrap();
        }));
        cs = cs.min(time(|| {
            check(&shuttle, || critical_body(true)).unwrap();
        }));
    }
    println!(
        "loom    ({execs} executions, {instances} section instances): plain {pl:?}, critical {cl:?}, ratio {:.2}",
        cl.as_secs_f64() / pl.as_secs_f64()
    );
    println!(
        "shuttle ({ITERS} random + {ITERS} PCT): plain {ps:?}, critical {cs:?}, ratio {:.2}",
        cs.as_secs_f64() / ps.as_secs_f64()
    );
}
