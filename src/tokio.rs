//! `heisen::tokio` (feature `tokio`): tokio's paths, so porting is `use tokio::…` →
//! `use heisen::tokio::…`.
//!
//! **Normal build**: every item is tokio's own (re-exports; `tests/tokio_facade.rs` checks the
//! `TypeId`s), and `#[heisen::model] async fn` runs its body once on a current-thread tokio
//! runtime with time enabled.
//!
//! **Model build** (`model` + `tokio`): the items are heisen's models over loom and shuttle —
//! tasks are model threads, primitives are waker-based futures, time is virtual (timers fire,
//! in deadline order, when no task can progress, or earlier as an explored choice, at most
//! `max_early_timers` per execution). See `ARCHITECTURE.md` ("heisen::tokio") and
//! the README's conformance table for what is modelled and the gaps. They work only inside a
//! `#[heisen::model]` run.
//!
//! `join!`, `pin!` and `select!` are tokio's own macros in both builds (they are
//! runtime-agnostic: they poll heisen's futures with the task's waker); in model builds
//! `select!` is always `biased;` (branches are polled in order), because tokio's random branch
//! order is not replayed by loom or shuttle.

#[cfg(not(feature = "model"))]
pub use ::tokio::{select, spawn};

#[cfg(feature = "model")]
pub use crate::model::tokio::task::spawn;

#[cfg(feature = "model")]
pub use crate::__heisen_tokio_select as select;

pub use ::tokio::{join, pin, try_join};

/// Tasks (as `tokio::task`).
pub mod task {
    #[cfg(not(feature = "model"))]
    pub use ::tokio::task::{spawn, spawn_blocking, yield_now, JoinError, JoinHandle, JoinSet};

    #[cfg(feature = "model")]
    pub use crate::model::tokio::task::{
        spawn, spawn_blocking, yield_now, JoinError, JoinHandle, JoinNext, JoinSet, YieldNow,
    };
}

/// Synchronization primitives (as `tokio::sync`).
pub mod sync {
    #[cfg(not(feature = "model"))]
    pub use ::tokio::sync::{
        broadcast, mpsc, oneshot, watch, AcquireError, Barrier, BarrierWaitResult,
        MappedMutexGuard, Mutex, MutexGuard, Notify, OwnedMutexGuard, OwnedRwLockReadGuard,
        OwnedRwLockWriteGuard, OwnedSemaphorePermit, RwLock, RwLockReadGuard, RwLockWriteGuard,
        Semaphore, SemaphorePermit, TryAcquireError, TryLockError,
    };

    #[cfg(feature = "model")]
    pub use crate::model::tokio::sync::{
        broadcast, mpsc, oneshot, watch, AcquireError, Barrier, BarrierWaitResult,
        MappedMutexGuard, Mutex, MutexGuard, Notify, OwnedMutexGuard, OwnedRwLockReadGuard,
        OwnedRwLockWriteGuard, OwnedSemaphorePermit, RwLock, RwLockReadGuard, RwLockWriteGuard,
        Semaphore, SemaphorePermit, TryAcquireError, TryLockError,
    };
}

/// Time (as `tokio::time`); virtual in model builds.
pub mod time {
    pub use std::time::Duration;

    #[cfg(not(feature = "model"))]
    pub use ::tokio::time::{
        error, interval, interval_at, sleep, sleep_until, timeout, timeout_at, Instant, Interval,
        MissedTickBehavior, Sleep, Timeout,
    };

    #[cfg(feature = "model")]
    pub use crate::model::tokio::time::{
        error, interval, interval_at, sleep, sleep_until, timeout, timeout_at, Instant, Interval,
        MissedTickBehavior, Sleep, Timeout,
    };
}

/// tokio's `select!`, always `biased;` (model builds: loom and shuttle replay schedules, not
/// tokio's random branch order). Not public API: use `heisen::tokio::select!`.
#[doc(hidden)]
#[cfg(feature = "model")]
#[macro_export]
macro_rules! __heisen_tokio_select {
    (biased; $($t:tt)*) => { $crate::__private::tokio::select! { biased; $($t)* } };
    ($($t:tt)*) => { $crate::__private::tokio::select! { biased; $($t)* } };
}
