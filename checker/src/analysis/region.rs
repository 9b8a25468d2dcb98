//! Positional queries on [`Region`]s: containment and order. Every rule and the index ask these
//! through the methods here rather than comparing `(line, column)` tuples themselves.
//!
//! Positions compare as `(line, column)`; a region's end is exclusive (see [`Region`]).

use crate::finding::Region;

impl Region {
    /// The first position, `(line, column)`.
    pub fn start(&self) -> (usize, usize) {
        (self.line, self.column)
    }

    /// The (exclusive) end position, `(end_line, end_column)`.
    pub fn end(&self) -> (usize, usize) {
        (self.end_line, self.end_column)
    }

    /// Whether `inner` lies within this region (equal regions contain each other).
    pub fn contains(&self, inner: &Region) -> bool {
        self.start() <= inner.start() && inner.end() <= self.end()
    }

    /// Whether this region ends at or before `other` starts (no overlap, this one first).
    pub fn precedes(&self, other: &Region) -> bool {
        self.end() <= other.start()
    }

    /// Whether this region starts strictly before `other` starts.
    pub fn starts_before(&self, other: &Region) -> bool {
        self.start() < other.start()
    }

    /// Whether `other` starts inside this region (at or after its start, before its end).
    pub fn covers_start_of(&self, other: &Region) -> bool {
        self.start() <= other.start() && other.start() < self.end()
    }

    /// Whether both regions start at the same position.
    pub fn starts_with(&self, other: &Region) -> bool {
        self.start() == other.start()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(line: usize, column: usize, end_line: usize, end_column: usize) -> Region {
        Region {
            line,
            column,
            end_line,
            end_column,
        }
    }

    #[test]
    fn containment_is_inclusive_at_both_ends() {
        let outer = r(2, 5, 6, 2);
        assert!(outer.contains(&outer));
        assert!(outer.contains(&r(2, 5, 2, 9)));
        assert!(outer.contains(&r(3, 1, 6, 2)));
        // One column out on either side.
        assert!(!outer.contains(&r(2, 4, 3, 1)));
        assert!(!outer.contains(&r(5, 1, 6, 3)));
        // Columns only count on the boundary lines.
        assert!(outer.contains(&r(4, 99, 5, 1)));
        assert!(!r(2, 5, 2, 9).contains(&outer));
    }

    #[test]
    fn order_of_regions() {
        let a = r(1, 1, 1, 10);
        let b = r(1, 10, 2, 1);
        let c = r(1, 5, 1, 12);
        // Touching (the end is exclusive) still precedes.
        assert!(a.precedes(&b));
        assert!(!b.precedes(&a));
        // Overlapping regions precede neither way.
        assert!(!a.precedes(&c) && !c.precedes(&a));
        assert!(a.starts_before(&c) && !c.starts_before(&a));
        assert!(!a.starts_before(&a));
        assert!(a.starts_with(&r(1, 1, 9, 9)) && !a.starts_with(&c));
        assert_eq!((b.start(), b.end()), ((1, 10), (2, 1)));
        // A region that starts inside another, even if it ends outside it.
        assert!(a.covers_start_of(&c) && !a.covers_start_of(&b) && a.covers_start_of(&a));
    }
}
