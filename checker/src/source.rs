//! A scanned file: its text, its parsed tree, and line/column ↔ byte-offset mapping.

use crate::finding::Region;
use std::path::PathBuf;
use std::sync::Arc;

/// One Rust file that parsed. Read once, parsed once, shared read-only by every later stage.
///
/// The syntax tree itself is not kept: proc-macro2's tree is not `Send`, and no stage after
/// the analysis walk needs it (rules query facts, never syntax).
pub struct SourceFile {
    /// Display path: relative to the workspace root, or as given on the command line.
    pub rel: String,
    pub abs: PathBuf,
    /// Index of the crate (unit) this file belongs to, for the per-crate index.
    pub krate: usize,
    pub text: Arc<str>,
    /// Line starts of `text`, for O(1) line/column → offset mapping; built on first use (most
    /// files never need it).
    lines: std::sync::OnceLock<LineIndex>,
}

impl SourceFile {
    pub fn new(rel: String, abs: PathBuf, krate: usize, text: Arc<str>) -> SourceFile {
        SourceFile {
            rel,
            abs,
            krate,
            text,
            lines: std::sync::OnceLock::new(),
        }
    }

    /// The line index of `text`.
    pub fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }

    /// The source text covered by `region` (clamped; empty when out of range), in
    /// O(log lines) for ASCII lines.
    pub fn region_text(&self, region: &Region) -> &str {
        let lines = self.lines();
        let start = lines.offset(&self.text, region.line, region.column);
        let end = lines
            .offset(&self.text, region.end_line, region.end_column)
            .max(start);
        &self.text[start..end]
    }
}

/// Where each line starts, and whether it is pure ASCII (then a char column is a byte column).
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    starts: Vec<usize>,
    ascii: Vec<bool>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        let mut ascii = Vec::new();
        let mut all_ascii = true;
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                ascii.push(all_ascii);
                all_ascii = true;
                starts.push(i + 1);
            } else if !b.is_ascii() {
                all_ascii = false;
            }
        }
        ascii.push(all_ascii);
        LineIndex { starts, ascii }
    }

    /// Byte offset of a 1-based line and 1-based char column, clamped to the text.
    pub fn offset(&self, text: &str, line: usize, column: usize) -> usize {
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else {
            return text.len();
        };
        let end = self
            .starts
            .get(line)
            .map(|&n| n.saturating_sub(1))
            .unwrap_or(text.len())
            .min(text.len());
        let col = column.saturating_sub(1);
        if self
            .ascii
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(false)
        {
            return (start + col).min(end);
        }
        let line_text = &text[start..end];
        start
            + line_text
                .char_indices()
                .nth(col)
                .map(|(i, _)| i)
                .unwrap_or(line_text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::output::byte_offset;

    #[test]
    fn line_index_agrees_with_byte_offset() {
        let t = "héllo\nwörld x\nascii line\n\nlast";
        let ix = LineIndex::new(t);
        for line in 1..=7 {
            for col in 1..=14 {
                assert_eq!(
                    ix.offset(t, line, col),
                    byte_offset(t, line, col),
                    "{line}:{col}"
                );
            }
        }
    }

    #[test]
    fn offsets_count_chars_not_bytes() {
        let t = "héllo\nwörld x\n";
        let ix = LineIndex::new(t);
        assert_eq!(ix.offset(t, 1, 1), 0);
        assert_eq!(ix.offset(t, 1, 3), 3); // after 'h' and 2-byte 'é'
        assert_eq!(&t[ix.offset(t, 2, 7)..ix.offset(t, 2, 8)], "x");
        assert_eq!(ix.offset(t, 9, 1), t.len());
        assert_eq!(ix.offset(t, 1, 99), 6);
    }
}
