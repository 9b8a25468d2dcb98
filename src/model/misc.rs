//! Model-build hint, future and choice.

use super::rt::{self, Backend, Op};
use std::future::Future;
use std::panic::Location;

/// Spin-loop hint (a yield point in model runs, so spin loops terminate).
#[track_caller]
pub fn spin_loop() {
    match rt::backend() {
        Backend::Std => std::hint::spin_loop(),
        Backend::Loom => loom::hint::spin_loop(),
        Backend::Shuttle => shuttle::hint::spin_loop(),
    }
    rt::record(Op::Yield, None, None, Some(Location::caller()));
}

/// Runs a future to completion on the current (model) thread.
pub fn block_on<F: Future>(f: F) -> F::Output {
    match rt::backend() {
        Backend::Std => crate::future_std::block_on(f),
        Backend::Loom => loom::future::block_on(f),
        Backend::Shuttle => {
            rt::note_future();
            shuttle::future::block_on(f)
        }
    }
}

/// Spawns a future as a concurrent task; join it with [`crate::thread::JoinHandle::join`].
/// (In loom and std runs the task gets its own thread that blocks on it.)
#[track_caller]
pub fn spawn<F>(f: F) -> crate::thread::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    crate::thread::spawn(move || block_on(f))
}

/// Nondeterministic choice in `0..n`: every value is explored by loom, randomly chosen (and
/// replayable) under shuttle, `0` on real threads.
#[track_caller]
pub fn choose(n: usize) -> usize {
    assert!(n > 0, "heisen::choose(0)");
    let v = match rt::backend() {
        Backend::Std => 0,
        Backend::Loom => loom_choose(n),
        Backend::Shuttle => {
            use shuttle::rand::Rng;
            shuttle::rand::thread_rng().gen_range(0..n)
        }
    };
    rt::record(Op::Choose(v, n), None, None, Some(Location::caller()));
    v
}

/// loom has no public choice primitive; emulate it with a race that loom must explore:
/// a helper thread stores 1..n into an atomic while this thread reads it once.
pub(crate) fn loom_choose(n: usize) -> usize {
    use loom::sync::atomic::{AtomicUsize, Ordering};
    use loom::sync::Arc;
    if n == 1 {
        return 0;
    }
    let a = Arc::new(AtomicUsize::new(0));
    let a2 = a.clone();
    rt::helper_thread_started();
    let h = loom::thread::spawn(move || {
        for i in 1..n {
            a2.store(i, Ordering::Relaxed);
        }
    });
    let v = a.load(Ordering::Relaxed);
    h.join().unwrap();
    v
}
