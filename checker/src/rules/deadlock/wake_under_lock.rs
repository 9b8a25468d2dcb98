use super::report_foreign;
use crate::analysis::locks::ForeignKind;
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds a task woken while a lock guard is live: `waker.wake()` / `wake_by_ref()`, or a
    /// `Waker` dropped by overwriting it (`*slot = Some(cx.waker().clone())`, an assignment to
    /// a place declared `Waker`/`Option<Waker>`) — directly, or in an in-crate function called
    /// under the guard (`tail.notify_rx()` where `notify_rx` wakes). Off by default: waking
    /// under a lock is common and harmless with the runtimes' own wakers.
    ///
    /// ### Why is this bad
    /// A waker runs a function of whoever built it, and dropping one runs its vtable's drop.
    /// A custom waker (a test harness, a `futures::task::ArcWake`, a wrapper that polls
    /// inline) that sends on the channel, drops a handle or releases a permit locks the same
    /// mutex on the same thread and deadlocks; tokio fixed this in `broadcast::Sender::send`
    /// (1.28) and in `Semaphore::poll_acquire`, whose old waker was dropped under the waiters
    /// lock (1.26).
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn send(&self, v: T) {
    ///     let mut state = self.state.lock().unwrap();
    ///     state.queue.push_back(v);
    ///     if let Some(w) = state.rx_waker.take() {
    ///         w.wake(); // a waker that sends again locks `self.state`: deadlock
    ///     }
    /// }
    /// ```
    ///
    /// ### Use instead
    /// Take the wakers out of the guarded state, end the guard, then wake (tokio's
    /// `WakeList`: collect under the lock, `drop(guard)`, `wake_all()`); move an old waker out
    /// with `mem::replace` and drop it after the guard:
    /// ```rust,ignore
    /// fn send(&self, v: T) {
    ///     let waker = {
    ///         let mut state = self.state.lock().unwrap();
    ///         state.queue.push_back(v);
    ///         state.rx_waker.take()
    ///     };
    ///     if let Some(w) = waker {
    ///         w.wake();
    ///     }
    /// }
    /// ```
    ///
    /// ### Known limitations
    /// Whether some waker calls back is not known, which is why the rule is off by default
    /// (on the pinned corpus it reports 49 places, almost all in async primitives built on
    /// the runtime's wakers). A `wake` that resolves to exactly one crate function is that
    /// function (followed like any call); a waker dropped by other means (`take()` discarded,
    /// a container cleared, the end of a binding's scope) is not seen. A guard handed to the
    /// callee (`self.notify(guard)`) is the callee's, and that call does not count; `try_*`
    /// guards, reentrant locks, code in spawned closures and `#[test]` functions are skipped.
    pub static WAKE_UNDER_LOCK = {
        name: "wake-under-lock",
        group: Deadlock,
        level: Allow,
        summary: "a waker is woken or dropped while a lock guard is live: a custom waker that calls back in deadlocks",
    };
}

pub struct WakeUnderLock;

impl Rule for WakeUnderLock {
    fn meta(&self) -> &'static RuleMeta {
        &WAKE_UNDER_LOCK
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        report_foreign(
            &WAKE_UNDER_LOCK,
            cx,
            |k| matches!(k, ForeignKind::Wake | ForeignKind::WakerDrop),
            out,
        );
    }
}
