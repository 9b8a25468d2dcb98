use super::push_label;
use crate::analysis::locks::{foreign_under_lock, ForeignKind};
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, label, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds code the crate does not show run while a lock guard is live: waking a task
    /// (`waker.wake()`, `wake_by_ref()`), dropping a `Waker` by overwriting it
    /// (`*slot = Some(cx.waker().clone())`), calling a function value read from a field or
    /// a vtable (`(self.on_close)(..)`, `(vtable.cancel)(ptr)`) or a `dyn Fn…` callback
    /// parameter — directly, or in an in-crate function called under the guard
    /// (`tail.notify_rx()` where `notify_rx` wakes).
    ///
    /// ### Why is this bad
    /// A waker runs a function of whoever built it, a stored callback or a trait object is
    /// someone else's code. If that code calls back into this type (sends on the channel,
    /// drops a handle, releases a permit), it locks the same mutex on the same thread and
    /// deadlocks; tokio fixed exactly this in `broadcast::Sender::send` (custom wakers), in
    /// `Semaphore::poll_acquire` (an old waker dropped under the waiters lock) and in the
    /// scheduler's `close_remote` (a task shut down through its vtable under the queue lock).
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
    /// Take what is to be woken or called out of the guarded state, end the guard, then wake
    /// or call (tokio's `WakeList`: collect under the lock, `drop(guard)`, `wake_all()`); move
    /// an old waker out with `mem::replace` and drop it after the guard:
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
    /// Whether the foreign code really calls back is not known: this is a hazard, not a
    /// proven deadlock, so it warns. A `wake` that resolves to exactly one crate function is
    /// that function (followed like any call); wakers are recognised by the method names
    /// `wake`/`wake_by_ref`, by an overwrite whose value comes from `cx.waker()`, or by a
    /// place declared `Waker`/`Option<Waker>`; a waker dropped by other means (`take()`
    /// discarded, a container cleared, the end of a binding's scope) is not seen. A guard
    /// handed to the callee (`self.notify(guard)`) is the callee's, and the call does not
    /// count. A `dyn` callback parameter counts only in the function that calls it, not in
    /// its callers. Reentrant locks, code in spawned closures and `#[test]` functions are
    /// skipped.
    pub static FOREIGN_CALL_UNDER_LOCK = {
        name: "foreign-call-under-lock",
        group: Deadlock,
        level: Warn,
        summary: "a waker, a stored callback or a vtable function is called while a lock guard is live: code that calls back in deadlocks",
    };
}

pub struct ForeignCallUnderLock;

impl Rule for ForeignCallUnderLock {
    fn meta(&self) -> &'static RuleMeta {
        &FOREIGN_CALL_UNDER_LOCK
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        let summary = cx.lock_summary();
        for (file, f) in cx.keyed_functions() {
            let nesting = cx.nesting(f.key);
            for u in foreign_under_lock(cx.index, summary, f.key, f.facts, nesting) {
                let func = f.facts;
                let outer = &nesting.acqs[u.outer];
                let outer_ev = outer.event(func);
                let at = &func.events[u.at];
                let lock = if outer.lock.is_empty() {
                    "the lock".to_string()
                } else {
                    format!("`{}`", outer.lock)
                };
                let what = u.foreign.text.as_str();
                let code = match u.foreign.kind {
                    ForeignKind::Wake => format!("`{what}()` runs the waker's own code"),
                    ForeignKind::WakerDrop => {
                        format!("overwriting `{what}` drops the old waker, which runs its own code")
                    }
                    ForeignKind::StoredCallable => {
                        format!("`{what}` calls a function value stored in a field")
                    }
                    ForeignKind::DynCallback => format!("`{what}` calls a `dyn` callback"),
                };
                let message = if u.foreign.via.is_empty() {
                    format!(
                        "{code} while the guard of {lock} from line {} is live: if that code \
                         calls back into this type, it locks {lock} again and the thread waits \
                         for itself",
                        outer_ev.region.line
                    )
                } else {
                    format!(
                        "`{}` reaches foreign code ({code}) while the guard of {lock} from line \
                         {} is live: if that code calls back into this type, it locks {lock} \
                         again and the thread waits for itself",
                        crate::analysis::last_segment(&at.name),
                        outer_ev.region.line
                    )
                };
                let mut out_f = finding(
                    &FOREIGN_CALL_UNDER_LOCK,
                    file,
                    event_region(at),
                    message,
                    "collect what is to be woken or called under the lock, end the guard, then \
                     wake or call (move an old waker out with `mem::replace` and drop it after \
                     the guard)"
                        .to_string(),
                );
                label(
                    &mut out_f,
                    event_region(outer_ev),
                    format!("{lock} is locked here"),
                );
                for (i, (k, region)) in u.foreign.via.iter().enumerate().skip(1) {
                    let caller = &cx.files[k.file].facts.functions[k.func];
                    push_label(
                        &mut out_f,
                        cx,
                        file,
                        k.file,
                        *region,
                        format!("`{}` calls on here (step {i})", caller.short_name()),
                    );
                }
                if !u.foreign.via.is_empty() {
                    let (k, region) = u.foreign.at;
                    let callee = &cx.files[k.file].facts.functions[k.func];
                    push_label(
                        &mut out_f,
                        cx,
                        file,
                        k.file,
                        region,
                        format!("`{}` calls `{what}` here", callee.short_name()),
                    );
                }
                out.push(out_f);
            }
        }
    }
}
