//! Overhead of `heisen::runner` (facade dispatch + trace recording + reporting) against the same
//! test hand-wired to `loom::model` and `shuttle::check_random` / `check_pct`.
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
    for round in 0..3 {
        // loom, exhaustive (no preemption bound) so both explore the same executions.
        let native_loom = time(|| {
            let mut b = loom::model::Builder::new();
            b.preemption_bound = None;
            b.check(|| native_body!(loom));
        });
        let mut loom_execs = 0;
        let heisen_loom = time(|| {
            let s = check(
                &Config::new("bench").loom_only().preemption_bound(None),
                facade_body,
            )
            .unwrap();
            loom_execs = s.runs[0].executions;
        });
        let native_shuttle = time(|| {
            shuttle::check_random(|| native_body!(shuttle), ITERS);
            shuttle::check_pct(|| native_body!(shuttle), ITERS, 3);
        });
        let heisen_shuttle = time(|| {
            check(
                &Config::new("bench").shuttle_only().iterations(ITERS),
                facade_body,
            )
            .unwrap();
        });
        if round == 2 {
            println!(
                "loom    ({loom_execs} executions): hand-wired {native_loom:?}, heisen {heisen_loom:?}, ratio {:.2}",
                heisen_loom.as_secs_f64() / native_loom.as_secs_f64()
            );
            println!(
                "shuttle ({ITERS} random + {ITERS} PCT): hand-wired {native_shuttle:?}, heisen {heisen_shuttle:?}, ratio {:.2}",
                heisen_shuttle.as_secs_f64() / native_shuttle.as_secs_f64()
            );
        }
    }
}
