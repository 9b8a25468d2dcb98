//! Running a model test: the engine behind `#[heisen::model]`, usable directly for harness
//! tests that want to inspect a failure (`heisen::runner::check`).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod config;
pub use config::{
    Config, DEFAULT_ITERATIONS, DEFAULT_MAX_BRANCHES, DEFAULT_MAX_EARLY_TIMERS, DEFAULT_PCT_DEPTH,
    DEFAULT_PREEMPTION_BOUND, DEFAULT_TIMEOUT,
};
#[cfg(feature = "model")]
mod failure;
#[cfg(feature = "model")]
mod loom;
#[cfg(feature = "model")]
mod schedule;
#[cfg(feature = "model")]
mod shuttle;

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
    /// Something about the run that suggests the test explored less than it seems to, e.g.
    /// `loom: 1 execution for 2 threads — the threads never overlapped; ..`.
    pub warning: Option<String>,
}

impl BackendRun {
    /// How much of its space the run explored, as the summary file says it: `complete` (every
    /// distinct execution was explored and no bound cut any), `bounded` (a bound or the time
    /// limit may have left executions out: the description says which) or `failed`.
    pub fn explored(&self) -> &'static str {
        if self.failed {
            "failed"
        } else if self.bounded.is_some() {
            "bounded"
        } else {
            "complete"
        }
    }

    /// The lines a run prints: `heisen: <test>: <description> (<time>)`, then its warning.
    fn summary_lines(&self, test: &str) -> String {
        let mut out = format!(
            "heisen: {test}: {} ({:.2?})\n",
            self.description, self.elapsed
        );
        if let Some(w) = &self.warning {
            out.push_str(&format!("heisen: {test}: warning: {w}\n"));
        }
        out
    }
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
            f.write_str(&r.summary_lines(&self.test))?;
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

/// `12,345`: a count as summaries and reports print it.
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

/// Appends the runs to `HEISEN_SUMMARY_FILE`, each with its own result: `failed_status`
/// (`FAIL` or `xfail`) for the run that found the failure, `pass` for the others; one `skipped`
/// line when nothing ran.
fn write_summary_file(test: &str, runs: &[BackendRun], failed_status: &str, skipped: Option<&str>) {
    use std::io::Write;
    let Ok(path) = std::env::var("HEISEN_SUMMARY_FILE") else {
        return;
    };
    let mut buf = String::new();
    for r in runs {
        buf.push_str(&format!(
            "{test}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            r.backend,
            r.executions,
            r.explored(),
            if r.failed { failed_status } else { "pass" },
            r.elapsed.as_millis(),
            r.description,
            r.warning.as_deref().unwrap_or("")
        ));
    }
    if let Some(why) = skipped.filter(|_| runs.is_empty()) {
        buf.push_str(&format!("{test}\t-\t0\t-\tskipped\t0\t{why}\t\n"));
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
    let outer = RUNNING.with(|r| r.replace(Some(cfg.name.clone())));
    let r = imp::check(cfg, Arc::new(f));
    RUNNING.with(|r| *r.borrow_mut() = outer);
    r
}

thread_local! {
    /// The test whose model runs on this thread (for [`abort_report`]).
    static RUNNING: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The run is about to abort (a panic while unwinding from its failure, see
/// `rt::abort_note`): prints the report and appends a `FAIL` line for the backend to the
/// summary file, since `run_test` will never return.
#[cfg(feature = "model")]
fn abort_report(note: &str) {
    let test = RUNNING
        .try_with(|r| r.borrow().clone())
        .ok()
        .flatten()
        .unwrap_or_default();
    let backend = match crate::model::rt::backend() {
        crate::model::rt::Backend::Loom => "loom",
        _ => "shuttle",
    };
    // straight to the process's stderr: libtest's output capture would be lost in the abort
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("heisen: {test} FAILED under {backend}; the process aborts\n\n{note}").as_bytes(),
    );
    write_summary_file(
        &test,
        &[BackendRun {
            backend,
            executions: 0,
            bounded: None,
            elapsed: Duration::ZERO,
            failed: true,
            critical_sections: 0,
            description: format!(
                "{backend}: a panic while unwinding from the failure aborted the process"
            ),
            warning: None,
        }],
        "FAIL",
        None,
    );
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
    // `#[heisen::model]` takes `#[should_panic]` over from libtest, so that a skipped test is
    // `ok` for libtest whether or not a failure was expected.
    match result {
        Ok(s) => {
            print!("{s}");
            match &s.skipped {
                // Never a silent pass: the summary says `skipped`, and so does the output.
                Some(why) => write_summary_file(&s.test, &[], "", Some(why)),
                None => {
                    write_summary_file(&s.test, &s.runs, "", None);
                    if cfg.expect_failure {
                        panic!(
                            "heisen: {}: #[should_panic] test did not fail: every backend passed",
                            s.test
                        );
                    }
                }
            }
        }
        Err(fail) => {
            // Each backend's result as it was: a backend that passed before another failed.
            for r in fail.runs.iter().filter(|r| !r.failed) {
                print!("{}", r.summary_lines(&fail.test));
            }
            let status = if cfg.expect_failure { "xfail" } else { "FAIL" };
            write_summary_file(&fail.test, &fail.runs, status, None);
            crate::counterexample::write_for(&fail, status);
            if cfg.expect_failure {
                match &cfg.expected_message {
                    Some(m) if !fail.report.contains(m.as_str()) => panic!(
                        "heisen: {}: the failure does not contain the #[should_panic] text\n  \
                         expected: {m:?}\n\n{}",
                        fail.test, fail.report
                    ),
                    _ => {
                        // The counterexample is still the point of the test: print it (libtest
                        // shows a passing test's output only with --nocapture, which is how
                        // examples/demo.sh shows the withdrawal's timeline).
                        print!("{}", fail.report);
                        println!(
                            "heisen: {}: failed as expected (#[should_panic]) under {}: {}",
                            fail.test, fail.backend, fail.kind
                        );
                        return;
                    }
                }
            }
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
        crate::model::rt::with_current_events(crate::model::report::timeline).unwrap_or_default()
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
            failed: r.is_err(),
            critical_sections: 0,
            warning: None,
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
    use super::failure::install_hook;
    use super::*;
    use crate::model::atomicity;
    use crate::model::rt::{self, Backend};

    pub(super) struct Ctx<'a> {
        pub(super) cfg: &'a Config,
        pub(super) runs: Vec<BackendRun>,
        /// When the current backend started (for the failing run's time).
        pub(super) started: Instant,
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

    /// What a backend cannot express of what the test used (see the crate guide, "Limits to
    /// know"): one clause per limit the run ran into.
    pub(super) fn limits_note(backend: Backend, used: rt::Used) -> String {
        let mut out = String::new();
        match backend {
            Backend::Loom => {
                if used.notify_one {
                    out.push_str(
                        ", Condvar::notify_one always wakes the first waiter under loom \
                         (shuttle explores which waiter wakes)",
                    );
                }
            }
            Backend::Shuttle => {
                if used.weak_ordering {
                    out.push_str(
                        ", every atomic ran as SeqCst (weak-memory behaviours of the weaker \
                         orderings used are loom's job)",
                    );
                }
                if used.futures {
                    out.push_str(", futures are never polled spuriously under shuttle");
                }
            }
            Backend::Std => {}
        }
        out
    }

    /// `, ≤ 1 early timer firing per execution` when a `heisen::tokio` timer could fire
    /// early in the run (and, under loom, where the choice's oracle did not fit).
    pub(super) fn early_timer_note(backend: Backend, used: rt::Used, max: usize) -> String {
        if !used.early_timers {
            return String::new();
        }
        let mut out = format!(
            ", ≤ {max} early timer firing{} per execution",
            if max == 1 { "" } else { "s" }
        );
        if backend == Backend::Loom && used.early_timers_capped {
            out.push_str(" (none where its oracle thread would exceed loom's 5 threads)");
        }
        out
    }

    /// End of one execution's body: the atomicity check of its critical sections (if any);
    /// a violation fails the execution (panics).
    pub(super) fn end_execution() {
        let verdict = rt::end_execution(|events, sections| {
            let v = atomicity::check(events, sections)?;
            Some(atomicity::render(&v, events, sections))
        });
        if let Some(text) = verdict {
            std::panic::panic_any(text);
        }
    }

    pub(super) fn critical_note(n: u64) -> String {
        if n == 0 {
            String::new()
        } else {
            format!(", critical sections: {} instances checked", group(n))
        }
    }
}
