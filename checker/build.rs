//! Build script: `HEISEN_SOURCE_HASH`, a hash of the checker's own sources, so that the
//! result cache (src/cache.rs) never trusts facts written by a build with a different analysis
//! — also between two builds of the same version, and stable across reinstalls of one build.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "snapshots") {
                collect(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=src");
    let mut files = Vec::new();
    collect(Path::new("src"), &mut files);
    files.sort();
    // FNV-1a 64 (as `output::fnv1a_64`), over each path and content.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut write = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for f in &files {
        write(f.to_string_lossy().replace('\\', "/").as_bytes());
        write(&[0xff]);
        write(&std::fs::read(f).unwrap_or_default());
        write(&[0xff]);
    }
    println!("cargo:rustc-env=HEISEN_SOURCE_HASH={h:016x}");
}
