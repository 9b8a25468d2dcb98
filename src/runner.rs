//! Running a model test: the engine behind `#[heisen::model]`, usable directly for harness
//! tests that want to inspect a failure (`heisen::runner::check`).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Default loom preemption bound (see the crate guide).
pub const DEFAULT_PREEMPTION_BOUND: usize = 2;
/// Default loom branch limit per execution (loom's own default).
pub const DEFAULT_MAX_BRANCHES: usize = 1_000;
/// Default shuttle schedules per strategy (random and PCT each).
pub const DEFAULT_ITERATIONS: usize = 1_000;
/// Default PCT bug depth.
pub const DEFAULT_PCT_DEPTH: usize = 3;
/// Default time budget per backend.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How one model test is explored. Built by `#[heisen::model(..)]`.
#[derive(Clone, Debug)]
pub struct Config {
    /// Test path (`module::fn`), used in reports and replay commands.
    pub name: String,
    /// Run under loom.
    pub loom: bool,
    /// Run under shuttle (random + PCT).
    pub shuttle: bool,
    /// loom preemption bound; `None` = unbounded (exhaustive).
    pub preemption_bound: Option<usize>,
    /// loom max branches per execution.
    pub max_branches: usize,
    /// shuttle iterations per strategy.
    pub iterations: usize,
    /// shuttle PCT depth.
    pub pct_depth: usize,
    /// shuttle base seed; `None` = `HEISEN_SEED` or a stable hash of the test name.
    pub seed: Option<u64>,
    /// Time budget per backend.
    pub timeout: Duration,
    /// Replay one recorded schedule instead of exploring (`"shuttle:<schedule>"` as printed in
    /// a report); `None` = the `HEISEN_REPLAY` environment variable, if set.
    pub replay: Option<String>,
    /// The test is `#[should_panic]`: a failure is the expected outcome (summary says `xfail`).
    pub expect_failure: bool,
    /// Bound of every model thread's wall-clock skew (`heisen::time::SystemTime::now()`);
    /// zero = all threads read the model's true time.
    pub clock_skew: Duration,
    /// OS threads the shuttle schedules are spread over; `None` = `HEISEN_SHUTTLE_JOBS`
    /// (a number, or `0` for one per core), else 1.
    pub shuttle_jobs: Option<usize>,
}

impl Config {
    /// Defaults for a test named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Config {
            name: name.into(),
            loom: true,
            shuttle: true,
            preemption_bound: Some(DEFAULT_PREEMPTION_BOUND),
            max_branches: DEFAULT_MAX_BRANCHES,
            iterations: DEFAULT_ITERATIONS,
            pct_depth: DEFAULT_PCT_DEPTH,
            seed: None,
            timeout: DEFAULT_TIMEOUT,
            replay: None,
            expect_failure: false,
            clock_skew: Duration::ZERO,
            shuttle_jobs: None,
        }
    }
    /// loom only.
    pub fn loom_only(mut self) -> Self {
        self.loom = true;
        self.shuttle = false;
        self
    }
    /// shuttle only.
    pub fn shuttle_only(mut self) -> Self {
        self.shuttle = true;
        self.loom = false;
        self
    }
    /// Sets the loom preemption bound (`None` = exhaustive).
    pub fn preemption_bound(mut self, n: Option<usize>) -> Self {
        self.preemption_bound = n;
        self
    }
    /// Sets loom's max branches.
    pub fn max_branches(mut self, n: usize) -> Self {
        self.max_branches = n;
        self
    }
    /// Sets shuttle iterations per strategy.
    pub fn iterations(mut self, n: usize) -> Self {
        self.iterations = n;
        self
    }
    /// Sets the PCT depth.
    pub fn pct_depth(mut self, n: usize) -> Self {
        self.pct_depth = n;
        self
    }
    /// Sets the shuttle seed.
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = Some(s);
        self
    }
    /// Sets the time budget per backend.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    /// Replays a schedule printed in a report (`"shuttle:<schedule>"`).
    pub fn replay(mut self, schedule: impl Into<String>) -> Self {
        self.replay = Some(schedule.into());
        self
    }
    /// Spreads the shuttle schedules over `n` OS threads (`0` = one per core). Each thread
    /// runs its share of random and PCT schedules from its own seeds; a failure's replay
    /// command is exact regardless.
    pub fn shuttle_jobs(mut self, n: usize) -> Self {
        self.shuttle_jobs = Some(n);
        self
    }

    /// The shuttle worker threads to use: the configured or `HEISEN_SHUTTLE_JOBS` count (`0` =
    /// one per core), at least 1 and at most one per schedule.
    pub fn effective_shuttle_jobs(&self) -> usize {
        let n = self.shuttle_jobs.unwrap_or_else(|| {
            std::env::var("HEISEN_SHUTTLE_JOBS")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(1)
        });
        let n = if n == 0 {
            std::thread::available_parallelism().map_or(1, |p| p.get())
        } else {
            n
        };
        n.clamp(1, self.iterations.max(1))
    }

    /// Sets the clock-skew bound (`#[heisen::model(clock_skew = "50ms")]`): each model thread's
    /// `SystemTime::now()` is off by a skew in `[-d, +d]` (see `heisen::time`).
    pub fn clock_skew(mut self, d: Duration) -> Self {
        self.clock_skew = d;
        self
    }
    /// Marks the test as expected to fail (`#[should_panic]`).
    pub fn expect_failure(mut self) -> Self {
        self.expect_failure = true;
        self
    }
    /// The libtest name (module path without the crate name).
    pub fn test_filter(&self) -> &str {
        self.name.split_once("::").map_or(&self.name, |(_, r)| r)
    }
}

/// What one backend explored.
#[derive(Clone, Debug)]
pub struct BackendRun {
    /// "loom", "shuttle" or "std".
    pub backend: &'static str,
    /// Executions (schedules) run.
    pub executions: u64,
    /// `Some(why)` when exploration was bounded (never a silent pass).
    pub bounded: Option<String>,
    /// Wall time.
    pub elapsed: Duration,
    /// One-line description, e.g. "loom: 1,194 executions, preemption bound 2 — bounded".
    pub description: String,
    /// This backend found the failure (exploration stopped there).
    pub failed: bool,
    /// Critical-section instances (`#[heisen::critical]`) whose atomicity was checked, summed
    /// over all executions.
    pub critical_sections: u64,
}

/// A passing run.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Test name.
    pub test: String,
    /// Per-backend results.
    pub runs: Vec<BackendRun>,
    /// `Some(why)` when nothing ran because `HEISEN_BACKEND` names a backend the test's
    /// attribute excludes (e.g. `skipped: test is loom-only, HEISEN_BACKEND=shuttle`).
    pub skipped: Option<String>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(why) = &self.skipped {
            writeln!(f, "heisen: {}: {why}", self.test)?;
        }
        for r in &self.runs {
            writeln!(
                f,
                "heisen: {}: {} ({:.2?})",
                self.test, r.description, r.elapsed
            )?;
        }
        Ok(())
    }
}

/// A failing run: the counterexample.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Test name.
    pub test: String,
    /// Backend that found it.
    pub backend: &'static str,
    /// Kind: "deadlock", "data race", "panic", ...
    pub kind: &'static str,
    /// Panic message.
    pub message: String,
    /// Thread lane that failed (0 = main).
    pub thread: usize,
    /// Failure location, if known.
    pub location: Option<String>,
    /// How to replay it deterministically.
    pub replay: String,
    /// Runs completed before (and including) the failing one.
    pub runs: Vec<BackendRun>,
    /// The full human-readable report (timeline + failure + replay).
    pub report: String,
    /// The failing execution's timeline as data (model builds), for the JSON and HTML files
    /// of `HEISEN_REPORT_DIR` (see [`crate::counterexample`]).
    pub timeline: Option<Arc<crate::counterexample::Timeline>>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.report)
    }
}

#[cfg(feature = "model")]
pub(crate) fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn payload_msg(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

fn write_summary_file(test: &str, runs: &[BackendRun], status: &str, skipped: Option<&str>) {
    use std::io::Write;
    let Ok(path) = std::env::var("HEISEN_SUMMARY_FILE") else {
        return;
    };
    let mut buf = String::new();
    for r in runs {
        buf.push_str(&format!(
            "{test}\t{}\t{}\t{}\t{status}\t{}\t{}\n",
            r.backend,
            r.executions,
            if r.failed {
                "failed"
            } else if r.bounded.is_some() {
                "bounded"
            } else {
                "complete"
            },
            r.elapsed.as_millis(),
            r.description
        ));
    }
    if runs.is_empty() {
        buf.push_str(&format!(
            "{test}\t-\t0\t-\t{status}\t0\t{}\n",
            skipped.unwrap_or("-")
        ));
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(buf.as_bytes());
    }
}

/// Explores `f` per `cfg` and returns what was explored, or the counterexample.
///
/// In a normal build this runs `f` once on real threads (a smoke test) and says so.
pub fn check<F>(cfg: &Config, f: F) -> Result<Summary, Box<Failure>>
where
    F: Fn() + Send + Sync + 'static,
{
    imp::check(cfg, Arc::new(f))
}

/// Entry point of `#[heisen::model]`: [`check`], print the summary, panic with the report.
#[track_caller]
pub fn run_test<F>(cfg: Config, f: F)
where
    F: Fn() + Send + Sync + 'static,
{
    let result = check(&cfg, f);
    if capturing(&result) {
        return;
    }
    match result {
        Ok(s) => {
            print!("{s}");
            match &s.skipped {
                // Never a silent pass: the summary says `skipped`, and so does the output.
                Some(why) => write_summary_file(&s.test, &[], "skipped", Some(why)),
                None => write_summary_file(&s.test, &s.runs, "pass", None),
            }
        }
        Err(fail) => {
            let status = if cfg.expect_failure { "xfail" } else { "FAIL" };
            write_summary_file(&fail.test, &fail.runs, status, None);
            crate::counterexample::write_for(&fail, status);
            // resume_unwind: the report already went through the model's panic hook once.
            std::panic::panic_any(fail.report.clone());
        }
    }
}

thread_local! {
    /// Set while [`capture_report`] runs a test on this thread: `Some(report of the failure)`.
    static CAPTURE: std::cell::RefCell<Option<Option<String>>> =
        const { std::cell::RefCell::new(None) };
}

/// Inside [`capture_report`]: keeps the failure's report and says so (`run_test` returns).
fn capturing(result: &Result<Summary, Box<Failure>>) -> bool {
    CAPTURE.with(|c| match &mut *c.borrow_mut() {
        Some(slot) => {
            *slot = result.as_ref().err().map(|f| f.report.clone());
            true
        }
        None => false,
    })
}

/// Runs a `#[heisen::model]` test function (the `fn` the attribute generates) on this thread
/// and returns the report of its counterexample, `None` when it passes. Unlike calling the
/// test, nothing panics, nothing is printed and nothing is appended to `HEISEN_SUMMARY_FILE`.
///
/// For tests that keep captured reports current, e.g. timelines shown in documentation:
///
/// ```ignore
/// #[heisen::model]
/// #[should_panic(expected = "overdraft")]
/// fn two_withdrawals_buggy() { /* .. */ }
///
/// #[test]
/// fn documented_timeline_is_current() {
///     let report = heisen::runner::capture_report(two_withdrawals_buggy).expect("a failure");
///     assert_eq!(report, std::fs::read_to_string("timeline.txt").unwrap());
/// }
/// ```
///
/// A panic that does not come from the model run (`test` is not a `#[heisen::model]` test)
/// propagates.
pub fn capture_report(test: fn()) -> Option<String> {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CAPTURE.with(|c| c.borrow_mut().take());
        }
    }
    CAPTURE.with(|c| *c.borrow_mut() = Some(None));
    let _reset = Reset;
    test();
    CAPTURE.with(|c| c.borrow_mut().clone().flatten())
}

/// The timeline of the current execution so far, as a failure report would render it (for
/// harness tests that check a property of *every* explored timeline). Empty outside a model
/// run and in normal builds.
#[doc(hidden)]
pub fn __current_timeline() -> String {
    #[cfg(feature = "model")]
    {
        crate::model::rt::current_timeline()
    }
    #[cfg(not(feature = "model"))]
    {
        String::new()
    }
}

type Body = Arc<dyn Fn() + Send + Sync>;

#[cfg(not(feature = "model"))]
mod imp {
    use super::*;

    pub(super) fn check(cfg: &Config, f: Body) -> Result<Summary, Box<Failure>> {
        let start = Instant::now();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f()));
        let run = BackendRun {
            backend: "std",
            executions: 1,
            bounded: Some("smoke run: not a model build".into()),
            elapsed: start.elapsed(),
            failed: false,
            critical_sections: 0,
            description: "std: 1 execution on real threads (smoke run; model build: \
                          `cargo heisen model` or `cargo test --features heisen/model`)"
                .into(),
        };
        match r {
            Ok(()) => Ok(Summary {
                test: cfg.name.clone(),
                runs: vec![run],
                skipped: None,
            }),
            Err(p) => {
                let message = payload_msg(&*p);
                let report = format!(
                    "heisen: {} FAILED on real threads (smoke run)\n  panic: {message}\n  \
                     explore it: cargo test --features heisen/model -- --exact {}\n",
                    cfg.name,
                    cfg.test_filter()
                );
                Err(Box::new(Failure {
                    test: cfg.name.clone(),
                    backend: "std",
                    kind: "panic",
                    message,
                    thread: 0,
                    location: None,
                    replay: String::new(),
                    runs: vec![run],
                    report,
                    timeline: None,
                }))
            }
        }
    }
}

#[cfg(feature = "model")]
mod imp {
    use super::*;
    use crate::model::rt::{self, Backend, BackendGuard};
    use crate::model::{atomicity, report, time};
    use shuttle::scheduler::{
        PctScheduler, RandomScheduler, ReplayScheduler, Schedule, Scheduler, Task, TaskId,
    };

    /// Installs heisen's panic hook once. Inside a model run it records the panic in the trace
    /// and prints nothing (the report shows it); elsewhere it defers to the hook that was
    /// there before, bypassing shuttle's hook (which prints "Task failed" for any panic).
    fn install_hook() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let original = std::panic::take_hook();
            // Let shuttle install its process-wide hook now (it wraps the current one, so give
            // it a silent one), so that ours is outermost and can bypass it.
            std::panic::set_hook(Box::new(|_| {}));
            shuttle::check_random(|| {}, 1);
            let shuttle_hook = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let msg = payload_msg(info.payload());
                let loc = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                if rt::note_panic(msg, loc) {
                    return;
                }
                if shuttle::current::try_get_current_task().is_some() {
                    // A user's direct shuttle test: keep shuttle's schedule printing.
                    shuttle_hook(info);
                }
                original(info);
            }));
        });
    }

    /// shuttle scheduler wrapper recording the schedule (seed + choices) for replay.
    ///
    /// On a failure the inner scheduler is leaked rather than dropped: shuttle's
    /// `RandomScheduler` prints its own (heisen-irrelevant) "failing seed" advice on drop.
    struct Recording<S>(std::mem::ManuallyDrop<S>);
    impl<S> Drop for Recording<S> {
        fn drop(&mut self) {
            if !std::thread::panicking() {
                // SAFETY: dropped exactly once, here; never used afterwards.
                unsafe { std::mem::ManuallyDrop::drop(&mut self.0) }
            }
        }
    }
    impl<S: Scheduler> Scheduler for Recording<S> {
        fn new_execution(&mut self) -> Option<Schedule> {
            let s = self.0.new_execution()?;
            rt::shuttle_schedule_start(s.seed);
            Some(s)
        }
        fn next_task(
            &mut self,
            runnable: &[&Task],
            current: Option<TaskId>,
            is_yielding: bool,
        ) -> Option<TaskId> {
            let t = self.0.next_task(runnable, current, is_yielding);
            if let Some(t) = t {
                rt::shuttle_schedule_push(Some(usize::from(t)));
            }
            t
        }
        fn next_u64(&mut self) -> u64 {
            rt::shuttle_schedule_push(None);
            self.0.next_u64()
        }
    }

    /// Encodes a shuttle schedule: `seed:steps`, steps run-length encoded (`3*4.1.r`).
    pub(crate) fn encode(seed: u64, steps: &[Option<usize>]) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < steps.len() {
            let mut j = i;
            while j < steps.len() && steps[j] == steps[i] {
                j += 1;
            }
            let tok = steps[i].map_or("r".to_string(), |t| t.to_string());
            parts.push(if j - i > 1 {
                format!("{tok}*{}", j - i)
            } else {
                tok
            });
            i = j;
        }
        format!("{seed:x}:{}", parts.join("."))
    }

    pub(crate) fn decode(s: &str) -> Option<Schedule> {
        let (seed, steps) = s.split_once(':')?;
        let mut sched = Schedule::new(u64::from_str_radix(seed, 16).ok()?);
        for tok in steps.split('.').filter(|t| !t.is_empty()) {
            let (t, n) = match tok.split_once('*') {
                Some((t, n)) => (t, n.parse::<usize>().ok()?),
                None => (tok, 1),
            };
            for _ in 0..n {
                if t == "r" {
                    sched.push_random();
                } else {
                    sched.push_task(TaskId::from(t.parse::<usize>().ok()?));
                }
            }
        }
        Some(sched)
    }

    fn stable_hash(s: &str) -> u64 {
        // FNV-1a: stable across runs and platforms.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in s.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }

    fn classify(msg: &str) -> &'static str {
        let m = msg.to_ascii_lowercase();
        if m.starts_with("atomicity violation") {
            "atomicity violation"
        } else if m.contains("deadlock") {
            "deadlock"
        } else if m.contains("causality violation") || m.contains("data race") {
            "data race (loom causality violation)"
        } else if m.contains("max_branches") || m.contains("maximum number of branches") {
            "exploration limit (loom max_branches)"
        } else if m.contains("assert") {
            "assertion failed"
        } else {
            "panic"
        }
    }

    struct Ctx<'a> {
        cfg: &'a Config,
        runs: Vec<BackendRun>,
        /// When the current backend started (for the failing run's time).
        started: Instant,
    }

    impl Ctx<'_> {
        fn fail(
            &mut self,
            backend: &'static str,
            strategy: String,
            payload: Box<dyn std::any::Any + Send>,
            replay: String,
        ) -> Box<Failure> {
            let trace = rt::finish_run();
            let (thread, hook_msg, location) =
                trace.failure.clone().unwrap_or((0, String::new(), None));
            let mut message = payload_msg(&*payload);
            if message.starts_with('<') && !hook_msg.is_empty() {
                message = hook_msg;
            }
            let kind = classify(&message);
            // An atomicity violation is raised by heisen at the end of the execution: the
            // report names the sections and accesses instead of a panic location.
            let (thread, location) = if trace.violation.is_some() {
                (trace.sections.first().map_or(thread, |s| s.lane), None)
            } else {
                (thread, location)
            };
            let lane_name = |l: usize| {
                format!(
                    "T{l}{}",
                    trace
                        .lane_names
                        .get(l)
                        .cloned()
                        .flatten()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default()
                )
            };
            let mut r = String::new();
            r.push_str(&format!(
                "heisen: {} FAILED under {backend} ({strategy}) in execution #{}\n\n",
                self.cfg.name,
                group(trace.executions)
            ));
            r.push_str("timeline of the failing execution (one row per step; lanes indented per thread):\n");
            r.push_str(&report::timeline(&trace.events, &trace.lane_names));
            if trace.violation.is_some() {
                r.push_str(&format!("\nfailure: {kind}\n"));
            } else {
                r.push_str(&format!(
                    "\nfailure: {kind}\n  thread:   {}\n",
                    lane_name(thread)
                ));
            }
            let internal = |l: &str| {
                l.contains("/.cargo/registry/") || l.contains("/loom-") || l.contains("/shuttle-")
            };
            if kind == "deadlock" {
                let blocked: Vec<String> = trace
                    .events
                    .iter()
                    .filter(|e| {
                        matches!(
                            e.op,
                            rt::Op::Lock {
                                acquired: false,
                                ..
                            }
                        )
                    })
                    .map(|e| {
                        format!(
                            "{} at {}",
                            lane_name(e.thread),
                            e.location
                                .map(|l| format!("{}:{}", l.file(), l.line()))
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                if !blocked.is_empty() {
                    r.push_str(&format!("  blocked:  {}\n", blocked.join("; ")));
                }
            }
            if let Some(l) = location.as_deref().filter(|l| internal(l)) {
                // Raised inside the backend (deadlock, race): point at the user's last step.
                let last = trace
                    .events
                    .iter()
                    .rev()
                    .find(|e| e.thread == thread && e.location.is_some());
                if let Some(loc) = last.and_then(|e| e.location) {
                    let text = report::source_line(loc.file(), loc.line()).unwrap_or_default();
                    r.push_str(&format!(
                        "  at:       {}:{}  │ {}\n",
                        loc.file(),
                        loc.line(),
                        text.trim()
                    ));
                }
                r.push_str(&format!("  raised by {backend} at {l}\n"));
            } else if let Some(l) = &location {
                let src = l.rsplitn(3, ':').collect::<Vec<_>>();
                let line_text = if src.len() == 3 {
                    src[1]
                        .parse()
                        .ok()
                        .and_then(|n| report::source_line(src[2], n))
                } else {
                    None
                };
                r.push_str(&format!("  at:       {l}"));
                if let Some(t) = line_text {
                    r.push_str(&format!("  │ {}", t.trim()));
                }
                r.push('\n');
            }
            if trace.violation.is_some() {
                for line in message.lines() {
                    r.push_str("  ");
                    r.push_str(line.trim_start_matches("atomicity violation: "));
                    r.push('\n');
                }
            } else {
                for (i, line) in message.lines().enumerate() {
                    r.push_str(if i == 0 {
                        "  message:  "
                    } else {
                        "            "
                    });
                    r.push_str(line);
                    r.push('\n');
                }
                // The execution failed for another reason (an assertion, a deadlock): say if
                // its critical sections also interleaved non-serializably up to that point.
                if !trace.sections.is_empty() {
                    if let Some(v) = atomicity::check(&trace.events, &trace.sections) {
                        let text = atomicity::render(&v, &trace.events, &trace.sections);
                        r.push_str("\nalso an atomicity violation in this execution:\n");
                        for line in text.lines().skip(1) {
                            r.push_str(line);
                            r.push('\n');
                        }
                    }
                }
            }
            r.push_str(&format!(
                "\nreplay ({backend}, deterministic):\n  {replay}\n"
            ));
            self.runs.push(BackendRun {
                backend,
                executions: trace.executions,
                bounded: None,
                elapsed: self.started.elapsed(),
                failed: true,
                critical_sections: trace.critical_checked,
                description: format!(
                    "{backend}: FAILED ({kind}) in execution #{} ({strategy})",
                    group(trace.executions)
                ),
            });
            Box::new(Failure {
                test: self.cfg.name.clone(),
                backend,
                kind,
                message,
                thread,
                location,
                replay,
                runs: std::mem::take(&mut self.runs),
                report: r,
                timeline: Some(Arc::new(crate::counterexample::from_trace(
                    &trace.events,
                    &trace.lane_names,
                ))),
            })
        }

        fn cmd(&self, env: &str) -> String {
            format!(
                "{env} cargo test --features heisen/model -- --exact {}",
                self.cfg.test_filter()
            )
        }

        fn run_loom(&mut self, f: &Body) -> Result<(), Box<Failure>> {
            let cfg = self.cfg;
            let mut b = loom::model::Builder::new();
            b.preemption_bound = cfg.preemption_bound;
            b.max_branches = cfg.max_branches;
            b.max_duration = Some(cfg.timeout);
            let start = Instant::now();
            self.started = start;
            rt::start_run(cfg.clock_skew);
            let g = BackendGuard::enter(Backend::Loom);
            let body = f.clone();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                b.check(move || {
                    rt::begin_execution();
                    body();
                    rt::end_execution();
                })
            }));
            drop(g);
            let elapsed = start.elapsed();
            let bound = match cfg.preemption_bound {
                Some(n) => format!("preemption bound {n}"),
                None => "no preemption bound".into(),
            };
            if let Err(p) = r {
                return Err(self.fail(
                    "loom",
                    bound,
                    p,
                    self.cmd("HEISEN_BACKEND=loom") + "\n  (loom explores in a fixed order: the same execution fails first every time)",
                ));
            }
            let trace = rt::finish_run();
            let timed_out = elapsed >= cfg.timeout;
            let bounded = if timed_out {
                Some(format!("time limit {:?} reached", cfg.timeout))
            } else {
                cfg.preemption_bound.map(|_| bound.clone())
            };
            let description = format!(
                "loom: {} execution{}, {bound}{}{}{} — {}",
                group(trace.executions),
                if trace.executions == 1 { "" } else { "s" },
                time::exploration_note(cfg.clock_skew, true),
                critical_note(trace.critical_checked),
                if timed_out {
                    format!(", time limit {:?} reached", cfg.timeout)
                } else {
                    String::new()
                },
                if bounded.is_some() {
                    "bounded"
                } else {
                    "complete"
                }
            );
            self.runs.push(BackendRun {
                backend: "loom",
                executions: trace.executions,
                bounded,
                elapsed,
                failed: false,
                critical_sections: trace.critical_checked,
                description,
            });
            Ok(())
        }

        fn shuttle_config(&self, remaining: Duration) -> shuttle::Config {
            let mut c = shuttle::Config::new();
            c.failure_persistence = shuttle::FailurePersistence::None;
            c.max_time = Some(remaining);
            c
        }

        fn run_shuttle_one<S: Scheduler + 'static>(
            &mut self,
            f: &Body,
            sched: S,
            remaining: Duration,
        ) -> Result<(u64, u64), Box<dyn std::any::Any + Send>> {
            let runner = shuttle::Runner::new(
                Recording(std::mem::ManuallyDrop::new(sched)),
                self.shuttle_config(remaining),
            );
            rt::start_run(self.cfg.clock_skew);
            let g = BackendGuard::enter(Backend::Shuttle);
            let body = f.clone();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runner.run(move || {
                    rt::begin_execution();
                    body();
                    rt::end_execution();
                })
            }));
            drop(g);
            let checked = rt::peek_critical_checked();
            r.map(|n| (n as u64, checked))
        }

        fn shuttle_fail(
            &mut self,
            strategy: String,
            p: Box<dyn std::any::Any + Send>,
        ) -> Box<Failure> {
            let encoded = rt::peek_schedule()
                .map(|(s, st)| encode(s, &st))
                .unwrap_or_default();
            let replay = self.cmd(&format!("HEISEN_REPLAY='shuttle:{encoded}'"));
            self.fail("shuttle", strategy, p, replay)
        }

        fn run_shuttle(&mut self, f: &Body) -> Result<(), Box<Failure>> {
            let cfg = self.cfg;
            let seed = cfg
                .seed
                .or_else(|| {
                    std::env::var("HEISEN_SEED")
                        .ok()
                        .and_then(|s| s.parse().ok())
                })
                .unwrap_or_else(|| stable_hash(&cfg.name));
            let start = Instant::now();
            self.started = start;
            let n = cfg.iterations;
            let jobs = cfg.effective_shuttle_jobs();
            let (random, pct, critical) = if jobs == 1 {
                self.shuttle_schedules(f, seed, n, start)?
            } else {
                // Worker k explores its share of the schedules from its own seeds, on its own
                // OS thread (shuttle and the trace recorder keep their state per thread). A
                // failure is reported by the lowest failing worker, so the report does not
                // depend on which thread finished first; its replay line is exact either way.
                let results: Vec<_> = std::thread::scope(|scope| {
                    let workers: Vec<_> = (0..jobs)
                        .map(|k| {
                            let share = n / jobs + usize::from(k < n % jobs);
                            let worker_seed = seed.wrapping_add((k as u64) << 32);
                            scope.spawn(move || {
                                let mut ctx = Ctx {
                                    cfg,
                                    runs: Vec::new(),
                                    started: start,
                                };
                                ctx.shuttle_schedules(f, worker_seed, share, start)
                            })
                        })
                        .collect();
                    workers
                        .into_iter()
                        .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                        .collect()
                });
                let mut totals = (0, 0, 0);
                for r in results {
                    let (a, b, c) = r?;
                    totals = (totals.0 + a, totals.1 + b, totals.2 + c);
                }
                totals
            };
            let elapsed = start.elapsed();
            let timed_out = (random + pct) < 2 * n as u64;
            let description = format!(
                "shuttle: {} random + {} PCT(depth {}) schedules, seed {seed}{}{}{}{} — bounded",
                group(random),
                group(pct),
                cfg.pct_depth,
                if jobs > 1 {
                    format!(" ({jobs} threads)")
                } else {
                    String::new()
                },
                time::exploration_note(cfg.clock_skew, false),
                critical_note(critical),
                if timed_out {
                    format!(", time limit {:?} reached", cfg.timeout)
                } else {
                    String::new()
                }
            );
            self.runs.push(BackendRun {
                backend: "shuttle",
                executions: random + pct,
                bounded: Some(if timed_out {
                    format!("time limit {:?} reached", cfg.timeout)
                } else {
                    format!("{} schedules sampled", random + pct)
                }),
                elapsed,
                failed: false,
                critical_sections: critical,
                description,
            });
            Ok(())
        }

        /// `n` random schedules from `seed`, then `n` PCT schedules from `seed + 1`, within
        /// what is left of the time limit since `start`: (random, PCT, critical sections
        /// checked).
        fn shuttle_schedules(
            &mut self,
            f: &Body,
            seed: u64,
            n: usize,
            start: Instant,
        ) -> Result<(u64, u64, u64), Box<Failure>> {
            let cfg = self.cfg;
            let remaining = || {
                cfg.timeout
                    .saturating_sub(start.elapsed())
                    .max(Duration::from_millis(1))
            };
            let (random, crit_random) =
                match self.run_shuttle_one(f, RandomScheduler::new_from_seed(seed, n), remaining())
                {
                    Ok(k) => k,
                    Err(p) => {
                        return Err(self.shuttle_fail(format!("random scheduler, seed {seed}"), p))
                    }
                };
            let _ = rt::finish_run();
            let (pct, crit_pct) = match self.run_shuttle_one(
                f,
                PctScheduler::new_from_seed(seed.wrapping_add(1), cfg.pct_depth, n),
                remaining(),
            ) {
                Ok(k) => k,
                Err(p) => {
                    return Err(self.shuttle_fail(
                        format!("PCT depth {}, seed {}", cfg.pct_depth, seed.wrapping_add(1)),
                        p,
                    ))
                }
            };
            let _ = rt::finish_run();
            Ok((random, pct, crit_random + crit_pct))
        }

        fn replay_shuttle(&mut self, f: &Body, encoded: &str) -> Result<(), Box<Failure>> {
            let Some(sched) = decode(encoded) else {
                panic!("heisen: HEISEN_REPLAY: cannot decode shuttle schedule {encoded:?}");
            };
            let start = Instant::now();
            self.started = start;
            let mut s = ReplayScheduler::new_from_schedule(sched);
            s.set_allow_incomplete();
            if let Err(p) = self.run_shuttle_one(f, s, self.cfg.timeout) {
                return Err(self.shuttle_fail("replay".into(), p));
            }
            let _ = rt::finish_run();
            self.runs.push(BackendRun {
                backend: "shuttle",
                executions: 1,
                bounded: Some("replay of one schedule".into()),
                elapsed: start.elapsed(),
                failed: false,
                description: "shuttle: replayed 1 schedule (HEISEN_REPLAY) — passed".into(),
                critical_sections: 0,
            });
            Ok(())
        }
    }

    pub(super) fn check(cfg: &Config, f: Body) -> Result<Summary, Box<Failure>> {
        install_hook();
        let mut ctx = Ctx {
            cfg,
            runs: Vec::new(),
            started: Instant::now(),
        };
        let only = std::env::var("HEISEN_BACKEND").ok();
        if let Some(replay) = cfg
            .replay
            .clone()
            .or_else(|| std::env::var("HEISEN_REPLAY").ok())
        {
            if let Some(enc) = replay.strip_prefix("shuttle:") {
                ctx.replay_shuttle(&f, enc)?;
                return Ok(Summary {
                    test: cfg.name.clone(),
                    runs: ctx.runs,
                    skipped: None,
                });
            }
        }
        if let Some(o) = only.as_deref() {
            if o != "loom" && o != "shuttle" {
                panic!("heisen: HEISEN_BACKEND={o:?}: expected `loom` or `shuttle`");
            }
            // Never a silent pass: the backend asked for is excluded by the test's attribute.
            let (runs_loom, runs_shuttle) =
                (cfg.loom && o == "loom", cfg.shuttle && o == "shuttle");
            if !runs_loom && !runs_shuttle {
                let only_one = if cfg.loom { "loom" } else { "shuttle" };
                return Ok(Summary {
                    test: cfg.name.clone(),
                    runs: Vec::new(),
                    skipped: Some(format!(
                        "skipped: test is {only_one}-only, HEISEN_BACKEND={o}"
                    )),
                });
            }
        }
        let want = |b: &str| only.as_deref().map_or(true, |o| o == b);
        // shuttle first: its schedules are sequentially consistent, so when both backends can
        // find a bug its counterexample reads as a plain interleaving; loom then explores
        // exhaustively (within the bound) and adds weak-memory behaviours.
        if cfg.shuttle && want("shuttle") {
            ctx.run_shuttle(&f)?;
        }
        if cfg.loom && want("loom") {
            ctx.run_loom(&f)?;
        }
        Ok(Summary {
            test: cfg.name.clone(),
            runs: ctx.runs,
            skipped: None,
        })
    }

    fn critical_note(n: u64) -> String {
        if n == 0 {
            String::new()
        } else {
            format!(", critical sections: {} instances checked", group(n))
        }
    }
}

#[cfg(all(test, feature = "model"))]
mod tests {
    #[test]
    fn schedule_encoding_round_trips() {
        let steps = vec![Some(0), Some(0), Some(0), Some(1), None, Some(2), Some(2)];
        let e = super::imp::encode(0xabc, &steps);
        assert_eq!(e, "abc:0*3.1.r.2*2");
        let s = super::imp::decode(&e).unwrap();
        assert_eq!(s.seed, 0xabc);
        assert_eq!(s.len(), steps.len());
    }
}
