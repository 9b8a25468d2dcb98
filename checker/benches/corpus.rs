//! `cargo bench -p cargo-heisen --bench corpus [-- DIR]`: the checker against the physical
//! limit of its design, bare `syn` parsing, on the same files in the same run.
//!
//! Corpus: DIR, else `$HEISEN_CORPUS`, else `target/corpus` (fetch it with
//! `bash benches/fetch-corpus.sh`). Reports, as medians of `HEISEN_BENCH_RUNS` (default 5) runs:
//! bare parse time (read + `syn::parse_file`, all cores), `check` time (read + parse + facts +
//! every rule + filter, all cores), their ratio, the warm re-run with a populated result cache
//! (nothing changed) and its ratio to the cold check, an incremental re-run (the cached result
//! of the largest crate dropped: its files load their facts and its rules re-run, as after an
//! edit there), files/s and MB/s of `check`, and peak RSS.
//! Absolute times depend on the machine; quote the ratios.

use cargo_heisen::config::Config;
use cargo_heisen::{discover, engine, rules};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let arg = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let dir = arg
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HEISEN_CORPUS").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/corpus")));
    if !dir.is_dir() {
        eprintln!(
            "corpus not found at {}: run `bash benches/fetch-corpus.sh` first",
            dir.display()
        );
        std::process::exit(2);
    }
    let runs: usize = std::env::var("HEISEN_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let discovered = discover::paths(std::slice::from_ref(&dir)).expect("walk corpus");
    let files: Vec<PathBuf> = discovered
        .units
        .iter()
        .flat_map(|u| u.files.iter().map(|(abs, _)| abs.clone()))
        .collect();
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let config = Config::default();
    let _ = rules::all_meta();
    // Both measurements use the same pool shape as the checker (big stacks, all cores).
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(64 * 1024 * 1024)
        .build()
        .unwrap();

    let mut parse = Vec::new();
    let mut check = Vec::new();
    let mut findings = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let ok = pool.install(|| {
            files
                .par_iter()
                .filter(|f| {
                    let ok = std::fs::read_to_string(f)
                        .ok()
                        .is_some_and(|s| syn::parse_file(&s).is_ok());
                    // As the checker does: free proc-macro2's per-thread source map.
                    proc_macro2::extra::invalidate_current_thread_spans();
                    ok
                })
                .count()
        });
        parse.push(t.elapsed());
        assert!(ok > 0);

        let t = Instant::now();
        let report = engine::check(&discovered, &config, &engine::Options::default());
        check.push(t.elapsed());
        findings = report.summary.findings;
    }
    // Warm re-run: a populated result cache (per-file facts keyed by content), rules re-run.
    let cache_dir = std::env::temp_dir().join(format!("heisen-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache_dir);
    let cached = || engine::Options {
        cache: Some(cargo_heisen::cache::Cache::new(&cache_dir)),
        ..Default::default()
    };
    let t = Instant::now();
    engine::check(&discovered, &config, &cached());
    let populate = t.elapsed();
    let mut warm = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let r = engine::check(&discovered, &config, &cached());
        warm.push(t.elapsed());
        assert_eq!(r.summary.findings, findings, "cache changed the result");
    }
    // Incremental: the largest crate's result entry removed before each run.
    let largest = discovered
        .units
        .iter()
        .max_by_key(|u| u.files.len())
        .expect("a crate");
    let largest_id = cargo_heisen::cache::crate_id(
        &largest.name,
        largest.files.first().map_or("", |(_, rel)| rel.as_str()),
    );
    let mut incremental = Vec::new();
    for _ in 0..runs {
        assert!(cached().cache.unwrap().remove_crate(&largest_id));
        let t = Instant::now();
        let r = engine::check(&discovered, &config, &cached());
        incremental.push(t.elapsed());
        assert_eq!(r.summary.findings, findings, "cache changed the result");
    }
    let _ = std::fs::remove_dir_all(&cache_dir);
    let (p, c) = (median(parse), median(check));
    let secs = c.as_secs_f64();
    println!(
        "corpus: {} ({} files, {:.1} MB), {runs} runs, medians",
        dir.display(),
        files.len(),
        bytes as f64 / 1e6
    );
    println!("bare syn parse:   {:>8.1} ms", p.as_secs_f64() * 1e3);
    println!(
        "cargo heisen check: {:>6.1} ms  ({findings} findings)",
        secs * 1e3
    );
    println!("ratio check / bare parse: {:.2}x", secs / p.as_secs_f64());
    let w = median(warm);
    println!(
        "cold run filling the cache: {:.1} ms",
        populate.as_secs_f64() * 1e3
    );
    println!("warm re-run (cache):  {:>6.1} ms", w.as_secs_f64() * 1e3);
    println!("ratio warm / cold check: {:.3}x", w.as_secs_f64() / secs);
    let i = median(incremental);
    println!(
        "incremental re-run ({}: {} files, result dropped): {:.1} ms, {:.3}x cold",
        largest.name,
        largest.files.len(),
        i.as_secs_f64() * 1e3,
        i.as_secs_f64() / secs
    );
    println!(
        "throughput: {:.0} files/s, {:.1} MB/s",
        files.len() as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    if let Some(mb) = peak_rss_mb() {
        println!("peak RSS: {mb:.0} MB");
    }
}
