//! Meta-tests over the rule registry: names, docs, conventions.

use cargo_heisen::rules;
use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn rule_names_are_unique_kebab_case() {
    let mut seen = BTreeSet::new();
    for m in rules::all_meta() {
        assert!(seen.insert(m.name), "duplicate rule name `{}`", m.name);
        assert!(
            !m.name.is_empty()
                && m.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !m.name.starts_with('-')
                && !m.name.ends_with('-'),
            "rule name `{}` is not kebab-case",
            m.name
        );
    }
}

#[test]
fn every_rule_doc_has_the_sections() {
    for m in rules::all_meta() {
        let doc = m.doc();
        for section in [
            "### What it does",
            "### Why is this bad",
            "### Example",
            "### Use instead",
            "### Known limitations",
        ] {
            assert!(
                doc.contains(section),
                "rule `{}` doc lacks `{section}`",
                m.name
            );
        }
        assert!(
            m.summary.chars().next().is_some_and(|c| c.is_lowercase()) && !m.summary.ends_with('.'),
            "rule `{}` summary should start lowercase and not end with a period",
            m.name
        );
    }
}

#[test]
fn docs_rules_md_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules.md");
    let generated = rules::docs_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/rules.md is stale: run `UPDATE_DOCS=1 cargo test -p cargo-heisen --test meta`"
    );
}

#[test]
fn rules_table_lists_every_rule() {
    let table = cargo_heisen::cli::rules_table();
    for m in rules::all_meta() {
        assert!(
            table.contains(m.name),
            "`cargo heisen rules` misses `{}`",
            m.name
        );
    }
}
