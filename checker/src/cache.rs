//! The result cache, two levels deep, keyed by content and the tool build.
//!
//! * **Crate results.** For each crate (discovery unit): its findings after suppressions and
//!   configured levels, its parse failures and its suppressed count, keyed by a hash of the
//!   configuration and of every file's path and content. A warm run over an unchanged crate
//!   reads and hashes its files and loads this one entry: no parse, no facts, no rules.
//! * **File facts.** For each file: the output of the expensive stage (parse + analysis walk),
//!   its [`FileFacts`] and suppression [`Directive`]s, or the parse failure. When any file of a
//!   crate changed, the crate's unchanged files load their facts from here and only the changed
//!   ones are parsed; the rules then run again over the whole crate, so cross-file analyses
//!   (wall-clock field taint) stay current. Facts do not depend on the configuration, so it is
//!   not part of this key.
//!
//! Layout: `<dir>/facts/<hash of the file's display path>.bin` and
//! `<dir>/crates/<hash of the crate's name and first file>.bin`, so a changed file or crate
//! overwrites its own entry and the cache stays as big as the tree. Entries are postcard
//! (compact binary serde; facts in JSON were three times the size of the source and decoding
//! them dominated a warm run). An entry is used only when its tool id (cache schema, heisen
//! version, and `HEISEN_SOURCE_HASH`, a hash of the checker's own sources computed by
//! `build.rs`, so a rebuilt heisen never reads facts of an older analysis while a reinstall of
//! the same build — a CI job's fresh `cargo install` — still hits) and its key (content length
//! and 128-bit xxh3 content hash; for crates, the hash over configuration, paths and content
//! hashes) match. Anything else — a missing, unreadable, truncated or corrupt entry — is a
//! miss; a cache can never fail a run. Writes go to a temporary file that is renamed into
//! place, so concurrent runs never see half an entry.

use crate::analysis::FileFacts;
use crate::finding::{Finding, Fix, Group, Label, Level, ParseFailure, Region};
use crate::hash::Fnv1a64;
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

/// A file's text with its content hash, computed once per run.
#[derive(Clone, Copy, Debug)]
pub struct Content<'a> {
    pub text: &'a str,
    pub hash: u128,
}

impl<'a> Content<'a> {
    pub fn new(text: &'a str) -> Content<'a> {
        Content {
            text,
            hash: xxhash_rust::xxh3::xxh3_128(text.as_bytes()),
        }
    }
}

#[derive(Deserialize)]
struct Entry {
    tool: String,
    len: u64,
    hash: u128,
    result: Cached,
}

#[derive(Serialize)]
struct EntryRef<'a> {
    tool: &'a str,
    len: u64,
    hash: u128,
    result: CachedRef<'a>,
}

/// A crate's filtered result, as cached.
#[derive(Serialize, Deserialize)]
struct CrateEntry {
    tool: String,
    key: u128,
    findings: Vec<FindingRecord>,
    parse_failures: Vec<ParseFailure>,
    suppressed: usize,
}

/// A crate's result loaded from the cache.
pub struct CrateResult {
    pub findings: Vec<Finding>,
    pub parse_failures: Vec<ParseFailure>,
    pub suppressed: usize,
}

/// [`Finding`] in a form a binary format can hold (no `&'static str`, no flattening).
#[derive(Serialize, Deserialize)]
struct FindingRecord {
    rule: String,
    group: Group,
    level: Level,
    file: String,
    region: Region,
    message: String,
    help: String,
    labels: Vec<(Region, String, Option<String>)>,
    fix: Option<(Region, String)>,
    function: Option<String>,
}

impl FindingRecord {
    fn of(f: &Finding) -> FindingRecord {
        FindingRecord {
            rule: f.rule.to_string(),
            group: f.group,
            level: f.level,
            file: f.file.clone(),
            region: f.region,
            message: f.message.clone(),
            help: f.help.clone(),
            labels: f
                .labels
                .iter()
                .map(|l| (l.region, l.message.clone(), l.file.clone()))
                .collect(),
            fix: f.fix.as_ref().map(|x| (x.region, x.replacement.clone())),
            function: f.function.clone(),
        }
    }

    /// Back to a finding; `None` if the rule is unknown to this build.
    fn finding(self) -> Option<Finding> {
        Some(Finding {
            rule: crate::rules::find(&self.rule)?.name,
            group: self.group,
            level: self.level,
            file: self.file,
            region: self.region,
            message: self.message,
            help: self.help,
            labels: self
                .labels
                .into_iter()
                .map(|(region, message, file)| Label {
                    region,
                    message,
                    file,
                })
                .collect(),
            fix: self.fix.map(|(region, replacement)| Fix {
                region,
                replacement,
            }),
            function: self.function,
        })
    }
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

    fn entry_path(&self, kind: &str, id: &str) -> PathBuf {
        let mut h = Fnv1a64::new();
        h.write_str(id);
        self.dir.join(kind).join(format!("{:016x}.bin", h.finish()))
    }

    fn read<T: serde::de::DeserializeOwned>(&self, path: &Path) -> Option<T> {
        let bytes = std::fs::read(path).ok()?;
        postcard::from_bytes(&bytes).ok()
    }

    /// The cached result for `rel` with `content`, if present and valid.
    pub fn load(&self, rel: &str, content: Content<'_>) -> Option<Cached> {
        let entry: Entry = self.read(&self.entry_path("facts", rel))?;
        (entry.tool == self.tool
            && entry.len == content.text.len() as u64
            && entry.hash == content.hash)
            .then_some(entry.result)
    }

    /// Stores a parsed file. Errors are ignored (the next run is a miss).
    pub fn store_parsed(
        &self,
        rel: &str,
        content: Content<'_>,
        facts: &FileFacts,
        directives: &[Directive],
    ) {
        self.store_file(rel, content, CachedRef::Parsed { facts, directives });
    }

    /// Stores a parse failure. Errors are ignored.
    pub fn store_failed(
        &self,
        rel: &str,
        content: Content<'_>,
        line: usize,
        column: usize,
        message: &str,
    ) {
        self.store_file(
            rel,
            content,
            CachedRef::Failed {
                line,
                column,
                message,
            },
        );
    }

    fn store_file(&self, rel: &str, content: Content<'_>, result: CachedRef<'_>) {
        let entry = EntryRef {
            tool: &self.tool,
            len: content.text.len() as u64,
            hash: content.hash,
            result,
        };
        if let Ok(bytes) = postcard::to_stdvec(&entry) {
            self.write(&self.entry_path("facts", rel), &bytes);
        }
    }

    /// The cached result of crate `id` under `key` (see [`crate_key`]), if present and valid.
    pub fn load_crate(&self, id: &str, key: u128) -> Option<CrateResult> {
        let entry: CrateEntry = self.read(&self.entry_path("crates", id))?;
        if entry.tool != self.tool || entry.key != key {
            return None;
        }
        let findings = entry
            .findings
            .into_iter()
            .map(FindingRecord::finding)
            .collect::<Option<Vec<_>>>()?;
        Some(CrateResult {
            findings,
            parse_failures: entry.parse_failures,
            suppressed: entry.suppressed,
        })
    }

    /// Removes the cached result of crate `id`; whether there was one.
    pub fn remove_crate(&self, id: &str) -> bool {
        std::fs::remove_file(self.entry_path("crates", id)).is_ok()
    }

    /// Stores the result of crate `id` under `key`. Errors are ignored.
    pub fn store_crate(
        &self,
        id: &str,
        key: u128,
        findings: &[Finding],
        parse_failures: &[ParseFailure],
        suppressed: usize,
    ) {
        let entry = CrateEntry {
            tool: self.tool.clone(),
            key,
            findings: findings.iter().map(FindingRecord::of).collect(),
            parse_failures: parse_failures.to_vec(),
            suppressed,
        };
        if let Ok(bytes) = postcard::to_stdvec(&entry) {
            self.write(&self.entry_path("crates", id), &bytes);
        }
    }

    fn write(&self, path: &Path, bytes: &[u8]) {
        let Some(parent) = path.parent() else {
            return;
        };
        if std::fs::create_dir_all(parent).is_err() {
            return;
        }
        // A unique temporary name per process and thread, renamed into place atomically.
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = parent.join(format!(".tmp-{}-{seq}", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// A crate's cache identity: its name and first file (names repeat in paths mode).
pub fn crate_id(name: &str, first_file: &str) -> String {
    format!("{name}\0{first_file}")
}

/// The key of a crate's result: the configuration (its fingerprint) and, in order, every
/// file's display path with its content hash or the reason it could not be read.
pub fn crate_key<'a>(
    config: &str,
    files: impl IntoIterator<Item = (&'a str, Result<u128, &'a str>)>,
) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut field = |bytes: &[u8]| {
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(config.as_bytes());
    for (rel, content) in files {
        field(rel.as_bytes());
        match content {
            Ok(hash) => field(&hash.to_le_bytes()),
            Err(reason) => field(reason.as_bytes()),
        }
    }
    h.digest128()
}

/// Identity of the tool build: cache schema (bump `/2` when the entry layout changes),
/// version, and the hash of the checker's sources.
fn tool_id() -> &'static str {
    concat!(
        "heisen-cache/2 ",
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
        let c = Content::new(text);
        assert!(cache.load("src/a.rs", c).is_none());
        let Cached::Parsed { facts, directives } = parsed(text) else {
            unreachable!()
        };
        cache.store_parsed("src/a.rs", c, &facts, &directives);
        match cache.load("src/a.rs", c) {
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
        let changed = text.replace("v + 1", "v + 2");
        assert!(cache.load("src/a.rs", Content::new(&changed)).is_none());
        assert!(cache.load("src/b.rs", c).is_none());
        // Corrupt and truncated entries: misses, not panics.
        let path = cache.entry_path("facts", "src/a.rs");
        let good = std::fs::read(&path).unwrap();
        std::fs::write(&path, &good[..good.len() / 2]).unwrap();
        assert!(cache.load("src/a.rs", c).is_none());
        std::fs::write(&path, b"{\"tool\": 3, trunc").unwrap();
        assert!(cache.load("src/a.rs", c).is_none());
        // Failures round-trip too.
        let bad = Content::new("fn (");
        cache.store_failed("src/a.rs", bad, 1, 4, "expected identifier");
        assert!(matches!(
            cache.load("src/a.rs", bad),
            Some(Cached::Failed {
                line: 1,
                column: 4,
                ..
            })
        ));
    }

    #[test]
    fn crate_results_round_trip_and_keys_cover_config_paths_and_content() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let rule = crate::rules::all_meta()[0];
        let finding = Finding {
            rule: rule.name,
            group: rule.group,
            level: Level::Warn,
            file: "src/a.rs".into(),
            region: Region {
                line: 3,
                column: 5,
                end_line: 3,
                end_column: 9,
            },
            message: "m".into(),
            help: "h".into(),
            labels: vec![Label {
                region: Region::default(),
                message: "read here".into(),
                file: Some("src/b.rs".into()),
            }],
            fix: Some(Fix {
                region: Region::default(),
                replacement: "Acquire".into(),
            }),
            function: Some("S::f".into()),
        };
        let failure = ParseFailure {
            file: "src/c.rs".into(),
            line: 1,
            column: 2,
            message: "expected `;`".into(),
        };
        let key = crate_key("cfg", [("src/a.rs", Ok(1)), ("src/c.rs", Ok(2))]);
        cache.store_crate(
            "krate",
            key,
            std::slice::from_ref(&finding),
            std::slice::from_ref(&failure),
            4,
        );
        let hit = cache.load_crate("krate", key).expect("hit");
        assert_eq!(hit.findings, vec![finding]);
        assert_eq!(hit.parse_failures, vec![failure]);
        assert_eq!(hit.suppressed, 4);
        assert!(cache.load_crate("krate", key ^ 1).is_none());
        assert!(cache.load_crate("other", key).is_none());
        // Every part of the key matters, and fields cannot run into each other.
        let variants = [
            crate_key("cfg2", [("src/a.rs", Ok(1)), ("src/c.rs", Ok(2))]),
            crate_key("cfg", [("src/a.rs", Ok(1)), ("src/c.rs", Ok(3))]),
            crate_key("cfg", [("src/a.rs", Ok(1)), ("src/d.rs", Ok(2))]),
            crate_key("cfg", [("src/c.rs", Ok(2)), ("src/a.rs", Ok(1))]),
            crate_key(
                "cfg",
                [("src/a.rs", Ok(1)), ("src/c.rs", Err("unreadable"))],
            ),
            crate_key("cfg", [("src/a.rs", Ok(1))]),
            crate_key("cfgsrc/a.rs", [("", Ok(1)), ("src/c.rs", Ok(2))]),
        ];
        for v in variants {
            assert_ne!(v, key);
        }
    }

    #[test]
    fn unwritable_cache_dir_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let cache = Cache::new(&file);
        let c = Content::new("x");
        cache.store_failed("a.rs", c, 1, 1, "m");
        assert!(cache.load("a.rs", c).is_none());
        cache.store_crate("k", 1, &[], &[], 0);
        assert!(cache.load_crate("k", 1).is_none());
    }
}
