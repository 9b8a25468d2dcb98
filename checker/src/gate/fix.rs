//! `--fix`: applies the mechanical [`Fix`] of every reported finding, in place.
//!
//! Only the exact text of each fix's region is replaced; every other byte of the file
//! (including line endings and a missing final newline) stays as it was. Fixes of one file are
//! applied together, from the end of the file to its start. A fix whose region overlaps an
//! earlier fix (by start position) is refused and counted — run `--fix` again after reviewing
//! the first round. A file that changed on disk since it was scanned is left alone.

use super::retain_findings;
use crate::finding::{Fix, Report};
use crate::source::byte_offset;
use std::collections::BTreeMap;
use std::path::Path;

/// What `--fix` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Fixes written.
    pub applied: usize,
    /// Files rewritten.
    pub files: usize,
    /// Fixes refused because they overlap another fix.
    pub overlapping: usize,
    /// Errors (file changed since the scan, cannot write), one line each.
    pub errors: Vec<String>,
}

/// Applies `fixes` to `text`. Returns the new text and, per fix (in the given order),
/// whether it was applied; overlapping fixes are refused (`false`). Identical fixes (same
/// region, same replacement) count as applied once each.
pub fn apply_to_text(text: &str, fixes: &[&Fix]) -> (String, Vec<bool>) {
    let mut spans: Vec<(usize, usize, usize)> = fixes
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let r = f.region;
            let start = byte_offset(text, r.line, r.column);
            let end = byte_offset(text, r.end_line, r.end_column).max(start);
            (start, end, i)
        })
        .collect();
    spans.sort();
    let mut applied = vec![false; fixes.len()];
    let mut accepted: Vec<(usize, usize, usize)> = Vec::new();
    for (start, end, i) in spans {
        if let Some(&(ps, pe, pi)) = accepted.last() {
            if (ps, pe) == (start, end) && fixes[pi].replacement == fixes[i].replacement {
                applied[i] = true;
                continue;
            }
            // Overlap; two insertions at the same point also conflict (order unknown).
            if start < pe || (start == ps && start == end) {
                continue;
            }
        }
        accepted.push((start, end, i));
        applied[i] = true;
    }
    let mut out = text.to_string();
    for &(start, end, i) in accepted.iter().rev() {
        out.replace_range(start..end, &fixes[i].replacement);
    }
    (out, applied)
}

/// Applies the fixes of every finding of `report` to the files under `root` and removes the
/// fixed findings from the report (their summary counts included).
pub fn apply(report: &mut Report, root: &Path) -> Outcome {
    let mut outcome = Outcome::default();
    let mut by_file: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, f) in report.findings.iter().enumerate() {
        if f.fix.is_some() {
            by_file.entry(f.file.clone()).or_default().push(i);
        }
    }
    let mut fixed = vec![false; report.findings.len()];
    for (file, idxs) in by_file {
        let path = root.join(&file);
        let Some(scanned) = report.sources.get(&file) else {
            continue;
        };
        match std::fs::read_to_string(&path) {
            Ok(now) if now == **scanned => {}
            _ => {
                outcome.errors.push(format!(
                    "{file}: changed since it was scanned; not fixed (run again)"
                ));
                continue;
            }
        }
        let fixes: Vec<&Fix> = idxs
            .iter()
            .filter_map(|&i| report.findings[i].fix.as_ref())
            .collect();
        let (text, applied) = apply_to_text(scanned, &fixes);
        let n = applied.iter().filter(|a| **a).count();
        outcome.overlapping += applied.len() - n;
        if n == 0 {
            continue;
        }
        if let Err(e) = std::fs::write(&path, text) {
            outcome.errors.push(format!("{file}: cannot write: {e}"));
            continue;
        }
        outcome.applied += n;
        outcome.files += 1;
        for (&i, &a) in idxs.iter().zip(&applied) {
            fixed[i] = a;
        }
    }
    retain_findings(report, |i, _| !fixed[i]);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Group, Level, Region};
    use std::sync::Arc;

    fn fix(line: usize, column: usize, end_column: usize, replacement: &str) -> Fix {
        Fix {
            region: Region {
                line,
                column,
                end_line: line,
                end_column,
            },
            replacement: replacement.into(),
        }
    }

    #[test]
    fn replaces_only_the_regions() {
        let text = "a.store(v, Relaxed);\r\n  b.load(Relaxed) // ü\r\nc";
        let f1 = fix(1, 12, 19, "Release");
        let f2 = fix(2, 10, 17, "Acquire");
        let (out, applied) = apply_to_text(text, &[&f2, &f1]);
        assert_eq!(out, "a.store(v, Release);\r\n  b.load(Acquire) // ü\r\nc");
        assert_eq!(applied, [true, true]);
    }

    #[test]
    fn refuses_overlaps_and_merges_duplicates() {
        let text = "x.fetch_add(1, Relaxed);\n";
        let whole = fix(1, 1, 24, "y");
        let inner = fix(1, 16, 23, "SeqCst");
        let dup = fix(1, 16, 23, "SeqCst");
        let (out, applied) = apply_to_text(text, &[&inner, &whole, &dup]);
        // `whole` starts first, so it wins; `inner` and its duplicate overlap it.
        assert_eq!(out, "y;\n");
        assert_eq!(applied, [false, true, false]);
        let (out, applied) = apply_to_text(text, &[&inner, &dup]);
        assert_eq!(out, "x.fetch_add(1, SeqCst);\n");
        assert_eq!(applied, [true, true]);
    }

    #[test]
    fn rewrites_files_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let text = "fn f(a: &AtomicBool) {\n    a.store(true, Ordering::Relaxed);\n}\n// tail without newline";
        std::fs::write(dir.path().join("lib.rs"), text).unwrap();
        let finding = Finding {
            rule: "relaxed-publication",
            group: Group::MemoryOrdering,
            level: Level::Warn,
            file: "lib.rs".into(),
            region: Region {
                line: 2,
                column: 5,
                end_line: 2,
                end_column: 37,
            },
            message: "m".into(),
            help: "h".into(),
            labels: vec![],
            fix: Some(fix(2, 19, 36, "Ordering::Release")),
            function: Some("f".into()),
        };
        let mut report = Report::default();
        report.findings.push(finding.clone());
        report.findings.push(Finding {
            fix: None,
            ..finding
        });
        report.summary.findings = 2;
        report
            .sources
            .insert("lib.rs".into(), Arc::<str>::from(text));
        let outcome = apply(&mut report, dir.path());
        assert_eq!(outcome.applied, 1);
        assert_eq!(outcome.files, 1);
        assert!(outcome.errors.is_empty());
        assert_eq!(report.findings.len(), 1, "the fixed finding is gone");
        assert_eq!(report.summary.findings, 1);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("lib.rs")).unwrap(),
            text.replace("Ordering::Relaxed", "Ordering::Release")
        );
        // A file changed since the scan is not touched.
        std::fs::write(dir.path().join("lib.rs"), "changed").unwrap();
        let mut again = Report::default();
        again.findings.push(Finding {
            fix: Some(fix(1, 1, 2, "x")),
            ..report.findings[0].clone()
        });
        again
            .sources
            .insert("lib.rs".into(), Arc::<str>::from(text));
        let outcome = apply(&mut again, dir.path());
        assert_eq!(outcome.applied, 0);
        assert_eq!(outcome.errors.len(), 1);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("lib.rs")).unwrap(),
            "changed"
        );
    }
}
