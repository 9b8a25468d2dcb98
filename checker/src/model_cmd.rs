//! `cargo heisen model`: run every `#[heisen::model]` test in the model configuration
//! (`--features heisen/model`: loom + shuttle), then print a per-test summary.
//!
//! Each model test appends what it explored to the file named by `HEISEN_SUMMARY_FILE`
//! (one tab-separated line per backend: test, backend, executions, bounded|complete|failed,
//! pass|FAIL|xfail|skipped — each backend's own result —, milliseconds, description, warning);
//! this command sets that variable, runs `cargo test`
//! (or `cargo nextest run` when partitioning and nextest is installed) with the output passed
//! through (so counterexample reports appear as the test harness prints them), and then
//! renders the summary table. Exit code: 0 all passed, 1 a test failed, 2 usage / cargo error.
//!
//! `--html DIR` passes `HEISEN_REPORT_DIR=DIR`, where each failing test writes its
//! counterexample as a page and as JSON; `--format sarif` reads those JSON files (from a
//! scratch directory when `--html` is not given) and prints a SARIF log of the failing tests
//! (see [`crate::output::sarif_model`]) as the only thing on stdout.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// Arguments of `cargo heisen model`.
#[derive(clap::Args, Debug)]
pub struct ModelArgs {
    /// Only this package (repeatable). Default: every workspace member that depends on heisen.
    #[arg(short = 'p', long = "package", value_name = "SPEC")]
    pub package: Vec<String>,
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Run only part `k` of `n` of the tests (e.g. `--partition 2/4`), for splitting across CI
    /// machines. Uses cargo-nextest's `hash:k/n` partitioning when nextest is installed, a
    /// stable hash of the test names otherwise.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<String>,
    /// Only this backend (`loom` or `shuttle`); sets `HEISEN_BACKEND`.
    #[arg(long, value_name = "BACKEND", value_parser = ["loom", "shuttle"])]
    pub backend: Option<String>,
    /// Build the tests with optimizations (faster exploration of big models).
    #[arg(long)]
    pub release: bool,
    /// Do not use cargo-nextest even if it is installed.
    #[arg(long)]
    pub no_nextest: bool,
    /// Only tests whose name contains this string (as `cargo test FILTER`).
    #[arg(value_name = "FILTER")]
    pub filter: Option<String>,
    /// `human`: the summary table on stdout. `sarif`: a SARIF 2.1.0 log of the failing tests
    /// on stdout (one thread flow per model thread); cargo's output and the table go to stderr.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = ["human", "sarif"])]
    pub format: String,
    /// Write each failing test's counterexample as `DIR/<test>.html` (a swimlane page) and
    /// `DIR/<test>.json`; sets `HEISEN_REPORT_DIR`.
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
}

/// A `k/n` partition, 1-based `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Partition {
    k: u64,
    n: u64,
}

fn parse_partition(s: &str) -> Result<Partition, String> {
    let s = s
        .strip_prefix("hash:")
        .or_else(|| s.strip_prefix("count:"))
        .unwrap_or(s);
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("--partition expects K/N (e.g. 1/3), got `{s}`"))?;
    let k: u64 = k
        .trim()
        .parse()
        .map_err(|_| format!("bad K in --partition `{s}`"))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("bad N in --partition `{s}`"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("--partition {k}/{n}: need 1 <= K <= N"));
    }
    Ok(Partition { k, n })
}

/// FNV-1a: stable across runs, platforms and Rust versions (unlike `DefaultHasher`).
fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn in_partition(test: &str, p: Partition) -> bool {
    stable_hash(test) % p.n == p.k - 1
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// Workspace members that depend on `heisen` (or are heisen).
fn heisen_packages(manifest: Option<&PathBuf>) -> Result<Vec<String>, String> {
    let mut cmd = Command::new(cargo());
    cmd.args(["metadata", "--format-version", "1", "--no-deps"]);
    if let Some(m) = manifest {
        cmd.arg("--manifest-path").arg(m);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("cannot parse cargo metadata: {e}"))?;
    let members: Vec<&str> = v["workspace_members"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m.as_str()).collect())
        .unwrap_or_default();
    let mut names = Vec::new();
    for p in v["packages"].as_array().into_iter().flatten() {
        let id = p["id"].as_str().unwrap_or_default();
        if !members.contains(&id) {
            continue;
        }
        let name = p["name"].as_str().unwrap_or_default();
        let uses_heisen = name == "heisen"
            || p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|d| d["name"].as_str() == Some("heisen"));
        if uses_heisen {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

fn nextest_available() -> bool {
    Command::new(cargo())
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `cargo <sub> [--manifest-path] -p .. --features heisen/model [--release]`.
fn base_command(args: &ModelArgs, sub: &[&str], packages: &[String]) -> Command {
    let mut cmd = Command::new(cargo());
    cmd.args(sub);
    if let Some(m) = &args.manifest_path {
        cmd.arg("--manifest-path").arg(m);
    }
    for p in packages {
        cmd.arg("-p").arg(p);
    }
    cmd.args(["--features", "heisen/model"]);
    if args.release {
        cmd.arg("--release");
    }
    cmd
}

/// Test names (`path::to::test`) of the selected packages, from libtest's `--list`.
fn list_tests(args: &ModelArgs, packages: &[String]) -> Result<Vec<String>, String> {
    let mut cmd = base_command(args, &["test"], packages);
    cmd.args(["--", "--list", "--format", "terse"]);
    if let Some(f) = &args.filter {
        cmd.arg(f);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run cargo test --list: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo test --list failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// One summary line written by a model test.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    test: String,
    backend: String,
    executions: u64,
    bounded: String,
    status: String,
    millis: u64,
    description: String,
    /// A hint that the test explored less than it seems to (empty: none).
    warning: String,
}

fn parse_rows(text: &str) -> Vec<Row> {
    text.lines()
        .filter_map(|l| {
            // 8 columns; lines of heisen versions before the warning column have 7.
            let f: Vec<&str> = l.splitn(8, '\t').collect();
            if f.len() < 7 {
                return None;
            }
            Some(Row {
                test: f[0].to_string(),
                backend: f[1].to_string(),
                executions: f[2].parse().unwrap_or(0),
                bounded: f[3].to_string(),
                status: f[4].to_string(),
                millis: f[5].parse().unwrap_or(0),
                description: f[6].to_string(),
                warning: f.get(7).map_or(String::new(), |w| w.to_string()),
            })
        })
        .collect()
}

fn render_summary(rows: &[Row]) -> String {
    let mut by_test: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by_test.entry(r.test.as_str()).or_default().push(r);
    }
    let mut out = String::from("\nheisen model summary\n");
    let w = by_test.keys().map(|k| k.len()).max().unwrap_or(4).max(4);
    out.push_str(&format!(
        "  {:<w$}  {:<7}  {:>10}  {:<8}  {:<6}  {:>9}\n",
        "test", "backend", "executions", "explored", "result", "time"
    ));
    for (test, rs) in &by_test {
        for r in rs {
            out.push_str(&format!(
                "  {:<w$}  {:<7}  {:>10}  {:<8}  {:<6}  {:>7}ms   {}\n",
                test, r.backend, r.executions, r.bounded, r.status, r.millis, r.description
            ));
        }
    }
    let warnings: Vec<String> = by_test
        .iter()
        .flat_map(|(test, rs)| {
            rs.iter()
                .filter(|r| !r.warning.is_empty())
                .map(move |r| format!("  warning: {test}: {}\n", r.warning))
        })
        .collect();
    if !warnings.is_empty() {
        out.push('\n');
        out.extend(warnings);
        out.push('\n');
    }
    let failed = by_test
        .values()
        .filter(|rs| rs.iter().any(|r| r.status == "FAIL"))
        .count();
    // A test no backend ran (e.g. a loom-only test in a shuttle-only run) did not pass.
    let skipped = by_test
        .values()
        .filter(|rs| rs.iter().all(|r| r.status == "skipped"))
        .count();
    out.push_str(&format!(
        "  {} model test(s), {} passed, {} failed, {} skipped\n",
        by_test.len(),
        by_test.len() - failed - skipped,
        failed,
        skipped
    ));
    out
}

/// Runs `cargo heisen model`; returns the process exit code.
pub fn run(args: &ModelArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn run_inner(args: &ModelArgs) -> Result<i32, String> {
    let partition = args.partition.as_deref().map(parse_partition).transpose()?;
    let packages = if args.package.is_empty() {
        heisen_packages(args.manifest_path.as_ref())?
    } else {
        args.package.clone()
    };
    if packages.is_empty() {
        eprintln!("cargo heisen model: no workspace member depends on heisen; nothing to run");
        return Ok(0);
    }
    let summary_file = std::env::temp_dir().join(format!(
        "heisen-model-{}-{}.tsv",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let _ = std::fs::remove_file(&summary_file);

    let use_nextest = partition.is_some() && !args.no_nextest && nextest_available();
    let mut cmd = if use_nextest {
        let p = partition.expect("checked");
        let mut c = base_command(args, &["nextest", "run"], &packages);
        c.arg("--partition").arg(format!("hash:{}/{}", p.k, p.n));
        // An empty partition is not an error (nextest exits 4 by default).
        c.args(["--no-fail-fast", "--no-tests=pass"]);
        if let Some(f) = &args.filter {
            c.arg(f);
        }
        c
    } else {
        let mut c = base_command(args, &["test"], &packages);
        c.arg("--no-fail-fast").arg("--");
        match partition {
            Some(p) => {
                let names: Vec<String> = list_tests(args, &packages)?
                    .into_iter()
                    .filter(|t| in_partition(t, p))
                    .collect();
                if names.is_empty() {
                    eprintln!(
                        "cargo heisen model: partition {}/{} holds no tests",
                        p.k, p.n
                    );
                    return Ok(0);
                }
                c.arg("--exact").args(names);
            }
            None => {
                if let Some(f) = &args.filter {
                    c.arg(f);
                }
            }
        }
        c
    };
    cmd.env("HEISEN_SUMMARY_FILE", &summary_file);
    let sarif = args.format == "sarif";
    // Counterexample files: the --html directory, or a scratch one for SARIF alone.
    let scratch = summary_file.with_extension("reports");
    let report_dir = match (&args.html, sarif) {
        (Some(dir), _) => Some(dir.clone()),
        (None, true) => Some(scratch.clone()),
        (None, false) => None,
    };
    if let Some(dir) = &report_dir {
        cmd.env("HEISEN_REPORT_DIR", dir);
    }
    if sarif {
        // stdout is the SARIF log only.
        cmd.stdout(std::io::stderr());
    }
    if let Some(b) = &args.backend {
        cmd.env("HEISEN_BACKEND", b);
    }
    eprintln!(
        "cargo heisen model: {} (packages: {})",
        if use_nextest {
            "cargo nextest run --features heisen/model"
        } else {
            "cargo test --features heisen/model"
        },
        packages.join(", ")
    );
    let start = Instant::now();
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    let rows = parse_rows(&std::fs::read_to_string(&summary_file).unwrap_or_default());
    let _ = std::fs::remove_file(&summary_file);
    let table = format!(
        "{}  total time {:.1?}\n",
        render_summary(&rows),
        start.elapsed()
    );
    if sarif {
        eprint!("{table}");
        let failed = failed_tests(&rows, report_dir.as_deref());
        let _ = std::fs::remove_dir_all(&scratch);
        // A build error runs no test: the invocation did not succeed (and has no results).
        let ran = status.success() || !rows.is_empty();
        let log = crate::output::sarif_model::to_value(&failed, ran);
        let text = serde_json::to_string_pretty(&log).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{table}");
    }
    if let Some(dir) = &args.html {
        let pages = rows
            .iter()
            .filter(|r| r.status == "FAIL" || r.status == "xfail")
            .count();
        if pages > 0 {
            eprintln!(
                "cargo heisen model: counterexample pages in {}",
                dir.display()
            );
        }
    }
    // `xfail` = a `#[should_panic]` model test that failed as expected.
    let any_failed = rows.iter().any(|r| r.status == "FAIL");
    if any_failed || !status.success() {
        if !any_failed {
            eprintln!("cargo heisen model: cargo exited with {status} (a build error or a non-model test failed)");
        }
        return Ok(1);
    }
    Ok(0)
}

/// The failing tests of the run (`FAIL` and `xfail` rows), each with its counterexample
/// document from `dir` when the runtime wrote one.
fn failed_tests(
    rows: &[Row],
    dir: Option<&std::path::Path>,
) -> Vec<crate::output::sarif_model::Failed> {
    let docs: Vec<serde_json::Value> = dir
        .and_then(|d| std::fs::read_dir(d).ok())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|t| serde_json::from_str(&t).ok())
        .collect();
    let mut out: Vec<crate::output::sarif_model::Failed> = Vec::new();
    for r in rows {
        if !(r.status == "FAIL" || r.status == "xfail") || out.iter().any(|f| f.test == r.test) {
            continue;
        }
        // The failing backend's row describes the failure.
        let description = rows
            .iter()
            .filter(|x| x.test == r.test)
            .find(|x| x.bounded == "failed")
            .unwrap_or(r)
            .description
            .clone();
        out.push(crate::output::sarif_model::Failed {
            test: r.test.clone(),
            status: r.status.clone(),
            description,
            counterexample: docs.iter().find(|d| d["test"] == r.test.as_str()).cloned(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_parsing() {
        assert_eq!(parse_partition("2/3"), Ok(Partition { k: 2, n: 3 }));
        assert_eq!(parse_partition("hash:1/4"), Ok(Partition { k: 1, n: 4 }));
        assert!(parse_partition("0/3").is_err());
        assert!(parse_partition("4/3").is_err());
        assert!(parse_partition("3").is_err());
    }

    #[test]
    fn partitions_cover_every_test_exactly_once() {
        let tests: Vec<String> = (0..200).map(|i| format!("mod_{i}::test_{i}")).collect();
        let n = 3;
        let mut seen = 0;
        for k in 1..=n {
            let part: Vec<_> = tests
                .iter()
                .filter(|t| in_partition(t, Partition { k, n }))
                .collect();
            assert!(!part.is_empty(), "partition {k}/{n} empty");
            seen += part.len();
        }
        assert_eq!(seen, tests.len());
        // Stable: the same name always lands in the same partition.
        // Pinned: CI machines must agree on the split across versions and platforms.
        assert_eq!(
            stable_hash("accounts::two_withdrawals"),
            0x120b_43f6_cdc7_7d1a
        );
    }

    #[test]
    fn summary_rows_parse_and_render() {
        let text = "t::a\tloom\t1194\tbounded\tpass\t12\tloom: 1,194 executions, preemption bound 2 — bounded\t\n\
                    t::a\tshuttle\t2000\tbounded\tpass\t30\tshuttle: 1,000 random + 1,000 PCT(depth 3) schedules\n\
                    t::b\tloom\t3\tbounded\tFAIL\t1\tloom\n";
        let rows = parse_rows(text);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].executions, 1194);
        let s = render_summary(&rows);
        assert!(
            s.contains("2 model test(s), 1 passed, 1 failed, 0 skipped"),
            "{s}"
        );
        let with_skip = format!("{text}t::c\t-\t0\t-\tskipped\t0\tno backend selected\n");
        let s = render_summary(&parse_rows(&with_skip));
        assert!(
            s.contains("3 model test(s), 1 passed, 1 failed, 1 skipped"),
            "{s}"
        );
        assert!(
            s.contains("loom: 1,194 executions, preemption bound 2 — bounded"),
            "{s}"
        );
        assert!(!s.contains("warning"), "{s}");
    }

    #[test]
    fn each_backend_keeps_its_result_and_warnings_are_listed() {
        // A shuttle pass before a loom failure stays a pass; the test still counts as failed.
        let text = "t::a\tshuttle\t60\tbounded\tpass\t5\tshuttle: 30 random + 30 PCT(depth 3) schedules — bounded\t\n\
                    t::a\tloom\t2\tfailed\tFAIL\t1\tloom: FAILED (data race) in execution #2\t\n\
                    t::b\tloom\t1\tcomplete\tpass\t1\tloom: 1 execution, preemption bound 2 (no other schedule to explore) — complete\t\
                    loom: 1 execution for 2 threads — the threads never overlapped; is the test shaped to race?\n";
        let rows = parse_rows(text);
        assert_eq!(rows[0].status, "pass");
        assert_eq!(rows[1].status, "FAIL");
        let s = render_summary(&rows);
        assert!(
            s.contains("2 model test(s), 1 passed, 1 failed, 0 skipped"),
            "{s}"
        );
        assert!(
            s.contains("  warning: t::b: loom: 1 execution for 2 threads — the threads never overlapped; is the test shaped to race?\n"),
            "{s}"
        );
        let shuttle_row = s.lines().find(|l| l.contains("shuttle:")).unwrap();
        assert!(shuttle_row.contains(" pass "), "{shuttle_row}");
    }
}
