//! Runs the model-build test suites (planted bugs must be found, fixes must pass) from the
//! default `cargo test`, so that a plain `cargo test --workspace` proves detection too.
//!
//! It builds `heisen --features model` in a separate target directory (like trybuild does)
//! so it never waits on the outer cargo's lock. In a model build
//! (`--features model` / `--all-features`) the suites run directly and this test is off.
#![cfg(not(feature = "model"))]

use std::path::PathBuf;
use std::process::Command;

#[test]
fn model_suites_pass_in_the_model_build() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("heisen-model-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["test", "-p", "heisen", "--features", "model"])
        .args(["--test", "model_detection", "--test", "model_primitives"])
        .args(["--test", "critical", "--test", "facade_fixes"])
        .args(["--test", "model_time", "--test", "model_fidelity"])
        .args(["--test", "deadlock_agree"])
        .args([
            "--test",
            "model_summary",
            "--test",
            "parity",
            "--test",
            "facade_fidelity",
            "--test",
            "lin",
            "--test",
            "counterexample",
            "--test",
            "net_model",
            "--test",
            "net_std",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "model build tests failed:\n{stdout}\n{stderr}"
    );
    // Both suites ran and found what they must (each test asserts the failure AND the report).
    for name in [
        "withdrawal_race_found_by_loom_with_report",
        "withdrawal_race_found_by_shuttle_with_report_and_replay",
        "relaxed_publication_through_unsafecell_is_a_data_race_under_loom",
        "relaxed_publication_through_relaxed_atomic_fails_under_loom",
        "lock_order_deadlock_is_reported_as_deadlock_by_loom",
        "lock_order_deadlock_is_reported_as_deadlock_by_shuttle",
        "lost_wakeup_is_found_as_a_deadlock",
        "lost_update_without_assertion_is_an_atomicity_violation_under_shuttle",
        "lost_update_without_assertion_is_an_atomicity_violation_under_loom",
        "split_lock_update_is_reported_under_both_backends",
        "cas_loop_withdrawal_passes_both_backends",
        "unlock_row_precedes_the_next_lock_in_every_timeline",
        "excluded_backend_is_reported_as_skipped_not_as_a_silent_pass",
        "shuttle_schedules_spread_over_threads_find_the_race_and_run_every_schedule",
        "a_skew_that_reorders_causally_ordered_readings_is_found_by_both_backends",
        "shuttle_replay_reproduces_the_skews",
        "a_body_without_concurrency_passes_shuttle_as_one_complete_execution",
        "a_caught_panic_is_not_the_failure",
        "a_failure_raised_inside_an_operation_points_at_that_operation",
        "a_skipped_should_panic_test_is_ok_and_recorded_as_skipped",
        "a_shuttle_pass_is_kept_when_loom_then_fails",
        "the_summary_file_carries_the_never_overlapped_warning",
        "facade_items_run_with_std_semantics",
        "a_static_lazylock_is_modelled_and_reset_per_execution",
        "leaked_arc_cycle_is_reported_by_loom",
        "a_std_object_touched_inside_a_model_run_is_an_error_naming_its_construction_site",
        "model::a_load_store_counter_is_not_linearizable_under_both_backends",
        "model::a_stack_with_a_racy_len_is_not_linearizable_under_both_backends",
        "model::a_queue_that_loses_an_element_is_not_linearizable_under_both_backends",
        "model::the_correct_versions_pass_under_both_backends",
        "model::a_batch_finds_the_racy_counter_and_shrinks_it_to_two_increments",
        "model::readme_report_is_current",
        "two_pops_of_one_element_are_always_explainable",
        "michael_scott_queue_is_linearizable",
        "which_sender_is_delivered_first_is_explored",
        "a_timeout_may_fire_while_the_reply_is_in_flight",
        "each_fault_strikes_at_most_max_net_faults_times",
        "loom_pays_three_for_the_network_and_two_per_binary_choice",
        "the_report_shows_network_rows_and_the_messages_in_flight",
    ] {
        assert!(
            stdout.contains(&format!("test {name} ... ok")),
            "{name} did not pass:\n{stdout}"
        );
    }
}
