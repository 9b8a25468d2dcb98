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
    /// (`Behavior::Function { call, .. } => call(x)`), or a `dyn Fn…` callback parameter —
    /// directly, or in an in-crate function called under the guard (`task.shutdown()` where
    /// `shutdown` goes through the task's vtable).
    ///
    /// ### Why is this bad
    /// The function called is whatever was stored: user code, or another type's code behind a
    /// vtable. If it calls back into this type (a mock that calls the mocked function again,
    /// a task whose shutdown re-schedules it), it locks the same mutex on the same thread and
    /// deadlocks; tokio 0.2.6's scheduler did this in `close_remote`, shutting tasks down
    /// through their vtable under the remote queue lock.
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
    /// by `relock-while-held` when the closure literal relocks. A `dyn` callback parameter
    /// counts only in the function that calls it, not in its callers. A guard handed to the
    /// callee (`self.notify(guard)`) is the callee's, and that call does not count; `try_*`
    /// guards, reentrant locks, code in spawned closures and `#[test]` functions are skipped.
    /// Wakers are `wake-under-lock`'s (off by default).
    pub static FOREIGN_CALL_UNDER_LOCK = {
        name: "foreign-call-under-lock",
        group: Deadlock,
        level: Warn,
        summary: "a stored callback, a vtable function or a `dyn Fn` callback is called while a lock guard is live: code that calls back in deadlocks",
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
            |k| matches!(k, ForeignKind::StoredCallable | ForeignKind::DynCallback),
            out,
        );
    }
}
