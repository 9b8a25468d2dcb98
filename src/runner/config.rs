//! How one model test is explored: [`Config`] and its defaults.

use std::time::Duration;

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
/// Default number of `heisen::tokio` timers that may fire early (while a task can still run)
/// per execution: one, so a timer racing running work is explored while loom's executions
/// grow about linearly with the await points where it could fire.
pub const DEFAULT_MAX_EARLY_TIMERS: usize = 1;

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
    /// `#[should_panic(expected = "..")]`: text the failure's report must contain.
    pub expected_message: Option<String>,
    /// Bound of every model thread's wall-clock skew (`heisen::time::SystemTime::now()`);
    /// zero = all threads read the model's true time.
    pub clock_skew: Duration,
    /// OS threads the shuttle schedules are spread over; `None` = `HEISEN_SHUTTLE_JOBS`
    /// (a number, or `0` for one per core), else 1.
    pub shuttle_jobs: Option<usize>,
    /// Network faults `heisen::net` may inject (`#[heisen::model(net_faults = "..",
    /// max_net_faults = N)]`); none by default.
    pub net_faults: crate::net::Faults,
    /// How many `heisen::tokio` timers may fire early per execution, as an explored choice at
    /// an await point where another task could still run (`#[heisen::model(max_early_timers
    /// = N)]`); `0` = timers fire only when no task can run.
    pub max_early_timers: usize,
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
            expected_message: None,
            clock_skew: Duration::ZERO,
            shuttle_jobs: None,
            net_faults: crate::net::Faults::NONE,
            max_early_timers: DEFAULT_MAX_EARLY_TIMERS,
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
    /// Sets the network faults `heisen::net` may inject in every execution
    /// (`#[heisen::model(net_faults = "drop, duplicate, reorder", max_net_faults = 2)]`).
    pub fn net_faults(mut self, faults: crate::net::Faults) -> Self {
        self.net_faults = faults;
        self
    }
    /// Sets how many `heisen::tokio` timers may fire early per execution
    /// (`#[heisen::model(max_early_timers = N)]`; `0` = only when no task can run).
    pub fn max_early_timers(mut self, n: usize) -> Self {
        self.max_early_timers = n;
        self
    }
    /// Marks the test as expected to fail (`#[should_panic]`).
    pub fn expect_failure(mut self) -> Self {
        self.expect_failure = true;
        self
    }
    /// Marks the test as expected to fail with a report containing `text`
    /// (`#[should_panic(expected = "text")]`).
    pub fn expect_failure_containing(mut self, text: impl Into<String>) -> Self {
        self.expect_failure = true;
        self.expected_message = Some(text.into());
        self
    }
    /// The libtest name (module path without the crate name).
    pub fn test_filter(&self) -> &str {
        self.name.split_once("::").map_or(&self.name, |(_, r)| r)
    }
}
