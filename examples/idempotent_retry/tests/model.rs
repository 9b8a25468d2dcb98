//! Two checkout workers charge two orders through the same client library and payment
//! provider. Each order must be charged once, whatever the network does: the model explores
//! how many responses each client's connection loses (0 to 3, see `src/http.rs`) and the
//! interleavings of the two workers. (Two workers, not one: shuttle's PCT scheduler refuses a
//! test without a point where two threads could run.)

use heisen::sync::Arc;
use heisen::thread;
use idempotent_retry::http::Client;
use idempotent_retry::server::PaymentServer;
use idempotent_retry::{buggy, fixed};
use std::time::Duration;

fn assert_charged_once(server: &PaymentServer, order: &str, amount: u64, paid: bool) {
    let n = server.charges_of(&format!("order={order}&amount={amount}"));
    assert!(
        n <= 1,
        "customer charged {n} times for order {order} (responses were lost, requests were not)"
    );
    if paid {
        assert_eq!(
            n, 1,
            "client got a receipt for {order} but nothing was charged"
        );
    }
}

#[heisen::model]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
#[should_panic(expected = "customer charged 2 times for order")]
fn lost_response_buggy() {
    let server = Arc::new(PaymentServer::new());
    let client = Client::new(server.clone());
    let other = Client::new(server.clone());
    let worker = thread::spawn(move || buggy::charge(&other, "B-2002", 1250, Duration::ZERO));
    let paid_a = buggy::charge(&client, "A-1001", 4999, Duration::ZERO).is_ok();
    let paid_b = worker.join().unwrap().is_ok();
    assert_charged_once(&server, "A-1001", 4999, paid_a);
    assert_charged_once(&server, "B-2002", 1250, paid_b);
}

#[heisen::model]
fn lost_response_fixed() {
    let server = Arc::new(PaymentServer::new());
    let client = Client::new(server.clone());
    let other = Client::new(server.clone());
    let worker = thread::spawn(move || fixed::charge(&other, "B-2002", 1250, Duration::ZERO));
    let paid_a = fixed::charge(&client, "A-1001", 4999, Duration::ZERO).is_ok();
    let paid_b = worker.join().unwrap().is_ok();
    assert_charged_once(&server, "A-1001", 4999, paid_a);
    assert_charged_once(&server, "B-2002", 1250, paid_b);
}
