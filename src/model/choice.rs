//! The model's own explored choices (feature `model`): the nondeterminism that is not a thread
//! interleaving — which in-flight message `heisen::net` delivers, whether a fault strikes, and
//! whether a `heisen::tokio` timer fires early. One mechanism for every such choice, per
//! backend: **loom explores every option**, **shuttle samples** one from the schedule's
//! seeded randomness (so a replay line reproduces it).
//!
//! `heisen::choose` (user-visible, a row of its own) keeps its thread-per-call emulation in
//! `misc.rs`: it is rare, and its helper is joined at once. The choices here can be frequent
//! within one execution, so loom's come from an oracle thread's bits ([`loom_pool`]).

use super::rt::Backend;

/// A source of explored choices for one object (a network, an executor).
pub(crate) enum Chooser {
    /// Loom explores every option (see [`loom_pool`]).
    Loom(loom_pool::Pool),
    /// Shuttle samples one from the schedule's seeded randomness (replayable).
    Shuttle,
}

impl Chooser {
    /// A chooser whose loom oracle starts now (so threads spawned later are ordered after it:
    /// create it before the threads that use it).
    pub(crate) fn new(b: Backend) -> Chooser {
        match b {
            Backend::Loom => Chooser::Loom(loom_pool::Pool::start()),
            _ => Chooser::Shuttle,
        }
    }
    /// A chooser whose loom oracle starts at its first choice (an execution that never
    /// chooses pays nothing), and only if loom's thread limit leaves room for it.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn lazy(b: Backend) -> Chooser {
        match b {
            Backend::Loom => Chooser::Loom(loom_pool::Pool::lazy()),
            _ => Chooser::Shuttle,
        }
    }
    /// One of `0..n` (`n > 1`). Under loom a chain of binary choices: option i is "i bits 1,
    /// then a 0"; every option is one path, so loom explores each exactly once.
    pub(crate) fn choose(&self, n: usize) -> usize {
        debug_assert!(n > 1);
        match self {
            Chooser::Loom(pool) => {
                for i in 0..n - 1 {
                    if !pool.bit() {
                        return i;
                    }
                }
                n - 1
            }
            Chooser::Shuttle => {
                use shuttle::rand::Rng;
                shuttle::rand::thread_rng().gen_range(0..n)
            }
        }
    }
    /// A yes/no choice: loom explores both (one bit); shuttle says yes with probability
    /// `1/odds` (`odds ≥ 1`). `None` under loom when no bit can be had: the oracle's thread
    /// would exceed loom's thread limit.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn coin(&self, odds: usize) -> Option<bool> {
        match self {
            Chooser::Loom(pool) => pool.try_bit(),
            Chooser::Shuttle => {
                use shuttle::rand::Rng;
                Some(shuttle::rand::thread_rng().gen_range(0..odds.max(1)) == 0)
            }
        }
    }
}

/// Binary choices loom explores, without a thread per choice.
///
/// loom has no choice primitive, and its threads are never reused within an execution (at
/// most 5, the test body included), so `heisen::choose`'s helper thread per call cannot serve
/// an object that chooses at every delivery or await. Instead one **oracle** thread per object
/// creates [`BITS`] atomics and stores `1` into each (all `Relaxed`) and ends. Nothing orders
/// those stores before any other thread's loads in loom's memory model (no acquire ever reads
/// them), so a load of a fresh atomic may return the initial `0` or the `1`: loom explores
/// both. Each bit is read once.
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
/// (within the default preemption bound): an oracle multiplies a loom run's executions by at
/// most 3 (exactly 3 for a body without other threads; less where the alternatives' smaller
/// preemption budget prunes the rest). Threads that already ran before the oracle started are
/// not ordered after it (more interleavings, never wrong ones): start it first where that is
/// possible. When the bits run out, another oracle (another loom thread) is started.
pub(crate) mod loom_pool {
    use crate::model::rt;
    use loom::sync::atomic::AtomicUsize;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex, PoisonError};

    /// Bits per oracle.
    pub(crate) const BITS: usize = 24;

    /// The current oracle's bits (none yet for a lazy pool) and the next one to read. (A std
    /// mutex: loom never sees it.)
    pub(crate) struct Pool(Mutex<(Arc<Vec<AtomicUsize>>, usize)>);

    impl Pool {
        pub(crate) fn start() -> Pool {
            Pool(Mutex::new((oracle(), 0)))
        }
        /// A pool whose first oracle starts at its first bit.
        #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
        pub(crate) fn lazy() -> Pool {
            Pool(Mutex::new((Arc::default(), 0)))
        }
        /// A fresh binary choice (starting an oracle if the bits ran out, whatever loom's
        /// thread limit says: exceeding it fails the run with loom's message).
        pub(crate) fn bit(&self) -> bool {
            self.next(true).expect("a bit")
        }
        /// A fresh binary choice, or `None` if it needs an oracle and loom's thread limit
        /// leaves no room for one.
        #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
        pub(crate) fn try_bit(&self) -> Option<bool> {
            self.next(false)
        }
        fn next(&self, force: bool) -> Option<bool> {
            let lock = || self.0.lock().unwrap_or_else(PoisonError::into_inner);
            let mut p = lock();
            if p.1 == p.0.len() {
                if !force && rt::loom_threads() >= rt::LOOM_MAX_THREADS {
                    return None;
                }
                // (not holding the std lock while the oracle runs: loom switches threads there)
                drop(p);
                let fresh = oracle();
                p = lock();
                *p = (fresh, 0);
            }
            let i = p.1;
            p.1 += 1;
            Some(p.0[i].load(Ordering::Relaxed) == 1)
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
        rt::helper_thread_started();
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
