//! Normal build: the facade is `std` (zero cost) and `#[heisen::model]` runs the body once.
#![cfg(not(feature = "model"))]

use std::any::TypeId;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::atomic::Ordering::SeqCst;

#[test]
fn facade_types_are_the_std_types() {
    use heisen::sync::atomic as a;
    assert_eq!(
        TypeId::of::<a::AtomicUsize>(),
        TypeId::of::<std::sync::atomic::AtomicUsize>()
    );
    assert_eq!(
        TypeId::of::<a::AtomicU64>(),
        TypeId::of::<std::sync::atomic::AtomicU64>()
    );
    assert_eq!(
        TypeId::of::<a::AtomicBool>(),
        TypeId::of::<std::sync::atomic::AtomicBool>()
    );
    assert_eq!(
        TypeId::of::<a::AtomicPtr<u8>>(),
        TypeId::of::<std::sync::atomic::AtomicPtr<u8>>()
    );
    assert_eq!(
        TypeId::of::<heisen::sync::Mutex<u8>>(),
        TypeId::of::<std::sync::Mutex<u8>>()
    );
    assert_eq!(
        TypeId::of::<heisen::sync::RwLock<u8>>(),
        TypeId::of::<std::sync::RwLock<u8>>()
    );
    assert_eq!(
        TypeId::of::<heisen::sync::Condvar>(),
        TypeId::of::<std::sync::Condvar>()
    );
    assert_eq!(
        TypeId::of::<heisen::sync::Arc<u8>>(),
        TypeId::of::<std::sync::Arc<u8>>()
    );
    assert_eq!(
        TypeId::of::<heisen::thread::JoinHandle<()>>(),
        TypeId::of::<std::thread::JoinHandle<()>>()
    );
    assert_eq!(
        TypeId::of::<heisen::time::SystemTime>(),
        TypeId::of::<std::time::SystemTime>()
    );
    assert_eq!(
        TypeId::of::<heisen::time::SystemTimeError>(),
        TypeId::of::<std::time::SystemTimeError>()
    );
    assert_eq!(
        TypeId::of::<heisen::time::Duration>(),
        TypeId::of::<std::time::Duration>()
    );
    assert_eq!(
        TypeId::of::<heisen::time::Instant>(),
        TypeId::of::<std::time::Instant>()
    );
    assert_eq!(heisen::time::UNIX_EPOCH, std::time::UNIX_EPOCH);
    // Items added for std parity (issue 15) are std's too.
    macro_rules! same {
        ($($a:ty => $b:ty),* $(,)?) => {
            $(assert_eq!(TypeId::of::<$a>(), TypeId::of::<$b>(), stringify!($a));)*
        };
    }
    same! {
        heisen::sync::Weak<u8> => std::sync::Weak<u8>,
        heisen::sync::OnceLock<u8> => std::sync::OnceLock<u8>,
        heisen::sync::Once => std::sync::Once,
        heisen::sync::OnceState => std::sync::OnceState,
        heisen::sync::LazyLock<u8> => std::sync::LazyLock<u8>,
        heisen::sync::WaitTimeoutResult => std::sync::WaitTimeoutResult,
        heisen::sync::Barrier => std::sync::Barrier,
        heisen::sync::BarrierWaitResult => std::sync::BarrierWaitResult,
        heisen::sync::MutexGuard<'static, u8> => std::sync::MutexGuard<'static, u8>,
        heisen::sync::RwLockReadGuard<'static, u8> => std::sync::RwLockReadGuard<'static, u8>,
        heisen::sync::RwLockWriteGuard<'static, u8> => std::sync::RwLockWriteGuard<'static, u8>,
        heisen::sync::mpsc::Sender<u8> => std::sync::mpsc::Sender<u8>,
        heisen::sync::mpsc::SyncSender<u8> => std::sync::mpsc::SyncSender<u8>,
        heisen::sync::mpsc::Receiver<u8> => std::sync::mpsc::Receiver<u8>,
        heisen::sync::mpsc::IntoIter<u8> => std::sync::mpsc::IntoIter<u8>,
        heisen::sync::mpsc::TrySendError<u8> => std::sync::mpsc::TrySendError<u8>,
        heisen::sync::mpsc::RecvTimeoutError => std::sync::mpsc::RecvTimeoutError,
        heisen::sync::atomic::AtomicI32 => std::sync::atomic::AtomicI32,
        heisen::thread::Thread => std::thread::Thread,
        heisen::thread::ThreadId => std::thread::ThreadId,
        heisen::thread::Builder => std::thread::Builder,
        heisen::thread::LocalKey<u8> => std::thread::LocalKey<u8>,
        heisen::thread::AccessError => std::thread::AccessError,
        heisen::thread::ScopedJoinHandle<'static, u8> => std::thread::ScopedJoinHandle<'static, u8>,
    }
    // `heisen::thread_local!` and `heisen::lazy_static!` are std's thread_local! / LazyLock.
    heisen::thread_local!(static TL: std::cell::Cell<u8> = const { std::cell::Cell::new(1) });
    let _: &'static std::thread::LocalKey<std::cell::Cell<u8>> = &TL;
    heisen::lazy_static! {
        static ref LS: Vec<u8> = vec![1];
    }
    let _: &'static std::sync::LazyLock<Vec<u8>> = &LS;
    assert_eq!(*LS, vec![1]);
    // The one newtype is layout-identical (repr(transparent), #[inline] accessors).
    assert_eq!(
        std::mem::size_of::<heisen::cell::UnsafeCell<[u64; 3]>>(),
        std::mem::size_of::<[u64; 3]>()
    );
    // Statics work as with std (const constructors).
    static COUNTER: heisen::sync::atomic::AtomicUsize = heisen::sync::atomic::AtomicUsize::new(0);
    static CELL: heisen::sync::Mutex<u8> = heisen::sync::Mutex::new(0);
    COUNTER.fetch_add(1, SeqCst);
    *CELL.lock().unwrap() += 1;
}

#[test]
fn unsafecell_closure_api_reads_and_writes() {
    let c = heisen::cell::UnsafeCell::new(1u32);
    c.with_mut(|p| unsafe { *p += 41 });
    assert_eq!(c.with(|p| unsafe { *p }), 42);
    assert_eq!(c.into_inner(), 42);
}

static SMOKE_RUNS: StdAtomicUsize = StdAtomicUsize::new(0);

#[test]
fn normal_build_runs_the_body_once_and_says_so() {
    let s = heisen::runner::check(&heisen::runner::Config::new("t::smoke"), || {
        SMOKE_RUNS.fetch_add(1, SeqCst);
        let h = heisen::thread::spawn(|| 1 + 1);
        assert_eq!(h.join().unwrap(), 2);
    })
    .unwrap();
    assert_eq!(SMOKE_RUNS.load(SeqCst), 1);
    assert_eq!(s.runs.len(), 1);
    assert_eq!(s.runs[0].backend, "std");
    assert!(
        s.runs[0].bounded.is_some(),
        "a smoke run is not exhaustive and must say so"
    );
    assert!(s.runs[0].description.contains("smoke run"));
}

#[test]
fn normal_build_failure_is_reported() {
    let f = heisen::runner::check(&heisen::runner::Config::new("t::smoke_fail"), || {
        panic!("boom")
    })
    .unwrap_err();
    assert_eq!(f.message, "boom");
    assert!(f.report.contains("--features heisen/model"), "{}", f.report);
}

#[heisen::model]
fn attribute_in_normal_build_runs_on_real_threads() {
    let n = heisen::sync::Arc::new(heisen::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    heisen::thread::spawn(move || n2.fetch_add(1, SeqCst))
        .join()
        .unwrap();
    assert_eq!(n.load(SeqCst), 1);
}

#[heisen::model]
#[should_panic(expected = "boom")]
fn attribute_in_normal_build_propagates_failures() {
    panic!("boom");
}

#[test]
fn block_on_and_future_spawn_work_on_std() {
    let h = heisen::future::spawn(async { 20 + 1 });
    let v = heisen::future::block_on(async { 21 });
    assert_eq!(h.join().unwrap() + v, 42);
}
