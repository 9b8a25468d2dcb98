//! Helpers shared by the model-build test files (included with `#[path]`).
#![allow(dead_code)]

use heisen::sync::atomic::{AtomicU64, Ordering::SeqCst};
use heisen::sync::{Arc, Condvar, Mutex};
use heisen::thread;

/// Line number of the first line of `file` containing `needle` (so assertions don't hard-code
/// line numbers); a line that calls `line_of(` itself does not count.
pub fn line_of(file: &str, needle: &str) -> usize {
    let src = std::fs::read_to_string(file).expect("test source readable");
    src.lines()
        .position(|l| l.contains(needle) && !l.contains("line_of("))
        .expect("needle present")
        + 1
}

/// `file:line` of the first line of `file` containing `needle`.
pub fn at(file: &str, needle: &str) -> String {
    format!("{file}:{}", line_of(file, needle))
}

/// Two threads withdraw 50 each from 100 with a load and a store: a lost update.
pub fn withdraw_racy() {
    let balance = Arc::new(AtomicU64::new(100));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let balance = balance.clone();
            thread::spawn(move || {
                let b = balance.load(SeqCst); // RACY-LOAD
                balance.store(b - 50, SeqCst); // RACY-STORE
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(balance.load(SeqCst), 0, "balance == 0"); // FINAL-ASSERT
}

/// A flag handed from a spawned thread to the waiting main thread through a `Condvar`.
pub fn condvar_handoff(notify_all: bool) {
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p2 = pair.clone();
    let h = thread::spawn(move || {
        let (m, c) = &*p2;
        *m.lock().unwrap() = true;
        if notify_all {
            c.notify_all();
        } else {
            c.notify_one();
        }
    });
    let (m, c) = &*pair;
    let mut ready = m.lock().unwrap();
    while !*ready {
        ready = c.wait(ready).unwrap();
    }
    drop(ready);
    h.join().unwrap();
}
