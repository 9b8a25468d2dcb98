//! `heisen::net` outside model runs (normal builds, and plain `#[test]`s of model builds): an
//! in-process network with the same API — delivery in send order, real timeouts, no faults.

use heisen::net::Network;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

#[test]
fn messages_arrive_in_send_order_with_their_sender() {
    let net = Network::<u32>::new();
    let a = net.node("a");
    let b = net.node("b");
    let c = net.node("c");
    a.send("c", 1);
    b.send("c", 2);
    a.send("c", 3);
    let got: Vec<(String, u32)> = (0..3).map(|_| c.recv()).collect();
    assert_eq!(
        got,
        [("a".into(), 1), ("b".into(), 2), ("a".into(), 3)].to_vec()
    );
}

#[test]
fn recv_blocks_until_another_thread_sends() {
    let net = Network::<&'static str>::new();
    let client = net.node("client");
    let server = net.node("server");
    let t = std::thread::spawn(move || {
        let (from, m) = server.recv();
        server.send(&from, if m == "ping" { "pong" } else { "?" });
    });
    std::thread::sleep(Duration::from_millis(20));
    client.send("server", "ping");
    assert_eq!(client.recv(), ("server".to_string(), "pong"));
    t.join().unwrap();
}

#[test]
fn recv_timeout_waits_the_real_time_then_gives_up() {
    let net = Network::<u32>::new();
    let a = net.node("a");
    let start = Instant::now();
    assert_eq!(a.recv_timeout(Duration::from_millis(30)), None);
    assert!(start.elapsed() >= Duration::from_millis(30));
    a.send("a", 5);
    assert_eq!(
        a.recv_timeout(Duration::from_secs(5)),
        Some(("a".to_string(), 5))
    );
}

#[test]
fn async_forms_work_under_block_on() {
    let net = Network::<u32>::new();
    let a = net.node("a");
    let b = net.node("b");
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        a.send("b", 9);
    });
    assert_eq!(
        heisen::future::block_on(b.recv_async()),
        ("a".to_string(), 9)
    );
    t.join().unwrap();
    let start = Instant::now();
    assert_eq!(
        heisen::future::block_on(b.recv_timeout_async(Duration::from_millis(30))),
        None
    );
    assert!(start.elapsed() >= Duration::from_millis(30));
}

#[test]
fn partitions_drop_until_healed() {
    let net = Network::<u32>::new();
    let a = net.node("a");
    let b = net.node("b");
    a.send("b", 1);
    net.partition(&["b"], &["a"]);
    a.send("b", 2);
    b.send("a", 3);
    net.heal();
    a.send("b", 4);
    assert_eq!(b.recv().1, 4);
    assert_eq!(a.recv_timeout(Duration::from_millis(10)), None);
}

#[test]
fn an_unknown_node_is_an_error_naming_it_and_the_known_ones() {
    let net = Network::<u32>::new();
    let client = net.node("client");
    net.node("server");
    let err = std::panic::catch_unwind(AssertUnwindSafe(|| client.send("srv", 1))).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert_eq!(
        msg,
        "heisen::net: send from `client` to unknown node `srv` (nodes: client, server); \
         register every node with Network::node before sending"
    );
    let err =
        std::panic::catch_unwind(AssertUnwindSafe(|| net.partition(&["client"], &["nobody"])))
            .unwrap_err();
    assert!(err
        .downcast_ref::<String>()
        .unwrap()
        .contains("partition of unknown node `nobody`"));
    // The network still works after the error.
    client.send("client", 2);
    assert_eq!(client.recv().1, 2);
}

#[test]
fn nodes_are_clone_and_send_and_a_name_names_one_node() {
    fn is_send<T: Send + Clone>(_: &T) {}
    let net = Network::<String>::new();
    let a = net.node("a");
    is_send(&a);
    is_send(&net);
    let again = net.node("a");
    a.clone().send("a", "x".into());
    assert_eq!(again.recv(), ("a".to_string(), "x".to_string()));
    assert_eq!(again.name(), "a");
}

/// The same `#[heisen::model]` test is a smoke test in a normal build.
#[heisen::model]
fn a_model_test_runs_once_on_the_in_process_network() {
    let net = Network::<u32>::new();
    let client = net.node("client");
    let server = net.node("server");
    let t = heisen::thread::spawn(move || {
        let (from, n) = server.recv();
        server.send(&from, n * 2);
    });
    client.send("server", 21);
    let reply = client
        .recv_timeout(Duration::from_millis(100))
        .map(|r| r.1)
        .unwrap_or_else(|| client.recv().1);
    assert_eq!(reply, 42);
    t.join().unwrap();
}
