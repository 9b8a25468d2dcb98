//! `heisen-loom`: loom's API under loom's paths over heisen's facade, for running a crate's own
//! `cfg(loom)` suite through heisen (tests/model_realbugs.rs writes this file as the
//! `src/lib.rs` of a generated package; docs/model-migration.md shows the steps). In the crate's
//! manifest: `loom = { package = "heisen-loom", path = ".." }`.
//!
//! Everything is heisen's facade (std's API with loom's `UnsafeCell` and `alloc`); the one
//! addition is `loom::model`, which runs the closure through `heisen::runner::run_test` with
//! heisen's defaults: both backends, the report and the replay line on a failure.

pub use heisen::{alloc, cell, future, hint, lazy_static, thread, thread_local};

/// `loom::sync` (the facade's), with loom 0.2's name of the cell type.
pub mod sync {
    pub use heisen::sync::*;
    /// loom ≤ 0.2's `CausalCell`: the same `with` / `with_mut` API as `cell::UnsafeCell`.
    pub use heisen::cell::UnsafeCell as CausalCell;
}

/// `loom::model(f)`: explores `f` with heisen's defaults (shuttle, then loom), named after the
/// libtest test that calls it (libtest names the test's thread after the test).
pub fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let name = std::thread::current()
        .name()
        .unwrap_or("loom::model")
        .to_string();
    heisen::runner::run_test(heisen::runner::Config::new(name), f);
}
