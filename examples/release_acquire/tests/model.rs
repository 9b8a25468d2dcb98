//! A producer sends 42 through the mailbox while a consumer waits for it.
//!
//! Only loom finds the bug: it models the C++/Rust memory model, in which a `Relaxed` load may
//! see `ready == true` while the message write is not yet visible, and it reports the
//! unsynchronized `UnsafeCell` accesses as a data race. Shuttle explores interleavings of a
//! sequentially consistent machine (every atomic behaves as `SeqCst`), where the message is
//! always written before the flag is seen, so it cannot fail this test: hence `loom`.

use heisen::sync::Arc;
use heisen::thread;
use release_acquire::{buggy, fixed};

#[heisen::model(loom)]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
#[should_panic(expected = "failure: data race (loom causality violation)")]
fn relaxed_flag_buggy() {
    let mailbox = Arc::new(buggy::Mailbox::new());
    let producer = {
        let mailbox = mailbox.clone();
        thread::spawn(move || mailbox.send(42))
    };
    assert_eq!(
        mailbox.recv(),
        42,
        "consumer saw `ready` but not the message"
    );
    producer.join().unwrap();
}

#[heisen::model(loom)]
fn release_acquire_fixed() {
    let mailbox = Arc::new(fixed::Mailbox::new());
    let producer = {
        let mailbox = mailbox.clone();
        thread::spawn(move || mailbox.send(42))
    };
    assert_eq!(
        mailbox.recv(),
        42,
        "consumer saw `ready` but not the message"
    );
    producer.join().unwrap();
}

/// examples/README.md shows this counterexample; it must be the real, current output.
#[test]
#[cfg_attr(not(feature = "model"), ignore = "needs the model build")]
fn readme_timeline() {
    readme_timelines::check!(relaxed_flag_buggy);
}
