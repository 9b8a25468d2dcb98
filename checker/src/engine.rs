//! The pipeline: parse (parallel) → facts → per-crate index → rules → filter → [`Report`].
//!
//! Every file is read once and parsed once. A file that cannot be read, is not UTF-8 or does
//! not parse becomes a [`ParseFailure`] and leaves the pipeline; the scan goes on. A panic in a
//! rule (a bug of ours) is caught and reported as a failure of that crate, never a crash.

use crate::analysis::{analyze_file, test_code, FileFacts};
use crate::cache::{Cache, Cached, Content, CrateResult};
use crate::config::Config;
use crate::discover::Discovered;
use crate::finding::{Finding, Level, ParseFailure, Report, Summary};
use crate::index::CrateIndex;
use crate::rules::{self, CrateContext, FileCx, Rule};
use crate::source::SourceFile;
use crate::suppress::{self, Directive};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Worker threads get a big stack: syn, its visitors and the drop of a syntax tree recurse on
/// deeply nested input. Only touched pages are committed, so 1 GiB of address space per worker
/// costs nothing for ordinary files; deliberately pathological nesting is cut off first by
/// [`MAX_NESTING`].
pub const WORKER_STACK: usize = 1024 * 1024 * 1024;

/// Options of one check run.
#[derive(Default)]
pub struct Options {
    /// Worker threads; `None` = one per core.
    pub jobs: Option<usize>,
    /// Called once per file processed (for a progress bar).
    pub progress: Option<Box<dyn Fn() + Sync + Send>>,
    /// Result cache of per-file facts; `None` parses every file.
    pub cache: Option<Cache>,
}

/// One file after stage 2.
pub struct Parsed {
    pub source: SourceFile,
    pub facts: FileFacts,
    pub directives: Vec<Directive>,
}

/// Reads and decodes one file.
fn read_source(abs: &Path, rel: &str) -> Result<String, ParseFailure> {
    let fail = |message: String| ParseFailure {
        file: rel.to_string(),
        line: 0,
        column: 0,
        message,
    };
    let bytes = std::fs::read(abs).map_err(|e| fail(format!("could not read file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let off = e.utf8_error().valid_up_to();
        fail(format!(
            "file is not valid UTF-8 (invalid byte at offset {off})"
        ))
    })
}

/// Reads, decodes, parses and analyzes one file.
pub fn parse_one(abs: &Path, rel: &str, krate: usize) -> Result<Parsed, ParseFailure> {
    parse_text(read_source(abs, rel)?, abs, rel, krate)
}

/// [`parse_one`] for text already read, through the file-facts cache: a file whose content,
/// path and tool build match a cache entry is not parsed; its facts and directives (or its
/// parse failure) are loaded. `parsed` / `loaded` count the two cases.
fn parse_cached(
    input: Input<'_>,
    cache: Option<&Cache>,
    parsed: &AtomicUsize,
    loaded: &AtomicUsize,
) -> Result<Parsed, ParseFailure> {
    let Input {
        krate,
        abs,
        rel,
        text,
        hash,
    } = input;
    let text = text?;
    let Some(cache) = cache else {
        parsed.fetch_add(1, Ordering::Relaxed);
        return parse_text(text, abs, rel, krate);
    };
    let content = Content { text: &text, hash };
    match cache.load(rel, content) {
        Some(Cached::Parsed { facts, directives }) => {
            loaded.fetch_add(1, Ordering::Relaxed);
            Ok(Parsed {
                source: SourceFile::new(rel.to_string(), abs.to_path_buf(), krate, Arc::from(text)),
                facts,
                directives,
            })
        }
        Some(Cached::Failed {
            line,
            column,
            message,
        }) => {
            loaded.fetch_add(1, Ordering::Relaxed);
            Err(ParseFailure {
                file: rel.to_string(),
                line,
                column,
                message,
            })
        }
        None => {
            parsed.fetch_add(1, Ordering::Relaxed);
            let result = parse_text(text.clone(), abs, rel, krate);
            match &result {
                Ok(p) => cache.store_parsed(rel, content, &p.facts, &p.directives),
                Err(f) => cache.store_failed(rel, content, f.line, f.column, &f.message),
            }
            result
        }
    }
}

/// Deeper nesting than this (delimiters, or a run of prefix operators) is refused before
/// parsing: no real code comes close, and the recursive parsers and visitors would take
/// quadratic time (and, without the big worker stacks, overflow) on it.
pub const MAX_NESTING: usize = 1000;

/// The 1-based line where `text` first nests deeper than [`MAX_NESTING`], if it does. A rough
/// scan (string and comment contents count too), which only errs on the side of accepting.
fn too_deep(text: &str) -> Option<usize> {
    // Deeper nesting needs more opening delimiters, a longer run more prefix operators, than
    // the limit: a count (which vectorizes) rules out almost every file before the scan.
    let (opens, ops) = text.bytes().fold((0usize, 0usize), |(o, p), b| {
        (
            o + usize::from(matches!(b, b'(' | b'[' | b'{')),
            p + usize::from(matches!(b, b'-' | b'!' | b'*' | b'&')),
        )
    });
    if opens <= MAX_NESTING && ops <= MAX_NESTING {
        return None;
    }
    let (mut depth, mut run, mut line) = (0usize, 0usize, 1usize);
    for b in text.bytes() {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => line += 1,
            _ => {}
        }
        match b {
            b'-' | b'!' | b'*' | b'&' => run += 1,
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => run = 0,
        }
        if depth > MAX_NESTING || run > MAX_NESTING {
            return Some(line);
        }
    }
    None
}

/// Parses and analyzes text already in memory.
pub fn parse_text(
    text: String,
    abs: &Path,
    rel: &str,
    krate: usize,
) -> Result<Parsed, ParseFailure> {
    if let Some(line) = too_deep(&text) {
        return Err(ParseFailure {
            file: rel.to_string(),
            line,
            column: 1,
            message: format!("nesting deeper than {MAX_NESTING} levels; file skipped"),
        });
    }
    let ast = syn::parse_file(&text).map_err(|e| {
        let start = e.span().start();
        let failure = ParseFailure {
            file: rel.to_string(),
            line: start.line,
            column: start.column + 1,
            message: e.to_string(),
        };
        proc_macro2::extra::invalidate_current_thread_spans();
        failure
    })?;
    let facts = analyze_file(&ast);
    let directives = suppress::collect(&text, &ast);
    // proc-macro2 keeps every parsed file's text in a thread-local source map and looks spans
    // up by scanning it: without this, memory grows with every file and span lookups slow down
    // linearly over a long scan. No span of this file outlives this point.
    drop(ast);
    proc_macro2::extra::invalidate_current_thread_spans();
    Ok(Parsed {
        source: SourceFile::new(rel.to_string(), abs.to_path_buf(), krate, Arc::from(text)),
        facts,
        directives,
    })
}

/// Runs every rule over one crate's files (edition unknown: see [`run_rules_in`]).
pub fn run_rules(files: &[&Parsed], failures: &mut Vec<ParseFailure>) -> Vec<Finding> {
    run_rules_in(files, None, failures)
}

/// Runs every rule over one crate's files, of a package of `edition` (`"2024"`; `None` when
/// unknown, taken as 2021). Rule panics are caught per rule.
pub fn run_rules_in(
    files: &[&Parsed],
    edition: Option<&str>,
    failures: &mut Vec<ParseFailure>,
) -> Vec<Finding> {
    let facts: Vec<&FileFacts> = files.iter().map(|p| &p.facts).collect();
    let mut index = CrateIndex::build(&facts);
    index.edition = crate::analysis::locks::Edition::of(edition);
    let cxs: Vec<FileCx<'_>> = files
        .iter()
        .map(|p| FileCx {
            source: &p.source,
            facts: &p.facts,
        })
        .collect();
    let cx = CrateContext {
        files: &cxs,
        index: &index,
    };
    let mut out = Vec::new();
    for rule in rules::RULES {
        let mut found = Vec::new();
        let r: &dyn Rule = *rule;
        let res =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.check(&cx, &mut found)));
        match res {
            Ok(()) => out.extend(found),
            Err(_) => failures.push(ParseFailure {
                file: files
                    .first()
                    .map(|p| p.source.rel.clone())
                    .unwrap_or_default(),
                line: 0,
                column: 0,
                message: format!(
                    "internal error: rule `{}` panicked on this crate; its findings are missing \
                     (please report this)",
                    r.meta().name
                ),
            }),
        }
    }
    out
}

/// Runs the whole pipeline over discovered units.
pub fn check(discovered: &Discovered, config: &Config, opts: &Options) -> Report {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .stack_size(WORKER_STACK)
        .build();
    let work = || check_in_pool(discovered, config, opts);
    match pool {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

/// One file of a crate, read.
struct Input<'a> {
    krate: usize,
    abs: &'a Path,
    rel: &'a str,
    text: Result<String, ParseFailure>,
    /// Content hash (when caching).
    hash: u128,
}

/// Run-wide state of [`check_in_pool`].
struct Run<'a> {
    discovered: &'a Discovered,
    config: &'a Config,
    config_key: String,
    opts: &'a Options,
    n_parsed: AtomicUsize,
    n_loaded: AtomicUsize,
}

/// Crates stream through the pool: each crate is read, parsed, checked and filtered as one
/// task, and rayon's work stealing lets one core parse the next crate's files while the other
/// runs a crate's rules (no barrier between groups of crates, so no core waits for the
/// slowest crate of a group). Peak memory is bounded by the crates in flight (about one per
/// worker), not by the whole tree: a crate's texts are read only when its task starts and its
/// facts are freed when it ends.
fn check_in_pool(discovered: &Discovered, config: &Config, opts: &Options) -> Report {
    let run = Run {
        discovered,
        config,
        config_key: format!("{:016x}", config.fingerprint()),
        opts,
        n_parsed: AtomicUsize::new(0),
        n_loaded: AtomicUsize::new(0),
    };
    let parts: Vec<Report> = (0..discovered.units.len())
        .into_par_iter()
        .with_max_len(1)
        .filter_map(|u| {
            let jobs: Vec<(&Path, &str)> = discovered.units[u]
                .files
                .iter()
                .map(|(abs, rel)| (abs.as_path(), rel.as_str()))
                .filter(|(_, rel)| !config.is_excluded(rel))
                .collect();
            (!jobs.is_empty()).then(|| check_unit(u, read_unit(u, &jobs, &run), &run))
        })
        .collect();
    let mut report = Report::default();
    for part in parts {
        merge(&mut report, part);
    }
    report
        .parse_failures
        .extend(discovered.errors.iter().cloned());
    report
        .findings
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    report
        .parse_failures
        .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    report.summary.parse_failed = report.parse_failures.len();
    report.summary.files_parsed = run.n_parsed.into_inner();
    report.summary.files_from_cache = run.n_loaded.into_inner();
    report
}

fn merge(report: &mut Report, part: Report) {
    report.findings.extend(part.findings);
    report.parse_failures.extend(part.parse_failures);
    report.sources.extend(part.sources);
    let (s, p) = (&mut report.summary, &part.summary);
    s.findings += p.findings;
    s.files_with_findings += p.files_with_findings;
    s.files_scanned += p.files_scanned;
    s.suppressed += p.suppressed;
}

/// Reads (and, when caching, hashes) one crate's files, in parallel.
fn read_unit<'a>(krate: usize, jobs: &[(&'a Path, &'a str)], run: &Run<'_>) -> Vec<Input<'a>> {
    let caching = run.opts.cache.is_some();
    jobs.par_iter()
        .map(|&(abs, rel)| {
            let text = read_source(abs, rel);
            let hash = match &text {
                Ok(t) if caching => Content::new(t).hash,
                _ => 0,
            };
            Input {
                krate,
                abs,
                rel,
                text,
                hash,
            }
        })
        .collect()
}

/// Checks one crate: its cached result when no file and no setting changed, else parse (through
/// the file-facts cache), rules and filter, and store the result.
fn check_unit(u: usize, inputs: Vec<Input<'_>>, run: &Run<'_>) -> Report {
    let cache = run.opts.cache.as_ref();
    let files_scanned = inputs.len();
    let progress = |n: usize| {
        if let Some(p) = &run.opts.progress {
            (0..n).for_each(|_| p());
        }
    };
    let id = crate::cache::crate_id(
        &run.discovered.units[u].name,
        inputs.first().map_or("", |i| i.rel),
    );
    let key = cache.map(|_| {
        crate::cache::crate_key(
            // The edition changes temporary lifetimes, so the findings.
            &format!(
                "{}\0{}",
                run.config_key,
                run.discovered.units[u].edition.as_deref().unwrap_or("")
            ),
            inputs.iter().map(|i| {
                let content = match &i.text {
                    Ok(_) => Ok(i.hash),
                    Err(f) => Err(f.message.as_str()),
                };
                (i.rel, content)
            }),
        )
    });
    if let (Some(cache), Some(key)) = (cache, key) {
        if let Some(hit) = cache.load_crate(&id, key) {
            run.n_loaded.fetch_add(files_scanned, Ordering::Relaxed);
            progress(files_scanned);
            return cached_report(hit, inputs, files_scanned);
        }
    }
    let results: Vec<Result<Parsed, ParseFailure>> = inputs
        .into_par_iter()
        .map(|input| {
            let rel = input.rel;
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                parse_cached(input, cache, &run.n_parsed, &run.n_loaded)
            }))
            .unwrap_or_else(|_| {
                Err(ParseFailure {
                    file: rel.to_string(),
                    line: 0,
                    column: 0,
                    message: "internal error while parsing this file (please report this)".into(),
                })
            });
            progress(1);
            r
        })
        .collect();
    let mut parse_failures = Vec::new();
    let mut parsed = Vec::new();
    for r in results {
        match r {
            Ok(p) => parsed.push(p),
            Err(f) => parse_failures.push(f),
        }
    }
    let refs: Vec<&Parsed> = parsed.iter().collect();
    let edition = run.discovered.units[u].edition.as_deref();
    let raw = run_rules_in(&refs, edition, &mut parse_failures);
    let report = filter(raw, &parsed, parse_failures, files_scanned, run.config);
    if let (Some(cache), Some(key)) = (cache, key) {
        cache.store_crate(
            &id,
            key,
            &report.findings,
            &report.parse_failures,
            report.summary.suppressed,
        );
    }
    report
}

/// The report of a crate whose result came from the cache; the texts of files with findings
/// (for rendering) come from this run's reads.
fn cached_report(hit: CrateResult, inputs: Vec<Input<'_>>, files_scanned: usize) -> Report {
    let files_with: BTreeSet<&str> = hit.findings.iter().map(|f| f.file.as_str()).collect();
    let mut sources = BTreeMap::new();
    for input in inputs {
        if let Ok(text) = input.text {
            if files_with.contains(input.rel) {
                sources.insert(input.rel.to_string(), Arc::from(text));
            }
        }
    }
    let summary = Summary {
        findings: hit.findings.len(),
        files_with_findings: files_with.len(),
        files_scanned,
        suppressed: hit.suppressed,
        parse_failed: hit.parse_failures.len(),
        ..Default::default()
    };
    Report {
        findings: hit.findings,
        parse_failures: hit.parse_failures,
        summary,
        sources,
    }
}

/// Sets [`Finding::function`]: the innermost function of the finding's file whose item
/// contains the finding's start.
fn attach_functions(findings: &mut [Finding], parsed: &[Parsed]) {
    let by_file: BTreeMap<&str, &FileFacts> = parsed
        .iter()
        .map(|p| (p.source.rel.as_str(), &p.facts))
        .collect();
    for f in findings {
        let Some(facts) = by_file.get(f.file.as_str()) else {
            continue;
        };
        f.function = facts
            .functions
            .iter()
            .filter(|func| func.item_region.covers_start_of(&f.region))
            .min_by_key(|func| {
                let r = func.item_region;
                (
                    r.end_line.saturating_sub(r.line),
                    r.end_column.wrapping_sub(r.column),
                )
            })
            .map(|func| func.name.clone());
    }
}

/// Suppressions, then configured levels; builds the report.
pub fn filter(
    raw: Vec<Finding>,
    parsed: &[Parsed],
    mut parse_failures: Vec<ParseFailure>,
    files_scanned: usize,
    config: &Config,
) -> Report {
    let mut by_file: BTreeMap<&str, Vec<Finding>> = BTreeMap::new();
    for f in raw {
        let file = parsed
            .iter()
            .find(|p| p.source.rel == f.file)
            .map(|p| p.source.rel.as_str());
        if let Some(file) = file {
            by_file.entry(file).or_default().push(f);
        }
    }
    let group_of = |name: &str| {
        rules::find(name)
            .map(|m| m.group)
            .or_else(|| crate::finding::Group::from_name(name))
    };
    let mut findings = Vec::new();
    let mut suppressed = 0;
    for p in parsed {
        let mine = by_file.remove(p.source.rel.as_str()).unwrap_or_default();
        if mine.is_empty() && p.directives.is_empty() {
            continue;
        }
        let applied = suppress::apply(&p.source.rel, mine, &p.directives, group_of);
        suppressed += applied.suppressed;
        findings.extend(applied.kept);
        findings.extend(applied.meta);
    }
    // The test-code policy (`[test-code]`): files that are test code as a whole, per crate.
    let mut crates: BTreeMap<usize, Vec<&Parsed>> = BTreeMap::new();
    for p in parsed {
        crates.entry(p.source.krate).or_default().push(p);
    }
    let test_files: BTreeSet<String> = crates
        .values()
        .flat_map(|ps| test_code::test_files(ps.iter().map(|p| (p.source.rel.as_str(), &p.facts))))
        .collect();
    let facts_of: BTreeMap<&str, &FileFacts> = parsed
        .iter()
        .map(|p| (p.source.rel.as_str(), &p.facts))
        .collect();
    let in_test_code = |f: &Finding| {
        test_files.contains(&f.file.replace('\\', "/"))
            || facts_of
                .get(f.file.as_str())
                .is_some_and(|facts| test_code::in_test_fn(facts, &f.region))
    };
    let mut kept = Vec::new();
    let mut spots = BTreeSet::new();
    for mut f in findings {
        let Some(meta) = rules::find(f.rule) else {
            continue;
        };
        let level = config.level_for(meta, &f.file);
        if level == Level::Allow || (!config.checks_test_code(meta) && in_test_code(&f)) {
            continue;
        }
        // One spot is reported once per rule (a function analysed twice, a macro body).
        if !spots.insert((f.rule, f.file.clone(), f.region.line, f.region.column)) {
            continue;
        }
        f.level = level;
        kept.push(f);
    }
    attach_functions(&mut kept, parsed);
    kept.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    parse_failures.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    let files_with: BTreeSet<&str> = kept.iter().map(|f| f.file.as_str()).collect();
    let mut sources = BTreeMap::new();
    for p in parsed {
        if files_with.contains(p.source.rel.as_str()) {
            sources.insert(p.source.rel.clone(), p.source.text.clone());
        }
    }
    let summary = Summary {
        findings: kept.len(),
        files_with_findings: files_with.len(),
        files_scanned,
        suppressed,
        parse_failed: parse_failures.len(),
        ..Default::default()
    };
    Report {
        findings: kept,
        parse_failures,
        summary,
        sources,
    }
}
