//! Leader 33 sends a heartbeat, checks its lease and freezes for 40 s (on the virtual clock:
//! the test takes no time). Its follower hears nothing for a lease lifetime (`timeout` of 10 s),
//! is granted token 34 and writes. Then the zombie's write lands. The storage must keep
//! leader 34's value.

use async_lease::{
    await_leader_silence, buggy, fixed, leader_write, LockService, Rejected, Storage,
};
use heisen::tokio::sync::mpsc;
use heisen::tokio::time::{Duration, Instant};
use std::sync::Arc;

async fn zombie_write(storage: Arc<impl Storage>) {
    let service = Arc::new(LockService::new(33));
    let lease = service.grant();
    let (heartbeat, mut heartbeats) = mpsc::channel(1);
    let start = Instant::now();
    let zombie = {
        let storage = storage.clone();
        heisen::tokio::spawn(async move {
            // (A follower that already gave up on the leader has dropped its receiver.)
            let _ = heartbeat.send(()).await;
            leader_write(&*storage, &lease, "zombie", Duration::from_secs(40)).await
        })
    };
    let successor = {
        let storage = storage.clone();
        heisen::tokio::spawn(async move {
            await_leader_silence(&mut heartbeats).await;
            let lease = service.grant();
            storage.put(lease.token, "leader").await.unwrap();
        })
    };
    successor.await.unwrap();
    // Unless the leader found its lease run out when it checked (its heartbeat came late:
    // the follower's timeout can fire while the leader could still run), its write stalled
    // 40 s.
    if zombie.await.unwrap() != Err(Rejected::Expired) {
        assert!(start.elapsed() >= Duration::from_secs(40));
    }
    assert_eq!(
        storage.value().await,
        Some((34, "leader")),
        "zombie leader's write (token 33) overwrote leader 34's"
    );
}

#[heisen::model]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
#[should_panic(expected = "zombie leader's write (token 33) overwrote leader 34's")]
async fn zombie_write_buggy() {
    zombie_write(Arc::new(buggy::Storage::new())).await;
}

#[heisen::model]
async fn zombie_write_fixed() {
    zombie_write(Arc::new(fixed::Storage::new())).await;
}

/// examples/README.md shows this counterexample; it must be the real, current output.
#[test]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
fn readme_timeline() {
    readme_timelines::check!(zombie_write_buggy);
}
