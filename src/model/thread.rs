//! Model-build threads.

use super::rt::{self, Backend, Op};
use super::statics;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use super::statics::{AccessError, LocalKey};
pub use std::thread::{available_parallelism, panicking, Result};

/// Handle to a facade thread.
pub struct JoinHandle<T> {
    inner: JInner<T>,
    lane: usize,
    thread: Thread,
    finished: std::sync::Arc<AtomicBool>,
}
/// Model threads return `None` when their result was dropped early (see [`model_body`]).
enum JInner<T> {
    Std(std::thread::JoinHandle<T>),
    Loom(loom::thread::JoinHandle<Option<T>>),
    Shuttle(shuttle::thread::JoinHandle<Option<T>>),
}

/// A handle to a thread (as `std::thread::Thread`).
#[derive(Clone)]
pub struct Thread(TInner);
#[derive(Clone)]
enum TInner {
    Std(std::thread::Thread),
    Loom(loom::thread::Thread),
    Shuttle(shuttle::thread::Thread),
    /// Shuttle's main task, the body's thread (unnamed, as loom's).
    ShuttleMain(shuttle::thread::Thread),
}

/// A unique thread identifier (as `std::thread::ThreadId`; model threads have the backend's).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThreadId(IdInner);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum IdInner {
    Std(std::thread::ThreadId),
    Loom(loom::thread::ThreadId),
    Shuttle(shuttle::thread::ThreadId),
}

impl fmt::Debug for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            IdInner::Std(i) => fmt::Debug::fmt(i, f),
            IdInner::Loom(i) => fmt::Debug::fmt(i, f),
            IdInner::Shuttle(i) => fmt::Debug::fmt(i, f),
        }
    }
}

impl Thread {
    /// The thread's identifier.
    pub fn id(&self) -> ThreadId {
        ThreadId(match &self.0 {
            TInner::Std(t) => IdInner::Std(t.id()),
            TInner::Loom(t) => IdInner::Loom(t.id()),
            TInner::Shuttle(t) | TInner::ShuttleMain(t) => IdInner::Shuttle(t.id()),
        })
    }
    /// The thread's name. The model's main thread (the body's) has none under either backend
    /// (loom's convention; shuttle calls it "main-thread" internally), as a std thread spawned
    /// without a name.
    pub fn name(&self) -> Option<&str> {
        match &self.0 {
            TInner::Std(t) => t.name(),
            TInner::Loom(t) => t.name(),
            TInner::Shuttle(t) => t.name(),
            TInner::ShuttleMain(_) => None,
        }
    }
    /// Makes the thread's park token available (wakes it if it is parked).
    pub fn unpark(&self) {
        match &self.0 {
            TInner::Std(t) => t.unpark(),
            TInner::Loom(t) => t.unpark(),
            TInner::Shuttle(t) | TInner::ShuttleMain(t) => t.unpark(),
        }
    }
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// The calling thread.
pub fn current() -> Thread {
    Thread(match rt::backend() {
        Backend::Std => TInner::Std(std::thread::current()),
        Backend::Loom => TInner::Loom(loom::thread::current()),
        Backend::Shuttle if rt::current_lane() == 0 => {
            TInner::ShuttleMain(shuttle::thread::current())
        }
        Backend::Shuttle => TInner::Shuttle(shuttle::thread::current()),
    })
}

/// Blocks until the thread's park token is available (may return spuriously, as std's).
#[track_caller]
pub fn park() {
    match rt::backend() {
        Backend::Std => std::thread::park(),
        Backend::Loom => loom::thread::park(),
        Backend::Shuttle => shuttle::thread::park(),
    }
    rt::record(Op::Yield, None, None, Some(Location::caller()));
}

/// Parks for at most `dur`. Inside a model run the timeout always expires at once: the call
/// is a yield (a spurious wakeup, which std allows) that advances the model's monotonic clock
/// (`heisen::time::Instant`) by `dur`.
#[track_caller]
pub fn park_timeout(dur: Duration) {
    if rt::backend() == Backend::Std {
        return std::thread::park_timeout(dur);
    }
    super::time::advance(dur);
    yield_now();
}

/// Sleeps for `dur`. Inside a model run: a yield that advances the model's monotonic clock
/// (`heisen::time::Instant`) by `dur` (no real time passes).
#[track_caller]
pub fn sleep(dur: Duration) {
    if rt::backend() == Backend::Std {
        return std::thread::sleep(dur);
    }
    super::time::advance(dur);
    yield_now();
}

/// Wraps a model thread's body: binds its lane, marks it finished, drops its thread-locals.
///
/// The result of a thread whose `JoinHandle` is gone (`finished` has no other owner) can never
/// be joined: it is dropped here, before the thread-locals, as std's thread drops its result
/// packet before its thread-local destructors run (so the result's `Drop` can still use
/// them); the body then returns `None`. A joinable result is returned as `Some`.
fn model_body<F, T>(
    lane: usize,
    finished: std::sync::Arc<AtomicBool>,
    f: F,
) -> impl FnOnce() -> Option<T>
where
    F: FnOnce() -> T,
{
    statics::thread_start();
    move || {
        rt::adopt_lane(lane);
        let mut r = Some(f());
        if std::sync::Arc::strong_count(&finished) == 1 {
            drop(r.take());
        }
        statics::thread_exit(lane);
        finished.store(true, Ordering::Release);
        r
    }
}

#[cold]
fn result_dropped() -> ! {
    unreachable!("heisen: a model thread's result was dropped while its JoinHandle was alive")
}

/// Spawns a thread (a modelled thread inside a model run; the spawn is recorded).
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new()
        .spawn_at(f, Location::caller())
        .expect("failed to spawn thread")
}

/// Thread factory (as `std::thread::Builder`): a name (shown as the lane's name in reports)
/// and a stack size (passed to the backend: shuttle counts it in bytes, as std; loom's
/// generator stacks count it in words, so loom gives the thread 8× the room std would).
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with no name and the default stack size.
    pub fn new() -> Builder {
        Builder::default()
    }
    /// Names the thread.
    pub fn name(mut self, name: String) -> Builder {
        self.name = Some(name);
        self
    }
    /// Sets the stack size in bytes.
    pub fn stack_size(mut self, size: usize) -> Builder {
        self.stack_size = Some(size);
        self
    }
    /// Spawns the thread.
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> std::io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_at(f, Location::caller())
    }
    fn spawn_at<F, T>(self, f: F, at: &'static Location<'static>) -> std::io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let finished = std::sync::Arc::new(AtomicBool::new(false));
        let b = rt::backend();
        if b == Backend::Std {
            let mut sb = std::thread::Builder::new();
            if let Some(n) = self.name {
                sb = sb.name(n);
            }
            if let Some(s) = self.stack_size {
                sb = sb.stack_size(s);
            }
            let h = sb.spawn(f)?;
            return Ok(JoinHandle {
                thread: Thread(TInner::Std(h.thread().clone())),
                inner: JInner::Std(h),
                lane: 0,
                finished,
            });
        }
        let lane = rt::reserve_lane(self.name.clone());
        rt::record(Op::Spawn(lane), None, None, Some(at));
        let body = model_body(lane, finished.clone(), f);
        let (inner, thread) = match b {
            Backend::Loom => {
                let mut lb = loom::thread::Builder::new();
                if let Some(n) = self.name {
                    lb = lb.name(n);
                }
                if let Some(sz) = self.stack_size {
                    lb = lb.stack_size(sz);
                }
                let h = lb.spawn(body)?;
                let t = Thread(TInner::Loom(h.thread().clone()));
                (JInner::Loom(h), t)
            }
            _ => {
                let mut sb = shuttle::thread::Builder::new();
                if let Some(n) = self.name {
                    sb = sb.name(n);
                }
                if let Some(sz) = self.stack_size {
                    sb = sb.stack_size(sz);
                }
                let h = sb.spawn(body)?;
                let t = Thread(TInner::Shuttle(h.thread().clone()));
                (JInner::Shuttle(h), t)
            }
        };
        Ok(JoinHandle {
            inner,
            lane,
            thread,
            finished,
        })
    }
    /// Spawns a scoped thread (see [`scope`]).
    #[track_caller]
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> std::io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        match scope.0 {
            SInner::Std(s) => {
                let mut sb = std::thread::Builder::new();
                if let Some(n) = self.name {
                    sb = sb.name(n);
                }
                if let Some(sz) = self.stack_size {
                    sb = sb.stack_size(sz);
                }
                let h = sb.spawn_scoped(s, f)?;
                Ok(ScopedJoinHandle {
                    thread: Thread(TInner::Std(h.thread().clone())),
                    inner: SJInner::Std(h),
                    lane: 0,
                })
            }
            SInner::Shuttle(_) => Ok(scope.spawn_named(self.name, f, Location::caller())),
        }
    }
}

impl<T> JoinHandle<T> {
    /// Waits for the thread (recorded).
    #[track_caller]
    pub fn join(self) -> std::thread::Result<T> {
        let _blocking = rt::blocking(Location::caller());
        rt::op_begin(Location::caller());
        let r = match self.inner {
            JInner::Std(h) => h.join(),
            JInner::Loom(h) => h.join().map(|r| r.unwrap_or_else(|| result_dropped())),
            JInner::Shuttle(h) => h.join().map(|r| r.unwrap_or_else(|| result_dropped())),
        };
        rt::record(Op::Join(self.lane), None, None, Some(Location::caller()));
        r
    }
    /// The spawned thread.
    pub fn thread(&self) -> &Thread {
        &self.thread
    }
    /// Whether the thread's closure has returned (in a model run: a plain check that is not a
    /// scheduling point; join to synchronize with the thread).
    pub fn is_finished(&self) -> bool {
        match &self.inner {
            JInner::Std(h) => h.is_finished(),
            _ => self.finished.load(Ordering::Acquire),
        }
    }
}
impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
    thread: Thread,
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
        self.spawn_named(None, f, Location::caller())
    }
    fn spawn_named<F, T>(
        &'scope self,
        name: Option<String>,
        f: F,
        at: &'static Location<'static>,
    ) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        match self.0 {
            SInner::Std(s) => {
                let h = s.spawn(f);
                ScopedJoinHandle {
                    thread: Thread(TInner::Std(h.thread().clone())),
                    inner: SJInner::Std(h),
                    lane: 0,
                }
            }
            SInner::Shuttle(s) => {
                let lane = rt::reserve_lane(name);
                rt::record(Op::Spawn(lane), None, None, Some(at));
                // The scope keeps the result joinable: `finished` has a second owner.
                let finished = std::sync::Arc::new(AtomicBool::new(false));
                let body = model_body(lane, finished.clone(), f);
                let h = s.spawn(move || {
                    let _keep = finished;
                    body().unwrap_or_else(|| result_dropped())
                });
                ScopedJoinHandle {
                    thread: Thread(TInner::Shuttle(h.thread().clone())),
                    inner: SJInner::Shuttle(h),
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
        let _blocking = rt::blocking(Location::caller());
        rt::op_begin(Location::caller());
        let r = match self.inner {
            SJInner::Std(h) => h.join(),
            SJInner::Shuttle(h) => h.join(),
        };
        rt::record(Op::Join(self.lane), None, None, Some(Location::caller()));
        r
    }
    /// The spawned thread.
    pub fn thread(&self) -> &Thread {
        &self.thread
    }
    /// Whether the thread's closure has returned.
    pub fn is_finished(&self) -> bool {
        match &self.inner {
            SJInner::Std(h) => h.is_finished(),
            SJInner::Shuttle(h) => h.is_finished(),
        }
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
