//! Renderers: one [`Report`] in, one of six formats out.
//!
//! Every renderer reads only [`Report`] (findings, parse failures, summary, source texts,
//! [`Report::fingerprints`], [`Report::statistics`]) and the rule registry; none looks at
//! syntax trees. The one helper they share is [`summary_line`].

use crate::finding::Report;
use crate::rules::RuleMeta;

pub mod cargo_json;
pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod sarif_model;

/// Output format of `cargo heisen check --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// miette reports with source snippets, then parse failures, then a summary line.
    Human,
    /// JSON Lines: one object per finding / parse failure, then one summary object.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning, IDEs).
    Sarif,
    /// GitHub Actions workflow commands (`::warning file=..::..`).
    Github,
    /// GitLab Code Quality report (CodeClimate JSON subset).
    Gitlab,
    /// Markdown summary: counts per rule and the top findings (CI job summaries).
    Markdown,
    /// cargo's JSON messages (`--message-format json`; rust-analyzer, cargo tools).
    CargoJson,
}

/// Renders `report` in `format` to `out`.
///
/// `rules` is the registry (used by SARIF for `tool.driver.rules`, and by every format to
/// look up a rule's metadata). `color` only affects [`Format::Human`].
pub fn render(
    format: Format,
    report: &Report,
    rules: &[&'static RuleMeta],
    out: &mut dyn std::io::Write,
    color: bool,
) -> std::io::Result<()> {
    match format {
        Format::Human => human::render(report, rules, out, color),
        Format::Json => json::render(report, out),
        Format::Sarif => sarif::render(report, rules, out),
        Format::Github => github::render(report, out),
        Format::Gitlab => gitlab::render(report, out),
        Format::Markdown => markdown::render(report, out),
        Format::CargoJson => cargo_json::render(
            report,
            &cargo_json::Workspace::default(),
            cargo_json::Rendered::Plain,
            out,
        ),
    }
}

/// The summary line shared by the human and github formats:
///
/// `N finding(s) in M file(s) (K suppressed); X file(s) parse-failed`
///
/// Words are pluralized with a plain `s` when the number is not 1 (`1 finding in 1 file`,
/// `0 findings in 0 files`); the parenthesis and the parse-failed clause are always printed,
/// so the line is stable to grep: `^\d+ findings? in \d+ files? \(\d+ suppressed\); \d+ files? parse-failed$`.
pub fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    format!(
        "{} {} in {} {} ({} suppressed); {} {} parse-failed",
        s.findings,
        plural(s.findings, "finding"),
        s.files_with_findings,
        plural(s.files_with_findings, "file"),
        s.suppressed,
        s.parse_failed,
        plural(s.parse_failed, "file"),
    )
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

/// Looks a rule up by name.
pub(crate) fn find_rule<'a>(rules: &[&'a RuleMeta], name: &str) -> Option<(usize, &'a RuleMeta)> {
    rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.name == name)
        .map(|(i, r)| (i, *r))
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_wording() {
        let mut r = Report::default();
        assert_eq!(
            summary_line(&r),
            "0 findings in 0 files (0 suppressed); 0 files parse-failed"
        );
        r.summary.findings = 1;
        r.summary.files_with_findings = 1;
        r.summary.parse_failed = 1;
        r.summary.suppressed = 3;
        assert_eq!(
            summary_line(&r),
            "1 finding in 1 file (3 suppressed); 1 file parse-failed"
        );
    }
}
