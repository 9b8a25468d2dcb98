//! Normal build: `#[heisen::critical]` and `heisen::critical_section!` are exactly the original
//! code. Proven at compile level (the instrumented arm of the selector is never parsed) and by
//! behaviour; `heisen-macros`' unit test shows that the attribute hands the original item to
//! the selector verbatim.
#![cfg(not(feature = "model"))]

#[path = "support/critical_targets.rs"]
mod targets;

use heisen::sync::atomic::{AtomicU64, Ordering::SeqCst};
use targets::{Account, Counter};

// Compile-level proof: in a normal build the selector emits its first arm and discards the
// second unparsed, so a `compile_error!` there never fires. (In a model build it would.)
heisen::__critical_select! {
    { fn selected_original() -> u8 { 1 } }
    { compile_error!("the instrumented arm must not be expanded in a normal build"); }
}

// The same for the block form: its expansion is the block itself (a `const` context accepts
// no runtime call, so any guard would fail to compile here).
const BLOCK: u64 = heisen::critical_section!(in_const, { 40 + 2 });

#[test]
fn expansion_is_the_original_code() {
    assert_eq!(selected_original(), 1);
    assert_eq!(BLOCK, 42);
}

#[test]
fn critical_functions_behave_exactly_as_written() {
    let c = Counter {
        n: AtomicU64::new(0),
    };
    assert_eq!(c.bump(), 1);
    assert_eq!(c.checked(10).map(|a| a.load(SeqCst)), Ok(2));
    assert_eq!(c.checked(2).map(|_| ()), Err("limit 2".to_string()));
    assert_eq!(c.describe().to_string(), "2");
    c.generic(3u8);
    assert_eq!(heisen::future::block_on(c.bump_async()), 6);
    assert_eq!(c.diverges_sometimes(false), 6);
    assert!(std::panic::catch_unwind(|| c.diverges_sometimes(true)).is_err());
    assert_eq!(c.withdraw_all(), 6);
    assert_eq!(targets::free_fn(&c, 4), 6);
    assert_eq!(unsafe { targets::unsafe_fn(&7) }, 7);
    assert_eq!(targets::blocks(&c), 10 + 10 + 1);
    let v = heisen::sync::Mutex::new(vec![1, 2]);
    assert_eq!(c.locked_len(&v), 2);
}

#[test]
fn critical_section_block_keeps_control_flow() {
    fn early(x: u64) -> u64 {
        let v = heisen::critical_section!(early, {
            if x > 5 {
                return 0;
            }
            x * 2
        });
        v + 1
    }
    assert_eq!(early(10), 0);
    assert_eq!(early(2), 5);
}
