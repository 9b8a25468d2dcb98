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
        rt::op_begin(Location::caller());
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

/// A scope for spawning scoped threads (see [`scope`]).
pub struct Scope<'scope, 'env: 'scope>(SInner<'scope, 'env>);
#[derive(Clone, Copy)]
enum SInner<'scope, 'env: 'scope> {
    Std(&'scope std::thread::Scope<'scope, 'env>),
    Shuttle(&'scope shuttle::thread::Scope<'scope, 'env>),
}

/// Handle to a scoped thread.
pub struct ScopedJoinHandle<'scope, T> {
    inner: SJInner<'scope, T>,
    lane: usize,
}
enum SJInner<'scope, T> {
    Std(std::thread::ScopedJoinHandle<'scope, T>),
    Shuttle(shuttle::thread::ScopedJoinHandle<'scope, T>),
}

impl<'scope> Scope<'scope, '_> {
    /// Spawns a scoped thread (recorded in model runs).
    #[track_caller]
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        match self.0 {
            SInner::Std(s) => ScopedJoinHandle {
                inner: SJInner::Std(s.spawn(f)),
                lane: 0,
            },
            SInner::Shuttle(s) => {
                let lane = rt::reserve_lane(None);
                rt::record(Op::Spawn(lane), None, None, Some(Location::caller()));
                let body = move || {
                    rt::adopt_lane(lane);
                    f()
                };
                ScopedJoinHandle {
                    inner: SJInner::Shuttle(s.spawn(body)),
                    lane,
                }
            }
        }
    }
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the scoped thread (recorded).
    #[track_caller]
    pub fn join(self) -> std::thread::Result<T> {
        rt::op_begin(Location::caller());
        let r = match self.inner {
            SJInner::Std(h) => h.join(),
            SJInner::Shuttle(h) => h.join(),
        };
        rt::record(Op::Join(self.lane), None, None, Some(Location::caller()));
        r
    }
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scope(..)")
    }
}
impl<T> std::fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("thread", &self.lane)
            .finish()
    }
}

/// Scoped threads: std's outside model runs, shuttle's in shuttle runs. loom has no scoped
/// threads: inside a loom run this panics with an explanation (mark the test
/// `#[heisen::model(shuttle)]`, or use `spawn` + `Arc`).
///
/// (Model builds allocate one small `Scope` per call and never free it: the closure must
/// receive a reference that lives for the whole scope.)
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    match rt::backend() {
        Backend::Std => std::thread::scope(|s| f(Box::leak(Box::new(Scope(SInner::Std(s)))))),
        Backend::Shuttle => {
            shuttle::thread::scope(|s| f(Box::leak(Box::new(Scope(SInner::Shuttle(s))))))
        }
        Backend::Loom => panic!(
            "heisen::thread::scope cannot run under loom (loom has no scoped threads): \
             use #[heisen::model(shuttle)] for this test, or heisen::thread::spawn with Arc"
        ),
    }
}
