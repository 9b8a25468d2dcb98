//! A client writes "shipped" to the primary, gets the acknowledgement, and reads the order's
//! status from the follower. It must read its own write.

use heisen::net::Network;
use heisen::thread;
use net_stale_read::{buggy, fixed, primary};

#[heisen::model]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
#[should_panic(expected = "read None after its own acknowledged write")]
fn stale_read_buggy() {
    let net = Network::new();
    let client = net.node("client");
    let p = net.node("primary");
    let f = net.node("follower");
    let primary = thread::spawn(move || primary(&p));
    let follower = thread::spawn(move || buggy::follower(&f));
    let read = buggy::write_then_read(&client, "shipped");
    assert_eq!(
        read,
        Some("shipped"),
        "the client read {read:?} after its own acknowledged write"
    );
    primary.join().unwrap();
    follower.join().unwrap();
}

#[heisen::model]
fn stale_read_fixed() {
    let net = Network::new();
    let client = net.node("client");
    let p = net.node("primary");
    let f = net.node("follower");
    let primary = thread::spawn(move || primary(&p));
    let follower = thread::spawn(move || fixed::follower(&f));
    let read = fixed::write_then_read(&client, "shipped");
    assert_eq!(
        read,
        Some("shipped"),
        "the client read {read:?} after its own acknowledged write"
    );
    primary.join().unwrap();
    follower.join().unwrap();
}

/// examples/README.md shows this counterexample; it must be the real, current output.
#[test]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
fn readme_timeline() {
    readme_timelines::check!(stale_read_buggy);
}
