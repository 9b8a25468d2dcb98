//! Two customers withdraw 60 from a balance of 100 at the same moment. Exactly one may
//! succeed; the buggy versions let both through (an overdraft), which the model finds.

use heisen::sync::Arc;
use heisen::thread;
use parallel_withdrawal::sqlx::PgPool;
use parallel_withdrawal::{buggy, fixed};

/// Money is conserved: what is left plus what was paid out is what there was.
fn assert_no_overdraft(left: i64, results: [Result<(), parallel_withdrawal::Insufficient>; 2]) {
    let paid_out = 60 * results.iter().filter(|r| r.is_ok()).count() as i64;
    assert!(
        left + paid_out == 100,
        "overdraft: paid out {paid_out} from a balance of 100 and {left} is left"
    );
}

#[heisen::model]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
#[should_panic(expected = "overdraft: paid out 120 from a balance of 100")]
fn in_memory_buggy() {
    let acct = Arc::new(buggy::Account::new(100));
    let other = acct.clone();
    let t = thread::spawn(move || other.withdraw(60));
    let mine = acct.withdraw(60);
    let theirs = t.join().unwrap();
    assert_no_overdraft(acct.balance(), [mine, theirs]);
}

#[heisen::model]
fn in_memory_fixed() {
    let acct = Arc::new(fixed::Account::new(100));
    let other = acct.clone();
    let t = thread::spawn(move || other.withdraw(60));
    let mine = acct.withdraw(60);
    let theirs = t.join().unwrap();
    assert_no_overdraft(acct.balance(), [mine, theirs]);
}

#[heisen::model]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
#[should_panic(expected = "overdraft: paid out 120 from a balance of 100")]
async fn in_sql_buggy() {
    let pool = Arc::new(PgPool::with_accounts(&[(1, 100)]));
    let other = pool.clone();
    let t = heisen::future::spawn(async move { buggy::withdraw(&other, 1, 60).await });
    let mine = buggy::withdraw(&pool, 1, 60).await;
    let theirs = t.join().unwrap();
    assert_no_overdraft(buggy::balance(&pool, 1).await, [mine, theirs]);
}

#[heisen::model]
async fn in_sql_fixed() {
    let pool = Arc::new(PgPool::with_accounts(&[(1, 100)]));
    let other = pool.clone();
    let t = heisen::future::spawn(async move { fixed::withdraw(&other, 1, 60).await });
    let mine = fixed::withdraw(&pool, 1, 60).await;
    let theirs = t.join().unwrap();
    assert_no_overdraft(fixed::balance(&pool, 1).await, [mine, theirs]);
}

/// The repository README shows this counterexample; it must be the real, current output.
#[test]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
fn readme_timeline() {
    readme_timelines::check!(in_memory_buggy);
}

/// The README's picture of this counterexample: the page the runner writes under
/// `HEISEN_REPORT_DIR`, loaded in headless Chromium (skipped when none is installed). The two
/// withdrawals' loads of 100 stand side by side in their own lanes, then both store 40.
#[test]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
fn readme_counterexample_page() {
    let report = heisen::runner::capture_report(in_memory_buggy).expect("a counterexample");
    let Some(layout) = readme_timelines::check_page(
        "in_memory_buggy",
        &report,
        Some(("parallel_withdrawal.png", 1000, 800)),
    ) else {
        return;
    };
    let loads: Vec<_> = layout
        .rows
        .iter()
        .filter(|r| r.text == "load balance = 100 (SeqCst)")
        .collect();
    assert_eq!(loads.len(), 2, "{layout:#?}");
    assert_ne!(loads[0].thread, loads[1].thread, "one load per thread");
    assert!(loads[0].left < loads[1].left, "side by side: {layout:#?}");
    let stores = layout
        .rows
        .iter()
        .filter(|r| r.text == "store balance ← 40 (SeqCst)")
        .count();
    assert_eq!(stores, 2, "both store 40: the lost update");
    assert!(layout.failure.contains("overdraft"), "{layout:#?}");
}
