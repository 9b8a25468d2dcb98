//! The model-side real-bug set (issue #15): published crates at the version before a
//! concurrency fix and at the fix, their own loom tests run through heisen with the crate's
//! `loom` mapped onto the facade. The buggy version must fail and the fixed one pass, with
//! heisen's default settings and no hand instrumentation.
//!
//! Nothing of the crates is in this repository: each version is read from the registry package
//! (cargo's download cache, fetched with a generated manifest when missing; yanked versions
//! through `cargo update --precise`) and ported under `target/model-realbugs/` the way a user
//! moving a `cfg(loom)` suite to heisen does (docs/model-migration.md):
//!
//! 1. the crate's `loom` dependency (normal, dev or `cfg(loom)`-target) becomes `heisen-loom`,
//!    a package of ours that re-exports the facade under loom's paths and runs `loom::model`
//!    through `heisen::runner::run_test` (both backends, default settings);
//! 2. `cfg(loom)` is switched on for the crate alone (its `cfg(loom)`/`cfg(not(loom))`
//!    predicates are rewritten to `all()`/`not(all())`: a global `--cfg loom` would also switch
//!    the crates heisen itself depends on, e.g. `sharded-slab`, onto loom);
//! 3. crate-level `#![deny(..)]` lint levels become `warn` (a lint is not a verdict);
//! 4. the test file that exposes the bug (the one added with the fix) runs against both
//!    versions' sources; dev-dependencies a loom test does not use are dropped.
//!
//! Run: `cargo test -p heisen --test model_realbugs -- --ignored --nocapture`
//! (`HEISEN_REALBUGS_FILTER=spmc` for one entry). Needs the registry (or the packages in cargo's
//! cache); builds in release in `target/conformance/target` (shared with the conformance suite,
//! so the two do not run at the same time).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One real bug: a crate, the version with the bug and the version with the fix.
struct Bug {
    id: &'static str,
    krate: &'static str,
    buggy: &'static str,
    fixed: &'static str,
    /// The version whose `tests/` is run against both (the one with the test for the bug).
    tests_from: &'static str,
    /// A minimal test of the racy path, ours (tests/support/realbugs/), for a fix that came
    /// without a test: written as `tests/<test>.rs` in place of the package's tests.
    own_test: Option<&'static str>,
    /// The test target (`tests/<test>.rs`) and the tests of it to run.
    test: &'static str,
    names: &'static [&'static str],
    source: &'static str,
    bug: &'static str,
    /// A backend that cannot judge the fixed version, and why (an expected difference, as in
    /// the conformance suite's `expected.toml`): the fixed version then runs on the other
    /// backend alone (`HEISEN_BACKEND`), and the table says so.
    fixed_not_under: Option<(&'static str, &'static str)>,
    /// With `fixed_not_under` loom: the fixed version is also run under loom alone, and its
    /// failure report must (`true`) or must not (`false`) carry heisen's note that the failing
    /// execution is not sequentially consistent although all its atomics are `SeqCst` (loom
    /// 0.7's weaker `SeqCst`: the failure is loom's alone, and heisen's output says so).
    loom_says_so: bool,
}

const BUGS: &[Bug] = &[
    Bug {
        id: "oneshot-try-recv-unparking",
        krate: "oneshot",
        buggy: "0.1.4",
        fixed: "0.1.5",
        tests_from: "0.1.5",
        own_test: None,
        test: "loom",
        names: &["poll_then_try_recv_while_sending"],
        source:
            "oneshot CHANGELOG 0.1.5 \"Handle the UNPARKING state correctly in all recv methods\"",
        bug: "try_recv on a Receiver whose sender is unparking it after an async poll reaches \
              `unreachable!()` (the UNPARKING state is not handled)",
        fixed_not_under: None,
        loom_says_so: false,
    },
    Bug {
        id: "spmc-disconnect-loses-message",
        krate: "spmc",
        buggy: "0.2.3",
        fixed: "0.3.0",
        tests_from: "0.3.0",
        own_test: None,
        test: "fuzz",
        names: &["message_per_thread"],
        source: "spmc f9686a0 \"fix race of inconsistent queue and is_disconnected\" (0.3.0)",
        bug: "try_recv pops an empty queue, then sees the sender's disconnect flag and reports \
              Disconnected although a message was pushed in between: a receiver loses it",
        fixed_not_under: Some((
            "loom",
            "the fix relies on SeqCst loads reading the latest store; loom 0.7 models SeqCst \
             loads more weakly than the C++20 model and reports a deadlock no real run has",
        )),
        loom_says_so: true,
    },
    Bug {
        id: "left-right-drop-frees-under-reader",
        krate: "left-right",
        buggy: "0.11.7",
        fixed: "0.11.8",
        tests_from: "0.11.8",
        own_test: Some(include_str!("support/realbugs/left_right_drop.rs")),
        test: "drop_race",
        names: &["drop_waits_for_a_reader_that_entered_after_the_last_publish"],
        source:
            "left-right 94e2812 \"Mitigate race condition in WriteHandle::drop\" (#153, 0.11.8)",
        bug: "WriteHandle::drop waits on the reader epochs read at the last publish: a reader \
              idle then and inside a read now is not waited for, and the writer frees both \
              copies under its guard",
        fixed_not_under: Some((
            "loom",
            "left-right's cfg(loom) shim turns every fence into fence(Acquire) (src/sync.rs: \
             \"loom only supports acquire fences\"), so the SeqCst fences between the writer's \
             NULL swap and its epoch reads and between the reader's epoch increment and its \
             pointer load no longer forbid the store-buffering outcome; loom explores it (with \
             the fences kept SeqCst, loom passes 0.11.8 and still fails 0.11.7)",
        )),
        loom_says_so: false,
    },
];

/// heisen's note on a loom failure in an execution that Rust's `SeqCst` forbids.
const SEQCST_NOTE: &str = "loom 0.7 models SeqCst more weakly than Rust does";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn work() -> PathBuf {
    root().join("target/model-realbugs")
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// The `.crate` archive of `name@version` in cargo's download cache.
fn cached_archive(name: &str, version: &str) -> Option<PathBuf> {
    let file = format!("{name}-{version}.crate");
    std::fs::read_dir(cargo_home().join("registry/cache"))
        .ok()?
        .flatten()
        .map(|d| d.path().join(&file))
        .find(|p| p.is_file())
}

/// Downloads `name@version` into cargo's cache through a generated manifest (also a yanked
/// version: `cargo update --precise` is the one way cargo accepts one, and it needs a lock
/// file first, so the manifest asks for `>= version`: the lock file takes the newest version
/// that is not yanked, and `update --precise` moves it back to `version`).
fn fetch(name: &str, version: &str) -> Result<(), String> {
    let dir = work().join("fetch").join(format!("{name}-{version}"));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let manifest = format!(
        "[package]\nname = \"heisen-realbugs-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[lib]\npath = \"lib.rs\"\n\n[workspace]\n\n[dependencies]\n\
         {name} = \">={version}\"\n"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("lib.rs"), "").map_err(|e| e.to_string())?;
    let m = dir.join("Cargo.toml");
    let with = |args: &[&str]| {
        let mut c = cargo();
        c.args(args).arg("--manifest-path").arg(&m);
        c
    };
    run(&mut with(&["generate-lockfile", "-q"]))?;
    run(&mut with(&[
        "update",
        "-q",
        "-p",
        name,
        "--precise",
        version,
    ]))?;
    run(&mut with(&["fetch", "-q"])).map(drop)
}

/// The unpacked registry package `name@version` (unpacked from cargo's cache into
/// `target/model-realbugs/src`, fetched first when missing).
fn package(name: &str, version: &str) -> Result<PathBuf, String> {
    let dir = work().join("src").join(format!("{name}-{version}"));
    if dir.join("Cargo.toml").is_file() {
        return Ok(dir);
    }
    let archive = match cached_archive(name, version) {
        Some(a) => a,
        None => {
            fetch(name, version)?;
            cached_archive(name, version)
                .ok_or_else(|| format!("{name}-{version}: not in cargo's cache after fetching"))?
        }
    };
    std::fs::create_dir_all(work().join("src")).map_err(|e| e.to_string())?;
    run(Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(work().join("src")))?;
    Ok(dir)
}

/// `heisen-loom`: loom's API over heisen's facade (what step 1 maps a crate's `loom` to).
fn write_shim() -> Result<PathBuf, String> {
    let dir = work().join("heisen-loom");
    std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    let manifest = format!(
        "[package]\nname = \"heisen-loom\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[dependencies]\nheisen = {{ path = {:?}, features = [\"model\"] }}\n",
        root().display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("src/lib.rs"),
        include_str!("support/heisen_loom.rs"),
    )
    .map_err(|e| e.to_string())?;
    Ok(dir)
}

/// `cfg(loom)` on for this crate's code: a `loom` cfg predicate (`loom` between `(`/`,` and
/// `)`/`,`, not a string or a path) becomes `all()`.
fn enable_loom_cfg(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        if src[i..].starts_with("loom") {
            let before = src[..i].trim_end().chars().last();
            let after = src[i + 4..].trim_start().chars().next();
            let word_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
            let word_end =
                i + 4 >= b.len() || !(b[i + 4].is_ascii_alphanumeric() || b[i + 4] == b'_');
            if word_start
                && word_end
                && matches!(before, Some('(' | ','))
                && matches!(after, Some(')' | ','))
            {
                out.push_str("all()");
                i += 4;
                continue;
            }
        }
        let c = src[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn copy_tree(from: &Path, to: &Path, rewrite: bool) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for e in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst, rewrite)?;
        } else if rewrite && src.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&src).map_err(|e| e.to_string())?;
            // a lint level is not a verdict (`#![deny(warnings)]` would fail the build on an
            // import the mapping leaves unused)
            let text = text.replace("#![deny(", "#![warn(");
            std::fs::write(&dst, enable_loom_cfg(&text)).map_err(|e| e.to_string())?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// The package's manifest with its `loom` mapped to `heisen-loom` (steps 1–3 above): `loom`
/// removed wherever it is a dependency and added as a normal one; `cfg(loom)` target
/// dependencies become normal ones, `cfg(not(loom))` ones and the dev-dependencies go; target
/// lists are rediscovered (the tests come from another version).
fn port_manifest(manifest: &str, shim: &Path) -> Result<String, String> {
    let mut m: toml::Table = manifest.parse().map_err(|e| format!("Cargo.toml: {e}"))?;
    for k in [
        "dev-dependencies",
        "dev_dependencies",
        "bench",
        "test",
        "example",
        "bin",
    ] {
        m.remove(k);
    }
    let mut deps = m
        .remove("dependencies")
        .and_then(|d| d.as_table().cloned())
        .unwrap_or_default();
    if let Some(toml::Value::Table(targets)) = m.remove("target") {
        for (cfg, t) in targets {
            let loom_on = cfg.replace(' ', "") == "cfg(loom)";
            if let (true, Some(d)) = (loom_on, t.get("dependencies").and_then(|d| d.as_table())) {
                deps.extend(d.clone());
            }
        }
    }
    deps.remove("loom");
    let mut shim_dep = toml::Table::new();
    shim_dep.insert("package".into(), "heisen-loom".into());
    shim_dep.insert("path".into(), shim.display().to_string().into());
    deps.insert("loom".into(), toml::Value::Table(shim_dep));
    m.insert("dependencies".into(), toml::Value::Table(deps));
    if let Some(toml::Value::Table(p)) = m.get_mut("package") {
        for k in ["autobenches", "autoexamples", "autobins"] {
            p.insert(k.into(), false.into());
        }
        p.insert("autotests".into(), true.into());
        p.remove("build");
        p.remove("links");
    }
    // a `loom` feature that enabled the optional dependency now names a plain one
    if let Some(toml::Value::Table(f)) = m.get_mut("features") {
        for (_, v) in f.iter_mut() {
            if let toml::Value::Array(a) = v {
                a.retain(|x| !matches!(x.as_str(), Some("dep:loom" | "loom")));
            }
        }
        f.remove("loom");
    }
    m.insert("workspace".into(), toml::Value::Table(toml::Table::new()));
    toml::to_string(&m).map_err(|e| e.to_string())
}

/// One version ported under `target/model-realbugs/ports/`: its `src/`, the `tests/` of
/// `tests_from`, the manifest mapped.
fn port(b: &Bug, version: &str, shim: &Path) -> Result<PathBuf, String> {
    let pkg = package(b.krate, version)?;
    let dir = work().join("ports").join(format!("{}-{version}", b.krate));
    let _ = std::fs::remove_dir_all(&dir);
    copy_tree(&pkg.join("src"), &dir.join("src"), true)?;
    match b.own_test {
        Some(text) => {
            std::fs::create_dir_all(dir.join("tests")).map_err(|e| e.to_string())?;
            std::fs::write(
                dir.join("tests").join(format!("{}.rs", b.test)),
                enable_loom_cfg(text),
            )
            .map_err(|e| e.to_string())?;
        }
        None => {
            let tests = package(b.krate, b.tests_from)?;
            copy_tree(&tests.join("tests"), &dir.join("tests"), true)?;
        }
    }
    // heisen's own lock file: the same loom and shuttle as the workspace (cargo adds the
    // crate's dependencies)
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).map_err(|e| e.to_string())?;
    let manifest = std::fs::read_to_string(pkg.join("Cargo.toml")).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("Cargo.toml"), port_manifest(&manifest, shim)?)
        .map_err(|e| e.to_string())?;
    Ok(dir)
}

/// What one version gave: libtest's exit status and heisen's summary lines (backend, status).
struct Outcome {
    passed: bool,
    summary: Vec<(String, String)>,
    output: String,
}

fn run_version(b: &Bug, dir: &Path, only: Option<&str>) -> Result<Outcome, String> {
    let sum = dir.join("heisen-summary.tsv");
    let _ = std::fs::remove_file(&sum);
    let mut cmd = cargo();
    cmd.args([
        "test",
        "--release",
        "-q",
        "--test",
        b.test,
        "--manifest-path",
    ])
    .arg(dir.join("Cargo.toml"))
    // the conformance suite's: heisen, loom and shuttle in release are built there already
    // (not the workspace's `target/`: the `cargo test` running this holds its lock)
    .env("CARGO_TARGET_DIR", root().join("target/conformance/target"))
    .env("HEISEN_SUMMARY_FILE", &sum)
    .env("RUST_BACKTRACE", "0")
    .env_remove("HEISEN_BACKEND")
    .env_remove("HEISEN_REPLAY")
    .env_remove("HEISEN_SEED")
    .args(["--", "--test-threads=1"]);
    if let Some(backend) = only {
        cmd.env("HEISEN_BACKEND", backend);
    }
    if !b.names.is_empty() {
        cmd.arg("--exact").args(b.names);
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Vec<(String, String)> = std::fs::read_to_string(&sum)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c.len() >= 7).then(|| (c[1].to_string(), c[4].to_string()))
        })
        .collect();
    if summary.is_empty() && !out.status.success() {
        // no model ran: the port did not build (or crashed before heisen reported)
        let tail: Vec<&str> = output.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("no model run:\n{}", tail.join("\n")));
    }
    Ok(Outcome {
        passed: out.status.success(),
        summary,
        output,
    })
}

/// The failure lines heisen printed (`failure:`, `message:`), for the table.
fn failure_of(o: &Outcome) -> String {
    o.output
        .lines()
        .filter_map(|l| {
            let t = l.trim();
            t.strip_prefix("failure:")
                .or_else(|| t.strip_prefix("message:"))
                .map(|s| s.trim().to_string())
        })
        .take(2)
        .collect::<Vec<_>>()
        .join(": ")
}

#[test]
#[ignore = "fetches published crates and builds their loom tests against heisen (minutes): run with --ignored"]
fn buggy_versions_fail_and_fixed_versions_pass() {
    let filter = std::env::var("HEISEN_REALBUGS_FILTER").ok();
    let shim = write_shim().unwrap();
    let mut wrong = Vec::new();
    println!("| bug | crate | buggy → fixed | buggy (heisen) | fixed (heisen) |");
    println!("|---|---|---|---|---|");
    for b in BUGS {
        if filter.as_deref().is_some_and(|f| !b.id.contains(f)) {
            continue;
        }
        let verdict = |version: &str, want_fail: bool| -> Result<String, String> {
            let dir = port(b, version, &shim)?;
            let skip = b.fixed_not_under.filter(|_| !want_fail);
            let only = skip.map(|(bk, _)| if bk == "loom" { "shuttle" } else { "loom" });
            let o = run_version(b, &dir, only)?;
            let failed = o.summary.iter().any(|(_, s)| s == "FAIL");
            let all_pass = o.summary.iter().all(|(_, s)| s == "pass");
            let lines = o
                .summary
                .iter()
                .map(|(bk, s)| format!("{bk} {s}"))
                .collect::<Vec<_>>()
                .join(", ");
            // The fixed version under the backend that cannot judge it: loom fails, and its
            // report says whether the failing execution is one Rust's SeqCst forbids.
            let loom_note = match skip {
                Some(("loom", _)) => {
                    let l = run_version(b, &dir, Some("loom"))?;
                    // (the report wraps its note: compare with the lines joined)
                    let words = l.output.split_whitespace().collect::<Vec<_>>().join(" ");
                    let says = words.contains(SEQCST_NOTE);
                    if l.passed || says != b.loom_says_so {
                        return Err(format!(
                            "{}@{version} under loom alone: expected a failure {} heisen's \
                             SeqCst note, got libtest {}\n{}",
                            b.krate,
                            if b.loom_says_so { "with" } else { "without" },
                            if l.passed { "ok" } else { "FAILED" },
                            l.output
                        ));
                    }
                    if says {
                        "; under loom alone it fails and heisen's report says the failing \
                         execution is not sequentially consistent: loom's alone"
                    } else {
                        "; under loom alone it fails"
                    }
                }
                _ => "",
            };
            match (want_fail, o.passed, failed, all_pass) {
                (true, false, true, _) => Ok(format!("FAIL ({lines}): {}", failure_of(&o))),
                (false, true, _, true) => Ok(match skip {
                    Some((bk, why)) => {
                        format!("pass ({lines}; not under {bk}: {why}{loom_note})")
                    }
                    None => format!("pass ({lines})"),
                }),
                _ => Err(format!(
                    "{}@{version}: expected {}, got libtest {} with [{lines}]\n{}",
                    b.krate,
                    if want_fail {
                        "a heisen failure"
                    } else {
                        "a pass"
                    },
                    if o.passed { "ok" } else { "FAILED" },
                    o.output
                )),
            }
        };
        let buggy = verdict(b.buggy, true);
        let fixed = verdict(b.fixed, false);
        let cell = |r: &Result<String, String>| match r {
            Ok(s) => s.clone(),
            Err(e) => format!("**wrong**: {}", e.lines().next().unwrap_or("")),
        };
        println!(
            "| {} | {} | {} → {} | {} | {} |",
            b.id,
            b.krate,
            b.buggy,
            b.fixed,
            cell(&buggy),
            cell(&fixed)
        );
        println!("  source: {}\n  bug: {}", b.source, b.bug);
        for r in [buggy, fixed] {
            if let Err(e) = r {
                wrong.push(e);
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn loom_cfg_predicates_are_switched_on_and_nothing_else() {
    let src = "#[cfg(loom)] use loom::sync;\n#![cfg(all(feature = \"std\", not(loom)))]\n\
               #[cfg_attr(loom, allow(dead_code))] fn f(loom: u8) {}\nconst S: &str = \"(loom)\";";
    let out = enable_loom_cfg(src);
    assert!(out.contains("#[cfg(all())] use loom::sync;"), "{out}");
    assert!(out.contains("not(all())"), "{out}");
    assert!(
        out.contains("#[cfg_attr(all(), allow(dead_code))]"),
        "{out}"
    );
    // a path, a parameter name followed by `:` and text in a string stay
    assert!(out.contains("fn f(loom: u8)"), "{out}");
    assert!(out.contains("use loom::sync"), "{out}");
}

#[test]
fn manifests_map_loom_onto_the_shim() {
    let m = r#"
        [package]
        name = "x"
        version = "0.1.0"
        [features]
        default = ["std"]
        std = []
        loom = ["dep:loom"]
        [dev-dependencies]
        tokio = "1"
        loom = "0.2"
        [target."cfg(loom)".dependencies.loom]
        version = "0.5"
        [target."cfg(loom)".dependencies.other]
        version = "1"
        [target."cfg(not(loom))".dependencies.fast]
        version = "1"
        [[test]]
        name = "old"
    "#;
    let out: toml::Table = port_manifest(m, Path::new("/shim"))
        .unwrap()
        .parse()
        .unwrap();
    let deps = out["dependencies"].as_table().unwrap();
    assert_eq!(deps["loom"]["package"].as_str(), Some("heisen-loom"));
    assert!(
        deps.contains_key("other") && !deps.contains_key("fast"),
        "{out}"
    );
    assert!(
        !out.contains_key("dev-dependencies") && !out.contains_key("test"),
        "{out}"
    );
    assert!(
        !out["features"].as_table().unwrap().contains_key("loom"),
        "{out}"
    );
    assert!(out.contains_key("workspace"), "{out}");
}
