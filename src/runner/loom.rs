//! The loom backend: bounded DPOR exploration of one model test.

use super::imp::{critical_note, early_timer_note, end_execution, limits_note, Ctx};
use super::*;
use crate::model::rt::{self, Backend, BackendGuard};
use crate::model::time;

impl Ctx<'_> {
    pub(super) fn run_loom(&mut self, f: &Body) -> Result<(), Box<Failure>> {
        let cfg = self.cfg;
        let mut b = ::loom::model::Builder::new();
        b.preemption_bound = cfg.preemption_bound;
        b.max_branches = cfg.max_branches;
        b.max_duration = Some(cfg.timeout);
        let start = Instant::now();
        self.started = start;
        rt::start_run(cfg.clock_skew);
        rt::set_net_faults(cfg.net_faults);
        rt::set_early_timers(cfg.max_early_timers);
        let g = BackendGuard::enter(Backend::Loom);
        let body = f.clone();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            b.check(move || {
                rt::begin_execution();
                body();
                end_execution();
            })
        }));
        drop(g);
        // the last execution's tracked blocks and raw `Arc` counts hold loom objects: never
        // dropped outside the run (see `alloc::begin_execution`)
        crate::model::alloc::begin_execution();
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
        // loom's first execution never preempts, and the bound only drops a backtracking
        // point of an execution that already used all its preemptions: when the first
        // execution is the only one under a bound of at least 1, no bound dropped anything
        // (an unbounded run explores that one execution too).
        let only_schedule = trace.executions == 1 && cfg.preemption_bound != Some(0);
        let bounded = if timed_out {
            Some(format!("time limit {:?} reached", cfg.timeout))
        } else if only_schedule {
            None
        } else {
            cfg.preemption_bound.map(|_| bound.clone())
        };
        let threads = trace.lane_names.len();
        let description = format!(
            "loom: {} execution{}, {bound}{}{}{}{}{}{}{} — {}",
            group(trace.executions),
            if trace.executions == 1 { "" } else { "s" },
            if only_schedule && cfg.preemption_bound.is_some() {
                " (no other schedule to explore)"
            } else {
                ""
            },
            time::exploration_note(cfg.clock_skew, true),
            crate::net::exploration_note(cfg.net_faults),
            critical_note(trace.critical_checked),
            limits_note(Backend::Loom, trace.used),
            early_timer_note(Backend::Loom, trace.used, cfg.max_early_timers),
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
        // Two threads whose operations loom never had to reorder: the reader ran entirely
        // before the writer (or they share nothing), which a test meant to race rarely is.
        let warning = (only_schedule && !timed_out && threads >= 2).then(|| {
            format!(
                "loom: 1 execution for {threads} threads — the threads never overlapped; \
                 is the test shaped to race?"
            )
        });
        self.runs.push(BackendRun {
            backend: "loom",
            executions: trace.executions,
            bounded,
            elapsed,
            failed: false,
            critical_sections: trace.critical_checked,
            description,
            warning,
        });
        Ok(())
    }
}
