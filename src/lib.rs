//! # heisen: write a concurrency test once, explore it with loom and shuttle
//!
//! Code under test uses heisen's facade instead of `std`:
//!
//! | instead of | use |
//! |---|---|
//! | `std::sync::{Arc, Mutex, MutexGuard, RwLock, Condvar, Barrier, mpsc}` | [`heisen::sync`](sync) |
//! | `std::sync::atomic::{AtomicBool, AtomicI8..AtomicU64, AtomicIsize, AtomicUsize, AtomicPtr, Ordering, fence}` | [`heisen::sync::atomic`](sync::atomic) |
//! | `std::thread::{spawn, scope, yield_now, JoinHandle}` | [`heisen::thread`](thread) |
//! | `std::cell::UnsafeCell` | [`heisen::cell::UnsafeCell`](cell::UnsafeCell) (loom's `with` / `with_mut` API) |
//! | `std::hint::spin_loop` | [`heisen::hint::spin_loop`](hint::spin_loop) |
//! | an executor's `block_on` / `spawn` | [`heisen::future::block_on`](future::block_on), [`heisen::future::spawn`](future::spawn) |
//!
//! In a normal build these **are** `std` (re-exports; `UnsafeCell` is an `#[inline]` newtype),
//! so production code pays nothing and needs no `cfg` of its own.
//!
//! ## Writing a model test
//!
//! ```
//! use heisen::sync::atomic::{AtomicU64, Ordering::SeqCst};
//! use heisen::sync::Arc;
//! use heisen::thread;
//!
//! #[heisen::model]
//! fn two_withdrawals() {
//!     let balance = Arc::new(AtomicU64::new(100));
//!     let hs: Vec<_> = (0..2)
//!         .map(|_| {
//!             let balance = balance.clone();
//!             thread::spawn(move || {
//!                 // one atomic read-modify-write: no lost update (a load + store would be one)
//!                 balance.fetch_sub(50, SeqCst);
//!             })
//!         })
//!         .collect();
//!     for h in hs {
//!         h.join().unwrap();
//!     }
//!     assert_eq!(balance.load(SeqCst), 0);
//! }
//! ```
//!
//! `#[heisen::model]` replaces `#[test]` (keep other attributes such as `#[should_panic]` or
//! `#[ignore]`; `async fn` bodies run under [`future::block_on`]). In a **model build** it runs
//! the body under **shuttle** (random, then PCT scheduling; scales to bigger tests, and its
//! counterexamples are plain interleavings) and then under **loom** (exhaustive within a
//! preemption bound, including weak-memory behaviours: a `Relaxed` publication is caught, and
//! unsynchronized [`cell::UnsafeCell`] accesses are reported as data races). In a normal build
//! it runs the body once on real threads (a smoke test).
//!
//! Limits to know:
//! * Objects must be created *inside* the test body: the backend of an object is chosen when
//!   it is constructed, so a `static` (or anything built before the run) stays plain `std` and
//!   is not modelled. In model builds the constructors are not `const` (as in loom).
//! * [`sync::Arc`] is `std::sync::Arc` in every build (its reference count is correct by
//!   construction; loom's leak checking of `Arc` is not used).
//! * [`thread::scope`] is modelled by shuttle; loom has no scoped threads, so inside a loom
//!   run it panics with an explanation: mark such tests `#[heisen::model(shuttle)]`.
//! * `UnsafeCell` data races are detected by loom only; shuttle records the accesses.
//!
//! Arguments (all optional; invalid ones are compile errors):
//!
//! | argument | meaning | default | why |
//! |---|---|---|---|
//! | `loom` / `shuttle` | run only that backend | both | |
//! | `preemption_bound = N` | loom: max preemptions per execution | 2 | nearly all real bugs need ≤ 2 preemptions (CHESS); keeps loom to seconds in CI |
//! | `max_branches = N` | loom: max branch points per execution (exceeding it fails the test) | 1,000 | loom's default |
//! | `iterations = N` | shuttle: schedules per strategy (random, then PCT) | 1,000 | ~ms per schedule for small tests |
//! | `pct_depth = N` | shuttle: PCT bug depth | 3 | shuttle's recommended depth |
//! | `seed = N` | shuttle: base seed | `HEISEN_SEED`, else a stable hash of the test name | CI runs are reproducible |
//! | `timeout = "30s"` | time budget per backend (`ms`, `s`, `m`) | `"60s"` | |
//!
//! Exploration is never a silent pass: every run prints what it explored, e.g.
//! `shuttle: 1,000 random + 1,000 PCT(depth 3) schedules, seed … — bounded` and
//! `loom: 1,194 executions, preemption bound 2 — bounded` (`— complete` with no bound), and a
//! time limit that cut a run short says `time limit 60s reached` (loom's own `max_duration`
//! would end in a silent pass). The lines are captured by the test harness; see them with
//! `--nocapture`, or as a table with `cargo heisen model`. Exceeding `max_branches` fails the
//! test (loom panics).
//!
//! ## Selecting a model build
//!
//! The model build is the cargo feature **`heisen/model`**:
//!
//! ```text
//! cargo heisen model                          # every #[heisen::model] test, with a summary
//! cargo test --features heisen/model          # the same through plain cargo
//! ```
//!
//! The feature links loom and shuttle and turns the facade types into thin dispatchers: an
//! object created inside a loom run is a loom object, inside a shuttle run a shuttle object, and
//! anywhere else (ordinary `#[test]`s in the same binary) a `std` object, chosen at construction
//! by a thread-local runtime switch. Your crate never names a `cfg`, so it gets no
//! `unexpected_cfgs` warnings, and a feature (unlike `RUSTFLAGS=--cfg`) does not rebuild the
//! whole dependency tree when toggled.
//!
//! ## When a model test fails
//!
//! The test panics with a report: a timeline of the failing execution, one row per facade
//! operation, indented per thread (T0 = the test body, T1.. = spawned threads in spawn order),
//! with the value read or written, the memory ordering, the source location and the source
//! text of that line; then the failure (kind, thread, location, message) and the replay
//! recipe. A lost update reads like:
//!
//! ```text
//! heisen: accounts::two_withdrawals FAILED under shuttle (random scheduler, seed …) in execution #1
//!
//! timeline of the failing execution (one row per step; lanes indented per thread):
//!   threads: T0 (main) T1
//!      1  T0 │ spawn T1                         tests/accounts.rs:27  │ let t = thread::spawn(move || a2.withdraw(50));
//!      2  T1 │     load balance = 100 (SeqCst)  tests/accounts.rs:18  │ let b = balance.load(SeqCst);
//!      3  T0 │ load balance = 100 (SeqCst)      tests/accounts.rs:18  │ let b = balance.load(SeqCst);
//!      4  T1 │     store balance ← 50 (SeqCst)  tests/accounts.rs:19  │ balance.store(b - amount, SeqCst);
//!      5  T0 │ store balance ← 50 (SeqCst)      tests/accounts.rs:19  │ balance.store(b - amount, SeqCst);
//!      6  T0 │ join T1                          tests/accounts.rs:29  │ t.join().unwrap();
//!      7  T0 │ load balance = 50 (SeqCst)       tests/accounts.rs:14  │ self.balance.load(SeqCst)
//!      8  T0 │ PANIC: balance == 0
//!
//! failure: panic
//!   thread:   T0 (main)
//!   at:       tests/accounts.rs:30:5  │ assert!(acct.balance() == 0, "balance == 0");
//!   message:  balance == 0
//!
//! replay (shuttle, deterministic):
//!   HEISEN_REPLAY='shuttle:120b43f6cdc77d1a:0*2.1*2.0.1.0*3' cargo test --features heisen/model -- --exact two_withdrawals
//! ```
//!
//! Loom reports add what only weak memory allows: a load that returns an older value than the
//! latest store in the timeline is flagged `⚠ stale: latest store was … (weak memory)`, and a
//! deadlock lists the `BLOCKED` lock requests of every thread.
//!
//! ## Replaying
//!
//! * shuttle: the report prints `HEISEN_REPLAY='shuttle:<schedule>' cargo test --features
//!   heisen/model -- --exact <test>`, which reruns exactly the failing schedule.
//! * loom: exploration order is deterministic, so `HEISEN_BACKEND=loom cargo test --features
//!   heisen/model -- --exact <test>` fails on the same execution again.
//! * `HEISEN_BACKEND=loom|shuttle` restricts a run to one backend; `HEISEN_SEED=N` changes the
//!   shuttle seed of tests that don't set one.
//! * `HEISEN_SUMMARY_FILE=path`: every model test appends one tab-separated line per backend
//!   (test, backend, executions, bounded|complete, pass|FAIL|xfail, ms, description); this is
//!   how `cargo heisen model` builds its summary.
//!
//! ## How it works
//!
//! Every facade operation in a model run appends an event (thread lane, operation, object
//! address, value, ordering, `#[track_caller]` location) to one per-execution trace, cleared
//! when an execution starts; the report is rendered from the trace of the failing execution,
//! reading the source line at each location to name the object (`balance` in
//! `balance.load(..)`). The same trace is meant to feed later checks (atomicity of critical
//! sections) so that every report tells one story.
//!
//! ## Harness tests
//!
//! [`runner::check`] runs a body under a [`runner::Config`] and returns the
//! [`runner::Summary`] or the [`runner::Failure`] (with its `report` text) instead of
//! panicking, for tests that assert on what was found.

#![warn(missing_docs)]

pub use heisen_macros::model;

mod future_std;
#[cfg(feature = "model")]
mod model;
pub mod runner;

/// Synchronization primitives (std in normal builds, modelled in model runs).
pub mod sync {
    #[cfg(not(feature = "model"))]
    pub use std::sync::{
        mpsc, Barrier, BarrierWaitResult, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard,
        RwLockWriteGuard,
    };
    pub use std::sync::{Arc, LockResult, PoisonError, TryLockError, TryLockResult, Weak};

    #[cfg(feature = "model")]
    pub use crate::model::sync::{
        mpsc, Barrier, BarrierWaitResult, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard,
        RwLockWriteGuard,
    };

    /// Atomic types (std in normal builds, modelled and recorded in model runs).
    pub mod atomic {
        #[cfg(not(feature = "model"))]
        pub use std::sync::atomic::{
            compiler_fence, fence, AtomicBool, AtomicI16, AtomicI32, AtomicI64, AtomicI8,
            AtomicIsize, AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
            Ordering,
        };

        #[cfg(feature = "model")]
        pub use crate::model::atomic::{
            compiler_fence, fence, AtomicBool, AtomicI16, AtomicI32, AtomicI64, AtomicI8,
            AtomicIsize, AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
            Ordering,
        };
    }
}

/// Threads (std in normal builds, modelled in model runs).
pub mod thread {
    #[cfg(not(feature = "model"))]
    pub use std::thread::{scope, spawn, yield_now, JoinHandle, Scope, ScopedJoinHandle};

    #[cfg(feature = "model")]
    pub use crate::model::thread::{scope, spawn, yield_now, JoinHandle, Scope, ScopedJoinHandle};
}

/// `UnsafeCell` with loom's closure API.
pub mod cell {
    #[cfg(feature = "model")]
    pub use crate::model::cell::UnsafeCell;

    /// `std::cell::UnsafeCell` with loom's `with` / `with_mut` API (an `#[inline]` newtype).
    #[cfg(not(feature = "model"))]
    #[derive(Debug, Default)]
    #[repr(transparent)]
    pub struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

    #[cfg(not(feature = "model"))]
    impl<T> UnsafeCell<T> {
        /// Creates a cell.
        #[inline]
        pub const fn new(v: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(v))
        }
        /// Consumes the cell.
        #[inline]
        pub fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    #[cfg(not(feature = "model"))]
    impl<T: ?Sized> UnsafeCell<T> {
        /// Immutable access through a raw pointer.
        #[inline]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }
        /// Mutable access through a raw pointer.
        #[inline]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// Hints.
pub mod hint {
    #[cfg(feature = "model")]
    pub use crate::model::misc::spin_loop;
    #[cfg(not(feature = "model"))]
    pub use std::hint::spin_loop;
}

/// Futures: `block_on` and task `spawn`.
pub mod future {
    #[cfg(feature = "model")]
    pub use crate::model::misc::{block_on, spawn};

    #[cfg(not(feature = "model"))]
    pub use crate::future_std::block_on;

    /// Spawns a future as a concurrent task (on its own thread); join the handle.
    #[cfg(not(feature = "model"))]
    pub fn spawn<F>(f: F) -> crate::thread::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        std::thread::spawn(move || block_on(f))
    }
}

/// Nondeterministic choice in `0..n`: loom explores every value, shuttle picks one per
/// schedule (replayable), real threads get `0`. Recorded in the trace as `choose(n) = v`.
///
/// Under loom the choice is emulated with a helper thread racing `n - 1` relaxed stores
/// against one load (loom has no public choice primitive), so each call uses one of loom's
/// (at most 4) threads while it runs.
#[cfg(feature = "model")]
pub use crate::model::misc::choose;

/// Nondeterministic choice in `0..n` (normal build: always `0`).
#[cfg(not(feature = "model"))]
#[inline]
pub fn choose(n: usize) -> usize {
    assert!(n > 0, "heisen::choose(0)");
    0
}
