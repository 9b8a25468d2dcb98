//! The shuttle backend: random and PCT schedules (over one or more OS threads), and replay.

use super::imp::{critical_note, early_timer_note, end_execution, limits_note, Ctx};
use super::schedule::{decode, encode, stable_hash, Recording, Seen, Stop};
use super::*;
use crate::model::rt::{self, Backend, BackendGuard};
use crate::model::time;
use ::shuttle::scheduler::{PctScheduler, RandomScheduler, ReplayScheduler, Scheduler};

/// One shuttle phase (random or PCT) that passed.
pub(super) struct Phase {
    executions: u64,
    critical: u64,
    seen: Seen,
    used: rt::Used,
}

/// The shuttle phases of one or more workers.
#[derive(Default)]
pub(super) struct Totals {
    random: u64,
    pct: u64,
    critical: u64,
    used: rt::Used,
    /// The first execution had no choice to make: it is the only one (no PCT).
    deterministic: bool,
    /// PCT stopped after an execution in which no two threads were runnable together.
    pct_without_concurrency: bool,
    timed_out: bool,
}

impl Totals {
    fn add(&mut self, o: Totals) {
        self.random += o.random;
        self.pct += o.pct;
        self.critical += o.critical;
        self.used = self.used.or(o.used);
        self.deterministic &= o.deterministic;
        self.pct_without_concurrency |= o.pct_without_concurrency;
        self.timed_out |= o.timed_out;
    }
}

impl Ctx<'_> {
    pub(super) fn shuttle_config(&self, remaining: Duration) -> ::shuttle::Config {
        let mut c = ::shuttle::Config::new();
        c.failure_persistence = ::shuttle::FailurePersistence::None;
        c.max_time = Some(remaining);
        c
    }

    pub(super) fn run_shuttle_one<S: Scheduler + 'static>(
        &mut self,
        f: &Body,
        sched: S,
        stop: Stop,
        remaining: Duration,
    ) -> Result<Phase, Box<dyn std::any::Any + Send>> {
        let (sched, seen) = Recording::new(sched, stop);
        let runner = ::shuttle::Runner::new(sched, self.shuttle_config(remaining));
        rt::start_run(self.cfg.clock_skew);
        rt::set_net_faults(self.cfg.net_faults);
        rt::set_early_timers(self.cfg.max_early_timers);
        let g = BackendGuard::enter(Backend::Shuttle);
        let body = f.clone();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runner.run(move || {
                rt::begin_execution();
                body();
                end_execution();
            })
        }));
        drop(g);
        let n = r? as u64;
        let trace = rt::finish_run();
        let seen = seen.lock().map(|s| *s).unwrap_or_default();
        Ok(Phase {
            executions: n,
            critical: trace.critical_checked,
            seen,
            used: trace.used,
        })
    }

    pub(super) fn shuttle_fail(
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

    pub(super) fn run_shuttle(&mut self, f: &Body) -> Result<(), Box<Failure>> {
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
        let t = if jobs == 1 {
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
            let mut totals = Totals {
                deterministic: true,
                ..Totals::default()
            };
            for r in results {
                totals.add(r?);
            }
            totals
        };
        let elapsed = start.elapsed();
        let mut notes = format!(
            "{}{}{}{}{}",
            time::exploration_note(cfg.clock_skew, false),
            crate::net::exploration_note(cfg.net_faults),
            critical_note(t.critical),
            limits_note(Backend::Shuttle, t.used),
            early_timer_note(Backend::Shuttle, t.used, cfg.max_early_timers)
        );
        if t.timed_out {
            notes.push_str(&format!(", time limit {:?} reached", cfg.timeout));
        }
        let (executions, bounded, description) = if t.deterministic {
            // No choice in the first execution: every schedule is that execution.
            (
                1,
                None,
                format!("shuttle: 1 execution, no concurrency{notes} — complete"),
            )
        } else {
            let bounded = if t.timed_out {
                format!("time limit {:?} reached", cfg.timeout)
            } else {
                format!("{} schedules sampled", t.random + t.pct)
            };
            let description = format!(
                "shuttle: {} random + {} PCT(depth {}) schedules, seed {seed}{}{}{notes} — bounded",
                group(t.random),
                group(t.pct),
                cfg.pct_depth,
                if jobs > 1 {
                    format!(" ({jobs} threads)")
                } else {
                    String::new()
                },
                if t.pct_without_concurrency {
                    " (PCT stopped: no two threads were ever runnable together)"
                } else {
                    ""
                },
            );
            (t.random + t.pct, Some(bounded), description)
        };
        self.runs.push(BackendRun {
            backend: "shuttle",
            executions,
            bounded,
            elapsed,
            failed: false,
            critical_sections: t.critical,
            description,
            warning: None,
        });
        Ok(())
    }

    /// `n` random schedules from `seed`, then `n` PCT schedules from `seed + 1`, within
    /// what is left of the time limit since `start`. A body whose first execution had no
    /// choice to make runs once (and no PCT); PCT stops after an execution in which no two
    /// threads were runnable together.
    pub(super) fn shuttle_schedules(
        &mut self,
        f: &Body,
        seed: u64,
        n: usize,
        start: Instant,
    ) -> Result<Totals, Box<Failure>> {
        let cfg = self.cfg;
        let remaining = || {
            cfg.timeout
                .saturating_sub(start.elapsed())
                .max(Duration::from_millis(1))
        };
        let random = match self.run_shuttle_one(
            f,
            RandomScheduler::new_from_seed(seed, n),
            Stop::Deterministic,
            remaining(),
        ) {
            Ok(k) => k,
            Err(p) => return Err(self.shuttle_fail(format!("random scheduler, seed {seed}"), p)),
        };
        let mut t = Totals {
            random: random.executions,
            critical: random.critical,
            used: random.used,
            deterministic: random.seen.stopped && random.executions == 1,
            timed_out: !random.seen.stopped && random.executions < n as u64,
            ..Totals::default()
        };
        if t.deterministic {
            return Ok(t);
        }
        let pct = match self.run_shuttle_one(
            f,
            PctScheduler::new_from_seed(seed.wrapping_add(1), cfg.pct_depth, n),
            Stop::NoConcurrency,
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
        t.pct = pct.executions;
        t.critical += pct.critical;
        t.used = t.used.or(pct.used);
        t.pct_without_concurrency = pct.seen.stopped;
        t.timed_out |= !pct.seen.stopped && pct.executions < n as u64;
        Ok(t)
    }

    pub(super) fn replay_shuttle(&mut self, f: &Body, encoded: &str) -> Result<(), Box<Failure>> {
        let Some(sched) = decode(encoded) else {
            panic!("heisen: HEISEN_REPLAY: cannot decode shuttle schedule {encoded:?}");
        };
        let start = Instant::now();
        self.started = start;
        let mut s = ReplayScheduler::new_from_schedule(sched);
        s.set_allow_incomplete();
        if let Err(p) = self.run_shuttle_one(f, s, Stop::Never, self.cfg.timeout) {
            return Err(self.shuttle_fail("replay".into(), p));
        }
        self.runs.push(BackendRun {
            backend: "shuttle",
            executions: 1,
            bounded: Some("replay of one schedule".into()),
            elapsed: start.elapsed(),
            failed: false,
            description: "shuttle: replayed 1 schedule (HEISEN_REPLAY) — passed".into(),
            critical_sections: 0,
            warning: None,
        });
        Ok(())
    }
}
