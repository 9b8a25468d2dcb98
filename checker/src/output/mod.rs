//! Renderers: one [`Report`] in, one of six formats out.
//!
//! Every renderer reads only [`Report`] (findings, parse failures, summary, source texts)
//! and the rule registry; none looks at syntax trees. Shared helpers live here:
//! [`byte_offset`] (1-based line / char column → byte offset, clamped), [`fnv1a_64`] (a
//! hash that is stable across Rust versions and platforms) and [`fingerprints`] (the
//! line-number-free identity of a finding used by SARIF and JSON).

use crate::finding::{Finding, Report};
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

/// Converts a 1-based `line` and 1-based `column` (counted in chars, as in
/// [`crate::finding::Region`]) to a byte offset into `text`.
///
/// Never panics; out-of-range values are clamped:
/// - `line == 0` is treated as line 1, `column == 0` as column 1;
/// - a line past the last one gives `text.len()`;
/// - a column past the end of its line gives the offset of the line's end (before `\n`, and
///   before the `\r` of a `\r\n`).
///
/// The result is always on a char boundary of `text`.
pub fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line = line.max(1);
    let column = column.max(1);
    // Find the start of the line.
    let mut start = 0usize;
    let mut current = 1usize;
    while current < line {
        match text[start..].find('\n') {
            Some(i) => {
                start += i + 1;
                current += 1;
            }
            None => return text.len(),
        }
    }
    let rest = &text[start..];
    let line_text = match rest.find('\n') {
        Some(i) => &rest[..i],
        None => rest,
    };
    let line_text = line_text.strip_suffix('\r').unwrap_or(line_text);
    match line_text.char_indices().nth(column - 1) {
        Some((i, _)) => start + i,
        None => start + line_text.len(),
    }
}

/// The text of lines `first..=last` (1-based, clamped) of `text`, without line terminators,
/// joined with `\n`. Empty when the range is out of bounds.
pub fn line_range_text(text: &str, first: usize, last: usize) -> String {
    let first = first.max(1);
    let last = last.max(first);
    text.lines()
        .enumerate()
        .filter(|(i, _)| (first..=last).contains(&(i + 1)))
        .map(|(_, l)| l)
        .collect::<Vec<_>>()
        .join("\n")
}

/// FNV-1a, 64 bit. Chosen because it is trivially stable: std's `DefaultHasher` may change
/// between Rust releases, and fingerprints / cache keys must not.
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a64::new();
    h.write(bytes);
    h.finish()
}

/// Incremental FNV-1a 64 (see [`fnv1a_64`]).
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a64(u64);

impl Fnv1a64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    pub fn new() -> Self {
        Fnv1a64(Self::OFFSET)
    }

    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// Writes `s` followed by a 0xff separator byte (never present in UTF-8), so that
    /// `("ab", "c")` and `("a", "bc")` hash differently.
    pub fn write_str(&mut self, s: &str) {
        self.write(s.as_bytes());
        self.write(&[0xff]);
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a64 {
    fn default() -> Self {
        Self::new()
    }
}

/// Collapses every run of whitespace to one space and trims the ends.
pub fn normalize_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The base fingerprint of a finding: FNV-1a 64 of the rule name, the file path (with `\`
/// turned into `/`) and the whitespace-normalized text of the flagged lines
/// (`region.line..=region.end_line`). The line *number* is deliberately not part of it, so
/// the fingerprint survives edits elsewhere in the file. When the source text is unknown,
/// the message stands in for it.
pub fn base_fingerprint(finding: &Finding, source: Option<&str>) -> u64 {
    let mut h = Fnv1a64::new();
    h.write_str("heisen/v1");
    h.write_str(finding.rule);
    h.write_str(&finding.file.replace('\\', "/"));
    match source {
        Some(text) => {
            let lines = line_range_text(text, finding.region.line, finding.region.end_line);
            h.write_str(&normalize_whitespace(&lines));
        }
        None => h.write_str(&normalize_whitespace(&finding.message)),
    }
    h.finish()
}

/// Fingerprints of all findings of `report`, in order, as 16 lowercase hex digits.
///
/// Two findings with the same base fingerprint (same rule, file and line text, e.g. a
/// repeated statement) are told apart by their occurrence index in report order: the first
/// keeps the base fingerprint, the n-th (n ≥ 1) hashes the base with `n`. This keeps the
/// first occurrence stable and the rest distinct.
pub fn fingerprints(report: &Report) -> Vec<String> {
    let mut seen: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    report
        .findings
        .iter()
        .map(|f| {
            let base = base_fingerprint(f, report.sources.get(&f.file).map(|s| &**s));
            let n = seen.entry(base).or_insert(0);
            let fp = if *n == 0 {
                base
            } else {
                let mut h = Fnv1a64::new();
                h.write(&base.to_le_bytes());
                h.write(&n.to_le_bytes());
                h.finish()
            };
            *n += 1;
            format!("{fp:016x}")
        })
        .collect()
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
    use crate::finding::{Group, Level, Region};

    #[test]
    fn offset_ascii_and_clamping() {
        let t = "ab\ncd\n";
        assert_eq!(byte_offset(t, 1, 1), 0);
        assert_eq!(byte_offset(t, 1, 2), 1);
        assert_eq!(byte_offset(t, 1, 3), 2); // end of line 1 (exclusive end column)
        assert_eq!(byte_offset(t, 1, 99), 2); // clamped before '\n'
        assert_eq!(byte_offset(t, 2, 1), 3);
        assert_eq!(byte_offset(t, 3, 1), 6); // the empty line after the final newline
        assert_eq!(byte_offset(t, 4, 1), 6);
        assert_eq!(byte_offset(t, 100, 100), 6);
        assert_eq!(byte_offset(t, 0, 0), 0);
        assert_eq!(byte_offset("", 5, 5), 0);
    }

    #[test]
    fn offset_multibyte() {
        // 'é' is 2 bytes, '€' 3 bytes, '🦀' 4 bytes.
        let t = "é€🦀x\nü";
        assert_eq!(byte_offset(t, 1, 2), 2);
        assert_eq!(byte_offset(t, 1, 3), 5);
        assert_eq!(byte_offset(t, 1, 4), 9);
        assert_eq!(byte_offset(t, 1, 5), 10); // end of line
        assert_eq!(byte_offset(t, 1, 50), 10);
        assert_eq!(byte_offset(t, 2, 1), 11);
        assert_eq!(byte_offset(t, 2, 2), 13);
        assert_eq!(byte_offset(t, 2, 3), 13);
        for line in 0..4 {
            for col in 0..8 {
                assert!(t.is_char_boundary(byte_offset(t, line, col)));
            }
        }
    }

    #[test]
    fn offset_crlf() {
        let t = "ab\r\ncd";
        assert_eq!(byte_offset(t, 1, 9), 2);
        assert_eq!(byte_offset(t, 2, 2), 5);
    }

    #[test]
    fn fnv_known_values() {
        // Reference values of FNV-1a 64.
        assert_eq!(fnv1a_64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x85944171f73967e8);
    }

    fn finding_at(line: usize) -> Finding {
        Finding {
            rule: "atomic-load-store",
            group: Group::LostUpdate,
            level: Level::Warn,
            file: "src/a.rs".into(),
            region: Region {
                line,
                column: 5,
                end_line: line,
                end_column: 10,
            },
            message: "m".into(),
            help: "h".into(),
            labels: vec![],
            fix: None,
            function: None,
        }
    }

    #[test]
    fn fingerprint_ignores_line_number_and_whitespace() {
        let a = "fn f() {\n    x.store(v, SeqCst);\n}\n";
        let b = "// a new comment\n\nfn f() {\n        x.store(v,   SeqCst);\n}\n";
        assert_eq!(
            base_fingerprint(&finding_at(2), Some(a)),
            base_fingerprint(&finding_at(4), Some(b))
        );
        // Different text → different fingerprint.
        assert_ne!(
            base_fingerprint(&finding_at(1), Some(a)),
            base_fingerprint(&finding_at(2), Some(a))
        );
        // Different rule → different fingerprint.
        let mut other = finding_at(2);
        other.rule = "relaxed-any";
        assert_ne!(
            base_fingerprint(&finding_at(2), Some(a)),
            base_fingerprint(&other, Some(a))
        );
    }

    #[test]
    fn fingerprints_disambiguate_repeats() {
        let text: std::sync::Arc<str> = "x.store(1);\nx.store(1);\n".into();
        let mut report = Report {
            findings: vec![finding_at(1), finding_at(2)],
            ..Default::default()
        };
        report.sources.insert("src/a.rs".into(), text.clone());
        let fps = fingerprints(&report);
        assert_ne!(fps[0], fps[1]);
        assert_eq!(
            fps[0],
            format!("{:016x}", base_fingerprint(&finding_at(1), Some(&text)))
        );
    }

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
