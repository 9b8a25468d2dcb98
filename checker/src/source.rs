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
}

/// Byte offset of a 1-based line and 1-based char column in `text`, clamped to the text.
pub fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0usize;
    let mut current = 1usize;
    if line > 1 {
        let mut found = false;
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                current += 1;
                if current == line {
                    offset = i + 1;
                    found = true;
                    break;
                }
            }
        }
        if !found {
            return text.len();
        }
    }
    let rest = &text[offset..];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    let line_text = &rest[..line_end];
    let col = column.saturating_sub(1);
    let within = line_text
        .char_indices()
        .nth(col)
        .map(|(i, _)| i)
        .unwrap_or(line_text.len());
    offset + within
}

/// The source text covered by `region` (clamped; empty when out of range).
pub fn region_text<'a>(text: &'a str, region: &Region) -> &'a str {
    let start = byte_offset(text, region.line, region.column);
    let end = byte_offset(text, region.end_line, region.end_column).max(start);
    &text[start..end]
}

/// The whole text of the 1-based line `line` (without the newline), or "".
pub fn line_text(text: &str, line: usize) -> &str {
    text.lines().nth(line.saturating_sub(1)).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_chars_not_bytes() {
        let t = "héllo\nwörld x\n";
        assert_eq!(byte_offset(t, 1, 1), 0);
        assert_eq!(byte_offset(t, 1, 3), 3); // after 'h' and 2-byte 'é'
        assert_eq!(&t[byte_offset(t, 2, 7)..byte_offset(t, 2, 8)], "x");
        assert_eq!(byte_offset(t, 9, 1), t.len());
        assert_eq!(byte_offset(t, 1, 99), 6);
    }
}
