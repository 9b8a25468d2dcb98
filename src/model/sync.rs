//! Model-build locks, condvar, barrier and channels.

use super::rt::{self, Backend, Op};
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::{LockResult, PoisonError};

/// Facade mutex (std outside model runs, loom/shuttle inside; lock/unlock recorded).
pub struct Mutex<T> {
    inner: MInner<T>,
}
enum MInner<T> {
    Std(std::sync::Mutex<T>),
    Loom(loom::sync::Mutex<T>),
    Shuttle(shuttle::sync::Mutex<T>),
}

/// Guard of a facade [`Mutex`]; the unlock is recorded when it drops (before the mutex is
/// released), and the first read (`Deref`) and first write (`DerefMut`) of the data during
/// the hold are recorded as guarded-data accesses (for the atomicity check).
pub struct MutexGuard<'a, T> {
    inner: Option<GInner<'a, T>>,
    obj: usize,
    access: Access,
}

/// Which guarded-data accesses of one lock hold were recorded already.
#[derive(Default)]
struct Access {
    read: std::cell::Cell<bool>,
    written: bool,
}
impl Access {
    #[track_caller]
    fn read(&self, obj: usize) {
        if !self.read.get() && !self.written {
            self.read.set(true);
            rt::record(Op::GuardRead, Some(obj), None, Some(Location::caller()));
        }
    }
    #[track_caller]
    fn write(&mut self, obj: usize) {
        if !self.written {
            self.written = true;
            rt::record(Op::GuardWrite, Some(obj), None, Some(Location::caller()));
        }
    }
}

impl<'a, T> MutexGuard<'a, T> {
    fn new(g: GInner<'a, T>, obj: usize) -> Self {
        MutexGuard {
            inner: Some(g),
            obj,
            access: Access::default(),
        }
    }
}
enum GInner<'a, T> {
    Std(std::sync::MutexGuard<'a, T>),
    Loom(loom::sync::MutexGuard<'a, T>),
    Shuttle(shuttle::sync::MutexGuard<'a, T>),
}

fn map_lock<G, H>(r: LockResult<G>, f: impl FnOnce(G) -> H) -> LockResult<H> {
    match r {
        Ok(g) => Ok(f(g)),
        Err(p) => Err(PoisonError::new(f(p.into_inner()))),
    }
}

impl<T> Mutex<T> {
    /// Creates a mutex.
    pub fn new(v: T) -> Self {
        Mutex {
            inner: match rt::backend() {
                Backend::Std => MInner::Std(std::sync::Mutex::new(v)),
                Backend::Loom => MInner::Loom(loom::sync::Mutex::new(v)),
                Backend::Shuttle => MInner::Shuttle(shuttle::sync::Mutex::new(v)),
            },
        }
    }
    fn id(&self) -> usize {
        self as *const Self as usize
    }
    /// Locks the mutex (the request and the grant are recorded).
    #[track_caller]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        let obj = self.id();
        let ev = rt::lock_requested("lock", obj, Location::caller());
        let r = match &self.inner {
            MInner::Std(m) => map_lock(m.lock(), GInner::Std),
            MInner::Loom(m) => map_lock(m.lock(), GInner::Loom),
            MInner::Shuttle(m) => map_lock(m.lock(), GInner::Shuttle),
        };
        rt::mark_acquired(ev);
        map_lock(r, |g| MutexGuard::new(g, obj))
    }
    /// Tries to lock without blocking.
    #[track_caller]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let obj = self.id();
        let g = match &self.inner {
            MInner::Std(m) => m.try_lock().ok().map(GInner::Std),
            MInner::Loom(m) => m.try_lock().ok().map(GInner::Loom),
            MInner::Shuttle(m) => m.try_lock().ok().map(GInner::Shuttle),
        };
        rt::record(
            Op::Lock {
                kind: if g.is_some() {
                    "try_lock"
                } else {
                    "try_lock (busy)"
                },
                acquired: true,
            },
            Some(obj),
            None,
            Some(Location::caller()),
        );
        g.map(|g| MutexGuard::new(g, obj))
    }
    /// Consumes the mutex.
    pub fn into_inner(self) -> LockResult<T> {
        match self.inner {
            MInner::Std(m) => m.into_inner(),
            MInner::Loom(m) => Ok(m.into_inner().unwrap_or_else(|e| e.into_inner())),
            MInner::Shuttle(m) => m.into_inner(),
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}
impl<T> std::fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mutex").finish_non_exhaustive()
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[track_caller]
    fn deref(&self) -> &T {
        self.access.read(self.obj);
        match self.inner.as_ref().expect("guard present") {
            GInner::Std(g) => g,
            GInner::Loom(g) => g,
            GInner::Shuttle(g) => g,
        }
    }
}
impl<T> DerefMut for MutexGuard<'_, T> {
    #[track_caller]
    fn deref_mut(&mut self) -> &mut T {
        let obj = self.obj;
        self.access.write(obj);
        match self.inner.as_mut().expect("guard present") {
            GInner::Std(g) => &mut *g,
            GInner::Loom(g) => &mut *g,
            GInner::Shuttle(g) => &mut *g,
        }
    }
}
impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(g) = self.inner.take() {
            // Record first, then release: once released another thread may lock and record,
            // and its `lock` row must come after this `unlock` row.
            rt::record(Op::Unlock("unlock"), Some(self.obj), None, None);
            drop(g);
        }
    }
}
impl<T: std::fmt::Debug> std::fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

/// Facade condition variable.
pub struct Condvar(CInner);
enum CInner {
    Std(std::sync::Condvar),
    Loom(loom::sync::Condvar),
    Shuttle(shuttle::sync::Condvar),
}
impl Condvar {
    /// Creates a condvar.
    pub fn new() -> Self {
        Condvar(match rt::backend() {
            Backend::Std => CInner::Std(std::sync::Condvar::new()),
            Backend::Loom => CInner::Loom(loom::sync::Condvar::new()),
            Backend::Shuttle => CInner::Shuttle(shuttle::sync::Condvar::new()),
        })
    }
    /// Waits, releasing the guard's mutex until notified.
    #[track_caller]
    pub fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        let obj = guard.obj;
        rt::record(
            Op::Wait(obj),
            Some(self as *const Self as usize),
            None,
            Some(Location::caller()),
        );
        let g = guard.inner.take().expect("guard present");
        let r = match (&self.0, g) {
            (CInner::Std(c), GInner::Std(g)) => map_lock(c.wait(g), GInner::Std),
            (CInner::Loom(c), GInner::Loom(g)) => map_lock(c.wait(g), GInner::Loom),
            (CInner::Shuttle(c), GInner::Shuttle(g)) => map_lock(c.wait(g), GInner::Shuttle),
            _ => panic!("heisen: Condvar and Mutex were created under different backends"),
        };
        rt::record(
            Op::Lock {
                kind: "relock after wait",
                acquired: true,
            },
            Some(obj),
            None,
            Some(Location::caller()),
        );
        map_lock(r, |g| MutexGuard::new(g, obj))
    }
    /// Waits while `condition` holds.
    #[track_caller]
    pub fn wait_while<'a, T, F: FnMut(&mut T) -> bool>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>> {
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }
    /// Wakes one waiter.
    #[track_caller]
    pub fn notify_one(&self) {
        match &self.0 {
            CInner::Std(c) => c.notify_one(),
            CInner::Loom(c) => c.notify_one(),
            CInner::Shuttle(c) => c.notify_one(),
        }
        rt::record(
            Op::Notify("notify_one"),
            Some(self as *const Self as usize),
            None,
            Some(Location::caller()),
        );
    }
    /// Wakes all waiters.
    #[track_caller]
    pub fn notify_all(&self) {
        match &self.0 {
            CInner::Std(c) => c.notify_all(),
            CInner::Loom(c) => c.notify_all(),
            CInner::Shuttle(c) => c.notify_all(),
        }
        rt::record(
            Op::Notify("notify_all"),
            Some(self as *const Self as usize),
            None,
            Some(Location::caller()),
        );
    }
}
impl Default for Condvar {
    fn default() -> Self {
        Self::new()
    }
}
impl std::fmt::Debug for Condvar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}

/// Facade reader-writer lock.
pub struct RwLock<T>(RInner<T>);
enum RInner<T> {
    Std(std::sync::RwLock<T>),
    Loom(loom::sync::RwLock<T>),
    Shuttle(shuttle::sync::RwLock<T>),
}
/// Read guard of a facade [`RwLock`].
pub struct RwLockReadGuard<'a, T> {
    inner: Box<dyn Deref<Target = T> + 'a>,
    obj: usize,
    access: Access,
}
/// Write guard of a facade [`RwLock`].
pub struct RwLockWriteGuard<'a, T> {
    inner: Box<dyn DerefMut<Target = T> + 'a>,
    obj: usize,
    access: Access,
}
impl<T> RwLock<T> {
    /// Creates a lock.
    pub fn new(v: T) -> Self {
        RwLock(match rt::backend() {
            Backend::Std => RInner::Std(std::sync::RwLock::new(v)),
            Backend::Loom => RInner::Loom(loom::sync::RwLock::new(v)),
            Backend::Shuttle => RInner::Shuttle(shuttle::sync::RwLock::new(v)),
        })
    }
    /// Acquires shared access.
    #[track_caller]
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let obj = self as *const Self as usize;
        let ev = rt::lock_requested("read", obj, Location::caller());
        let r: LockResult<Box<dyn Deref<Target = T> + '_>> = match &self.0 {
            RInner::Std(l) => map_lock(l.read(), |g| Box::new(g) as Box<dyn Deref<Target = T>>),
            RInner::Loom(l) => map_lock(l.read(), |g| Box::new(g) as Box<dyn Deref<Target = T>>),
            RInner::Shuttle(l) => map_lock(l.read(), |g| Box::new(g) as Box<dyn Deref<Target = T>>),
        };
        rt::mark_acquired(ev);
        map_lock(r, |inner| RwLockReadGuard {
            inner,
            obj,
            access: Access::default(),
        })
    }
    /// Acquires exclusive access.
    #[track_caller]
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let obj = self as *const Self as usize;
        let ev = rt::lock_requested("write", obj, Location::caller());
        let r: LockResult<Box<dyn DerefMut<Target = T> + '_>> = match &self.0 {
            RInner::Std(l) => map_lock(l.write(), |g| Box::new(g) as Box<dyn DerefMut<Target = T>>),
            RInner::Loom(l) => {
                map_lock(l.write(), |g| Box::new(g) as Box<dyn DerefMut<Target = T>>)
            }
            RInner::Shuttle(l) => {
                map_lock(l.write(), |g| Box::new(g) as Box<dyn DerefMut<Target = T>>)
            }
        };
        rt::mark_acquired(ev);
        map_lock(r, |inner| RwLockWriteGuard {
            inner,
            obj,
            access: Access::default(),
        })
    }
}
impl<T> std::fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RwLock").finish_non_exhaustive()
    }
}
impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    #[track_caller]
    fn deref(&self) -> &T {
        self.access.read(self.obj);
        &self.inner
    }
}
impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        rt::record(Op::Unlock("read unlock"), Some(self.obj), None, None);
    }
}
impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    #[track_caller]
    fn deref(&self) -> &T {
        self.access.read(self.obj);
        &self.inner
    }
}
impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    #[track_caller]
    fn deref_mut(&mut self) -> &mut T {
        let obj = self.obj;
        self.access.write(obj);
        &mut self.inner
    }
}
impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        rt::record(Op::Unlock("write unlock"), Some(self.obj), None, None);
    }
}

/// Facade barrier.
pub struct Barrier(BInner);
enum BInner {
    Std(std::sync::Barrier),
    /// loom 0.7's `Barrier` is `unimplemented!()`: built from loom's Mutex + Condvar.
    Loom(LoomBarrier),
    Shuttle(shuttle::sync::Barrier),
}

struct LoomBarrier {
    n: usize,
    /// (threads arrived in this generation, generation)
    state: loom::sync::Mutex<(usize, u64)>,
    cv: loom::sync::Condvar,
}

impl LoomBarrier {
    fn wait(&self) -> bool {
        let mut g = self.state.lock().unwrap();
        let gen = g.1;
        g.0 += 1;
        if g.0 >= self.n {
            g.0 = 0;
            g.1 = g.1.wrapping_add(1);
            self.cv.notify_all();
            true
        } else {
            while g.1 == gen {
                g = self.cv.wait(g).unwrap();
            }
            false
        }
    }
}
/// Result of [`Barrier::wait`].
#[derive(Debug)]
pub struct BarrierWaitResult(bool);
impl BarrierWaitResult {
    /// Whether this thread is the leader.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}
impl Barrier {
    /// Creates a barrier for `n` threads.
    pub fn new(n: usize) -> Self {
        Barrier(match rt::backend() {
            Backend::Std => BInner::Std(std::sync::Barrier::new(n)),
            Backend::Loom => BInner::Loom(LoomBarrier {
                n,
                state: loom::sync::Mutex::new((0, 0)),
                cv: loom::sync::Condvar::new(),
            }),
            Backend::Shuttle => BInner::Shuttle(shuttle::sync::Barrier::new(n)),
        })
    }
    /// Blocks until all threads arrived.
    #[track_caller]
    pub fn wait(&self) -> BarrierWaitResult {
        rt::record(
            Op::BarrierWait,
            Some(self as *const Self as usize),
            None,
            Some(Location::caller()),
        );
        BarrierWaitResult(match &self.0 {
            BInner::Std(b) => b.wait().is_leader(),
            BInner::Loom(b) => b.wait(),
            BInner::Shuttle(b) => b.wait().is_leader(),
        })
    }
}
impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barrier").finish_non_exhaustive()
    }
}

/// Facade multi-producer single-consumer channels.
pub mod mpsc {
    use super::super::rt::{self, Backend, Op};
    use std::panic::Location;
    pub use std::sync::mpsc::{RecvError, SendError, TryRecvError};

    /// Sending half.
    pub struct Sender<T>(SInner<T>);
    enum SInner<T> {
        Std(std::sync::mpsc::Sender<T>),
        Loom(loom::sync::mpsc::Sender<T>),
        Shuttle(shuttle::sync::mpsc::Sender<T>),
    }
    /// Receiving half.
    pub struct Receiver<T>(RInner<T>);
    enum RInner<T> {
        Std(std::sync::mpsc::Receiver<T>),
        Loom(loom::sync::mpsc::Receiver<T>),
        Shuttle(shuttle::sync::mpsc::Receiver<T>),
    }
    /// Creates an unbounded channel.
    pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
        match rt::backend() {
            Backend::Std => {
                let (s, r) = std::sync::mpsc::channel();
                (Sender(SInner::Std(s)), Receiver(RInner::Std(r)))
            }
            Backend::Loom => {
                let (s, r) = loom::sync::mpsc::channel();
                (Sender(SInner::Loom(s)), Receiver(RInner::Loom(r)))
            }
            Backend::Shuttle => {
                let (s, r) = shuttle::sync::mpsc::channel();
                (Sender(SInner::Shuttle(s)), Receiver(RInner::Shuttle(r)))
            }
        }
    }
    impl<T> Sender<T> {
        /// Sends a value.
        #[track_caller]
        pub fn send(&self, v: T) -> Result<(), SendError<T>> {
            rt::record(Op::Send, None, None, Some(Location::caller()));
            match &self.0 {
                SInner::Std(s) => s.send(v),
                SInner::Loom(s) => s.send(v).map_err(|e| SendError(e.0)),
                SInner::Shuttle(s) => s.send(v),
            }
        }
    }
    impl<T> Clone for Sender<T> {
        fn clone(&self) -> Self {
            Sender(match &self.0 {
                SInner::Std(s) => SInner::Std(s.clone()),
                SInner::Loom(s) => SInner::Loom(s.clone()),
                SInner::Shuttle(s) => SInner::Shuttle(s.clone()),
            })
        }
    }
    impl<T> Receiver<T> {
        /// Blocks for a value.
        #[track_caller]
        pub fn recv(&self) -> Result<T, RecvError> {
            let r = match &self.0 {
                RInner::Std(r) => r.recv(),
                RInner::Loom(r) => r.recv().map_err(|_| RecvError),
                RInner::Shuttle(r) => r.recv(),
            };
            rt::record(Op::Recv, None, None, Some(Location::caller()));
            r
        }
    }
    impl<T> std::fmt::Debug for Sender<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Sender").finish_non_exhaustive()
        }
    }
    impl<T> std::fmt::Debug for Receiver<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Receiver").finish_non_exhaustive()
        }
    }
}
