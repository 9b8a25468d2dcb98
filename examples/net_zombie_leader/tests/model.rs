//! Two leaders compete for the lease. When leader 1 wins, it stalls (150 ms of work on a
//! 100 ms lease) and leader 2 takes the expired lease and writes; leader 1 wakes up and
//! writes too. Storage must never apply a
//! write of an older lease after one of a newer lease.

use heisen::net::{Network, Node};
use heisen::sync::{Arc, Mutex};
use heisen::thread;
use net_zombie_leader::{buggy, fixed, lead, LockService, Msg, LEASE};
use std::time::Duration;

type Log = Arc<Mutex<Vec<(u64, &'static str)>>>;

fn assert_fenced(log: &Log) {
    let log = log.lock().unwrap();
    for w in log.windows(2) {
        assert!(
            w[0].0 <= w[1].0,
            "zombie leader's write (token {}) applied after token {}: {log:?}",
            w[1].0,
            w[0].0
        );
    }
}

/// Runs both leaders against `storage`.
fn run(storage: fn(&Node<Msg>, &Mutex<Vec<(u64, &'static str)>>, Duration)) -> Log {
    let net = Network::new();
    let l1 = net.node("leader-1");
    let l2 = net.node("leader-2");
    let s = net.node("storage");
    let locks = Arc::new(LockService::new());
    let log: Log = Arc::default();
    let log2 = log.clone();
    let st = thread::spawn(move || storage(&s, &log2, 4 * LEASE));
    let locks2 = locks.clone();
    let second = thread::spawn(move || lead(&l2, &locks2, "from leader 2", Duration::ZERO));
    lead(&l1, &locks, "from leader 1", LEASE + LEASE / 2);
    second.join().unwrap();
    st.join().unwrap();
    log
}

#[heisen::model]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
#[should_panic(expected = "zombie leader's write (token 1) applied after token 2")]
fn zombie_write_buggy() {
    assert_fenced(&run(buggy::storage));
}

#[heisen::model]
fn zombie_write_fixed() {
    assert_fenced(&run(fixed::storage));
}

/// examples/README.md shows this counterexample; it must be the real, current output.
#[test]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
fn readme_timeline() {
    readme_timelines::check!(zombie_write_buggy);
}
