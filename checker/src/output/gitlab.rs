//! GitLab Code Quality report (`artifacts:reports:codequality`): the subset of the
//! CodeClimate JSON format that GitLab reads, as one JSON array.
//!
//! ```text
//! [{"description": "atomic-load-store: `balance` is stored … (help: use …)",
//!   "check_name": "atomic-load-store",
//!   "fingerprint": "0123456789abcdef",          // super::fingerprints: unique per report
//!   "severity": "minor",                         // warn → minor, deny → major
//!   "location": {"path": "src/bank.rs", "lines": {"begin": 6}}}]
//! ```
//!
//! Parse failures are reported as `check_name: "parse-error"`, severity `major`, with a
//! fingerprint derived from the file and message. GitLab needs paths relative to the
//! repository root: run the check from there (or in workspace mode with the workspace at the
//! repository root).

use crate::finding::{Level, Report};
use crate::hash::Fnv1a64;
use serde_json::{json, Value};

/// CodeClimate severity of a heisen level.
pub fn severity(level: Level) -> &'static str {
    match level {
        Level::Deny => "major",
        Level::Warn => "minor",
        Level::Allow => "info",
    }
}

/// Builds the report as a JSON value.
pub fn to_value(report: &Report) -> Value {
    let fps = report.fingerprints();
    let mut issues: Vec<Value> = report
        .findings
        .iter()
        .zip(&fps)
        .map(|(f, fp)| {
            json!({
                "description": format!("{}: {} (help: {})", f.rule, f.message, f.help),
                "check_name": f.rule,
                "fingerprint": fp,
                "severity": severity(f.level),
                "location": {
                    "path": f.file.replace('\\', "/"),
                    "lines": { "begin": f.region.line.max(1) },
                },
            })
        })
        .collect();
    for p in &report.parse_failures {
        let mut h = Fnv1a64::new();
        h.write_str("heisen/parse-error");
        h.write_str(&p.file);
        h.write_str(&p.message);
        issues.push(json!({
            "description": format!("parse-error: could not parse: {}", p.message),
            "check_name": "parse-error",
            "fingerprint": format!("{:016x}", h.finish()),
            "severity": "major",
            "location": {
                "path": p.file.replace('\\', "/"),
                "lines": { "begin": p.line.max(1) },
            },
        }));
    }
    Value::Array(issues)
}

/// Renders the Code Quality report, pretty-printed, followed by a newline.
pub fn render(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(report)).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_support;

    #[test]
    fn snapshot() {
        let v = to_value(&test_support::report());
        let issues = v.as_array().unwrap();
        assert_eq!(issues.len(), 3);
        for i in issues {
            // The fields GitLab requires.
            for key in ["description", "check_name", "fingerprint", "severity"] {
                assert!(i[key].is_string(), "{key} in {i}");
            }
            assert!(i["location"]["path"].is_string());
            assert!(i["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
        }
        let mut out = Vec::new();
        render(&test_support::report(), &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
