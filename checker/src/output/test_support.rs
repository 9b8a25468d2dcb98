//! A small hand-built [`Report`] shared by the renderers' snapshot tests.

use crate::finding::{Finding, Fix, Group, Label, Level, ParseFailure, Region, Report, Summary};
use crate::rules::RuleMeta;
use std::sync::Arc;

crate::declare_rule! {
    /// ### What it does
    /// Flags a load followed by a store of a value derived from it.
    pub static SAMPLE_LOST_UPDATE = {
        name: "atomic-load-store",
        group: LostUpdate,
        level: Warn,
        summary: "an atomic is loaded, then stored with a value derived from the load",
    };
}

crate::declare_rule! {
    /// ### What it does
    /// Flags ordering by wall-clock timestamps.
    pub static SAMPLE_WALL_CLOCK = {
        name: "wall-clock-ordering",
        group: WallClock,
        level: Deny,
        summary: "events are ordered by wall-clock timestamps",
    };
}

crate::declare_rule! {
    /// ### What it does
    /// Never reported by default.
    pub static SAMPLE_ALLOWED = {
        name: "relaxed-any",
        group: MemoryOrdering,
        level: Allow,
        summary: "a relaxed atomic operation",
    };
}

pub fn rules() -> Vec<&'static RuleMeta> {
    vec![&SAMPLE_LOST_UPDATE, &SAMPLE_WALL_CLOCK, &SAMPLE_ALLOWED]
}

pub const BANK: &str = concat!(
    "use std::sync::atomic::{AtomicI64, Ordering};\n",
    "\n",
    "/// Größe: 💰\n",
    "fn deposit(balance: &AtomicI64, amount: i64) {\n",
    "    let b = balance.load(Ordering::SeqCst);\n",
    "    balance.store(b + amount, Ordering::SeqCst); // \"€\"\n",
    "}\n",
);

pub const CLOCK: &str = "fn newer(a: &Event, b: &Event) -> bool {\n    a.at > b.at\n}\n";

pub const MODEL: &str = "struct Event {\n    at: SystemTime,\n}\n";

pub fn report() -> Report {
    let findings = vec![
        Finding {
            rule: "atomic-load-store",
            group: Group::LostUpdate,
            level: Level::Warn,
            file: "src/bank.rs".into(),
            region: Region {
                line: 6,
                column: 5,
                end_line: 6,
                end_column: 49,
            },
            message: "`balance` is stored with a value derived from an earlier load".into(),
            help: "use `balance.fetch_add(amount, Ordering::SeqCst)`".into(),
            labels: vec![Label {
                region: Region {
                    line: 5,
                    column: 13,
                    end_line: 5,
                    end_column: 43,
                },
                message: "loaded here".into(),
                file: None,
            }],
            fix: Some(Fix {
                region: Region {
                    line: 6,
                    column: 5,
                    end_line: 6,
                    end_column: 49,
                },
                replacement: "balance.fetch_add(amount, Ordering::SeqCst)".into(),
            }),
            function: Some("deposit".into()),
        },
        Finding {
            rule: "wall-clock-ordering",
            group: Group::WallClock,
            level: Level::Deny,
            file: "src/clock.rs".into(),
            region: Region {
                line: 2,
                column: 5,
                end_line: 2,
                end_column: 16,
            },
            message: "events are ordered by `SystemTime`, which can go backwards".into(),
            help: "order by a logical clock or a sequence number".into(),
            labels: vec![Label {
                region: Region {
                    line: 2,
                    column: 5,
                    end_line: 2,
                    end_column: 20,
                },
                message: "`at` is stamped from the wall clock".into(),
                file: Some("src/model.rs".into()),
            }],
            fix: None,
            function: None,
        },
    ];
    let mut sources = std::collections::BTreeMap::new();
    sources.insert("src/bank.rs".to_string(), Arc::<str>::from(BANK));
    sources.insert("src/clock.rs".to_string(), Arc::<str>::from(CLOCK));
    sources.insert("src/model.rs".to_string(), Arc::<str>::from(MODEL));
    Report {
        findings,
        parse_failures: vec![ParseFailure {
            file: "src/broken.rs".into(),
            line: 3,
            column: 7,
            message: "expected `;`, found `}`".into(),
        }],
        summary: Summary {
            findings: 2,
            files_with_findings: 2,
            files_scanned: 5,
            suppressed: 1,
            parse_failed: 1,
            ..Default::default()
        },
        sources,
    }
}
