//! Parity: every facade item with std's signature, in the normal AND the model build.
//!
//! This file is compiled by `cargo test` (normal build, where the facade *is* std, so each
//! written signature below is checked against std's own item) and by
//! `cargo test --features model` (run from the normal build by `tests/model_build.rs`), where
//! the same lines must compile against the model facade. A method assigned to a `fn` pointer
//! of std's exact type (or called with annotated argument and result types) is a compile
//! error in the build whose item diverges, so a divergence fails the test suite.
//!
//! Known, documented exceptions (see the crate guide, "Limits"): model-build constructors are
//! not `const` (so `static X: Mutex<_> = Mutex::new(..)` is normal-build only: use
//! `heisen::lazy_static!` / `LazyLock`), and `Arc<dyn Trait>` is built with `Arc::from(Box<dyn Trait>)` (no unsized
//! coercion of the model `Arc`).
#![allow(deprecated, clippy::type_complexity, clippy::redundant_closure)]

use heisen::cell::{ConstPtr, MutPtr, UnsafeCell};
use heisen::sync::atomic::{self, AtomicBool, AtomicI32, AtomicPtr, AtomicUsize, Ordering};
use heisen::sync::mpsc::{
    self, Receiver, RecvError, RecvTimeoutError, SendError, Sender, SyncSender, TryRecvError,
    TrySendError,
};
use heisen::sync::{
    Arc, Barrier, BarrierWaitResult, Condvar, LazyLock, LockResult, Mutex, MutexGuard, Once,
    OnceLock, OnceState, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError, TryLockResult,
    WaitTimeoutResult, Weak,
};
use heisen::thread::{self, Builder, JoinHandle, LocalKey, Scope, ScopedJoinHandle, Thread};
use heisen::thread::{AccessError, ThreadId};
use heisen::time::{Duration, Instant, SystemTime, SystemTimeError, UNIX_EPOCH};
use std::cell::{Cell, RefCell};

type T = u32;

/// Signatures of the locks, condvar and barrier.
#[allow(unused_variables)]
fn sync_signatures() {
    let _: fn(T) -> Mutex<T> = Mutex::new;
    let _: for<'a> fn(&'a Mutex<T>) -> LockResult<MutexGuard<'a, T>> = Mutex::lock;
    let _: for<'a> fn(&'a Mutex<T>) -> TryLockResult<MutexGuard<'a, T>> = Mutex::try_lock;
    let _: fn(&Mutex<T>) -> bool = Mutex::is_poisoned;
    let _: fn(&Mutex<T>) = Mutex::clear_poison;
    let _: fn(&mut Mutex<T>) -> LockResult<&mut T> = Mutex::get_mut;
    let _: fn(Mutex<T>) -> LockResult<T> = Mutex::into_inner;
    let _: fn() -> Mutex<T> = Mutex::default;
    let _: fn(T) -> Mutex<T> = Mutex::from;

    let _: fn(T) -> RwLock<T> = RwLock::new;
    let _: for<'a> fn(&'a RwLock<T>) -> LockResult<RwLockReadGuard<'a, T>> = RwLock::read;
    let _: for<'a> fn(&'a RwLock<T>) -> LockResult<RwLockWriteGuard<'a, T>> = RwLock::write;
    let _: for<'a> fn(&'a RwLock<T>) -> TryLockResult<RwLockReadGuard<'a, T>> = RwLock::try_read;
    let _: for<'a> fn(&'a RwLock<T>) -> TryLockResult<RwLockWriteGuard<'a, T>> = RwLock::try_write;
    let _: fn(&RwLock<T>) -> bool = RwLock::is_poisoned;
    let _: fn(&RwLock<T>) = RwLock::clear_poison;
    let _: fn(&mut RwLock<T>) -> LockResult<&mut T> = RwLock::get_mut;
    let _: fn(RwLock<T>) -> LockResult<T> = RwLock::into_inner;
    let _: fn() -> RwLock<T> = RwLock::default;
    let _: fn(T) -> RwLock<T> = RwLock::from;

    let _: fn() -> Condvar = Condvar::new;
    let _: fn() -> Condvar = Condvar::default;
    let _: for<'a> fn(&Condvar, MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> = Condvar::wait;
    let _: for<'a> fn(
        &Condvar,
        MutexGuard<'a, T>,
        Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> = Condvar::wait_timeout;
    let _: for<'a> fn(
        &Condvar,
        MutexGuard<'a, T>,
        fn(&mut T) -> bool,
    ) -> LockResult<MutexGuard<'a, T>> = Condvar::wait_while;
    let _: for<'a> fn(
        &Condvar,
        MutexGuard<'a, T>,
        Duration,
        fn(&mut T) -> bool,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> = Condvar::wait_timeout_while;
    let _: fn(&Condvar) = Condvar::notify_one;
    let _: fn(&Condvar) = Condvar::notify_all;
    let _: fn(&WaitTimeoutResult) -> bool = WaitTimeoutResult::timed_out;

    let _: fn(usize) -> Barrier = Barrier::new;
    let _: fn(&Barrier) -> BarrierWaitResult = Barrier::wait;
    let _: fn(&BarrierWaitResult) -> bool = BarrierWaitResult::is_leader;

    // Errors of try_lock are std's.
    let _: fn(TryLockError<MutexGuard<'static, T>>) -> bool =
        |e| matches!(e, TryLockError::WouldBlock);

    // Debug everywhere, Display for guards of Display data.
    fn debug<D: std::fmt::Debug>() {}
    fn display<D: std::fmt::Display>() {}
    debug::<Mutex<T>>();
    debug::<MutexGuard<'static, T>>();
    display::<MutexGuard<'static, T>>();
    debug::<RwLock<T>>();
    debug::<RwLockReadGuard<'static, T>>();
    display::<RwLockReadGuard<'static, T>>();
    debug::<RwLockWriteGuard<'static, T>>();
    display::<RwLockWriteGuard<'static, T>>();
    debug::<Condvar>();
    debug::<Barrier>();
    debug::<BarrierWaitResult>();
    debug::<WaitTimeoutResult>();
    debug::<Arc<T>>();
    display::<Arc<T>>();
    debug::<Weak<T>>();
    debug::<OnceLock<T>>();
    debug::<LazyLock<T>>();
    debug::<Once>();
    debug::<OnceState>();
    debug::<Sender<T>>();
    debug::<SyncSender<T>>();
    debug::<Receiver<T>>();
    debug::<JoinHandle<T>>();
    debug::<Thread>();
    debug::<ThreadId>();
    debug::<Builder>();
    debug::<AccessError>();
    debug::<LocalKey<T>>();
    debug::<AtomicUsize>();
    debug::<AtomicPtr<T>>();
    debug::<UnsafeCell<T>>();
    debug::<Instant>();
    debug::<SystemTime>();
    debug::<SystemTimeError>();

    // Thread-safety of the shared types (as std's).
    fn send_sync<S: Send + Sync>() {}
    send_sync::<Mutex<T>>();
    send_sync::<RwLock<T>>();
    send_sync::<Condvar>();
    send_sync::<Barrier>();
    send_sync::<Arc<Mutex<T>>>();
    send_sync::<Weak<Mutex<T>>>();
    send_sync::<OnceLock<T>>();
    send_sync::<LazyLock<T>>();
    send_sync::<Once>();
    send_sync::<AtomicUsize>();
    send_sync::<AtomicPtr<T>>();
    send_sync::<Thread>();
    send_sync::<JoinHandle<T>>();
    fn send<S: Send>() {}
    send::<Sender<T>>();
    send::<SyncSender<T>>();
    send::<Receiver<T>>();
}

/// Signatures of `Arc`, `Weak`, `OnceLock` and `LazyLock`.
fn shared_signatures() {
    let _: fn(T) -> Arc<T> = Arc::new;
    let _: fn(T) -> std::pin::Pin<Arc<T>> = Arc::pin;
    let _: fn(Arc<T>) -> Result<T, Arc<T>> = Arc::try_unwrap;
    let _: fn(Arc<T>) -> Option<T> = Arc::into_inner;
    let _: fn(Arc<T>) -> T = Arc::unwrap_or_clone;
    let _: fn(&Arc<T>) -> Weak<T> = Arc::downgrade;
    let _: fn(&Arc<T>) -> usize = Arc::strong_count;
    let _: fn(&Arc<T>) -> usize = Arc::weak_count;
    let _: fn(&Arc<T>, &Arc<T>) -> bool = Arc::ptr_eq;
    let _: fn(&Arc<T>) -> *const T = Arc::as_ptr;
    let _: fn(Arc<T>) -> *const T = Arc::into_raw;
    let _: unsafe fn(*const T) -> Arc<T> = Arc::from_raw;
    let _: unsafe fn(*const T) = Arc::increment_strong_count;
    let _: unsafe fn(*const T) = Arc::decrement_strong_count;
    let _: fn(&mut Arc<T>) -> Option<&mut T> = Arc::get_mut;
    let _: fn(&mut Arc<T>) -> &mut T = Arc::make_mut;
    let _: fn(&Arc<T>) -> Arc<T> = Arc::clone;
    let _: fn() -> Arc<T> = Arc::default;
    let _: fn(T) -> Arc<T> = Arc::from;
    let _: fn(Box<T>) -> Arc<T> = Arc::from;
    let _: fn(&str) -> Arc<str> = |s| Arc::from(s);
    let _: fn(String) -> Arc<str> = Arc::from;
    let _: fn(Vec<T>) -> Arc<[T]> = Arc::from;
    let _: fn(Box<dyn std::fmt::Debug + Send + Sync>) -> Arc<dyn std::fmt::Debug + Send + Sync> =
        Arc::from;
    let _: fn(&Weak<T>) -> Option<Arc<T>> = Weak::upgrade;
    let _: fn() -> Weak<T> = Weak::new;
    let _: fn(&Weak<T>) -> usize = Weak::strong_count;
    let _: fn(&Weak<T>) -> usize = Weak::weak_count;
    let _: fn(&Weak<T>, &Weak<T>) -> bool = Weak::ptr_eq;
    let _: fn(&Weak<T>) -> Weak<T> = Weak::clone;
    let _: fn(&Weak<T>) -> *const T = Weak::as_ptr;
    let a: Arc<T> = Arc::new_cyclic(|w: &Weak<T>| {
        assert!(w.upgrade().is_none());
        7
    });
    let r: &T = &a;
    assert_eq!(*r, 7);
    let r: &T = a.as_ref();
    assert_eq!(*r, 7);
    assert_eq!(a, Arc::new(7));
    assert!(a < Arc::new(8));

    let _: fn() -> OnceLock<T> = OnceLock::new;
    let _: fn(&OnceLock<T>) -> Option<&T> = OnceLock::get;
    let _: fn(&mut OnceLock<T>) -> Option<&mut T> = OnceLock::get_mut;
    let _: fn(&OnceLock<T>, T) -> Result<(), T> = OnceLock::set;
    let _: fn(&OnceLock<T>, fn() -> T) -> &T = OnceLock::get_or_init;
    let _: fn(OnceLock<T>) -> Option<T> = OnceLock::into_inner;
    let _: fn(&mut OnceLock<T>) -> Option<T> = OnceLock::take;
    let _: fn(T) -> OnceLock<T> = OnceLock::from;
    let _: fn() -> OnceLock<T> = OnceLock::default;

    let _: fn() -> Once = Once::new;
    let _: fn(&Once, fn()) = Once::call_once;
    let _: fn(&Once, fn(&OnceState)) = Once::call_once_force;
    let _: fn(&Once) -> bool = Once::is_completed;
    let _: fn(&OnceState) -> bool = OnceState::is_poisoned;
    let _: fn(&LazyLock<T>) = heisen::lazy_static::initialize;

    let _: fn(fn() -> T) -> LazyLock<T> = LazyLock::new;
    let _: fn(&LazyLock<T>) -> &T = LazyLock::force;
    let _: fn() -> LazyLock<T> = LazyLock::default;
    // std's `F: FnOnce() -> T`: an initialiser that owns data and moves it out.
    let _: fn(Box<dyn FnOnce() -> T>) -> LazyLock<T, Box<dyn FnOnce() -> T>> = LazyLock::new;
    let _: fn(&LazyLock<T, Box<dyn FnOnce() -> T>>) -> &T = LazyLock::force;
}

/// Signatures of channels.
fn channel_signatures() {
    let _: fn() -> (Sender<T>, Receiver<T>) = mpsc::channel;
    let _: fn(usize) -> (SyncSender<T>, Receiver<T>) = mpsc::sync_channel;
    let _: fn(&Sender<T>, T) -> Result<(), SendError<T>> = Sender::send;
    let _: fn(&Sender<T>) -> Sender<T> = Sender::clone;
    let _: fn(&SyncSender<T>, T) -> Result<(), SendError<T>> = SyncSender::send;
    let _: fn(&SyncSender<T>, T) -> Result<(), TrySendError<T>> = SyncSender::try_send;
    let _: fn(&SyncSender<T>) -> SyncSender<T> = SyncSender::clone;
    let _: fn(&Receiver<T>) -> Result<T, RecvError> = Receiver::recv;
    let _: fn(&Receiver<T>) -> Result<T, TryRecvError> = Receiver::try_recv;
    let _: fn(&Receiver<T>, Duration) -> Result<T, RecvTimeoutError> = Receiver::recv_timeout;
    let _: for<'a> fn(&'a Receiver<T>) -> mpsc::Iter<'a, T> = Receiver::iter;
    let _: for<'a> fn(&'a Receiver<T>) -> mpsc::TryIter<'a, T> = Receiver::try_iter;
    let _: fn(Receiver<T>) -> mpsc::IntoIter<T> = IntoIterator::into_iter;
    fn by_ref<'a>(r: &'a Receiver<T>) -> mpsc::Iter<'a, T> {
        IntoIterator::into_iter(r)
    }
    let _: for<'a> fn(&'a Receiver<T>) -> mpsc::Iter<'a, T> = by_ref;
}

/// Signatures of threads and thread-locals.
fn thread_signatures() {
    let _: fn(fn() -> T) -> JoinHandle<T> = thread::spawn;
    let _: fn(JoinHandle<T>) -> thread::Result<T> = JoinHandle::join;
    let _: fn(&JoinHandle<T>) -> &Thread = JoinHandle::thread;
    let _: fn(&JoinHandle<T>) -> bool = JoinHandle::is_finished;
    let _: fn() -> Thread = thread::current;
    let _: fn() = thread::park;
    let _: fn(Duration) = thread::park_timeout;
    let _: fn(Duration) = thread::sleep;
    let _: fn() = thread::yield_now;
    let _: fn() -> bool = thread::panicking;
    let _: fn() -> std::io::Result<std::num::NonZeroUsize> = thread::available_parallelism;
    let _: fn(&Thread) -> ThreadId = Thread::id;
    let _: fn(&Thread) -> Option<&str> = Thread::name;
    let _: fn(&Thread) = Thread::unpark;
    let _: fn(&Thread) -> Thread = Thread::clone;
    let _: fn(&ThreadId, &ThreadId) -> bool = PartialEq::eq;
    let _: fn() -> Builder = Builder::new;
    let _: fn(Builder, String) -> Builder = Builder::name;
    let _: fn(Builder, usize) -> Builder = Builder::stack_size;
    let _: fn(Builder, fn() -> T) -> std::io::Result<JoinHandle<T>> = Builder::spawn;
    fn scoped<'scope, 'env>(s: &'scope Scope<'scope, 'env>) {
        let h: ScopedJoinHandle<'scope, T> = s.spawn(|| 1);
        let _: &Thread = h.thread();
        let _: bool = h.is_finished();
        let _: thread::Result<T> = h.join();
        let h: std::io::Result<ScopedJoinHandle<'scope, T>> =
            Builder::new().name("s".into()).spawn_scoped(s, || 2);
        let _ = h.map(|h| h.join());
    }
    // Type-checked only (loom has no scoped threads).
    let _ = || thread::scope(|s| scoped(s));

    heisen::thread_local! {
        static COUNT: Cell<T> = const { Cell::new(0) };
        static NAMES: RefCell<Vec<String>> = RefCell::new(Vec::new());
    }
    let _: &'static LocalKey<Cell<T>> = &COUNT;
    let _: fn(&'static LocalKey<Cell<T>>, T) = LocalKey::<Cell<T>>::set;
    let _: fn(&'static LocalKey<Cell<T>>) -> T = LocalKey::<Cell<T>>::get;
    let _: fn(&'static LocalKey<Cell<T>>) -> T = LocalKey::<Cell<T>>::take;
    let _: fn(&'static LocalKey<Cell<T>>, T) -> T = LocalKey::<Cell<T>>::replace;
    let _: fn(&'static LocalKey<RefCell<Vec<String>>>, Vec<String>) =
        LocalKey::<RefCell<Vec<String>>>::set;
    let _: fn(&'static LocalKey<RefCell<Vec<String>>>) -> Vec<String> =
        LocalKey::<RefCell<Vec<String>>>::take;
    let n: usize = NAMES.with_borrow(|v: &Vec<String>| v.len());
    assert_eq!(n, 0);
    NAMES.with_borrow_mut(|v: &mut Vec<String>| v.push("a".into()));
    let r: Result<usize, AccessError> = NAMES.try_with(|v| v.borrow().len());
    assert_eq!(r.unwrap(), 1);
    let c: T = COUNT.with(|c: &Cell<T>| c.get() + 1);
    assert_eq!(c, 1);
}

/// Signatures of atomics.
fn atomic_signatures() {
    let _: fn(Ordering) = atomic::fence;
    let _: fn(Ordering) = atomic::compiler_fence;
    let _: fn(usize) -> AtomicUsize = AtomicUsize::new;
    let _: fn(&AtomicUsize, Ordering) -> usize = AtomicUsize::load;
    let _: fn(&AtomicUsize, usize, Ordering) = AtomicUsize::store;
    let _: fn(&AtomicUsize, usize, Ordering) -> usize = AtomicUsize::swap;
    let _: fn(&AtomicUsize, usize, usize, Ordering) -> usize = AtomicUsize::compare_and_swap;
    let _: fn(&AtomicUsize, usize, usize, Ordering, Ordering) -> Result<usize, usize> =
        AtomicUsize::compare_exchange;
    let _: fn(&AtomicUsize, usize, usize, Ordering, Ordering) -> Result<usize, usize> =
        AtomicUsize::compare_exchange_weak;
    let _: fn(
        &AtomicUsize,
        Ordering,
        Ordering,
        fn(usize) -> Option<usize>,
    ) -> Result<usize, usize> = AtomicUsize::fetch_update;
    let _: fn(&AtomicUsize, usize, Ordering) -> usize = AtomicUsize::fetch_add;
    let _: fn(&AtomicUsize, usize, Ordering) -> usize = AtomicUsize::fetch_sub;
    let _: fn(&AtomicUsize, usize, Ordering) -> usize = AtomicUsize::fetch_and;
    let _: fn(&AtomicUsize, usize, Ordering) -> usize = AtomicUsize::fetch_nand;
    let _: fn(&AtomicUsize, usize, Ordering) -> usize = AtomicUsize::fetch_or;
    let _: fn(&AtomicUsize, usize, Ordering) -> usize = AtomicUsize::fetch_xor;
    let _: fn(&AtomicUsize, usize, Ordering) -> usize = AtomicUsize::fetch_max;
    let _: fn(&AtomicUsize, usize, Ordering) -> usize = AtomicUsize::fetch_min;
    let _: fn(&mut AtomicUsize) -> &mut usize = AtomicUsize::get_mut;
    let _: fn(AtomicUsize) -> usize = AtomicUsize::into_inner;
    let _: fn(&AtomicUsize) -> *mut usize = AtomicUsize::as_ptr;
    let _: fn() -> AtomicUsize = AtomicUsize::default;
    let _: fn(usize) -> AtomicUsize = AtomicUsize::from;
    let _: fn(&AtomicI32, i32, Ordering) -> i32 = AtomicI32::fetch_min;
    let _: fn(bool) -> AtomicBool = AtomicBool::new;
    let _: fn(&AtomicBool, bool, Ordering) -> bool = AtomicBool::fetch_nand;
    let _: fn(&AtomicBool, bool, bool, Ordering) -> bool = AtomicBool::compare_and_swap;
    let _: fn(&AtomicBool) -> *mut bool = AtomicBool::as_ptr;
    let _: fn(*mut T) -> AtomicPtr<T> = AtomicPtr::new;
    let _: fn(&AtomicPtr<T>, Ordering) -> *mut T = AtomicPtr::load;
    let _: fn(&AtomicPtr<T>, *mut T, Ordering) = AtomicPtr::store;
    let _: fn(&AtomicPtr<T>, *mut T, Ordering) -> *mut T = AtomicPtr::swap;
    let _: fn(&AtomicPtr<T>, *mut T, *mut T, Ordering) -> *mut T = AtomicPtr::compare_and_swap;
    let _: fn(&AtomicPtr<T>, *mut T, *mut T, Ordering, Ordering) -> Result<*mut T, *mut T> =
        AtomicPtr::compare_exchange;
    let _: fn(&AtomicPtr<T>, *mut T, *mut T, Ordering, Ordering) -> Result<*mut T, *mut T> =
        AtomicPtr::compare_exchange_weak;
    let _: fn(&mut AtomicPtr<T>) -> &mut *mut T = AtomicPtr::get_mut;
    let _: fn(AtomicPtr<T>) -> *mut T = AtomicPtr::into_inner;
    let _: fn(&AtomicPtr<T>) -> *mut *mut T = AtomicPtr::as_ptr;
    let _: fn() -> AtomicPtr<T> = AtomicPtr::default;
    let _: fn(*mut T) -> AtomicPtr<T> = AtomicPtr::from;
    // std 1.91 / 1.95 items (newer than the crate's MSRV, so this test needs a current rustc in
    // the normal build, where the facade is std)
    new_atomic_api();
}

/// Atomics' items newer than the crate's MSRV (`fetch_not` 1.81, the pointer RMWs 1.91,
/// `try_update` / `update` 1.95).
#[allow(clippy::incompatible_msrv)]
fn new_atomic_api() {
    let _: fn(&AtomicBool, Ordering) -> bool = AtomicBool::fetch_not;
    let _: fn(&AtomicPtr<T>, usize, Ordering) -> *mut T = AtomicPtr::fetch_ptr_add;
    let _: fn(&AtomicPtr<T>, usize, Ordering) -> *mut T = AtomicPtr::fetch_ptr_sub;
    let _: fn(&AtomicPtr<T>, usize, Ordering) -> *mut T = AtomicPtr::fetch_byte_add;
    let _: fn(&AtomicPtr<T>, usize, Ordering) -> *mut T = AtomicPtr::fetch_byte_sub;
    let _: fn(&AtomicPtr<T>, usize, Ordering) -> *mut T = AtomicPtr::fetch_or;
    let _: fn(&AtomicPtr<T>, usize, Ordering) -> *mut T = AtomicPtr::fetch_and;
    let _: fn(&AtomicPtr<T>, usize, Ordering) -> *mut T = AtomicPtr::fetch_xor;
    // `try_update` / `update` take `impl FnMut` (no fn-pointer form): called with annotated
    // argument and result types.
    let a = AtomicUsize::new(1);
    let r: Result<usize, usize> =
        a.try_update(Ordering::SeqCst, Ordering::SeqCst, |v: usize| Some(v + 1));
    let u: usize = a.update(Ordering::SeqCst, Ordering::SeqCst, |v: usize| v + 1);
    assert_eq!((r, u, a.load(Ordering::SeqCst)), (Ok(1), 2, 3));
    let b = AtomicBool::new(false);
    let rb: Result<bool, bool> =
        b.try_update(Ordering::SeqCst, Ordering::SeqCst, |v: bool| Some(!v));
    let ub: bool = b.update(Ordering::SeqCst, Ordering::SeqCst, |v: bool| !v);
    assert_eq!(
        (rb, ub, b.fetch_not(Ordering::SeqCst)),
        (Ok(false), true, false)
    );
    let mut xs = [0u64; 4];
    let p = AtomicPtr::new(xs.as_mut_ptr());
    let base = p.fetch_ptr_add(2, Ordering::SeqCst);
    assert_eq!(p.fetch_byte_sub(8, Ordering::SeqCst), base.wrapping_add(2));
    assert_eq!(p.load(Ordering::SeqCst), base.wrapping_add(1));
    let rp: Result<*mut u64, *mut u64> =
        p.try_update(Ordering::SeqCst, Ordering::SeqCst, |q: *mut u64| {
            Some(q.wrapping_sub(1))
        });
    let up: *mut u64 = p.update(Ordering::SeqCst, Ordering::SeqCst, |q: *mut u64| q);
    assert_eq!((rp, up), (Ok(base.wrapping_add(1)), base));
    assert_eq!(format!("{p:p}"), format!("{base:p}"));
}

/// Signatures of cells, time and hints.
fn other_signatures() {
    let _: fn(T) -> UnsafeCell<T> = UnsafeCell::new;
    let _: fn(UnsafeCell<T>) -> T = UnsafeCell::into_inner;
    let _: fn(&UnsafeCell<T>) -> ConstPtr<T> = UnsafeCell::get;
    let _: fn(&UnsafeCell<T>) -> MutPtr<T> = UnsafeCell::get_mut;
    let _: fn(&UnsafeCell<T>, fn(*const T) -> T) -> T = UnsafeCell::with;
    let _: fn(&UnsafeCell<T>, fn(*mut T) -> T) -> T = UnsafeCell::with_mut;
    let _: unsafe fn(&ConstPtr<T>) -> &T = ConstPtr::deref;
    let _: unsafe fn(&MutPtr<T>) -> &mut T = MutPtr::deref;
    let _: fn(&ConstPtr<T>, fn(*const T) -> T) -> T = ConstPtr::with;
    let _: fn(&MutPtr<T>, fn(*mut T) -> T) -> T = MutPtr::with;

    let _: fn() -> Instant = Instant::now;
    let _: fn(&Instant, Instant) -> Duration = Instant::duration_since;
    let _: fn(&Instant, Instant) -> Option<Duration> = Instant::checked_duration_since;
    let _: fn(&Instant, Instant) -> Duration = Instant::saturating_duration_since;
    let _: fn(&Instant) -> Duration = Instant::elapsed;
    let _: fn(&Instant, Duration) -> Option<Instant> = Instant::checked_add;
    let _: fn(&Instant, Duration) -> Option<Instant> = Instant::checked_sub;
    let _: fn(Instant, Duration) -> Instant = std::ops::Add::add;
    let _: fn(Instant, Duration) -> Instant = std::ops::Sub::sub;
    let _: fn(Instant, Instant) -> Duration = std::ops::Sub::sub;
    let _: fn() -> SystemTime = SystemTime::now;
    let _: fn(&SystemTime, SystemTime) -> Result<Duration, SystemTimeError> =
        SystemTime::duration_since;
    let _: fn(&SystemTime) -> Result<Duration, SystemTimeError> = SystemTime::elapsed;
    let _: fn(&SystemTimeError) -> Duration = SystemTimeError::duration;
    let _: SystemTime = UNIX_EPOCH;
    let _: fn() = heisen::hint::spin_loop;

    use heisen::alloc::{Layout, Track};
    let _: unsafe fn(Layout) -> *mut u8 = heisen::alloc::alloc;
    let _: unsafe fn(Layout) -> *mut u8 = heisen::alloc::alloc_zeroed;
    let _: unsafe fn(*mut u8, Layout) = heisen::alloc::dealloc;
    let _: fn(T) -> Track<T> = Track::new;
    let _: fn(&Track<T>) -> &T = Track::get_ref;
    let _: fn(&mut Track<T>) -> &mut T = Track::get_mut;
    let _: fn(Track<T>) -> T = Track::into_inner;
    let l = Layout::new::<u64>();
    unsafe { heisen::alloc::dealloc(heisen::alloc::alloc(l), l) };
    assert_eq!(Track::new(3).into_inner(), 3);
}

heisen::lazy_static! {
    static ref HITS: AtomicUsize = AtomicUsize::new(0);
}
static TOTAL: LazyLock<Mutex<Vec<T>>> = LazyLock::new(|| Mutex::new(Vec::new()));
static FIRST: OnceLock<T> = OnceLock::new();
static INIT: Once = Once::new();

/// Runs (normal build: once on real threads; model build: under shuttle and loom) a body that
/// uses the items above, with std's types in every expression.
#[heisen::model]
fn facade_items_run_with_std_semantics() {
    sync_signatures();
    shared_signatures();
    channel_signatures();
    thread_signatures();
    atomic_signatures();
    other_signatures();

    // Statics: per execution in model runs, so each execution starts from zero.
    assert_eq!(HITS.fetch_add(1, Ordering::SeqCst), 0);
    TOTAL.lock().unwrap().push(1);
    assert_eq!(*TOTAL.lock().unwrap(), vec![1]);
    assert_eq!(FIRST.get_or_init(|| 5), &5);
    assert_eq!(FIRST.set(6), Err(6));
    assert!(!INIT.is_completed());
    INIT.call_once(|| heisen::lazy_static::initialize(&HITS));
    assert!(INIT.is_completed());

    let m = Arc::new(Mutex::new(0));
    let g = m.lock().unwrap();
    assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
    drop(g);

    let cv = Arc::new((Mutex::new(false), Condvar::new()));
    let (tx, rx) = mpsc::sync_channel::<T>(1);
    let weak = Arc::downgrade(&m);
    let worker = {
        let (m, cv) = (m.clone(), cv.clone());
        Builder::new()
            .name("worker".into())
            .spawn(move || {
                assert_eq!(thread::current().name(), Some("worker"));
                *m.lock().unwrap() += 1;
                tx.send(7).unwrap();
                *cv.0.lock().unwrap() = true;
                cv.1.notify_one();
                thread::current().id()
            })
            .unwrap()
    };
    let (ready, _timed_out) =
        cv.1.wait_timeout_while(cv.0.lock().unwrap(), Duration::from_secs(60), |r| !*r)
            .unwrap();
    assert!(*ready);
    drop(ready);
    assert_eq!(rx.recv(), Ok(7));
    let worker_thread = worker.thread().clone();
    let id = worker.join().unwrap();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(worker_thread.id(), id);
    assert_ne!(id, thread::current().id());
    assert_eq!(*m.lock().unwrap(), 1);
    assert_eq!(weak.upgrade().map(|m| *m.lock().unwrap()), Some(1));
    drop(m);
    assert!(weak.upgrade().is_none());

    let start = Instant::now();
    thread::sleep(Duration::from_millis(1));
    assert!(start.elapsed() >= Duration::from_millis(1));

    // A LazyLock whose initialiser is FnOnce only (it moves its String out), shared with a
    // thread: initialised once, by whichever thread forces it first.
    let owned = String::from("moved in");
    let lazy = Arc::new(LazyLock::new(move || owned));
    let reader = {
        let lazy = lazy.clone();
        thread::spawn(move || lazy.len())
    };
    assert_eq!(lazy.as_str(), "moved in");
    assert_eq!(reader.join().unwrap(), 8);
}
