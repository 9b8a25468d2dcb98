//! The command line: `cargo heisen check | rules | explain | init | model`.
//!
//! Exit codes: 0 = no finding at warn/deny level and every file parsed; 1 = findings or files
//! that failed to parse (`--exit-zero` turns both into 0); 2 = usage, configuration or I/O error.

use crate::config::Config;
use crate::discover;
use crate::engine;
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
    /// Configuration file (default: heisen.toml at the root, or Cargo.toml metadata).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Exit 0 even when there are findings or parse failures.
    #[arg(long)]
    pub exit_zero: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
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
    let opts = engine::Options {
        jobs: a.jobs,
        progress: bar
            .clone()
            .map(|pb| Box::new(move || pb.inc(1)) as Box<dyn Fn() + Send + Sync>),
    };
    let report = engine::check(&discovered, &config, &opts);
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Err(e) = output::render(a.format, &report, &metas, &mut out, color) {
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
