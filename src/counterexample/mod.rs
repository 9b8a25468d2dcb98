//! The counterexample of a failing model test as data: the structured timeline (one step per
//! recorded operation, per thread lane), written as JSON and as a self-contained HTML page.
//!
//! With `HEISEN_REPORT_DIR=dir` set, a failing `#[heisen::model]` test writes
//! `dir/<test>.json` and `dir/<test>.html` next to its text report (`cargo heisen model
//! --html dir` sets the variable; `cargo heisen model --format sarif` reads the JSON). `<test>`
//! is the test's name as heisen prints it (`model::in_memory_buggy`, the crate first) with
//! `::` turned into `.`, prefixed with the package name when the crate is not the package's
//! own (an integration test: `parallel_withdrawal.model.in_memory_buggy`); characters other
//! than letters, digits, `_`, `-` and `.` become `_`.
//!
//! The JSON (version 1; fields are only ever added):
//!
//! ```text
//! {"version":1,"test":"model::in_memory_buggy","filter":"in_memory_buggy","package":"parallel_withdrawal",
//!  "status":"FAIL",                 // or "xfail": a #[should_panic] test that failed as expected
//!  "backend":"shuttle","kind":"panic","message":"…","thread":0,
//!  "location":{"file":"parallel_withdrawal/tests/model.rs","line":12,"column":5},   // or null
//!  "headline":"heisen: model::in_memory_buggy FAILED under shuttle (…) in execution #1",
//!  "replay":"HEISEN_REPLAY='shuttle:…' cargo test --features heisen/model -- --exact in_memory_buggy",
//!  "lanes":[{"id":0,"name":"main"},{"id":1,"name":null}],
//!  "steps":[{"index":2,"thread":0,"op":"load","text":"load balance = 100 (SeqCst)",
//!            "object":"balance","value":"100","old":null,"ordering":"SeqCst",
//!            "file":"parallel_withdrawal/src/buggy.rs","line":28,"column":33,
//!            "source":"let balance = self.balance.load(SeqCst);",
//!            "stale_latest":null,  // the latest store's value when this load read an older one
//!            "blocked":false,      // a lock request never granted (deadlock)
//!            "panic":false}, …],
//!  "report":"<the text report>"}
//! ```
//!
//! `text` and `source` are the text report's own (one description per step, shared with
//! it); the other fields are read from the recorded operation.

mod html;

use std::fmt::Write as _;

/// One model thread (lane 0 = the test body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lane {
    /// Lane number (`T<id>`).
    pub id: usize,
    /// Thread name (`main` for lane 0, a `Builder::name`), if any.
    pub name: Option<String>,
}

impl Lane {
    /// `T1` or `T0 (main)`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("T{} ({n})", self.id),
            None => format!("T{}", self.id),
        }
    }
}

/// One recorded operation of the failing execution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// 1-based position in the timeline.
    pub index: usize,
    /// Lane of the thread that ran it.
    pub thread: usize,
    /// Operation kind (`load`, `store`, `rmw`, `cas`, `lock`, `spawn`, `panic`, …).
    pub op: String,
    /// The text report's description of the step.
    pub text: String,
    /// The object's name as the source spells it (`balance`).
    pub object: Option<String>,
    /// Value read or written (after a read-modify-write; observed by a failed CAS).
    pub value: Option<String>,
    /// Value before a read-modify-write, or the value a CAS expected.
    pub old: Option<String>,
    /// Memory ordering of an atomic operation or fence.
    pub ordering: Option<String>,
    /// Source location (`file` as `Location::file()` names it).
    pub file: Option<String>,
    /// 1-based line (0 without a location).
    pub line: u32,
    /// 1-based column (0 without a location).
    pub column: u32,
    /// The source line, trimmed.
    pub source: Option<String>,
    /// A load that read an older value than the latest store in timeline order (weak
    /// memory): that store's value.
    pub stale_latest: Option<String>,
    /// A lock request that was never granted.
    pub blocked: bool,
    /// The failing panic.
    pub panic: bool,
}

/// The timeline of the failing execution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    /// Every lane, in lane order.
    pub lanes: Vec<Lane>,
    /// Every step, in timeline order.
    pub steps: Vec<Step>,
}

/// Everything the JSON and HTML files show.
#[derive(Clone, Debug)]
pub struct Counterexample<'a> {
    /// The failure (test, backend, kind, message, thread, location, replay, report).
    pub failure: &'a crate::runner::Failure,
    /// `FAIL`, or `xfail` for a test expected to fail.
    pub status: &'a str,
    /// Package of the test (`CARGO_PKG_NAME` at run time), if known.
    pub package: Option<String>,
    /// The structured timeline.
    pub timeline: &'a Timeline,
    /// The source line of the failure's location, if readable.
    pub at_source: Option<String>,
}

impl Counterexample<'_> {
    /// First line of the text report: the test, the backend and strategy, the execution.
    pub fn headline(&self) -> &str {
        self.failure.report.lines().next().unwrap_or("")
    }

    /// `(file, line, column)` of the failure, when known.
    pub fn location(&self) -> Option<(&str, u32, u32)> {
        let l = self.failure.location.as_deref()?;
        let mut parts = l.rsplitn(3, ':');
        let column = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        Some((parts.next()?, line, column))
    }

    /// The file name (without extension) of this counterexample's files (see the module
    /// docs).
    pub fn file_stem(&self) -> String {
        let test = &self.failure.test;
        let krate = test.split("::").next().unwrap_or("");
        let mut stem = test.replace("::", ".");
        if let Some(p) = &self.package {
            if p.replace('-', "_") != krate {
                stem = format!("{p}.{stem}");
            }
        }
        stem.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// The libtest name (`in_memory_buggy`).
    pub fn filter(&self) -> &str {
        let t = &self.failure.test;
        t.split_once("::").map_or(t.as_str(), |(_, r)| r)
    }

    /// The JSON document (see the module docs).
    pub fn to_json(&self) -> String {
        let f = self.failure;
        let mut o = String::from("{\"version\":1");
        field(&mut o, "test", &json_str(&f.test));
        field(&mut o, "filter", &json_str(self.filter()));
        field(&mut o, "package", &json_opt(self.package.as_deref()));
        field(&mut o, "status", &json_str(self.status));
        field(&mut o, "backend", &json_str(f.backend));
        field(&mut o, "kind", &json_str(f.kind));
        field(&mut o, "message", &json_str(&f.message));
        field(&mut o, "thread", &f.thread.to_string());
        let loc = match self.location() {
            Some((file, line, column)) => format!(
                "{{\"file\":{},\"line\":{line},\"column\":{column}}}",
                json_str(file)
            ),
            None => "null".to_string(),
        };
        field(&mut o, "location", &loc);
        field(&mut o, "headline", &json_str(self.headline()));
        field(&mut o, "replay", &json_str(&f.replay));
        let lanes: Vec<String> = self
            .timeline
            .lanes
            .iter()
            .map(|l| {
                format!(
                    "{{\"id\":{},\"name\":{}}}",
                    l.id,
                    json_opt(l.name.as_deref())
                )
            })
            .collect();
        field(&mut o, "lanes", &format!("[{}]", lanes.join(",")));
        let steps: Vec<String> = self.timeline.steps.iter().map(step_json).collect();
        field(&mut o, "steps", &format!("[{}]", steps.join(",\n")));
        field(&mut o, "report", &json_str(&f.report));
        o.push_str("}\n");
        o
    }

    /// The HTML page (see [`html`]).
    pub fn to_html(&self) -> String {
        html::page(self)
    }

    /// Writes `dir/<stem>.json` and `dir/<stem>.html`; returns the HTML file's path.
    pub fn write(&self, dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
        std::fs::create_dir_all(dir)?;
        let stem = self.file_stem();
        std::fs::write(dir.join(format!("{stem}.json")), self.to_json())?;
        let page = dir.join(format!("{stem}.html"));
        std::fs::write(&page, self.to_html())?;
        Ok(page)
    }
}

/// Called by the test runner for a failing test: with `HEISEN_REPORT_DIR` set and a
/// structured timeline (model builds), writes the files and says where on stderr; a failure
/// to write is a warning, never a changed test result.
pub(crate) fn write_for(failure: &crate::runner::Failure, status: &str) {
    let (Some(dir), Some(timeline)) = (
        std::env::var_os("HEISEN_REPORT_DIR").filter(|d| !d.is_empty()),
        failure.timeline.as_deref(),
    ) else {
        return;
    };
    let cx = Counterexample {
        failure,
        status,
        package: std::env::var("CARGO_PKG_NAME").ok(),
        timeline,
        at_source: None,
    };
    #[cfg(feature = "model")]
    let cx = Counterexample {
        at_source: cx
            .location()
            .and_then(|(file, line, _)| crate::model::report::source_line(file, line)),
        ..cx
    };
    match cx.write(std::path::Path::new(&dir)) {
        Ok(page) => eprintln!("heisen: counterexample page: {}", page.display()),
        Err(e) => eprintln!(
            "heisen: warning: cannot write the counterexample to {}: {e}",
            std::path::Path::new(&dir).display()
        ),
    }
}

fn field(o: &mut String, name: &str, value: &str) {
    let _ = write!(o, ",\"{name}\":{value}");
}

fn step_json(s: &Step) -> String {
    let mut o = format!("{{\"index\":{}", s.index);
    field(&mut o, "thread", &s.thread.to_string());
    field(&mut o, "op", &json_str(&s.op));
    field(&mut o, "text", &json_str(&s.text));
    field(&mut o, "object", &json_opt(s.object.as_deref()));
    field(&mut o, "value", &json_opt(s.value.as_deref()));
    field(&mut o, "old", &json_opt(s.old.as_deref()));
    field(&mut o, "ordering", &json_opt(s.ordering.as_deref()));
    field(&mut o, "file", &json_opt(s.file.as_deref()));
    field(&mut o, "line", &s.line.to_string());
    field(&mut o, "column", &s.column.to_string());
    field(&mut o, "source", &json_opt(s.source.as_deref()));
    field(&mut o, "stale_latest", &json_opt(s.stale_latest.as_deref()));
    field(&mut o, "blocked", &s.blocked.to_string());
    field(&mut o, "panic", &s.panic.to_string());
    o.push('}');
    o
}

/// A JSON string literal.
pub(crate) fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "null".to_string(), json_str)
}

/// The structured timeline of a model trace.
#[cfg(feature = "model")]
pub(crate) fn from_trace(
    events: &[crate::model::rt::Event],
    lane_names: &[Option<String>],
) -> Timeline {
    use crate::model::report;
    use crate::model::rt::Op;
    use std::collections::HashMap;
    let rows = report::rows(events);
    let names = report::object_names(events);
    // Latest value stored to each object in timeline order, as the text report flags stale
    // loads.
    let mut latest: HashMap<usize, crate::model::rt::Val> = HashMap::new();
    let mut steps = Vec::with_capacity(events.len());
    for (i, ((e, (lane, text, _, snippet)), object)) in
        events.iter().zip(rows).zip(names).enumerate()
    {
        let mut s = Step {
            index: i + 1,
            thread: lane,
            op: op_kind(&e.op),
            text,
            object: object.filter(|_| e.object.is_some()),
            ordering: e.ordering.map(|o| format!("{o:?}")),
            file: e.location.map(|l| l.file().to_string()),
            line: e.location.map_or(0, |l| l.line()),
            column: e.location.map_or(0, |l| l.column()),
            source: Some(snippet).filter(|s| !s.is_empty()),
            ..Step::default()
        };
        match &e.op {
            Op::Load(v) => {
                s.value = Some(v.to_string());
                s.stale_latest = e
                    .object
                    .and_then(|o| latest.get(&o))
                    .filter(|w| *w != v)
                    .map(|w| w.to_string());
            }
            Op::Store(v) => s.value = Some(v.to_string()),
            Op::Rmw(_, old, new) => {
                s.old = Some(old.to_string());
                s.value = Some(new.to_string());
            }
            Op::Cas {
                expected,
                new,
                result,
            } => {
                s.old = Some(expected.to_string());
                s.value = Some(match result {
                    Ok(_) => new.to_string(),
                    Err(actual) => actual.to_string(),
                });
            }
            Op::Lock { kind, acquired } => {
                s.blocked = !acquired && !kind.starts_with("try_lock");
            }
            Op::Panic(_) => s.panic = true,
            _ => {}
        }
        report::track_latest(&mut latest, e);
        steps.push(s);
    }
    let n = steps
        .iter()
        .map(|s| s.thread + 1)
        .max()
        .unwrap_or(1)
        .max(lane_names.len());
    Timeline {
        lanes: (0..n)
            .map(|id| Lane {
                id,
                name: lane_names.get(id).cloned().flatten(),
            })
            .collect(),
        steps,
    }
}

/// The operation's kind: its variant name in kebab case (`SectionEnter` → `section-enter`),
/// so that a new kind of operation needs no change here.
#[cfg(feature = "model")]
fn op_kind(op: &crate::model::rt::Op) -> String {
    let debug = format!("{op:?}");
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or("");
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_everything_json_requires() {
        assert_eq!(json_str("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\u0001é\"");
    }
}
