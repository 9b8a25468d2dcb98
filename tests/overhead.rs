//! Overhead of `heisen::runner` (facade dispatch + trace recording + reporting) against the same
//! test hand-wired to `loom::model` and `shuttle::check_random` / `check_pct`.
//!
//! Three bodies (withdrawal, release/acquire message passing, a 3-thread queue) per backend
//! (`bench_overhead_vs_hand_wired`); shuttle's schedules spread over the machine's cores
//! (`bench_shuttle_across_cores`); and the cost of `#[heisen::critical]` recording and checking
//! (`bench_critical_vs_plain`).
//!
//! tokio bodies (`heisen::tokio` against shuttle + shuttle-tokio) are measured by the separate
//! crate `benches/tokio_overhead/` (shuttle-tokio depends on criterion, regex, tracing, …: as a
//! dev-dependency here it would be built by every `cargo test`).
//!
//! A benchmark, not a check: run it with
//! `cargo test --release --features heisen/model --test overhead -- --ignored --nocapture`.
#![cfg(feature = "model")]

use std::time::{Duration, Instant};

const ITERS: usize = 1_000;
/// The shuttle schedules' seed on both sides (see `compare`).
const SEED: u64 = 0x5eed;

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

/// The three bodies, written once against a module that mirrors std's paths: `loom`,
/// `shuttle` (hand-wired) or `heisen` (the facade, dispatched by `heisen::runner`).
macro_rules! withdrawal {
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

/// Message passing: the producer writes the data, then sets `ready` (Release); the consumer
/// spins on `ready` (Acquire), then reads.
macro_rules! release_acquire {
    ($m:ident) => {{
        use $m::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let data = std::sync::Arc::new(AtomicU64::new(0));
        let ready = std::sync::Arc::new(AtomicBool::new(false));
        let producer = {
            let (data, ready) = (data.clone(), ready.clone());
            $m::thread::spawn(move || {
                data.store(42, Ordering::Relaxed);
                ready.store(true, Ordering::Release);
            })
        };
        while !ready.load(Ordering::Acquire) {
            $m::thread::yield_now();
        }
        assert_eq!(data.load(Ordering::Relaxed), 42);
        producer.join().unwrap();
    }};
}

/// A 3-thread queue: two producers push into a `Mutex<VecDeque>` and signal a `Condvar`; the
/// main thread waits on it and pops both (blocking, not spinning: PCT starves spin loops).
macro_rules! queue {
    ($m:ident) => {{
        use std::collections::VecDeque;
        let q = std::sync::Arc::new((
            $m::sync::Mutex::new(VecDeque::new()),
            $m::sync::Condvar::new(),
        ));
        let hs: Vec<_> = (0..2u32)
            .map(|i| {
                let q = q.clone();
                $m::thread::spawn(move || {
                    q.0.lock().unwrap().push_back(i);
                    q.1.notify_one();
                })
            })
            .collect();
        let mut got = Vec::new();
        let mut items = q.0.lock().unwrap();
        while got.len() < 2 {
            match items.pop_front() {
                Some(v) => got.push(v),
                None => items = q.1.wait(items).unwrap(),
            }
        }
        drop(items);
        for h in hs {
            h.join().unwrap();
        }
        got.sort();
        assert_eq!(got, vec![0, 1]);
    }};
}

/// Arcs are `std::sync::Arc` on every side (not loom's, and not `heisen::sync::Arc`, whose
/// count is modelled under loom), so all sides explore the same executions.
/// One body against both backends, hand-wired and through `heisen::runner`; minimum of `rounds`
/// (the machine is shared, the minimum is the least noisy). Prints one line per backend.
fn compare(
    name: &str,
    bound: Option<usize>,
    loom_native: fn(),
    shuttle_native: fn(),
    facade: fn(),
) {
    use heisen::runner::{check, Config};
    let rounds = 5;
    let (mut nl, mut hl, mut ns, mut hs) =
        (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
    let mut loom_execs = 0;
    for _ in 0..rounds {
        // loom with the same preemption bound on both sides, so both explore the same executions.
        nl = nl.min(time(|| {
            let mut b = loom::model::Builder::new();
            b.preemption_bound = bound;
            b.check(loom_native);
        }));
        hl = hl.min(time(|| {
            let cfg = Config::new("bench").loom_only().preemption_bound(bound);
            let s = check(&cfg, facade).unwrap();
            loom_execs = s.runs[0].executions;
        }));
        // The same schedules on both sides: heisen's random phase from `SEED`, its PCT phase
        // (depth 3) from `SEED + 1`, as the hand-wired runners (`check_random` / `check_pct`
        // would draw a new seed each round, so each side would time other schedules; a spin
        // loop's length depends on the schedule).
        ns = ns.min(time(|| {
            use shuttle::scheduler::{PctScheduler, RandomScheduler};
            let random = RandomScheduler::new_from_seed(SEED, ITERS);
            shuttle::Runner::new(random, shuttle::Config::new()).run(shuttle_native);
            let pct = PctScheduler::new_from_seed(SEED + 1, 3, ITERS);
            shuttle::Runner::new(pct, shuttle::Config::new()).run(shuttle_native);
        }));
        hs = hs.min(time(|| {
            let cfg = Config::new("bench")
                .shuttle_only()
                .iterations(ITERS)
                .seed(SEED);
            check(&cfg, facade).unwrap();
        }));
    }
    println!(
        "{name:<16} loom    ({loom_execs:>5} executions): hand-wired {nl:>10.2?}, heisen {hl:>10.2?}, ratio {:.2}",
        hl.as_secs_f64() / nl.as_secs_f64()
    );
    println!(
        "{name:<16} shuttle ({ITERS} random + {ITERS} PCT): hand-wired {ns:>10.2?}, heisen {hs:>10.2?}, ratio {:.2}",
        hs.as_secs_f64() / ns.as_secs_f64()
    );
}

#[test]
#[ignore = "benchmark; run with --ignored --nocapture (ideally --release)"]
fn bench_overhead_vs_hand_wired() {
    compare(
        "withdrawal",
        None,
        || withdrawal!(loom),
        || withdrawal!(shuttle),
        || withdrawal!(heisen),
    );
    compare(
        "release/acquire",
        None,
        || release_acquire!(loom),
        || release_acquire!(shuttle),
        || release_acquire!(heisen),
    );
    compare(
        "3-thread queue",
        Some(2),
        || queue!(loom),
        || queue!(shuttle),
        || queue!(heisen),
    );
}

/// shuttle's schedules spread over every core (`shuttle_jobs(0)`) against one thread, same
/// body and schedule count: the speed-up on this machine.
#[test]
#[ignore = "benchmark; run with --ignored --nocapture (ideally --release)"]
fn bench_shuttle_across_cores() {
    use heisen::runner::{check, Config};
    let cores = std::thread::available_parallelism().map_or(1, |p| p.get());
    let iters = 16 * ITERS;
    let (mut one, mut all) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        let cfg = Config::new("bench").shuttle_only().iterations(iters);
        one = one.min(time(|| {
            check(&cfg.clone().shuttle_jobs(1), || queue!(heisen)).unwrap();
        }));
        all = all.min(time(|| {
            let s = check(&cfg.clone().shuttle_jobs(0), || queue!(heisen)).unwrap();
            assert_eq!(s.runs[0].executions, 2 * iters as u64);
        }));
    }
    println!(
        "shuttle, 3-thread queue, {iters} random + {iters} PCT: 1 thread {one:.2?}, {cores} threads {all:.2?}, speed-up {:.2}x on {cores} cores",
        one.as_secs_f64() / all.as_secs_f64()
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
