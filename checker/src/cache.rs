//! The result cache: per-file *facts*, keyed by the file's content and the tool build.
//!
//! What is cached is the output of the expensive stage — parse + analysis walk — for one
//! file: its [`FileFacts`], its suppression [`Directive`]s, or the parse failure. The rules
//! (cheap queries) run again on every run over the per-crate index rebuilt from these facts,
//! so cross-file analyses (wall-clock field taint) and configuration changes are always
//! current; the configuration is therefore *not* part of the key (facts do not depend on it).
//!
//! Layout: one JSON file per source file under `<dir>/facts/`, named by the FNV-1a hash of
//! the file's display path (so a changed file overwrites its own entry and the cache stays
//! as big as the tree). An entry is used only when its tool id (heisen version, cache schema,
//! and `HEISEN_SOURCE_HASH`, a hash of the checker's own sources computed by `build.rs`, so
//! that a rebuilt heisen never reads facts of an older analysis while a reinstall of the same
//! build — a CI job's fresh `cargo install` — still hits), the content length and two
//! independent content hashes all match. Anything else — a missing, unreadable, truncated or corrupt entry — is a
//! miss; a cache can never fail a run. Writes go to a temporary file that is renamed into
//! place, so concurrent runs never see half an entry.

use crate::analysis::FileFacts;
use crate::output::Fnv1a64;
use crate::suppress::Directive;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The cached result of parsing one file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Cached {
    /// The file parsed; its facts and directives.
    Parsed {
        facts: FileFacts,
        directives: Vec<Directive>,
    },
    /// The file did not parse (syntax error at `line`/`column`).
    Failed {
        line: usize,
        column: usize,
        message: String,
    },
}

/// Borrowed twin of [`Cached`] with the same serialized form, so storing does not clone.
#[derive(Serialize)]
enum CachedRef<'a> {
    Parsed {
        facts: &'a FileFacts,
        directives: &'a [Directive],
    },
    Failed {
        line: usize,
        column: usize,
        message: &'a str,
    },
}

#[derive(Deserialize)]
struct Entry {
    tool: String,
    len: u64,
    hash: String,
    result: Cached,
}

#[derive(Serialize)]
struct EntryRef<'a> {
    tool: &'a str,
    len: u64,
    hash: &'a str,
    result: CachedRef<'a>,
}

/// A result cache rooted at a directory (created on first store).
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
    tool: String,
}

impl Cache {
    /// A cache in `dir` (e.g. `<workspace root>/target/heisen`).
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache {
            dir: dir.into(),
            tool: tool_id().to_string(),
        }
    }

    /// The default cache directory of a workspace root.
    pub fn default_dir(root: &Path) -> PathBuf {
        root.join("target").join("heisen")
    }

    /// The directory of the cache.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, rel: &str) -> PathBuf {
        let mut h = Fnv1a64::new();
        h.write_str(rel);
        self.dir
            .join("facts")
            .join(format!("{:016x}.json", h.finish()))
    }

    /// The cached result for `rel` with content `text`, if present and valid.
    pub fn load(&self, rel: &str, text: &str) -> Option<Cached> {
        let bytes = std::fs::read(self.entry_path(rel)).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        (entry.tool == self.tool
            && entry.len == text.len() as u64
            && entry.hash == content_hash(text))
        .then_some(entry.result)
    }

    /// Stores a parsed file. Errors are ignored (the next run is a miss).
    pub fn store_parsed(&self, rel: &str, text: &str, facts: &FileFacts, directives: &[Directive]) {
        self.store(rel, text, CachedRef::Parsed { facts, directives });
    }

    /// Stores a parse failure. Errors are ignored.
    pub fn store_failed(&self, rel: &str, text: &str, line: usize, column: usize, message: &str) {
        self.store(
            rel,
            text,
            CachedRef::Failed {
                line,
                column,
                message,
            },
        );
    }

    fn store(&self, rel: &str, text: &str, result: CachedRef<'_>) {
        let path = self.entry_path(rel);
        let Some(parent) = path.parent() else {
            return;
        };
        if std::fs::create_dir_all(parent).is_err() {
            return;
        }
        let hash = content_hash(text);
        let entry = EntryRef {
            tool: &self.tool,
            len: text.len() as u64,
            hash: &hash,
            result,
        };
        let Ok(json) = serde_json::to_vec(&entry) else {
            return;
        };
        // A unique temporary name per process and thread, renamed into place atomically.
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = parent.join(format!(".tmp-{}-{seq}", std::process::id()));
        if std::fs::write(&tmp, json).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// Two independent 64-bit hashes of the content (FNV-1a over the text, and over the text
/// with a different prefix), as 32 hex digits: a stale entry would need both to collide.
fn content_hash(text: &str) -> String {
    let mut a = Fnv1a64::new();
    a.write(text.as_bytes());
    let mut b = Fnv1a64::new();
    b.write_str("heisen-cache-salt");
    b.write(text.as_bytes());
    format!("{:016x}{:016x}", a.finish(), b.finish())
}

/// Identity of the tool build: cache schema (bump `/1` when the entry layout changes),
/// version, and the hash of the checker's sources.
fn tool_id() -> &'static str {
    concat!(
        "heisen-cache/1 ",
        env!("CARGO_PKG_VERSION"),
        " ",
        env!("HEISEN_SOURCE_HASH")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Cached {
        let ast = syn::parse_file(text).unwrap();
        Cached::Parsed {
            facts: crate::analysis::analyze_file(&ast),
            directives: crate::suppress::collect(text, &ast),
        }
    }

    #[test]
    fn round_trip_and_misses() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let text = "fn f(a: &std::sync::atomic::AtomicUsize) { let v = a.load(SeqCst); a.store(v + 1, SeqCst); } // heisen: allow(x) -- y\n";
        assert!(cache.load("src/a.rs", text).is_none());
        let Cached::Parsed { facts, directives } = parsed(text) else {
            unreachable!()
        };
        cache.store_parsed("src/a.rs", text, &facts, &directives);
        match cache.load("src/a.rs", text) {
            Some(Cached::Parsed {
                facts: f,
                directives: d,
            }) => {
                assert_eq!(f.functions.len(), 1);
                assert_eq!(f.functions[0].events.len(), facts.functions[0].events.len());
                assert_eq!(d, directives);
            }
            other => panic!("{other:?}"),
        }
        // Changed content, other path: misses.
        assert!(cache
            .load("src/a.rs", &text.replace("v + 1", "v + 2"))
            .is_none());
        assert!(cache.load("src/b.rs", text).is_none());
        // Corrupt entry: a miss, not a panic.
        std::fs::write(cache.entry_path("src/a.rs"), b"{\"tool\": 3, trunc").unwrap();
        assert!(cache.load("src/a.rs", text).is_none());
        // Failures round-trip too.
        cache.store_failed("src/a.rs", "fn (", 1, 4, "expected identifier");
        assert!(matches!(
            cache.load("src/a.rs", "fn ("),
            Some(Cached::Failed {
                line: 1,
                column: 4,
                ..
            })
        ));
    }

    #[test]
    fn unwritable_cache_dir_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let cache = Cache::new(&file);
        cache.store_failed("a.rs", "x", 1, 1, "m");
        assert!(cache.load("a.rs", "x").is_none());
    }
}
