//! Leader 33 paused (a long GC) while its lease expired and leader 34 was elected. The zombie
//! wakes up and writes with token 33 at the same moment leader 34 writes; then it retries.
//! The storage must end with high-water mark 34 and refuse token 33 from then on.

use fencing_token::{buggy, fixed};
use heisen::sync::Arc;
use heisen::thread;

#[heisen::model]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
#[should_panic(expected = "zombie leader's token 33 accepted after token 34")]
fn zombie_leader_buggy() {
    let storage = Arc::new(buggy::Storage::new());
    let s = storage.clone();
    let zombie = thread::spawn(move || s.write(33, "zombie"));
    storage.write(34, "leader").unwrap();
    let _ = zombie.join().unwrap();
    assert!(
        storage.write(33, "zombie retry").is_err(),
        "zombie leader's token 33 accepted after token 34 (high-water mark is {})",
        storage.high_water()
    );
}

#[heisen::model]
fn zombie_leader_fixed() {
    let storage = Arc::new(fixed::Storage::new());
    let s = storage.clone();
    let zombie = thread::spawn(move || s.write(33, "zombie"));
    storage.write(34, "leader").unwrap();
    let _ = zombie.join().unwrap();
    assert!(
        storage.write(33, "zombie retry").is_err(),
        "zombie leader's token 33 accepted after token 34 (high-water mark is {})",
        storage.high_water()
    );
}

/// examples/README.md shows this counterexample; it must be the real, current output.
#[test]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
fn readme_timeline() {
    readme_timelines::check!(zombie_leader_buggy);
}
