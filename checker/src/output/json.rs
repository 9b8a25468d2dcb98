//! JSON Lines output: one JSON object per line, in this order: every finding (report
//! order: file, position, rule), every parse failure, then exactly one summary object.
//!
//! Schema (version 1; fields are only ever added, never renamed or removed):
//!
//! ```text
//! {"kind":"finding",
//!  "rule":"atomic-load-store",        // kebab-case rule name
//!  "group":"lost-update",             // lost-update | wall-clock | memory-ordering | retry | meta
//!  "level":"warn",                    // warn | deny
//!  "file":"src/bank.rs",              // relative to the workspace root, `/` separators as given
//!  "line":6,"column":5,               // 1-based; columns count Unicode scalar values
//!  "end_line":6,"end_column":49,      // 1-based; end_column is exclusive
//!  "message":"…","help":"…",
//!  "labels":[{"line":5,"column":13,"end_line":5,"end_column":43,"message":"loaded here",
//!             "file":"src/other.rs"}], // "file" only when the label is in another file
//!  "fix":{"line":6,"column":5,"end_line":6,"end_column":49,"replacement":"…"}, // optional
//!  "function":"Bank::deposit",        // optional: the enclosing fn (`Type::method` or `name`)
//!  "fingerprint":"0123456789abcdef"}  // 16 hex digits, stable across unrelated edits
//!
//! {"kind":"parse-error","file":"src/broken.rs","line":3,"column":7,"message":"…"}
//!                                     // line/column 0 when the failure has no location
//!
//! {"kind":"summary","findings":2,"files_with_findings":2,"files_scanned":5,
//!  "suppressed":1,"parse_failed":1}
//! ```
//!
//! `fingerprint` is described in [`Report::fingerprints`].

use crate::finding::{Group, Level, Report};
use serde::Serialize;

#[derive(Serialize)]
struct FindingLine<'a> {
    kind: &'static str,
    rule: &'a str,
    group: Group,
    level: Level,
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
    help: &'a str,
    labels: Vec<LabelLine<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<FixLine<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    function: Option<&'a str>,
    fingerprint: &'a str,
}

#[derive(Serialize)]
struct LabelLine<'a> {
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
}

#[derive(Serialize)]
struct FixLine<'a> {
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    replacement: &'a str,
}

#[derive(Serialize)]
struct ParseErrorLine<'a> {
    kind: &'static str,
    file: &'a str,
    line: usize,
    column: usize,
    message: &'a str,
}

#[derive(Serialize)]
struct SummaryLine {
    kind: &'static str,
    findings: usize,
    files_with_findings: usize,
    files_scanned: usize,
    suppressed: usize,
    parse_failed: usize,
}

fn write_line<T: Serialize>(out: &mut dyn std::io::Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

/// Renders the JSON Lines format (schema in the module docs).
pub fn render(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let fps = report.fingerprints();
    for (f, fp) in report.findings.iter().zip(&fps) {
        let line = FindingLine {
            kind: "finding",
            rule: f.rule,
            group: f.group,
            level: f.level,
            file: &f.file,
            line: f.region.line,
            column: f.region.column,
            end_line: f.region.end_line,
            end_column: f.region.end_column,
            message: &f.message,
            help: &f.help,
            labels: f
                .labels
                .iter()
                .map(|l| LabelLine {
                    line: l.region.line,
                    column: l.region.column,
                    end_line: l.region.end_line,
                    end_column: l.region.end_column,
                    message: &l.message,
                    file: l.file.as_deref(),
                })
                .collect(),
            fix: f.fix.as_ref().map(|x| FixLine {
                line: x.region.line,
                column: x.region.column,
                end_line: x.region.end_line,
                end_column: x.region.end_column,
                replacement: &x.replacement,
            }),
            function: f.function.as_deref(),
            fingerprint: fp,
        };
        write_line(out, &line)?;
    }
    for p in &report.parse_failures {
        write_line(
            out,
            &ParseErrorLine {
                kind: "parse-error",
                file: &p.file,
                line: p.line,
                column: p.column,
                message: &p.message,
            },
        )?;
    }
    let s = &report.summary;
    write_line(
        out,
        &SummaryLine {
            kind: "summary",
            findings: s.findings,
            files_with_findings: s.files_with_findings,
            files_scanned: s.files_scanned,
            suppressed: s.suppressed,
            parse_failed: s.parse_failed,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_support;

    #[test]
    fn snapshot() {
        let mut out = Vec::new();
        render(&test_support::report(), &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        // Every line is a standalone JSON object with a kind.
        let kinds: Vec<String> = s
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["kind"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(kinds, ["finding", "finding", "parse-error", "summary"]);
        insta::assert_snapshot!(s);
    }
}
