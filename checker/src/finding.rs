//! The one record every stage after `rules` speaks: [`Finding`], plus [`ParseFailure`].
//!
//! Machine formats (json, sarif, github, gitlab) and the human renderer all read these
//! structs; no renderer looks at syntax trees.

use crate::hash::Fnv1a64;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Rule families. Each rule belongs to exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    LostUpdate,
    WallClock,
    MemoryOrdering,
    Retry,
    /// Findings about heisen's own directives (unused suppressions, missing reasons).
    Meta,
}

impl Group {
    pub const ALL: [Group; 5] = [
        Group::LostUpdate,
        Group::WallClock,
        Group::MemoryOrdering,
        Group::Retry,
        Group::Meta,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Group::LostUpdate => "lost-update",
            Group::WallClock => "wall-clock",
            Group::MemoryOrdering => "memory-ordering",
            Group::Retry => "retry",
            Group::Meta => "meta",
        }
    }

    pub fn from_name(s: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How loudly a rule speaks. `Allow` findings are never reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Allow,
    Warn,
    Deny,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }

    pub fn from_name(s: &str) -> Option<Level> {
        match s {
            "allow" => Some(Level::Allow),
            "warn" => Some(Level::Warn),
            "deny" => Some(Level::Deny),
            _ => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source region. Lines are 1-based; columns are 1-based and count Unicode scalar
/// values (chars), as proc-macro2 reports them (+1). `end_column` is exclusive.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
pub struct Region {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

impl Region {
    pub fn from_span(span: proc_macro2::Span) -> Region {
        let s = span.start();
        let e = span.end();
        Region {
            line: s.line,
            column: s.column + 1,
            end_line: e.line,
            end_column: e.column + 1,
        }
    }

    /// Whether `line` falls within this region.
    pub fn contains_line(&self, line: usize) -> bool {
        self.line <= line && line <= self.end_line
    }

    /// The region with its start at least 1:1 and its end at least its start, as formats that
    /// require well-formed positions (SARIF, cargo's JSON messages) write it.
    pub fn clamped(self) -> Region {
        let line = self.line.max(1);
        let column = self.column.max(1);
        let end_line = self.end_line.max(line);
        let end_column = if end_line == line {
            self.end_column.max(column)
        } else {
            self.end_column.max(1)
        };
        Region {
            line,
            column,
            end_line,
            end_column,
        }
    }
}

/// A secondary location of a finding, e.g. "balance read here".
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Label {
    #[serde(flatten)]
    pub region: Region,
    pub message: String,
    /// File of the label when it differs from the finding's file (cross-file facts such as
    /// "field stamped from the wall clock here"). `None` means the finding's own file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// A mechanical fix: replace the text in `region` (single line) with `replacement`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fix {
    #[serde(flatten)]
    pub region: Region,
    pub replacement: String,
}

/// One reported hazard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub group: Group,
    pub level: Level,
    /// Path relative to the workspace root, or as given on the command line for PATHS.
    pub file: String,
    #[serde(flatten)]
    pub region: Region,
    /// Lowercase start, no trailing period.
    pub message: String,
    /// The concrete fix.
    pub help: String,
    pub labels: Vec<Label>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// Name of the innermost function whose item contains the finding (`Type::method` or
    /// `name`), filled in by the engine after the rules ran; rules leave it `None`. Part of
    /// the baseline identity of a finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

impl Finding {
    /// Stable sort key: file, position, rule.
    pub fn sort_key(&self) -> (&str, Region, &str) {
        (&self.file, self.region, self.rule)
    }
}

/// A file that could not be read or parsed. It leaves the pipeline; the scan goes on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseFailure {
    pub file: String,
    /// 1-based; 0 when the failure has no location (I/O, encoding).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Totals for the summary line / object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub findings: usize,
    pub files_with_findings: usize,
    pub files_scanned: usize,
    pub suppressed: usize,
    pub parse_failed: usize,
    /// Files read, parsed and analyzed in this run (result-cache misses, or every file
    /// without a cache). Not part of any output format: the cache state varies between runs.
    #[serde(skip)]
    pub files_parsed: usize,
    /// Files whose facts were loaded from the result cache instead of being parsed.
    #[serde(skip)]
    pub files_from_cache: usize,
}

/// Everything a renderer needs: the filtered findings, the files that failed, totals, and the
/// text of every file that has a finding (for snippets).
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Sorted by [`Finding::sort_key`].
    pub findings: Vec<Finding>,
    pub parse_failures: Vec<ParseFailure>,
    pub summary: Summary,
    /// Source text by `Finding::file` (and label files), for snippets and fingerprints.
    pub sources: std::collections::BTreeMap<String, std::sync::Arc<str>>,
}

impl Finding {
    /// The base fingerprint of a finding: FNV-1a 64 of the rule name, the file path (with `\`
    /// turned into `/`) and the whitespace-normalized text of the flagged lines
    /// (`region.line..=region.end_line`). The line *number* is deliberately not part of it, so
    /// the fingerprint survives edits elsewhere in the file. When the source text is unknown,
    /// the message stands in for it.
    pub fn base_fingerprint(&self, source: Option<&str>) -> u64 {
        let mut h = Fnv1a64::new();
        h.write_str("heisen/v1");
        h.write_str(self.rule);
        h.write_str(&self.file.replace('\\', "/"));
        match source {
            Some(text) => {
                let lines = line_range_text(text, self.region.line, self.region.end_line);
                h.write_str(&normalize_whitespace(&lines));
            }
            None => h.write_str(&normalize_whitespace(&self.message)),
        }
        h.finish()
    }
}

impl Report {
    /// Fingerprints of all findings, in order, as 16 lowercase hex digits: the line-number-free
    /// identity of a finding that SARIF, JSON, GitLab and the baseline use.
    ///
    /// Two findings with the same base fingerprint (same rule, file and line text, e.g. a
    /// repeated statement) are told apart by their occurrence index in report order: the first
    /// keeps the base fingerprint, the n-th (n ≥ 1) hashes the base with `n`. This keeps the
    /// first occurrence stable and the rest distinct.
    pub fn fingerprints(&self) -> Vec<String> {
        let mut seen: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
        self.findings
            .iter()
            .map(|f| {
                let base = f.base_fingerprint(self.sources.get(&f.file).map(|s| &**s));
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

    /// Finding counts per rule, most frequent first (ties by rule name).
    pub fn statistics(&self) -> Vec<(&'static str, usize)> {
        let mut counts: std::collections::BTreeMap<&'static str, usize> = Default::default();
        for f in &self.findings {
            *counts.entry(f.rule).or_default() += 1;
        }
        let mut v: Vec<_> = counts.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }
}

/// The text of lines `first..=last` (1-based, clamped) of `text`, without line terminators,
/// joined with `\n`. Empty when the range is out of bounds.
fn line_range_text(text: &str, first: usize, last: usize) -> String {
    let first = first.max(1);
    let last = last.max(first);
    text.lines()
        .enumerate()
        .filter(|(i, _)| (first..=last).contains(&(i + 1)))
        .map(|(_, l)| l)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Collapses every run of whitespace to one space and trims the ends.
fn normalize_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

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
            finding_at(2).base_fingerprint(Some(a)),
            finding_at(4).base_fingerprint(Some(b))
        );
        // Different text → different fingerprint.
        assert_ne!(
            finding_at(1).base_fingerprint(Some(a)),
            finding_at(2).base_fingerprint(Some(a))
        );
        // Different rule → different fingerprint.
        let mut other = finding_at(2);
        other.rule = "relaxed-any";
        assert_ne!(
            finding_at(2).base_fingerprint(Some(a)),
            other.base_fingerprint(Some(a))
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
        let fps = report.fingerprints();
        assert_ne!(fps[0], fps[1]);
        assert_eq!(
            fps[0],
            format!("{:016x}", finding_at(1).base_fingerprint(Some(&text)))
        );
    }

    #[test]
    fn statistics_sorted_by_count_then_name() {
        let mut report = Report {
            findings: vec![finding_at(1), finding_at(2)],
            ..Default::default()
        };
        report.findings[1].rule = "relaxed-any";
        report.findings.push(report.findings[1].clone());
        assert_eq!(
            report.statistics(),
            [("relaxed-any", 2), ("atomic-load-store", 1)]
        );
    }
}
