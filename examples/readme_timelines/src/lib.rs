//! Keeps the failure timelines shown in `examples/README.md` (and in the repository's
//! `README.md`) equal to real captured output.
//!
//! A timeline in the README is a marker line naming `<example>::<test>`, then a fenced block:
//!
//! ````text
//! <!-- timeline: fencing_token::zombie_leader_buggy -->
//! ```text
//! heisen: model::zombie_leader_buggy FAILED under shuttle (…) in execution #2
//! …
//! ```
//! ````
//!
//! An example with such blocks has a `readme_timeline` test in its `tests/model.rs`:
//!
//! ```ignore
//! #[test]
//! #[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
//! fn readme_timeline() {
//!     readme_timelines::check!(zombie_leader_buggy);
//! }
//! ```
//!
//! [`check!`] runs the named `#[heisen::model]` tests in-process with
//! `heisen::runner::capture_report` and hands the reports to [`compare`]. The test fails when a
//! block differs from the report; with `UPDATE_TIMELINES=1` it rewrites the blocks instead. Reports are compared after [`normalize`]: trailing spaces go,
//! and paths into the cargo registry (loom's or shuttle's source, which differ per machine)
//! are shortened to `~/.cargo/registry/src/…/<crate>-<version>/…`.

use std::path::{Path, PathBuf};

/// The marker that precedes a timeline block: `<!-- timeline: <example>::<test> -->`.
const MARKER: (&str, &str) = ("<!-- timeline: ", " -->");

/// Environment variables that change what a model test explores; the README shows the
/// default exploration, so the comparison is skipped when one is set.
const EXPLORATION_VARS: &[&str] = &[
    "HEISEN_SEED",
    "HEISEN_BACKEND",
    "HEISEN_REPLAY",
    "HEISEN_SHUTTLE_JOBS",
];

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("readme_timelines/ lives in examples/")
        .to_path_buf()
}

/// One timeline block of the README.
struct Block {
    /// `<example>::<test>`.
    key: String,
    /// Line range of the block's content (between the fences).
    lines: std::ops::Range<usize>,
}

fn blocks(lines: &[&str]) -> Vec<Block> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(key) = line
            .trim()
            .strip_prefix(MARKER.0)
            .and_then(|r| r.strip_suffix(MARKER.1))
        else {
            continue;
        };
        assert!(
            lines.get(i + 1).is_some_and(|l| l.starts_with("```")),
            "examples/README.md:{}: a timeline marker must be followed by a fenced block",
            i + 1
        );
        let end = (i + 2..lines.len())
            .find(|&j| lines[j].trim_end() == "```")
            .unwrap_or_else(|| panic!("examples/README.md:{}: unclosed timeline block", i + 2));
        out.push(Block {
            key: key.trim().to_string(),
            lines: i + 2..end,
        });
    }
    out
}

/// A report as the README shows it: no trailing spaces, registry paths shortened.
pub fn normalize(report: &str) -> String {
    const REGISTRY: &str = "/registry/src/";
    let mut out = String::new();
    for line in report.trim_end().lines() {
        const SHORT: &str = "~/.cargo/registry/src/…/";
        let mut line = line.trim_end().to_string();
        let mut from = 0;
        while let Some(at) = line[from..].find(REGISTRY).map(|i| from + i) {
            let start = line[..at].rfind(' ').map_or(0, |s| s + 1);
            let index_dir = at + REGISTRY.len();
            let end = line[index_dir..]
                .find('/')
                .map_or(line.len(), |e| index_dir + e + 1);
            line.replace_range(start..end, SHORT);
            from = start + SHORT.len();
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Captures the reports of the calling example's `#[heisen::model]` tests named here and
/// [`compare`]s them with the README's timelines.
#[macro_export]
macro_rules! check {
    ($($test:ident),+ $(,)?) => {
        $crate::compare(
            ::core::env!("CARGO_PKG_NAME"),
            &[$((::core::stringify!($test), ::heisen::runner::capture_report($test))),+],
        )
    };
}

/// Compares the README's timeline blocks of `example` with the captured `reports`
/// (`(test, capture_report(test))`), or rewrites them when `UPDATE_TIMELINES=1`.
///
/// Panics when a block differs, when a listed test passed (no counterexample to show), when a
/// listed test has no block or a block of `example` names an unlisted test, and when a block
/// of another example names a test that example does not check.
pub fn compare(example: &str, reports: &[(&str, Option<String>)]) {
    if let Some(var) = EXPLORATION_VARS
        .iter()
        .find(|v| std::env::var_os(v).is_some())
    {
        eprintln!("readme_timelines: {var} is set; the README shows the default exploration, not compared");
        return;
    }
    // Every listed test is shown in examples/README.md or in the repository's README.md.
    let mut shown = compare_file(
        &examples_dir().join("README.md"),
        "examples/README.md",
        example,
        reports,
    );
    let top = examples_dir().join("..").join("README.md");
    if top.is_file() {
        shown.extend(compare_file(&top, "README.md", example, reports));
    }
    for (test, _) in reports {
        let key = format!("{example}::{test}");
        assert!(
            shown.contains(&key),
            "no timeline of `{key}` in examples/README.md or README.md: add a line `{}{key}{}` followed by an empty ```text block, then run with UPDATE_TIMELINES=1",
            MARKER.0,
            MARKER.1
        );
    }
}

/// Compares (or rewrites) the blocks of `example` in one README; returns their keys.
fn compare_file(
    path: &Path,
    name: &str,
    example: &str,
    reports: &[(&str, Option<String>)],
) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {name}: {e}"));
    let lines: Vec<&str> = text.lines().collect();
    let blocks = blocks(&lines);

    // Every block is checked by the example it names.
    for b in &blocks {
        let (ex, test) = b
            .key
            .split_once("::")
            .unwrap_or_else(|| panic!("timeline marker `{}`: expected <example>::<test>", b.key));
        let checked = std::fs::read_dir(examples_dir().join(ex).join("tests"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .any(|src| {
                src.contains("readme_timelines::check!") && src.contains(&format!("fn {test}("))
            });
        assert!(
            checked,
            "timeline `{}` in {name}: examples/{ex}/tests/ has no `fn {test}` checked by readme_timelines::check!",
            b.key
        );
    }

    let mine: Vec<&Block> = blocks
        .iter()
        .filter(|b| b.key.split_once("::").is_some_and(|(e, _)| e == example))
        .collect();
    for b in &mine {
        assert!(
            reports
                .iter()
                .any(|(t, _)| b.key == format!("{example}::{t}")),
            "timeline `{}` in {name} is not among the reports checked by {example}",
            b.key
        );
    }
    let mut new_lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mut stale = Vec::new();
    // Replace from the last block up, so earlier line ranges stay valid.
    let mut replacements = Vec::new();
    for (test, report) in reports {
        let key = format!("{example}::{test}");
        let Some(block) = mine.iter().find(|b| b.key == key) else {
            continue;
        };
        let report = report
            .as_deref()
            .unwrap_or_else(|| panic!("{key} passed: there is no counterexample to show"));
        let want = normalize(report);
        let have: String = lines[block.lines.clone()]
            .iter()
            .map(|l| format!("{}\n", l.trim_end()))
            .collect();
        if want != have {
            let first = want
                .lines()
                .zip(have.lines())
                .position(|(w, h)| w != h)
                .unwrap_or_else(|| want.lines().count().min(have.lines().count()));
            stale.push(format!(
                "{key}: {name} line {} differs from the captured report:\n  README:   {}\n  captured: {}",
                block.lines.start + first + 1,
                have.lines().nth(first).unwrap_or("(end of block)"),
                want.lines().nth(first).unwrap_or("(end of report)")
            ));
            replacements.push((block.lines.clone(), want));
        }
    }
    let keys = mine.iter().map(|b| b.key.clone()).collect();
    if stale.is_empty() {
        return keys;
    }
    if std::env::var("UPDATE_TIMELINES").is_ok_and(|v| v == "1") {
        replacements.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
        for (range, want) in replacements {
            new_lines.splice(range, want.lines().map(str::to_string));
        }
        let mut out = new_lines.join("\n");
        out.push('\n');
        std::fs::write(path, out).unwrap_or_else(|e| panic!("write {name}: {e}"));
        eprintln!(
            "readme_timelines: rewrote {} timeline(s) of {example} in {name}",
            stale.len()
        );
        return keys;
    }
    panic!(
        "{name} shows outdated timelines:\n{}\n\nrun `UPDATE_TIMELINES=1 cargo test -p {example}` in examples/ to rewrite them (and read the diff)",
        stale.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_paths_and_trailing_spaces_are_normalized() {
        let r = "  9  T0 │ unlock log   \n  raised by loom at /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/loom-0.7.2/src/rt/location.rs:115:9\n\n";
        assert_eq!(
            normalize(r),
            "  9  T0 │ unlock log\n  raised by loom at ~/.cargo/registry/src/…/loom-0.7.2/src/rt/location.rs:115:9\n"
        );
    }

    #[test]
    fn blocks_are_found_after_their_markers() {
        let text = "intro\n<!-- timeline: a::b -->\n```text\nx\ny\n```\nmore\n";
        let lines: Vec<&str> = text.lines().collect();
        let b = blocks(&lines);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].key, "a::b");
        assert_eq!(&lines[b[0].lines.clone()], &["x", "y"]);
    }
}

/// Loading a counterexample page in headless Chromium (shared with the `heisen` crate's own
/// tests).
#[path = "../../../tests/support/browser.rs"]
pub mod browser;

/// Runs the calling test binary's `#[heisen::model]` test `test` in a child process with
/// `HEISEN_REPORT_DIR` set, so that the runner writes its counterexample page as it does for
/// users; checks that the page was written; then loads it in headless Chromium and checks
/// that it shows the lanes and every step of `report` (the test's text report, from
/// `capture_report`) in order, in its thread's column. Takes a `width`×`height` screenshot
/// next to the page, copied to the repository's `docs/img/<screenshot>` with
/// `UPDATE_SCREENSHOTS=1`.
///
/// Returns the layout the browser computed, or `None` (after saying so on stderr) when no
/// Chromium is installed.
pub fn check_page(
    test: &str,
    report: &str,
    screenshot: Option<(&str, u32, u32)>,
) -> Option<browser::Layout> {
    let dir = std::env::temp_dir().join(format!("heisen-page-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new(exe)
        .args(["--exact", test, "--include-ignored", "--test-threads=1"])
        .env("HEISEN_REPORT_DIR", &dir)
        .env_remove("HEISEN_SUMMARY_FILE")
        .output()
        .expect("rerun the test binary");
    assert!(
        out.status.success(),
        "{test} did not fail as expected:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let page = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{test} wrote no counterexample in {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "html"))
        .unwrap_or_else(|| panic!("{test} wrote no page in {}", dir.display()));
    assert!(
        page.with_extension("json").is_file(),
        "the JSON is written next to the page"
    );
    let Some(chromium) = browser::chromium() else {
        eprintln!(
            "readme_timelines: skipped loading {} in a browser: no Chromium found \
             (install chromium, or set HEISEN_CHROMIUM)",
            page.display()
        );
        return None;
    };
    // The text report's lanes and rows.
    let lanes: Vec<String> = {
        let line = report
            .lines()
            .find_map(|l| l.trim().strip_prefix("threads:"))
            .expect("a threads line");
        let mut lanes: Vec<String> = Vec::new();
        for tok in line.split_whitespace() {
            let is_lane = tok.starts_with('T') && tok[1..].chars().all(|c| c.is_ascii_digit());
            match lanes.last_mut() {
                Some(last) if !is_lane => {
                    last.push(' ');
                    last.push_str(tok);
                }
                _ => lanes.push(tok.to_string()),
            }
        }
        lanes
    };
    let rows = browser::report_rows(report);
    let layout = browser::layout(&chromium, &page);
    let lane_refs: Vec<&str> = lanes.iter().map(String::as_str).collect();
    browser::assert_well_formed(&layout, &lane_refs, rows.len());
    for (row, shown) in rows.iter().zip(&layout.rows) {
        assert!(
            row.contains(&format!("T{} ", shown.thread))
                || row.contains(&format!("T{}│", shown.thread)),
            "step {} is in lane T{} in the report too: {row}",
            shown.step,
            shown.thread
        );
        assert!(
            row.contains(&shown.text),
            "step {} shows the report's text `{}`: {row}",
            shown.step,
            shown.text
        );
    }
    assert!(layout.replay.contains("HEISEN_REPLAY="), "{layout:#?}");
    if let Some((name, width, height)) = screenshot {
        let png = page.with_extension("png");
        browser::screenshot(&chromium, &page, &png, width, height);
        if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
            let dest = examples_dir().join("../docs/img").join(name);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(&png, &dest).unwrap();
            eprintln!("readme_timelines: wrote {}", dest.display());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Some(layout)
}
