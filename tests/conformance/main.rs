//! Conformance: loom's and shuttle's own test suites, read from the registry packages Cargo
//! fetched, translated mechanically to `#[heisen::model]` and run with both backends and with
//! each alone; every verdict is compared with the original's. Differences that are not listed
//! in `tests/conformance/expected.toml` (with their reason) fail the run.
//!
//! ```text
//! cargo test -p heisen --test conformance -- --ignored --nocapture
//! ```
//!
//! `HEISEN_CONFORMANCE_FILTER=text` runs only the tests whose id (`loom/atomic.rs::name`)
//! contains `text`; `HEISEN_CONFORMANCE_JOBS=N` test processes at a time (default: one per
//! core); `HEISEN_CONFORMANCE_TIMEOUT=secs` per test process (default 180);
//! `HEISEN_CONFORMANCE_HEISEN=dir` builds against another `heisen` checkout (default: this
//! workspace). The generated crate and its build live in `target/conformance/`.

mod suite;
mod translate;

#[test]
#[ignore = "builds and runs loom's and shuttle's suites (minutes): run with --ignored"]
fn loom_and_shuttle_suites_keep_their_verdicts() {
    let filter = std::env::var("HEISEN_CONFORMANCE_FILTER").ok();
    let report = match suite::run(filter.as_deref()) {
        Ok(r) => r,
        Err(e) => panic!("conformance suite could not run: {e}"),
    };
    println!("{}", report.table);
    if let Ok(p) = std::env::var("HEISEN_CONFORMANCE_TABLE") {
        std::fs::write(&p, &report.table).expect("write HEISEN_CONFORMANCE_TABLE");
    }
    assert!(
        report.unexpected == 0 && report.stale.is_empty(),
        "{} unexpected differences, {} stale entries in tests/conformance/expected.toml (table above)",
        report.unexpected,
        report.stale.len()
    );
}

#[cfg(test)]
mod translator {
    use super::translate::{translate, Origin};

    fn port(src: &str, origin: Origin) -> (String, Vec<super::translate::TestDecl>) {
        let t = translate(src, origin).expect("parses");
        (t.text(), t.tests)
    }

    #[test]
    fn loom_model_call_becomes_a_model_fn_with_the_statements_before_it() {
        let (out, tests) = port(
            r#"
            use loom::sync::{Arc, atomic::{AtomicUsize, Ordering::SeqCst}};
            #[test]
            #[should_panic]
            fn racy() {
                struct Helper;
                loom::model(move || {
                    let a = Arc::new(AtomicUsize::new(0));
                    a.store(1, SeqCst);
                });
            }
            "#,
            Origin::Loom,
        );
        assert!(out.contains("use heisen :: sync :: Arc ;"), "{out}");
        assert!(
            out.contains("use heisen :: sync :: atomic :: AtomicUsize ;"),
            "{out}"
        );
        assert!(
            out.contains("use heisen :: sync :: atomic :: Ordering :: SeqCst ;"),
            "{out}"
        );
        assert!(
            out.contains("# [heisen :: model] # [should_panic] fn racy () { struct Helper ; let a"),
            "{out}"
        );
        assert!(!out.contains("loom"), "{out}");
        assert!(!out.contains("# [test]"), "{out}");
        assert_eq!(tests.len(), 1);
        assert!(tests[0].should_panic && tests[0].not_portable.is_none());
    }

    #[test]
    fn inner_attributes_of_the_test_stay_inside_the_body() {
        let (out, _) = port(
            "#[test]\nfn t() {\n    #![allow(clippy::many_single_char_names)]\n    loom::model(|| {});\n}",
            Origin::Loom,
        );
        assert!(
            out.contains(
                "# [heisen :: model] fn t () { # ! [allow (clippy :: many_single_char_names)] }"
            ),
            "{out}"
        );
    }

    #[test]
    fn builder_fields_map_to_arguments_or_make_the_test_not_portable() {
        let (out, tests) = port(
            r#"
            #[test]
            fn bounded() {
                let mut builder = loom::model::Builder::new();
                builder.preemption_bound = Some(3);
                builder.max_branches = 20;
                builder.check(|| { loom::thread::yield_now(); });
            }
            #[test]
            fn permutations() {
                let mut b = loom::model::Builder::new();
                b.max_permutations = Some(1);
                b.check(|| {});
            }
            "#,
            Origin::Loom,
        );
        assert!(
            out.contains("# [heisen :: model (preemption_bound = 3u64 , max_branches = 20u64)] fn bounded () { heisen :: thread :: yield_now () ; }"),
            "{out}"
        );
        let p = tests.iter().find(|t| t.path == "permutations").unwrap();
        assert!(
            p.not_portable
                .as_deref()
                .unwrap()
                .contains("max_permutations"),
            "{p:?}"
        );
        assert!(
            out.contains("// not portable: loom::model::Builder::max_permutations"),
            "{out}"
        );
    }

    #[test]
    fn cross_execution_statements_and_unmapped_paths_are_left_alone() {
        let (out, tests) = port(
            r#"
            use loom::sync::Notify;
            use loom::alloc::Track;
            #[test]
            fn counts() {
                let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
                loom::model(|| {});
                assert_eq!(n.load(std::sync::atomic::Ordering::SeqCst), 1);
            }
            "#,
            Origin::Loom,
        );
        // mapped by module, so a missing item fails to compile and is reported by name
        assert!(out.contains("use heisen :: sync :: Notify ;"), "{out}");
        // not a heisen module: stays loom's, and fails as "not portable: loom::alloc"
        assert!(out.contains("use loom :: alloc :: Track ;"), "{out}");
        // statements after the model call check the exploration: the test keeps them and runs
        // the same closure through `heisen::runner::run_test`
        assert!(tests[0].not_portable.is_none(), "{tests:?}");
        let run = out
            .find(":: heisen :: runner :: run_test (")
            .expect("run_test call");
        let cfg = out
            .find(":: heisen :: runner :: Config :: new")
            .expect("config");
        let post = out
            .find("assert_eq ! (n . load")
            .expect("post statement kept");
        assert!(out.contains("# [test] fn counts () { let n"), "{out}");
        assert!(run < cfg && cfg < post, "{out}");
    }

    #[test]
    fn shuttle_harnesses_run_each_model_call_through_run_test() {
        let (out, tests) = port(
            r#"
            use shuttle::{check_dfs, check_random};
            use futures::Future;
            fn harness<F: FnOnce(Box<dyn Fn() + Send + Sync>)>(checker: F) {
                checker(Box::new(|| {}));
                assert!(true);
            }
            fn checked_twice(n: usize) {
                shuttle::check_random(|| {}, n);
            }
            #[test]
            fn dfs() { harness(|f| check_dfs(f, None)); }
            #[test]
            fn helper() { checked_twice(10); }
            #[test]
            #[should_panic]
            fn helper_fails() { checked_twice(1); }
            #[test]
            #[should_panic]
            fn in_a_loop() { for n in [1, 2] { check_random(|| panic!(), n); } }
            "#,
            Origin::Shuttle,
        );
        let by = |p: &str| tests.iter().find(|t| t.path == p).unwrap();
        // the call inside the closure handed to a harness, in place
        assert!(by("dfs").not_portable.is_none(), "{tests:?}");
        assert!(
            out.contains("harness (| f | :: heisen :: runner :: run_test (:: heisen :: runner :: Config :: new"),
            "{out}"
        );
        // a helper's call (qualified), with its iteration count as an expression
        assert!(
            out.contains("fn checked_twice (n : usize) { :: heisen :: runner :: run_test ("),
            "{out}"
        );
        assert!(out.contains(". iterations ((n) as usize)"), "{out}");
        assert!(by("helper").not_portable.is_none(), "{tests:?}");
        // a helper's run is shared with passing tests: it cannot carry an expected failure
        assert!(
            by("helper_fails")
                .not_portable
                .as_deref()
                .is_some_and(|w| w.contains("#[should_panic]")),
            "{tests:?}"
        );
        // a run in the test's own loop can
        assert!(by("in_a_loop").not_portable.is_none(), "{tests:?}");
        assert!(out.contains(". expect_failure ()"), "{out}");
        // std's trait under its std path
        assert!(out.contains("use std :: future :: Future ;"), "{out}");
    }

    #[test]
    fn use_self_leaves_become_the_module_import() {
        let (out, _) = port("use std::sync::{self, Arc};", Origin::Loom);
        assert!(
            out.contains("use std :: sync ;") && out.contains("use std :: sync :: Arc ;"),
            "{out}"
        );
    }

    #[test]
    fn shuttle_checks_map_iterations_and_depth() {
        let (out, tests) = port(
            r#"
            use shuttle::{check_dfs, check_pct, check_random, thread, future};
            use test_log::test;
            fn body() {}
            #[test]
            fn r() { check_random(|| { thread::yield_now(); }, 100) }
            #[test]
            fn p() { shuttle::check_pct(body, 50, 2); }
            #[test]
            fn d() { check_dfs(move || body(), None); }
            #[test]
            fn runner() { let r = shuttle::Runner::new(1, 2); r.run(|| {}); }
            "#,
            Origin::Shuttle,
        );
        assert!(
            out.contains("use heisen :: thread ;") && out.contains("use heisen :: future ;"),
            "{out}"
        );
        assert!(out.contains("use shuttle :: check_dfs ;"), "{out}");
        assert!(!out.contains("test_log"), "{out}");
        assert!(out.contains("# [heisen :: model (shuttle , iterations = 100u64)] fn r () { thread :: yield_now () ; }"), "{out}");
        assert!(out.contains("# [heisen :: model (shuttle , iterations = 50u64 , pct_depth = 2u64)] fn p () { body () ; }"), "{out}");
        assert!(
            out.contains("# [heisen :: model (shuttle)] fn d () { body () ; }"),
            "{out}"
        );
        let r = tests.iter().find(|t| t.path == "runner").unwrap();
        assert!(
            r.not_portable.as_deref().unwrap().contains("Runner"),
            "{r:?}"
        );
    }

    #[test]
    fn tests_generated_by_macro_rules_are_translated_inside_the_transcriber() {
        let (out, tests) = port(src_of_macro_test(), Origin::Loom);
        // one transcribed item per line: an error in it removes that test only
        assert!(
            out.contains(
                "\n# [heisen :: model] # [ignore] fn swap () { let _a = < $ty > :: new (1) ; }\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("int_test ! (u8_tests , heisen :: sync :: atomic :: AtomicU8)"),
            "{out}"
        );
        assert_eq!(tests.len(), 1);
        assert!(tests[0].in_macro && tests[0].ignored);
        let t = translate(src_of_macro_test(), Origin::Loom).unwrap();
        let inv = t
            .items
            .iter()
            .find_map(|i| i.invokes.as_ref())
            .expect("invocation");
        assert_eq!(inv.test_path(&t.tests[0].path), "u8_tests::swap");
    }

    fn src_of_macro_test() -> &'static str {
        r#"
            macro_rules! int_test {
                ($name:ident, $ty:ty) => {
                    mod $name {
                        #[test]
                        #[ignore]
                        fn swap() { loom::model(|| { let _a = <$ty>::new(1); }); }
                    }
                };
            }
            int_test!(u8_tests, loom::sync::atomic::AtomicU8);
            "#
    }

    #[test]
    fn compile_errors_name_the_missing_api() {
        use super::suite::api_of;
        let shuttle_line = "    let r = shuttle::scheduler::DfsScheduler::new(None);";
        for (msg, line, col, want) in [
            ("no method named `try_recv` found for struct `heisen::sync::mpsc::Receiver<i32>` in the current scope", "", 0, "Receiver::try_recv"),
            // a method reached through a smart pointer names the pointee
            ("no method named `try_read` found for struct `Arc<heisen::sync::RwLock<i32>>` in the current scope", "", 0, "RwLock::try_read"),
            ("unresolved import `heisen::sync::Notify`", "", 0, "heisen::sync::Notify"),
            ("failed to resolve: use of unresolved module or unlinked crate `shuttle`", shuttle_line, 13, "shuttle::scheduler::DfsScheduler::new"),
            ("cannot find module or crate `shuttle` in this scope", shuttle_line, 13, "shuttle::scheduler::DfsScheduler::new"),
            ("cannot find function `current` in module `thread`", "", 0, "thread::current"),
            ("cannot find `Builder` in `thread`", "", 0, "thread::Builder"),
            ("cannot find macro `lazy_static` in crate `heisen`", "", 0, "heisen::lazy_static!"),
        ] {
            assert_eq!(api_of(msg, line, col, ""), want, "{msg}");
        }
    }
}
