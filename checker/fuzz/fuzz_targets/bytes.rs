//! Arbitrary bytes through the whole per-file pipeline: decode, nesting guard, parse, facts,
//! suppressions, then every rule and the filter on the one-file crate.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cargo_heisen_fuzz_support::run(data);
});

mod cargo_heisen_fuzz_support {
    include!("support.rs");
}
