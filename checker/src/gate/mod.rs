//! The CI / pre-merge gate: narrowing a [`Report`] to what a change introduced, and acting on
//! it.
//!
//! - [`baseline`]: `--write-baseline` / `--baseline` — accept today's findings, report only
//!   findings not in the baseline (matched by content, not line numbers).
//! - [`diff`]: `--new-from-rev` / `--new-from-patch` — report only findings on changed lines
//!   (unified diffs parsed here; git runs as a subprocess).
//! - [`fix`]: `--fix` — apply every reported finding's mechanical [`crate::finding::Fix`].
//!
//! All of them run after the engine (on the filtered, leveled report) and before rendering.

use crate::finding::{Finding, Report};
use std::collections::BTreeSet;

pub mod baseline;
pub mod diff;
pub mod fix;

/// Keeps the findings for which `keep(index, finding)` is true and updates the summary's
/// finding and file counts. Returns how many were removed.
pub fn retain_findings(
    report: &mut Report,
    mut keep: impl FnMut(usize, &Finding) -> bool,
) -> usize {
    let before = report.findings.len();
    let mut i = 0;
    report.findings.retain(|f| {
        let k = keep(i, f);
        i += 1;
        k
    });
    report.summary.findings = report.findings.len();
    report.summary.files_with_findings = report
        .findings
        .iter()
        .map(|f| f.file.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    before - report.findings.len()
}

/// The `--statistics` table: `count  rule  group  level`, one line per rule (see
/// [`Report::statistics`]), then the summary line.
pub fn render_statistics(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let stats = report.statistics();
    let width = stats.iter().map(|(r, _)| r.len()).max().unwrap_or(4).max(4);
    let cw = stats
        .iter()
        .map(|(_, n)| n.to_string().len())
        .max()
        .unwrap_or(5)
        .max(5);
    writeln!(out, "{:>cw$}  {:width$}  group", "count", "rule")?;
    for (rule, n) in &stats {
        let group = crate::rules::find(rule)
            .map(|m| m.group.as_str())
            .unwrap_or("");
        writeln!(out, "{n:>cw$}  {rule:width$}  {group}")?;
    }
    writeln!(out, "{}", crate::output::summary_line(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_support;

    #[test]
    fn statistics_sorted_by_count_then_name() {
        let mut report = test_support::report();
        report.findings.push(report.findings[1].clone());
        assert_eq!(
            report.statistics(),
            [("wall-clock-ordering", 2), ("atomic-load-store", 1)]
        );
        let mut out = Vec::new();
        render_statistics(&report, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("count  rule"), "{s}");
        assert!(s.contains("    2  wall-clock-ordering  wall-clock"), "{s}");
    }

    #[test]
    fn retain_updates_counts() {
        let mut report = test_support::report();
        let removed = retain_findings(&mut report, |_, f| f.file == "src/bank.rs");
        assert_eq!(removed, 1);
        assert_eq!(report.summary.findings, 1);
        assert_eq!(report.summary.files_with_findings, 1);
    }
}
