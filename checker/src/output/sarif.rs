//! SARIF 2.1.0 output, suitable for GitHub code scanning (`upload-sarif`).
//!
//! - `runs[0].tool.driver`: name `heisen`, `informationUri`, `version` (the crate version)
//!   and `rules`: every rule of the registry with `id`, `shortDescription` (the summary),
//!   `fullDescription` and `help` (the doc comment, as text and markdown),
//!   `defaultConfiguration.level` (`warn` → `warning`, `deny` → `error`, `allow` → `none`)
//!   and `properties.tags` (`concurrency` and the group).
//! - `runs[0].results`: one per finding: `ruleId`, `ruleIndex` (when the rule is in the
//!   registry), `level`, `message.text` (`<message>` + newline + `help: <help>`), one
//!   location (artifact `uri` relative to `%SRCROOT%`, forward slashes, percent-encoded;
//!   absolute paths become `file://` URIs without a base id), `region` with 1-based,
//!   end-exclusive columns counted in Unicode code points (`runs[0].columnKind`),
//!   `relatedLocations` for labels, and `partialFingerprints."heisen/v1"` (see
//!   [`Report::fingerprints`]).
//! - parse failures: `runs[0].invocations[0].toolExecutionNotifications` (level `error`,
//!   descriptor id `parse-error`); `executionSuccessful` stays `true` because the rest of the
//!   scan ran.

use super::find_rule;
use crate::finding::{Level, Region, Report};
use crate::rules::RuleMeta;
use serde_json::{json, Value};

/// Where the project documents its rules.
pub const INFORMATION_URI: &str = "https://example.invalid/heisen";

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// SARIF level of a heisen level.
pub fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Deny => "error",
        Level::Warn => "warning",
        Level::Allow => "none",
    }
}

/// An artifact location for `path`: relative paths get `uriBaseId: %SRCROOT%`.
pub(crate) fn artifact_location(path: &str) -> Value {
    let p = path.replace('\\', "/");
    let p = p.strip_prefix("./").unwrap_or(&p);
    let absolute = p.starts_with('/') || p.as_bytes().get(1) == Some(&b':');
    if absolute {
        let prefix = if p.starts_with('/') {
            "file://"
        } else {
            "file:///"
        };
        json!({ "uri": format!("{prefix}{}", percent_encode(p)) })
    } else {
        json!({ "uri": percent_encode(p), "uriBaseId": "%SRCROOT%" })
    }
}

/// Percent-encodes everything except RFC 3986 unreserved characters, `/` and `:`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A SARIF region; lines and columns are clamped to ≥ 1 and the end to ≥ the start.
pub(crate) fn region(r: Region) -> Value {
    let r = r.clamped();
    json!({
        "startLine": r.line,
        "startColumn": r.column,
        "endLine": r.end_line,
        "endColumn": r.end_column,
    })
}

fn rule_descriptor(rule: &RuleMeta) -> Value {
    let doc = rule.doc();
    json!({
        "id": rule.name,
        "name": rule.name,
        "shortDescription": { "text": rule.summary },
        "fullDescription": { "text": doc, "markdown": doc },
        "help": { "text": doc, "markdown": doc },
        "helpUri": format!("{INFORMATION_URI}#{}", rule.name),
        "defaultConfiguration": { "level": sarif_level(rule.default_level) },
        "properties": { "tags": ["concurrency", rule.group.as_str()] },
    })
}

/// A lost update's steps as one thread flow: each label (the read, the check) in source
/// order, then the write (the finding's own region), each a `threadFlowLocation` with its
/// message, so that code scanning shows "read here → written here". Only the lost-update
/// group: its labels are earlier steps of the same thread, which is what a thread flow says;
/// other rules' labels are related places, not steps.
fn code_flow(f: &crate::finding::Finding) -> Option<Value> {
    if f.group != crate::finding::Group::LostUpdate || f.labels.is_empty() {
        return None;
    }
    let mut steps: Vec<(&str, Region, &str)> = f
        .labels
        .iter()
        .map(|l| {
            (
                l.file.as_deref().unwrap_or(&f.file),
                l.region,
                l.message.as_str(),
            )
        })
        .collect();
    steps.sort_by_key(|(file, r, _)| (*file != f.file, *r));
    steps.push((&f.file, f.region, f.message.as_str()));
    let locations: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(i, (file, r, message))| {
            json!({
                "location": {
                    "physicalLocation": {
                        "artifactLocation": artifact_location(file),
                        "region": region(*r),
                    },
                    "message": { "text": message },
                },
                "executionOrder": i + 1,
                "importance": "essential",
            })
        })
        .collect();
    Some(json!({
        "message": { "text": format!(
            "one thread reads, then writes ({} steps); a write by another thread in between is lost",
            locations.len()
        ) },
        "threadFlows": [{ "locations": locations }],
    }))
}

/// Builds the SARIF log as a JSON value.
pub fn to_value(report: &Report, rules: &[&'static RuleMeta]) -> Value {
    let fps = report.fingerprints();
    let results: Vec<Value> = report
        .findings
        .iter()
        .zip(&fps)
        .map(|(f, fp)| {
            let related: Vec<Value> = f
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    json!({
                        "id": i + 1,
                        "physicalLocation": {
                            "artifactLocation": artifact_location(l.file.as_deref().unwrap_or(&f.file)),
                            "region": region(l.region),
                        },
                        "message": { "text": l.message },
                    })
                })
                .collect();
            let mut result = json!({
                "ruleId": f.rule,
                "level": sarif_level(f.level),
                "message": { "text": format!("{}\nhelp: {}", f.message, f.help) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact_location(&f.file),
                        "region": region(f.region),
                    }
                }],
                "partialFingerprints": { "heisen/v1": fp },
            });
            if let Some((index, _)) = find_rule(rules, f.rule) {
                result["ruleIndex"] = json!(index);
            }
            if !related.is_empty() {
                result["relatedLocations"] = Value::Array(related);
            }
            if let Some(flow) = code_flow(f) {
                result["codeFlows"] = json!([flow]);
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = report
        .parse_failures
        .iter()
        .map(|p| {
            let mut physical = json!({ "artifactLocation": artifact_location(&p.file) });
            if p.line > 0 {
                physical["region"] = json!({
                    "startLine": p.line,
                    "startColumn": p.column.max(1),
                });
            }
            json!({
                "level": "error",
                "descriptor": { "id": "parse-error" },
                "message": { "text": format!("could not parse {}: {}", p.file, p.message) },
                "locations": [{ "physicalLocation": physical }],
            })
        })
        .collect();
    log(
        "heisen",
        rules.iter().map(|r| rule_descriptor(r)).collect(),
        json!({
            "executionSuccessful": true,
            "toolExecutionNotifications": notifications,
        }),
        results,
    )
}

/// A SARIF log of one run of the tool `name` (heisen's version) with these rule descriptors,
/// invocation and results.
pub(crate) fn log(name: &str, rules: Vec<Value>, invocation: Value, results: Vec<Value>) -> Value {
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": name,
                    "informationUri": INFORMATION_URI,
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "invocations": [invocation],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

/// Renders the SARIF log, pretty-printed, followed by a newline.
pub fn render(
    report: &Report,
    rules: &[&'static RuleMeta],
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(report, rules))
        .map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_support;

    #[test]
    fn snapshot() {
        let report = test_support::report();
        let v = to_value(&report, &test_support::rules());
        let run = &v["runs"][0];
        assert_eq!(v["version"], "2.1.0");
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 3);
        assert_eq!(
            run["tool"]["driver"]["rules"][2]["defaultConfiguration"]["level"],
            "none"
        );
        assert_eq!(run["results"][1]["ruleIndex"], 1);
        assert_eq!(run["results"][1]["level"], "error");
        assert_eq!(
            run["results"][1]["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "src/model.rs"
        );
        assert_eq!(
            run["invocations"][0]["toolExecutionNotifications"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let mut out = Vec::new();
        render(&report, &test_support::rules(), &mut out).unwrap();
        let s = String::from_utf8(out)
            .unwrap()
            .replace(env!("CARGO_PKG_VERSION"), "[version]");
        insta::assert_snapshot!(s);
    }

    #[test]
    fn uris() {
        assert_eq!(artifact_location("src\\a b.rs")["uri"], "src/a%20b.rs");
        assert_eq!(artifact_location("./src/a.rs")["uriBaseId"], "%SRCROOT%");
        assert_eq!(artifact_location("/abs/x.rs")["uri"], "file:///abs/x.rs");
        assert!(artifact_location("/abs/x.rs").get("uriBaseId").is_none());
        assert_eq!(artifact_location("C:\\x\\y.rs")["uri"], "file:///C:/x/y.rs");
        assert_eq!(artifact_location("src/ü.rs")["uri"], "src/%C3%BC.rs");
    }

    #[test]
    fn regions_are_clamped() {
        let r = region(Region {
            line: 0,
            column: 0,
            end_line: 0,
            end_column: 0,
        });
        assert_eq!(
            r,
            json!({"startLine":1,"startColumn":1,"endLine":1,"endColumn":1})
        );
    }
}
