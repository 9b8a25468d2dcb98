//! "Only new" findings: `--new-from-rev REV` and `--new-from-patch FILE`.
//!
//! A finding is *new* when a line of its primary region, or of one of its labels (in any
//! file), was added or changed by the diff. A pure deletion (`@@ -a,b +c,0 @@`) touches the
//! lines on both sides of the gap (`c` and `c + 1`), so removing a guard statement flags the
//! code next to it. Files the diff adds (and, for `--new-from-rev`, untracked files that git
//! does not ignore) are new in full.
//!
//! `--new-from-rev REV` runs `git merge-base REV HEAD` and `git diff --unified=0 <base>` (the
//! working tree against the merge base: committed and uncommitted changes) in the repository
//! that contains the workspace root, plus `git ls-files --others --exclude-standard`. Paths
//! of a `--new-from-patch` diff are relative to the repository root containing the current
//! directory, or to the current directory outside a repository; `a/` `b/` prefixes are
//! recognised (and `--no-prefix` diffs work too).
//!
//! The unified-diff parser is ours (small, no dependency): it reads `diff --git` headers,
//! `+++` lines (with git's C-style quoting), `rename to`, `new file`, `deleted file` and hunk
//! headers `@@ -a[,b] +c[,d] @@`, and skips hunk bodies by their counts.

use super::retain_findings;
use crate::finding::Report;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Changed lines of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lines {
    /// Every line (a new or untracked file).
    All,
    /// These 1-based inclusive ranges.
    Ranges(Vec<(usize, usize)>),
}

impl Lines {
    fn touches(&self, first: usize, last: usize) -> bool {
        match self {
            Lines::All => true,
            Lines::Ranges(r) => r.iter().any(|&(a, b)| a <= last && first <= b),
        }
    }
}

/// Changed files (paths as written in the diff, `b/` stripped) and their changed lines.
pub type Changes = BTreeMap<String, Lines>;

/// Parses a unified diff (`git diff`, `diff -u`) into the changed lines of each new-side file.
/// Deleted files are left out. Unknown lines between files are ignored.
pub fn parse_unified(diff: &str) -> Changes {
    let mut out = Changes::new();
    let mut current: Option<String> = None;
    let mut git_header = false;
    let mut lines = diff.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            git_header = true;
            // The new path of a header without `+++` (pure rename, mode change, empty file).
            current = split_git_header(rest).map(|(_, b)| b);
            continue;
        }
        if let Some(rest) = line.strip_prefix("rename to ") {
            current = Some(unquote(rest));
            continue;
        }
        if line.starts_with("new file mode") {
            if let Some(c) = &current {
                out.insert(c.clone(), Lines::All);
            }
            continue;
        }
        if line.starts_with("deleted file mode") {
            current = None;
            continue;
        }
        if line.starts_with("--- ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("+++ ") {
            let path = rest.split('\t').next().unwrap_or(rest);
            let path = unquote(path.trim_end());
            current = if path == "/dev/null" {
                None
            } else if git_header || path.starts_with("b/") {
                Some(path.strip_prefix("b/").unwrap_or(&path).to_string())
            } else {
                Some(path)
            };
            continue;
        }
        if let Some(rest) = line.strip_prefix("@@ ") {
            let Some((old_count, new_start, new_count)) = parse_hunk_header(rest) else {
                continue;
            };
            // Walk the body: `+` lines are changed, `-` runs touch the lines around the gap,
            // context lines (patches made with context) are not changed.
            let mut changed: Vec<(usize, usize)> = Vec::new();
            // A zero-length new side names the line *before* the gap.
            let mut new_line = if new_count == 0 {
                new_start + 1
            } else {
                new_start
            };
            let (mut old_left, mut new_left) = (old_count, new_count);
            // A run of `-` lines not followed by `+` lines is a pure deletion.
            let mut deleted = false;
            let gap = |line: usize| (line.saturating_sub(1).max(1), line);
            while old_left > 0 || new_left > 0 {
                let Some(body) = lines.peek() else { break };
                match body.as_bytes().first() {
                    Some(b'-') => {
                        old_left = old_left.saturating_sub(1);
                        deleted = true;
                    }
                    Some(b'+') => {
                        new_left = new_left.saturating_sub(1);
                        deleted = false;
                        changed.push((new_line, new_line));
                        new_line += 1;
                    }
                    Some(b'\\') => {}
                    Some(b' ') | None => {
                        if std::mem::take(&mut deleted) {
                            changed.push(gap(new_line));
                        }
                        old_left = old_left.saturating_sub(1);
                        new_left = new_left.saturating_sub(1);
                        new_line += 1;
                    }
                    _ => break,
                }
                lines.next();
            }
            if deleted {
                changed.push(gap(new_line));
            }
            // "\\ No newline at end of file" after the last body line.
            while lines.peek().is_some_and(|l| l.starts_with('\\')) {
                lines.next();
            }
            if let Some(file) = &current {
                let entry = out
                    .entry(file.clone())
                    .or_insert_with(|| Lines::Ranges(Vec::new()));
                if let Lines::Ranges(r) = entry {
                    r.extend(changed);
                }
            }
        }
    }
    for lines in out.values_mut() {
        if let Lines::Ranges(r) = lines {
            r.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::with_capacity(r.len());
            for &(a, b) in r.iter() {
                match merged.last_mut() {
                    Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            *r = merged;
        }
    }
    out
}

/// `-a[,b] +c[,d] @@…` → (b, c, d); counts default to 1.
fn parse_hunk_header(rest: &str) -> Option<(usize, usize, usize)> {
    let mut parts = rest.split_whitespace();
    let old = parts.next()?.strip_prefix('-')?;
    let new = parts.next()?.strip_prefix('+')?;
    let range = |s: &str| -> Option<(usize, usize)> {
        match s.split_once(',') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => Some((s.parse().ok()?, 1)),
        }
    };
    let (_, old_count) = range(old)?;
    let (new_start, new_count) = range(new)?;
    Some((old_count, new_start, new_count))
}

/// `a/x b/y` (possibly quoted) → (`x`, `y`).
fn split_git_header(rest: &str) -> Option<(String, String)> {
    if rest.starts_with('"') {
        let (a, tail) = take_quoted(rest)?;
        let b = unquote(tail.trim_start());
        return Some((strip_ab(&a, "a/"), strip_ab(&b, "b/")));
    }
    // Unquoted: both paths are the same length for non-renames; find " b/".
    let idx = rest.find(" b/").or_else(|| rest.find(' '))?;
    let (a, b) = (&rest[..idx], rest[idx + 1..].trim_start());
    Some((strip_ab(a, "a/"), strip_ab(&unquote(b), "b/")))
}

fn strip_ab(s: &str, prefix: &str) -> String {
    s.strip_prefix(prefix).unwrap_or(s).to_string()
}

/// Git's C-style quoting (`"a\tb\303\274"`); unquoted text is returned as is.
fn unquote(s: &str) -> String {
    if s.starts_with('"') {
        if let Some((q, _)) = take_quoted(s) {
            return q;
        }
    }
    s.to_string()
}

/// Reads one quoted string at the start of `s`; returns it unescaped and the rest.
fn take_quoted(s: &str) -> Option<(String, &str)> {
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some((String::from_utf8_lossy(&out).into_owned(), &s[i + 1..])),
            b'\\' if i + 1 < bytes.len() => {
                let c = bytes[i + 1];
                i += 2;
                match c {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'v' => out.push(11),
                    b'0'..=b'7' => {
                        let mut v = u32::from(c - b'0');
                        for _ in 0..2 {
                            if let Some(d @ b'0'..=b'7') = bytes.get(i) {
                                v = v * 8 + u32::from(d - b'0');
                                i += 1;
                            }
                        }
                        out.push(v as u8);
                    }
                    other => out.push(other),
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "core.quotePath=false"])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        return Err(format!("`git {}` failed: {first}", args.join(" ")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The top level of the git repository containing `dir`.
pub fn git_toplevel(dir: &Path) -> Result<PathBuf, String> {
    git(dir, &["rev-parse", "--show-toplevel"])
        .map(|s| PathBuf::from(s.trim_end_matches(['\n', '\r'])))
        .map_err(|_| {
            format!(
                "--new-from-rev needs a git repository, and `{}` is not inside one",
                dir.display()
            )
        })
}

/// Changes between `git merge-base REV HEAD` and the working tree of the repository that
/// contains `dir`, plus untracked files; paths relative to the returned repository root.
pub fn from_rev(dir: &Path, rev: &str) -> Result<(PathBuf, Changes), String> {
    let top = git_toplevel(dir)?;
    if rev.starts_with('-') {
        return Err(format!("--new-from-rev: `{rev}` is not a revision"));
    }
    let base = git(&top, &["merge-base", rev, "HEAD"]).map_err(|e| {
        format!("--new-from-rev {rev}: no merge base with HEAD (is `{rev}` fetched?): {e}")
    })?;
    let base = base.trim().to_string();
    let diff = git(
        &top,
        &[
            "diff",
            "--unified=0",
            "--no-color",
            "--no-ext-diff",
            "--find-renames",
            &base,
            "--",
        ],
    )?;
    let mut changes = parse_unified(&diff);
    let untracked = git(&top, &["ls-files", "--others", "--exclude-standard", "-z"])?;
    for path in untracked.split('\0').filter(|p| !p.is_empty()) {
        changes.insert(path.to_string(), Lines::All);
    }
    Ok((top, changes))
}

/// Changes of a diff file; paths relative to the repository root containing `cwd` (or
/// `cwd` itself outside a repository).
pub fn from_patch(cwd: &Path, patch: &Path) -> Result<(PathBuf, Changes), String> {
    let text = std::fs::read(patch)
        .map_err(|e| format!("cannot read patch `{}`: {e}", patch.display()))?;
    let text = String::from_utf8_lossy(&text);
    if !text
        .lines()
        .any(|l| l.starts_with("@@ ") || l.starts_with("diff --git "))
    {
        return Err(format!(
            "`{}` is not a unified diff (no `@@` hunk or `diff --git` header)",
            patch.display()
        ));
    }
    let base = git_toplevel(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    Ok((base, parse_unified(&text)))
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Keeps only findings on changed lines: a changed line in the finding's primary region or in
/// one of its labels (a label in another file counts too: changing how `store.rs` stamps a
/// field makes the comparison in `merge.rs` new). `root` is what finding paths are relative
/// to; `base` what the diff's paths are relative to. Returns how many findings were removed.
pub fn keep_new(report: &mut Report, root: &Path, base: &Path, changes: &Changes) -> usize {
    let by_abs: BTreeMap<PathBuf, &Lines> = changes
        .iter()
        .map(|(p, l)| (canonical(&base.join(p)), l))
        .collect();
    let mut resolved: BTreeMap<String, Option<&Lines>> = BTreeMap::new();
    let mut lines_of = |file: &str| -> Option<&Lines> {
        *resolved
            .entry(file.to_string())
            .or_insert_with(|| by_abs.get(&canonical(&root.join(file))).copied())
    };
    let touched = |lines: Option<&Lines>, r: &crate::finding::Region| {
        lines.is_some_and(|l| l.touches(r.line, r.end_line.max(r.line)))
    };
    retain_findings(report, |_, f| {
        touched(lines_of(&f.file), &f.region)
            || f.labels.iter().any(|l| {
                let file = l.file.as_deref().unwrap_or(&f.file);
                touched(lines_of(file), &l.region)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIT_DIFF: &str = r#"diff --git a/src/lib.rs b/src/lib.rs
index 1111111..2222222 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -3,0 +4,2 @@ fn a() {
+    let x = 1;
++++ not a header
@@ -10 +12 @@ fn b() {
-    old();
+    new();
@@ -20,3 +22,0 @@ fn c() {
-    gone();
-    gone();
-    gone();
diff --git a/src/old.rs b/src/renamed.rs
similarity index 90%
rename from src/old.rs
rename to src/renamed.rs
index 3333333..4444444 100644
--- a/src/old.rs
+++ b/src/renamed.rs
@@ -1 +1 @@
-a
+b
diff --git a/src/moved.rs b/src/moved2.rs
similarity index 100%
rename from src/moved.rs
rename to src/moved2.rs
diff --git a/src/new.rs b/src/new.rs
new file mode 100644
index 0000000..5555555
--- /dev/null
+++ b/src/new.rs
@@ -0,0 +1,3 @@
+fn n() {}
+
+fn m() {}
diff --git a/src/dead.rs b/src/dead.rs
deleted file mode 100644
index 6666666..0000000
--- a/src/dead.rs
+++ /dev/null
@@ -1,2 +0,0 @@
-fn d() {}
-
diff --git "a/src/sp\303\244ce x.rs" "b/src/sp\303\244ce x.rs"
index 7777777..8888888 100644
--- "a/src/sp\303\244ce x.rs"
+++ "b/src/sp\303\244ce x.rs"
@@ -5,2 +5,2 @@
-a
-b
+c
+d
\ No newline at end of file
"#;

    #[test]
    fn parses_git_diffs() {
        let c = parse_unified(GIT_DIFF);
        assert_eq!(
            c.get("src/lib.rs"),
            Some(&Lines::Ranges(vec![(4, 5), (12, 12), (22, 23)]))
        );
        assert_eq!(c.get("src/renamed.rs"), Some(&Lines::Ranges(vec![(1, 1)])));
        assert_eq!(c.get("src/new.rs"), Some(&Lines::All));
        assert_eq!(
            c.get("src/moved2.rs"),
            None,
            "a pure rename changes no line"
        );
        assert_eq!(c.get("src/dead.rs"), None);
        assert_eq!(c.get("src/old.rs"), None);
        assert_eq!(c.get("src/späce x.rs"), Some(&Lines::Ranges(vec![(5, 6)])));
        assert_eq!(c.len(), 4, "{c:?}");
    }

    #[test]
    fn parses_plain_unified_diffs() {
        // Context lines are not changes.
        let d = "--- x.rs.orig\t2024-01-01\n+++ x.rs\t2024-01-02\n@@ -1,2 +1,3 @@\n a\n+b\n c\n";
        assert_eq!(
            parse_unified(d).get("x.rs"),
            Some(&Lines::Ranges(vec![(2, 2)]))
        );
        let d = "--- a/x.rs\n+++ b/x.rs\n@@ -1 +1,2 @@\n a\n+b\n";
        assert_eq!(
            parse_unified(d).get("x.rs"),
            Some(&Lines::Ranges(vec![(2, 2)]))
        );
        // A deletion between context lines touches both neighbours.
        let d = "--- a/x.rs\n+++ b/x.rs\n@@ -1,4 +1,3 @@\n a\n b\n-c\n d\n";
        assert_eq!(
            parse_unified(d).get("x.rs"),
            Some(&Lines::Ranges(vec![(2, 3)]))
        );
    }

    #[test]
    fn touches() {
        let l = Lines::Ranges(vec![(4, 5), (10, 10)]);
        assert!(l.touches(5, 7));
        assert!(l.touches(1, 4));
        assert!(!l.touches(6, 9));
        assert!(l.touches(10, 10));
        assert!(Lines::All.touches(1000, 1000));
    }

    #[test]
    fn keep_new_looks_at_regions_and_labels_in_any_file() {
        use crate::finding::{Label, Region};
        let at = |line| Region {
            line,
            column: 1,
            end_line: line,
            end_column: 2,
        };
        let mut report = crate::output::test_support::report();
        // test_support: bank.rs:6 (label bank.rs:5), clock.rs:2 (label model.rs:2).
        report.findings[1].labels = vec![Label {
            region: at(2),
            message: "stamped here".into(),
            file: Some("src/model.rs".into()),
        }];
        let root = Path::new("/nonexistent-heisen-root");
        let only = |changes: Changes| {
            let mut r = report.clone();
            keep_new(&mut r, root, root, &changes);
            r.findings
                .iter()
                .map(|f| f.file.clone())
                .collect::<Vec<_>>()
        };
        let ranges =
            |file: &str, a, b| Changes::from([(file.to_string(), Lines::Ranges(vec![(a, b)]))]);
        assert_eq!(only(ranges("src/bank.rs", 6, 6)), ["src/bank.rs"]);
        assert_eq!(
            only(ranges("src/bank.rs", 5, 5)),
            ["src/bank.rs"],
            "label line"
        );
        assert!(only(ranges("src/bank.rs", 1, 4)).is_empty());
        assert_eq!(
            only(ranges("src/model.rs", 2, 2)),
            ["src/clock.rs"],
            "label in another file"
        );
        assert!(only(Changes::new()).is_empty());
    }

    #[test]
    fn unquoting() {
        assert_eq!(unquote(r#""a\tb\"c\\\303\274""#), "a\tb\"c\\ü");
        assert_eq!(unquote("plain"), "plain");
    }
}
