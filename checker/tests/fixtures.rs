//! The fixture harness: every file (or directory = one crate) under `tests/fixtures/` is run
//! through the real pipeline (parse → facts → rules → suppressions → levels) and its findings
//! must match the inline markers exactly: a line ending in `//~ rule-a rule-b` expects those
//! findings starting on that line; any other finding, or a missing one, fails. Each fixture's
//! rendered findings (message, labels, help, fix) are also an insta snapshot
//! (`tests/snapshots/fixtures__<fixture>.snap`), so a change of wording or of a label fails
//! too; review one with `cargo insta review` (or regenerate with `INSTA_UPDATE=always`).

use cargo_heisen::config::Config;
use cargo_heisen::engine::{self, Parsed};
use cargo_heisen::finding::{Finding, Region};
use cargo_heisen::rules;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// (file, line, rule) expected by the markers of `text`.
fn markers(rel: &str, text: &str) -> BTreeSet<(String, usize, String)> {
    let mut out = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(pos) = line.find("//~ ") {
            for rule in line[pos + 4..].split_whitespace() {
                assert!(
                    rules::find(rule).is_some(),
                    "{rel}:{}: marker names unknown rule `{rule}`",
                    i + 1
                );
                out.insert((rel.to_string(), i + 1, rule.to_string()));
            }
        }
    }
    out
}

/// (file, line, rule) triples.
type Markers = BTreeSet<(String, usize, String)>;

/// `line:column-end_line:end_column`.
fn at(r: &Region) -> String {
    format!("{}:{}-{}:{}", r.line, r.column, r.end_line, r.end_column)
}

/// One finding as its snapshot shows it: everything a user reads, in report order.
fn render(f: &Finding) -> String {
    let mut s = format!(
        "{} {} {}:{} [{}]\n  {}\n  help: {}\n",
        f.rule,
        f.level,
        f.file,
        at(&f.region),
        f.function.as_deref().unwrap_or("-"),
        f.message,
        f.help
    );
    for l in &f.labels {
        let file = l
            .file
            .as_deref()
            .map(|f| format!("{f}:"))
            .unwrap_or_default();
        s.push_str(&format!("  label {file}{}: {}\n", at(&l.region), l.message));
    }
    if let Some(fix) = &f.fix {
        s.push_str(&format!(
            "  fix {}: {:?}\n",
            at(&fix.region),
            fix.replacement
        ));
    }
    s
}

/// Runs one fixture crate; returns (expected, actual, rendered findings).
fn run_fixture(files: &[PathBuf]) -> (Markers, Markers, String) {
    let mut expected = BTreeSet::new();
    let mut parsed: Vec<Parsed> = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(fixtures_dir())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(f).unwrap();
        expected.extend(markers(&rel, &text));
        match engine::parse_text(text, f, &rel, 0) {
            Ok(p) => parsed.push(p),
            Err(e) => panic!("fixture {rel} does not parse: {e:?}"),
        }
    }
    let refs: Vec<&Parsed> = parsed.iter().collect();
    let mut failures = Vec::new();
    let raw = engine::run_rules(&refs, &mut failures);
    assert!(failures.is_empty(), "rule failures: {failures:?}");
    let n = parsed.len();
    let report = engine::filter(raw, &parsed, Vec::new(), n, &fixture_config(files));
    let actual = report
        .findings
        .iter()
        .map(|f| (f.file.clone(), f.region.line, f.rule.to_string()))
        .collect();
    let rendered = report
        .findings
        .iter()
        .map(render)
        .collect::<Vec<_>>()
        .join("\n");
    (expected, actual, rendered)
}

/// The configuration of a fixture: a fixture directory may hold a `heisen.toml` (e.g. to turn
/// on a rule that is off by default); otherwise the built-in default.
fn fixture_config(files: &[PathBuf]) -> Config {
    let Some(dir) = files.first().and_then(|f| f.parent()) else {
        return Config::default();
    };
    let toml = dir.join("heisen.toml");
    if dir == fixtures_dir() || !toml.exists() {
        return Config::default();
    }
    let text = std::fs::read_to_string(&toml).unwrap();
    Config::from_toml_str(&text, &toml, &rules::all_meta())
        .unwrap_or_else(|e| panic!("{}: {e:?}", toml.display()))
}

/// Every fixture: `name.rs` is a one-file crate, `name/` a crate of its `.rs` files.
fn all_fixtures() -> Vec<(String, Vec<PathBuf>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .collect();
            files.sort();
            out.push((name, files));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((name, vec![path]));
        }
    }
    out.sort();
    out
}

#[test]
fn fixtures_match_their_markers() {
    let mut report = String::new();
    for (name, files) in all_fixtures() {
        let (expected, actual, _) = run_fixture(&files);
        let missing: Vec<_> = expected.difference(&actual).collect();
        let unexpected: Vec<_> = actual.difference(&expected).collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            report.push_str(&format!(
                "fixture `{name}`:\n  missing:    {missing:?}\n  unexpected: {unexpected:?}\n"
            ));
        }
    }
    assert!(report.is_empty(), "\n{report}");
}

#[test]
fn every_rule_has_a_fixture_that_fires_it() {
    let fixtures = all_fixtures();
    for meta in rules::all_meta() {
        let Some((_, files)) = fixtures.iter().find(|(n, _)| n == meta.name) else {
            panic!(
                "rule `{}` has no fixture tests/fixtures/{}.rs (or directory)",
                meta.name, meta.name
            );
        };
        let (expected, _, _) = run_fixture(files);
        assert!(
            expected.iter().any(|(_, _, r)| r == meta.name),
            "fixture of `{}` expects no finding of it",
            meta.name
        );
    }
}

#[test]
fn fixture_names_are_rules() {
    let names: BTreeSet<&str> = rules::all_meta().iter().map(|m| m.name).collect();
    for (name, _) in all_fixtures() {
        assert!(
            names.contains(name.as_str()),
            "fixture `{name}` names no rule"
        );
    }
}

/// The wording of every fixture's findings: messages, helps, labels and fixes.
#[test]
fn fixture_findings_match_their_snapshots() {
    for (name, files) in all_fixtures() {
        let (_, _, rendered) = run_fixture(&files);
        insta::assert_snapshot!(format!("fixture_{name}"), rendered);
    }
}
