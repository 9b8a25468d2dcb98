//! `heisen::net` in model builds: delivery order, timeouts and faults are choices loom explores
//! exhaustively and shuttle samples; each fault kind strikes at most `max_net_faults` times;
//! the report shows every network event and the messages still in flight.
#![cfg(feature = "model")]

use heisen::net::{Faults, Network};
use heisen::runner::{check, Config};
use heisen::thread;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MS: Duration = Duration::from_millis(100);

/// Both backends, each alone (shuttle with few schedules: the tests are small).
fn both(name: &str) -> [Config; 2] {
    [
        Config::new(format!("net::{name}")).loom_only(),
        Config::new(format!("net::{name}"))
            .shuttle_only()
            .iterations(200),
    ]
}

/// What `body` returned, over every execution of a passing run of `cfg`.
fn outcomes<F>(cfg: &Config, body: F) -> BTreeSet<String>
where
    F: Fn() -> String + Send + Sync + 'static,
{
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let s = seen.clone();
    check(cfg, move || {
        let o = body();
        s.lock().unwrap().insert(o);
    })
    .unwrap_or_else(|f| panic!("{f}"));
    let v = seen.lock().unwrap().clone();
    v
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Under both backends, `body`'s outcomes over all executions are exactly `expected`.
fn explores<F>(name: &str, expected: &[&str], body: F)
where
    F: Fn() -> String + Clone + Send + Sync + 'static,
{
    for cfg in both(name) {
        assert_eq!(outcomes(&cfg, body.clone()), set(expected), "{}", cfg.name);
    }
}

#[test]
fn one_sender_is_received_in_fifo_order_on_both_backends() {
    explores("fifo", &["1,2,3"], || {
        let net = Network::<u32>::new();
        let a = net.node("a");
        let b = net.node("b");
        let t = thread::spawn(move || {
            for i in 1..=3 {
                a.send("b", i);
            }
        });
        let got: Vec<String> = (0..3).map(|_| b.recv().1.to_string()).collect();
        t.join().unwrap();
        got.join(",")
    });
}

#[test]
fn which_sender_is_delivered_first_is_explored() {
    explores("two_senders", &["ab", "ba"], || {
        let net = Network::<&'static str>::new();
        let a = net.node("a");
        let b = net.node("b");
        let c = net.node("c");
        // Both are sent before the receiver looks: only the delivery choice orders them.
        a.send("c", "a");
        b.send("c", "b");
        let t = thread::spawn(move || {
            let first = c.recv();
            let second = c.recv();
            format!("{}{}", first.1, second.1)
        });
        t.join().unwrap()
    });
}

#[test]
fn a_timeout_may_fire_while_the_reply_is_in_flight() {
    explores("timeout", &["reply", "timeout"], || {
        let net = Network::<u32>::new();
        let client = net.node("client");
        let server = net.node("server");
        let t = thread::spawn(move || {
            let (from, n) = server.recv();
            server.send(&from, n + 1);
        });
        client.send("server", 1);
        let first = client.recv_timeout(MS);
        t.join().unwrap();
        // Reliable network: a reply that missed the timeout is still in flight.
        let reply = first.clone().or_else(|| Some(client.recv()));
        assert_eq!(reply.map(|r| r.1), Some(2));
        if first.is_some() { "reply" } else { "timeout" }.to_string()
    });
}

/// One message a→b, then b's receives: every message received, as a list.
fn deliveries(cfg: &Config, sends: &'static [u32], faults: Faults) -> BTreeSet<String> {
    let cfg = cfg.clone().net_faults(faults);
    outcomes(&cfg, move || {
        let net = Network::<u32>::new();
        let a = net.node("a");
        let b = net.node("b");
        let t = thread::spawn(move || {
            for &i in sends {
                a.send("b", i);
            }
        });
        t.join().unwrap();
        let mut got = Vec::new();
        // After the join everything sent is in flight; stop at the first timeout.
        while let Some((_, m)) = b.recv_timeout(MS) {
            got.push(m.to_string());
        }
        got.join(",")
    })
}

#[test]
fn without_faults_messages_are_delayed_but_never_lost_duplicated_or_reordered() {
    for cfg in both("no_faults") {
        let got = deliveries(&cfg, &[1, 2], Faults::NONE);
        // Prefixes only: a timeout may stop the receiver early, nothing else may happen.
        assert_eq!(got, set(&["", "1", "1,2"]), "{}", cfg.name);
    }
}

#[test]
fn drop_duplicate_and_reorder_each_happen_when_enabled() {
    for cfg in both("faults") {
        let drop = deliveries(&cfg, &[1, 2], Faults::new(true, false, false, 1));
        assert!(drop.contains("2"), "{}: {drop:?}", cfg.name);
        let dup = deliveries(&cfg, &[1], Faults::new(false, true, false, 1));
        assert!(dup.contains("1,1"), "{}: {dup:?}", cfg.name);
        let reorder = deliveries(&cfg, &[1, 2], Faults::new(false, false, true, 1));
        assert!(reorder.contains("2,1"), "{}: {reorder:?}", cfg.name);
        assert!(
            !reorder
                .iter()
                .any(|o| o.contains("1,1") || o.contains("2,2")),
            "reorder never duplicates: {reorder:?}"
        );
    }
}

#[test]
fn each_fault_strikes_at_most_max_net_faults_times() {
    let cfg = Config::new("net::max_faults").loom_only();
    let count = |max| {
        deliveries(&cfg, &[1, 2, 3], Faults::new(false, true, false, max))
            .iter()
            .map(|o| o.split(',').filter(|s| !s.is_empty()).count())
            .max()
            .unwrap()
    };
    // Three messages and at most `max` duplicates: loom reaches the bound and never passes it.
    assert_eq!(count(1), 4);
    assert_eq!(count(2), 5);
    let drops = deliveries(&cfg, &[1, 2, 3], Faults::new(true, false, false, 1));
    // With one drop allowed, two of the three always remain deliverable: "3" alone (two
    // drops) never happens, "2,3" (one drop) does.
    assert!(drops.contains("2,3"), "{drops:?}");
    assert!(!drops.contains("3"), "{drops:?}");
}

#[test]
fn a_partition_drops_messages_across_the_cut_until_healed() {
    explores("partition", &["b:4 c:3"], || {
        let net = Network::<u32>::new();
        let a = net.node("a");
        let b = net.node("b");
        let c = net.node("c");
        a.send("b", 1); // in flight when the cut comes: dropped
        net.partition(&["a"], &["b", "c"]);
        a.send("c", 2); // across the cut: dropped
        b.send("c", 3); // same side: delivered
        net.heal();
        a.send("b", 4);
        let t = thread::spawn(move || format!("b:{} c:{}", b.recv().1, c.recv().1));
        t.join().unwrap()
    });
}

#[test]
fn async_receives_are_explored_like_blocking_ones() {
    explores("async", &["reply", "timeout"], || {
        let net = Network::<u32>::new();
        let client = net.node("client");
        let server = net.node("server");
        let t = heisen::future::spawn(async move {
            let (from, n) = server.recv_async().await;
            server.send(&from, n + 1);
        });
        client.send("server", 1);
        let first = heisen::future::block_on(client.recv_timeout_async(MS));
        t.join().unwrap();
        let timed_out = first.is_none();
        let reply = match first {
            Some(r) => r,
            None => heisen::future::block_on(client.recv_async()),
        };
        assert_eq!(reply, ("server".to_string(), 2));
        if timed_out { "timeout" } else { "reply" }.to_string()
    });
}

/// The lost-response shape: a retry after a timeout, with the server's dedupe forgotten.
fn double_charge() {
    #[derive(Clone, Debug)]
    #[allow(dead_code)]
    enum Msg {
        Charge { key: u32 },
        Receipt { key: u32 },
    }
    let net = Network::<Msg>::new();
    let client = net.node("client");
    let server = net.node("server");
    let charges = heisen::sync::Arc::new(heisen::sync::atomic::AtomicU32::new(0));
    let c2 = charges.clone();
    let t = thread::spawn(move || {
        for _ in 0..2 {
            match server.recv_timeout(MS) {
                Some((from, Msg::Charge { key })) => {
                    c2.fetch_add(1, heisen::sync::atomic::Ordering::SeqCst);
                    server.send(&from, Msg::Receipt { key });
                }
                _ => break,
            }
        }
    });
    client.send("server", Msg::Charge { key: 7 });
    if client.recv_timeout(MS).is_none() {
        client.send("server", Msg::Charge { key: 7 });
        let _ = client.recv_timeout(MS);
    }
    t.join().unwrap();
    let n = charges.load(heisen::sync::atomic::Ordering::SeqCst);
    assert!(n <= 1, "charged {n} times");
}

#[test]
fn the_report_shows_network_rows_and_the_messages_in_flight() {
    for cfg in both("report") {
        let f = check(&cfg, double_charge).expect_err("the double charge is found");
        let r = &f.report;
        for row in [
            "net send client→server Charge { key: 7 }",
            "net deliver client→server Charge { key: 7 }",
            "net send server→client Receipt { key: 7 }",
            "net timeout client after 100ms (",
            "network at the failure (heisen::net):",
            "server→client  Receipt { key: 7 }",
        ] {
            assert!(r.contains(row), "{}: no `{row}` in\n{r}", cfg.name);
        }
        assert!(!r.contains("choose("), "net choices are net rows:\n{r}");
    }
}

#[test]
fn a_dropped_message_under_a_blocking_recv_is_a_deadlock_with_a_blocked_row() {
    for cfg in both("drop_deadlock") {
        let cfg = cfg.net_faults(Faults::new(true, false, false, 1));
        let f = check(&cfg, || {
            let net = Network::<u32>::new();
            let a = net.node("a");
            let b = net.node("b");
            let t = thread::spawn(move || b.recv());
            a.send("b", 1);
            t.join().unwrap();
        })
        .expect_err("the lost message leaves the receiver blocked");
        assert_eq!(f.kind, "deadlock", "{}", f.report);
        for text in [
            "net drop a→b 1 (fault: drop 1 of 1)",
            "net recv b … BLOCKED (nothing delivered)",
            "in flight: 0 messages",
            "faults used: drop 1/1",
        ] {
            assert!(f.report.contains(text), "no `{text}` in\n{}", f.report);
        }
    }
    // Without the fault the same body passes.
    for cfg in both("no_drop_no_deadlock") {
        check(&cfg, || {
            let net = Network::<u32>::new();
            let a = net.node("a");
            let b = net.node("b");
            let t = thread::spawn(move || b.recv());
            a.send("b", 1);
            t.join().unwrap();
        })
        .unwrap_or_else(|f| panic!("{f}"));
    }
}

#[test]
fn sending_to_an_unknown_node_is_an_error_naming_it() {
    for cfg in both("unknown") {
        let f = check(&cfg, || {
            let net = Network::<u32>::new();
            let client = net.node("client");
            net.node("server");
            client.send("srv", 1);
        })
        .expect_err("unknown node");
        assert!(
            f.message.contains(
                "heisen::net: send from `client` to unknown node `srv` (nodes: client, server)"
            ),
            "{}",
            f.message
        );
    }
}

#[test]
fn a_network_built_outside_the_run_is_refused_inside_it() {
    let net = Network::<u32>::new();
    let a = net.node("a");
    net.node("b");
    let f = check(&Config::new("net::outside").shuttle_only(), move || {
        a.send("b", 1);
    })
    .expect_err("std network inside a model run");
    assert!(
        f.message
            .contains("heisen::net::Network was created outside the model run"),
        "{}",
        f.message
    );
}

#[test]
fn summaries_name_the_faults() {
    let cfg = Config::new("net::summary")
        .loom_only()
        .net_faults(Faults::new(true, true, false, 2));
    let s = check(&cfg, || {
        let net = Network::<u32>::new();
        net.node("a").send("a", 1);
    })
    .unwrap_or_else(|f| panic!("{f}"));
    assert!(
        s.runs[0]
            .description
            .contains("net faults: drop, duplicate ≤ 2 each"),
        "{}",
        s.runs[0].description
    );
}

/// loom's executions: the oracle's start is explored three ways (its one race with the
/// creator), and every binary choice doubles what follows, with no duplicates.
#[test]
fn loom_pays_three_for_the_network_and_two_per_binary_choice() {
    let executions = |k: usize, bound: Option<usize>| {
        let cfg = Config::new("net::count")
            .loom_only()
            .preemption_bound(bound);
        let s = check(&cfg, move || {
            let net = Network::<u32>::new();
            let a = net.node("a");
            for i in 0..k {
                a.send("a", i as u32);
            }
            // Each receive finds a message in flight: deliver or time out, one binary choice.
            for _ in 0..k {
                let _ = a.recv_timeout(MS);
            }
        })
        .unwrap_or_else(|f| panic!("{f}"));
        s.runs[0].executions
    };
    assert_eq!(executions(0, Some(2)), 3);
    assert_eq!(executions(1, Some(2)), 6);
    assert_eq!(executions(3, Some(2)), 24);
    // Unbounded: the same, and complete.
    assert_eq!(executions(1, None), 6);
}

#[heisen::model(net_faults = "duplicate", max_net_faults = 1)]
#[should_panic(expected = "delivered twice")]
fn the_attribute_s_faults_reach_the_network() {
    let net = Network::<u32>::new();
    let a = net.node("a");
    let b = net.node("b");
    a.send("b", 1);
    let _ = b.recv();
    assert!(b.recv_timeout(MS).is_none(), "delivered twice");
}

#[test]
fn the_shuttle_replay_line_reproduces_the_deliveries_and_faults() {
    let cfg = Config::new("net::replay")
        .shuttle_only()
        .net_faults(Faults::new(true, true, true, 1));
    let f = check(&cfg, double_charge).expect_err("the double charge is found");
    let schedule = f
        .replay
        .split('\'')
        .nth(1)
        .expect("HEISEN_REPLAY='shuttle:..'")
        .to_string();
    let again = check(&cfg.clone().replay(schedule), double_charge).expect_err("replayed");
    let rows = |r: &str| -> Vec<String> {
        r.lines()
            .filter(|l| l.contains(" net "))
            .map(str::to_string)
            .collect()
    };
    assert!(rows(&f.report).len() >= 4, "{}", f.report);
    assert_eq!(rows(&f.report), rows(&again.report));
}
