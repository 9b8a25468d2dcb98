//! The primitives under `heisen::net`, per backend, none of them recorded (the network records
//! its own rows): a lock, a condvar, a yield and the delivery choice. The backend is chosen
//! when the network is created (as every facade object's): std outside model runs and in normal
//! builds, loom or shuttle inside a model run.

use std::ops::{Deref, DerefMut};
use std::sync::PoisonError;
use std::time::Duration;

/// Which backend a network was created under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Std,
    #[cfg(feature = "model")]
    Loom,
    #[cfg(feature = "model")]
    Shuttle,
}

impl Kind {
    /// The backend of the calling thread.
    pub(super) fn current() -> Kind {
        #[cfg(feature = "model")]
        {
            use crate::model::rt::{backend, Backend};
            match backend() {
                Backend::Std => Kind::Std,
                Backend::Loom => Kind::Loom,
                Backend::Shuttle => Kind::Shuttle,
            }
        }
        #[cfg(not(feature = "model"))]
        Kind::Std
    }
    /// Whether this is a model backend (loom or shuttle).
    pub(super) fn is_model(self) -> bool {
        self != Kind::Std
    }
}

pub(super) enum Lock<T> {
    Std(std::sync::Mutex<T>),
    #[cfg(feature = "model")]
    Loom(loom::sync::Mutex<T>),
    #[cfg(feature = "model")]
    Shuttle(shuttle::sync::Mutex<T>),
}

pub(super) enum Guard<'a, T> {
    Std(std::sync::MutexGuard<'a, T>),
    #[cfg(feature = "model")]
    Loom(loom::sync::MutexGuard<'a, T>),
    #[cfg(feature = "model")]
    Shuttle(shuttle::sync::MutexGuard<'a, T>),
}

impl<T> Lock<T> {
    pub(super) fn new(kind: Kind, v: T) -> Self {
        match kind {
            Kind::Std => Lock::Std(std::sync::Mutex::new(v)),
            #[cfg(feature = "model")]
            Kind::Loom => Lock::Loom(loom::sync::Mutex::new(v)),
            #[cfg(feature = "model")]
            Kind::Shuttle => Lock::Shuttle(shuttle::sync::Mutex::new(v)),
        }
    }
    /// Locks, ignoring poison (the network never panics while holding it; a user panic
    /// elsewhere must not make every other node panic too).
    pub(super) fn lock(&self) -> Guard<'_, T> {
        match self {
            Lock::Std(m) => Guard::Std(m.lock().unwrap_or_else(PoisonError::into_inner)),
            #[cfg(feature = "model")]
            Lock::Loom(m) => Guard::Loom(m.lock().unwrap_or_else(PoisonError::into_inner)),
            #[cfg(feature = "model")]
            Lock::Shuttle(m) => Guard::Shuttle(m.lock().unwrap_or_else(PoisonError::into_inner)),
        }
    }
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Guard::Std(g) => g,
            #[cfg(feature = "model")]
            Guard::Loom(g) => g,
            #[cfg(feature = "model")]
            Guard::Shuttle(g) => g,
        }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match self {
            Guard::Std(g) => g,
            #[cfg(feature = "model")]
            Guard::Loom(g) => g,
            #[cfg(feature = "model")]
            Guard::Shuttle(g) => g,
        }
    }
}

pub(super) enum Cond {
    Std(std::sync::Condvar),
    #[cfg(feature = "model")]
    Loom(loom::sync::Condvar),
    #[cfg(feature = "model")]
    Shuttle(shuttle::sync::Condvar),
}

impl Cond {
    pub(super) fn new(kind: Kind) -> Self {
        match kind {
            Kind::Std => Cond::Std(std::sync::Condvar::new()),
            #[cfg(feature = "model")]
            Kind::Loom => Cond::Loom(loom::sync::Condvar::new()),
            #[cfg(feature = "model")]
            Kind::Shuttle => Cond::Shuttle(shuttle::sync::Condvar::new()),
        }
    }
    /// Waits for a notification (may wake spuriously: callers loop).
    pub(super) fn wait<'a, T>(&self, g: Guard<'a, T>) -> Guard<'a, T> {
        match (self, g) {
            (Cond::Std(c), Guard::Std(g)) => {
                Guard::Std(c.wait(g).unwrap_or_else(PoisonError::into_inner))
            }
            #[cfg(feature = "model")]
            (Cond::Loom(c), Guard::Loom(g)) => {
                Guard::Loom(c.wait(g).unwrap_or_else(PoisonError::into_inner))
            }
            #[cfg(feature = "model")]
            (Cond::Shuttle(c), Guard::Shuttle(g)) => {
                Guard::Shuttle(c.wait(g).unwrap_or_else(PoisonError::into_inner))
            }
            #[cfg(feature = "model")]
            _ => unreachable!("a network's lock and condvar share its backend"),
        }
    }
    /// Real timed wait (std networks only; model networks never wait for time).
    pub(super) fn wait_timeout<'a, T>(&self, g: Guard<'a, T>, d: Duration) -> Guard<'a, T> {
        match (self, g) {
            (Cond::Std(c), Guard::Std(g)) => Guard::Std(
                c.wait_timeout(g, d)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0,
            ),
            #[cfg(feature = "model")]
            (_, g) => self.wait(g),
        }
    }
    pub(super) fn notify_all(&self) {
        match self {
            Cond::Std(c) => c.notify_all(),
            #[cfg(feature = "model")]
            Cond::Loom(c) => c.notify_all(),
            #[cfg(feature = "model")]
            Cond::Shuttle(c) => c.notify_all(),
        }
    }
}

/// Lets the other threads run (a model scheduling point; std: `thread::yield_now`).
pub(super) fn yield_now(kind: Kind) {
    match kind {
        Kind::Std => std::thread::yield_now(),
        #[cfg(feature = "model")]
        Kind::Loom => loom::thread::yield_now(),
        #[cfg(feature = "model")]
        Kind::Shuttle => shuttle::thread::yield_now(),
    }
}

/// The network's choices: which pending message is delivered, whether a fault strikes,
/// whether a timeout fires first.
pub(super) enum Chooser {
    /// Always the first option: the oldest message, no fault, no early timeout.
    Std,
    /// Loom explores every option (see [`loom_pool`]).
    #[cfg(feature = "model")]
    Loom(loom_pool::Pool),
    /// Shuttle samples one from the schedule's seeded randomness (replayable).
    #[cfg(feature = "model")]
    Shuttle,
}

impl Chooser {
    pub(super) fn new(kind: Kind) -> Chooser {
        match kind {
            Kind::Std => Chooser::Std,
            #[cfg(feature = "model")]
            Kind::Loom => Chooser::Loom(loom_pool::Pool::start()),
            #[cfg(feature = "model")]
            Kind::Shuttle => Chooser::Shuttle,
        }
    }
    /// One of `0..n` (`n > 1`).
    pub(super) fn choose(&self, n: usize) -> usize {
        debug_assert!(n > 1);
        match self {
            Chooser::Std => 0,
            #[cfg(feature = "model")]
            Chooser::Loom(pool) => {
                // A chain of binary choices: option i is "i bits 1, then a 0"; every option is
                // one path, so loom explores each exactly once.
                for i in 0..n - 1 {
                    if !pool.bit() {
                        return i;
                    }
                }
                n - 1
            }
            #[cfg(feature = "model")]
            Chooser::Shuttle => {
                use shuttle::rand::Rng;
                shuttle::rand::thread_rng().gen_range(0..n)
            }
        }
    }
}

/// Binary choices loom explores, without a thread per choice.
///
/// loom has no choice primitive, and its threads are never reused within an execution (at
/// most 5, the test body included), so `heisen::choose`'s helper thread per call cannot serve
/// a network that chooses at every delivery. Instead one **oracle** thread per network creates
/// [`BITS`] atomics and stores `1` into each (all `Relaxed`) and ends. Nothing orders those
/// stores before any other thread's loads in loom's memory model (no acquire ever reads them),
/// so a load of a fresh atomic may return the initial `0` or the `1`: loom explores both. Each
/// bit is read once.
///
/// Exploration cost. Every way for the creator to learn that the oracle is done would also
/// order the oracle's stores before it (then it could only read the `1`s), except a race
/// loom explores. So: the creator parks until the oracle created its atomics (an unpark orders
/// the creation before the creator's loads, as loom requires, and is no access), the oracle
/// stores its bits, and the creator waits for a std flag by yielding, then reads one loom
/// atomic the oracle wrote last. That read orders the oracle before every later load in loom's
/// *scheduling* analysis (its DPOR), without ordering it in the memory model, so reading a bit
/// costs no redundant interleavings (without it, every bit read would race with its store).
/// The one race left, on that last atomic, makes loom explore the oracle's start three ways
/// (within the default preemption bound): a network multiplies a loom run's executions by at
/// most 3 (exactly 3 for a body without other threads; less where the alternatives' smaller
/// preemption budget prunes the rest). Threads that already ran before the network was
/// created are not ordered after the oracle: create the network first. When the bits run out,
/// another oracle (another loom thread) is started.
#[cfg(feature = "model")]
pub(super) mod loom_pool {
    use loom::sync::atomic::AtomicUsize;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex, PoisonError};

    /// Bits per oracle.
    pub(crate) const BITS: usize = 24;

    /// The current oracle's bits and the next one to read. (A std mutex: loom never sees it.)
    pub(crate) struct Pool(Mutex<(Arc<Vec<AtomicUsize>>, usize)>);

    impl Pool {
        pub(crate) fn start() -> Pool {
            Pool(Mutex::new((oracle(), 0)))
        }
        /// A fresh binary choice.
        pub(crate) fn bit(&self) -> bool {
            let lock = || self.0.lock().unwrap_or_else(PoisonError::into_inner);
            let mut p = lock();
            if p.1 == p.0.len() {
                // (not holding the std lock while the oracle runs: loom switches threads there)
                drop(p);
                let fresh = oracle();
                p = lock();
                *p = (fresh, 0);
            }
            let i = p.1;
            p.1 += 1;
            p.0[i].load(Ordering::Relaxed) == 1
        }
    }

    /// Starts an oracle thread and returns its bits once it stored them.
    fn oracle() -> Arc<Vec<AtomicUsize>> {
        let slot: Arc<Mutex<Option<Arc<Vec<AtomicUsize>>>>> = Arc::default();
        let created = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let last = Arc::new(AtomicUsize::new(0));
        let (slot2, created2, done2, last2) =
            (slot.clone(), created.clone(), done.clone(), last.clone());
        let me = loom::thread::current();
        loom::thread::spawn(move || {
            let bits: Arc<Vec<AtomicUsize>> =
                Arc::new((0..BITS).map(|_| AtomicUsize::new(0)).collect());
            *slot2.lock().unwrap_or_else(PoisonError::into_inner) = Some(bits.clone());
            created2.store(true, Ordering::SeqCst);
            // The creator must see the atomics created (loom checks that a load happens after
            // the initialisation) but not the stores below: an unpark orders what came before
            // it, and it is no access loom's scheduling analysis would explore a race on.
            me.unpark();
            for b in bits.iter() {
                b.store(1, Ordering::Relaxed);
            }
            drop(bits);
            last2.store(1, Ordering::Relaxed);
            done2.store(true, Ordering::SeqCst);
        });
        // Parked (not yielding: loom would then never let this thread read an initial value
        // it saw before a yield) until the oracle created its atomics.
        while !created.load(Ordering::SeqCst) {
            loom::thread::park();
        }
        while !done.load(Ordering::SeqCst) {
            loom::thread::yield_now();
        }
        // Orders the oracle's stores before this thread's (and its later children's) loads in
        // loom's scheduling analysis; `Relaxed`: no happens-before in the memory model.
        let _ = last.load(Ordering::Relaxed);
        let bits = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        bits.expect("the oracle stored its bits")
    }
}
