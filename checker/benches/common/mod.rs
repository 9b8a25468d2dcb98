//! Shared by the real-code benches (`realbugs`, `apps`): fetching exact published crate
//! versions from the registry into `target/`, and running the checker over one package.
//!
//! Sources are never stored in the repository. A version is fetched once with cargo's own
//! client and unpacked under `target/heisen-bench/src/NAME-VERSION`; later runs read it from
//! there, so the benches run offline after the first fetch. Fetch order, first that works:
//!
//! 1. the `.crate` archive already in cargo's download cache (`$CARGO_HOME/registry/cache`);
//! 2. `cargo info NAME@VERSION`, which downloads the archive into that cache;
//! 3. a generated one-dependency manifest under `target/heisen-bench/manifests/`, resolved
//!    with `cargo generate-lockfile` + `cargo update --precise VERSION` (the only way cargo
//!    accepts a *yanked* version) and `cargo fetch`.
//!
//! The archive is unpacked with the system `tar`. `HEISEN_BENCH_OFFLINE=1` forbids steps 2–3.

#![allow(dead_code)] // each bench uses a different part

use cargo_heisen::config::Config;
use cargo_heisen::finding::{Finding, Report};
use cargo_heisen::{discover, engine};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `target/heisen-bench` of this workspace.
pub fn bench_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/heisen-bench"
    ))
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}

/// The downloaded `.crate` archive of `name@version`, in any registry's cache.
fn cached_archive(name: &str, version: &str) -> Option<PathBuf> {
    let file = format!("{name}-{version}.crate");
    let caches = std::fs::read_dir(cargo_home().join("registry/cache")).ok()?;
    caches
        .flatten()
        .map(|d| d.path().join(&file))
        .find(|p| p.is_file())
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn run_quiet(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        Err(last.trim().to_string())
    }
}

/// The semver-compatible requirement that admits `version` (`0.12` for `0.12.3`, `1` for
/// `1.4.0`), so that `cargo update --precise` may move the lockfile to it.
fn compatible_req(version: &str) -> String {
    let mut parts = version.split(['.', '-', '+']);
    let major = parts.next().unwrap_or("0");
    let minor = parts.next().unwrap_or("0");
    if major == "0" {
        format!("0.{minor}")
    } else {
        major.to_string()
    }
}

/// Downloads `name@version` into cargo's cache through a generated manifest (yanked versions).
fn fetch_through_manifest(name: &str, version: &str) -> Result<(), String> {
    let dir = bench_dir()
        .join("manifests")
        .join(format!("{name}-{version}"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let manifest = format!(
        "[package]\nname = \"heisen-bench-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[lib]\npath = \"lib.rs\"\n\n[workspace]\n\n[dependencies]\n\
         {name} = \"{}\"\n",
        compatible_req(version)
    );
    let write = |f: &str, s: &str| std::fs::write(dir.join(f), s).map_err(|e| e.to_string());
    write("Cargo.toml", &manifest)?;
    write("lib.rs", "")?;
    let path = dir.join("Cargo.toml");
    let with_manifest = |args: &[&str]| {
        let mut c = cargo();
        c.args(args).arg("--manifest-path").arg(&path);
        c
    };
    run_quiet(&mut with_manifest(&["generate-lockfile", "-q"]))?;
    run_quiet(&mut with_manifest(&[
        "update",
        "-q",
        "-p",
        name,
        "--precise",
        version,
    ]))?;
    run_quiet(&mut with_manifest(&["fetch", "-q"]))
}

/// The unpacked package directory of `name@version`, fetching and unpacking it when needed.
pub fn package_source(name: &str, version: &str) -> Result<PathBuf, String> {
    let src = bench_dir().join("src");
    let dir = src.join(format!("{name}-{version}"));
    if dir.join("Cargo.toml").is_file() {
        return Ok(dir);
    }
    let offline = std::env::var_os("HEISEN_BENCH_OFFLINE").is_some_and(|v| v != "0");
    let mut archive = cached_archive(name, version);
    if archive.is_none() && !offline {
        // `cargo info` downloads the archive to read the package's manifest.
        let _ = run_quiet(cargo().args(["info", "-q", &format!("{name}@{version}")]));
        archive = cached_archive(name, version);
        if archive.is_none() {
            fetch_through_manifest(name, version)?;
            archive = cached_archive(name, version);
        }
    }
    let archive = archive.ok_or_else(|| {
        if offline {
            format!("{name}@{version} not fetched yet and HEISEN_BENCH_OFFLINE is set")
        } else {
            format!("{name}@{version}: cargo downloaded no archive")
        }
    })?;
    // Unpack beside the final place, then rename: an interrupted run leaves no half package.
    let tmp = src.join(format!(".unpack-{name}-{version}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    run_quiet(
        Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&tmp),
    )
    .map_err(|e| format!("unpacking {}: {e}", archive.display()))?;
    let inner = tmp.join(format!("{name}-{version}"));
    std::fs::rename(&inner, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(dir)
}

/// `cargo heisen check --no-cache --format json DIR` through the library: every `.rs` file
/// of the package, default configuration, no result cache.
pub struct Scan {
    pub report: Report,
    /// Canonical package directory, to relate finding paths to it.
    pub dir: PathBuf,
    root: PathBuf,
}

pub fn scan(dir: &Path) -> Result<Scan, String> {
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let discovered = discover::paths(std::slice::from_ref(&dir)).map_err(|e| e.to_string())?;
    let root = discovered.root.clone();
    let report = engine::check(&discovered, &Config::default(), &engine::Options::default());
    Ok(Scan { report, dir, root })
}

impl Scan {
    /// A finding's (or label's) file relative to the package directory, `/`-separated.
    pub fn rel(&self, file: &str) -> Option<String> {
        let p = Path::new(file);
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        };
        let rel = abs.strip_prefix(&self.dir).ok()?;
        Some(rel.to_string_lossy().replace('\\', "/"))
    }

    /// The trimmed text of `line` (1-based) of the finding's file, from the report's sources.
    pub fn line_text(&self, f: &Finding, line: usize) -> String {
        self.report
            .sources
            .get(&f.file)
            .and_then(|s| s.lines().nth(line.saturating_sub(1)).map(str::to_string))
            .or_else(|| {
                let abs = self.dir.join(self.rel(&f.file)?);
                let text = std::fs::read_to_string(abs).ok()?;
                text.lines().nth(line.saturating_sub(1)).map(str::to_string)
            })
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

/// Whether `line` (1-based) of a file lies in test code, for reporting only (the checker's
/// own notion may differ): a test, bench, example or build-tool path, or a line inside a
/// top-level `#[cfg(test)] mod … { … }` block (brace counting from the `mod` line; braces in
/// strings and comments are rare enough in test modules to ignore).
pub fn in_test_code(rel: &str, text: &str, line: usize) -> bool {
    if is_test_path(rel) {
        return true;
    }
    let lines: Vec<&str> = text.lines().collect();
    let upto = line.min(lines.len());
    let mut start = None;
    for i in 0..upto {
        if lines[i].trim() == "#[cfg(test)]" {
            let next = lines[i + 1..upto]
                .iter()
                .position(|l| !l.trim_start().starts_with("#["))
                .map(|k| i + 1 + k);
            if let Some(j) = next {
                let l = lines[j];
                if l.starts_with("mod ")
                    || l.starts_with("pub mod ")
                    || l.starts_with("pub(crate) mod ")
                {
                    start = Some(j);
                }
            }
        }
    }
    let Some(j) = start else { return false };
    let mut depth: i64 = 0;
    for l in &lines[j..upto] {
        depth += l.matches('{').count() as i64 - l.matches('}').count() as i64;
        if depth <= 0 && l.contains('}') {
            return false;
        }
    }
    depth > 0
}

/// Whether the path lies in test, bench, example or build-tool code by its location.
pub fn is_test_path(rel: &str) -> bool {
    rel.split('/').any(|c| {
        matches!(
            c,
            "tests" | "test" | "benches" | "examples" | "xtask" | "fuzz" | "testing"
        )
    }) || rel.ends_with("/tests.rs")
        || rel.ends_with("_test.rs")
        || rel.ends_with("_tests.rs")
}

pub fn pct(num: usize, den: usize) -> String {
    if den == 0 {
        "–".to_string()
    } else {
        format!("{:.0}%", 100.0 * num as f64 / den as f64)
    }
}
