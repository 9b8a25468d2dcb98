//! The checker's `deadlock` rules and the model agree: the fixture files
//! `checker/tests/fixtures/{relock-while-held,lock-order-inversion}/model.rs` are flagged by
//! `relock-while-held` / `lock-order-inversion` (their `//~` markers, checked by the checker's
//! fixture harness), and the very same code, compiled here against `heisen::sync`, deadlocks
//! under loom and shuttle with BLOCKED rows at the acquisitions the rules point at — while the
//! near misses of those files pass. Model build only: `cargo test --features heisen/model`.
#![cfg(feature = "model")]

#[path = "../checker/tests/fixtures/relock-while-held/model.rs"]
mod relock;

#[path = "../checker/tests/fixtures/lock-order-inversion/model.rs"]
mod order;

use heisen::runner::{check, Config, Failure};

const RELOCK: &str = "checker/tests/fixtures/relock-while-held/model.rs";
const ORDER: &str = "checker/tests/fixtures/lock-order-inversion/model.rs";

/// `file:line` of the line of fixture `file` that contains `needle`.
fn at(file: &str, needle: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let src = std::fs::read_to_string(path).expect("fixture readable");
    let line = src
        .lines()
        .position(|l| l.contains(needle))
        .expect("needle in fixture")
        + 1;
    format!("model.rs:{line}")
}

fn deadlock(cfg: Config, body: fn()) -> Box<Failure> {
    match check(&cfg, body) {
        Ok(s) => panic!("the model passed code the checker flags as a deadlock:\n{s}"),
        Err(f) => {
            assert_eq!(f.kind, "deadlock", "{}", f.report);
            f
        }
    }
}

fn blocked_rows(f: &Failure) -> Vec<&str> {
    f.report.lines().filter(|l| l.contains("BLOCKED")).collect()
}

#[test]
fn relock_in_a_scrutinee_arm_deadlocks_under_both_backends() {
    for cfg in [
        Config::new("deadlock_agree::relock").loom_only(),
        Config::new("deadlock_agree::relock").shuttle_only(),
    ] {
        let f = deadlock(cfg, relock::take_from_empty);
        let rows = blocked_rows(&f);
        assert!(
            rows.iter()
                .any(|r| r.contains(&at(RELOCK, "// MODEL-RELOCK"))),
            "{}",
            f.report
        );
    }
}

#[test]
fn lock_order_inversion_deadlocks_under_both_backends() {
    for cfg in [
        Config::new("deadlock_agree::order").loom_only(),
        Config::new("deadlock_agree::order").shuttle_only(),
    ] {
        let f = deadlock(cfg, order::deposit_while_auditing);
        let rows = blocked_rows(&f);
        assert_eq!(rows.len(), 2, "{}", f.report);
        assert!(
            rows.iter()
                .any(|r| r.contains(&at(ORDER, "// MODEL-BALANCE"))),
            "{}",
            f.report
        );
        assert!(
            rows.iter()
                .any(|r| r.contains(&at(ORDER, "//~ lock-order-inversion"))),
            "{}",
            f.report
        );
    }
}

#[test]
fn the_near_misses_pass_under_both_backends() {
    for (name, body) in [
        (
            "deadlock_agree::relock_fixed",
            relock::take_from_empty_fixed as fn(),
        ),
        (
            "deadlock_agree::order_fixed",
            order::deposit_while_auditing_fixed,
        ),
    ] {
        check(&Config::new(name), body).unwrap_or_else(|f| panic!("{f}"));
    }
}
