//! Baselines: `--write-baseline FILE` records the current findings, `--baseline FILE` reports
//! only findings that are not in it.
//!
//! A finding's baseline identity ([`key`]) is the hash of its base fingerprint
//! ([`crate::finding::Finding::base_fingerprint`]: rule, file path, whitespace-normalized text of the
//! flagged lines) and the name of its enclosing function ([`Finding::function`]). Line
//! numbers are not part of it, so inserting or deleting unrelated lines, reformatting, or
//! moving the function within its file keeps the finding matched; editing the flagged lines,
//! renaming the function or the file makes it new.
//!
//! Matching is by multiset: a baseline with two entries of the same key hides up to two
//! findings with that key (e.g. a statement repeated in one function). Baseline entries that
//! matched no finding are counted as *fixed* — the hazard was removed (or its lines edited),
//! and rewriting the baseline drops them.
//!
//! File format (JSON, pretty-printed, entries sorted by file, line, rule so that diffs of a
//! committed baseline are readable):
//!
//! ```text
//! {"heisen_baseline": 1,
//!  "entries": [{"key": "0123456789abcdef", "rule": "atomic-load-store", "file": "src/bank.rs",
//!               "function": "Bank::withdraw", "line": 13, "message": "…"}]}
//! ```
//!
//! Only `key` is used for matching; `rule`, `file`, `function`, `line` and `message` are for
//! people reading the file (and for the per-rule count of fixed entries).

use super::retain_findings;
use crate::finding::{Finding, Report};
use crate::hash::Fnv1a64;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The format version written to and expected in `heisen_baseline`.
pub const VERSION: u32 = 1;

/// A baseline file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub heisen_baseline: u32,
    pub entries: Vec<Entry>,
}

/// One recorded finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    pub rule: String,
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default)]
    pub line: usize,
    #[serde(default)]
    pub message: String,
}

/// The baseline identity of a finding, as 16 hex digits (see the module docs). A leading
/// `./` of the path is ignored (`check .` and `check src/` name the same file differently).
pub fn key(finding: &Finding, source: Option<&str>) -> String {
    let stripped;
    let finding = match finding.file.strip_prefix("./") {
        Some(rest) => {
            stripped = Finding {
                file: rest.to_string(),
                ..finding.clone()
            };
            &stripped
        }
        None => finding,
    };
    let mut h = Fnv1a64::new();
    h.write(&finding.base_fingerprint(source).to_le_bytes());
    h.write_str(finding.function.as_deref().unwrap_or(""));
    format!("{:016x}", h.finish())
}

fn key_in(report: &Report, f: &Finding) -> String {
    key(f, report.sources.get(&f.file).map(|s| &**s))
}

impl Baseline {
    /// A baseline of every finding of `report`.
    pub fn from_report(report: &Report) -> Baseline {
        let mut entries: Vec<Entry> = report
            .findings
            .iter()
            .map(|f| Entry {
                key: key_in(report, f),
                rule: f.rule.to_string(),
                file: f
                    .file
                    .strip_prefix("./")
                    .unwrap_or(&f.file)
                    .replace('\\', "/"),
                function: f.function.clone(),
                line: f.region.line,
                message: f.message.clone(),
            })
            .collect();
        entries.sort_by(|a, b| (&a.file, a.line, &a.rule).cmp(&(&b.file, b.line, &b.rule)));
        Baseline {
            heisen_baseline: VERSION,
            entries,
        }
    }

    /// Writes the baseline as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let mut json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        json.push('\n');
        std::fs::write(path, json)
            .map_err(|e| format!("cannot write baseline `{}`: {e}", path.display()))
    }

    /// Reads a baseline. A missing, unreadable or malformed file is an error (the gate must
    /// not silently report everything, nor nothing).
    pub fn read(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read baseline `{}`: {e} (create it with `cargo heisen check --write-baseline {}`)",
                path.display(),
                path.display()
            )
        })?;
        let b: Baseline = serde_json::from_str(&text).map_err(|e| {
            format!(
                "baseline `{}` is not a heisen baseline: {e} (rewrite it with --write-baseline)",
                path.display()
            )
        })?;
        if b.heisen_baseline != VERSION {
            return Err(format!(
                "baseline `{}` has format version {}, this heisen reads version {VERSION} (rewrite it with --write-baseline)",
                path.display(),
                b.heisen_baseline
            ));
        }
        Ok(b)
    }
}

/// What [`apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Findings hidden because the baseline has them.
    pub hidden: usize,
    /// Baseline entries that matched no finding (their hazard is gone).
    pub fixed: usize,
}

/// Removes every finding of `report` that the baseline has (multiset matching by [`key`]).
pub fn apply(report: &mut Report, baseline: &Baseline) -> Applied {
    let mut remaining: HashMap<&str, usize> = HashMap::new();
    for e in &baseline.entries {
        *remaining.entry(e.key.as_str()).or_default() += 1;
    }
    let keys: Vec<String> = report.findings.iter().map(|f| key_in(report, f)).collect();
    let hidden = retain_findings(report, |i, _| match remaining.get_mut(keys[i].as_str()) {
        Some(n) if *n > 0 => {
            *n -= 1;
            false
        }
        _ => true,
    });
    Applied {
        hidden,
        fixed: remaining.values().sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_support;
    use std::sync::Arc;

    #[test]
    fn survives_unrelated_edits_and_counts_fixed() {
        let report = test_support::report();
        let baseline = Baseline::from_report(&report);
        assert_eq!(baseline.entries.len(), 2);
        // The same findings two lines further down, after an inserted comment.
        let mut moved = report.clone();
        for f in &mut moved.findings {
            f.region.line += 2;
            f.region.end_line += 2;
        }
        for (_, text) in moved.sources.iter_mut() {
            *text = Arc::from(format!("// new\n\n{text}"));
        }
        let applied = apply(&mut moved, &baseline);
        assert_eq!(
            applied,
            Applied {
                hidden: 2,
                fixed: 0
            }
        );
        assert!(moved.findings.is_empty());
        assert_eq!(moved.summary.findings, 0);

        // One finding fixed, one new one in another function.
        let mut changed = report.clone();
        changed.findings.remove(1);
        let mut new = changed.findings[0].clone();
        new.function = Some("other".into());
        changed.findings.push(new);
        let applied = apply(&mut changed, &baseline);
        assert_eq!(
            applied,
            Applied {
                hidden: 1,
                fixed: 1
            }
        );
        assert_eq!(changed.findings.len(), 1);
        assert_eq!(changed.findings[0].function.as_deref(), Some("other"));
    }

    #[test]
    fn leading_dot_slash_is_ignored() {
        let report = test_support::report();
        let f = &report.findings[0];
        let dotted = Finding {
            file: format!("./{}", f.file),
            ..f.clone()
        };
        let src = report.sources.get(&f.file).map(|s| &**s);
        assert_eq!(key(f, src), key(&dotted, src));
    }

    #[test]
    fn repeated_findings_are_matched_as_a_multiset() {
        let mut report = test_support::report();
        report.findings.truncate(1);
        let baseline = Baseline::from_report(&report);
        let mut twice = report.clone();
        twice.findings.push(report.findings[0].clone());
        let applied = apply(&mut twice, &baseline);
        assert_eq!(
            applied,
            Applied {
                hidden: 1,
                fixed: 0
            }
        );
        assert_eq!(twice.findings.len(), 1);
    }

    #[test]
    fn read_write_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        let b = Baseline::from_report(&test_support::report());
        b.write(&path).unwrap();
        assert_eq!(Baseline::read(&path).unwrap(), b);
        let missing = Baseline::read(&dir.path().join("nope.json")).unwrap_err();
        assert!(missing.contains("cannot read baseline"), "{missing}");
        std::fs::write(&path, "{\"heisen_baseline\": 1, \"entr").unwrap();
        assert!(Baseline::read(&path)
            .unwrap_err()
            .contains("not a heisen baseline"));
        std::fs::write(&path, "[1, 2]").unwrap();
        assert!(Baseline::read(&path).is_err());
        std::fs::write(&path, "{\"heisen_baseline\": 9, \"entries\": []}").unwrap();
        assert!(Baseline::read(&path).unwrap_err().contains("version 9"));
    }
}
