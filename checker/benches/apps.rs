//! `cargo bench -p cargo-heisen --bench apps [-- APP] [-- --stubs]`: the checker on
//! published applications, compared with a reviewed list of its findings.
//!
//! The corpus is `benches/apps/apps.toml` (pinned name + version of each application
//! package); every version is fetched from the registry like the real-bug set (see
//! `common/mod.rs`; offline after the first run) and checked as a whole package with the
//! default configuration and no cache.
//!
//! Every finding was read in its source and classified in `benches/apps/findings.toml`:
//! `true` (a real hazard), `intended` (the code does what the rule describes on purpose and
//! is right to, e.g. a single-writer design), `false` (the rule is wrong about the code). A
//! finding is keyed by app, rule, file, enclosing function and the trimmed text of its
//! primary line — no line numbers, so unrelated edits do not unmatch it. The bench prints
//! findings with no review (new), reviews whose finding is gone, and per app and in total:
//!
//! * **false-positive rate** = false / reviewed findings present (the issue's gate: ≤ 20 %);
//! * **precision** = true / reviewed findings present (intended findings count against it:
//!   they are not bugs, even if not wrong).
//!
//! A review may carry `gone = "why"`: its finding went away on purpose (a policy or an
//! analysis change); such reviews are counted, not listed, while gone, and listed if the
//! finding comes back.
//!
//! `--stubs` prints a TOML entry for each unreviewed finding, to paste and classify.
//! Nothing is written into the repository.

mod common;

use common::{in_test_code, package_source, pct, scan};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Deserialize)]
struct AppFile {
    app: Vec<App>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct App {
    name: String,
    version: String,
    #[allow(dead_code)]
    kind: String,
}

#[derive(Deserialize, Default)]
struct ReviewFile {
    #[serde(default)]
    finding: Vec<Review>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Review {
    app: String,
    rule: String,
    file: String,
    #[serde(default)]
    function: String,
    text: String,
    verdict: String,
    #[allow(dead_code)]
    reason: String,
    /// Set when the finding went away on purpose: the change that removed it and why
    /// (`gone = "test code: the wall-clock group no longer checks tests/ by default"`). The
    /// review stays, so the finding is classified again if it ever comes back, but it is not
    /// listed among the reviewed findings that are gone.
    #[serde(default)]
    gone: Option<String>,
}

type Key = (String, String, String, String, String);

struct Seen {
    key: Key,
    line: usize,
    message: String,
}

fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("error: {}: {e}", path.display());
        std::process::exit(2)
    })
}

/// One line per review: app, file, rule, function, verdict and the keyed line's text.
fn print_reviews(reviews: &[&Review]) {
    for r in reviews {
        println!(
            "  {} {} {} in `{}` ({}): {}",
            r.app, r.file, r.rule, r.function, r.verdict, r.text
        );
    }
}

fn toml_str(s: &str) -> String {
    format!("{s:?}")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stubs = args.iter().any(|a| a == "--stubs");
    let progress = std::io::stderr().is_terminal();
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned();
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/apps"));
    let apps: AppFile = toml::from_str(&read(&dir.join("apps.toml"))).unwrap_or_else(|e| {
        eprintln!("error: apps.toml: {e}");
        std::process::exit(2)
    });
    let reviews: ReviewFile =
        toml::from_str(&read(&dir.join("findings.toml"))).unwrap_or_else(|e| {
            eprintln!("error: findings.toml: {e}");
            std::process::exit(2)
        });
    let mut errors = Vec::new();
    for r in &reviews.finding {
        if !matches!(r.verdict.as_str(), "true" | "intended" | "false") {
            errors.push(format!(
                "findings.toml: verdict `{}` is not true/intended/false",
                r.verdict
            ));
        }
        if !apps.app.iter().any(|a| a.name == r.app) {
            errors.push(format!("findings.toml: unknown app `{}`", r.app));
        }
    }
    // Reviews as a multiset: the same key may be reviewed more than once.
    let mut pending: BTreeMap<Key, Vec<&Review>> = BTreeMap::new();
    for r in &reviews.finding {
        let key = (
            r.app.clone(),
            r.rule.clone(),
            r.file.clone(),
            r.function.clone(),
            r.text.clone(),
        );
        pending.entry(key).or_default().push(r);
    }

    println!("| application | version | files | findings | in test code | true | intended | false | unreviewed |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut new: Vec<Seen> = Vec::new();
    let mut back: Vec<&Review> = Vec::new();
    let (mut t_files, mut t_all, mut t_test) = (0, 0, 0);
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_rule: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for app in &apps.app {
        if filter.as_deref().is_some_and(|f| !app.name.contains(f)) {
            continue;
        }
        if progress {
            eprint!("\rchecking {}@{} …{:<20}", app.name, app.version, "");
        }
        let s = match package_source(&app.name, &app.version).and_then(|d| scan(&d)) {
            Ok(s) => s,
            Err(e) => {
                errors.push(format!("{}@{}: {e}", app.name, app.version));
                continue;
            }
        };
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut test = 0;
        for f in &s.report.findings {
            let rel = s.rel(&f.file).unwrap_or_else(|| f.file.clone());
            let text = s.report.sources.get(&f.file).map_or("", |t| &**t);
            if in_test_code(&rel, text, f.region.line) {
                test += 1;
            }
            let key = (
                app.name.clone(),
                f.rule.to_string(),
                rel,
                f.function.clone().unwrap_or_default(),
                s.line_text(f, f.region.line),
            );
            let review = pending.get_mut(&key).and_then(|v| v.pop());
            if let Some(r) = review.filter(|r| r.gone.is_some()) {
                back.push(r);
            }
            let verdict = review.map(|r| r.verdict.as_str());
            let v = verdict.unwrap_or("unreviewed");
            *counts.entry(v).or_default() += 1;
            *per_rule
                .entry(f.rule.to_string())
                .or_default()
                .entry(v.to_string())
                .or_default() += 1;
            if verdict.is_none() {
                new.push(Seen {
                    key,
                    line: f.region.line,
                    message: f.message.clone(),
                });
            }
        }
        let n = s.report.findings.len();
        let c = |k: &str| counts.get(k).copied().unwrap_or(0);
        println!(
            "| {} | {} | {} | {n} | {test} | {} | {} | {} | {} |",
            app.name,
            app.version,
            s.report.summary.files_scanned,
            c("true"),
            c("intended"),
            c("false"),
            c("unreviewed"),
        );
        t_files += s.report.summary.files_scanned;
        t_all += n;
        t_test += test;
        for (k, v) in counts {
            *totals.entry(k).or_default() += v;
        }
    }
    if progress {
        eprint!("\r{:<70}\r", "");
    }
    let c = |k: &str| totals.get(k).copied().unwrap_or(0);
    let reviewed = c("true") + c("intended") + c("false");
    println!(
        "| **all** | | {t_files} | {t_all} | {t_test} | {} | {} | {} | {} |",
        c("true"),
        c("intended"),
        c("false"),
        c("unreviewed")
    );
    println!();
    println!(
        "reviewed findings present: {reviewed}; false-positive rate {} (false / reviewed), \
         precision {} (true / reviewed)",
        pct(c("false"), reviewed),
        pct(c("true"), reviewed)
    );
    println!();
    println!("| rule | true | intended | false | unreviewed |");
    println!("|---|---|---|---|---|");
    for (rule, v) in &per_rule {
        let g = |k: &str| v.get(k).copied().unwrap_or(0);
        println!(
            "| {rule} | {} | {} | {} | {} |",
            g("true"),
            g("intended"),
            g("false"),
            g("unreviewed")
        );
    }
    let (retired, gone): (Vec<&Review>, Vec<&Review>) = pending
        .values()
        .flatten()
        .copied()
        .filter(|r| filter.as_deref().map_or(true, |f| r.app.contains(f)))
        .partition(|r| r.gone.is_some());
    if !new.is_empty() {
        println!();
        println!("new (unreviewed) findings: {}", new.len());
        for s in &new {
            let (app, rule, file, function, text) = &s.key;
            println!("  {app} {file}:{} {rule} in `{function}`: {text}", s.line);
            println!("      {}", s.message);
        }
    }
    if !gone.is_empty() {
        println!();
        println!("reviewed findings now gone: {}", gone.len());
        print_reviews(&gone);
    }
    if !retired.is_empty() {
        println!();
        println!(
            "reviewed findings gone on purpose (`gone` in findings.toml): {}",
            retired.len()
        );
    }
    if !back.is_empty() {
        println!();
        println!("findings marked `gone` that are back: {}", back.len());
        print_reviews(&back);
    }
    if stubs && !new.is_empty() {
        println!();
        for s in &new {
            let (app, rule, file, function, text) = &s.key;
            println!("[[finding]]");
            println!("app = {}", toml_str(app));
            println!("rule = {}", toml_str(rule));
            println!("file = {}", toml_str(file));
            println!("function = {}", toml_str(function));
            println!("text = {}", toml_str(text));
            println!("verdict = \"\"");
            println!("reason = \"\"  # line {}: {}", s.line, s.message);
            println!();
        }
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("error: {e}");
        }
        std::process::exit(1);
    }
}
