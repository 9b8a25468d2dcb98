//! The command line: `cargo heisen check | rules | explain | init | model`.
//!
//! Exit codes: 0 = no finding at warn/deny level and every file parsed; 1 = findings or files
//! that failed to parse (`--exit-zero` turns both into 0); 2 = usage, configuration or I/O error.

use crate::cache::Cache;
use crate::config::Config;
use crate::discover;
use crate::engine;
use crate::gate;
use crate::output::{self, Format};
use crate::rules;
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "cargo-heisen",
    bin_name = "cargo heisen",
    version,
    about = "Find phantom concurrency bugs: lost updates, wall-clock ordering, relaxed atomics, unsafe retries"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan the workspace (or PATHS) without building it and report hazards.
    Check(CheckArgs),
    /// List every rule: name, group, default level, summary.
    Rules,
    /// Print a rule's full documentation.
    Explain {
        /// The rule name, e.g. `atomic-load-store`.
        rule: String,
    },
    /// Write a commented default `heisen.toml` at the workspace root.
    Init {
        /// Path to Cargo.toml (default: found from the current directory).
        #[arg(long)]
        manifest_path: Option<PathBuf>,
        /// Overwrite an existing heisen.toml.
        #[arg(long)]
        force: bool,
    },
    /// Run every `#[heisen::model]` test under loom and shuttle, with a per-test summary.
    Model(crate::model_cmd::ModelArgs),
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Files or directories to scan without a manifest (directories honour .gitignore).
    pub paths: Vec<PathBuf>,
    /// Path to Cargo.toml.
    #[arg(long)]
    pub manifest_path: Option<PathBuf>,
    /// Only these workspace packages.
    #[arg(short = 'p', long = "package")]
    pub packages: Vec<String>,
    /// Every member of the workspace (the default when no PATHS and no -p are given).
    #[arg(long)]
    pub workspace: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// cargo's message format: `json` (also `json-diagnostic-short`,
    /// `json-diagnostic-rendered-ansi`) prints cargo's JSON messages, as `--format cargo-json`,
    /// for rust-analyzer's `check.overrideCommand`; `human` is the default format.
    #[arg(long, value_name = "FMT", conflicts_with = "format", value_parser = output::cargo_json::parse_message_format)]
    pub message_format: Option<output::cargo_json::MessageFormat>,
    /// Configuration file (default: heisen.toml at the root, or Cargo.toml metadata).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Exit 0 even when there are findings or parse failures.
    #[arg(long)]
    pub exit_zero: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Report only findings that are not in this baseline file (see --write-baseline).
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    pub baseline: Option<PathBuf>,
    /// Record every current finding in FILE, print how many, and exit 0.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Report only findings on lines changed since `git merge-base REV HEAD` (committed or
    /// not), and in untracked files.
    #[arg(long, value_name = "REV", conflicts_with = "new_from_patch")]
    pub new_from_rev: Option<String>,
    /// Report only findings on lines a unified diff adds or changes.
    #[arg(long, value_name = "FILE")]
    pub new_from_patch: Option<PathBuf>,
    /// Result cache directory (default: target/heisen of the workspace root; paths mode
    /// caches only when this is given).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Parse every file; neither read nor write the result cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Print finding counts per rule (most frequent first) instead of the findings.
    #[arg(long)]
    pub statistics: bool,
    /// Apply every reported finding's mechanical fix in place; report what is left.
    #[arg(long)]
    pub fix: bool,
}

/// Entry point of the binary; returns the process exit code.
pub fn main_with_args(mut args: Vec<std::ffi::OsString>) -> i32 {
    // `cargo heisen …` runs `cargo-heisen heisen …`; accept both forms.
    if args.get(1).is_some_and(|a| a == "heisen") {
        args.remove(1);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Check(a) => check(&a),
        Command::Rules => {
            print!("{}", rules_table());
            0
        }
        Command::Explain { rule } => explain(&rule),
        Command::Model(a) => crate::model_cmd::run(&a),
        Command::Init {
            manifest_path,
            force,
        } => init(manifest_path, force),
    }
}

fn error(msg: impl std::fmt::Display) -> i32 {
    eprintln!("error: {msg}");
    2
}

/// The `cargo heisen rules` table.
pub fn rules_table() -> String {
    let metas = rules::all_meta();
    let w = metas.iter().map(|m| m.name.len()).max().unwrap_or(4).max(4);
    let mut s = format!("{:w$}  {:15}  {:7}  summary\n", "rule", "group", "default");
    for m in metas {
        s.push_str(&format!(
            "{:w$}  {:15}  {:7}  {}\n",
            m.name,
            m.group.as_str(),
            m.default_level.as_str(),
            m.summary
        ));
    }
    s
}

fn explain(rule: &str) -> i32 {
    match rules::find(rule) {
        Some(m) => {
            println!(
                "# {}\n\ngroup: `{}` · default level: `{}`\n\n{}\n\n{}",
                m.name,
                m.group,
                m.default_level,
                m.summary,
                m.doc()
            );
            0
        }
        None => {
            let names: Vec<&str> = rules::all_meta().iter().map(|m| m.name).collect();
            error(format!(
                "unknown rule `{rule}`; known rules: {} (see `cargo heisen rules`)",
                names.join(", ")
            ))
        }
    }
}

fn init(manifest_path: Option<PathBuf>, force: bool) -> i32 {
    let root = match discover::workspace(manifest_path.as_deref(), &[]) {
        Ok(d) => d.root,
        Err(e) => return error(e),
    };
    let path = root.join("heisen.toml");
    if path.exists() && !force {
        return error(format!(
            "`{}` already exists (use --force to overwrite)",
            path.display()
        ));
    }
    match std::fs::write(&path, crate::config::init_template(&rules::all_meta())) {
        Ok(()) => {
            eprintln!("wrote {}", path.display());
            0
        }
        Err(e) => error(format!("cannot write `{}`: {e}", path.display())),
    }
}

fn check(a: &CheckArgs) -> i32 {
    let discovered = if a.paths.is_empty() {
        discover::workspace(a.manifest_path.as_deref(), &a.packages)
    } else {
        discover::paths(&a.paths)
    };
    let discovered = match discovered {
        Ok(d) => d,
        Err(e) => return error(e),
    };
    let metas = rules::all_meta();
    let config = match Config::discover(&discovered.root, a.config.as_deref(), &metas) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{:?}", miette::Report::new(e));
            return 2;
        }
    };
    let total: usize = discovered.units.iter().map(|u| u.files.len()).sum();
    let bar = (std::io::stderr().is_terminal() && total > 200).then(|| {
        let pb = indicatif::ProgressBar::new(total as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} scanning {pos}/{len} files {wide_bar}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    });
    // Gate inputs are read before the scan, so that a bad baseline, patch or revision fails
    // fast (exit 2).
    let baseline = match &a.baseline {
        Some(p) => match gate::baseline::Baseline::read(p) {
            Ok(b) => Some(b),
            Err(e) => return error(e),
        },
        None => None,
    };
    let changes = if let Some(rev) = &a.new_from_rev {
        match gate::diff::from_rev(&discovered.root, rev) {
            Ok(c) => Some(c),
            Err(e) => return error(e),
        }
    } else if let Some(patch) = &a.new_from_patch {
        let cwd = std::env::current_dir().unwrap_or_else(|_| discovered.root.clone());
        match gate::diff::from_patch(&cwd, patch) {
            Ok(c) => Some(c),
            Err(e) => return error(e),
        }
    } else {
        None
    };
    let cache = match (&a.cache_dir, a.no_cache, a.paths.is_empty()) {
        (_, true, _) => None,
        (Some(dir), false, _) => Some(Cache::new(dir)),
        (None, false, true) => Some(Cache::new(Cache::default_dir(&discovered.root))),
        (None, false, false) => None,
    };
    let opts = engine::Options {
        jobs: a.jobs,
        progress: bar
            .clone()
            .map(|pb| Box::new(move || pb.inc(1)) as Box<dyn Fn() + Send + Sync>),
        cache,
    };
    let mut report = engine::check(&discovered, &config, &opts);
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    if let Some(path) = &a.write_baseline {
        let b = gate::baseline::Baseline::from_report(&report);
        if let Err(e) = b.write(path) {
            return error(e);
        }
        eprintln!(
            "wrote {} baseline {} to {}{}",
            b.entries.len(),
            if b.entries.len() == 1 {
                "entry"
            } else {
                "entries"
            },
            path.display(),
            if report.parse_failures.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} files failed to parse and are not in it)",
                    report.parse_failures.len()
                )
            }
        );
        return 0;
    }
    if let Some(b) = &baseline {
        let applied = gate::baseline::apply(&mut report, b);
        eprintln!(
            "baseline: {} known {} hidden",
            applied.hidden,
            if applied.hidden == 1 {
                "finding"
            } else {
                "findings"
            }
        );
        if applied.fixed > 0 {
            eprintln!(
                "baseline: {} {} fixed — rewrite the baseline with --write-baseline",
                applied.fixed,
                if applied.fixed == 1 {
                    "entry"
                } else {
                    "entries"
                }
            );
        }
    }
    if let Some((base, changes)) = &changes {
        let removed = gate::diff::keep_new(&mut report, &discovered.root, base, changes);
        eprintln!(
            "only new: {removed} {} on unchanged lines hidden",
            if removed == 1 { "finding" } else { "findings" }
        );
    }
    if a.fix {
        let outcome = gate::fix::apply(&mut report, &discovered.root);
        for e in &outcome.errors {
            eprintln!("warning: --fix: {e}");
        }
        eprintln!(
            "fixed {} {} in {} {}{}",
            outcome.applied,
            if outcome.applied == 1 {
                "finding"
            } else {
                "findings"
            },
            outcome.files,
            if outcome.files == 1 { "file" } else { "files" },
            if outcome.overlapping > 0 {
                format!(
                    "; {} overlapping {} refused (run --fix again)",
                    outcome.overlapping,
                    if outcome.overlapping == 1 {
                        "fix"
                    } else {
                        "fixes"
                    }
                )
            } else {
                String::new()
            }
        );
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let (format, rendered_as) = match a.message_format {
        Some(output::cargo_json::MessageFormat::Json(r)) => (Format::CargoJson, r),
        Some(output::cargo_json::MessageFormat::Human) => (Format::Human, Default::default()),
        None => (a.format, Default::default()),
    };
    // Machine formats own stdout: anything else (statistics, notes) goes to stderr.
    let machine = matches!(
        format,
        Format::Json | Format::Sarif | Format::Gitlab | Format::CargoJson
    );
    let rendered = if a.statistics && !machine {
        gate::render_statistics(&report, &mut out)
    } else {
        if a.statistics {
            let _ = gate::render_statistics(&report, &mut std::io::stderr());
        }
        match format {
            Format::CargoJson => {
                let ws = output::cargo_json::Workspace {
                    root: discovered.root.clone(),
                    packages: discovered.packages.clone(),
                };
                output::cargo_json::render(&report, &ws, rendered_as, &mut out)
            }
            _ => output::render(format, &report, &metas, &mut out, color),
        }
    };
    if let Err(e) = rendered {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return error(format!("writing output: {e}"));
        }
    }
    let _ = out.flush();
    if a.exit_zero || (report.findings.is_empty() && report.parse_failures.is_empty()) {
        0
    } else {
        1
    }
}
