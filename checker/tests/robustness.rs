//! Adversarial input: every case must end with a clear record or error, never a crash, and
//! the rest of the scan must go on. Each case runs the real binary (a stack overflow or panic
//! would show up as a signal / exit code 101) next to a file with one known finding.

use std::path::Path;
use std::process::{Command, Output};

const BANK: &str = "use std::sync::atomic::{AtomicI64, Ordering::SeqCst};\n\
pub struct A { b: AtomicI64 }\n\
impl A {\n\
    pub fn w(&self, n: i64) { let v = self.b.load(SeqCst); self.b.store(v - n, SeqCst); }\n\
}\n";

fn run(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-heisen"))
        .arg("heisen")
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Runs `check DIR --format json` and returns (exit code, objects).
fn check_dir(dir: &Path) -> (Option<i32>, Vec<serde_json::Value>) {
    let o = run(&["check", ".", "--format", "json"], dir);
    let objs = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad json line {l}: {e}")))
        .collect();
    (o.status.code(), objs)
}

fn kinds<'a>(objs: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    objs.iter().filter(|o| o["kind"] == kind).collect()
}

fn with_bank(f: impl FnOnce(&Path)) -> (Option<i32>, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bank.rs"), BANK).unwrap();
    f(dir.path());
    check_dir(dir.path())
}

fn assert_bank_found(objs: &[serde_json::Value]) {
    let f = kinds(objs, "finding");
    assert!(
        f.iter()
            .any(|o| o["file"] == "./bank.rs" || o["file"] == "bank.rs"),
        "the scan did not go on: {objs:?}"
    );
}

#[test]
fn ten_megabyte_single_line_file() {
    let (code, objs) = with_bank(|d| {
        let item = "fn f() { let x = [1, 2, 3]; let _ = x.len(); } ";
        let mut line = String::new();
        let mut i = 0;
        while line.len() < 10_000_000 {
            line.push_str(&item.replace("fn f", &format!("fn f{i}")));
            i += 1;
        }
        std::fs::write(d.join("huge.rs"), line).unwrap();
    });
    assert_eq!(code, Some(1));
    assert_bank_found(&objs);
    assert!(kinds(&objs, "parse-error").is_empty(), "{objs:?}");
}

#[test]
fn deeply_nested_expressions() {
    let (code, objs) = with_bank(|d| {
        let depth = 20_000;
        let parens = format!(
            "fn f() -> i32 {{ {}1{} }}\n",
            "(".repeat(depth),
            ")".repeat(depth)
        );
        std::fs::write(d.join("parens.rs"), parens).unwrap();
        let unary = format!("fn g() -> i32 {{ {}1 }}\n", "-".repeat(50_000));
        std::fs::write(d.join("unary.rs"), unary).unwrap();
        let mut chain = String::from("fn h(x: i32) -> i32 { ");
        for i in 0..2_000 {
            chain.push_str(&format!("if x == {i} {{ {i} }} else "));
        }
        chain.push_str("{ 0 } }\n");
        std::fs::write(d.join("chain.rs"), chain).unwrap();
        let blocks = format!(
            "fn k() {{ {} {} }}\n",
            "{".repeat(20_000),
            "}".repeat(20_000)
        );
        std::fs::write(d.join("blocks.rs"), blocks).unwrap();
    });
    assert_eq!(code, Some(1), "crashed or failed: {code:?}");
    assert_bank_found(&objs);
    // Pathological nesting is refused with a record; the long else-if chain still parses.
    let errs = kinds(&objs, "parse-error");
    for f in ["parens.rs", "unary.rs", "blocks.rs"] {
        assert!(
            errs.iter().any(|e| e["file"].as_str().unwrap().ends_with(f)
                && e["message"]
                    .as_str()
                    .unwrap()
                    .contains("nesting deeper than")),
            "{f}: {objs:?}"
        );
    }
    assert!(!errs
        .iter()
        .any(|e| e["file"].as_str().unwrap().ends_with("chain.rs")));
}

#[test]
fn non_utf8_and_unreadable_files() {
    let (code, objs) = with_bank(|d| {
        std::fs::write(d.join("bytes.rs"), [0xff, 0xfe, b'f', b'n']).unwrap();
    });
    assert_eq!(code, Some(1));
    assert_bank_found(&objs);
    let errs = kinds(&objs, "parse-error");
    assert_eq!(errs.len(), 1);
    assert!(errs[0]["message"].as_str().unwrap().contains("UTF-8"));
}

#[cfg(unix)]
#[test]
fn symlink_loop_in_the_tree() {
    let (code, objs) = with_bank(|d| {
        std::fs::create_dir(d.join("sub")).unwrap();
        std::os::unix::fs::symlink(d, d.join("sub/loop")).unwrap();
    });
    assert_eq!(code, Some(1));
    assert_bank_found(&objs);
    let errs = kinds(&objs, "parse-error");
    assert!(
        errs.iter()
            .any(|e| e["message"].as_str().unwrap().contains("loop")),
        "{objs:?}"
    );
}

#[test]
fn broken_member_manifest_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[workspace]\nmembers = [\"good\", \"bad\"]\n",
    )
    .unwrap();
    for (name, manifest) in [
        (
            "good",
            "[package]\nname = \"good\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("bad", "[package]\nname = \"bad\"\nversion = 0.1.0\n"),
    ] {
        std::fs::create_dir_all(dir.path().join(name).join("src")).unwrap();
        std::fs::write(dir.path().join(name).join("Cargo.toml"), manifest).unwrap();
        std::fs::write(dir.path().join(name).join("src/lib.rs"), BANK).unwrap();
    }
    let o = run(&["check"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error: could not read the cargo workspace"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn manifest_pointing_outside_the_tree() {
    let outer = tempfile::tempdir().unwrap();
    std::fs::write(outer.path().join("outside.rs"), BANK).unwrap();
    let ws = outer.path().join("ws");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::write(
        ws.join("Cargo.toml"),
        "[package]\nname = \"ws\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         [lib]\npath = \"../outside.rs\"\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(ws.join("src/main.rs"), BANK).unwrap();
    let o = run(&["check", "--format", "json"], &ws);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    // The file inside the workspace is scanned; the one outside the workspace root is not.
    assert!(out.contains("src/main.rs"), "{out}");
    assert!(!out.contains("outside.rs"), "{out}");
}

#[test]
fn a_file_that_vanishes_during_the_scan() {
    use cargo_heisen::{config::Config, discover, engine};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bank.rs"), BANK).unwrap();
    std::fs::write(dir.path().join("gone.rs"), BANK).unwrap();
    let found = discover::paths(&[dir.path().to_path_buf()]).unwrap();
    std::fs::remove_file(dir.path().join("gone.rs")).unwrap();
    let report = engine::check(&found, &Config::default(), &engine::Options::default());
    assert_eq!(report.summary.findings, 1);
    assert_eq!(report.parse_failures.len(), 1);
    assert!(report.parse_failures[0].file.ends_with("gone.rs"));
    assert!(report.parse_failures[0].message.contains("could not read"));
}

/// An `if let` whose scrutinee temporary (a guard) is alive in the `else` block before Rust
/// 2024 and gone from 2024 on: a relock there is a finding only under the older editions.
const IF_LET_ELSE_RELOCK: &str = "use std::sync::Mutex;\n\
pub struct Log { lines: Mutex<Vec<String>> }\n\
impl Log {\n\
    pub fn first_or_note(&self) {\n\
        if let Some(l) = self.lines.lock().unwrap().first().cloned() {\n\
            drop(l);\n\
        } else {\n\
            self.lines.lock().unwrap().push(String::new());\n\
        }\n\
    }\n\
}\n";

/// A workspace whose member inherits `edition.workspace = true` from `[workspace.package]`.
fn inheriting_workspace(edition: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!(
            "[workspace]\nmembers = [\"log\"]\nresolver = \"2\"\n\n\
             [workspace.package]\nedition = \"{edition}\"\n"
        ),
    )
    .unwrap();
    let member = dir.path().join("log");
    std::fs::create_dir_all(member.join("src")).unwrap();
    std::fs::write(
        member.join("Cargo.toml"),
        "[package]\nname = \"log\"\nversion = \"0.1.0\"\nedition.workspace = true\n",
    )
    .unwrap();
    std::fs::write(member.join("src/lib.rs"), IF_LET_ELSE_RELOCK).unwrap();
    dir
}

#[test]
fn inherited_edition_decides_if_let_temporaries_in_both_modes() {
    use cargo_heisen::{config::Config, discover, engine};
    for (edition, expected) in [("2024", 0), ("2021", 1)] {
        let dir = inheriting_workspace(edition);
        let member = dir.path().join("log");
        let paths = discover::paths(std::slice::from_ref(&member)).unwrap();
        let ws = discover::workspace(Some(&dir.path().join("Cargo.toml")), &[]).unwrap();
        for (mode, found) in [("paths", paths), ("workspace", ws)] {
            assert_eq!(
                found.units[0].edition.as_deref(),
                Some(edition),
                "{mode} mode, workspace edition {edition}"
            );
            let report = engine::check(&found, &Config::default(), &engine::Options::default());
            let relocks = report
                .findings
                .iter()
                .filter(|f| f.rule == "relock-while-held")
                .count();
            assert_eq!(relocks, expected, "{mode} mode, edition {edition}");
        }
    }
}
