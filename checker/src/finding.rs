//! The one record every stage after `rules` speaks: [`Finding`], plus [`ParseFailure`].
//!
//! Machine formats (json, sarif, github, gitlab) and the human renderer all read these
//! structs; no renderer looks at syntax trees.

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
    Deadlock,
    /// Findings about heisen's own directives (unused suppressions, missing reasons).
    Meta,
}

impl Group {
    pub const ALL: [Group; 6] = [
        Group::LostUpdate,
        Group::WallClock,
        Group::MemoryOrdering,
        Group::Retry,
        Group::Deadlock,
        Group::Meta,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Group::LostUpdate => "lost-update",
            Group::WallClock => "wall-clock",
            Group::MemoryOrdering => "memory-ordering",
            Group::Retry => "retry",
            Group::Deadlock => "deadlock",
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
