//! Node `a` (the old leader) is cut off from `b` and `c`; `a` and `b` run for leader, `c` votes.
//! At most one node may believe it leads.

use heisen::net::Network;
use heisen::thread;
use net_split_brain::{buggy, campaign, fixed, voter, Tally};

/// Runs the election; returns each candidate's tally.
fn election() -> (Tally, Tally) {
    let net = Network::new();
    let a = net.node("a");
    let b = net.node("b");
    let c = net.node("c");
    net.partition(&["a"], &["b", "c"]);
    let tb = thread::spawn(move || campaign(&b));
    let tc = thread::spawn(move || voter(&c));
    let ta = campaign(&a);
    let tb = tb.join().unwrap();
    tc.join().unwrap();
    (ta, tb)
}

#[heisen::model]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
#[should_panic(expected = "two leaders")]
fn split_brain_buggy() {
    let (a, b) = election();
    let leaders = [&a, &b].iter().filter(|t| buggy::elected(t)).count();
    assert!(leaders <= 1, "two leaders: a {a:?}, b {b:?}");
}

#[heisen::model]
fn split_brain_fixed() {
    let (a, b) = election();
    let leaders = [&a, &b].iter().filter(|t| fixed::elected(t)).count();
    assert!(leaders <= 1, "two leaders: a {a:?}, b {b:?}");
}

/// examples/README.md shows this counterexample; it must be the real, current output.
#[test]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
fn readme_timeline() {
    readme_timelines::check!(split_brain_buggy);
}
