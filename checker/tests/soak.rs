//! Soak test over the whole vendored corpus (thousands of files, all transitive
//! dependencies). Not part of the default `cargo test`; run it with
//!
//! ```text
//! bash benches/fetch-corpus.sh && cargo test --release -p cargo-heisen --test soak -- --ignored --nocapture
//! ```
//!
//! It asserts the run completes, nothing panics, every file is either scanned or reported as
//! a `parse-error` record, and the summary agrees with the records.

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "needs the vendored corpus: bash benches/fetch-corpus.sh"]
fn whole_corpus_no_panic_every_file_accounted_for() {
    let corpus = std::env::var_os("HEISEN_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/corpus"));
    assert!(corpus.is_dir(), "no corpus at {}", corpus.display());
    let rs_files = walk_count(&corpus);
    let o = Command::new(env!("CARGO_BIN_EXE_cargo-heisen"))
        .args(["heisen", "check", "--format", "json", "--no-cache"])
        .arg(&corpus)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "exit {:?}: {stderr}",
        o.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let out = String::from_utf8_lossy(&o.stdout);
    let objs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = objs
        .iter()
        .find(|o| o["kind"] == "summary")
        .expect("summary");
    let parse_errors: Vec<_> = objs.iter().filter(|o| o["kind"] == "parse-error").collect();
    let findings = objs.iter().filter(|o| o["kind"] == "finding").count();
    assert_eq!(summary["findings"], findings);
    assert_eq!(summary["parse_failed"], parse_errors.len());
    assert_eq!(
        summary["files_scanned"], rs_files,
        "every .rs file must be accounted for"
    );
    for e in &parse_errors {
        assert!(
            !e["message"].as_str().unwrap().contains("internal error"),
            "{e}"
        );
    }
    println!(
        "soak: {rs_files} files, {findings} findings, {} parse-error records",
        parse_errors.len()
    );
}

fn walk_count(dir: &Path) -> usize {
    // The corpus has no .gitignore files; count every .rs file outside target/ directories.
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                if p.file_name().is_some_and(|n| n == "target")
                    || p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                {
                    continue;
                }
                stack.push(p);
            } else if ft.is_file() && p.extension().is_some_and(|x| x == "rs") {
                n += 1;
            }
        }
    }
    n
}
