//! Model `heisen::tokio::sync`: tokio's async primitives over one fair semaphore core, with
//! waker-based futures (see the parent module). Lock requests and grants, unlocks, guarded-data
//! reads and writes, sends, receives and notifications are timeline rows at the user's lines.

use super::{may_clean_up, BMutex};
use crate::model::rt::{self, Backend, Op};
use crate::model::sync::Access;
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// `pub struct $name<T>(pub T)`: an error that gives the value back (its `Debug` hides it).
macro_rules! value_error {
    ($(#[$m:meta])* $name:ident, $text:literal) => {
        $(#[$m])*
        #[derive(PartialEq, Eq, Clone, Copy)]
        pub struct $name<T>(pub T);

        impl<T> std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
        impl<T> std::fmt::Display for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($text)
            }
        }
        impl<T> std::error::Error for $name<T> {}
    };
}

/// `pub struct $name(())`: an error without data.
macro_rules! unit_error {
    ($(#[$m:meta])* $name:ident, $text:literal) => {
        $(#[$m])*
        #[derive(Debug, PartialEq, Eq, Clone)]
        pub struct $name(pub(crate) ());

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($text)
            }
        }
        impl std::error::Error for $name {}
    };
}

/// `Debug` that shows only the type's name, for channel halves.
macro_rules! opaque_debug {
    ($($t:ident),*) => {$(
        impl<T> std::fmt::Debug for $t<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }
    )*};
}

/// A channel's state behind its lock (the channel is an `Arc` of it).
struct Shared<S> {
    st: BMutex<S>,
}

/// A channel's identity in the timeline: the address of its shared state.
fn arc_id<X>(c: &Arc<X>) -> usize {
    Arc::as_ptr(c) as usize
}

fn wake_all(ws: Vec<Waker>) {
    for w in ws {
        w.wake();
    }
}

fn live() -> bool {
    rt::backend() != Backend::Std && may_clean_up()
}

#[track_caller]
fn row(text: &str, method: &'static str, obj: usize) {
    rt::record(
        Op::Task(text.to_string(), Some(method)),
        Some(obj),
        None,
        Some(Location::caller()),
    );
}

// ---------------------------------------------------------------------------------------------
// The semaphore core: FIFO-fair like tokio's (a request waits behind every earlier one).

struct SemState {
    permits: usize,
    queue: VecDeque<(u64, usize, Waker)>,
    granted: Vec<u64>,
    closed: bool,
    next: u64,
}

impl SemState {
    fn grant(&mut self) -> Vec<Waker> {
        let mut ws = Vec::new();
        while let Some((_, need, _)) = self.queue.front() {
            if *need > self.permits {
                break;
            }
            let (id, need, w) = self.queue.pop_front().expect("front");
            self.permits -= need;
            self.granted.push(id);
            ws.push(w);
        }
        ws
    }
}

struct Sem {
    st: BMutex<SemState>,
}

impl Sem {
    #[track_caller]
    fn new(permits: usize, what: &str) -> Sem {
        Sem {
            st: BMutex::new(
                SemState {
                    permits,
                    queue: VecDeque::new(),
                    granted: Vec::new(),
                    closed: false,
                    next: 0,
                },
                what,
            ),
        }
    }
    /// Ok, or Err(true) when closed, Err(false) when no permits.
    fn try_acquire(&self, n: usize) -> Result<(), bool> {
        self.st.with(|s| {
            if s.closed {
                Err(true)
            } else if s.queue.is_empty() && s.permits >= n {
                s.permits -= n;
                Ok(())
            } else {
                Err(false)
            }
        })
    }
    fn release(&self, n: usize) {
        if n == 0 || !live() {
            return;
        }
        let ws = self.st.with(|s| {
            s.permits += n;
            s.grant()
        });
        wake_all(ws);
    }
    fn close(&self) {
        let ws = self.st.with(|s| {
            s.closed = true;
            s.queue.drain(..).map(|(_, _, w)| w).collect()
        });
        wake_all(ws);
    }
    fn available(&self) -> usize {
        self.st.with(|s| s.permits)
    }
    fn is_closed(&self) -> bool {
        self.st.with(|s| s.closed)
    }
}

/// One acquisition in progress (the state of an acquire future).
struct Acq {
    need: usize,
    waiting: Option<u64>,
}

impl Acq {
    fn new(need: usize) -> Acq {
        Acq {
            need,
            waiting: None,
        }
    }
    /// Ready(Ok) once the permits are ours, Ready(Err) if the semaphore closed.
    fn poll(&mut self, sem: &Sem, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        let need = self.need;
        let waiting = self.waiting;
        let (r, w) = sem.st.with(|s| match waiting {
            None => {
                if s.closed {
                    (Poll::Ready(Err(())), None)
                } else if s.queue.is_empty() && s.permits >= need {
                    s.permits -= need;
                    (Poll::Ready(Ok(())), None)
                } else {
                    s.next += 1;
                    let id = s.next;
                    s.queue.push_back((id, need, cx.waker().clone()));
                    (Poll::Pending, Some(id))
                }
            }
            Some(id) => {
                if let Some(i) = s.granted.iter().position(|&g| g == id) {
                    s.granted.swap_remove(i);
                    (Poll::Ready(Ok(())), None)
                } else if s.closed {
                    (Poll::Ready(Err(())), None)
                } else {
                    if let Some(e) = s.queue.iter_mut().find(|e| e.0 == id) {
                        e.2 = cx.waker().clone();
                    }
                    (Poll::Pending, Some(id))
                }
            }
        });
        self.waiting = w;
        r
    }
    /// The future is dropped: leave the queue (hand on permits granted but never observed).
    fn cancel(&mut self, sem: &Sem) {
        let Some(id) = self.waiting.take() else {
            return;
        };
        if !live() {
            return;
        }
        let need = self.need;
        let ws = sem.st.with(|s| {
            if let Some(i) = s.granted.iter().position(|&g| g == id) {
                s.granted.swap_remove(i);
                s.permits += need;
            } else {
                s.queue.retain(|e| e.0 != id);
            }
            s.grant()
        });
        wake_all(ws);
    }
}

/// A lock request as the timeline shows it: requested at the first poll, granted (a row) when
/// ready, abandoned when the future is dropped first.
struct Request {
    kind: &'static str,
    at: &'static Location<'static>,
    token: Option<Option<u64>>,
}

impl Request {
    fn new(kind: &'static str, at: &'static Location<'static>) -> Request {
        Request {
            kind,
            at,
            token: None,
        }
    }
    fn poll(
        &mut self,
        acq: &mut Acq,
        sem: &Sem,
        obj: usize,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), ()>> {
        if self.token.is_none() {
            self.token = Some(rt::lock_requested(self.kind, obj, self.at));
        }
        let r = acq.poll(sem, cx);
        if r.is_ready() {
            rt::mark_acquired(self.token.take().flatten());
            self.token = Some(None);
        }
        r
    }
    fn cancel(&mut self, acq: &mut Acq, sem: &Sem) {
        rt::lock_abandoned(self.token.take().flatten());
        acq.cancel(sem);
    }
}

// ---------------------------------------------------------------------------------------------
// Mutex

/// An async mutex (as `tokio::sync::Mutex`): fair, not poisoned by a panic, its guard may be
/// held across `.await`.
pub struct Mutex<T> {
    sem: Sem,
    data: UnsafeCell<T>,
}

// SAFETY: the semaphore (one permit) gives one guard at a time access to `data`.
unsafe impl<T: Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Mutex<T> {}

/// `try_lock` found the mutex locked (as `tokio::sync::TryLockError`).
#[derive(Debug)]
pub struct TryLockError(());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}
impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// A new unlocked mutex.
    #[track_caller]
    pub fn new(t: T) -> Mutex<T> {
        Mutex {
            sem: Sem::new(1, "sync::Mutex"),
            data: UnsafeCell::new(t),
        }
    }
    fn id(&self) -> usize {
        self as *const Self as usize
    }
    /// Locks the mutex, waiting (an await point) while another guard exists.
    #[track_caller]
    pub fn lock(&self) -> LockFuture<'_, T> {
        LockFuture {
            m: self,
            acq: Acq::new(1),
            req: Request::new("lock().await", Location::caller()),
        }
    }
    /// Locks the mutex, blocking the calling thread (as tokio's: for a `spawn_blocking`
    /// closure or a thread that is no task; panics inside a task).
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        let at = Location::caller();
        super::block_outside_tasks(LockFuture {
            m: self,
            acq: Acq::new(1),
            req: Request::new("blocking_lock", at),
        })
    }
    /// `blocking_lock` for an `Arc`'d mutex.
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        let at = Location::caller();
        super::block_outside_tasks(OwnedLockFuture {
            m: Some(self),
            acq: Acq::new(1),
            req: Request::new("blocking_lock_owned", at),
        })
    }
    /// Locks the mutex if it is free.
    #[track_caller]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        let r = self.sem.try_acquire(1);
        let kind = if r.is_ok() {
            "try_lock"
        } else {
            "try_lock (busy)"
        };
        rt::record(
            Op::Lock {
                kind,
                acquired: true,
            },
            Some(self.id()),
            None,
            Some(Location::caller()),
        );
        r.map(|()| MutexGuard {
            m: self,
            access: Access::default(),
        })
        .map_err(|_| TryLockError(()))
    }
    /// Locks an `Arc`'d mutex, for a guard that owns the `Arc`.
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> OwnedLockFuture<T> {
        OwnedLockFuture {
            m: Some(self),
            acq: Acq::new(1),
            req: Request::new("lock_owned().await", Location::caller()),
        }
    }
    /// `try_lock` for an `Arc`'d mutex.
    #[track_caller]
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        self.sem.try_acquire(1).map_err(|_| TryLockError(()))?;
        rt::record(
            Op::Lock {
                kind: "try_lock_owned",
                acquired: true,
            },
            Some(self.id()),
            None,
            Some(Location::caller()),
        );
        Ok(OwnedMutexGuard {
            m: self,
            access: Access::default(),
        })
    }
    /// The data, through `&mut` (no other task can hold a guard).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
    /// Consumes the mutex.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(t: T) -> Self {
        Mutex::new(t)
    }
}

impl<T> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex").finish_non_exhaustive()
    }
}

/// The future of [`Mutex::lock`].
#[must_use = "futures do nothing unless awaited"]
pub struct LockFuture<'a, T> {
    m: &'a Mutex<T>,
    acq: Acq,
    req: Request,
}

impl<'a, T> Future for LockFuture<'a, T> {
    type Output = MutexGuard<'a, T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = self.get_mut();
        let m = this.m;
        match this.req.poll(&mut this.acq, &m.sem, m.id(), cx) {
            Poll::Ready(_) => Poll::Ready(MutexGuard {
                m,
                access: Access::default(),
            }),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for LockFuture<'_, T> {
    fn drop(&mut self) {
        self.req.cancel(&mut self.acq, &self.m.sem);
    }
}

/// The future of [`Mutex::lock_owned`].
#[must_use = "futures do nothing unless awaited"]
pub struct OwnedLockFuture<T> {
    m: Option<Arc<Mutex<T>>>,
    acq: Acq,
    req: Request,
}

impl<T> Future for OwnedLockFuture<T> {
    type Output = OwnedMutexGuard<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedMutexGuard<T>> {
        let this = self.get_mut();
        let m = this.m.as_ref().expect("polled after completion");
        match this.req.poll(&mut this.acq, &m.sem, m.id(), cx) {
            Poll::Ready(_) => Poll::Ready(OwnedMutexGuard {
                m: this.m.take().expect("mutex"),
                access: Access::default(),
            }),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for OwnedLockFuture<T> {
    fn drop(&mut self) {
        if let Some(m) = &self.m {
            self.req.cancel(&mut self.acq, &m.sem);
        }
    }
}

/// Releases one hold of a mutex: the unlock row, then the permit.
fn unlock<T>(m: &Mutex<T>) {
    if live() {
        rt::record(Op::Unlock("unlock"), Some(m.id()), None, None);
        m.sem.release(1);
    }
}

/// A held [`Mutex`] (as `tokio::sync::MutexGuard`); unlocks when dropped.
pub struct MutexGuard<'a, T> {
    m: &'a Mutex<T>,
    access: Access,
}

/// A held [`Mutex`] that owns its `Arc` (as `tokio::sync::OwnedMutexGuard`).
pub struct OwnedMutexGuard<T> {
    m: Arc<Mutex<T>>,
    access: Access,
}

/// The impls of a lock's guard `$g` whose lock is in field `$f`: `Deref` to the data (and with
/// `mut`, `DerefMut`), recording the hold's first read and write; `Drop` calls `$unlock` on the
/// lock; `Debug` shows the data (not a recorded access).
macro_rules! guard_impls {
    ($g:ident $(<$l:lifetime>)?, $f:ident, $unlock:path) => {
        impl<$($l,)? T> Deref for $g<$($l,)? T> {
            type Target = T;
            #[track_caller]
            fn deref(&self) -> &T {
                self.access.read(self.$f.id());
                // SAFETY: the guard holds the permits its kind of hold needs: no writer
                // besides itself.
                unsafe { &*self.$f.data.get() }
            }
        }
        impl<$($l,)? T> Drop for $g<$($l,)? T> {
            fn drop(&mut self) {
                $unlock(&self.$f);
            }
        }
        impl<$($l,)? T: fmt::Debug> fmt::Debug for $g<$($l,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // SAFETY: as in `deref`.
                fmt::Debug::fmt(unsafe { &*self.$f.data.get() }, f)
            }
        }
    };
    ($g:ident $(<$l:lifetime>)?, $f:ident, $unlock:path, mut) => {
        guard_impls!($g $(<$l>)?, $f, $unlock);
        impl<$($l,)? T> DerefMut for $g<$($l,)? T> {
            #[track_caller]
            fn deref_mut(&mut self) -> &mut T {
                let id = self.$f.id();
                self.access.write(id);
                // SAFETY: the guard holds every permit, and `&mut self` is unique.
                unsafe { &mut *self.$f.data.get() }
            }
        }
    };
}
guard_impls!(MutexGuard<'a>, m, unlock, mut);
guard_impls!(OwnedMutexGuard, m, unlock, mut);

impl<'a, T> MutexGuard<'a, T> {
    /// A guard of a part of the data (as `tokio::sync::MutexGuard::map`); the mutex stays
    /// locked until the mapped guard drops. (The closure's borrow is not a recorded access.)
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let this = std::mem::ManuallyDrop::new(this);
        let m = this.m;
        // SAFETY: the guard (not dropped: its hold moves to the mapped guard) holds the
        // mutex's only permit.
        let data = f(unsafe { &mut *m.data.get() }) as *mut U;
        MappedMutexGuard {
            sem: &m.sem,
            id: m.id(),
            data,
            access: Access::default(),
        }
    }
    /// [`MutexGuard::map`] when `f` finds the part; else the guard back.
    pub fn try_map<U: ?Sized, F>(this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let m = this.m;
        // SAFETY: as in `map`; the borrow ends before `this` is used again.
        let data = match f(unsafe { &mut *m.data.get() }) {
            Some(d) => d as *mut U,
            None => return Err(this),
        };
        std::mem::forget(this);
        Ok(MappedMutexGuard {
            sem: &m.sem,
            id: m.id(),
            data,
            access: Access::default(),
        })
    }
    /// The mutex this guard holds.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.m
    }
}

/// A held [`Mutex`] seen through a part of its data (as `tokio::sync::MappedMutexGuard`, from
/// [`MutexGuard::map`]); unlocks when dropped.
pub struct MappedMutexGuard<'a, T: ?Sized> {
    sem: &'a Sem,
    id: usize,
    data: *mut T,
    access: Access,
}

// SAFETY: as tokio's: the guard holds the mutex's permit; it is a `&mut T` in effect.
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// A guard of a part of this part.
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let this = std::mem::ManuallyDrop::new(this);
        let part = this.data;
        // SAFETY: the hold moves to the new guard.
        let data = f(unsafe { &mut *part }) as *mut U;
        MappedMutexGuard {
            sem: this.sem,
            id: this.id,
            data,
            access: Access::default(),
        }
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    #[track_caller]
    fn deref(&self) -> &T {
        self.access.read(self.id);
        // SAFETY: the guard holds the mutex's only permit.
        unsafe { &*self.data }
    }
}
impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    #[track_caller]
    fn deref_mut(&mut self) -> &mut T {
        self.access.write(self.id);
        // SAFETY: as above, and `&mut self` is unique.
        unsafe { &mut *self.data }
    }
}
impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        if live() {
            rt::record(Op::Unlock("unlock"), Some(self.id), None, None);
            self.sem.release(1);
        }
    }
}
impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: as in `deref`; formatting is not a recorded access.
        fmt::Debug::fmt(unsafe { &*self.data }, f)
    }
}

impl<T> OwnedMutexGuard<T> {
    /// The mutex this guard holds.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.m
    }
}

// ---------------------------------------------------------------------------------------------
// RwLock

const MAX_READS: usize = (u32::MAX >> 3) as usize;

/// An async reader-writer lock (as `tokio::sync::RwLock`): fair (a waiting writer stops new
/// readers), at most `u32::MAX >> 3` readers.
pub struct RwLock<T> {
    sem: Sem,
    data: UnsafeCell<T>,
}

// SAFETY: readers share `&T` (T: Sync), a writer holds every permit.
unsafe impl<T: Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new unlocked lock.
    #[track_caller]
    pub fn new(t: T) -> RwLock<T> {
        RwLock {
            sem: Sem::new(MAX_READS, "sync::RwLock"),
            data: UnsafeCell::new(t),
        }
    }
    fn id(&self) -> usize {
        self as *const Self as usize
    }
    /// Locks for reading (an await point while a writer holds or waits).
    #[track_caller]
    pub fn read(&self) -> RwLockFuture<'_, T, RwLockReadGuard<'_, T>> {
        RwLockFuture {
            l: self,
            acq: Acq::new(1),
            req: Request::new("read().await", Location::caller()),
            make: |l| RwLockReadGuard {
                l,
                access: Access::default(),
            },
        }
    }
    /// Locks for writing (an await point while anyone holds it).
    #[track_caller]
    pub fn write(&self) -> RwLockFuture<'_, T, RwLockWriteGuard<'_, T>> {
        RwLockFuture {
            l: self,
            acq: Acq::new(MAX_READS),
            req: Request::new("write().await", Location::caller()),
            make: |l| RwLockWriteGuard {
                l,
                access: Access::default(),
            },
        }
    }
    /// Locks for reading if no writer holds or waits for the lock.
    #[track_caller]
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.try_hold(1, "try_read")?;
        Ok(RwLockReadGuard {
            l: self,
            access: Access::default(),
        })
    }
    /// Locks for writing if nobody holds or waits for the lock.
    #[track_caller]
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.try_hold(MAX_READS, "try_write")?;
        Ok(RwLockWriteGuard {
            l: self,
            access: Access::default(),
        })
    }
    /// `n` permits now, or `TryLockError`; a row either way.
    #[track_caller]
    fn try_hold(&self, n: usize, kind: &'static str) -> Result<(), TryLockError> {
        let r = self.sem.try_acquire(n);
        rt::record(
            Op::Lock {
                kind: if r.is_ok() { kind } else { "try (busy)" },
                acquired: true,
            },
            Some(self.id()),
            None,
            Some(Location::caller()),
        );
        r.map_err(|_| TryLockError(()))
    }
    /// Locks an `Arc`'d lock for reading, for a guard that owns the `Arc`.
    #[track_caller]
    pub fn read_owned(self: Arc<Self>) -> OwnedRwLockFuture<T, OwnedRwLockReadGuard<T>> {
        OwnedRwLockFuture {
            l: Some(self),
            acq: Acq::new(1),
            req: Request::new("read_owned().await", Location::caller()),
            make: |l| OwnedRwLockReadGuard {
                l,
                access: Access::default(),
            },
        }
    }
    /// Locks an `Arc`'d lock for writing, for a guard that owns the `Arc`.
    #[track_caller]
    pub fn write_owned(self: Arc<Self>) -> OwnedRwLockFuture<T, OwnedRwLockWriteGuard<T>> {
        OwnedRwLockFuture {
            l: Some(self),
            acq: Acq::new(MAX_READS),
            req: Request::new("write_owned().await", Location::caller()),
            make: |l| OwnedRwLockWriteGuard {
                l,
                access: Access::default(),
            },
        }
    }
    /// Locks for reading, blocking the calling thread (panics inside a task, as tokio's).
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        let mut f = self.read();
        f.req = Request::new("blocking_read", Location::caller());
        super::block_outside_tasks(f)
    }
    /// Locks for writing, blocking the calling thread (panics inside a task, as tokio's).
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        let mut f = self.write();
        f.req = Request::new("blocking_write", Location::caller());
        super::block_outside_tasks(f)
    }
    /// The data, through `&mut`.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
    /// Consumes the lock.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLock").finish_non_exhaustive()
    }
}

/// The future of [`RwLock::read`] / [`RwLock::write`].
#[must_use = "futures do nothing unless awaited"]
pub struct RwLockFuture<'a, T, G> {
    l: &'a RwLock<T>,
    acq: Acq,
    req: Request,
    make: fn(&'a RwLock<T>) -> G,
}

impl<'a, T, G> Future for RwLockFuture<'a, T, G> {
    type Output = G;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<G> {
        // SAFETY: no field is structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let l = this.l;
        match this.req.poll(&mut this.acq, &l.sem, l.id(), cx) {
            Poll::Ready(_) => Poll::Ready((this.make)(l)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T, G> Drop for RwLockFuture<'_, T, G> {
    fn drop(&mut self) {
        self.req.cancel(&mut self.acq, &self.l.sem);
    }
}

/// The future of [`RwLock::read_owned`] / [`RwLock::write_owned`].
#[must_use = "futures do nothing unless awaited"]
pub struct OwnedRwLockFuture<T, G> {
    l: Option<Arc<RwLock<T>>>,
    acq: Acq,
    req: Request,
    make: fn(Arc<RwLock<T>>) -> G,
}

impl<T, G> Future for OwnedRwLockFuture<T, G> {
    type Output = G;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<G> {
        // SAFETY: no field is structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let l = this.l.as_ref().expect("polled after completion");
        match this.req.poll(&mut this.acq, &l.sem, l.id(), cx) {
            Poll::Ready(_) => Poll::Ready((this.make)(this.l.take().expect("lock"))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T, G> Drop for OwnedRwLockFuture<T, G> {
    fn drop(&mut self) {
        if let Some(l) = &self.l {
            self.req.cancel(&mut self.acq, &l.sem);
        }
    }
}

/// A read hold of an [`RwLock`].
pub struct RwLockReadGuard<'a, T> {
    l: &'a RwLock<T>,
    access: Access,
}

/// A write hold of an [`RwLock`].
pub struct RwLockWriteGuard<'a, T> {
    l: &'a RwLock<T>,
    access: Access,
}

/// A read hold of an `Arc`'d [`RwLock`] that owns the `Arc` (as
/// `tokio::sync::OwnedRwLockReadGuard`).
pub struct OwnedRwLockReadGuard<T> {
    l: Arc<RwLock<T>>,
    access: Access,
}

/// A write hold of an `Arc`'d [`RwLock`] that owns the `Arc` (as
/// `tokio::sync::OwnedRwLockWriteGuard`).
pub struct OwnedRwLockWriteGuard<T> {
    l: Arc<RwLock<T>>,
    access: Access,
}

/// Releases a read hold: the unlock row, then its permit.
fn read_unlock<T>(l: &RwLock<T>) {
    if live() {
        rt::record(Op::Unlock("read unlock"), Some(l.id()), None, None);
        l.sem.release(1);
    }
}

/// Releases a write hold: the unlock row, then every permit.
fn write_unlock<T>(l: &RwLock<T>) {
    if live() {
        rt::record(Op::Unlock("write unlock"), Some(l.id()), None, None);
        l.sem.release(MAX_READS);
    }
}

guard_impls!(RwLockReadGuard<'a>, l, read_unlock);
guard_impls!(RwLockWriteGuard<'a>, l, write_unlock, mut);
guard_impls!(OwnedRwLockReadGuard, l, read_unlock);
guard_impls!(OwnedRwLockWriteGuard, l, write_unlock, mut);

impl<T> OwnedRwLockReadGuard<T> {
    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.l
    }
}

impl<T> OwnedRwLockWriteGuard<T> {
    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.l
    }
}

// ---------------------------------------------------------------------------------------------
// Semaphore

/// A counting semaphore (as `tokio::sync::Semaphore`), fair.
pub struct Semaphore {
    sem: Sem,
}

/// `acquire` on a closed semaphore (as `tokio::sync::AcquireError`).
#[derive(Debug, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}
impl std::error::Error for AcquireError {}

/// `try_acquire` failed (as `tokio::sync::TryAcquireError`).
#[derive(Debug, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryAcquireError::Closed => "semaphore closed",
            TryAcquireError::NoPermits => "no permits available",
        })
    }
}
impl std::error::Error for TryAcquireError {}

impl Semaphore {
    /// The most permits a semaphore holds.
    pub const MAX_PERMITS: usize = usize::MAX >> 3;
    /// A semaphore with `permits` permits.
    #[track_caller]
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            sem: Sem::new(permits, "sync::Semaphore"),
        }
    }
    fn id(&self) -> usize {
        self as *const Self as usize
    }
    /// Permits available now.
    pub fn available_permits(&self) -> usize {
        self.sem.available()
    }
    /// Adds `n` permits.
    #[track_caller]
    pub fn add_permits(&self, n: usize) {
        row(&format!("add_permits({n})"), "add_permits", self.id());
        self.sem.release(n);
    }
    /// Acquires one permit (an await point while none is free).
    #[track_caller]
    pub fn acquire(&self) -> AcquireFuture<'_> {
        self.acquire_many(1)
    }
    /// Acquires `n` permits.
    #[track_caller]
    pub fn acquire_many(&self, n: u32) -> AcquireFuture<'_> {
        AcquireFuture {
            s: self,
            acq: Acq::new(n as usize),
            req: Request::new("acquire().await", Location::caller()),
        }
    }
    /// Acquires one permit if one is free.
    #[track_caller]
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }
    /// Acquires `n` permits if they are free.
    #[track_caller]
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        match self.sem.try_acquire(n as usize) {
            Ok(()) => {
                row("try_acquire", "try_acquire", self.id());
                Ok(SemaphorePermit {
                    s: self,
                    permits: n,
                })
            }
            Err(true) => Err(TryAcquireError::Closed),
            Err(false) => Err(TryAcquireError::NoPermits),
        }
    }
    /// Acquires one permit of an `Arc`'d semaphore, for a permit that owns the `Arc`.
    #[track_caller]
    pub fn acquire_owned(self: Arc<Self>) -> OwnedAcquireFuture {
        OwnedAcquireFuture {
            s: Some(self),
            acq: Acq::new(1),
            req: Request::new("acquire_owned().await", Location::caller()),
        }
    }
    /// Closes the semaphore: waiting and future acquisitions fail.
    pub fn close(&self) {
        self.sem.close();
    }
    /// Whether it was closed.
    pub fn is_closed(&self) -> bool {
        self.sem.is_closed()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.available_permits())
            .finish()
    }
}

/// The future of [`Semaphore::acquire`].
#[must_use = "futures do nothing unless awaited"]
pub struct AcquireFuture<'a> {
    s: &'a Semaphore,
    acq: Acq,
    req: Request,
}

impl<'a> Future for AcquireFuture<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let s = this.s;
        this.req.poll(&mut this.acq, &s.sem, s.id(), cx).map(|r| {
            r.map(|()| SemaphorePermit {
                s,
                permits: this.acq.need as u32,
            })
            .map_err(|()| AcquireError(()))
        })
    }
}

impl Drop for AcquireFuture<'_> {
    fn drop(&mut self) {
        self.req.cancel(&mut self.acq, &self.s.sem);
    }
}

/// The future of [`Semaphore::acquire_owned`].
#[must_use = "futures do nothing unless awaited"]
pub struct OwnedAcquireFuture {
    s: Option<Arc<Semaphore>>,
    acq: Acq,
    req: Request,
}

impl Future for OwnedAcquireFuture {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let s = this.s.as_ref().expect("polled after completion");
        match this.req.poll(&mut this.acq, &s.sem, s.id(), cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(OwnedSemaphorePermit {
                s: this.s.take().expect("semaphore"),
                permits: 1,
            })),
            Poll::Ready(Err(())) => Poll::Ready(Err(AcquireError(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for OwnedAcquireFuture {
    fn drop(&mut self) {
        if let Some(s) = &self.s {
            self.req.cancel(&mut self.acq, &s.sem);
        }
    }
}

/// Permits of a [`Semaphore`]; released when dropped.
#[must_use]
#[derive(Debug)]
pub struct SemaphorePermit<'a> {
    s: &'a Semaphore,
    permits: u32,
}

/// Permits of an `Arc`'d [`Semaphore`]; released when dropped.
#[must_use]
#[derive(Debug)]
pub struct OwnedSemaphorePermit {
    s: Arc<Semaphore>,
    permits: u32,
}

macro_rules! permit_impls {
    ($p:ident $(<$l:lifetime>)?) => {
        impl$(<$l>)? $p$(<$l>)? {
            /// Drops the permits without releasing them.
            pub fn forget(mut self) {
                self.permits = 0;
            }
            /// How many permits this holds.
            pub fn num_permits(&self) -> usize {
                self.permits as usize
            }
        }
        impl$(<$l>)? Drop for $p$(<$l>)? {
            fn drop(&mut self) {
                if self.permits > 0 && live() {
                    rt::record(Op::Unlock("release"), Some(self.s.id()), None, None);
                    self.s.sem.release(self.permits as usize);
                }
            }
        }
    };
}
permit_impls!(SemaphorePermit<'a>);
permit_impls!(OwnedSemaphorePermit);

// ---------------------------------------------------------------------------------------------
// Notify

struct NotifyState {
    permit: bool,
    waiters: VecDeque<(u64, Waker)>,
    notified: Vec<u64>,
    generation: u64,
    next: u64,
}

/// Notifies a task (as `tokio::sync::Notify`): `notify_one` stores one permit if nobody
/// waits; `notify_waiters` wakes every `Notified` created before it.
pub struct Notify {
    st: BMutex<NotifyState>,
}

impl Notify {
    /// A new `Notify` without a permit.
    #[track_caller]
    pub fn new() -> Notify {
        Notify {
            st: BMutex::new(
                NotifyState {
                    permit: false,
                    waiters: VecDeque::new(),
                    notified: Vec::new(),
                    generation: 0,
                    next: 0,
                },
                "sync::Notify",
            ),
        }
    }
    fn id(&self) -> usize {
        self as *const Self as usize
    }
    /// Waits for a notification (an await point).
    #[track_caller]
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            n: self,
            generation: self.st.with(|s| s.generation),
            waiting: None,
            at: Location::caller(),
        }
    }
    fn notify_one_inner(s: &mut NotifyState) -> Option<Waker> {
        match s.waiters.pop_front() {
            Some((id, w)) => {
                s.notified.push(id);
                Some(w)
            }
            None => {
                s.permit = true;
                None
            }
        }
    }
    /// Wakes the first waiting task, or stores a permit for the next `notified()`.
    #[track_caller]
    pub fn notify_one(&self) {
        row("notify_one", "notify_one", self.id());
        if let Some(w) = self.st.with(Self::notify_one_inner) {
            w.wake();
        }
    }
    /// Wakes every task waiting now (no permit is stored).
    #[track_caller]
    pub fn notify_waiters(&self) {
        row("notify_waiters", "notify_waiters", self.id());
        let ws = self.st.with(|s| {
            s.generation += 1;
            s.waiters.drain(..).map(|(_, w)| w).collect()
        });
        wake_all(ws);
    }
}

impl Default for Notify {
    #[track_caller]
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify").finish_non_exhaustive()
    }
}

/// The future of [`Notify::notified`].
#[must_use = "futures do nothing unless awaited"]
pub struct Notified<'a> {
    n: &'a Notify,
    generation: u64,
    waiting: Option<u64>,
    at: &'static Location<'static>,
}

impl Future for Notified<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let (gen, waiting) = (this.generation, this.waiting);
        let (ready, w) = this.n.st.with(|s| {
            if let Some(id) = waiting {
                if let Some(i) = s.notified.iter().position(|&x| x == id) {
                    s.notified.swap_remove(i);
                    return (true, None);
                }
            }
            if s.generation != gen {
                if let Some(id) = waiting {
                    s.waiters.retain(|e| e.0 != id);
                }
                return (true, None);
            }
            if waiting.is_none() && s.permit {
                s.permit = false;
                return (true, None);
            }
            match waiting {
                Some(id) => {
                    if let Some(e) = s.waiters.iter_mut().find(|e| e.0 == id) {
                        e.1 = cx.waker().clone();
                    }
                    (false, Some(id))
                }
                None => {
                    s.next += 1;
                    let id = s.next;
                    s.waiters.push_back((id, cx.waker().clone()));
                    (false, Some(id))
                }
            }
        });
        this.waiting = w;
        if ready {
            rt::record(
                Op::Task("notified().await".into(), Some("notified")),
                Some(this.n.id()),
                None,
                Some(this.at),
            );
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Some(id) = self.waiting.take() else {
            return;
        };
        if !live() {
            return;
        }
        // A notify_one this waiter received but never observed goes on to the next one.
        let w = self.n.st.with(|s| {
            s.waiters.retain(|e| e.0 != id);
            match s.notified.iter().position(|&x| x == id) {
                Some(i) => {
                    s.notified.swap_remove(i);
                    Notify::notify_one_inner(s)
                }
                None => None,
            }
        });
        if let Some(w) = w {
            w.wake();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Barrier

struct BarrierState {
    arrived: usize,
    generation: u64,
    waiters: Vec<Waker>,
}

/// A barrier for `n` tasks (as `tokio::sync::Barrier`): the last to arrive is the leader.
pub struct Barrier {
    n: usize,
    st: BMutex<BarrierState>,
}

/// The result of [`Barrier::wait`].
#[derive(Debug)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this task was the last to arrive.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` tasks.
    #[track_caller]
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n,
            st: BMutex::new(
                BarrierState {
                    arrived: 0,
                    generation: 0,
                    waiters: Vec::new(),
                },
                "sync::Barrier",
            ),
        }
    }
    /// Waits until `n` tasks wait (an await point).
    #[track_caller]
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            b: self,
            generation: None,
            at: Location::caller(),
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").field("n", &self.n).finish()
    }
}

/// The future of [`Barrier::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait<'a> {
    b: &'a Barrier,
    generation: Option<u64>,
    at: &'static Location<'static>,
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = self.get_mut();
        let n = this.b.n;
        let mine = this.generation;
        let (r, gen, ws) = this.b.st.with(|s| match mine {
            None => {
                s.arrived += 1;
                if s.arrived >= n {
                    s.arrived = 0;
                    s.generation += 1;
                    (Some(true), None, std::mem::take(&mut s.waiters))
                } else {
                    s.waiters.push(cx.waker().clone());
                    (None, Some(s.generation), Vec::new())
                }
            }
            Some(g) if g != s.generation => (Some(false), None, Vec::new()),
            Some(g) => {
                s.waiters.push(cx.waker().clone());
                (None, Some(g), Vec::new())
            }
        });
        this.generation = gen;
        wake_all(ws);
        match r {
            Some(leader) => {
                rt::record(
                    Op::BarrierWait,
                    Some(this.b as *const Barrier as usize),
                    None,
                    Some(this.at),
                );
                Poll::Ready(BarrierWaitResult(leader))
            }
            None => Poll::Pending,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// oneshot

/// A channel for one value (as `tokio::sync::oneshot`).
pub mod oneshot {
    use super::*;

    struct State<T> {
        value: Option<T>,
        tx: bool,
        rx: bool,
        rx_waker: Option<Waker>,
        tx_waker: Option<Waker>,
    }

    type Chan<T> = Shared<State<T>>;
    use super::arc_id as id;

    /// Error types.
    pub mod error {
        use std::fmt;

        unit_error!(
            /// The sender was dropped without sending.
            RecvError,
            "channel closed"
        );

        /// `try_recv` found no value.
        #[derive(Debug, PartialEq, Eq, Clone)]
        pub enum TryRecvError {
            /// Nothing was sent yet.
            Empty,
            /// The sender was dropped without sending.
            Closed,
        }

        impl fmt::Display for TryRecvError {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self {
                    TryRecvError::Empty => "channel empty",
                    TryRecvError::Closed => "channel closed",
                })
            }
        }
        impl std::error::Error for TryRecvError {}
    }
    use error::{RecvError, TryRecvError};

    /// Sends the value.
    pub struct Sender<T> {
        c: Arc<Chan<T>>,
    }

    /// Receives the value: a future of `Result<T, RecvError>`.
    pub struct Receiver<T> {
        c: Arc<Chan<T>>,
        done: bool,
    }

    /// A new oneshot channel.
    #[track_caller]
    pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
        let c = Arc::new(Chan {
            st: BMutex::new(
                State {
                    value: None,
                    tx: true,
                    rx: true,
                    rx_waker: None,
                    tx_waker: None,
                },
                "sync::oneshot::channel",
            ),
        });
        (Sender { c: c.clone() }, Receiver { c, done: false })
    }

    impl<T> Sender<T> {
        /// Sends `t`; gives it back if the receiver is gone.
        #[track_caller]
        pub fn send(self, t: T) -> Result<(), T> {
            let r = self.c.st.with(|s| {
                if !s.rx {
                    return Err(t);
                }
                s.value = Some(t);
                Ok(s.rx_waker.take())
            });
            match r {
                Ok(w) => {
                    row("send on", "send", id(&self.c));
                    if let Some(w) = w {
                        w.wake();
                    }
                    Ok(())
                }
                Err(t) => {
                    row("send (receiver gone) on", "send", id(&self.c));
                    Err(t)
                }
            }
        }
        /// Whether the receiver is gone.
        pub fn is_closed(&self) -> bool {
            self.c.st.with(|s| !s.rx)
        }
        /// Waits until the receiver is gone.
        pub fn closed(&mut self) -> Closed<'_, T> {
            Closed { s: self }
        }
    }

    /// The future of [`Sender::closed`].
    pub struct Closed<'a, T> {
        s: &'a mut Sender<T>,
    }

    impl<T> Future for Closed<'_, T> {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let closed = self.s.c.st.with(|s| {
                if !s.rx {
                    return true;
                }
                s.tx_waker = Some(cx.waker().clone());
                false
            });
            if closed {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            if !live() {
                return;
            }
            let w = self.c.st.with(|s| {
                s.tx = false;
                s.rx_waker.take()
            });
            if let Some(w) = w {
                w.wake();
            }
        }
    }

    impl<T> Receiver<T> {
        /// The value if it was sent.
        #[track_caller]
        pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
            let r = self.c.st.with(|s| match s.value.take() {
                Some(v) => Ok(v),
                None if !s.tx => Err(TryRecvError::Closed),
                None => Err(TryRecvError::Empty),
            });
            if r.is_ok() {
                row("try_recv on", "try_recv", id(&self.c));
            }
            r
        }
        /// Closes the channel: a later `send` fails.
        pub fn close(&mut self) {
            let w = self.c.st.with(|s| {
                s.rx = false;
                s.tx_waker.take()
            });
            if let Some(w) = w {
                w.wake();
            }
        }
    }

    impl<T> Future for Receiver<T> {
        type Output = Result<T, RecvError>;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let this = self.get_mut();
            assert!(!this.done, "oneshot::Receiver polled after completion");
            let r = this.c.st.with(|s| match s.value.take() {
                Some(v) => Some(Ok(v)),
                None if !s.tx => Some(Err(RecvError(()))),
                None => {
                    s.rx_waker = Some(cx.waker().clone());
                    None
                }
            });
            match r {
                Some(r) => {
                    this.done = true;
                    let text = if r.is_ok() {
                        "oneshot received on"
                    } else {
                        "oneshot closed (sender gone) on"
                    };
                    // The receiver is awaited directly: no call names the await's line.
                    rt::record(Op::Task(text.into(), None), Some(id(&this.c)), None, None);
                    Poll::Ready(r)
                }
                None => Poll::Pending,
            }
        }
    }

    impl<T> Drop for Receiver<T> {
        fn drop(&mut self) {
            if live() {
                self.close();
            }
        }
    }

    opaque_debug!(Sender, Receiver);
}

// ---------------------------------------------------------------------------------------------
// mpsc

/// Multi-producer, single-consumer channels (as `tokio::sync::mpsc`): bounded (`channel`, a
/// `send` waits for capacity) and unbounded.
pub mod mpsc {
    use super::*;

    struct State<T> {
        queue: VecDeque<T>,
        senders: usize,
        rx_open: bool,
        rx_waker: Option<Waker>,
    }

    struct Chan<T> {
        st: BMutex<State<T>>,
        /// Capacity (bounded channels).
        cap: Option<Sem>,
    }

    use super::arc_id as id;

    /// Error types.
    pub mod error {
        use std::fmt;

        value_error!(
            /// The receiver is gone; the value comes back.
            SendError,
            "channel closed"
        );

        /// `try_send` failed.
        #[derive(PartialEq, Eq, Clone, Copy)]
        pub enum TrySendError<T> {
            /// No capacity now.
            Full(T),
            /// The receiver is gone.
            Closed(T),
        }

        impl<T> fmt::Debug for TrySendError<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    TrySendError::Full(_) => f.write_str("Full(..)"),
                    TrySendError::Closed(_) => f.write_str("Closed(..)"),
                }
            }
        }
        impl<T> fmt::Display for TrySendError<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self {
                    TrySendError::Full(_) => "no available capacity",
                    TrySendError::Closed(_) => "channel closed",
                })
            }
        }
        impl<T> std::error::Error for TrySendError<T> {}

        /// `try_recv` found nothing.
        #[derive(Debug, PartialEq, Eq, Clone, Copy)]
        pub enum TryRecvError {
            /// Empty now.
            Empty,
            /// Empty, and every sender is gone.
            Disconnected,
        }

        impl fmt::Display for TryRecvError {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self {
                    TryRecvError::Empty => "receiving on an empty channel",
                    TryRecvError::Disconnected => "receiving on a closed channel",
                })
            }
        }
        impl std::error::Error for TryRecvError {}
    }
    use error::{SendError, TryRecvError, TrySendError};

    #[track_caller]
    fn new_chan<T>(cap: Option<usize>) -> Arc<Chan<T>> {
        Arc::new(Chan {
            st: BMutex::new(
                State {
                    queue: VecDeque::new(),
                    senders: 1,
                    rx_open: true,
                    rx_waker: None,
                },
                "sync::mpsc::channel",
            ),
            cap: cap.map(|n| Sem::new(n, "sync::mpsc::channel")),
        })
    }

    /// Pushes `v` (capacity already taken); gives it back if the receiver is gone.
    #[track_caller]
    fn push<T>(c: &Arc<Chan<T>>, v: T, at: &'static Location<'static>) -> Result<(), T> {
        let r = c.st.with(|s| {
            if !s.rx_open {
                return Err(v);
            }
            s.queue.push_back(v);
            Ok(s.rx_waker.take())
        });
        match r {
            Ok(w) => {
                rt::record(
                    Op::Task("send on".into(), Some("send")),
                    Some(id(c)),
                    None,
                    Some(at),
                );
                if let Some(w) = w {
                    w.wake();
                }
                Ok(())
            }
            Err(v) => {
                if let Some(sem) = &c.cap {
                    sem.release(1);
                }
                Err(v)
            }
        }
    }

    /// A bounded channel of capacity `buffer` (> 0).
    #[track_caller]
    pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
        assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
        let c = new_chan(Some(buffer));
        (Sender { c: c.clone() }, Receiver { c })
    }

    /// An unbounded channel.
    #[track_caller]
    pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
        let c = new_chan(None);
        (
            UnboundedSender { c: c.clone() },
            UnboundedReceiver {
                inner: Receiver { c },
            },
        )
    }

    /// The sending half of a bounded channel.
    pub struct Sender<T> {
        c: Arc<Chan<T>>,
    }

    /// The sending half of an unbounded channel.
    pub struct UnboundedSender<T> {
        c: Arc<Chan<T>>,
    }

    /// The receiving half of a bounded channel.
    pub struct Receiver<T> {
        c: Arc<Chan<T>>,
    }

    /// The receiving half of an unbounded channel.
    pub struct UnboundedReceiver<T> {
        inner: Receiver<T>,
    }

    fn sender_clone<T>(c: &Arc<Chan<T>>) -> Arc<Chan<T>> {
        c.st.with(|s| s.senders += 1);
        c.clone()
    }

    fn sender_drop<T>(c: &Arc<Chan<T>>) {
        if !live() {
            return;
        }
        let w = c.st.with(|s| {
            s.senders -= 1;
            if s.senders == 0 {
                s.rx_waker.take()
            } else {
                None
            }
        });
        if let Some(w) = w {
            w.wake();
        }
    }

    impl<T> Clone for Sender<T> {
        fn clone(&self) -> Self {
            Sender {
                c: sender_clone(&self.c),
            }
        }
    }
    impl<T> Clone for UnboundedSender<T> {
        fn clone(&self) -> Self {
            UnboundedSender {
                c: sender_clone(&self.c),
            }
        }
    }
    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            sender_drop(&self.c);
        }
    }
    impl<T> Drop for UnboundedSender<T> {
        fn drop(&mut self) {
            sender_drop(&self.c);
        }
    }

    impl<T> Sender<T> {
        /// Sends `value`, waiting for capacity (an await point while the channel is full).
        #[track_caller]
        pub fn send(&self, value: T) -> SendFuture<'_, T> {
            SendFuture {
                c: &self.c,
                value: Some(value),
                acq: Acq::new(1),
                at: Location::caller(),
            }
        }
        /// Sends `value` if there is capacity now.
        #[track_caller]
        pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
            let sem = self.c.cap.as_ref().expect("bounded");
            match sem.try_acquire(1) {
                Ok(()) => push(&self.c, value, Location::caller()).map_err(TrySendError::Closed),
                Err(true) => Err(TrySendError::Closed(value)),
                Err(false) => Err(TrySendError::Full(value)),
            }
        }
        /// Whether the receiver is gone.
        pub fn is_closed(&self) -> bool {
            self.c.st.with(|s| !s.rx_open)
        }
        /// Free capacity now.
        pub fn capacity(&self) -> usize {
            self.c.cap.as_ref().map_or(0, Sem::available)
        }
    }

    impl<T> UnboundedSender<T> {
        /// Sends `value` (never waits).
        #[track_caller]
        pub fn send(&self, value: T) -> Result<(), SendError<T>> {
            push(&self.c, value, Location::caller()).map_err(SendError)
        }
        /// Whether the receiver is gone.
        pub fn is_closed(&self) -> bool {
            self.c.st.with(|s| !s.rx_open)
        }
    }

    /// The future of [`Sender::send`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct SendFuture<'a, T> {
        c: &'a Arc<Chan<T>>,
        value: Option<T>,
        acq: Acq,
        at: &'static Location<'static>,
    }

    impl<T> Future for SendFuture<'_, T> {
        type Output = Result<(), SendError<T>>;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            // SAFETY: no field is structurally pinned.
            let this = unsafe { self.get_unchecked_mut() };
            let sem = this.c.cap.as_ref().expect("bounded");
            match this.acq.poll(sem, cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(())) => {
                    Poll::Ready(Err(SendError(this.value.take().expect("value"))))
                }
                Poll::Ready(Ok(())) => {
                    let v = this.value.take().expect("value");
                    Poll::Ready(push(this.c, v, this.at).map_err(SendError))
                }
            }
        }
    }

    impl<T> Drop for SendFuture<'_, T> {
        fn drop(&mut self) {
            if let Some(sem) = &self.c.cap {
                self.acq.cancel(sem);
            }
        }
    }

    impl<T> Receiver<T> {
        /// Receives the next value; `None` once every sender is gone and the queue is empty
        /// (an await point while it is empty).
        #[track_caller]
        pub fn recv(&mut self) -> Recv<'_, T> {
            Recv {
                r: self,
                at: Location::caller(),
            }
        }
        /// The next value if there is one now.
        #[track_caller]
        pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
            match self.take(None) {
                Some(Some(v)) => {
                    row("try_recv on", "try_recv", id(&self.c));
                    Ok(v)
                }
                Some(None) => Err(TryRecvError::Disconnected),
                None => Err(TryRecvError::Empty),
            }
        }
        /// Closes the channel: sends fail, queued values can still be received.
        pub fn close(&mut self) {
            self.c.st.with(|s| s.rx_open = false);
            if let Some(sem) = &self.c.cap {
                sem.close();
            }
        }
        /// Some(Some(v)): a value; Some(None): closed and empty; None: empty (waker stored).
        fn take(&mut self, cx: Option<&mut Context<'_>>) -> Option<Option<T>> {
            let r = self.c.st.with(|s| match s.queue.pop_front() {
                Some(v) => Some(Some(v)),
                None if s.senders == 0 || !s.rx_open => Some(None),
                None => {
                    if let Some(cx) = cx {
                        s.rx_waker = Some(cx.waker().clone());
                    }
                    None
                }
            });
            if let (Some(Some(_)), Some(sem)) = (&r, &self.c.cap) {
                sem.release(1);
            }
            r
        }
    }

    impl<T> UnboundedReceiver<T> {
        /// Receives the next value (see [`Receiver::recv`]).
        #[track_caller]
        pub fn recv(&mut self) -> Recv<'_, T> {
            self.inner.recv()
        }
        /// The next value if there is one now.
        #[track_caller]
        pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
            self.inner.try_recv()
        }
        /// Closes the channel.
        pub fn close(&mut self) {
            self.inner.close();
        }
    }

    impl<T> Drop for Receiver<T> {
        fn drop(&mut self) {
            if live() {
                self.close();
            }
        }
    }

    /// The future of `recv`.
    #[must_use = "futures do nothing unless awaited"]
    pub struct Recv<'a, T> {
        r: &'a mut Receiver<T>,
        at: &'static Location<'static>,
    }

    impl<T> Future for Recv<'_, T> {
        type Output = Option<T>;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
            let this = self.get_mut();
            match this.r.take(Some(cx)) {
                Some(v) => {
                    let text = if v.is_some() {
                        "recv().await on"
                    } else {
                        "recv().await = None (closed) on"
                    };
                    rt::record(
                        Op::Task(text.into(), Some("recv")),
                        Some(id(&this.r.c)),
                        None,
                        Some(this.at),
                    );
                    Poll::Ready(v)
                }
                None => Poll::Pending,
            }
        }
    }

    opaque_debug!(Sender, UnboundedSender, Receiver, UnboundedReceiver);
}

// ---------------------------------------------------------------------------------------------
// watch

/// A single-value channel that keeps the latest value (as `tokio::sync::watch`). In the model
/// a `Ref` (a borrow) is exclusive: it holds the channel's state lock, so do not hold it
/// across an `.await` (tokio's borrow is a read lock and blocks senders the same way).
pub mod watch {
    use super::*;

    struct State<T> {
        value: T,
        version: u64,
        sender: bool,
        receivers: usize,
        waiters: Vec<Waker>,
        tx_waiters: Vec<Waker>,
    }

    type Chan<T> = Shared<State<T>>;
    use super::arc_id as id;

    /// Error types.
    pub mod error {
        value_error!(
            /// Every receiver is gone; the value comes back.
            SendError,
            "channel closed"
        );
        unit_error!(
            /// The sender is gone.
            RecvError,
            "channel closed"
        );
    }
    use error::{RecvError, SendError};

    /// The sending half.
    pub struct Sender<T> {
        c: Arc<Chan<T>>,
    }

    /// A receiving half; clone it for more receivers.
    pub struct Receiver<T> {
        c: Arc<Chan<T>>,
        seen: u64,
    }

    /// A borrow of the current value.
    pub struct Ref<'a, T> {
        g: super::super::BGuard<'a, State<T>>,
        changed: bool,
    }

    impl<T> Ref<'_, T> {
        /// Whether the value is newer than the receiver had seen (receivers' borrows only).
        pub fn has_changed(&self) -> bool {
            self.changed
        }
    }

    impl<T> Deref for Ref<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            &self.g.value
        }
    }

    impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(&self.g.value, f)
        }
    }

    /// A new watch channel holding `init`.
    #[track_caller]
    pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
        let c = Arc::new(Chan {
            st: BMutex::new(
                State {
                    value: init,
                    version: 0,
                    sender: true,
                    receivers: 1,
                    waiters: Vec::new(),
                    tx_waiters: Vec::new(),
                },
                "sync::watch::channel",
            ),
        });
        (Sender { c: c.clone() }, Receiver { c, seen: 0 })
    }

    impl<T> Sender<T> {
        /// Replaces the value and notifies the receivers; fails if none is left.
        #[track_caller]
        pub fn send(&self, value: T) -> Result<(), SendError<T>> {
            if self.c.st.with(|s| s.receivers == 0) {
                return Err(SendError(value));
            }
            self.send_replace(value);
            Ok(())
        }
        /// Replaces the value (even with no receiver left), returning the old one.
        #[track_caller]
        pub fn send_replace(&self, value: T) -> T {
            let (old, ws) = self.c.st.with(|s| {
                let old = std::mem::replace(&mut s.value, value);
                s.version += 1;
                (old, std::mem::take(&mut s.waiters))
            });
            row("send on", "send", id(&self.c));
            wake_all(ws);
            old
        }
        /// Modifies the value in place and notifies the receivers.
        #[track_caller]
        pub fn send_modify(&self, f: impl FnOnce(&mut T)) {
            let ws = self.c.st.with(|s| {
                f(&mut s.value);
                s.version += 1;
                std::mem::take(&mut s.waiters)
            });
            row("send_modify on", "send_modify", id(&self.c));
            wake_all(ws);
        }
        /// Borrows the current value.
        pub fn borrow(&self) -> Ref<'_, T> {
            Ref {
                g: self.c.st.lock(),
                changed: false,
            }
        }
        /// A new receiver that has seen the current value.
        pub fn subscribe(&self) -> Receiver<T> {
            let seen = self.c.st.with(|s| {
                s.receivers += 1;
                s.version
            });
            Receiver {
                c: self.c.clone(),
                seen,
            }
        }
        /// How many receivers there are.
        pub fn receiver_count(&self) -> usize {
            self.c.st.with(|s| s.receivers)
        }
        /// Whether every receiver is gone.
        pub fn is_closed(&self) -> bool {
            self.receiver_count() == 0
        }
        /// Waits until every receiver is gone.
        pub fn closed(&self) -> Closed<'_, T> {
            Closed { s: self }
        }
    }

    /// The future of [`Sender::closed`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Closed<'a, T> {
        s: &'a Sender<T>,
    }

    impl<T> Future for Closed<'_, T> {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let done = self.s.c.st.with(|s| {
                if s.receivers == 0 {
                    return true;
                }
                s.tx_waiters.push(cx.waker().clone());
                false
            });
            if done {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            if !live() {
                return;
            }
            let ws = self.c.st.with(|s| {
                s.sender = false;
                std::mem::take(&mut s.waiters)
            });
            wake_all(ws);
        }
    }

    impl<T> Receiver<T> {
        /// Borrows the current value (without marking it seen).
        pub fn borrow(&self) -> Ref<'_, T> {
            let g = self.c.st.lock();
            let changed = g.version != self.seen;
            Ref { g, changed }
        }
        /// Borrows the current value and marks it seen.
        pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
            let g = self.c.st.lock();
            let changed = g.version != self.seen;
            self.seen = g.version;
            Ref { g, changed }
        }
        /// Whether a value newer than the last seen was sent; an error once the sender is gone.
        pub fn has_changed(&self) -> Result<bool, RecvError> {
            self.c.st.with(|s| {
                if !s.sender {
                    Err(RecvError(()))
                } else {
                    Ok(s.version != self.seen)
                }
            })
        }
        /// Waits for a value newer than the last seen (an await point) and marks it seen; an
        /// error once the sender is gone.
        #[track_caller]
        pub fn changed(&mut self) -> Changed<'_, T> {
            Changed {
                r: self,
                at: Location::caller(),
            }
        }
    }

    impl<T> Clone for Receiver<T> {
        fn clone(&self) -> Self {
            self.c.st.with(|s| s.receivers += 1);
            Receiver {
                c: self.c.clone(),
                seen: self.seen,
            }
        }
    }

    impl<T> Drop for Receiver<T> {
        fn drop(&mut self) {
            if !live() {
                return;
            }
            let ws = self.c.st.with(|s| {
                s.receivers -= 1;
                if s.receivers == 0 {
                    std::mem::take(&mut s.tx_waiters)
                } else {
                    Vec::new()
                }
            });
            wake_all(ws);
        }
    }

    /// The future of [`Receiver::changed`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Changed<'a, T> {
        r: &'a mut Receiver<T>,
        at: &'static Location<'static>,
    }

    impl<T> Future for Changed<'_, T> {
        type Output = Result<(), RecvError>;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let this = self.get_mut();
            let seen = this.r.seen;
            let r = this.r.c.st.with(|s| {
                if s.version != seen {
                    Some(Ok(s.version))
                } else if !s.sender {
                    Some(Err(RecvError(())))
                } else {
                    s.waiters.push(cx.waker().clone());
                    None
                }
            });
            match r {
                Some(Ok(v)) => {
                    this.r.seen = v;
                    rt::record(
                        Op::Task("changed().await on".into(), Some("changed")),
                        Some(id(&this.r.c)),
                        None,
                        Some(this.at),
                    );
                    Poll::Ready(Ok(()))
                }
                Some(Err(e)) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            }
        }
    }

    opaque_debug!(Sender, Receiver);
}

// ---------------------------------------------------------------------------------------------
// broadcast

/// A multi-producer, multi-consumer channel where every receiver sees every value (as
/// `tokio::sync::broadcast`): a ring of `capacity` values; a receiver that falls further behind
/// gets `Lagged(n)` and skips to the oldest value kept.
pub mod broadcast {
    use super::*;

    struct State<T> {
        buf: VecDeque<T>,
        /// Position of `buf[0]`.
        oldest: u64,
        cap: usize,
        senders: usize,
        receivers: usize,
        waiters: Vec<Waker>,
    }

    impl<T> State<T> {
        fn next_pos(&self) -> u64 {
            self.oldest + self.buf.len() as u64
        }
    }

    type Chan<T> = Shared<State<T>>;
    use super::arc_id as id;

    /// Error types.
    pub mod error {
        value_error!(
            /// No receiver is left; the value comes back.
            SendError,
            "channel closed"
        );

        /// `recv` failed.
        #[derive(Debug, PartialEq, Eq, Clone)]
        pub enum RecvError {
            /// Every sender is gone and every value was received.
            Closed,
            /// The receiver fell behind: this many values were skipped.
            Lagged(u64),
        }

        impl std::fmt::Display for RecvError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    RecvError::Closed => f.write_str("channel closed"),
                    RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
                }
            }
        }
        impl std::error::Error for RecvError {}

        /// `try_recv` failed.
        #[derive(Debug, PartialEq, Eq, Clone)]
        pub enum TryRecvError {
            /// No value now.
            Empty,
            /// Every sender is gone and every value was received.
            Closed,
            /// The receiver fell behind: this many values were skipped.
            Lagged(u64),
        }

        impl std::fmt::Display for TryRecvError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    TryRecvError::Empty => f.write_str("channel empty"),
                    TryRecvError::Closed => f.write_str("channel closed"),
                    TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
                }
            }
        }
        impl std::error::Error for TryRecvError {}
    }
    use error::{RecvError, SendError, TryRecvError};

    /// The sending half; clone it for more senders.
    pub struct Sender<T> {
        c: Arc<Chan<T>>,
    }

    /// A receiving half: it sees every value sent after it subscribed.
    pub struct Receiver<T> {
        c: Arc<Chan<T>>,
        next: u64,
    }

    /// A new channel keeping up to `capacity` values (> 0).
    #[track_caller]
    pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
        assert!(capacity > 0, "broadcast channel capacity cannot be zero");
        let c = Arc::new(Chan {
            st: BMutex::new(
                State {
                    buf: VecDeque::new(),
                    oldest: 0,
                    cap: capacity,
                    senders: 1,
                    receivers: 1,
                    waiters: Vec::new(),
                },
                "sync::broadcast::channel",
            ),
        });
        (Sender { c: c.clone() }, Receiver { c, next: 0 })
    }

    impl<T> Sender<T> {
        /// Sends `value` to every receiver; returns how many there are, or the value back if
        /// none is left.
        #[track_caller]
        pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
            let r = self.c.st.with(|s| {
                if s.receivers == 0 {
                    return Err(value);
                }
                s.buf.push_back(value);
                if s.buf.len() > s.cap {
                    s.buf.pop_front();
                    s.oldest += 1;
                }
                Ok((s.receivers, std::mem::take(&mut s.waiters)))
            });
            match r {
                Ok((n, ws)) => {
                    row("send on", "send", id(&self.c));
                    wake_all(ws);
                    Ok(n)
                }
                Err(v) => Err(SendError(v)),
            }
        }
        /// A new receiver that sees the values sent from now on.
        pub fn subscribe(&self) -> Receiver<T> {
            let next = self.c.st.with(|s| {
                s.receivers += 1;
                s.next_pos()
            });
            Receiver {
                c: self.c.clone(),
                next,
            }
        }
        /// How many receivers there are.
        pub fn receiver_count(&self) -> usize {
            self.c.st.with(|s| s.receivers)
        }
    }

    impl<T> Clone for Sender<T> {
        fn clone(&self) -> Self {
            self.c.st.with(|s| s.senders += 1);
            Sender { c: self.c.clone() }
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            if !live() {
                return;
            }
            let ws = self.c.st.with(|s| {
                s.senders -= 1;
                if s.senders == 0 {
                    std::mem::take(&mut s.waiters)
                } else {
                    Vec::new()
                }
            });
            wake_all(ws);
        }
    }

    impl<T: Clone> Receiver<T> {
        /// The next value: `Ok(v)`, `Err(Empty)` (try_recv only), `Err(Closed)` or
        /// `Err(Lagged(n))`; a waker is stored when empty and `cx` is given.
        fn take(&mut self, cx: Option<&mut Context<'_>>) -> Result<T, TryRecvError> {
            let next = self.next;
            let (r, next) = self.c.st.with(|s| {
                if next < s.oldest {
                    return (Err(TryRecvError::Lagged(s.oldest - next)), s.oldest);
                }
                if next < s.next_pos() {
                    let v = s.buf[(next - s.oldest) as usize].clone();
                    return (Ok(v), next + 1);
                }
                if s.senders == 0 {
                    return (Err(TryRecvError::Closed), next);
                }
                if let Some(cx) = cx {
                    s.waiters.push(cx.waker().clone());
                }
                (Err(TryRecvError::Empty), next)
            });
            self.next = next;
            r
        }
        /// Receives the next value (an await point while there is none).
        #[track_caller]
        pub fn recv(&mut self) -> Recv<'_, T> {
            Recv {
                r: self,
                at: Location::caller(),
            }
        }
        /// The next value if there is one now.
        #[track_caller]
        pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
            let r = self.take(None);
            if r.is_ok() {
                row("try_recv on", "try_recv", id(&self.c));
            }
            r
        }
    }

    impl<T> Receiver<T> {
        /// A new receiver that sees the values sent from now on.
        pub fn resubscribe(&self) -> Receiver<T> {
            let next = self.c.st.with(|s| {
                s.receivers += 1;
                s.next_pos()
            });
            Receiver {
                c: self.c.clone(),
                next,
            }
        }
    }

    impl<T> Drop for Receiver<T> {
        fn drop(&mut self) {
            if live() {
                self.c.st.with(|s| s.receivers -= 1);
            }
        }
    }

    /// The future of [`Receiver::recv`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Recv<'a, T> {
        r: &'a mut Receiver<T>,
        at: &'static Location<'static>,
    }

    impl<T: Clone> Future for Recv<'_, T> {
        type Output = Result<T, RecvError>;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let this = self.get_mut();
            let r = match this.r.take(Some(cx)) {
                Err(TryRecvError::Empty) => return Poll::Pending,
                Ok(v) => Ok(v),
                Err(TryRecvError::Closed) => Err(RecvError::Closed),
                Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            };
            let text = match &r {
                Ok(_) => "recv().await on".to_string(),
                Err(e) => format!("recv().await = Err({e:?}) on"),
            };
            rt::record(
                Op::Task(text, Some("recv")),
                Some(id(&this.r.c)),
                None,
                Some(this.at),
            );
            Poll::Ready(r)
        }
    }

    opaque_debug!(Sender, Receiver);
}
