//! A minimal test of the racy path of left-right's `WriteHandle::drop` (fixed in 0.11.8,
//! "Mitigate race condition in WriteHandle::drop", #153): the crate's own loom suite has no
//! test for it. tests/model_realbugs.rs writes this file into both ported versions as
//! `tests/drop_race.rs`; it uses only left-right's public API and loom's (heisen-loom's).
//!
//! The writer publishes while the reader is idle, the reader then enters, and the writer is
//! dropped. Before the fix, `drop` waited on the epochs read at that last publish, where the
//! reader was idle (even): it did not wait for the reader, and freed both copies under the
//! reader's guard. `T`'s destructor raises a shared flag; the reader checks the flag while it
//! holds the guard, without touching the (possibly freed) data.
#![cfg(loom)]

use left_right::Absorb;
use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

#[derive(Clone)]
struct Data(Arc<AtomicBool>);

impl Drop for Data {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

struct Noop;

impl Absorb<Noop> for Data {
    fn absorb_first(&mut self, _: &mut Noop, _: &Self) {}
    fn sync_with(&mut self, _: &Self) {}
}

#[test]
fn drop_waits_for_a_reader_that_entered_after_the_last_publish() {
    loom::model(|| {
        let dropped = Arc::new(AtomicBool::new(false));
        let (mut w, r) = left_right::new_from_empty::<Data, Noop>(Data(dropped.clone()));
        w.publish();
        let reader = thread::spawn(move || {
            if let Some(guard) = r.enter() {
                assert!(
                    !dropped.load(SeqCst),
                    "the writer freed the data while a reader held a guard"
                );
                drop(guard);
            }
        });
        drop(w);
        reader.join().unwrap();
    });
}
