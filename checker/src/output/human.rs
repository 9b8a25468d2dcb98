//! Human output: one miette graphical report per finding, then parse failures, then the
//! summary line ([`super::summary_line`]).
//!
//! Each report shows:
//! - header: the diagnostic code `heisen::<rule>` and the message;
//! - a snippet of the finding's file with the primary span (the finding's region, no text)
//!   and every label of the finding that lies in the same file;
//! - `help:` the concrete fix, followed by note lines:
//!   `note: see <file>:<line>:<col>: <message>` for labels in *other* files,
//!   `note: rule <rule> (group <group>, level <level>)`, and `note: fix available` when the
//!   finding carries a mechanical [`crate::finding::Fix`].
//!
//! When the finding's source text is not in [`Report::sources`], the snippet is replaced by
//! a `note: at <file>:<line>:<col>` line.
//!
//! Colour: with `color`, miette's unicode theme with ANSI styles; without, its ASCII theme
//! with no styles (output contains no escape sequences). Width is fixed at 100 columns so
//! output does not depend on the terminal.

use super::summary_line;
use crate::finding::{Finding, Level, Report};
use crate::rules::RuleMeta;
use crate::source::byte_offset;
use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, Severity,
    SourceSpan,
};
use std::fmt;

/// Renders the human format.
pub fn render(
    report: &Report,
    _rules: &[&'static RuleMeta],
    out: &mut dyn std::io::Write,
    color: bool,
) -> std::io::Result<()> {
    let handler = handler(color);
    for finding in &report.findings {
        out.write_all(render_with(&handler, finding, report).as_bytes())?;
        writeln!(out)?;
    }
    for failure in &report.parse_failures {
        if failure.line == 0 {
            writeln!(
                out,
                "error: could not parse {}: {}",
                failure.file, failure.message
            )?;
        } else {
            writeln!(
                out,
                "error: could not parse {}:{}:{}: {}",
                failure.file, failure.line, failure.column, failure.message
            )?;
        }
    }
    writeln!(out, "{}", summary_line(report))?;
    Ok(())
}

fn handler(color: bool) -> GraphicalReportHandler {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::none()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_width(100)
        .with_context_lines(1)
}

/// One finding's report exactly as the human format prints it (without the blank line that
/// separates reports); the `rendered` text of cargo's JSON messages.
pub fn render_finding(finding: &Finding, report: &Report, color: bool) -> String {
    render_with(&handler(color), finding, report)
}

fn render_with(handler: &GraphicalReportHandler, finding: &Finding, report: &Report) -> String {
    let diag = FindingDiagnostic::new(finding, report);
    let mut buf = String::new();
    if handler.render_report(&mut buf, &diag).is_err() {
        // miette failed to render (should not happen): fall back to a plain line.
        buf = format!(
            "{}: {}:{}:{}: {} [heisen::{}]\n",
            finding.level,
            finding.file,
            finding.region.line,
            finding.region.column,
            finding.message,
            finding.rule
        );
    }
    buf
}

/// Adapter from a [`Finding`] to a miette [`Diagnostic`].
struct FindingDiagnostic {
    message: String,
    code: String,
    severity: Severity,
    help: String,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
}

impl FindingDiagnostic {
    fn new(f: &Finding, report: &Report) -> Self {
        let mut notes = Vec::new();
        let mut labels = Vec::new();
        let source = report.sources.get(&f.file);
        if let Some(text) = source {
            labels.push(LabeledSpan::new_primary_with_span(
                None,
                span(text, f.region),
            ));
        } else {
            notes.push(format!(
                "note: at {}:{}:{}",
                f.file, f.region.line, f.region.column
            ));
        }
        for label in &f.labels {
            match (&label.file, source) {
                (Some(other), _) if *other != f.file => notes.push(format!(
                    "note: see {}:{}:{}: {}",
                    other, label.region.line, label.region.column, label.message
                )),
                (_, Some(text)) => labels.push(LabeledSpan::new_with_span(
                    Some(label.message.clone()),
                    span(text, label.region),
                )),
                (_, None) => notes.push(format!(
                    "note: see {}:{}:{}: {}",
                    f.file, label.region.line, label.region.column, label.message
                )),
            }
        }
        notes.push(format!(
            "note: rule {} (group {}, level {})",
            f.rule, f.group, f.level
        ));
        if f.fix.is_some() {
            notes.push("note: fix available".to_string());
        }
        let mut help = f.help.clone();
        for n in notes {
            help.push('\n');
            help.push_str(&n);
        }
        FindingDiagnostic {
            message: f.message.clone(),
            code: format!("heisen::{}", f.rule),
            severity: match f.level {
                Level::Deny => Severity::Error,
                Level::Warn => Severity::Warning,
                Level::Allow => Severity::Advice,
            },
            help,
            source: source.map(|t| NamedSource::new(f.file.clone(), t.to_string())),
            labels,
        }
    }
}

/// The byte span of `region` in `text`, clamped (see [`byte_offset`]).
fn span(text: &str, region: crate::finding::Region) -> SourceSpan {
    let start = byte_offset(text, region.line, region.column);
    let end = byte_offset(text, region.end_line, region.end_column).max(start);
    SourceSpan::new(start.into(), end - start)
}

impl fmt::Debug for FindingDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FindingDiagnostic")
            .field("code", &self.code)
            .field("message", &self.message)
            .finish()
    }
}

impl fmt::Display for FindingDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FindingDiagnostic {}

impl Diagnostic for FindingDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.help))
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_support;

    fn render_to_string(report: &Report, color: bool) -> String {
        let mut out = Vec::new();
        render(report, &test_support::rules(), &mut out, color).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn snapshot_no_color() {
        let s = render_to_string(&test_support::report(), false);
        assert!(!s.contains('\u{1b}'), "no ANSI escapes without colour");
        insta::assert_snapshot!(s);
    }

    #[test]
    fn color_has_ansi() {
        let s = render_to_string(&test_support::report(), true);
        assert!(s.contains('\u{1b}'));
    }

    #[test]
    fn missing_source_and_bad_regions_do_not_panic() {
        let mut report = test_support::report();
        // Regions far outside the text, reversed, and zero.
        report.findings[0].region = crate::finding::Region {
            line: 99,
            column: 99,
            end_line: 1,
            end_column: 0,
        };
        report.findings[0].labels[0].region = Default::default();
        report.sources.remove("src/clock.rs");
        let s = render_to_string(&report, false);
        assert!(s.contains("note: at src/clock.rs:2:5"), "{s}");
        assert!(s.contains("note: see src/model.rs:2:5: `at` is stamped from the wall clock"));
    }
}
