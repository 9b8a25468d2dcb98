//! The rule registry. A rule is one file: a `declare_rule!` block whose doc comment is the
//! single source for `cargo heisen explain` and `docs/rules.md`, plus an `impl Rule`.
//!
//! To add a rule: write `rules/<group>/<rule_name>.rs`, add its fixture under
//! `checker/tests/fixtures/<rule-name>.rs`, and add one line to [`RULES`].

use crate::analysis::{Event, FileFacts, FnFacts};
use crate::finding::{Finding, Group, Label, Level, Region};
use crate::index::{CrateIndex, FnKey, FnRef};
use crate::source::SourceFile;

pub mod deadlock;
pub mod lost_update;
pub mod memory_ordering;
pub mod meta;
pub mod retry;
pub mod wall_clock;

/// Static description of a rule.
#[derive(Debug)]
pub struct RuleMeta {
    /// kebab-case, unique; the name users write in config and suppressions.
    pub name: &'static str,
    pub group: Group,
    pub default_level: Level,
    /// One line, lowercase start, no trailing period.
    pub summary: &'static str,
    /// The raw doc comment (each line with rustdoc's leading space).
    pub raw_doc: &'static str,
}

impl RuleMeta {
    /// The doc comment as Markdown, with rustdoc's one leading space per line removed.
    pub fn doc(&self) -> String {
        let mut out = String::new();
        for line in self.raw_doc.lines() {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
        out.trim_end().to_string() + "\n"
    }
}

/// Declares a rule's metadata from its doc comment.
///
/// ```ignore
/// declare_rule! {
///     /// ### What it does
///     /// ...
///     pub static ATOMIC_LOAD_STORE = {
///         name: "atomic-load-store",
///         group: LostUpdate,
///         level: Warn,
///         summary: "an atomic is loaded, then stored with a value derived from the load",
///     };
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        $vis:vis static $NAME:ident = {
            name: $name:literal,
            group: $group:ident,
            level: $level:ident,
            summary: $summary:literal $(,)?
        };
    ) => {
        $(#[doc = $doc])*
        $vis static $NAME: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
            name: $name,
            group: $crate::finding::Group::$group,
            default_level: $crate::finding::Level::$level,
            summary: $summary,
            raw_doc: concat!($($doc, "\n"),*),
        };
    };
}

/// Every analysis rule, in `cargo heisen rules` order. One line per rule.
pub static RULES: &[&dyn Rule] = &[
    &lost_update::atomic_load_store::AtomicLoadStore,
    &lost_update::split_lock_update::SplitLockUpdate,
    &lost_update::sql_read_then_write::SqlReadThenWrite,
    &lost_update::map_check_then_act::MapCheckThenAct,
    &lost_update::kv_read_then_write::KvReadThenWrite,
    &lost_update::free_of_loaded_pointer::FreeOfLoadedPointer,
    &lost_update::read_before_lock::ReadBeforeLock,
    &lost_update::load_then_save::LoadThenSave,
    &memory_ordering::relaxed_publication::RelaxedPublication,
    &memory_ordering::relaxed_consume::RelaxedConsume,
    &memory_ordering::relaxed_refcount_drop::RelaxedRefcountDrop,
    &memory_ordering::relaxed_lock::RelaxedLock,
    &memory_ordering::relaxed_any::RelaxedAny,
    &memory_ordering::local_atomic_fence::LocalAtomicFence,
    &wall_clock::wall_clock_ordering::WallClockOrdering,
    &retry::retry_without_backoff::RetryWithoutBackoff,
    &retry::retry_without_jitter::RetryWithoutJitter,
    &retry::non_idempotent_retry::NonIdempotentRetry,
    &deadlock::relock_while_held::RelockWhileHeld,
    &deadlock::rwlock_upgrade::RwlockUpgrade,
    &deadlock::lock_order_inversion::LockOrderInversion,
    &deadlock::condvar_wait_without_loop::CondvarWaitWithoutLoop,
    &deadlock::foreign_call_under_lock::ForeignCallUnderLock,
    &deadlock::wake_under_lock::WakeUnderLock,
];

/// Rules reported by the filter stage rather than by a query over facts.
pub static META_RULES: &[&RuleMeta] = &[
    &meta::unused_suppression::UNUSED_SUPPRESSION,
    &meta::suppression_without_reason::SUPPRESSION_WITHOUT_REASON,
];

/// Metadata of every rule, analysis and meta.
pub fn all_meta() -> Vec<&'static RuleMeta> {
    RULES
        .iter()
        .map(|r| r.meta())
        .chain(META_RULES.iter().copied())
        .collect()
}

/// Looks a rule up by name.
pub fn find(name: &str) -> Option<&'static RuleMeta> {
    all_meta().into_iter().find(|m| m.name == name)
}

/// A rule: a query over the facts of one crate. Rules do no I/O and never walk syntax.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>);
}

/// One file as rules see it.
pub struct FileCx<'a> {
    pub source: &'a SourceFile,
    pub facts: &'a FileFacts,
}

/// Everything a rule may look at: the files of one crate with their facts, and the crate index.
pub struct CrateContext<'a> {
    pub files: &'a [FileCx<'a>],
    pub index: &'a CrateIndex<'a>,
}

impl<'a> CrateContext<'a> {
    /// Every function of the crate with the file it is in.
    pub fn functions(&self) -> impl Iterator<Item = (&'a FileCx<'a>, &'a FnFacts)> + 'a {
        self.files
            .iter()
            .flat_map(|f| f.facts.functions.iter().map(move |func| (f, func)))
    }

    /// The crate's [`LockSummary`](crate::analysis::locks::LockSummary), computed once.
    pub fn lock_summary(&self) -> &'a crate::analysis::locks::LockSummary {
        let index: &'a CrateIndex<'a> = self.index;
        index.lock_summary.get_or_init(|| {
            let facts: Vec<&FileFacts> = self.files.iter().map(|f| f.facts).collect();
            crate::analysis::locks::LockSummary::build(index, &facts)
        })
    }

    /// The lock nesting of the function `key` ([`Nesting`](crate::analysis::locks::Nesting)),
    /// computed once per crate for every function on first use.
    pub fn nesting(&self, key: FnKey) -> &'a crate::analysis::locks::Nesting<'a> {
        let index: &'a CrateIndex<'a> = self.index;
        let summary = self.lock_summary();
        let all = index.nestings.get_or_init(|| {
            self.files
                .iter()
                .enumerate()
                .map(|(fi, f)| {
                    f.facts
                        .functions
                        .iter()
                        .enumerate()
                        .map(|(i, func)| {
                            let key = FnKey { file: fi, func: i };
                            crate::analysis::locks::Nesting::of(index, summary, key, func)
                        })
                        .collect()
                })
                .collect()
        });
        &all[key.file][key.func]
    }

    /// The crate's atomic getters and setters
    /// ([`AccessorSummary`](crate::analysis::accessors::AccessorSummary)), computed once.
    pub fn accessors(&self) -> &'a crate::analysis::accessors::AccessorSummary {
        let index: &'a CrateIndex<'a> = self.index;
        index.accessors.get_or_init(|| {
            let facts: Vec<&FileFacts> = self.files.iter().map(|f| f.facts).collect();
            crate::analysis::accessors::AccessorSummary::build(index, &facts)
        })
    }

    /// Every function of the crate with the file it is in and its key.
    pub fn keyed_functions(&self) -> impl Iterator<Item = (&'a FileCx<'a>, FnRef<'a>)> + 'a {
        self.files.iter().enumerate().flat_map(|(fi, f)| {
            f.facts.functions.iter().enumerate().map(move |(i, facts)| {
                let key = FnKey { file: fi, func: i };
                (f, FnRef { key, facts })
            })
        })
    }
}

/// Builds a [`Finding`] at the rule's default level (the filter stage applies configuration).
pub fn finding(
    meta: &'static RuleMeta,
    file: &FileCx<'_>,
    region: Region,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Finding {
    Finding {
        rule: meta.name,
        group: meta.group,
        level: meta.default_level,
        file: file.source.rel.clone(),
        region,
        message: message.into(),
        help: help.into(),
        labels: Vec::new(),
        fix: None,
        function: None,
    }
}

/// Adds a same-file label.
pub fn label(f: &mut Finding, region: Region, message: impl Into<String>) {
    f.labels.push(Label {
        region,
        message: message.into(),
        file: None,
    });
}

/// The region a rule usually points at for an event: the method name through the call's end.
pub fn event_region(ev: &Event) -> Region {
    Region {
        line: ev.name_region.line,
        column: ev.name_region.column,
        end_line: ev.region.end_line,
        end_column: ev.region.end_column,
    }
}

/// `docs/rules.md`, generated from the rules' doc comments (kept current by a test).
pub fn docs_markdown() -> String {
    let mut s = String::from(
        "# heisen rules\n\n<!-- Generated from the rules' doc comments by \
         `UPDATE_DOCS=1 cargo test -p cargo-heisen --test meta`. Do not edit. -->\n\n\
         | rule | group | default | summary |\n|---|---|---|---|\n",
    );
    let metas = all_meta();
    for m in &metas {
        s.push_str(&format!(
            "| [`{0}`](#{0}) | `{1}` | `{2}` | {3} |\n",
            m.name, m.group, m.default_level, m.summary
        ));
    }
    for m in &metas {
        s.push_str(&format!(
            "\n## {}\n\ngroup: `{}` · default level: `{}`\n\n{}",
            m.name,
            m.group,
            m.default_level,
            m.doc()
                .replace("\n### ", "\n#### ")
                .replacen("### ", "#### ", 1)
        ));
    }
    s
}
