//! Stage 1: which files to scan, grouped into crates (units).
//!
//! * Workspace mode: `cargo metadata --no-deps --offline` (never builds, never runs build
//!   scripts, never touches the network); one unit per package, holding every `.rs` file under
//!   the package directory that is not in a nested package (any subdirectory with its own
//!   `Cargo.toml`, member or not), `target/`, or ignored by git.
//! * Paths mode: plain files and directories, walked with the `ignore` crate (honours
//!   `.gitignore`), no manifest needed; files are grouped into one unit per enclosing package
//!   (nearest `Cargo.toml` above them), files outside any package into one more.

use crate::finding::ParseFailure;
use std::path::{Path, PathBuf};

/// A set of files analyzed together (one crate's cross-file index).
#[derive(Debug, Clone)]
pub struct Unit {
    pub name: String,
    pub files: Vec<(PathBuf, String)>,
    /// The package's `edition` (`2021`, `2024`); `None` for files of no package. Rules whose
    /// answer depends on it (temporary lifetimes) read it from `CrateIndex::edition`.
    pub edition: Option<String>,
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// The directory display paths are relative to, and where `heisen.toml` is looked for.
    pub root: PathBuf,
    pub units: Vec<Unit>,
    /// Entries that could not be walked (symlink loops, unreadable directories).
    pub errors: Vec<ParseFailure>,
    /// The packages the files belong to, for formats that name them (cargo's JSON messages).
    pub packages: Vec<PackageMeta>,
}

/// A package as cargo names it.
#[derive(Debug, Clone, Default)]
pub struct PackageMeta {
    /// Cargo's package id (`path+file:///abs/dir#name@version`).
    pub id: String,
    /// Absolute path of the package's `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The package's targets as `cargo metadata` prints them. Empty in PATHS mode, which reads
    /// only the manifest's name and version (no cargo process); see
    /// [`crate::output::cargo_json`] for how a file's target is named then.
    pub targets: Vec<serde_json::Value>,
    /// `package.name` (empty when the manifest could not be read).
    pub name: String,
    /// `package.edition` (`2015` when the manifest does not say).
    pub edition: String,
}

impl PackageMeta {
    /// The package directory (the manifest's parent).
    pub fn dir(&self) -> &Path {
        self.manifest_path.parent().unwrap_or(Path::new(""))
    }
}

/// A discovery failure that stops the run (exit 2).
#[derive(Debug)]
pub struct DiscoverError(pub String);

impl std::fmt::Display for DiscoverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn display_rel(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.to_string_lossy().replace('\\', "/")
}

fn is_rust(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "rs")
}

/// Workspace mode.
pub fn workspace(
    manifest_path: Option<&Path>,
    packages: &[String],
) -> Result<Discovered, DiscoverError> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.no_deps();
    cmd.other_options(vec!["--offline".to_string()]);
    if let Some(m) = manifest_path {
        if !m.exists() {
            return Err(DiscoverError(format!(
                "manifest `{}` does not exist",
                m.display()
            )));
        }
        cmd.manifest_path(m);
    }
    let meta = cmd.exec().map_err(|e| {
        let msg = match &e {
            cargo_metadata::Error::CargoMetadata { stderr } => stderr
                .lines()
                .find(|l| l.trim_start().starts_with("error"))
                .unwrap_or(stderr.trim())
                .trim()
                .to_string(),
            other => other.to_string(),
        };
        DiscoverError(format!("could not read the cargo workspace: {msg}"))
    })?;
    let root: PathBuf = meta.workspace_root.clone().into();
    for p in packages {
        if !meta.packages.iter().any(|pkg| pkg.name.as_str() == p) {
            return Err(DiscoverError(format!(
                "package `{p}` is not a member of this workspace"
            )));
        }
    }
    let package_dirs: Vec<PathBuf> = meta
        .packages
        .iter()
        .filter_map(|p| {
            p.manifest_path
                .parent()
                .map(|d| d.as_std_path().to_path_buf())
        })
        .collect();
    let mut out = Discovered {
        root: root.clone(),
        ..Default::default()
    };
    for pkg in meta.workspace_packages() {
        if !packages.is_empty() && !packages.iter().any(|p| p == pkg.name.as_str()) {
            continue;
        }
        let Some(dir) = pkg
            .manifest_path
            .parent()
            .map(|d| d.as_std_path().to_path_buf())
        else {
            continue;
        };
        // Nested packages are their own units.
        let nested: Vec<PathBuf> = package_dirs
            .iter()
            .filter(|d| **d != dir && d.starts_with(&dir))
            .cloned()
            .collect();
        let mut files = Vec::new();
        // Target sources outside the package directory (`path = "../x.rs"`) are scanned too,
        // but only when they stay inside the workspace root.
        for t in &pkg.targets {
            let src = t.src_path.as_std_path();
            if !src.starts_with(&dir) && src.starts_with(&root) && src.is_file() {
                files.push((src.to_path_buf(), display_rel(&root, src)));
            }
        }
        walk_dir(&dir, &root, &nested, true, &mut files, &mut out.errors);
        files.sort();
        files.dedup();
        out.units.push(Unit {
            name: pkg.name.to_string(),
            files,
            edition: Some(pkg.edition.as_str().to_string()),
        });
    }
    out.packages = meta
        .workspace_packages()
        .iter()
        .map(|pkg| PackageMeta {
            id: pkg.id.repr.clone(),
            manifest_path: pkg.manifest_path.clone().into(),
            targets: pkg
                .targets
                .iter()
                .filter_map(|t| serde_json::to_value(t).ok())
                .collect(),
            name: pkg.name.to_string(),
            edition: pkg.edition.as_str().to_string(),
        })
        .collect();
    Ok(out)
}

/// Paths mode.
pub fn paths(paths: &[PathBuf]) -> Result<Discovered, DiscoverError> {
    let root =
        std::env::current_dir().map_err(|e| DiscoverError(format!("current directory: {e}")))?;
    let mut out = Discovered {
        root: root.clone(),
        ..Default::default()
    };
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p)
            .map_err(|e| DiscoverError(format!("cannot read `{}`: {e}", p.display())))?;
        if meta.is_dir() {
            walk_dir(p, &root, &[], false, &mut files, &mut out.errors);
        } else {
            let rel = display_rel(&root, p);
            files.push((p.clone(), rel));
        }
    }
    files.sort();
    files.dedup();
    // One unit per package: the nearest ancestor directory with a Cargo.toml, so cross-file
    // facts stay within a crate (and per-crate work stays per crate) even for a whole tree.
    let mut by_pkg: std::collections::BTreeMap<Option<PathBuf>, Vec<(PathBuf, String)>> =
        std::collections::BTreeMap::new();
    let mut cache: std::collections::HashMap<PathBuf, Option<PathBuf>> = Default::default();
    for (abs, rel) in files {
        let pkg = root
            .join(&abs)
            .parent()
            .and_then(|dir| package_dir(dir, &mut cache));
        by_pkg.entry(pkg).or_default().push((abs, rel));
    }
    for (pkg, files) in by_pkg {
        let name = match &pkg {
            Some(dir) => display_rel(&root, dir),
            None => "paths".to_string(),
        };
        let mut edition = None;
        if let Some(dir) = pkg {
            let meta = manifest_package(&dir);
            edition = Some(meta.edition.clone());
            out.packages.push(meta);
        }
        out.units.push(Unit {
            name,
            files,
            edition,
        });
    }
    Ok(out)
}

/// What PATHS mode knows of the package in `dir`: the name, version and edition its
/// `Cargo.toml` declares (read as TOML, never with cargo), and an id in cargo's format. A
/// manifest that cannot be read or parsed gives an id of the directory alone.
fn manifest_package(dir: &Path) -> PackageMeta {
    let manifest_path = dir.join("Cargo.toml");
    let table = std::fs::read_to_string(&manifest_path)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok());
    let package = table
        .as_ref()
        .and_then(|t| t.get("package"))
        .and_then(|p| p.as_table());
    let field = |k: &str| {
        package
            .and_then(|p| p.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let name = field("name").unwrap_or_default();
    let url = format!("path+file://{}", dir.to_string_lossy().replace('\\', "/"));
    let id = match (name.is_empty(), field("version")) {
        (true, _) => url,
        (false, Some(v)) => format!("{url}#{name}@{v}"),
        // `version.workspace = true` or none: cargo's id then still names the package.
        (false, None) => format!("{url}#{name}"),
    };
    PackageMeta {
        id,
        manifest_path,
        targets: Vec::new(),
        name,
        edition: field("edition")
            .or_else(|| inherited_edition(dir, package?))
            .unwrap_or_else(|| "2015".to_string()),
    }
}

/// The edition a package with `edition.workspace = true` inherits: `[workspace.package]
/// edition` of the nearest ancestor manifest (the package's own included) that has a
/// `[workspace]` table, as cargo resolves it. `None` when the package does not inherit or no
/// such workspace says (then the package is taken as 2015, cargo's default).
fn inherited_edition(dir: &Path, package: &toml::Table) -> Option<String> {
    let inherits = package
        .get("edition")
        .and_then(|e| e.as_table())
        .and_then(|e| e.get("workspace"))
        .and_then(|w| w.as_bool())
        == Some(true);
    if !inherits {
        return None;
    }
    dir.ancestors().find_map(|d| {
        let table = std::fs::read_to_string(d.join("Cargo.toml"))
            .ok()?
            .parse::<toml::Table>()
            .ok()?;
        let ws = table.get("workspace")?.as_table()?;
        // The nearest workspace decides, also when it does not declare an edition.
        Some(
            ws.get("package")
                .and_then(|p| p.get("edition"))
                .and_then(|e| e.as_str())
                .map(str::to_string),
        )
    })?
}

/// The nearest ancestor of `dir` (itself included) that holds a `Cargo.toml`.
fn package_dir(
    dir: &Path,
    cache: &mut std::collections::HashMap<PathBuf, Option<PathBuf>>,
) -> Option<PathBuf> {
    if let Some(hit) = cache.get(dir) {
        return hit.clone();
    }
    let found = if dir.join("Cargo.toml").is_file() {
        Some(dir.to_path_buf())
    } else {
        dir.parent().and_then(|p| package_dir(p, cache))
    };
    cache.insert(dir.to_path_buf(), found.clone());
    found
}

/// Walks `dir` for `.rs` files, honouring `.gitignore`, skipping `target/` and `skip`. With
/// `skip_packages`, a subdirectory holding its own `Cargo.toml` is another package (a nested
/// member, or a separate workspace such as test data) and is skipped too.
fn walk_dir(
    dir: &Path,
    root: &Path,
    skip: &[PathBuf],
    skip_packages: bool,
    files: &mut Vec<(PathBuf, String)>,
    errors: &mut Vec<ParseFailure>,
) {
    let skip: Vec<PathBuf> = skip.to_vec();
    let walker = ignore::WalkBuilder::new(dir)
        .follow_links(true)
        .hidden(true)
        .git_ignore(true)
        .require_git(false)
        .filter_entry(move |e| {
            let p = e.path();
            if e.depth() > 0 && e.file_type().is_some_and(|t| t.is_dir()) {
                if p.file_name().is_some_and(|n| n == "target") {
                    return false;
                }
                if skip.iter().any(|s| s == p) {
                    return false;
                }
                if skip_packages && p.join("Cargo.toml").is_file() {
                    return false;
                }
            }
            true
        })
        .build();
    for entry in walker {
        match entry {
            Ok(e) => {
                if e.file_type().is_some_and(|t| t.is_file()) && is_rust(e.path()) {
                    let rel = display_rel(root, e.path());
                    files.push((e.path().to_path_buf(), rel));
                }
            }
            Err(err) => {
                let path = match &err {
                    ignore::Error::WithPath { path, .. } => display_rel(root, path),
                    ignore::Error::Loop { child, .. } => display_rel(root, child),
                    _ => display_rel(root, dir),
                };
                let msg = err.to_string();
                errors.push(ParseFailure {
                    file: path,
                    line: 0,
                    column: 0,
                    message: format!(
                        "skipped while walking: {}",
                        msg.lines().next().unwrap_or("")
                    ),
                });
            }
        }
    }
}
