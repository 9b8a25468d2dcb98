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

/// CPU time of this process (every thread), where the platform offers it (Linux:
/// `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`), else wall time. On a shared machine wall time
/// also counts the time the process waited for a core (the figures swung by ±0.3 between two
/// runs); CPU time counts only the work. The bench runs one test at a time
/// (`--test-threads=1`), so the process's CPU time is the check's.
#[cfg(target_os = "linux")]
fn cpu_time(f: impl FnOnce()) -> Duration {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let now = || {
        let mut ts = Timespec { sec: 0, nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec; the clock id is Linux's.
        let rc = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
        Duration::new(ts.sec as u64, ts.nsec as u32)
    };
    let t = now();
    f();
    now() - t
}
#[cfg(not(target_os = "linux"))]
fn cpu_time(f: impl FnOnce()) -> Duration {
    time(f)
}

/// How much CPU time one sample takes at least: a model check of these bodies takes 10–20 ms,
/// far too short to time on a shared machine (a scheduler hiccup is a whole sample), so a
/// sample repeats the check until it has run this long.
const SAMPLE: Duration = Duration::from_millis(300);
/// Rounds per side; each round times one sample of every side, in an order that alternates
/// between rounds (so a side is not always the one after a warm cache or a load spike).
const ROUNDS: usize = 7;

/// Repetitions of `f` that make one sample last about `SAMPLE` (from one warm-up call).
fn reps_for(f: &mut dyn FnMut()) -> u32 {
    f();
    let one = cpu_time(&mut *f).max(Duration::from_micros(1));
    (SAMPLE.as_secs_f64() / one.as_secs_f64())
        .ceil()
        .clamp(1.0, 10_000.0) as u32
}

/// Minimum and median of a side's per-check times.
#[derive(Clone, Copy)]
struct Stat {
    min: Duration,
    median: Duration,
}

impl Stat {
    fn of(mut v: Vec<Duration>) -> Stat {
        v.sort();
        Stat {
            min: v[0],
            median: v[v.len() / 2],
        }
    }
}

/// Times the sides interleaved: `ROUNDS` rounds, each one sample per side (the same number of
/// repetitions for sides that are compared, from the first side's calibration), the order
/// rotated each round. Returns each side's per-check min and median.
fn interleaved(sides: &mut [&mut dyn FnMut()]) -> Vec<Stat> {
    let reps = reps_for(&mut *sides[0]);
    for side in sides.iter_mut().skip(1) {
        side(); // warm-up
    }
    let n = sides.len();
    let mut samples = vec![Vec::with_capacity(ROUNDS); n];
    for round in 0..ROUNDS {
        for k in 0..n {
            let i = (k + round) % n;
            let f = &mut *sides[i];
            let d = cpu_time(|| {
                for _ in 0..reps {
                    f();
                }
            });
            samples[i].push(d / reps);
        }
    }
    samples.into_iter().map(Stat::of).collect()
}

/// `heisen / hand-wired` by min and by median (CPU time per check, see `cpu_time`).
fn ratios(native: Stat, heisen: Stat) -> String {
    format!(
        "ratio {:.2} (min) {:.2} (median); hand-wired {:.2?}/{:.2?}, heisen {:.2?}/{:.2?} (min/median)",
        heisen.min.as_secs_f64() / native.min.as_secs_f64(),
        heisen.median.as_secs_f64() / native.median.as_secs_f64(),
        native.min,
        native.median,
        heisen.min,
        heisen.median,
    )
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
/// One body against both backends, hand-wired and through `heisen::runner`, timed interleaved
/// (see `interleaved`). Prints one line per backend.
fn compare(
    name: &str,
    bound: Option<usize>,
    loom_native: fn(),
    shuttle_native: fn(),
    facade: fn(),
) {
    use heisen::runner::{check, Config};
    let mut loom_execs = 0;
    // loom with the same preemption bound on both sides, so both explore the same executions.
    let mut nl = || {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = bound;
        b.check(loom_native);
    };
    let mut hl = || {
        let cfg = Config::new("bench").loom_only().preemption_bound(bound);
        let s = check(&cfg, facade).unwrap();
        loom_execs = s.runs[0].executions;
    };
    let l = interleaved(&mut [&mut nl, &mut hl]);
    // The same schedules on both sides: heisen's random phase from `SEED`, its PCT phase
    // (depth 3) from `SEED + 1`, as the hand-wired runners (`check_random` / `check_pct`
    // would draw a new seed each round, so each side would time other schedules; a spin
    // loop's length depends on the schedule).
    let mut ns = || {
        use shuttle::scheduler::{PctScheduler, RandomScheduler};
        let random = RandomScheduler::new_from_seed(SEED, ITERS);
        shuttle::Runner::new(random, shuttle::Config::new()).run(shuttle_native);
        let pct = PctScheduler::new_from_seed(SEED + 1, 3, ITERS);
        shuttle::Runner::new(pct, shuttle::Config::new()).run(shuttle_native);
    };
    let mut hs = || {
        let cfg = Config::new("bench")
            .shuttle_only()
            .iterations(ITERS)
            .seed(SEED);
        check(&cfg, facade).unwrap();
    };
    let s = interleaved(&mut [&mut ns, &mut hs]);
    println!(
        "{name:<16} loom    ({loom_execs:>5} executions): {}",
        ratios(l[0], l[1])
    );
    println!(
        "{name:<16} shuttle ({ITERS} random + {ITERS} PCT): {}",
        ratios(s[0], s[1])
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
    let (mut execs, mut instances) = (0, 0);
    let loom = Config::new("bench").loom_only().preemption_bound(None);
    let mut pl = || {
        check(&loom, || critical_body(false)).unwrap();
    };
    let mut cl = || {
        let s = check(&loom, || critical_body(true)).unwrap();
        execs = s.runs[0].executions;
        instances = s.runs[0].critical_sections;
    };
    let l = interleaved(&mut [&mut pl, &mut cl]);
    let shuttle = Config::new("bench").shuttle_only().iterations(ITERS);
    let mut ps = || {
        check(&shuttle, || critical_body(false)).unwrap();
    };
    let mut cs = || {
        check(&shuttle, || critical_body(true)).unwrap();
    };
    let s = interleaved(&mut [&mut ps, &mut cs]);
    println!(
        "critical loom    ({execs} executions, {instances} section instances): {}",
        ratios(l[0], l[1])
            .replace("hand-wired", "plain")
            .replace("heisen", "critical")
    );
    println!(
        "critical shuttle ({ITERS} random + {ITERS} PCT): {}",
        ratios(s[0], s[1])
            .replace("hand-wired", "plain")
            .replace("heisen", "critical")
    );
}

/// One shuttle check (1,000 random + 1,000 PCT schedules) of one body, for a profiler
/// (`valgrind --tool=callgrind <overhead test binary> --ignored --exact profile_shuttle`):
/// `HEISEN_PROFILE_BODY` = `withdrawal` (default), `release_acquire` or `queue`;
/// `HEISEN_PROFILE_SIDE=native` for the hand-wired side.
#[test]
#[ignore = "for a profiler"]
fn profile_shuttle() {
    use heisen::runner::{check, Config};
    let body = std::env::var("HEISEN_PROFILE_BODY").unwrap_or_default();
    let (native, facade): (fn(), fn()) = match body.as_str() {
        "queue" => (|| queue!(shuttle), || queue!(heisen)),
        "release_acquire" => (|| release_acquire!(shuttle), || release_acquire!(heisen)),
        _ => (|| withdrawal!(shuttle), || withdrawal!(heisen)),
    };
    if std::env::var("HEISEN_PROFILE_SIDE").as_deref() == Ok("native") {
        use shuttle::scheduler::{PctScheduler, RandomScheduler};
        let random = RandomScheduler::new_from_seed(SEED, ITERS);
        shuttle::Runner::new(random, shuttle::Config::new()).run(native);
        let pct = PctScheduler::new_from_seed(SEED + 1, 3, ITERS);
        shuttle::Runner::new(pct, shuttle::Config::new()).run(native);
    } else {
        let cfg = Config::new("bench")
            .shuttle_only()
            .iterations(ITERS)
            .seed(SEED);
        check(&cfg, facade).unwrap();
    }
}

/// One loom check of a body (as `profile_shuttle`), `HEISEN_PROFILE_REPS` times in a row.
#[test]
#[ignore = "for a profiler"]
fn profile_loom() {
    use heisen::runner::{check, Config};
    let body = std::env::var("HEISEN_PROFILE_BODY").unwrap_or_default();
    let (native, facade): (fn(), fn()) = match body.as_str() {
        "queue" => (|| queue!(loom), || queue!(heisen)),
        "release_acquire" => (|| release_acquire!(loom), || release_acquire!(heisen)),
        _ => (|| withdrawal!(loom), || withdrawal!(heisen)),
    };
    let bound = (body == "queue").then_some(2);
    let reps: usize = std::env::var("HEISEN_PROFILE_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    for _ in 0..reps {
        if std::env::var("HEISEN_PROFILE_SIDE").as_deref() == Ok("native") {
            let mut b = loom::model::Builder::new();
            b.preemption_bound = bound;
            b.check(native);
        } else {
            let cfg = Config::new("bench").loom_only().preemption_bound(bound);
            check(&cfg, facade).unwrap();
        }
    }
}
