//! One checkout of 49.99 over a healthy network: nothing is lost, but a receipt may arrive
//! after the shop's timeout. Whatever the delays, the card is charged at most once.

use heisen::net::{Network, Node};
use heisen::sync::{Arc, Mutex};
use heisen::thread;
use net_lost_response::{buggy, fixed, GaveUp, Msg};

/// One checkout through `checkout` against the service `serve`; asserts one charge at most.
fn one_checkout(
    serve: fn(&Node<Msg>, &Mutex<Vec<u64>>),
    checkout: impl FnOnce(&Node<Msg>) -> Result<(), GaveUp>,
) {
    let net = Network::new();
    let shop = net.node("shop");
    let payments = net.node("payments");
    let ledger = Arc::new(Mutex::new(Vec::new()));
    let l = ledger.clone();
    let service = thread::spawn(move || serve(&payments, &l));
    let _ = checkout(&shop);
    service.join().unwrap();
    let n = ledger.lock().unwrap().len();
    assert!(n <= 1, "customer charged {n} times for one checkout");
}

#[heisen::model]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
#[should_panic(expected = "customer charged 2 times for one checkout")]
fn double_charge_buggy() {
    one_checkout(buggy::serve, |shop| buggy::checkout(shop, 4999));
}

#[heisen::model]
fn double_charge_fixed() {
    one_checkout(fixed::serve, |shop| fixed::checkout(shop, 7, 4999));
}

/// examples/README.md shows this counterexample; it must be the real, current output.
#[test]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
fn readme_timeline() {
    readme_timelines::check!(double_charge_buggy);
}
