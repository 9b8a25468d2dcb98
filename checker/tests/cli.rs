//! End-to-end tests of the built binary: exit codes, formats, and the architecture invariants
//! that need a real process (never builds or runs user code, never touches the network).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn heisen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-heisen"))
        .arg("heisen")
        .args(args)
        .env("NO_COLOR", "1")
        // No network: cargo metadata is run --offline; make any attempt fail loudly anyway.
        .env("CARGO_NET_OFFLINE", "true")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .output()
        .expect("run cargo-heisen")
}

fn manifest(name: &str) -> String {
    data(name).join("Cargo.toml").to_string_lossy().into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn findings_exit_1_and_never_build_or_fetch() {
    let marker = data("demo").join("BUILD_SCRIPT_RAN");
    let _ = std::fs::remove_file(&marker);
    let o = heisen(&[
        "check",
        "--manifest-path",
        &manifest("demo"),
        "--format",
        "json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = stdout(&o);
    let findings: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["kind"] == "finding")
        .collect();
    assert_eq!(findings.len(), 1, "{out}");
    assert_eq!(findings[0]["rule"], "atomic-load-store");
    assert_eq!(findings[0]["file"], "src/lib.rs");
    assert_eq!(findings[0]["line"], 13);
    assert_eq!(findings[0]["labels"][0]["line"], 9);
    assert!(!marker.exists(), "the checker ran the crate's build script");
    // `target/heisen` is the checker's result cache; anything else there would be a build.
    let built: Vec<_> = std::fs::read_dir(data("demo").join("target"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != "heisen")
        .collect();
    assert!(built.is_empty(), "the checker built the crate: {built:?}");
}

#[test]
fn exit_zero_flag_and_clean_crate_exit_0() {
    let o = heisen(&["check", "--manifest-path", &manifest("demo"), "--exit-zero"]);
    assert_eq!(o.status.code(), Some(0));
    let o = heisen(&["check", "--manifest-path", &manifest("clean")]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("0 findings"), "{}", stdout(&o));
}

#[test]
fn usage_config_and_io_errors_exit_2() {
    let missing = data("no-such-crate").join("Cargo.toml");
    let o = heisen(&["check", "--manifest-path", &missing.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error:") && err.lines().count() == 1,
        "{err}"
    );

    let o = heisen(&["check", "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2));

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("heisen.toml");
    std::fs::write(&cfg, "[rules]\natomic-load-stor = \"deny\"\n").unwrap();
    let o = heisen(&[
        "check",
        "--manifest-path",
        &manifest("demo"),
        "--config",
        &cfg.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("atomic-load-stor"));

    let o = heisen(&["explain", "no-such-rule"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn paths_mode_reports_parse_errors_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.rs"), "fn f( {").unwrap();
    std::fs::write(dir.path().join("latin1.rs"), b"// caf\xe9\nfn f() {}\n").unwrap();
    std::fs::copy(data("demo").join("src/lib.rs"), dir.path().join("bank.rs")).unwrap();
    let o = heisen(&["check", &dir.path().to_string_lossy(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let kinds: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "parse-error").count(),
        2,
        "{out}"
    );
    assert_eq!(kinds.iter().filter(|k| *k == "finding").count(), 1, "{out}");
    assert!(out.contains("not valid UTF-8"), "{out}");
}

#[test]
fn explain_prints_the_rule_doc() {
    let o = heisen(&["explain", "atomic-load-store"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.contains("### Why is this bad") && out.contains("fetch_update"),
        "{out}"
    );
}

#[test]
fn human_and_sarif_output_snapshots() {
    let o = heisen(&["check", "--manifest-path", &manifest("demo")]);
    insta::assert_snapshot!("demo_human", stdout(&o));
    let o = heisen(&[
        "check",
        "--manifest-path",
        &manifest("demo"),
        "--format",
        "sarif",
    ]);
    let mut v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    // The tool version changes with releases; everything else is stable.
    v["runs"][0]["tool"]["driver"]["version"] = "<version>".into();
    insta::assert_json_snapshot!("demo_sarif", v);
    let o = heisen(&[
        "check",
        "--manifest-path",
        &manifest("demo"),
        "--format",
        "json",
    ]);
    insta::assert_snapshot!("demo_json", stdout(&o));
}
