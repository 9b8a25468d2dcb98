//! End-to-end tests of the CI gate: baselines, only-new findings (git and patches), the
//! result cache, `--fix`, `--statistics` and the CI output formats (SARIF required fields,
//! GitLab, GitHub and Markdown snapshots).

use cargo_heisen::cache::Cache;
use cargo_heisen::config::Config;
use cargo_heisen::{discover, engine, rules};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::heisen_in;

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("run git");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The JSON Lines findings of a run.
fn findings(o: &Output) -> Vec<serde_json::Value> {
    out(o)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect(l))
        .filter(|v| v["kind"] == "finding")
        .collect()
}

const MANIFEST: &str =
    "[package]\nname = \"gate-demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n";

const V1: &str = "use std::sync::atomic::{AtomicI64, Ordering};

pub struct Account {
    balance: AtomicI64,
}

impl Account {
    pub fn withdraw(&self, amount: i64) -> bool {
        let balance = self.balance.load(Ordering::SeqCst);
        if balance < amount {
            return false;
        }
        self.balance.store(balance - amount, Ordering::SeqCst);
        true
    }
}
";

/// V1 with unrelated lines inserted above the first hazard, and a second hazard.
fn v2() -> String {
    V1.replace(
        "impl Account {\n",
        "/// Limits.\npub const MAX: i64 = 1_000;\n\nimpl Account {\n    pub fn max() -> i64 {\n        MAX\n    }\n\n",
    )
    .replace(
        "        true\n    }\n}\n",
        "        true\n    }

    pub fn deposit(&self, amount: i64) {
        let current = self.balance.load(Ordering::SeqCst);
        self.balance.store(current + amount, Ordering::SeqCst);
    }
}
",
    )
}

/// A git repository with a cargo package: commit 1 has one hazard (`withdraw`), commit 2
/// inserts unrelated lines above it and adds a second (`deposit`).
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("Cargo.toml"), MANIFEST).unwrap();
    std::fs::write(d.join(".gitignore"), "/target\n").unwrap();
    std::fs::create_dir(d.join("src")).unwrap();
    std::fs::write(d.join("src/lib.rs"), V1).unwrap();
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "one hazard"]);
    dir
}

fn commit_v2(d: &Path) {
    std::fs::write(d.join("src/lib.rs"), v2()).unwrap();
    git(d, &["commit", "-q", "-am", "second hazard"]);
}

#[test]
fn new_from_rev_reports_only_the_second_hazard() {
    let dir = repo();
    let d = dir.path();
    let o = heisen_in(d, &["check", "--format", "json"]);
    assert_eq!(findings(&o).len(), 1, "{}{}", out(&o), err(&o));
    commit_v2(d);
    let all = heisen_in(d, &["check", "--format", "json"]);
    assert_eq!(findings(&all).len(), 2, "{}", out(&all));

    let o = heisen_in(
        d,
        &["check", "--format", "json", "--new-from-rev", "HEAD~1"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let f = findings(&o);
    assert_eq!(f.len(), 1, "{}", out(&o));
    assert_eq!(f[0]["function"], "Account::deposit");
    assert_eq!(f[0]["rule"], "atomic-load-store");
    // The summary object counts what is reported.
    assert!(
        out(&o).contains("\"kind\":\"summary\",\"findings\":1,"),
        "{}",
        out(&o)
    );

    // Nothing changed since HEAD: nothing new, exit 0.
    let o = heisen_in(d, &["check", "--new-from-rev", "HEAD"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    // Uncommitted changes count: touch the first hazard's store line.
    let text = v2().replace(
        "self.balance.store(balance - amount, Ordering::SeqCst);",
        "self.balance.store(balance - amount, Ordering::SeqCst); // edited",
    );
    std::fs::write(d.join("src/lib.rs"), text).unwrap();
    let o = heisen_in(d, &["check", "--format", "json", "--new-from-rev", "HEAD"]);
    let f = findings(&o);
    assert_eq!(f.len(), 1, "{}", out(&o));
    assert_eq!(f[0]["function"], "Account::withdraw");
    // Untracked files are new in full.
    std::fs::write(d.join("src/lib.rs"), v2()).unwrap();
    std::fs::write(d.join("src/extra.rs"), V1.replace("Account", "Other")).unwrap();
    let o = heisen_in(d, &["check", "--format", "json", "--new-from-rev", "HEAD"]);
    let f = findings(&o);
    assert_eq!(f.len(), 1, "{}", out(&o));
    assert_eq!(f[0]["file"], "src/extra.rs");

    // The same through a patch file.
    std::fs::remove_file(d.join("src/extra.rs")).unwrap();
    let patch = Command::new("git")
        .args(["diff", "HEAD~1", "HEAD"])
        .current_dir(d)
        .output()
        .unwrap();
    let patch_file = d.join("target-change.diff");
    std::fs::write(&patch_file, &patch.stdout).unwrap();
    let o = heisen_in(
        d,
        &[
            "check",
            "--format",
            "json",
            "--new-from-patch",
            "target-change.diff",
        ],
    );
    let f = findings(&o);
    assert_eq!(f.len(), 1, "{}{}", out(&o), err(&o));
    assert_eq!(f[0]["function"], "Account::deposit");

    // Errors: unknown revision, not a diff.
    let o = heisen_in(d, &["check", "--new-from-rev", "no-such-rev"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).starts_with("error:"), "{}", err(&o));
    std::fs::write(&patch_file, "hello\n").unwrap();
    let o = heisen_in(d, &["check", "--new-from-patch", "target-change.diff"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("not a unified diff"), "{}", err(&o));
}

#[test]
fn new_from_rev_outside_git_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rs"), V1).unwrap();
    let o = heisen_in(dir.path(), &["check", "a.rs", "--new-from-rev", "HEAD"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let e = err(&o);
    assert!(
        e.starts_with("error:") && e.contains("git repository"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn baseline_hides_known_findings_after_unrelated_edits() {
    let dir = repo();
    let d = dir.path();
    let store = tempfile::tempdir().unwrap();
    let baseline = store.path().join("heisen-baseline.json");
    let b = baseline.to_str().unwrap();
    let o = heisen_in(d, &["check", "--write-baseline", b]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(err(&o).contains("wrote 1 baseline entry"), "{}", err(&o));
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(written["entries"][0]["function"], "Account::withdraw");

    // Same tree: nothing to report.
    let o = heisen_in(d, &["check", "--baseline", b]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));

    // Unrelated lines inserted above the known hazard, and a new hazard.
    commit_v2(d);
    let o = heisen_in(d, &["check", "--format", "json", "--baseline", b]);
    assert_eq!(o.status.code(), Some(1));
    let f = findings(&o);
    assert_eq!(f.len(), 1, "{}", out(&o));
    assert_eq!(f[0]["function"], "Account::deposit");
    assert!(err(&o).contains("1 known finding hidden"), "{}", err(&o));
    assert!(!err(&o).contains("fixed"), "{}", err(&o));

    // The known hazard fixed: counted.
    let fixed = v2().replace(
        "let balance = self.balance.load(Ordering::SeqCst);\n        if balance < amount {\n            return false;\n        }\n        self.balance.store(balance - amount, Ordering::SeqCst);\n        true",
        "self.balance\n            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| (b >= amount).then(|| b - amount))\n            .is_ok()",
    );
    assert_ne!(fixed, v2());
    std::fs::write(d.join("src/lib.rs"), fixed).unwrap();
    let o = heisen_in(d, &["check", "--format", "json", "--baseline", b]);
    assert_eq!(findings(&o).len(), 1, "{}", out(&o));
    assert!(
        err(&o).contains("1 entry fixed — rewrite the baseline"),
        "{}",
        err(&o)
    );

    // Missing and corrupt baselines are errors.
    let missing = store.path().join("nope.json");
    let o = heisen_in(d, &["check", "--baseline", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).starts_with("error: cannot read baseline"),
        "{}",
        err(&o)
    );
    std::fs::write(&baseline, "{\"heisen_baseline\": 1, \"entries\": [").unwrap();
    let o = heisen_in(d, &["check", "--baseline", b]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("is not a heisen baseline"), "{}", err(&o));
}

/// SARIF 2.1.0: the properties the schema marks `required`, on every object that has them.
#[test]
fn sarif_has_the_schema_required_fields() {
    let dir = repo();
    commit_v2(dir.path());
    std::fs::write(dir.path().join("src/broken.rs"), "fn f( {").unwrap();
    let o = heisen_in(dir.path(), &["check", "--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    // sarifLog: version, runs.
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif"));
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    // run: tool; tool: driver; toolComponent: name.
    let driver = &run["tool"]["driver"];
    assert!(driver["name"].is_string());
    let rules = driver["rules"].as_array().unwrap();
    // reportingDescriptor: id. multiformatMessageString: text.
    for r in rules {
        assert!(r["id"].is_string(), "{r}");
        assert!(r["shortDescription"]["text"].is_string(), "{r}");
    }
    // invocation: executionSuccessful; notification: message.
    for inv in run["invocations"].as_array().unwrap() {
        assert!(inv["executionSuccessful"].is_boolean());
        let notes = inv["toolExecutionNotifications"].as_array().unwrap();
        assert_eq!(notes.len(), 1);
        for n in notes {
            assert!(n["message"]["text"].is_string(), "{n}");
        }
    }
    // result: message (text); locations; region start ≥ 1; ruleIndex consistent.
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        assert!(r["message"]["text"].is_string(), "{r}");
        let rule_id = r["ruleId"].as_str().unwrap();
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], rule_id);
        assert!(["none", "note", "warning", "error"].contains(&r["level"].as_str().unwrap()));
        for loc in r["locations"]
            .as_array()
            .unwrap()
            .iter()
            .chain(r["relatedLocations"].as_array().into_iter().flatten())
        {
            let phys = &loc["physicalLocation"];
            assert!(phys["artifactLocation"]["uri"].is_string(), "{loc}");
            let region = &phys["region"];
            assert!(region["startLine"].as_u64().unwrap() >= 1);
            assert!(region["startColumn"].as_u64().unwrap() >= 1);
            assert!(region["endLine"].as_u64() >= region["startLine"].as_u64());
        }
        for (_, fp) in r["partialFingerprints"].as_object().unwrap() {
            assert!(fp.is_string());
        }
    }
}

fn demo_manifest() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/demo/Cargo.toml")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn ci_format_snapshots() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |format: &str| {
        let o = heisen_in(
            here,
            &[
                "check",
                "--manifest-path",
                &demo_manifest(),
                "--format",
                format,
                "--no-cache",
            ],
        );
        assert_eq!(o.status.code(), Some(1), "{}", err(&o));
        out(&o)
    };
    let gitlab = run("gitlab");
    let v: serde_json::Value = serde_json::from_str(&gitlab).unwrap();
    for issue in v.as_array().unwrap() {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[key].is_string(), "{issue}");
        }
        assert!(issue["location"]["path"].is_string());
        assert!(issue["location"]["lines"]["begin"].is_u64());
    }
    insta::assert_snapshot!("demo_gitlab", gitlab);
    insta::assert_snapshot!("demo_github", run("github"));
    insta::assert_snapshot!("demo_markdown", run("markdown"));
}

#[test]
fn statistics_replace_the_findings() {
    let dir = repo();
    commit_v2(dir.path());
    let o = heisen_in(dir.path(), &["check", "--statistics"]);
    assert_eq!(o.status.code(), Some(1));
    let s = out(&o);
    assert_eq!(
        s.lines().collect::<Vec<_>>(),
        [
            "count  rule               group",
            "    2  atomic-load-store  lost-update",
            "2 findings in 1 file (0 suppressed); 0 files parse-failed",
        ],
        "{s}"
    );
}

#[test]
fn fix_rewrites_only_the_fixed_regions() {
    let dir = tempfile::tempdir().unwrap();
    let src = "use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct OneShot<T> {
    data: UnsafeCell<Option<T>>,
    ready: AtomicBool,
}

unsafe impl<T: Send> Sync for OneShot<T> {}

impl<T> OneShot<T> {
    pub fn send(&self, v: T) {
        unsafe { *self.data.get() = Some(v) };
        self.ready.store(true,   Ordering::Relaxed);\t// odd spacing stays
    }
}
// no final newline";
    let file = dir.path().join("oneshot.rs");
    std::fs::write(&file, src).unwrap();
    let o = heisen_in(dir.path(), &["check", "oneshot.rs", "--format", "json"]);
    let before = findings(&o);
    let Some(with_fix) = before.iter().find(|f| f.get("fix").is_some()) else {
        eprintln!("no rule offers a fix for this code yet; --fix is covered by unit tests");
        return;
    };
    assert_eq!(with_fix["rule"], "relaxed-publication");
    let o = heisen_in(dir.path(), &["check", "oneshot.rs", "--fix"]);
    assert!(err(&o).contains("fixed 1 finding in 1 file"), "{}", err(&o));
    let after = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        after,
        src.replace("Ordering::Relaxed", "Ordering::Release"),
        "only the ordering changed"
    );
    let o = heisen_in(dir.path(), &["check", "oneshot.rs", "--format", "json"]);
    assert!(
        findings(&o)
            .iter()
            .all(|f| f["rule"] != "relaxed-publication"),
        "{}",
        out(&o)
    );
}

fn check_paths(files: &[PathBuf], cache: Option<Cache>) -> cargo_heisen::finding::Report {
    let discovered = discover::paths(files).unwrap();
    let config = Config::discover(&discovered.root, None, &rules::all_meta()).unwrap();
    let opts = engine::Options {
        cache,
        ..Default::default()
    };
    engine::check(&discovered, &config, &opts)
}

#[test]
fn cache_loads_unchanged_files_and_rescans_changed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cache_dir = d.join("cache");
    let a = d.join("a.rs");
    let b = d.join("b.rs");
    let broken = d.join("broken.rs");
    std::fs::write(&a, V1).unwrap();
    std::fs::write(&b, "pub fn quiet() {}\n").unwrap();
    std::fs::write(&broken, "fn f( {").unwrap();
    let files = vec![a.clone(), b.clone(), broken.clone()];

    let uncached = check_paths(&files, None);
    assert_eq!(uncached.summary.files_parsed, 3);
    assert_eq!(uncached.summary.files_from_cache, 0);

    let first = check_paths(&files, Some(Cache::new(&cache_dir)));
    assert_eq!(
        (first.summary.files_parsed, first.summary.files_from_cache),
        (3, 0)
    );
    let second = check_paths(&files, Some(Cache::new(&cache_dir)));
    assert_eq!(
        (second.summary.files_parsed, second.summary.files_from_cache),
        (0, 3)
    );
    // Same report from cached facts (findings with functions, parse failures).
    assert_eq!(second.findings, uncached.findings);
    assert_eq!(second.parse_failures, uncached.parse_failures);
    assert_eq!(
        second.findings[0].function.as_deref(),
        Some("Account::withdraw")
    );

    // A changed file is re-scanned, the others are not.
    std::fs::write(&b, v2()).unwrap();
    let third = check_paths(&files, Some(Cache::new(&cache_dir)));
    assert_eq!(
        (third.summary.files_parsed, third.summary.files_from_cache),
        (1, 2)
    );
    assert_eq!(third.findings.len(), 3);

    // Nothing changed since: the crate's result is loaded whole, even with every file-facts
    // entry destroyed (no file is parsed, no rule runs).
    for e in std::fs::read_dir(cache_dir.join("facts")).unwrap() {
        std::fs::write(e.unwrap().path(), b"\x00garbage").unwrap();
    }
    let fourth = check_paths(&files, Some(Cache::new(&cache_dir)));
    assert_eq!(
        (fourth.summary.files_parsed, fourth.summary.files_from_cache),
        (0, 3)
    );
    assert_eq!(fourth.findings, third.findings);
    assert_eq!(fourth.parse_failures, third.parse_failures);
    let counts = |r: &cargo_heisen::finding::Report| {
        let s = &r.summary;
        (
            s.findings,
            s.files_with_findings,
            s.files_scanned,
            s.suppressed,
            s.parse_failed,
        )
    };
    assert_eq!(counts(&fourth), counts(&third));
    assert_eq!(fourth.sources, third.sources);

    // A corrupt cache is a miss, never a failure.
    for e in std::fs::read_dir(cache_dir.join("crates")).unwrap() {
        std::fs::write(e.unwrap().path(), b"\x00garbage").unwrap();
    }
    let fifth = check_paths(&files, Some(Cache::new(&cache_dir)));
    assert_eq!(
        (fifth.summary.files_parsed, fifth.summary.files_from_cache),
        (3, 0)
    );
    assert_eq!(fifth.findings, third.findings);
}

#[test]
fn workspace_mode_caches_under_target_and_no_cache_bypasses() {
    let dir = repo();
    let d = dir.path();
    let o = heisen_in(d, &["check", "--no-cache"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!d.join("target").exists());
    let o = heisen_in(d, &["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(d.join("target/heisen/facts").is_dir());
    let custom = d.join("elsewhere");
    let o = heisen_in(d, &["check", "--cache-dir", custom.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(custom.join("facts").is_dir());
}

/// Cross-file facts stay current with a warm cache: `merge.rs` is loaded from the cache,
/// but its finding depends on how `store.rs` (re-scanned) stamps the field.
#[test]
fn cache_keeps_cross_file_taint_current() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let store = d.join("store.rs");
    let merge = d.join("merge.rs");
    let stamped = "use std::time::{SystemTime, UNIX_EPOCH};

pub struct Ev {
    pub ts: u64,
    pub body: String,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

pub fn ev(body: String) -> Ev {
    Ev { ts: now_ms(), body }
}
";
    std::fs::write(&store, stamped).unwrap();
    std::fs::write(
        &merge,
        "use crate::store::Ev;\n\npub fn newer(a: &Ev, b: &Ev) -> bool {\n    a.ts > b.ts\n}\n",
    )
    .unwrap();
    let files = vec![store.clone(), merge.clone()];
    let wall_clock = |r: &cargo_heisen::finding::Report| {
        r.findings
            .iter()
            .filter(|f| f.rule == "wall-clock-ordering")
            .count()
    };
    let cache = d.join("cache");
    let first = check_paths(&files, Some(Cache::new(&cache)));
    assert_eq!(wall_clock(&first), 1, "{:?}", first.findings);
    // The stamp becomes a sequence number: only store.rs is re-scanned, and the finding in
    // the cached merge.rs goes away.
    std::fs::write(&store, stamped.replace("ts: now_ms()", "ts: next_seq()")).unwrap();
    let second = check_paths(&files, Some(Cache::new(&cache)));
    assert_eq!(
        (second.summary.files_parsed, second.summary.files_from_cache),
        (1, 1)
    );
    assert_eq!(wall_clock(&second), 0, "{:?}", second.findings);
    // And back.
    std::fs::write(&store, stamped).unwrap();
    let third = check_paths(&files, Some(Cache::new(&cache)));
    assert_eq!(
        (third.summary.files_parsed, third.summary.files_from_cache),
        (1, 1)
    );
    assert_eq!(wall_clock(&third), 1);
}
