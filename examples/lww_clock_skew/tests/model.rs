//! The incident as a model. Replica A (the test's main thread) and replica B (a spawned
//! thread) replicate writes to each other over channels. A user edits their bio on A; the edit
//! replicates to B; then the user edits again on B, which has seen the first edit; that edit
//! replicates back to A. Both replicas must end with the second edit.
//!
//! Nothing in the test sets a clock: `clock_skew = "50ms"` lets the model choose how far each
//! replica's clock is off, up to 50 ms either way (loom: -50 ms, 0 or +50 ms per replica,
//! every combination; shuttle: sampled per schedule). The second edit is read later in real
//! time, but on B's clock, which may be behind A's.

use heisen::sync::mpsc;
use heisen::thread;
use lww_clock_skew::{buggy, fixed};

#[heisen::model(clock_skew = "50ms")]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
#[should_panic(expected = "latest edit lost on replica A")]
fn edit_after_edit_buggy() {
    let (to_b, at_b) = mpsc::channel();
    let (to_a, at_a) = mpsc::channel();
    let replica_b = thread::spawn(move || {
        let mut b = buggy::Replica::new(0);
        let first = at_b.recv().unwrap();
        b.merge(first);
        // The user's second edit, made on B after B has seen the first one.
        let second = b.write("bio: v2");
        to_a.send(second).unwrap();
        b.get().map(str::to_string)
    });
    let mut a = buggy::Replica::new(0);
    // The user's first edit, made on A.
    let first = a.write("bio: v1");
    to_b.send(first).unwrap();
    let second = at_a.recv().unwrap();
    a.merge(second);
    let on_b = replica_b.join().unwrap();
    assert_eq!(a.get(), Some("bio: v2"), "latest edit lost on replica A");
    assert_eq!(
        on_b.as_deref(),
        Some("bio: v2"),
        "latest edit lost on replica B"
    );
}

#[heisen::model(clock_skew = "50ms")]
fn edit_after_edit_fixed() {
    let (to_b, at_b) = mpsc::channel();
    let (to_a, at_a) = mpsc::channel();
    let replica_b = thread::spawn(move || {
        let mut b = fixed::Replica::new(2, 0);
        let first = at_b.recv().unwrap();
        b.merge(first);
        // The user's second edit, made on B after B has seen the first one.
        let second = b.write("bio: v2");
        to_a.send(second).unwrap();
        b.get().map(str::to_string)
    });
    let mut a = fixed::Replica::new(1, 0);
    // The user's first edit, made on A.
    let first = a.write("bio: v1");
    to_b.send(first).unwrap();
    let second = at_a.recv().unwrap();
    a.merge(second);
    let on_b = replica_b.join().unwrap();
    assert_eq!(a.get(), Some("bio: v2"), "latest edit lost on replica A");
    assert_eq!(
        on_b.as_deref(),
        Some("bio: v2"),
        "latest edit lost on replica B"
    );
}

/// examples/README.md shows this counterexample; it must be the real, current output.
#[test]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
fn readme_timeline() {
    readme_timelines::check!(edit_after_edit_buggy);
}
