//! A client writes "shipped" to the primary, gets the acknowledgement, and reads the order's
//! status from the follower. It must read its own write.

use heisen::net::{Network, Node};
use heisen::thread;
use net_stale_read::{buggy, fixed, primary, Msg};

type Follower = fn(&Node<Msg>);
type Client = fn(&Node<Msg>, &'static str) -> Option<&'static str>;

/// The client writes "shipped" and reads it back; asserts it read its own write.
fn read_your_write(follower: Follower, write_then_read: Client) {
    let net = Network::new();
    let client = net.node("client");
    let p = net.node("primary");
    let f = net.node("follower");
    let primary = thread::spawn(move || primary(&p));
    let follower = thread::spawn(move || follower(&f));
    let read = write_then_read(&client, "shipped");
    assert_eq!(
        read,
        Some("shipped"),
        "the client read {read:?} after its own acknowledged write"
    );
    primary.join().unwrap();
    follower.join().unwrap();
}

#[heisen::model]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
#[should_panic(expected = "read None after its own acknowledged write")]
fn stale_read_buggy() {
    read_your_write(buggy::follower, buggy::write_then_read);
}

#[heisen::model]
fn stale_read_fixed() {
    read_your_write(fixed::follower, fixed::write_then_read);
}

/// examples/README.md shows this counterexample; it must be the real, current output.
#[test]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
fn readme_timeline() {
    readme_timelines::check!(stale_read_buggy);
}
