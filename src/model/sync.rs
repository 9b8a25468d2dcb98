//! Model-build locks, condvar, barrier and channels.

use super::rt::{self, Backend, Op};
use super::statics::{std_only, Site};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};
use std::time::Duration;

pub use super::arc::{Arc, Weak};
pub use super::statics::{LazyLock, Once, OnceLock, OnceState};

/// Facade mutex (std outside model runs, loom/shuttle inside; lock/unlock recorded).
pub struct Mutex<T> {
    inner: MInner<T>,
}
enum MInner<T> {
    Std(std::sync::Mutex<T>, Site),
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
pub(crate) struct Access {
    read: std::cell::Cell<bool>,
    written: bool,
}
impl Access {
    #[track_caller]
    pub(crate) fn read(&self, obj: usize) {
        if !self.read.get() && !self.written {
            self.read.set(true);
            rt::record(Op::GuardRead, Some(obj), None, Some(Location::caller()));
        }
    }
    #[track_caller]
    pub(crate) fn write(&mut self, obj: usize) {
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

fn map_try<G, H>(r: TryLockResult<G>, f: impl FnOnce(G) -> H) -> TryLockResult<H> {
    match r {
        Ok(g) => Ok(f(g)),
        Err(TryLockError::Poisoned(p)) => {
            Err(TryLockError::Poisoned(PoisonError::new(f(p.into_inner()))))
        }
        Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
    }
}

/// Records a non-blocking lock attempt (granted or busy) of the lock `obj`.
#[track_caller]
fn record_try(kind: &'static str, obj: usize) {
    rt::record(
        Op::Lock {
            kind,
            acquired: true,
        },
        Some(obj),
        None,
        Some(Location::caller()),
    );
}

fn try_kind<G>(r: &TryLockResult<G>, ok: &'static str, busy: &'static str) -> &'static str {
    match r {
        Err(TryLockError::WouldBlock) => busy,
        _ => ok,
    }
}

impl<T> Mutex<T> {
    /// Creates a mutex (modelled when created inside a model run).
    #[track_caller]
    pub fn new(v: T) -> Self {
        Mutex {
            inner: match rt::backend() {
                Backend::Std => MInner::Std(std::sync::Mutex::new(v), Location::caller()),
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
        let _blocking = rt::blocking(Location::caller());
        let ev = rt::lock_requested("lock", obj, Location::caller());
        let r = match &self.inner {
            MInner::Std(m, site) => {
                std_only(site, "Mutex");
                map_lock(m.lock(), GInner::Std)
            }
            MInner::Loom(m) => map_lock(m.lock(), GInner::Loom),
            MInner::Shuttle(m) => map_lock(m.lock(), GInner::Shuttle),
        };
        rt::mark_acquired(ev);
        map_lock(r, |g| MutexGuard::new(g, obj))
    }
    /// Tries to lock without blocking (recorded as `try_lock`, or `try_lock (busy)`).
    #[track_caller]
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        let obj = self.id();
        let r = match &self.inner {
            MInner::Std(m, site) => {
                std_only(site, "Mutex");
                map_try(m.try_lock(), GInner::Std)
            }
            MInner::Loom(m) => map_try(m.try_lock(), GInner::Loom),
            MInner::Shuttle(m) => map_try(m.try_lock(), GInner::Shuttle),
        };
        record_try(try_kind(&r, "try_lock", "try_lock (busy)"), obj);
        map_try(r, |g| MutexGuard::new(g, obj))
    }
    /// Whether a thread panicked while holding the lock (loom never poisons).
    pub fn is_poisoned(&self) -> bool {
        match &self.inner {
            MInner::Std(m, _) => m.is_poisoned(),
            MInner::Loom(_) => false,
            MInner::Shuttle(m) => m
                .try_lock()
                .is_err_and(|e| matches!(e, TryLockError::Poisoned(_))),
        }
    }
    /// Clears the poisoned state.
    pub fn clear_poison(&self) {
        match &self.inner {
            MInner::Std(m, _) => m.clear_poison(),
            MInner::Loom(_) => {}
            MInner::Shuttle(m) => m.clear_poison(),
        }
    }
    /// Mutable access without locking (`&mut self`: no other thread can race it).
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        match &mut self.inner {
            MInner::Std(m, _) => m.get_mut(),
            MInner::Loom(m) => Ok(m.get_mut().unwrap_or_else(|e| e.into_inner())),
            MInner::Shuttle(m) => m.get_mut(),
        }
    }
    /// Consumes the mutex.
    pub fn into_inner(self) -> LockResult<T> {
        match self.inner {
            MInner::Std(m, _) => m.into_inner(),
            MInner::Loom(m) => Ok(m.into_inner().unwrap_or_else(|e| e.into_inner())),
            MInner::Shuttle(m) => m.into_inner(),
        }
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(v: T) -> Self {
        Mutex::new(v)
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
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
impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
impl<T: fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// Facade condition variable.
pub struct Condvar(CInner);
enum CInner {
    Std(std::sync::Condvar, Site),
    Loom(loom::sync::Condvar),
    Shuttle(shuttle::sync::Condvar),
}
impl Condvar {
    /// Creates a condvar (modelled when created inside a model run).
    #[track_caller]
    pub fn new() -> Self {
        Condvar(match rt::backend() {
            Backend::Std => CInner::Std(std::sync::Condvar::new(), Location::caller()),
            Backend::Loom => CInner::Loom(loom::sync::Condvar::new()),
            Backend::Shuttle => CInner::Shuttle(shuttle::sync::Condvar::new()),
        })
    }
    /// Waits, releasing the guard's mutex until notified.
    #[track_caller]
    pub fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        let obj = guard.obj;
        let _blocking = rt::blocking(Location::caller());
        rt::record(
            Op::Wait(obj),
            Some(self as *const Self as usize),
            None,
            Some(Location::caller()),
        );
        let g = guard.inner.take().expect("guard present");
        let r = match (&self.0, g) {
            (CInner::Std(c, site), GInner::Std(g)) => {
                std_only(site, "Condvar");
                map_lock(c.wait(g), GInner::Std)
            }
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
    /// Waits until notified or until `dur` elapsed. Outside model runs std's timed wait; inside
    /// one a timed wait **never times out** (loom's and shuttle's semantics: the model has no
    /// timer), so it is a [`Condvar::wait`] whose result says `timed_out() == false`.
    #[track_caller]
    pub fn wait_timeout<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        if let CInner::Std(c, site) = &self.0 {
            std_only(site, "Condvar");
            let obj = guard.obj;
            let Some(GInner::Std(g)) = guard.inner.take() else {
                panic!("heisen: Condvar and Mutex were created under different backends")
            };
            return match c.wait_timeout(g, dur) {
                Ok((g, r)) => Ok((
                    MutexGuard::new(GInner::Std(g), obj),
                    WaitTimeoutResult(r.timed_out()),
                )),
                Err(p) => {
                    let (g, r) = p.into_inner();
                    Err(PoisonError::new((
                        MutexGuard::new(GInner::Std(g), obj),
                        WaitTimeoutResult(r.timed_out()),
                    )))
                }
            };
        }
        match self.wait(guard) {
            Ok(g) => Ok((g, WaitTimeoutResult(false))),
            Err(p) => Err(PoisonError::new((p.into_inner(), WaitTimeoutResult(false)))),
        }
    }
    /// Waits while `condition` holds, for at most `dur` (see [`Condvar::wait_timeout`]: in a
    /// model run it never times out). `timed_out()` is true when the time ran out with the
    /// condition still holding.
    #[track_caller]
    pub fn wait_timeout_while<'a, T, F: FnMut(&mut T) -> bool>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let start = std::time::Instant::now();
        loop {
            if !condition(&mut *guard) {
                return Ok((guard, WaitTimeoutResult(false)));
            }
            let Some(left) = dur.checked_sub(start.elapsed()).filter(|d| !d.is_zero()) else {
                return Ok((guard, WaitTimeoutResult(true)));
            };
            let (g, r) = self.wait_timeout(guard, left)?;
            guard = g;
            if r.timed_out() {
                let still = condition(&mut *guard);
                return Ok((guard, WaitTimeoutResult(still)));
            }
        }
    }
    /// Wakes one waiter.
    #[track_caller]
    pub fn notify_one(&self) {
        match &self.0 {
            CInner::Std(c, site) => {
                std_only(site, "Condvar");
                c.notify_one()
            }
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
            CInner::Std(c, site) => {
                std_only(site, "Condvar");
                c.notify_all()
            }
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
    #[track_caller]
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a timed [`Condvar`] wait timed out (as `std::sync::WaitTimeoutResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);
impl WaitTimeoutResult {
    /// Whether the wait is known to have timed out.
    pub fn timed_out(&self) -> bool {
        self.0
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
    Std(std::sync::RwLock<T>, Site),
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
type ReadBox<'a, T> = Box<dyn Deref<Target = T> + 'a>;
type WriteBox<'a, T> = Box<dyn DerefMut<Target = T> + 'a>;
fn rbox<'a, T, G: Deref<Target = T> + 'a>(g: G) -> ReadBox<'a, T> {
    Box::new(g)
}
fn wbox<'a, T, G: DerefMut<Target = T> + 'a>(g: G) -> WriteBox<'a, T> {
    Box::new(g)
}

impl<T> RwLock<T> {
    /// Creates a lock (modelled when created inside a model run).
    #[track_caller]
    pub fn new(v: T) -> Self {
        RwLock(match rt::backend() {
            Backend::Std => RInner::Std(std::sync::RwLock::new(v), Location::caller()),
            Backend::Loom => RInner::Loom(loom::sync::RwLock::new(v)),
            Backend::Shuttle => RInner::Shuttle(shuttle::sync::RwLock::new(v)),
        })
    }
    fn id(&self) -> usize {
        self as *const Self as usize
    }
    fn read_guard<'a>(&self, inner: ReadBox<'a, T>) -> RwLockReadGuard<'a, T> {
        RwLockReadGuard {
            inner,
            obj: self.id(),
            access: Access::default(),
        }
    }
    fn write_guard<'a>(&self, inner: WriteBox<'a, T>) -> RwLockWriteGuard<'a, T> {
        RwLockWriteGuard {
            inner,
            obj: self.id(),
            access: Access::default(),
        }
    }
    /// Acquires shared access.
    #[track_caller]
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let _blocking = rt::blocking(Location::caller());
        let ev = rt::lock_requested("read", self.id(), Location::caller());
        let r = match &self.0 {
            RInner::Std(l, site) => {
                std_only(site, "RwLock");
                map_lock(l.read(), rbox)
            }
            RInner::Loom(l) => map_lock(l.read(), rbox),
            RInner::Shuttle(l) => map_lock(l.read(), rbox),
        };
        rt::mark_acquired(ev);
        map_lock(r, |g| self.read_guard(g))
    }
    /// Acquires exclusive access.
    #[track_caller]
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let _blocking = rt::blocking(Location::caller());
        let ev = rt::lock_requested("write", self.id(), Location::caller());
        let r = match &self.0 {
            RInner::Std(l, site) => {
                std_only(site, "RwLock");
                map_lock(l.write(), wbox)
            }
            RInner::Loom(l) => map_lock(l.write(), wbox),
            RInner::Shuttle(l) => map_lock(l.write(), wbox),
        };
        rt::mark_acquired(ev);
        map_lock(r, |g| self.write_guard(g))
    }
    /// Tries to acquire shared access without blocking.
    #[track_caller]
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        let r = match &self.0 {
            RInner::Std(l, site) => {
                std_only(site, "RwLock");
                map_try(l.try_read(), rbox)
            }
            RInner::Loom(l) => map_try(l.try_read(), rbox),
            RInner::Shuttle(l) => map_try(l.try_read(), rbox),
        };
        record_try(try_kind(&r, "try_read", "try_read (busy)"), self.id());
        map_try(r, |g| self.read_guard(g))
    }
    /// Tries to acquire exclusive access without blocking.
    #[track_caller]
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        let r = match &self.0 {
            RInner::Std(l, site) => {
                std_only(site, "RwLock");
                map_try(l.try_write(), wbox)
            }
            RInner::Loom(l) => map_try(l.try_write(), wbox),
            RInner::Shuttle(l) => map_try(l.try_write(), wbox),
        };
        record_try(try_kind(&r, "try_write", "try_write (busy)"), self.id());
        map_try(r, |g| self.write_guard(g))
    }
    /// Whether a writer panicked while holding the lock (loom never poisons).
    pub fn is_poisoned(&self) -> bool {
        match &self.0 {
            RInner::Std(l, _) => l.is_poisoned(),
            RInner::Loom(_) => false,
            RInner::Shuttle(l) => l
                .try_read()
                .is_err_and(|e| matches!(e, TryLockError::Poisoned(_))),
        }
    }
    /// Clears the poisoned state.
    pub fn clear_poison(&self) {
        match &self.0 {
            RInner::Std(l, _) => l.clear_poison(),
            RInner::Loom(_) => {}
            RInner::Shuttle(l) => l.clear_poison(),
        }
    }
    /// Mutable access without locking (`&mut self`: no other thread can race it).
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        match &mut self.0 {
            RInner::Std(l, _) => l.get_mut(),
            RInner::Loom(l) => Ok(l.get_mut().unwrap_or_else(|e| e.into_inner())),
            RInner::Shuttle(l) => l.get_mut(),
        }
    }
    /// Consumes the lock.
    pub fn into_inner(self) -> LockResult<T> {
        match self.0 {
            RInner::Std(l, _) => l.into_inner(),
            RInner::Loom(l) => Ok(l.into_inner().unwrap_or_else(|e| e.into_inner())),
            RInner::Shuttle(l) => l.into_inner(),
        }
    }
}
impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}
impl<T> From<T> for RwLock<T> {
    #[track_caller]
    fn from(v: T) -> Self {
        RwLock::new(v)
    }
}
impl<T: fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
impl<T: fmt::Display> fmt::Display for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
impl<T: fmt::Display> fmt::Display for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
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
    Std(std::sync::Barrier, Site),
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
pub struct BarrierWaitResult(bool);
impl fmt::Debug for BarrierWaitResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWaitResult")
            .field("is_leader", &self.0)
            .finish()
    }
}
impl BarrierWaitResult {
    /// Whether this thread is the leader.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}
impl Barrier {
    /// Creates a barrier for `n` threads (modelled when created inside a model run).
    #[track_caller]
    pub fn new(n: usize) -> Self {
        Barrier(match rt::backend() {
            Backend::Std => BInner::Std(std::sync::Barrier::new(n), Location::caller()),
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
            BInner::Std(b, site) => {
                std_only(site, "Barrier");
                b.wait().is_leader()
            }
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

/// Facade multi-producer single-consumer channels (std's API: `channel`, `sync_channel`).
///
/// Inside a model run: shuttle's channels under shuttle; loom's `channel` under loom, and for
/// `sync_channel` (which loom lacks) a bounded channel built from loom's `Mutex` + `Condvar`
/// (so loom explores it like any locked queue). `recv_timeout` never times out inside a model
/// run (neither backend models timers): it is a `recv`.
pub mod mpsc {
    use super::super::rt::{self, Backend, Op};
    use super::super::statics::{std_only, Site};
    use std::collections::VecDeque;
    use std::fmt;
    use std::panic::Location;
    pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};
    use std::time::Duration;

    /// Sending half of [`channel`].
    pub struct Sender<T>(SInner<T>);
    enum SInner<T> {
        Std(std::sync::mpsc::Sender<T>, Site),
        Loom(loom::sync::mpsc::Sender<T>),
        Shuttle(shuttle::sync::mpsc::Sender<T>),
    }
    /// Sending half of [`sync_channel`].
    pub struct SyncSender<T>(SyInner<T>);
    enum SyInner<T> {
        Std(std::sync::mpsc::SyncSender<T>, Site),
        Loom(std::sync::Arc<Bounded<T>>),
        Shuttle(shuttle::sync::mpsc::SyncSender<T>),
    }
    /// Receiving half.
    pub struct Receiver<T>(RInner<T>);
    enum RInner<T> {
        Std(std::sync::mpsc::Receiver<T>, Site),
        Loom(loom::sync::mpsc::Receiver<T>),
        LoomBounded(std::sync::Arc<Bounded<T>>),
        Shuttle(shuttle::sync::mpsc::Receiver<T>),
    }

    /// loom has no `sync_channel`: a bounded queue under a loom mutex (capacity 0 = rendezvous:
    /// a send returns once its value was received).
    struct Bounded<T> {
        state: loom::sync::Mutex<BState<T>>,
        cv: loom::sync::Condvar,
    }
    struct BState<T> {
        queue: VecDeque<T>,
        cap: usize,
        senders: usize,
        receiver: bool,
        /// Values pushed / taken so far (a rendezvous sender waits for its value's turn).
        pushed: u64,
        taken: u64,
        /// Receivers blocked in `recv` (a rendezvous `try_send` needs one).
        waiting: usize,
    }
    impl<T> Bounded<T> {
        fn send(&self, v: T) -> Result<(), SendError<T>> {
            let mut g = self.state.lock().unwrap();
            let room = g.cap.max(1);
            while g.receiver && g.queue.len() >= room {
                g = self.cv.wait(g).unwrap();
            }
            if !g.receiver {
                return Err(SendError(v));
            }
            g.queue.push_back(v);
            g.pushed += 1;
            let ticket = g.pushed;
            self.cv.notify_all();
            if g.cap == 0 {
                while g.receiver && g.taken < ticket {
                    g = self.cv.wait(g).unwrap();
                }
            }
            Ok(())
        }
        fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
            let mut g = self.state.lock().unwrap();
            if !g.receiver {
                return Err(TrySendError::Disconnected(v));
            }
            let full = if g.cap == 0 {
                g.waiting <= g.queue.len()
            } else {
                g.queue.len() >= g.cap
            };
            if full {
                return Err(TrySendError::Full(v));
            }
            g.queue.push_back(v);
            g.pushed += 1;
            self.cv.notify_all();
            Ok(())
        }
        fn recv(&self) -> Result<T, RecvError> {
            let mut g = self.state.lock().unwrap();
            loop {
                if let Some(v) = g.queue.pop_front() {
                    g.taken += 1;
                    self.cv.notify_all();
                    return Ok(v);
                }
                if g.senders == 0 {
                    return Err(RecvError);
                }
                g.waiting += 1;
                g = self.cv.wait(g).unwrap();
                g.waiting -= 1;
            }
        }
        fn try_recv(&self) -> Result<T, TryRecvError> {
            let mut g = self.state.lock().unwrap();
            match g.queue.pop_front() {
                Some(v) => {
                    g.taken += 1;
                    self.cv.notify_all();
                    Ok(v)
                }
                None if g.senders == 0 => Err(TryRecvError::Disconnected),
                None => Err(TryRecvError::Empty),
            }
        }
        fn add_sender(&self) {
            self.state.lock().unwrap().senders += 1;
        }
        fn drop_sender(&self) {
            if !super::super::statics::tracking_frees() {
                return;
            }
            if let Ok(mut g) = self.state.lock() {
                g.senders -= 1;
                self.cv.notify_all();
            }
        }
        fn drop_receiver(&self) {
            if !super::super::statics::tracking_frees() {
                return;
            }
            if let Ok(mut g) = self.state.lock() {
                g.receiver = false;
                g.queue.clear();
                self.cv.notify_all();
            }
        }
    }

    /// Creates an unbounded channel (modelled when created inside a model run).
    #[track_caller]
    pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
        match rt::backend() {
            Backend::Std => {
                let site = Location::caller();
                let (s, r) = std::sync::mpsc::channel();
                (Sender(SInner::Std(s, site)), Receiver(RInner::Std(r, site)))
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
    /// Creates a bounded channel of capacity `bound` (0 = rendezvous).
    #[track_caller]
    pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
        match rt::backend() {
            Backend::Std => {
                let site = Location::caller();
                let (s, r) = std::sync::mpsc::sync_channel(bound);
                (
                    SyncSender(SyInner::Std(s, site)),
                    Receiver(RInner::Std(r, site)),
                )
            }
            Backend::Loom => {
                let b = std::sync::Arc::new(Bounded {
                    state: loom::sync::Mutex::new(BState {
                        queue: VecDeque::new(),
                        cap: bound,
                        senders: 1,
                        receiver: true,
                        pushed: 0,
                        taken: 0,
                        waiting: 0,
                    }),
                    cv: loom::sync::Condvar::new(),
                });
                (
                    SyncSender(SyInner::Loom(b.clone())),
                    Receiver(RInner::LoomBounded(b)),
                )
            }
            Backend::Shuttle => {
                let (s, r) = shuttle::sync::mpsc::sync_channel(bound);
                (
                    SyncSender(SyInner::Shuttle(s)),
                    Receiver(RInner::Shuttle(r)),
                )
            }
        }
    }
    impl<T> Sender<T> {
        /// Sends a value.
        #[track_caller]
        pub fn send(&self, v: T) -> Result<(), SendError<T>> {
            rt::record(Op::Send, None, None, Some(Location::caller()));
            match &self.0 {
                SInner::Std(s, site) => {
                    std_only(site, "mpsc::Sender");
                    s.send(v)
                }
                SInner::Loom(s) => s.send(v).map_err(|e| SendError(e.0)),
                SInner::Shuttle(s) => s.send(v),
            }
        }
    }
    impl<T> Clone for Sender<T> {
        fn clone(&self) -> Self {
            Sender(match &self.0 {
                SInner::Std(s, site) => SInner::Std(s.clone(), site),
                SInner::Loom(s) => SInner::Loom(s.clone()),
                SInner::Shuttle(s) => SInner::Shuttle(s.clone()),
            })
        }
    }
    impl<T> SyncSender<T> {
        /// Sends a value, blocking while the channel is full.
        #[track_caller]
        pub fn send(&self, v: T) -> Result<(), SendError<T>> {
            rt::record(Op::Send, None, None, Some(Location::caller()));
            match &self.0 {
                SyInner::Std(s, site) => {
                    std_only(site, "mpsc::SyncSender");
                    s.send(v)
                }
                SyInner::Loom(b) => b.send(v),
                SyInner::Shuttle(s) => s.send(v),
            }
        }
        /// Sends a value if there is room, without blocking.
        #[track_caller]
        pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
            let r = match &self.0 {
                SyInner::Std(s, site) => {
                    std_only(site, "mpsc::SyncSender");
                    s.try_send(v)
                }
                SyInner::Loom(b) => b.try_send(v),
                SyInner::Shuttle(s) => s.try_send(v),
            };
            if r.is_ok() {
                rt::record(Op::Send, None, None, Some(Location::caller()));
            }
            r
        }
    }
    impl<T> Clone for SyncSender<T> {
        fn clone(&self) -> Self {
            SyncSender(match &self.0 {
                SyInner::Std(s, site) => SyInner::Std(s.clone(), site),
                SyInner::Loom(b) => {
                    b.add_sender();
                    SyInner::Loom(b.clone())
                }
                SyInner::Shuttle(s) => SyInner::Shuttle(s.clone()),
            })
        }
    }
    impl<T> Drop for SyncSender<T> {
        fn drop(&mut self) {
            if let SyInner::Loom(b) = &self.0 {
                b.drop_sender();
            }
        }
    }
    impl<T> Drop for Receiver<T> {
        fn drop(&mut self) {
            if let RInner::LoomBounded(b) = &self.0 {
                b.drop_receiver();
            }
        }
    }
    impl<T> Receiver<T> {
        fn check(&self) {
            if let RInner::Std(_, site) = &self.0 {
                std_only(site, "mpsc::Receiver");
            }
        }
        /// Blocks for a value.
        #[track_caller]
        pub fn recv(&self) -> Result<T, RecvError> {
            self.check();
            let r = match &self.0 {
                RInner::Std(r, _) => r.recv(),
                RInner::Loom(r) => r.recv().map_err(|_| RecvError),
                RInner::LoomBounded(b) => b.recv(),
                RInner::Shuttle(r) => r.recv(),
            };
            rt::record(Op::Recv, None, None, Some(Location::caller()));
            r
        }
        /// Takes a value if one is ready, without blocking.
        #[track_caller]
        pub fn try_recv(&self) -> Result<T, TryRecvError> {
            self.check();
            let r = match &self.0 {
                RInner::Std(r, _) => r.try_recv(),
                RInner::Loom(r) => r.try_recv(),
                RInner::LoomBounded(b) => b.try_recv(),
                RInner::Shuttle(r) => r.try_recv(),
            };
            if r.is_ok() {
                rt::record(Op::Recv, None, None, Some(Location::caller()));
            }
            r
        }
        /// Blocks for a value for at most `timeout` (inside a model run it never times out).
        #[track_caller]
        pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
            if let RInner::Std(r, _) = &self.0 {
                self.check();
                return r.recv_timeout(timeout);
            }
            self.recv().map_err(|_| RecvTimeoutError::Disconnected)
        }
        /// A blocking iterator over received values (ends when every sender is gone).
        pub fn iter(&self) -> Iter<'_, T> {
            Iter { rx: self }
        }
        /// An iterator over the values ready now.
        pub fn try_iter(&self) -> TryIter<'_, T> {
            TryIter { rx: self }
        }
    }

    /// Iterator of [`Receiver::iter`].
    #[derive(Debug)]
    pub struct Iter<'a, T: 'a> {
        rx: &'a Receiver<T>,
    }
    /// Iterator of [`Receiver::try_iter`].
    #[derive(Debug)]
    pub struct TryIter<'a, T: 'a> {
        rx: &'a Receiver<T>,
    }
    /// Owning iterator of a [`Receiver`].
    #[derive(Debug)]
    pub struct IntoIter<T> {
        rx: Receiver<T>,
    }
    impl<T> Iterator for Iter<'_, T> {
        type Item = T;
        #[track_caller]
        fn next(&mut self) -> Option<T> {
            self.rx.recv().ok()
        }
    }
    impl<T> Iterator for TryIter<'_, T> {
        type Item = T;
        #[track_caller]
        fn next(&mut self) -> Option<T> {
            self.rx.try_recv().ok()
        }
    }
    impl<T> Iterator for IntoIter<T> {
        type Item = T;
        #[track_caller]
        fn next(&mut self) -> Option<T> {
            self.rx.recv().ok()
        }
    }
    impl<'a, T> IntoIterator for &'a Receiver<T> {
        type Item = T;
        type IntoIter = Iter<'a, T>;
        fn into_iter(self) -> Iter<'a, T> {
            self.iter()
        }
    }
    impl<T> IntoIterator for Receiver<T> {
        type Item = T;
        type IntoIter = IntoIter<T>;
        fn into_iter(self) -> IntoIter<T> {
            IntoIter { rx: self }
        }
    }
    impl<T> fmt::Debug for Sender<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Sender").finish_non_exhaustive()
        }
    }
    impl<T> fmt::Debug for SyncSender<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SyncSender").finish_non_exhaustive()
        }
    }
    impl<T> fmt::Debug for Receiver<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Receiver").finish_non_exhaustive()
        }
    }
}
