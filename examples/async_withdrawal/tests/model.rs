//! Two requests withdraw 60 from a balance of 100 at the same moment, as two tokio tasks.
//! Exactly one may succeed; the buggy version lets both through (an overdraft).

use async_withdrawal::{buggy, fixed, Insufficient};
use std::sync::Arc;

/// Money is conserved: what is left plus what was paid out is what there was.
fn assert_no_overdraft(left: i64, results: [Result<(), Insufficient>; 2]) {
    let paid_out = 60 * results.iter().filter(|r| r.is_ok()).count() as i64;
    assert!(
        left + paid_out == 100,
        "overdraft: paid out {paid_out} from a balance of 100 and {left} is left"
    );
}

#[heisen::model]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
#[should_panic(expected = "overdraft: paid out 120 from a balance of 100")]
async fn two_requests_buggy() {
    let acct = Arc::new(buggy::Account::new(100));
    let other = acct.clone();
    let t = heisen::tokio::spawn(async move { other.withdraw(60).await });
    let mine = acct.withdraw(60).await;
    let theirs = t.await.unwrap();
    assert_no_overdraft(acct.balance().await, [mine, theirs]);
}

#[heisen::model]
async fn two_requests_fixed() {
    let acct = Arc::new(fixed::Account::new(100));
    let other = acct.clone();
    let t = heisen::tokio::spawn(async move { other.withdraw(60).await });
    let mine = acct.withdraw(60).await;
    let theirs = t.await.unwrap();
    assert_no_overdraft(acct.balance().await, [mine, theirs]);
}

/// examples/README.md shows this counterexample; it must be the real, current output.
#[test]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
fn readme_timeline() {
    readme_timelines::check!(two_requests_buggy);
}
