//! Normal build with feature `tokio`: every `heisen::tokio` item is tokio's own.
#![cfg(all(feature = "tokio", not(feature = "model")))]

use std::any::TypeId;

macro_rules! same {
    ($($a:ty => $b:ty),* $(,)?) => {$(
        assert_eq!(TypeId::of::<$a>(), TypeId::of::<$b>(), "{} is not {}", stringify!($a), stringify!($b));
    )*};
}

#[test]
fn heisen_tokio_items_are_tokio_s_own() {
    use heisen::tokio as h;
    same! {
        h::task::JoinHandle<u8> => tokio::task::JoinHandle<u8>,
        h::task::JoinError => tokio::task::JoinError,
        h::task::JoinSet<u8> => tokio::task::JoinSet<u8>,
        h::sync::Mutex<u8> => tokio::sync::Mutex<u8>,
        h::sync::MutexGuard<'static, u8> => tokio::sync::MutexGuard<'static, u8>,
        h::sync::OwnedMutexGuard<u8> => tokio::sync::OwnedMutexGuard<u8>,
        h::sync::RwLock<u8> => tokio::sync::RwLock<u8>,
        h::sync::RwLockReadGuard<'static, u8> => tokio::sync::RwLockReadGuard<'static, u8>,
        h::sync::RwLockWriteGuard<'static, u8> => tokio::sync::RwLockWriteGuard<'static, u8>,
        h::sync::OwnedRwLockReadGuard<u8> => tokio::sync::OwnedRwLockReadGuard<u8>,
        h::sync::OwnedRwLockWriteGuard<u8> => tokio::sync::OwnedRwLockWriteGuard<u8>,
        h::sync::MappedMutexGuard<'static, u8> => tokio::sync::MappedMutexGuard<'static, u8>,
        h::sync::Semaphore => tokio::sync::Semaphore,
        h::sync::SemaphorePermit<'static> => tokio::sync::SemaphorePermit<'static>,
        h::sync::OwnedSemaphorePermit => tokio::sync::OwnedSemaphorePermit,
        h::sync::AcquireError => tokio::sync::AcquireError,
        h::sync::TryAcquireError => tokio::sync::TryAcquireError,
        h::sync::TryLockError => tokio::sync::TryLockError,
        h::sync::Notify => tokio::sync::Notify,
        h::sync::Barrier => tokio::sync::Barrier,
        h::sync::BarrierWaitResult => tokio::sync::BarrierWaitResult,
        h::sync::oneshot::Sender<u8> => tokio::sync::oneshot::Sender<u8>,
        h::sync::oneshot::Receiver<u8> => tokio::sync::oneshot::Receiver<u8>,
        h::sync::oneshot::error::RecvError => tokio::sync::oneshot::error::RecvError,
        h::sync::oneshot::error::TryRecvError => tokio::sync::oneshot::error::TryRecvError,
        h::sync::mpsc::Sender<u8> => tokio::sync::mpsc::Sender<u8>,
        h::sync::mpsc::Receiver<u8> => tokio::sync::mpsc::Receiver<u8>,
        h::sync::mpsc::UnboundedSender<u8> => tokio::sync::mpsc::UnboundedSender<u8>,
        h::sync::mpsc::UnboundedReceiver<u8> => tokio::sync::mpsc::UnboundedReceiver<u8>,
        h::sync::mpsc::error::SendError<u8> => tokio::sync::mpsc::error::SendError<u8>,
        h::sync::mpsc::error::TrySendError<u8> => tokio::sync::mpsc::error::TrySendError<u8>,
        h::sync::mpsc::error::TryRecvError => tokio::sync::mpsc::error::TryRecvError,
        h::sync::watch::Sender<u8> => tokio::sync::watch::Sender<u8>,
        h::sync::watch::Receiver<u8> => tokio::sync::watch::Receiver<u8>,
        h::sync::watch::Ref<'static, u8> => tokio::sync::watch::Ref<'static, u8>,
        h::sync::watch::error::SendError<u8> => tokio::sync::watch::error::SendError<u8>,
        h::sync::watch::error::RecvError => tokio::sync::watch::error::RecvError,
        h::sync::broadcast::Sender<u8> => tokio::sync::broadcast::Sender<u8>,
        h::sync::broadcast::Receiver<u8> => tokio::sync::broadcast::Receiver<u8>,
        h::sync::broadcast::error::RecvError => tokio::sync::broadcast::error::RecvError,
        h::sync::broadcast::error::TryRecvError => tokio::sync::broadcast::error::TryRecvError,
        h::sync::broadcast::error::SendError<u8> => tokio::sync::broadcast::error::SendError<u8>,
        h::time::Instant => tokio::time::Instant,
        h::time::Duration => std::time::Duration,
        h::time::Sleep => tokio::time::Sleep,
        h::time::Interval => tokio::time::Interval,
        h::time::MissedTickBehavior => tokio::time::MissedTickBehavior,
        h::time::Timeout<std::future::Ready<()>> => tokio::time::Timeout<std::future::Ready<()>>,
        h::time::error::Elapsed => tokio::time::error::Elapsed,
    }
    // Functions are tokio's: the same function item types.
    fn type_id_of<T: 'static>(_: T) -> TypeId {
        TypeId::of::<T>()
    }
    assert_eq!(type_id_of(h::time::sleep), type_id_of(tokio::time::sleep));
    assert_eq!(
        type_id_of(h::time::timeout::<std::future::Ready<()>>),
        type_id_of(tokio::time::timeout::<std::future::Ready<()>>)
    );
    assert_eq!(
        type_id_of(h::spawn::<std::future::Ready<()>>),
        type_id_of(tokio::spawn::<std::future::Ready<()>>)
    );
    assert_eq!(
        type_id_of(h::task::yield_now),
        type_id_of(tokio::task::yield_now)
    );
    assert_eq!(
        type_id_of(h::task::spawn_blocking::<fn() -> u8, u8>),
        type_id_of(tokio::task::spawn_blocking::<fn() -> u8, u8>)
    );
    assert_eq!(
        type_id_of(h::sync::Mutex::<u8>::blocking_lock),
        type_id_of(tokio::sync::Mutex::<u8>::blocking_lock)
    );
    assert_eq!(
        type_id_of(h::sync::RwLock::<u8>::blocking_write),
        type_id_of(tokio::sync::RwLock::<u8>::blocking_write)
    );
}

/// The normal build runs an `async fn` model body once on a tokio runtime with time enabled
/// (and paused: sleeps cost no wall time, as in the model).
#[heisen::model]
async fn the_body_runs_on_a_tokio_runtime_with_time() {
    let handle = tokio::runtime::Handle::current();
    assert_eq!(
        handle.runtime_flavor(),
        tokio::runtime::RuntimeFlavor::CurrentThread
    );
    let t0 = tokio::time::Instant::now();
    heisen::tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    assert!(t0.elapsed() >= std::time::Duration::from_secs(3600));
}
