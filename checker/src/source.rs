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
/// (One converter: this builds a [`LineIndex`]; code that converts many positions of one text
/// keeps the index, as [`SourceFile::lines`] does.)
pub fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    LineIndex::new(text).offset(text, line, column)
}

/// The former line-walking implementation of [`byte_offset`], kept as the reference its
/// tests compare [`LineIndex`] against.
#[cfg(test)]
fn byte_offset_reference(text: &str, line: usize, column: usize) -> usize {
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

/// Where each line starts, and whether it is pure ASCII (then a char column is a byte column).
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    starts: Vec<usize>,
    ascii: Vec<bool>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        // Newlines are found with `str::find(char)` (memchr) and lines checked with
        // `<[u8]>::is_ascii` (word at a time): built for most files a check reports on.
        let mut starts = vec![0];
        let mut ascii = Vec::new();
        let mut start = 0;
        while let Some(n) = text[start..].find('\n') {
            ascii.push(text.as_bytes()[start..start + n].is_ascii());
            start += n + 1;
            starts.push(start);
        }
        ascii.push(text.as_bytes()[start..].is_ascii());
        LineIndex { starts, ascii }
    }

    /// Byte offset of a 1-based line and 1-based char column, clamped as [`byte_offset`]
    /// says.
    pub fn offset(&self, text: &str, line: usize, column: usize) -> usize {
        let line = line.max(1);
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else {
            return text.len();
        };
        let mut end = self
            .starts
            .get(line)
            .map(|&n| n.saturating_sub(1))
            .unwrap_or(text.len())
            .min(text.len());
        if end > start && text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
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

    #[test]
    fn line_index_agrees_with_the_reference() {
        for t in [
            "héllo\nwörld x\nascii line\n\nlast",
            "ab\r\ncd\r\n\r\né\r\n",
            "",
            "\n\n",
        ] {
            let ix = LineIndex::new(t);
            for line in 0..=7 {
                for col in 0..=14 {
                    assert_eq!(
                        ix.offset(t, line, col),
                        byte_offset_reference(t, line, col),
                        "{t:?} {line}:{col}"
                    );
                }
            }
        }
    }

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
