//! The primitives under `heisen::net`, per backend, none of them recorded (the network records
//! its own rows): a lock, a condvar, a yield and the delivery choice. The backend is chosen
//! when the network is created (as every facade object's): std outside model runs and in normal
//! builds, loom or shuttle inside a model run; the choices are the model's shared ones
//! (`model::choice`).

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
/// whether a timeout fires first. In model runs the model's shared explored choices
/// (`model::choice`: loom explores every option from an oracle thread started with the
/// network, shuttle samples); elsewhere always the first option.
pub(super) enum Chooser {
    /// Always the first option: the oldest message, no fault, no early timeout.
    Std,
    #[cfg(feature = "model")]
    Model(crate::model::choice::Chooser),
}

impl Chooser {
    pub(super) fn new(kind: Kind) -> Chooser {
        match kind {
            Kind::Std => Chooser::Std,
            #[cfg(feature = "model")]
            Kind::Loom => Chooser::Model(crate::model::choice::Chooser::new(
                crate::model::rt::Backend::Loom,
            )),
            #[cfg(feature = "model")]
            Kind::Shuttle => Chooser::Model(crate::model::choice::Chooser::new(
                crate::model::rt::Backend::Shuttle,
            )),
        }
    }
    /// One of `0..n` (`n > 1`).
    pub(super) fn choose(&self, n: usize) -> usize {
        debug_assert!(n > 1);
        match self {
            Chooser::Std => 0,
            #[cfg(feature = "model")]
            Chooser::Model(c) => c.choose(n),
        }
    }
}
