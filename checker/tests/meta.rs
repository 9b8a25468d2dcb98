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

/// The rule modules of `src/rules/`: (group, rule) for every `<group>/<rule>.rs` and
/// `<group>/<rule>/` (a rule split into parts).
fn rule_modules(rules_dir: &Path) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for group in std::fs::read_dir(rules_dir).unwrap() {
        let group = group.unwrap().path();
        if !group.is_dir() {
            continue;
        }
        let g = group.file_name().unwrap().to_string_lossy().to_string();
        for entry in std::fs::read_dir(&group).unwrap() {
            let p = entry.unwrap().path();
            let stem = p.file_stem().unwrap().to_string_lossy().to_string();
            if p.is_dir() || (p.extension().is_some_and(|e| e == "rs") && stem != "mod") {
                out.insert((g.clone(), stem));
            }
        }
    }
    out
}

/// Every path a `use` tree names, as segments (`use a::{b, c::d}` → `a::b`, `a::c::d`).
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => out.push([&prefix[..], &[n.ident.to_string()]].concat()),
        syn::UseTree::Rename(r) => out.push([&prefix[..], &[r.ident.to_string()]].concat()),
        syn::UseTree::Glob(_) => out.push(prefix.clone()),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_paths(t, prefix, out);
            }
        }
    }
}

/// The `use` paths of `items` (and of inline modules in them), resolved to paths from the
/// crate root; `module` is the path of the module the items are in. External paths are left
/// out.
fn resolved_uses(items: &[syn::Item], module: &[String], out: &mut Vec<Vec<String>>) {
    for item in items {
        match item {
            syn::Item::Use(u) => {
                let mut paths = Vec::new();
                use_paths(&u.tree, &mut Vec::new(), &mut paths);
                for p in paths {
                    let mut base: Vec<String> = match p.first().map(String::as_str) {
                        Some("crate") => Vec::new(),
                        Some("super" | "self") => module.to_vec(),
                        _ => continue,
                    };
                    let mut rest = &p[..];
                    if rest[0] == "crate" || rest[0] == "self" {
                        rest = &rest[1..];
                    }
                    while rest.first().is_some_and(|s| s == "super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                    base.extend(rest.iter().cloned());
                    out.push(base);
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    let sub = [module, &[m.ident.to_string()]].concat();
                    resolved_uses(inner, &sub, out);
                }
            }
            _ => {}
        }
    }
}

/// Rules share helpers through `analysis/` and `index.rs` (or their group's `mod.rs`), never
/// through another rule's module: a helper one rule needs from another belongs in the shared
/// analysis, where it has one answer and its own tests.
#[test]
fn no_rule_imports_from_another_rule() {
    let rules_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules");
    let rules = rule_modules(&rules_dir);
    let mut violations = Vec::new();
    let mut checked = 0;
    for (group, rule) in &rules {
        let file = rules_dir.join(group).join(format!("{rule}.rs"));
        let files: Vec<(std::path::PathBuf, Vec<String>)> = if file.exists() {
            vec![(file, vec![])]
        } else {
            let dir = rules_dir.join(group).join(rule);
            std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .map(|p| {
                    let stem = p.file_stem().unwrap().to_string_lossy().to_string();
                    let sub = if stem == "mod" { vec![] } else { vec![stem] };
                    (p, sub)
                })
                .collect()
        };
        for (path, sub) in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let module: Vec<String> = ["rules", group, rule]
                .iter()
                .map(|s| s.to_string())
                .chain(sub)
                .collect();
            let mut uses = Vec::new();
            resolved_uses(&ast.items, &module, &mut uses);
            checked += 1;
            for u in uses {
                if let [r, g, other, ..] = &u[..] {
                    if r == "rules"
                        && rules.contains(&(g.clone(), other.clone()))
                        && (g, other) != (group, rule)
                    {
                        violations.push(format!("{}: use {}", path.display(), u.join("::")));
                    }
                }
            }
        }
    }
    assert!(checked >= rules.len(), "no rule file was read");
    assert!(
        violations.is_empty(),
        "rules import from other rules (move the helper to analysis/ or index.rs):\n{}",
        violations.join("\n")
    );
}

/// The check above finds what it is meant to find: both `super::` and `crate::` forms.
#[test]
fn rule_import_check_sees_sibling_imports() {
    let ast: syn::File = syn::parse_str(
        "use super::relaxed_lock::is_acquiring;
         use crate::rules::lost_update::{map_check_then_act::same_key, locks};
         use super::{ordering_fix, relaxed_any};
         mod tests { use super::super::super::retry::retry_loops; use super::*; }",
    )
    .unwrap();
    let module: Vec<String> = ["rules", "memory_ordering", "relaxed_consume"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut uses = Vec::new();
    resolved_uses(&ast.items, &module, &mut uses);
    let got: Vec<String> = uses.iter().map(|u| u.join("::")).collect();
    assert_eq!(
        got,
        [
            "rules::memory_ordering::relaxed_lock::is_acquiring",
            "rules::lost_update::map_check_then_act::same_key",
            "rules::lost_update::locks",
            "rules::memory_ordering::ordering_fix",
            "rules::memory_ordering::relaxed_any",
            "rules::retry::retry_loops",
            "rules::memory_ordering::relaxed_consume",
        ]
    );
}

/// Functions longer than this many lines in `analysis/`, `rules/` and the model runner must
/// say why they are one piece: a `//` or doc comment among the lines right above or at the
/// top of the body containing "one piece" (issue 18). Long functions are where a second
/// meaning of a fact hides; splitting them names the steps.
const MAX_FN_LINES: usize = 120;

/// Every `fn` (free, inherent, trait method, nested) of `file` with its name, first line and
/// length in lines.
fn fn_lengths(src: &str) -> Vec<(String, usize, usize)> {
    struct V(Vec<(String, usize, usize)>);
    impl V {
        fn push(&mut self, name: &syn::Ident, span: proc_macro2::Span) {
            let (start, end) = (span.start().line, span.end().line);
            self.0.push((name.to_string(), start, end + 1 - start));
        }
    }
    impl<'a> syn::visit::Visit<'a> for V {
        fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
            self.push(&f.sig.ident, syn::spanned::Spanned::span(&f.block));
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
            self.push(&f.sig.ident, syn::spanned::Spanned::span(&f.block));
            syn::visit::visit_impl_item_fn(self, f);
        }
        fn visit_trait_item_fn(&mut self, f: &'a syn::TraitItemFn) {
            if let Some(b) = &f.default {
                self.push(&f.sig.ident, syn::spanned::Spanned::span(b));
            }
            syn::visit::visit_trait_item_fn(self, f);
        }
    }
    let Ok(file) = syn::parse_file(src) else {
        return Vec::new();
    };
    let mut v = V(Vec::new());
    syn::visit::Visit::visit_file(&mut v, &file);
    v.0
}

/// Whether the function starting at `line` (1-based, the body's `{`) carries a "one piece"
/// comment in the 12 lines above it or the first 3 lines of its body.
fn says_one_piece(lines: &[&str], line: usize) -> bool {
    let from = line.saturating_sub(13);
    let to = (line + 3).min(lines.len());
    lines[from..to]
        .iter()
        .any(|l| l.trim_start().starts_with("//") && l.to_lowercase().contains("one piece"))
}

fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn long_functions_say_why_they_are_one_piece() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src/analysis", "src/rules", "../src/runner"] {
        rs_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "the walk found the sources");
    let mut long = Vec::new();
    for path in &files {
        let src = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = src.lines().collect();
        for (name, line, len) in fn_lengths(&src) {
            if len > MAX_FN_LINES && !says_one_piece(&lines, line) {
                long.push(format!("{}:{line} `{name}` ({len} lines)", path.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines without a \"one piece\" comment:\n{}",
        long.join("\n")
    );
}

/// The length check measures what it says: a 130-line body is long, a commented one is not.
#[test]
fn function_length_check_sees_long_bodies() {
    let body = "    let x = 1;\n".repeat(130);
    let src = format!("fn long() {{\n{body}}}\nfn short() {{}}\n");
    let lens = fn_lengths(&src);
    assert_eq!(lens[0], ("long".to_string(), 1, 132));
    assert_eq!(lens[1].2, 1);
    let commented = format!("// one piece: a state machine\n{src}");
    let lines: Vec<&str> = commented.lines().collect();
    assert!(says_one_piece(&lines, 2));
    let lines: Vec<&str> = src.lines().collect();
    assert!(!says_one_piece(&lines, 1));
}
