//! What is test code: the one answer for the test-code policy (`[test-code]` in
//! `heisen.toml`, applied by `engine::filter`).
//!
//! Test code is
//! * a `#[test]` function (`#[tokio::test]`, `#[…_test]`), or anything inside an item that
//!   exists only in test builds: `#[cfg(test)]` / `#[cfg(all(test, …))]` modules, impls and
//!   functions ([`FnFacts::in_test_code`]);
//! * a file whose path has a `tests`, `benches` or `xtask` directory (integration tests,
//!   benchmarks, build tooling), a file that starts with `#![cfg(test)]`, and the file of an
//!   out-of-line `#[cfg(test)] mod name;` (`name.rs` / `name/mod.rs` next to the declaring
//!   file, or under its directory for a non-root module file).
//!
//! `examples/` is *not* test code: examples are what users copy, so they get every rule.

use super::{FileFacts, FnFacts};
use crate::finding::Region;
use std::collections::HashSet;

/// Whether the path (relative, `/` separators) is test code by where it lives.
pub fn is_test_path(rel: &str) -> bool {
    let rel = rel.replace('\\', "/");
    let mut comps: Vec<&str> = rel
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    comps.pop();
    comps
        .iter()
        .any(|c| matches!(*c, "tests" | "benches" | "xtask"))
}

/// The files of one crate that are test code as a whole (see the module docs).
pub fn test_files<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a FileFacts)>,
) -> HashSet<String> {
    let files: Vec<(String, &FileFacts)> = files
        .into_iter()
        .map(|(rel, f)| (rel.replace('\\', "/"), f))
        .collect();
    let mut out = HashSet::new();
    for (rel, facts) in &files {
        if is_test_path(rel) || facts.cfg_test_file {
            out.insert(rel.clone());
        }
        if facts.cfg_test_mods.is_empty() {
            continue;
        }
        let (dir, stem) = match rel.rsplit_once('/') {
            Some((d, f)) => (d.to_string(), f.trim_end_matches(".rs").to_string()),
            None => (String::new(), rel.trim_end_matches(".rs").to_string()),
        };
        // `lib.rs`, `main.rs` and `mod.rs` own their directory; `foo.rs` owns `foo/`.
        let base = if matches!(stem.as_str(), "lib" | "main" | "mod") {
            dir
        } else if dir.is_empty() {
            stem
        } else {
            format!("{dir}/{stem}")
        };
        for m in &facts.cfg_test_mods {
            let prefix = if base.is_empty() {
                String::new()
            } else {
                format!("{base}/")
            };
            for cand in [format!("{prefix}{m}.rs"), format!("{prefix}{m}/mod.rs")] {
                if files.iter().any(|(r, _)| *r == cand) {
                    out.insert(cand);
                }
            }
        }
    }
    out
}

/// Whether the spot at `region` of a file with `facts` lies in a test function or a
/// `#[cfg(test)]` item (any enclosing function counts).
pub fn in_test_fn(facts: &FileFacts, region: &Region) -> bool {
    facts
        .functions
        .iter()
        .filter(|f: &&FnFacts| f.item_region.covers_start_of(region))
        .any(FnFacts::in_test_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> FileFacts {
        crate::analysis::analyze_file(&syn::parse_file(src).unwrap())
    }

    #[test]
    fn test_paths_are_directories_not_file_names() {
        assert!(is_test_path("tests/it.rs"));
        assert!(is_test_path("crates/db/tests/it.rs"));
        assert!(is_test_path("benches/apps.rs"));
        assert!(is_test_path("xtask/src/main.rs"));
        assert!(!is_test_path("src/tests.rs"));
        assert!(!is_test_path("examples/demo.rs"));
        assert!(!is_test_path("src/latest/mod.rs"));
    }

    #[test]
    fn cfg_test_items_and_test_fns_are_test_code() {
        let f = facts(
            "fn prod() {}\n\
             #[cfg(test)] mod t { fn helper() {} #[test] fn a() {} }\n\
             #[cfg(all(test, feature = \"x\"))] fn only_tests() {}\n\
             #[cfg(any(test, feature = \"x\"))] fn also_prod() {}\n\
             #[cfg(not(test))] fn not_tests() {}\n\
             struct S; #[cfg(test)] impl S { fn fixture() {} }\n\
             #[tokio::test] async fn b() {}\n",
        );
        let names: Vec<(&str, bool)> = f
            .functions
            .iter()
            .map(|x| (x.name.as_str(), x.in_test_code()))
            .collect();
        assert_eq!(
            names,
            [
                ("prod", false),
                ("helper", true),
                ("a", true),
                ("only_tests", true),
                ("also_prod", false),
                ("not_tests", false),
                ("S::fixture", true),
                ("b", true),
            ]
        );
    }

    #[test]
    fn out_of_line_cfg_test_modules_make_their_files_test_code() {
        let lib = facts("#[cfg(test)] mod tests;\nmod store;\n");
        let store = facts("#[cfg(test)]\nmod store_tests;\n");
        let plain = facts("fn f() {}");
        let inner = facts("#![cfg(test)]\nfn f() {}");
        let files = [
            ("src/lib.rs", &lib),
            ("src/tests.rs", &plain),
            ("src/store.rs", &store),
            ("src/store/store_tests.rs", &plain),
            ("src/other.rs", &plain),
            ("src/inner.rs", &inner),
        ];
        let mut t: Vec<String> = test_files(files.iter().map(|(r, f)| (*r, *f)))
            .into_iter()
            .collect();
        t.sort();
        assert_eq!(
            t,
            ["src/inner.rs", "src/store/store_tests.rs", "src/tests.rs"]
        );
    }
}
