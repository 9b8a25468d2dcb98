//! A failing execution: the panic hook that records it, and the counterexample report.

use super::imp::Ctx;
use super::*;
use crate::model::rt;
use crate::model::{atomicity, report};

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
        r.push_str(
            "timeline of the failing execution (one row per step; lanes indented per thread):\n",
        );
        r.push_str(&report::timeline(&trace.events, &trace.lane_names));
        if trace.violation.is_some() {
            r.push_str(&format!("\nfailure: {kind}\n"));
        } else {
            r.push_str(&format!(
                "\nfailure: {kind}\n  thread:   {}\n",
                lane_name(thread)
            ));
        }
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
        if let Some(l) = location.as_deref().filter(|l| rt::raised_by_backend(l)) {
            // Raised inside the backend (deadlock, race): point at the operation it was
            // raised in (the PANIC row carries it), else at the user's last step.
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
        })
    }

    pub(super) fn cmd(&self, env: &str) -> String {
        format!(
            "{env} cargo test --features heisen/model -- --exact {}",
            self.cfg.test_filter()
        )
    }
}
