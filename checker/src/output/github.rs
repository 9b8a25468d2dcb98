//! GitHub Actions workflow-command output.
//!
//! Each finding becomes
//! `::warning file=F,line=L,col=C,endLine=EL,endColumn=EC,title=heisen/RULE::MESSAGE` (`deny`
//! findings use `::error`), where MESSAGE is `<message>` + newline + `help: <help>`.
//! Data is escaped `%`→`%25`, CR→`%0D`, LF→`%0A`; property values additionally `:`→`%3A`
//! and `,`→`%2C`.
//!
//! GitHub shows at most 10 annotations of each type per step, so at most
//! [`MAX_PER_LEVEL`] `::error` and [`MAX_PER_LEVEL`] `::warning` commands are printed:
//! errors first (deny findings in report order, i.e. by file and position, then parse
//! failures as `::error file=F,line=L,col=C,title=heisen/parse-error::could not parse: …`),
//! then warnings (in report order). If anything was left out, one
//! `::notice title=heisen::N more findings not annotated (GitHub shows at most 10 per level); run cargo heisen check for the full list`
//! line follows. The summary line ([`super::summary_line`]) closes the output as plain log
//! text.

use super::summary_line;
use crate::finding::{Level, Report};

/// Annotations per level that GitHub displays per step.
pub const MAX_PER_LEVEL: usize = 10;

/// Escapes a workflow-command message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Renders the github format.
pub fn render(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut errors: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    for f in &report.findings {
        let kind = match f.level {
            Level::Deny => "error",
            Level::Warn => "warning",
            Level::Allow => continue,
        };
        let r = f.region;
        let line = format!(
            "::{kind} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&f.file),
            r.line.max(1),
            r.column.max(1),
            r.end_line.max(r.line).max(1),
            r.end_column.max(1),
            escape_property(&format!("heisen/{}", f.rule)),
            escape_data(&format!("{}\nhelp: {}", f.message, f.help)),
        );
        if kind == "error" {
            errors.push(line);
        } else {
            warnings.push(line);
        }
    }
    for p in &report.parse_failures {
        let location = if p.line > 0 {
            format!(",line={},col={}", p.line, p.column.max(1))
        } else {
            String::new()
        };
        errors.push(format!(
            "::error file={}{location},title=heisen/parse-error::{}",
            escape_property(&p.file),
            escape_data(&format!("could not parse: {}", p.message)),
        ));
    }
    let left_out =
        errors.len().saturating_sub(MAX_PER_LEVEL) + warnings.len().saturating_sub(MAX_PER_LEVEL);
    for line in errors
        .iter()
        .take(MAX_PER_LEVEL)
        .chain(warnings.iter().take(MAX_PER_LEVEL))
    {
        writeln!(out, "{line}")?;
    }
    if left_out > 0 {
        writeln!(
            out,
            "::notice title=heisen::{left_out} more {} not annotated (GitHub shows at most {MAX_PER_LEVEL} per level); run cargo heisen check for the full list",
            if left_out == 1 { "finding" } else { "findings" }
        )?;
    }
    writeln!(out, "{}", summary_line(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Group, Region};
    use crate::output::test_support;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("50% a\r\nb: c,d"), "50%25 a%0D%0Ab: c,d");
        assert_eq!(
            escape_property("50% a\r\nb: c,d"),
            "50%25 a%0D%0Ab%3A c%2Cd"
        );
        // '%' is escaped first, so existing escapes are not double-decoded.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn sample_output() {
        let mut out = Vec::new();
        render(&test_support::report(), &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        insta::assert_snapshot!(s);
    }

    fn finding(file: &str, line: usize, level: Level) -> Finding {
        Finding {
            rule: "r",
            group: Group::Retry,
            level,
            file: file.into(),
            region: Region {
                line,
                column: 1,
                end_line: line,
                end_column: 2,
            },
            message: "m".into(),
            help: "h".into(),
            labels: vec![],
            fix: None,
            function: None,
        }
    }

    #[test]
    fn cap_of_ten_per_level_and_ordering() {
        let mut report = Report::default();
        // Report order: by file; warnings and denies interleaved.
        for i in 0..15 {
            report
                .findings
                .push(finding(&format!("f{i:02}.rs"), 1, Level::Warn));
            report
                .findings
                .push(finding(&format!("f{i:02}.rs"), 2, Level::Deny));
        }
        let mut out = Vec::new();
        render(&report, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = s.lines().collect();
        let errors: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with("::error"))
            .collect();
        let warnings: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with("::warning"))
            .collect();
        assert_eq!(errors.len(), 10);
        assert_eq!(warnings.len(), 10);
        // Errors come before warnings, and the first files are kept.
        assert!(lines[0].starts_with("::error file=f00.rs,line=2,"));
        assert!(lines[9].starts_with("::error file=f09.rs,"));
        assert!(lines[10].starts_with("::warning file=f00.rs,line=1,"));
        assert!(lines[19].starts_with("::warning file=f09.rs,"));
        assert_eq!(
            lines[20],
            "::notice title=heisen::10 more findings not annotated (GitHub shows at most 10 per level); run cargo heisen check for the full list"
        );
    }

    #[test]
    fn no_notice_when_nothing_left_out() {
        let mut report = Report::default();
        report.findings.push(finding("a.rs", 1, Level::Warn));
        let mut out = Vec::new();
        render(&report, &mut out).unwrap();
        assert!(!String::from_utf8(out).unwrap().contains("::notice"));
    }
}
