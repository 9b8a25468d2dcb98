//! `cargo bench -p cargo-heisen --bench realbugs [-- FILTER] [-- --verbose]`: recall of the
//! checker on real, published concurrency bugs, and how many of their fixes it still flags.
//!
//! The dev set is `benches/realbugs/bugs.toml` (its header documents the fields). For every
//! bug, the buggy and the fixed version of the crate are fetched from the registry (see
//! `common/mod.rs`: cached under `target/heisen-bench/src`, offline after the first run) and
//! the checker runs over each whole package as `cargo heisen check --no-cache --format json
//! PKG` would (library API, default configuration).
//!
//! * **Detected** (buggy version): a finding of a rule in the bug's group whose primary line,
//!   or one of whose same-file labels, is within `HEISEN_REALBUGS_WINDOW` lines (default 15)
//!   of the locating string's line in the bug's file.
//! * **Still flagged** (fixed version): the same test around `fixed_locate` in the fixed file.
//!
//! A locating string that is missing, or ambiguous without `occurrence`, is a data error: it
//! is reported and the bench exits 1. FILTER keeps the bugs whose id or group contains it.
//! Nothing is written into the repository.

mod common;

use cargo_heisen::finding::Finding;
use cargo_heisen::rules;
use common::{package_source, pct, scan, Scan};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Deserialize)]
struct BugFile {
    bug: Vec<Bug>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Bug {
    id: String,
    #[serde(rename = "crate")]
    krate: String,
    buggy: String,
    fixed: String,
    group: String,
    file: String,
    locate: String,
    occurrence: Option<usize>,
    fixed_file: Option<String>,
    fixed_locate: Option<String>,
    fixed_occurrence: Option<usize>,
    #[allow(dead_code)]
    source: String,
    #[allow(dead_code)]
    bug: String,
    #[allow(dead_code)]
    fix: String,
    /// Why a static checker over syntax cannot see the bug (said per bug rather than faked).
    #[allow(dead_code)]
    note: Option<String>,
}

const GROUPS: [&str; 5] = [
    "lost-update",
    "memory-ordering",
    "wall-clock",
    "retry",
    "deadlock",
];

/// The 1-based line of the `occurrence`-th line containing `needle`; an error when there is
/// none, or several and no occurrence was given.
fn locate(text: &str, needle: &str, occurrence: Option<usize>) -> Result<usize, String> {
    let hits: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    match (hits.len(), occurrence) {
        (0, _) => Err(format!("`{needle}` not found")),
        (1, None) => Ok(hits[0]),
        (_, None) => Err(format!(
            "`{needle}` is on lines {hits:?}: give an occurrence"
        )),
        (_, Some(n)) => hits
            .get(n.wrapping_sub(1))
            .copied()
            .ok_or_else(|| format!("`{needle}` occurs {} times, not {n}", hits.len())),
    }
}

/// Findings of `group` in `file` near `line`: the primary line or a same-file label.
fn near<'a>(s: &'a Scan, group: &str, file: &str, line: usize, window: usize) -> Vec<&'a Finding> {
    let close = |l: usize| l.abs_diff(line) <= window;
    s.report
        .findings
        .iter()
        .filter(|f| f.group.as_str() == group && s.rel(&f.file).as_deref() == Some(file))
        .filter(|f| {
            close(f.region.line)
                || f.labels
                    .iter()
                    .any(|l| l.file.is_none() && close(l.region.line))
        })
        .collect()
}

struct Outcome {
    /// Rules that fired near the bug in the buggy version.
    detected: Vec<&'static str>,
    /// Rules that fired near the fix in the fixed version.
    still: Vec<&'static str>,
    /// Findings of the bug's group anywhere in the buggy package (context).
    group_findings: usize,
    /// Distance in lines from the locating line to the closest finding of the bug's group in
    /// the bug's file, when there is one (how far a miss was).
    nearest: Option<usize>,
}

fn run_bug(
    bug: &Bug,
    scans: &mut HashMap<(String, String), Result<Scan, String>>,
    window: usize,
) -> Result<Outcome, String> {
    let mut one = |version: &str, file: &str, needle: &str, occ: Option<usize>| {
        let key = (bug.krate.clone(), version.to_string());
        if !scans.contains_key(&key) {
            let s = package_source(&bug.krate, version).and_then(|dir| scan(&dir));
            scans.insert(key.clone(), s);
        }
        let s = scans[&key].as_ref().map_err(|e| e.clone())?;
        let path = s.dir.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}@{version}: {file}: {e}", bug.krate))?;
        let line = locate(&text, needle, occ).map_err(|e| format!("{version} {file}: {e}"))?;
        let rules: Vec<&'static str> = near(s, &bug.group, file, line, window)
            .iter()
            .map(|f| f.rule)
            .collect();
        let in_group: Vec<&Finding> = s
            .report
            .findings
            .iter()
            .filter(|f| f.group.as_str() == bug.group)
            .collect();
        let nearest = in_group
            .iter()
            .filter(|f| s.rel(&f.file).as_deref() == Some(file))
            .map(|f| f.region.line.abs_diff(line))
            .min();
        Ok::<_, String>((rules, in_group.len(), nearest))
    };
    let (detected, group_findings, nearest) =
        one(&bug.buggy, &bug.file, &bug.locate, bug.occurrence)?;
    let (still, _, _) = one(
        &bug.fixed,
        bug.fixed_file.as_deref().unwrap_or(&bug.file),
        bug.fixed_locate.as_deref().unwrap_or(&bug.locate),
        bug.fixed_occurrence.or(if bug.fixed_locate.is_none() {
            bug.occurrence
        } else {
            None
        }),
    )?;
    Ok(Outcome {
        detected,
        still,
        group_findings,
        nearest,
    })
}

fn dedup(mut v: Vec<&'static str>) -> String {
    v.sort_unstable();
    v.dedup();
    v.join(",")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "--verbose" || a == "-v");
    let progress = std::io::stderr().is_terminal();
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned();
    let window: usize = std::env::var("HEISEN_REALBUGS_WINDOW")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let data = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../benches/realbugs/bugs.toml"
    ));
    let text = std::fs::read_to_string(&data).unwrap_or_else(|e| {
        eprintln!("error: {}: {e}", data.display());
        std::process::exit(2)
    });
    let file: BugFile = toml::from_str(&text).unwrap_or_else(|e| {
        eprintln!("error: {}: {e}", data.display());
        std::process::exit(2)
    });
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for b in &file.bug {
        if !seen.insert(b.id.as_str()) {
            errors.push(format!("{}: duplicate id", b.id));
        }
        if !GROUPS.contains(&b.group.as_str()) {
            errors.push(format!("{}: unknown group `{}`", b.id, b.group));
        }
    }
    let bugs: Vec<&Bug> = file
        .bug
        .iter()
        .filter(|b| {
            filter
                .as_deref()
                .map_or(true, |f| b.id.contains(f) || b.group == f)
        })
        .collect();
    let mut rules_per_group: BTreeMap<&str, usize> = BTreeMap::new();
    for m in rules::all_meta() {
        *rules_per_group.entry(m.group.as_str()).or_default() += 1;
    }

    let mut scans = HashMap::new();
    let mut rows: Vec<(&Bug, Result<Outcome, String>)> = Vec::new();
    for (i, b) in bugs.iter().enumerate() {
        if progress {
            eprint!("\r[{}/{}] {:<50}", i + 1, bugs.len(), b.id);
        }
        let r = run_bug(b, &mut scans, window);
        rows.push((b, r));
    }
    if progress {
        eprint!("\r{:<70}\r", "");
    }

    println!(
        "real-bug dev set: {} bugs in {} crate versions (window ±{window} lines)",
        rows.len(),
        scans.len()
    );
    println!();
    if verbose {
        println!(
            "{:<52} {:<16} {:<40} fixed version",
            "bug", "group", "buggy version"
        );
        for (b, r) in &rows {
            match r {
                Ok(o) => println!(
                    "{:<52} {:<16} {:<40} {}",
                    b.id,
                    b.group,
                    if o.detected.is_empty() {
                        match o.nearest {
                            Some(d) => {
                                format!("missed ({} in group, nearest {d} lines)", o.group_findings)
                            }
                            None => format!("missed ({} in group)", o.group_findings),
                        }
                    } else {
                        format!("found: {}", dedup(o.detected.clone()))
                    },
                    if o.still.is_empty() {
                        "clean".to_string()
                    } else {
                        format!("STILL FLAGGED: {}", dedup(o.still.clone()))
                    }
                ),
                Err(e) => println!("{:<52} {:<16} ERROR {e}", b.id, b.group),
            }
        }
        println!();
    }
    println!("| group | rules | bugs | detected | recall | fixed still flagged |");
    println!("|---|---|---|---|---|---|");
    let (mut tb, mut td, mut tf) = (0, 0, 0);
    for g in GROUPS {
        let ok: Vec<&Outcome> = rows
            .iter()
            .filter(|(b, _)| b.group == g)
            .filter_map(|(_, r)| r.as_ref().ok())
            .collect();
        let n = ok.len();
        let d = ok.iter().filter(|o| !o.detected.is_empty()).count();
        let f = ok.iter().filter(|o| !o.still.is_empty()).count();
        if n == 0 {
            continue;
        }
        let rules = rules_per_group.get(g).copied().unwrap_or(0);
        println!(
            "| {g} | {rules} | {n} | {d} | {} | {f} ({}) |",
            pct(d, n),
            pct(f, n)
        );
        (tb, td, tf) = (tb + n, td + d, tf + f);
    }
    println!(
        "| **all** | | {tb} | {td} | {} | {tf} ({}) |",
        pct(td, tb),
        pct(tf, tb)
    );
    for (b, r) in &rows {
        if let Err(e) = r {
            errors.push(format!("{}: {e}", b.id));
        }
    }
    if !errors.is_empty() {
        eprintln!();
        for e in &errors {
            eprintln!("error: {e}");
        }
        std::process::exit(1);
    }
}
