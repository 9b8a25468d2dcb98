//! Model-build threads.

use super::rt::{self, Backend, Op};
use std::panic::Location;

/// Handle to a facade thread.
pub struct JoinHandle<T> {
    inner: JInner<T>,
    lane: usize,
}
enum JInner<T> {
    Std(std::thread::JoinHandle<T>),
    Loom(loom::thread::JoinHandle<T>),
    Shuttle(shuttle::thread::JoinHandle<T>),
}

/// Spawns a thread (a modelled thread inside a model run; the spawn is recorded).
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let b = rt::backend();
    if b == Backend::Std {
        return JoinHandle {
            inner: JInner::Std(std::thread::spawn(f)),
            lane: 0,
        };
    }
    let lane = rt::reserve_lane(None);
    rt::record(Op::Spawn(lane), None, None, Some(Location::caller()));
    let body = move || {
        rt::adopt_lane(lane);
        f()
    };
    let inner = match b {
        Backend::Loom => JInner::Loom(loom::thread::spawn(body)),
        _ => JInner::Shuttle(shuttle::thread::spawn(body)),
    };
    JoinHandle { inner, lane }
}

impl<T> JoinHandle<T> {
    /// Waits for the thread (recorded).
    #[track_caller]
    pub fn join(self) -> std::thread::Result<T> {
        let r = match self.inner {
            JInner::Std(h) => h.join(),
            JInner::Loom(h) => h.join(),
            JInner::Shuttle(h) => h.join(),
        };
        rt::record(Op::Join(self.lane), None, None, Some(Location::caller()));
        r
    }
}
impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle")
            .field("thread", &self.lane)
            .finish()
    }
}

/// Yields to the scheduler (a scheduling point in model runs).
#[track_caller]
pub fn yield_now() {
    match rt::backend() {
        Backend::Std => std::thread::yield_now(),
        Backend::Loom => loom::thread::yield_now(),
        Backend::Shuttle => shuttle::thread::yield_now(),
    }
    rt::record(Op::Yield, None, None, Some(Location::caller()));
}

/// Scoped threads: std and shuttle have them; loom does not (panics with an explanation).
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope std::thread::Scope<'scope, 'env>) -> T,
{
    match rt::backend() {
        Backend::Std => std::thread::scope(f),
        _ => panic!(
            "heisen::thread::scope is not modelled in model runs (loom has no scoped threads); \
             use heisen::thread::spawn with Arc"
        ),
    }
}
