//! `cargo run --release -p cargo-heisen --example facts_digest -- DIR > digest.txt`: one line
//! per `.rs` file under DIR with the xxh3 hash of its facts as the result cache stores them
//! (postcard), or of its parse failure.
//!
//! A change of the facts' *representation* must not change the facts: run this before and
//! after over the corpus (`target/corpus`) and diff the two outputs. Together with the
//! findings of `cargo heisen check --format json --no-cache` it is the exactness check of
//! performance work on the walk (see ARCHITECTURE.md, "Speed shortcuts are exact").

use cargo_heisen::{discover, engine};
use rayon::prelude::*;
use std::path::PathBuf;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/corpus"));
    let discovered = discover::paths(std::slice::from_ref(&dir)).expect("walk the directory");
    let mut files: Vec<(PathBuf, String)> = discovered
        .units
        .iter()
        .flat_map(|u| u.files.iter().cloned())
        .collect();
    files.sort();
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(engine::WORKER_STACK)
        .build()
        .expect("thread pool");
    let lines: Vec<String> = pool.install(|| {
        files
            .par_iter()
            .map(|(abs, rel)| match engine::parse_one(abs, rel, 0) {
                Ok(p) => {
                    let bytes = postcard::to_allocvec(&p.facts).expect("facts serialize");
                    let dirs = postcard::to_allocvec(&p.directives).expect("directives serialize");
                    format!(
                        "{rel} {:032x} {:032x}",
                        xxhash_rust::xxh3::xxh3_128(&bytes),
                        xxhash_rust::xxh3::xxh3_128(&dirs)
                    )
                }
                Err(f) => format!("{rel} failed {}:{} {}", f.line, f.column, f.message),
            })
            .collect()
    });
    for l in lines {
        println!("{l}");
    }
}
