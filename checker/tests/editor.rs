//! Where editors and code scanning read heisen: cargo's JSON messages (rust-analyzer's
//! `check.overrideCommand`), parsed with `cargo_metadata::Message` exactly as cargo tools and
//! editors parse them, for every rule's fixture; and machine formats that own stdout.

use cargo_metadata::diagnostic::DiagnosticLevel;
use cargo_metadata::Message;
use std::path::{Path, PathBuf};
use std::process::Output;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

mod common;
use common::heisen_in;

fn messages(o: &Output) -> Vec<Message> {
    Message::parse_stream(&o.stdout[..])
        .map(|m| m.expect("a line cargo_metadata cannot read"))
        .collect()
}

/// heisen's own JSON Lines findings of the same run, to compare against.
fn json_findings(dir: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let mut a = args.to_vec();
    a.extend(["--format", "json", "--no-cache"]);
    let o = heisen_in(dir, &a);
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "finding")
        .collect()
}

/// Every fixture as it is checked in PATHS mode: (working directory, paths, extra args).
fn fixtures() -> Vec<(String, PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(fixtures_dir()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            // A fixture directory may carry its configuration (turning on an allow rule).
            out.push((name, p.clone(), vec![".".to_string()]));
        } else if name.ends_with(".rs") {
            out.push((name.clone(), fixtures_dir(), vec![name]));
        }
    }
    out.sort();
    out
}

#[test]
fn every_rule_fixture_round_trips_through_cargo_metadata() {
    let mut rules_seen = std::collections::BTreeSet::new();
    for (name, dir, paths) in fixtures() {
        let mut args: Vec<&str> = vec!["check"];
        args.extend(paths.iter().map(String::as_str));
        let expected = json_findings(&dir, &args);
        assert!(!expected.is_empty(), "{name}: the fixture reports nothing");
        args.extend(["--message-format", "json", "--no-cache"]);
        let o = heisen_in(&dir, &args);
        assert_eq!(o.status.code(), Some(1), "{name}");
        let msgs = messages(&o);
        let (last, compiler) = msgs.split_last().expect("at least build-finished");
        match last {
            Message::BuildFinished(b) => assert!(!b.success, "{name}: findings are a failure"),
            other => panic!("{name}: last message is {other:?}"),
        }
        assert_eq!(
            compiler.len(),
            expected.len(),
            "{name}: one message per finding"
        );
        for (m, f) in compiler.iter().zip(&expected) {
            let Message::CompilerMessage(cm) = m else {
                panic!("{name}: {m:?} is not a compiler message");
            };
            let d = &cm.message;
            let rule = f["rule"].as_str().unwrap();
            rules_seen.insert(rule.to_string());
            assert_eq!(
                d.code.as_ref().map(|c| c.code.as_str()),
                Some(format!("heisen::{rule}").as_str())
            );
            let level = match f["level"].as_str() {
                Some("deny") => DiagnosticLevel::Error,
                _ => DiagnosticLevel::Warning,
            };
            assert_eq!(d.level, level, "{name}");
            assert_eq!(d.message, f["message"].as_str().unwrap());
            // The primary span is the finding's region, in bytes and in chars.
            let primary: Vec<_> = d.spans.iter().filter(|s| s.is_primary).collect();
            assert_eq!(primary.len(), 1, "{name}: one primary span");
            let p = primary[0];
            assert_eq!(p.file_name, f["file"].as_str().unwrap());
            assert_eq!(p.line_start as u64, f["line"].as_u64().unwrap());
            assert_eq!(p.column_start as u64, f["column"].as_u64().unwrap());
            assert_eq!(p.line_end as u64, f["end_line"].as_u64().unwrap());
            assert_eq!(p.column_end as u64, f["end_column"].as_u64().unwrap());
            assert!(p.label.is_some(), "{name}: the primary span has a label");
            let text = std::fs::read_to_string(dir.join(&p.file_name)).unwrap();
            let spanned = &text[p.byte_start as usize..p.byte_end as usize];
            let first = &p.text[0];
            let line_text = text.lines().nth(p.line_start - 1).unwrap();
            assert_eq!(first.text, line_text);
            let from_cols: String = line_text
                .chars()
                .skip(first.highlight_start - 1)
                .take(first.highlight_end - first.highlight_start)
                .collect();
            assert!(
                spanned.starts_with(&from_cols),
                "{name}: bytes {spanned:?} and columns {from_cols:?} disagree"
            );
            // Every label is a secondary span in its own file.
            let labels = f["labels"].as_array().unwrap();
            let secondary: Vec<_> = d.spans.iter().filter(|s| !s.is_primary).collect();
            assert_eq!(secondary.len(), labels.len(), "{name}");
            for (s, l) in secondary.iter().zip(labels) {
                assert_eq!(s.line_start as u64, l["line"].as_u64().unwrap());
                assert_eq!(s.label.as_deref(), l["message"].as_str());
                let file = l["file"].as_str().unwrap_or(f["file"].as_str().unwrap());
                assert_eq!(s.file_name, file);
            }
            // The help, and the fix as a suggested replacement on its span.
            let help = d
                .children
                .iter()
                .find(|c| c.level == DiagnosticLevel::Help)
                .expect("a help child");
            assert_eq!(help.message, f["help"].as_str().unwrap());
            match f.get("fix") {
                Some(fix) => {
                    let s = &help.spans[0];
                    assert_eq!(
                        s.suggested_replacement.as_deref(),
                        fix["replacement"].as_str()
                    );
                    assert_eq!(s.line_start as u64, fix["line"].as_u64().unwrap());
                    assert_eq!(s.column_start as u64, fix["column"].as_u64().unwrap());
                }
                None => assert!(help.spans.is_empty(), "{name}: no fix, no suggestion"),
            }
            // `rendered` is the human report.
            let rendered = d.rendered.as_deref().unwrap();
            assert!(rendered.contains(&format!("heisen::{rule}")), "{rendered}");
            assert!(rendered.contains("help:"), "{rendered}");
            // PATHS mode: the nearest manifest is the checker's own; files under tests/ are
            // named by cargo's layout.
            assert!(
                cm.package_id.repr.ends_with("#cargo-heisen"),
                "{}",
                cm.package_id.repr
            );
            assert!(cm.target.is_test(), "{name}: {:?}", cm.target.kind);
        }
    }
    // Every rule of the registry was seen, through its own fixture.
    let all: std::collections::BTreeSet<String> = cargo_heisen::rules::all_meta()
        .iter()
        .map(|m| m.name.to_string())
        .collect();
    let missing: Vec<_> = all.difference(&rules_seen).collect();
    assert!(
        missing.is_empty(),
        "rules without a round-tripped finding: {missing:?}"
    );
}

fn demo_manifest() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/demo/Cargo.toml")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn workspace_mode_names_the_package_and_target_as_cargo_metadata_does() {
    let meta = cargo_metadata::MetadataCommand::new()
        .manifest_path(demo_manifest())
        .no_deps()
        .other_options(vec!["--offline".to_string()])
        .exec()
        .unwrap();
    let pkg = &meta.packages[0];
    let o = heisen_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            "check",
            "--manifest-path",
            &demo_manifest(),
            "--format",
            "cargo-json",
        ],
    );
    let msgs = messages(&o);
    assert_eq!(msgs.len(), 2, "one finding and build-finished");
    let Message::CompilerMessage(cm) = &msgs[0] else {
        panic!("{:?}", msgs[0]);
    };
    assert_eq!(cm.package_id, pkg.id);
    let lib = pkg.targets.iter().find(|t| t.is_lib()).unwrap();
    assert_eq!(&cm.target, lib);
    assert_eq!(cm.message.spans[0].file_name, "src/lib.rs");
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(line["manifest_path"], pkg.manifest_path.as_str());
    // `--message-format json` and `--format cargo-json` are the same output.
    let o2 = heisen_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            "check",
            "--manifest-path",
            &demo_manifest(),
            "--message-format=json",
        ],
    );
    assert_eq!(o.stdout, o2.stdout);
    // A clean crate: only build-finished, with success.
    let clean = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/clean/Cargo.toml");
    let o = heisen_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            "check",
            "--manifest-path",
            clean.to_str().unwrap(),
            "--message-format",
            "json",
        ],
    );
    match &messages(&o)[..] {
        [Message::BuildFinished(b)] => assert!(b.success),
        other => panic!("{other:?}"),
    }
    assert_eq!(o.status.code(), Some(0));
}

const BANK: &str = "use std::sync::atomic::{AtomicI64, AtomicBool, Ordering::*};\n\
pub struct A { balance: AtomicI64, locked: AtomicBool }\n\
impl A {\n\
    pub fn withdraw(&self, amount: i64) {\n\
        let b = self.balance.load(SeqCst);\n\
        self.balance.store(b - amount, SeqCst);\n\
    }\n\
    pub fn lock(&self) {\n\
        while self.locked.swap(true, Acquire) { std::hint::spin_loop(); }\n\
    }\n\
    pub fn unlock(&self) {\n\
        self.locked.store(false, Relaxed);\n\
    }\n\
}\n";

fn bank_crate() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"bank\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), BANK).unwrap();
    std::fs::write(dir.path().join("src/broken.rs"), "fn f( {").unwrap();
    dir
}

/// stdout is exactly the format: it parses as a whole, for every option that also prints
/// notes (baseline, --new-from-patch, --fix, --statistics); the notes are on stderr.
#[test]
fn machine_formats_own_stdout() {
    let dir = bank_crate();
    let d = dir.path();
    let o = heisen_in(d, &["check", "--write-baseline", "base.json"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        o.stdout.is_empty(),
        "--write-baseline prints nothing on stdout"
    );
    let line = BANK.lines().nth(5).unwrap();
    std::fs::write(
        d.join("store.patch"),
        format!("--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -6 +6 @@\n-{line}\n+{line}\n"),
    )
    .unwrap();
    let variants: [&[&str]; 5] = [
        &[],
        &["--baseline", "base.json"],
        &["--new-from-patch", "store.patch"],
        &["--statistics"],
        &["--fix", "--no-cache"],
    ];
    for format in [
        &["--format", "sarif"][..],
        &["--message-format", "json"][..],
        &["--message-format", "json-diagnostic-rendered-ansi"][..],
        &["--format", "json"][..],
    ] {
        for extra in variants {
            std::fs::write(d.join("src/lib.rs"), BANK).unwrap();
            let mut args = vec!["check"];
            args.extend(format);
            args.extend(extra);
            let o = heisen_in(d, &args);
            let out = String::from_utf8(o.stdout.clone()).unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            let what = format!("{args:?}\nstdout: {out}\nstderr: {err}");
            if format[1] == "sarif" {
                let v: serde_json::Value = serde_json::from_str(&out).expect(&what);
                assert_eq!(v["version"], "2.1.0", "{what}");
            } else if format[0] == "--message-format" {
                let msgs = messages(&o);
                assert!(
                    matches!(msgs.last(), Some(Message::BuildFinished(_))),
                    "{what}"
                );
                assert!(
                    msgs.iter().all(|m| matches!(
                        m,
                        Message::CompilerMessage(_) | Message::BuildFinished(_)
                    )),
                    "{what}"
                );
            } else {
                for l in out.lines() {
                    serde_json::from_str::<serde_json::Value>(l).expect(&what);
                }
            }
            // What the options say is said on stderr.
            match extra.first().copied() {
                Some("--baseline") => assert!(err.contains("baseline:"), "{what}"),
                Some("--new-from-patch") => assert!(err.contains("only new:"), "{what}"),
                Some("--fix") => assert!(err.contains("fixed 1 finding"), "{what}"),
                Some("--statistics") => assert!(err.contains("count  rule"), "{what}"),
                _ => {}
            }
        }
    }
    // The human format keeps `--statistics` instead of the findings, on stdout.
    let o = heisen_in(d, &["check", "--statistics"]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("count  rule"));
    // Colours in `rendered` only when asked for.
    let o = heisen_in(d, &["check", "--message-format", "json"]);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("\\u001b"));
    let o = heisen_in(
        d,
        &["check", "--message-format", "json-diagnostic-rendered-ansi"],
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("\\u001b"));
    // A parse failure is an error message with its location.
    let o = heisen_in(d, &["check", "--message-format", "json"]);
    let parse_error = messages(&o)
        .into_iter()
        .find_map(|m| match m {
            Message::CompilerMessage(cm)
                if cm.message.code.as_ref().map(|c| c.code.as_str())
                    == Some("heisen::parse-error") =>
            {
                Some(cm)
            }
            _ => None,
        })
        .expect("the broken file is reported");
    assert_eq!(parse_error.message.level, DiagnosticLevel::Error);
    assert_eq!(parse_error.message.spans[0].file_name, "src/broken.rs");
    assert_eq!(parse_error.message.spans[0].line_start, 1);
}

#[test]
fn message_format_conflicts_and_bad_values_are_usage_errors() {
    let dir = bank_crate();
    let o = heisen_in(
        dir.path(),
        &["check", "--message-format", "json", "--format", "sarif"],
    );
    assert_eq!(o.status.code(), Some(2));
    let o = heisen_in(dir.path(), &["check", "--message-format", "xml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown message format `xml`"));
    // `--message-format human` is the human format.
    let o = heisen_in(dir.path(), &["check", "--message-format", "human"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("heisen::atomic-load-store"));
}
