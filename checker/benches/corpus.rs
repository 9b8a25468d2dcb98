//! `cargo bench -p cargo-heisen --bench corpus [-- DIR]`: the checker against the physical
//! limit of its design, bare `syn` parsing, on the same files in the same run.
//!
//! Corpus: DIR, else `$HEISEN_CORPUS`, else `target/corpus` (fetch it with
//! `bash benches/fetch-corpus.sh`). Reports, as medians of `HEISEN_BENCH_RUNS` (default 5) runs:
//! bare parse time (read + `syn::parse_file`, all cores), `check` time (read + parse + facts +
//! every rule + filter, all cores), their ratio (also in CPU time, user + system of the whole
//! process, which a machine shared with other work disturbs less than wall time), the warm re-run with a populated result cache
//! (nothing changed) and its ratio to the cold check, an incremental re-run (the cached result
//! of the largest crate dropped: its files load their facts and its rules re-run, as after an
//! edit there), files/s and MB/s of `check`, and peak RSS.
//! Absolute times depend on the machine; quote the ratios. `HEISEN_BENCH_JOBS=N` runs both the
//! bare parse and `check` on N worker threads (default: one per core), e.g. 1 for the
//! single-threaded ratio.
//!
//! The bench uses the same global allocator as the `cargo-heisen` binary (mimalloc), for the
//! bare parse as for `check`.

use cargo_heisen::config::Config;
use cargo_heisen::{discover, engine, rules};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// User + system CPU time of this process so far (all threads), from `/proc/self/stat`.
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesized command name; utime and stime are 14 and 15.
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<u64> = rest
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|x| x.parse().ok())
                .collect();
            Some(f.iter().sum::<u64>())
        })
        .unwrap_or(0);
    // The kernel reports in USER_HZ, 100 on Linux.
    Duration::from_millis(ticks * 10)
}

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
    let jobs: Option<usize> = std::env::var("HEISEN_BENCH_JOBS")
        .ok()
        .and_then(|s| s.parse().ok());
    // Both measurements use the same pool shape as the checker (big stacks, all cores or
    // `HEISEN_BENCH_JOBS`).
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .stack_size(64 * 1024 * 1024)
        .build()
        .unwrap();
    let options = || engine::Options {
        jobs,
        ..Default::default()
    };

    let mut parse = Vec::new();
    let mut check = Vec::new();
    let (mut parse_cpu, mut check_cpu) = (Vec::new(), Vec::new());
    let mut findings = 0;
    for _ in 0..runs {
        let c = cpu_time();
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
        parse_cpu.push(cpu_time().saturating_sub(c));
        assert!(ok > 0);

        let c = cpu_time();
        let t = Instant::now();
        let report = engine::check(&discovered, &config, &options());
        check.push(t.elapsed());
        check_cpu.push(cpu_time().saturating_sub(c));
        findings = report.summary.findings;
    }
    // Warm re-run: a populated result cache (per-file facts keyed by content), rules re-run.
    let cache_dir = std::env::temp_dir().join(format!("heisen-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache_dir);
    let cached = || engine::Options {
        cache: Some(cargo_heisen::cache::Cache::new(&cache_dir)),
        ..options()
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
        "corpus: {} ({} files, {:.1} MB), {runs} runs, medians, worker threads: {}",
        dir.display(),
        files.len(),
        bytes as f64 / 1e6,
        jobs.map_or_else(|| "one per core".to_string(), |j| j.to_string())
    );
    println!("bare syn parse:   {:>8.1} ms", p.as_secs_f64() * 1e3);
    println!(
        "cargo heisen check: {:>6.1} ms  ({findings} findings)",
        secs * 1e3
    );
    println!("ratio check / bare parse: {:.2}x", secs / p.as_secs_f64());
    let (pc, cc) = (median(parse_cpu), median(check_cpu));
    println!(
        "CPU time (user + system): bare parse {:.1} s, check {:.1} s, ratio {:.2}x",
        pc.as_secs_f64(),
        cc.as_secs_f64(),
        cc.as_secs_f64() / pc.as_secs_f64().max(1e-9)
    );
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
