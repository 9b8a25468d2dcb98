use super::report_foreign;
use crate::analysis::locks::ForeignKind;
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds a function value the crate stores and calls later, run while a lock guard is
    /// live: a callback or a hand-made vtable entry read from a field (`(self.on_close)(..)`,
    /// `(vtable.cancel)(ptr)`), a closure bound from a `dyn Fn…` field by a pattern
    /// (`Behavior::Function { call, .. } => call(x)`), a `dyn Fn…` callback parameter, or a
    /// method of a trait the crate opens to other crates called through a trait object
    /// (`self.subscriber.register_callsite(meta)` on an `Arc<dyn Subscriber + Send + Sync>`)
    /// under a `static` lock —
    /// directly, or in an in-crate function called under the guard (`task.shutdown()` where
    /// `shutdown` goes through the task's vtable, `dispatch.register_callsite(meta)` where the
    /// wrapper calls its subscriber).
    ///
    /// ### Why is this bad
    /// The function called is whatever was stored: user code, or another type's code behind a
    /// vtable. If it calls back into this type (a mock that calls the mocked function again,
    /// a task whose shutdown re-schedules it), it locks the same mutex on the same thread and
    /// deadlocks; tokio 0.2.6's scheduler did this in `close_remote`, shutting tasks down
    /// through their vtable under the remote queue lock, and tracing-core 0.1.26's `register`
    /// asked every subscriber's `register_callsite` under the callsite registry's lock (a
    /// subscriber that logs there registers a new callsite and locks it again).
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn close(&self) {
    ///     let mut state = self.state.lock().unwrap();
    ///     state.open = false;
    ///     (self.on_close)(); // a callback that calls `self.is_open()` locks `self.state`
    /// }
    /// ```
    ///
    /// ### Use instead
    /// End the guard before calling (copy what the callback needs out of the guarded state),
    /// or pop one item under the lock at a time and call after the guard:
    /// ```rust,ignore
    /// fn close(&self) {
    ///     self.state.lock().unwrap().open = false;
    ///     (self.on_close)();
    /// }
    /// ```
    ///
    /// ### Known limitations
    /// Whether the stored code really calls back is not known: this is a hazard, not a proven
    /// deadlock. Function values are recognised by the call's shape (`(place)(..)`) and by
    /// declared `dyn Fn…` types; a generic `F: Fn` parameter is the caller's closure, followed
    /// by `relock-while-held` when the closure literal relocks, and so is a field whose type is
    /// a type parameter of its struct (`struct DrainFilter<T, F> { filter: F }`: the closure
    /// of the code that built the value). A trait object counts only for
    /// a trait the crate declares `pub` and does not seal (a supertrait named `Sealed`), called
    /// with one of that trait's methods on a place whose declared type is the object (`dyn T`,
    /// `&dyn T`, `Box<dyn T>`, `Arc<dyn T>`, `Rc<dyn T>`), an element of a container of them
    /// (`for l in &self.listeners`) or a `Weak`'s pointee (`self.0.upgrade().map(|s| ..)`):
    /// std and other crates' traits (`dyn Error`, `dyn Write`) and private traits do not, nor
    /// a receiver whose type is not declared, nor the guard of a `Mutex<Box<dyn T>>` itself
    /// (its type is the lock's). And the held lock must be a `static`: any code
    /// reaches a global registry through the crate's API, while an instance's lock is reached
    /// only with a handle to that instance, which the implementors of such traits (clocks,
    /// timers, runtimes, sockets, connections) are rarely given — on instance locks the fact
    /// found 17 calls in the mature-crate corpus and none that could call back. A `dyn`
    /// callback or trait-object parameter counts only in the function that calls it, not in
    /// its callers. A guard handed to the
    /// callee (`self.notify(guard)`) is the callee's, and that call does not count; `try_*`
    /// guards, reentrant locks, code in spawned closures and `#[test]` functions are skipped.
    /// Wakers are `wake-under-lock`'s (off by default).
    pub static FOREIGN_CALL_UNDER_LOCK = {
        name: "foreign-call-under-lock",
        group: Deadlock,
        level: Warn,
        summary: "a stored callback, a vtable function, a `dyn Fn` callback or an open trait's method on a trait object is called while a lock guard is live: code that calls back in deadlocks",
    };
}

pub struct ForeignCallUnderLock;

impl Rule for ForeignCallUnderLock {
    fn meta(&self) -> &'static RuleMeta {
        &FOREIGN_CALL_UNDER_LOCK
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        report_foreign(
            &FOREIGN_CALL_UNDER_LOCK,
            cx,
            |k| {
                matches!(
                    k,
                    ForeignKind::StoredCallable | ForeignKind::DynCallback | ForeignKind::DynMethod
                )
            },
            out,
        );
    }
}
