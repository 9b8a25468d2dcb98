//! A failing execution: the panic hook that records it, and the counterexample report.

use super::imp::Ctx;
use super::*;
use crate::model::report;
use crate::model::rt;

/// Installs heisen's panic hook once. Inside a model run it records the panic in the trace
/// and prints nothing (the report shows it); elsewhere it defers to the hook that was
/// there before, bypassing shuttle's hook (which prints "Task failed" for any panic).
pub(super) fn install_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let original = std::panic::take_hook();
        // Let shuttle install its process-wide hook now (it wraps the current one, so give
        // it a silent one), so that ours is outermost and can bypass it.
        std::panic::set_hook(Box::new(|_| {}));
        ::shuttle::check_random(|| {}, 1);
        let shuttle_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = payload_msg(info.payload());
            let loc = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            if let Some(note) = rt::abort_note(&msg) {
                // the process aborts when this hook returns: report what there is now
                super::abort_report(&note);
                return;
            }
            if rt::note_panic(msg, loc) {
                return;
            }
            if ::shuttle::current::try_get_current_task().is_some() {
                // A user's direct shuttle test: keep shuttle's schedule printing.
                shuttle_hook(info);
            }
            original(info);
        }));
    });
}

pub(super) fn classify(msg: &str) -> &'static str {
    let m = msg.to_ascii_lowercase();
    if m.starts_with("atomicity violation") {
        "atomicity violation"
    } else if m.starts_with("not linearizable") {
        "not linearizable"
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

impl Ctx<'_> {
    pub(super) fn fail(
        &mut self,
        backend: &'static str,
        strategy: String,
        payload: Box<dyn std::any::Any + Send>,
        replay: String,
    ) -> Box<Failure> {
        let trace = rt::finish_failed_run();
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
        let r = report::failure_report(
            &report::FailureText {
                test: &self.cfg.name,
                backend,
                strategy: &strategy,
                kind,
                message: &message,
                thread,
                location: location.as_deref(),
                replay: &replay,
                shuttle_passed: self
                    .runs
                    .iter()
                    .find(|r| r.backend == "shuttle" && !r.failed)
                    .map(|r| r.executions),
            },
            &trace,
        );
        self.runs.push(BackendRun {
            backend,
            executions: trace.executions,
            bounded: None,
            elapsed: self.started.elapsed(),
            failed: true,
            critical_sections: trace.critical_checked,
            warning: None,
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

    pub(super) fn cmd(&self, env: &str) -> String {
        format!(
            "{env} cargo test --features heisen/model -- --exact {}",
            self.cfg.test_filter()
        )
    }
}
