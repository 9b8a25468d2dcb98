//! Markdown summary, for CI job summaries (`$GITHUB_STEP_SUMMARY`) and PR comments.
//!
//! Layout: a `### heisen` heading with the summary line ([`super::summary_line`]); when
//! there are findings, a table of finding counts per rule (most frequent first, as
//! [`Report::statistics`]) and a table of the top [`TOP`] findings (`deny` first, then
//! report order) with location, rule, enclosing function and message, plus a note of how
//! many were left out; then the files that failed to parse. Table cells escape `|`, and `<`
//! outside code spans, so messages cannot break the table or turn into HTML.

use super::summary_line;
use crate::finding::{Level, Report};

/// Findings listed in the "top findings" table.
pub const TOP: usize = 20;

fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_code = false;
    for c in s.chars() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '|' => out.push_str("\\|"),
            '<' if !in_code => out.push_str("&lt;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Renders the Markdown summary.
pub fn render(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let icon = if report.findings.iter().any(|f| f.level == Level::Deny)
        || !report.parse_failures.is_empty()
    {
        "❌"
    } else if report.findings.is_empty() {
        "✅"
    } else {
        "⚠️"
    };
    writeln!(out, "### {icon} heisen\n")?;
    writeln!(out, "{}\n", summary_line(report))?;
    if !report.findings.is_empty() {
        writeln!(out, "| rule | group | findings |")?;
        writeln!(out, "|---|---|---:|")?;
        for (rule, n) in report.statistics() {
            let group = report
                .findings
                .iter()
                .find(|f| f.rule == rule)
                .map(|f| f.group.as_str())
                .unwrap_or("");
            writeln!(out, "| `{rule}` | {group} | {n} |")?;
        }
        writeln!(out)?;
        let mut top: Vec<_> = report.findings.iter().collect();
        top.sort_by_key(|f| std::cmp::Reverse(f.level));
        writeln!(out, "**Top findings**\n")?;
        writeln!(out, "| level | location | rule | function | message |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for f in top.iter().take(TOP) {
            writeln!(
                out,
                "| {} | `{}:{}` | `{}` | {} | {} |",
                f.level,
                cell(&f.file),
                f.region.line,
                f.rule,
                f.function
                    .as_deref()
                    .map(|n| format!("`{}`", cell(n)))
                    .unwrap_or_default(),
                cell(&f.message),
            )?;
        }
        if report.findings.len() > TOP {
            writeln!(
                out,
                "\n{} more not listed; run `cargo heisen check` for all of them.",
                report.findings.len() - TOP
            )?;
        }
        writeln!(out)?;
    }
    if !report.parse_failures.is_empty() {
        writeln!(out, "**Files that could not be parsed**\n")?;
        for p in &report.parse_failures {
            writeln!(
                out,
                "- `{}:{}:{}` {}",
                cell(&p.file),
                p.line,
                p.column,
                cell(&p.message)
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_support;

    #[test]
    fn snapshot() {
        let mut out = Vec::new();
        render(&test_support::report(), &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    #[test]
    fn cells_cannot_break_tables() {
        assert_eq!(cell("a | b <T> `Vec<u8>`\nx"), "a \\| b &lt;T> `Vec<u8>` x");
    }

    #[test]
    fn clean_report() {
        let mut out = Vec::new();
        render(&Report::default(), &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("### ✅ heisen"), "{s}");
        assert!(!s.contains('|'));
    }
}
