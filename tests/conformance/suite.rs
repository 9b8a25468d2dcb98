//! The suite: find loom's and shuttle's test files in the registry packages Cargo fetched,
//! translate them ([`crate::translate`]), build them as a generated crate against the
//! workspace's `heisen` (feature `model`), run every test under each backend selection, and
//! compare with the original verdict.
//!
//! * **Original verdict**: the published suites pass, so a test's original verdict is libtest's
//!   `ok`: "passes" for a plain test, "the model fails" for a `#[should_panic]` test. `#[ignore]`d
//!   tests are not run by the originals' CI either; they are listed, not compared.
//! * **Same verdict** under a selection (`both` = no `HEISEN_BACKEND`, `loom`, `shuttle`) means:
//!   libtest says `ok` *and* heisen's summary file agrees — every backend line `pass` for a plain
//!   test, at least one `xfail` for a `#[should_panic]` test (so a panic outside the model, e.g.
//!   an infrastructure error, does not count as the expected failure). Loom's tests run under all
//!   three selections, shuttle's (`#[heisen::model(shuttle)]`) under `both` and under
//!   `HEISEN_BACKEND=loom`, where the verdict to see is `ok` with a `skipped` summary line.
//! * **Not portable**: the translator could not port the test, or the port does not compile
//!   (each compile error is attributed to the item on its line, the item is removed, and the
//!   build repeats; an item that uses a removed one inherits its reason).
//! * Each test runs in its own process with a time limit, so a hang or an abort costs one test.

use crate::translate::{self, Form, Origin, Translated};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Backend selection of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Both,
    Loom,
    Shuttle,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Both => "both",
            Mode::Loom => "loom",
            Mode::Shuttle => "shuttle",
        }
    }
    fn env(self) -> Option<&'static str> {
        match self {
            Mode::Both => None,
            Mode::Loom => Some("loom"),
            Mode::Shuttle => Some("shuttle"),
        }
    }
}

/// One translated source file in the generated crate.
struct GenFile {
    origin: Origin,
    /// `loom/atomic.rs`, `shuttle/basic/atomic.rs`
    id: String,
    /// path of the generated file relative to the generated crate
    out: String,
    /// libtest module path of the file's tests (`atomic::`, `basic::atomic::`)
    module: String,
    tr: Translated,
}

/// What happened to one test.
#[derive(Clone, Debug)]
pub enum Outcome {
    Same,
    Ignored,
    NotPortable(String),
    /// mode → what was seen
    Differs(BTreeMap<Mode, String>),
}

#[derive(Clone, Debug)]
pub struct TestResult {
    pub file: String,
    pub id: String,
    pub outcome: Outcome,
}

#[derive(serde::Deserialize, Default)]
struct ExpectedFile {
    #[serde(default)]
    difference: BTreeMap<String, ExpectedDiff>,
    #[serde(default)]
    not_portable: BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
struct ExpectedDiff {
    #[serde(default)]
    modes: Vec<String>,
    reason: String,
    /// The test asserts the original engine's own behaviour, not std-shaped behaviour (shuttle's
    /// DFS/round-robin execution counts, its PCT panic, its panic wording, its primitives
    /// outside a test): it is not one of the std-shaped tests the percentage counts.
    #[serde(default)]
    engine: bool,
}

/// The result of a whole run.
pub struct Report {
    pub table: String,
    pub unexpected: usize,
    pub stale: Vec<String>,
}

fn ws_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `heisen` checkout the generated crate depends on: this workspace, or
/// `HEISEN_CONFORMANCE_HEISEN` (e.g. an exported branch, to measure it before it is merged).
fn heisen_root() -> PathBuf {
    std::env::var_os("HEISEN_CONFORMANCE_HEISEN")
        .map(PathBuf::from)
        .unwrap_or_else(ws_root)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The `tests/` directories of the loom 0.7 and shuttle 0.9 packages Cargo already fetched.
pub fn registry_test_dirs() -> Result<(PathBuf, PathBuf), String> {
    // only this platform's packages: the others need not be downloaded
    let host = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        })
        .ok_or("cannot ask rustc for the host triple")?;
    let out = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--all-features",
            "--offline",
        ])
        .args(["--filter-platform", &host])
        .arg("--manifest-path")
        .arg(ws_root().join("Cargo.toml"))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err("cargo metadata failed (run `cargo fetch` first)".into());
    }
    let v: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let find = |name: &str, ver: &str| -> Result<PathBuf, String> {
        v["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name && p["version"].as_str().is_some_and(|s| s.starts_with(ver)))
            .and_then(|p| p["manifest_path"].as_str())
            .map(|m| Path::new(m).parent().unwrap().join("tests"))
            .filter(|d| d.is_dir())
            .ok_or_else(|| format!("no {name} {ver}x package with a tests/ directory in cargo metadata (is `heisen/model` resolved? run `cargo fetch`)"))
    };
    Ok((find("loom", "0.7.")?, find("shuttle", "0.9.")?))
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut es: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    es.sort();
    for p in es {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

const KEYWORDS: &[&str] = &[
    "yield", "mod", "async", "await", "type", "match", "loop", "move", "ref", "static", "fn",
];

fn mod_ident(stem: &str) -> String {
    if KEYWORDS.contains(&stem) {
        format!("{stem}_")
    } else {
        stem.to_string()
    }
}

/// Translates both suites into `GenFile`s (loom: one module per file under `tests/loom/`;
/// shuttle: its own module tree rooted at `tests/shuttle/mod.rs`).
fn translate_all(loom: &Path, shuttle: &Path) -> Result<Vec<GenFile>, String> {
    let mut files = Vec::new();
    let mut loom_files = Vec::new();
    rs_files(loom, &mut loom_files);
    let mut loom_main = String::new();
    for p in loom_files.iter().filter(|p| p.parent() == Some(loom)) {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let stem = name.trim_end_matches(".rs");
        let m = mod_ident(stem);
        let src = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let tr = translate::translate(&src, Origin::Loom)
            .map_err(|e| format!("{}: {e}", p.display()))?;
        writeln!(loom_main, "#[path = \"{name}\"] mod {m};").unwrap();
        files.push(GenFile {
            origin: Origin::Loom,
            id: format!("loom/{name}"),
            out: format!("tests/loom/{name}"),
            module: format!("{m}::"),
            tr,
        });
    }
    files.push(GenFile {
        origin: Origin::Loom,
        id: "loom (generated main)".into(),
        out: "tests/loom/main.rs".into(),
        module: "\u{0}".into(),
        tr: translate::translate(&loom_main, Origin::Loom)?,
    });
    let mut sh_files = Vec::new();
    rs_files(shuttle, &mut sh_files);
    for p in sh_files {
        let rel = p
            .strip_prefix(shuttle)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with("ui/") {
            continue; // trybuild inputs, not tests
        }
        let mut src = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        if rel == "mod.rs" {
            // the package's second test target, compiled as a module of the first
            src.push_str("\nmod execution_state_global_subscriber;\n");
        }
        let tr = translate::translate(&src, Origin::Shuttle)
            .map_err(|e| format!("{}: {e}", p.display()))?;
        let module = match rel.as_str() {
            "mod.rs" => String::new(),
            r => {
                let r = r.trim_end_matches(".rs").trim_end_matches("/mod");
                format!("{}::", r.replace('/', "::"))
            }
        };
        files.push(GenFile {
            origin: Origin::Shuttle,
            id: format!("shuttle/{rel}"),
            out: format!("tests/shuttle/{rel}"),
            module,
            tr,
        });
    }
    Ok(files)
}

fn write_crate(dir: &Path, files: &[GenFile]) -> Result<(), String> {
    let io = |e: std::io::Error| format!("{}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(io)?;
    let root = heisen_root();
    let manifest = format!(
        r#"# generated by heisen's tests/conformance: loom's and shuttle's own tests, translated
[package]
name = "heisen-conformance"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
heisen = {{ path = {root:?}, features = ["model"] }}
# loom's futures test uses it (a loom dev-dependency, already in heisen's lock file)
futures-util = "0.3"

[[test]]
name = "loom"
path = "tests/loom/main.rs"

[[test]]
name = "shuttle"
path = "tests/shuttle/mod.rs"

[lints.rust]
unexpected_cfgs = "allow"
"#,
        root = root.display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).map_err(io)?;
    // the same versions as the heisen build under test (offline: nothing new to fetch)
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).map_err(io)?;
    for f in files {
        let p = dir.join(&f.out);
        std::fs::create_dir_all(p.parent().unwrap()).map_err(io)?;
        let text = f.tr.text();
        // unchanged files keep their mtime (no needless rebuild)
        if std::fs::read_to_string(&p).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&p, text).map_err(io)?;
        }
    }
    Ok(())
}

/// "which API": a short name of what a compile error says is missing.
pub fn api_of(msg: &str, line: &str, col: usize, label: &str) -> String {
    let ticks: Vec<&str> = msg.split('`').skip(1).step_by(2).collect();
    let short_ty = |t: &str| -> String {
        let t = t.trim_start_matches('&').trim_start_matches("mut ");
        // a method found through a smart pointer names the pointee: `Arc<RwLock<T>>` → `RwLock`
        let mut t = t;
        loop {
            let base = t.split('<').next().unwrap_or(t);
            let last = base.rsplit("::").next().unwrap_or(base);
            match t.get(base.len() + 1..t.len().saturating_sub(1)) {
                Some(inner) if matches!(last, "Arc" | "Rc" | "Box") && t.ends_with('>') => {
                    t = inner.trim_start_matches('&');
                }
                _ => break,
            }
        }
        let base = t.split('<').next().unwrap_or(t);
        base.rsplit("::").next().unwrap_or(base).to_string()
    };
    let path_at = |line: &str, col: usize| -> String {
        let rest: String = line.chars().skip(col.saturating_sub(1)).collect();
        let p: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':' || *c == ' ')
            .collect();
        p.replace(' ', "").trim_end_matches(':').to_string()
    };
    if msg.starts_with("unresolved import") {
        let t = ticks.first().map(|s| s.to_string()).unwrap_or_default();
        let p = path_at(line, col);
        return if t.contains("::") || p.is_empty() {
            t
        } else {
            p
        };
    }
    if msg.contains("undeclared crate or module")
        || msg.contains("unlinked crate")
        || msg.starts_with("failed to resolve")
        || msg.starts_with("cannot find module or crate")
    {
        let p = path_at(line, col);
        return if p.is_empty() { msg.to_string() } else { p };
    }
    if let (Some(m), Some(t)) = (ticks.first(), ticks.get(1)) {
        if msg.starts_with("no method named")
            || msg.starts_with("no function or associated item named")
            || msg.starts_with("no associated item named")
        {
            return format!("{}::{m}", short_ty(t));
        }
        if msg.starts_with("cannot find `") && !msg.contains(" in this scope") {
            return format!("{t}::{m}");
        }
        if msg.starts_with("cannot find")
            && (msg.contains(" in module ") || msg.contains(" in crate "))
        {
            let bang = if msg.starts_with("cannot find macro") {
                "!"
            } else {
                ""
            };
            return format!("{t}::{m}{bang}");
        }
    }
    if msg.starts_with("the trait bound") {
        if let Some(b) = ticks.first() {
            let mut parts = b.splitn(2, ": ");
            let ty = parts.next().unwrap_or("");
            let tr = parts.next().unwrap_or("");
            return format!("impl {tr} for {}", short_ty(ty));
        }
    }
    if msg.starts_with("mismatched types") && !label.is_empty() {
        return format!("mismatched types: {label}");
    }
    msg.lines()
        .next()
        .unwrap_or(msg)
        .chars()
        .take(120)
        .collect()
}

struct Diag {
    file: String,
    line: usize,
    api: String,
    msg: String,
}

/// The spans of a rustc diagnostic that lie in the generated crate's files, outermost
/// expansion first.
fn our_spans(message: &Value, known: &BTreeSet<String>) -> Vec<(String, usize, usize, String)> {
    let mut found = Vec::new();
    fn walk(sp: &Value, known: &BTreeSet<String>, found: &mut Vec<(String, usize, usize, String)>) {
        if let Some(e) = sp.get("expansion").filter(|e| !e.is_null()) {
            walk(&e["span"], known, found);
        }
        let f = sp["file_name"].as_str().unwrap_or("");
        if let Some(k) = known.iter().find(|k| f.ends_with(k.as_str())) {
            let text = sp["text"][0]["text"].as_str().unwrap_or("").to_string();
            found.push((
                k.clone(),
                sp["line_start"].as_u64().unwrap_or(0) as usize,
                sp["column_start"].as_u64().unwrap_or(0) as usize,
                text,
            ));
        }
    }
    let spans = message["spans"].as_array().cloned().unwrap_or_default();
    let prim: Vec<&Value> = spans.iter().filter(|s| s["is_primary"] == true).collect();
    for s in prim.iter().copied().chain(spans.iter()) {
        walk(s, known, &mut found);
        if !found.is_empty() {
            return found;
        }
    }
    for c in message["children"].as_array().into_iter().flatten() {
        for s in c["spans"].as_array().into_iter().flatten() {
            walk(s, known, &mut found);
            if !found.is_empty() {
                return found;
            }
        }
    }
    found
}

struct Built {
    /// test target name → executable
    bins: BTreeMap<String, PathBuf>,
}

/// Builds the generated crate, removing the items compile errors point at, until it builds.
fn build(
    dir: &Path,
    target: &Path,
    files: &mut [GenFile],
    log: &mut String,
) -> Result<Built, String> {
    let known: BTreeSet<String> = files.iter().map(|f| f.out.clone()).collect();
    let mut removed_names: HashMap<String, String> = HashMap::new();
    for round in 1..=16 {
        write_crate(dir, files)?;
        let t0 = Instant::now();
        let out = Command::new(cargo())
            .args([
                "test",
                "--release",
                "--no-run",
                "--offline",
                "--message-format=json",
            ])
            .arg("--manifest-path")
            .arg(dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", target)
            .env_remove("RUSTFLAGS")
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut bins = BTreeMap::new();
        let mut diags = Vec::new();
        let mut rendered = String::new();
        for l in stdout.lines() {
            let Ok(v) = serde_json::from_str::<Value>(l) else {
                continue;
            };
            match v["reason"].as_str() {
                Some("compiler-artifact") => {
                    if let Some(exe) = v["executable"].as_str() {
                        bins.insert(
                            v["target"]["name"].as_str().unwrap_or("").to_string(),
                            PathBuf::from(exe),
                        );
                    }
                }
                Some("compiler-message") if v["message"]["level"] == "error" => {
                    let m = &v["message"];
                    let msg = m["message"].as_str().unwrap_or("").to_string();
                    rendered.push_str(m["rendered"].as_str().unwrap_or(""));
                    let label = m["spans"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|s| s["is_primary"] == true)
                        .and_then(|s| s["label"].as_str())
                        .unwrap_or("")
                        .to_string();
                    if let Some((file, line, col, text)) = our_spans(m, &known).into_iter().last() {
                        let api = api_of(&msg, &text, col, &label);
                        diags.push(Diag {
                            file,
                            line,
                            api,
                            msg,
                        });
                    } else if !msg.starts_with("aborting due to")
                        && !msg.contains("could not compile")
                    {
                        diags.push(Diag {
                            file: String::new(),
                            line: 0,
                            api: String::new(),
                            msg,
                        });
                    }
                }
                _ => {}
            }
        }
        let _ = writeln!(
            log,
            "build round {round}: {} errors, {:.1}s",
            diags.len(),
            t0.elapsed().as_secs_f64()
        );
        if out.status.success() {
            return Ok(Built { bins });
        }
        let mut progress = false;
        for d in &diags {
            let Some(f) = files.iter_mut().find(|f| f.out == d.file) else {
                continue;
            };
            let Some(item) = f.tr.lines.get(d.line.wrapping_sub(1)).and_then(|l| l.item) else {
                continue;
            };
            if f.tr.items[item].removed.is_some() {
                continue;
            }
            // An item that uses a removed one inherits that one's reason.
            let inherited = d.msg.split('`').skip(1).step_by(2).find_map(|n| {
                removed_names
                    .get(n.rsplit("::").next().unwrap_or(n))
                    .cloned()
            });
            let why = inherited.unwrap_or_else(|| d.api.clone());
            for n in &f.tr.items[item].names {
                removed_names
                    .entry(n.clone())
                    .or_insert_with(|| why.clone());
            }
            f.tr.items[item].removed = Some(why);
            progress = true;
        }
        if !progress {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "the generated crate does not build and no error points at a removable item:\n{rendered}\n{stderr}"
            ));
        }
    }
    Err("the generated crate still does not build after 16 rounds".into())
}

/// (job index, file index, test, selection, verdict)
type RunVerdict = (usize, usize, String, Mode, Result<(), String>);

struct RunOut {
    /// libtest: ok / FAILED / timeout / crash
    status: String,
    message: String,
    /// per backend line of the summary file: (backend, status, description)
    summary: Vec<(String, String, String)>,
}

fn run_one(bin: &Path, test: &str, mode: Mode, tmp: &Path, timeout: Duration) -> RunOut {
    let bin_name = bin
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let sum = tmp.join(format!(
        "{bin_name}.{}.{}.tsv",
        test.replace("::", "__"),
        mode.name()
    ));
    let _ = std::fs::remove_file(&sum);
    let mut cmd = Command::new(bin);
    // --show-output: a passing `#[should_panic]` test's output shows which failure it was
    cmd.args([test, "--exact", "--test-threads=1", "--show-output"])
        .env("HEISEN_SUMMARY_FILE", &sum)
        .env_remove("HEISEN_REPLAY")
        .env_remove("HEISEN_SEED")
        .env_remove("HEISEN_SHUTTLE_JOBS")
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match mode.env() {
        Some(b) => cmd.env("HEISEN_BACKEND", b),
        None => cmd.env_remove("HEISEN_BACKEND"),
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return RunOut {
                status: "crash".into(),
                message: format!("cannot run: {e}"),
                summary: Vec::new(),
            }
        }
    };
    let t0 = Instant::now();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let mut stderr = child.stderr.take().unwrap();
    let ereader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let mut timed_out = false;
    let exit = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if t0.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                timed_out = true;
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    let out = reader.join().unwrap_or_default();
    let err = ereader.join().unwrap_or_default();
    // `test NAME ... ok`, `test NAME - should panic ... ok`
    let head = format!("test {test} ");
    let status = if timed_out {
        format!("timeout ({}s)", timeout.as_secs())
    } else if let Some(st) = out
        .lines()
        .filter(|l| l.starts_with(&head) && l.contains(" ... "))
        .map(|l| l.rsplit(" ... ").next().unwrap_or("").trim())
        .find(|st| !st.is_empty())
    {
        st.to_string()
    } else {
        // no result line: the process died mid-test (abort, stack overflow, signal)
        format!(
            "crash ({})",
            exit.map(|e| e.to_string()).unwrap_or_default()
        )
    };
    let message = failure_message(&out, &err);
    let summary = std::fs::read_to_string(&sum)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c.len() >= 7).then(|| (c[1].to_string(), c[4].to_string(), c[6].to_string()))
        })
        .collect();
    RunOut {
        status,
        message,
        summary,
    }
}

/// The first informative line of a failed test's output.
fn failure_message(out: &str, err: &str) -> String {
    let all: Vec<&str> = out.lines().chain(err.lines()).collect();
    for (i, l) in all.iter().enumerate() {
        if l.contains("test did not panic as expected") {
            return "did not panic as expected".into();
        }
        if let Some(m) = l.trim().strip_prefix("message:") {
            return m.trim().to_string();
        }
        if l.contains("panicked at") {
            if let Some(n) = all.get(i + 1) {
                if n.starts_with("heisen: ") && n.contains("FAILED under") {
                    continue; // the report follows; its `message:` line is the cause
                }
                return n.trim().to_string();
            }
        }
    }
    all.iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .unwrap_or_default()
}

/// Failure messages that are heisen's (or a backend's) own false alarms (issue #15), not a
/// failure of the body: a `#[should_panic]` test that "passes" with one of them did not
/// reproduce the original's failure.
const FALSE_FAILURES: &[&str] = &["test closure did not exercise any concurrency"];

/// `Ok` when the run gives the original verdict, else what was seen.
fn judge(should_panic: bool, skip_expected: bool, plain: bool, r: &RunOut) -> Result<(), String> {
    let lines = r
        .summary
        .iter()
        .map(|(b, s, _)| format!("{b} {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    let seen = || {
        let m: String = r.message.chars().take(200).collect();
        format!("libtest {}; summary [{lines}]; {m}", r.status)
    };
    if r.status != "ok" {
        return Err(seen());
    }
    // A failure that is heisen's own false alarm never stands for the expected failure.
    if should_panic {
        if let Some(m) = FALSE_FAILURES.iter().find(|m| r.message.contains(*m)) {
            return Err(format!(
                "{}; the expected panic is heisen's false failure `{m}`",
                seen()
            ));
        }
    }
    if plain {
        return Ok(()); // an ordinary test: libtest's verdict is all there is
    }
    if skip_expected {
        return if r.summary.iter().any(|(_, s, _)| s == "skipped") {
            Ok(())
        } else {
            Err(format!("{}; expected a `skipped` summary line", seen()))
        };
    }
    if r.summary.is_empty() || r.summary.iter().any(|(_, s, _)| s == "skipped") {
        return Err(format!("{}; expected the model to run", seen()));
    }
    let ok = if should_panic {
        r.summary.iter().any(|(_, s, _)| s == "xfail")
    } else {
        r.summary.iter().all(|(_, s, _)| s == "pass")
    };
    if ok {
        Ok(())
    } else {
        Err(seen())
    }
}

fn modes_for(origin: Origin) -> &'static [Mode] {
    match origin {
        Origin::Loom => &[Mode::Both, Mode::Loom, Mode::Shuttle],
        Origin::Shuttle => &[Mode::Both, Mode::Loom],
    }
}

/// Runs the whole suite. `filter`: only tests whose id contains it.
pub fn run(filter: Option<&str>) -> Result<Report, String> {
    let started = Instant::now();
    let mut log = String::new();
    let (loom_dir, shuttle_dir) = registry_test_dirs()?;
    let _ = writeln!(
        log,
        "sources: {} and {}",
        loom_dir.display(),
        shuttle_dir.display()
    );
    let mut files = translate_all(&loom_dir, &shuttle_dir)?;
    let target_root = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ws_root().join("target"));
    let dir = target_root.join("conformance");
    let built = build(
        &dir.join("crate"),
        &dir.join("target"),
        &mut files,
        &mut log,
    )?;
    let build_time = started.elapsed();

    // every test the binaries contain, and the ignored ones
    let list = |bin: &Path, ignored: bool| -> Vec<String> {
        let mut c = Command::new(bin);
        c.args(["--list", "--format", "terse"]);
        if ignored {
            c.arg("--ignored");
        }
        let o = c
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        o.lines()
            .filter_map(|l| l.strip_suffix(": test").map(str::to_string))
            .collect()
    };
    let file_of = |origin: Origin, test: &str| -> Option<usize> {
        files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.origin == origin && test.starts_with(&f.module))
            .max_by_key(|(_, f)| f.module.len())
            .map(|(i, _)| i)
    };
    struct Job {
        file: usize,
        test: String,
        bin: PathBuf,
        should_panic: bool,
        plain: bool,
        mode: Mode,
    }
    let mut results: Vec<TestResult> = Vec::new();
    let mut jobs = Vec::new();
    let mut seen_tests: BTreeSet<(usize, String)> = BTreeSet::new();
    for (target, origin) in [("loom", Origin::Loom), ("shuttle", Origin::Shuttle)] {
        let Some(bin) = built.bins.get(target) else {
            return Err(format!("no {target} test binary was built"));
        };
        let ignored: BTreeSet<String> = list(bin, true).into_iter().collect();
        for t in list(bin, false) {
            let Some(fi) = file_of(origin, &t) else {
                continue;
            };
            let f = &files[fi];
            let inner = &t[f.module.len()..];
            let id = format!("{}::{inner}", f.id);
            seen_tests.insert((fi, inner.to_string()));
            let decl = f.tr.tests.iter().find(|d| d.path == inner).or_else(|| {
                // a transcriber's test: its module is a metavariable; match the fn name
                let last = |p: &str| p.rsplit("::").next().unwrap_or(p).to_string();
                f.tr.tests
                    .iter()
                    .find(|d| d.in_macro && last(&d.path) == last(inner))
            });
            if filter.is_some_and(|flt| !id.contains(flt)) {
                continue;
            }
            if ignored.contains(&t) {
                results.push(TestResult {
                    file: f.id.clone(),
                    id,
                    outcome: Outcome::Ignored,
                });
                continue;
            }
            let should_panic = decl.is_some_and(|d| d.should_panic);
            // a shuttle test whose statements after the run check what was explored has
            // nothing to check when HEISEN_BACKEND=loom skips the run
            let form = decl.map_or(Form::Model, |d| d.form);
            let modes =
                if form == Form::Plain || (form == Form::Runner && origin == Origin::Shuttle) {
                    &[Mode::Both][..]
                } else {
                    modes_for(origin)
                };
            for &mode in modes {
                jobs.push(Job {
                    file: fi,
                    test: t.clone(),
                    bin: bin.clone(),
                    should_panic,
                    plain: form == Form::Plain,
                    mode,
                });
            }
        }
    }
    // tests that did not make it into a binary
    for (fi, f) in files.iter().enumerate() {
        for it in &f.tr.items {
            let Some(why) = &it.removed else { continue };
            // a removed test of a macro transcriber: one test per invocation
            let ids: Vec<String> = match &it.macro_member {
                Some(m) => {
                    f.tr.items
                        .iter()
                        .filter_map(|i| {
                            i.invokes
                                .as_ref()
                                .filter(|inv| &inv.macro_name == m)
                                .filter(|_| i.removed.is_none())
                        })
                        .flat_map(|inv| it.tests.iter().map(move |t| inv.test_path(t)))
                        .collect()
                }
                None => it.tests.clone(),
            };
            for t in &ids {
                let id = format!("{}::{t}", f.id);
                if filter.is_some_and(|flt| !id.contains(flt)) {
                    continue;
                }
                seen_tests.insert((fi, t.clone()));
                results.push(TestResult {
                    file: f.id.clone(),
                    id,
                    outcome: Outcome::NotPortable(why.clone()),
                });
            }
        }
        for d in &f.tr.tests {
            if d.in_macro || seen_tests.contains(&(fi, d.path.clone())) {
                continue;
            }
            let id = format!("{}::{}", f.id, d.path);
            if filter.is_some_and(|flt| !id.contains(flt)) {
                continue;
            }
            results.push(TestResult {
                file: f.id.clone(),
                id,
                outcome: Outcome::NotPortable(
                    "not compiled in the original's default configuration (a `cfg` excludes it)"
                        .into(),
                ),
            });
        }
    }

    let jobs_n = std::env::var("HEISEN_CONFORMANCE_JOBS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        });
    let timeout = Duration::from_secs(
        std::env::var("HEISEN_CONFORMANCE_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(180),
    );
    let tmp = dir.join("runs");
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let njobs = jobs.len();
    let queue = Arc::new(Mutex::new(jobs.into_iter().enumerate().collect::<Vec<_>>()));
    let done: Arc<Mutex<Vec<RunVerdict>>> = Arc::default();
    let skip_for =
        |fi: usize, mode: Mode| files[fi].origin == Origin::Shuttle && mode == Mode::Loom;
    let skips: Vec<bool> = {
        let q = queue.lock().unwrap();
        q.iter().map(|(_, j)| skip_for(j.file, j.mode)).collect()
    };
    let skips = Arc::new(skips);
    std::thread::scope(|s| {
        for _ in 0..jobs_n.max(1) {
            let queue = queue.clone();
            let done = done.clone();
            let tmp = tmp.clone();
            let skips = skips.clone();
            s.spawn(move || loop {
                let Some((k, j)) = queue.lock().unwrap().pop() else {
                    break;
                };
                let r = run_one(&j.bin, &j.test, j.mode, &tmp, timeout);
                let v = judge(j.should_panic, skips[k], j.plain, &r);
                done.lock().unwrap().push((k, j.file, j.test, j.mode, v));
            });
        }
    });
    let mut per_test: BTreeMap<(usize, String), BTreeMap<Mode, String>> = BTreeMap::new();
    for (_, fi, t, mode, v) in done.lock().unwrap().drain(..) {
        let e = per_test.entry((fi, t)).or_default();
        if let Err(why) = v {
            e.insert(mode, why);
        }
    }
    for ((fi, t), diffs) in per_test {
        let f = &files[fi];
        let id = format!("{}::{}", f.id, &t[f.module.len()..]);
        let outcome = if diffs.is_empty() {
            Outcome::Same
        } else {
            Outcome::Differs(diffs)
        };
        results.push(TestResult {
            file: f.id.clone(),
            id,
            outcome,
        });
    }
    let run_time = started.elapsed() - build_time;
    let _ = writeln!(
        log,
        "{njobs} runs on {jobs_n} workers; build {:.0}s, runs {:.0}s",
        build_time.as_secs_f64(),
        run_time.as_secs_f64()
    );
    let expected_text = std::fs::read_to_string(ws_root().join("tests/conformance/expected.toml"))
        .map_err(|e| format!("tests/conformance/expected.toml: {e}"))?;
    let expected: ExpectedFile = toml::from_str(&expected_text)
        .map_err(|e| format!("tests/conformance/expected.toml: {e}"))?;
    Ok(tabulate(&results, &expected, filter.is_some(), &log))
}

fn tabulate(results: &[TestResult], expected: &ExpectedFile, filtered: bool, log: &str) -> Report {
    #[derive(Default)]
    struct Row {
        tests: usize,
        same: usize,
        expected: usize,
        not_portable: usize,
        ignored: usize,
        unexpected: usize,
        apis: BTreeSet<String>,
        /// tests that use only std-shaped APIs (not ignored, not expected-not-portable)
        std_shaped: usize,
        /// of those, the ones with the original verdict under both backends
        conform: usize,
        /// expected differences that assert the original engine's own behaviour
        engine: usize,
    }
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut used_diff: BTreeSet<&str> = BTreeSet::new();
    let mut used_np: BTreeSet<&str> = BTreeSet::new();
    let mut expected_lines = String::new();
    let mut unexpected_lines = String::new();
    let mut causes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut unexpected = 0;
    for r in results {
        let row = rows.entry(r.file.clone()).or_default();
        row.tests += 1;
        match &r.outcome {
            Outcome::Same => {
                row.same += 1;
                row.std_shaped += 1;
                row.conform += 1;
            }
            Outcome::Ignored => row.ignored += 1,
            Outcome::NotPortable(why) => {
                row.not_portable += 1;
                match expected
                    .not_portable
                    .iter()
                    .find(|(k, _)| why.contains(k.as_str()))
                {
                    Some((k, reason)) => {
                        // the table names an expected cause by its key in expected.toml
                        row.apis.insert(k.clone());
                        used_np.insert(k);
                        let _ = writeln!(
                            expected_lines,
                            "  {} — not portable: {why} (expected: {reason})",
                            r.id
                        );
                    }
                    None => {
                        row.apis.insert(format!("**{why}**"));
                        row.unexpected += 1;
                        row.std_shaped += 1;
                        unexpected += 1;
                        causes
                            .entry(format!("not portable: {why}"))
                            .or_default()
                            .push(r.id.clone());
                        let _ = writeln!(unexpected_lines, "  {} — not portable: {why}", r.id);
                    }
                }
            }
            Outcome::Differs(modes) => {
                let exp = expected.difference.get(&r.id);
                let covered = exp.is_some_and(|e| {
                    modes
                        .keys()
                        .all(|m| e.modes.is_empty() || e.modes.iter().any(|x| x == m.name()))
                });
                if covered && exp.is_some_and(|e| e.engine) {
                    row.engine += 1;
                } else {
                    row.std_shaped += 1;
                    if !modes.contains_key(&Mode::Both) {
                        row.conform += 1;
                    }
                }
                if covered {
                    used_diff.insert(r.id.as_str());
                    row.expected += 1;
                    let _ = writeln!(
                        expected_lines,
                        "  {} — differs under {}: {}",
                        r.id,
                        mode_list(modes),
                        exp.unwrap().reason
                    );
                } else {
                    if exp.is_some() {
                        used_diff.insert(r.id.as_str());
                    }
                    row.unexpected += 1;
                    unexpected += 1;
                    for (m, why) in modes {
                        let _ = writeln!(unexpected_lines, "  {} [{}] {why}", r.id, m.name());
                    }
                    let (m, why) = modes.iter().next().unwrap();
                    causes.entry(cause_key(why)).or_default().push(format!(
                        "{} [{}]",
                        r.id,
                        m.name()
                    ));
                }
            }
        }
    }
    let mut t = String::new();
    let _ = writeln!(t, "| file | tests | same verdict | expected difference | not portable (which API) | ignored in the original | unexpected |");
    let _ = writeln!(t, "|---|---:|---:|---:|---|---:|---:|");
    let mut tot = Row::default();
    let mut per_suite: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for (file, r) in &rows {
        let apis = if r.apis.is_empty() {
            String::new()
        } else {
            // expected causes by their expected.toml key, unexpected ones in bold
            let list: Vec<String> = r
                .apis
                .iter()
                .map(
                    |a| match a.strip_prefix("**").and_then(|a| a.strip_suffix("**")) {
                        Some(u) => format!("**{}**", u.replace('`', "").replace('|', "/")),
                        None => a.replace('`', ""),
                    },
                )
                .collect();
            format!("{}: {}", r.not_portable, list.join(", "))
        };
        let _ = writeln!(
            t,
            "| {file} | {} | {} | {} | {} | {} | {} |",
            r.tests,
            r.same,
            r.expected,
            if apis.is_empty() { "0".into() } else { apis },
            r.ignored,
            r.unexpected
        );
        tot.tests += r.tests;
        tot.same += r.same;
        tot.expected += r.expected;
        tot.not_portable += r.not_portable;
        tot.ignored += r.ignored;
        tot.unexpected += r.unexpected;
        let suite = if file.starts_with("loom/") {
            "loom"
        } else {
            "shuttle"
        };
        let e = per_suite.entry(suite).or_default();
        e.0 += r.conform;
        e.1 += r.std_shaped;
        e.2 += r.engine;
    }
    let _ = writeln!(
        t,
        "| **total** | {} | {} | {} | {} | {} | {} |",
        tot.tests, tot.same, tot.expected, tot.not_portable, tot.ignored, tot.unexpected
    );
    let _ = writeln!(t);
    for (suite, (same, portable, engine)) in &per_suite {
        let pct = if *portable == 0 {
            0.0
        } else {
            100.0 * *same as f64 / *portable as f64
        };
        let engine = if *engine == 0 {
            String::new()
        } else {
            format!(
                "; {engine} more assert {suite}'s own engine (expected differences, `engine = true`)"
            )
        };
        let _ = writeln!(
            t,
            "{suite}: {same} of {portable} std-shaped tests port and give the original verdict with both backends ({pct:.1} %){engine}"
        );
    }
    let mut stale = Vec::new();
    if !filtered {
        for k in expected.difference.keys() {
            if !used_diff.contains(k.as_str()) {
                stale.push(format!("difference `{k}` no longer differs (remove it)"));
            }
        }
        for k in expected.not_portable.keys() {
            if !used_np.contains(k.as_str()) {
                stale.push(format!("not_portable `{k}` matches no test (remove it)"));
            }
        }
    }
    let _ = writeln!(t, "\nexpected differences:\n{expected_lines}");
    if unexpected > 0 {
        let _ = writeln!(
            t,
            "UNEXPECTED differences ({unexpected}):\n{unexpected_lines}"
        );
        let _ = writeln!(t, "causes (count, cause, tests):");
        let mut cs: Vec<_> = causes.into_iter().collect();
        cs.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        for (c, ts) in cs {
            let _ = writeln!(t, "  {:>3}  {c}\n        {}", ts.len(), ts.join(", "));
        }
    }
    for s in &stale {
        let _ = writeln!(t, "STALE: {s}");
    }
    let _ = write!(t, "\n{log}");
    Report {
        table: t,
        unexpected,
        stale,
    }
}

fn mode_list(m: &BTreeMap<Mode, String>) -> String {
    m.keys().map(|m| m.name()).collect::<Vec<_>>().join(", ")
}

/// A failure's cause with the test-specific parts (numbers, paths) blurred, for grouping.
fn cause_key(why: &str) -> String {
    let msg = why.rsplit("; ").next().unwrap_or(why);
    let head = why.split(';').next().unwrap_or("");
    let mut k: String = msg
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect();
    if k.len() > 110 {
        k = k.chars().take(110).collect::<String>() + "…";
    }
    format!("{head}: {k}")
}
