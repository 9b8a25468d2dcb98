//! SARIF from `cargo heisen check` and `cargo heisen model` against the official SARIF 2.1.0
//! JSON schema, taken at test time from a registry package that ships it (serde-sarif's
//! `src/schema.json`, the OASIS schema, found at the version `Cargo.lock` pins) and checked with the
//! `jsonschema` validator (formats included), plus a typed round trip through serde-sarif.
//! Nothing of the schema is copied into this repository.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The registry source of `serde-sarif` at the version `Cargo.lock` pins. It is a
/// dev-dependency of this package, so building this test unpacked it under
/// `$CARGO_HOME/registry/src/<index>/`. (Not `cargo metadata --offline`: that resolves the
/// whole workspace and fails on a machine that has fetched only this package's dependencies.)
fn serde_sarif_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).expect("Cargo.lock");
    let version = lock
        .split("[[package]]")
        .find_map(|p| {
            let mut lines = p.lines().map(str::trim);
            lines.find(|l| *l == "name = \"serde-sarif\"")?;
            let v = lines.find_map(|l| l.strip_prefix("version = \""))?;
            Some(v.trim_end_matches('"').to_string())
        })
        .expect("serde-sarif is a dev-dependency, pinned in Cargo.lock");
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let src = home.join("registry/src");
    std::fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("{}: {e}", src.display()))
        .filter_map(Result::ok)
        .map(|index| index.path().join(format!("serde-sarif-{version}")))
        .find(|d| d.join("src/schema.json").is_file())
        .unwrap_or_else(|| panic!("serde-sarif {version} not unpacked under {}", src.display()))
}

fn schema() -> (PathBuf, Value) {
    let path = serde_sarif_dir().join("src/schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        schema["$id"],
        "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json",
        "{}: the official SARIF 2.1.0 schema",
        path.display()
    );
    (path, schema)
}

/// Checks an instance against the schema with Python's `jsonschema` (Draft 7, with its
/// format checker); prints every violation and exits 1, or exits 3 when the module is missing.
/// (The Rust `jsonschema` crate refuses the official schema itself: its `run.language` pattern
/// has a stray `]` that the crate's meta-schema check rejects and Python's `re` accepts.)
const VALIDATE: &str = r#"
import json, sys
try:
    import jsonschema
except ImportError:
    sys.exit(3)
schema = json.load(open(sys.argv[1], encoding="utf-8"))
instance = json.load(sys.stdin)
cls = jsonschema.Draft7Validator
cls.check_schema(schema)
v = cls(schema, format_checker=cls.FORMAT_CHECKER)
errors = sorted(v.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
for e in errors:
    print("/" + "/".join(str(p) for p in e.absolute_path) + ": " + e.message)
sys.exit(1 if errors else 0)
"#;

/// Runs [`VALIDATE`]: `Some(violations)`, or `None` when Python or its jsonschema is missing.
fn python_violations(schema: &Path, instance: &Value) -> Option<String> {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", VALIDATE])
        .arg(schema)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(instance.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    match out.status.code() {
        Some(0) => Some(String::new()),
        Some(1) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Some(3) => None,
        _ => panic!(
            "the validator failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Validates `log` against the official schema and reads it with serde-sarif's types;
/// panics with every violation. Without Python's jsonschema (`pip install jsonschema`) only
/// the typed round trip runs, and a note says so.
fn assert_valid(log: &Value, what: &str) {
    let (path, _) = schema();
    match python_violations(&path, log) {
        Some(v) => assert!(v.is_empty(), "{what}: not valid SARIF 2.1.0:\n{v}"),
        None => eprintln!(
            "note: python3 with jsonschema not found; {what}: schema validation skipped, \
             serde-sarif round trip only"
        ),
    }
    serde_json::from_value::<serde_sarif::sarif::Sarif>(log.clone())
        .unwrap_or_else(|e| panic!("{what}: serde-sarif cannot read it: {e}"));
}

mod common;
use common::heisen_in as heisen;

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    // The checks below would pass vacuously with a schema or validator that accepts anything.
    let (path, _) = schema();
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]});
    let Some(v) = python_violations(&path, &bad) else {
        eprintln!("note: python3 with jsonschema not found; skipped");
        return;
    };
    assert!(v.contains("'name' is a required property"), "{v}");
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
        "results": [{"message": {"text": "m"}, "codeFlows": [{"threadFlows": [{"locations": []}]}]}]}]});
    let v = python_violations(&path, &bad).unwrap();
    assert!(
        v.contains("threadFlows/0/locations"),
        "a thread flow needs a location: {v}"
    );
}

#[test]
fn check_sarif_of_every_fixture_is_valid_and_lost_updates_have_code_flows() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let o = heisen(
        &fixtures,
        &["check", ".", "--format", "sarif", "--no-cache"],
    );
    let log: Value = serde_json::from_slice(&o.stdout).expect("SARIF on stdout");
    assert_valid(&log, "check --format sarif on the fixtures");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(results.len() > 50, "{}", results.len());
    let lost: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "atomic-load-store")
        .collect();
    assert!(!lost.is_empty());
    for r in &lost {
        let steps = r["codeFlows"][0]["threadFlows"][0]["locations"]
            .as_array()
            .expect("a code flow");
        assert_eq!(steps.len(), 2, "read → write: {r:#}");
        let read = &steps[0]["location"];
        let write = &steps[1]["location"];
        assert!(
            read["message"]["text"]
                .as_str()
                .unwrap()
                .contains("is read here"),
            "{r:#}"
        );
        assert_eq!(
            write["physicalLocation"]["region"], r["locations"][0]["physicalLocation"]["region"],
            "the last step is the write"
        );
        let line = |l: &Value| {
            l["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
        };
        assert!(line(read) <= line(write), "read before write");
        assert_eq!(steps[0]["executionOrder"], 1);
        assert_eq!(steps[1]["executionOrder"], 2);
    }
    // Every lost-update finding has one; a finding of another group has none.
    for r in results {
        let rule = r["ruleId"].as_str().unwrap();
        let lost_update = [
            "atomic-load-store",
            "free-of-loaded-pointer",
            "kv-read-then-write",
            "load-then-save",
            "map-check-then-act",
            "read-before-lock",
            "split-lock-update",
            "sql-read-then-write",
        ]
        .contains(&rule);
        assert_eq!(
            r.get("codeFlows").is_some(),
            lost_update && r.get("relatedLocations").is_some(),
            "{r:#}"
        );
    }
    // The workspace mode of the demo crate, and a parse failure's notification.
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/demo/Cargo.toml");
    let o = heisen(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            "check",
            "--manifest-path",
            demo.to_str().unwrap(),
            "--format",
            "sarif",
        ],
    );
    assert_valid(&serde_json::from_slice(&o.stdout).unwrap(), "demo crate");
}

fn examples_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/Cargo.toml")
}

/// The real pipeline: `cargo heisen model --format sarif --html DIR` builds and runs the
/// parallel withdrawal's model tests; the buggy one's counterexample is a result with one
/// thread flow per model thread, in timeline order, valid against the official schema.
#[test]
fn model_sarif_of_the_withdrawal_is_valid_with_one_thread_flow_per_thread() {
    let html = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_cargo-heisen"))
        .args(["heisen", "model", "--manifest-path"])
        .arg(examples_manifest())
        .args(["-p", "parallel_withdrawal", "--format", "sarif", "--html"])
        .arg(html.path())
        .arg("in_memory")
        .output()
        .expect("run cargo heisen model");
    let stderr = String::from_utf8_lossy(&o.stderr);
    let log: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not SARIF ({e}); stderr:\n{stderr}"));
    assert_valid(&log, "model --format sarif");
    assert!(
        stderr.contains("heisen model summary"),
        "the table goes to stderr"
    );
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "only in_memory_buggy fails: {results:#?}");
    let r = &results[0];
    assert_eq!(r["properties"]["test"], "model::in_memory_buggy");
    assert_eq!(
        r["suppressions"][0]["kind"], "inSource",
        "xfail: suppressed"
    );
    let flows = r["codeFlows"][0]["threadFlows"].as_array().unwrap();
    assert_eq!(flows.len(), 2, "T0 and T1");
    assert_eq!(flows[0]["message"]["text"], "T0 (main)");
    assert_eq!(flows[1]["message"]["text"], "T1");
    let order = |f: &Value| -> Vec<u64> {
        f["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["executionOrder"].as_u64().unwrap())
            .collect()
    };
    let (t0, t1) = (order(&flows[0]), order(&flows[1]));
    assert!(t0.windows(2).all(|w| w[0] < w[1]) && t1.windows(2).all(|w| w[0] < w[1]));
    let mut all: Vec<u64> = t0.iter().chain(&t1).copied().collect();
    all.sort();
    assert_eq!(
        all,
        (1..=all.len() as u64).collect::<Vec<_>>(),
        "every step once"
    );
    // Values in the messages and as state: both threads read 100, both store 40.
    for f in flows {
        let texts: Vec<&str> = f["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["location"]["message"]["text"].as_str().unwrap())
            .collect();
        assert!(texts.contains(&"load balance = 100 (SeqCst)"), "{texts:?}");
        assert!(texts.contains(&"store balance ← 40 (SeqCst)"), "{texts:?}");
        assert!(f["locations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["state"]["balance"]["text"] == "100"));
    }
    // --html: the page and its JSON are there.
    let names: Vec<String> = std::fs::read_dir(html.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"parallel_withdrawal.model.in_memory_buggy.html".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"parallel_withdrawal.model.in_memory_buggy.json".to_string()));
}
