use super::{push_label, report_same_lock};
use crate::analysis::locks::callback_relocks;
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, label, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds a lock (std, parking_lot, tokio, async-std or spin `Mutex`; an `RwLock` locked
    /// for writing) that is acquired again while a guard of the same lock is still live in the
    /// same function, or while the function calls an in-crate function that acquires it. The
    /// guard may be bound (`let g = m.lock()`), a temporary of a `match`, `if let` or `while
    /// let` scrutinee (live through every arm), or a temporary whose statement goes on
    /// (`m.lock().unwrap().push(self.helper())`).
    ///
    /// ### Why is this bad
    /// None of these locks is reentrant: the second acquisition waits for the guard that the
    /// same thread holds, forever. std's `Mutex` may also panic instead, tokio's waits
    /// forever too. The bug hides in guards that live longer than they look — a guard in a
    /// `match` scrutinee lives until the end of the `match`, not of the scrutinee — and in
    /// helpers that lock on their own.
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn poll(&self) {
    ///     match self.queue.lock().unwrap().pop_front() {
    ///         Some(job) => job.run(),
    ///         None => self.refill(), // locks self.queue again: the guard is still live
    ///     }
    /// }
    /// ```
    ///
    /// ### Use instead
    /// End the guard before the second acquisition: bind the value in its own statement (or
    /// block), `drop(guard)` first, or pass the guarded data to a helper that does not lock:
    /// ```rust,ignore
    /// fn poll(&self) {
    ///     let next = self.queue.lock().unwrap().pop_front();
    ///     match next {
    ///         Some(job) => job.run(),
    ///         None => self.refill(),
    ///     }
    /// }
    /// ```
    ///
    /// The lock may also be taken by a closure that an in-crate function runs while it holds
    /// the lock (`self.status.set_len(n, |n| self.status.confirm())` where `set_len` calls,
    /// or hands on, its callable parameter under `self.status`'s guard), by a crate `Drop`
    /// impl run by `drop(x)`, by overwriting a field, by discarding a removed element
    /// (`self.pending.remove(&id);`, `self.current.take();`, `clear()` of a container of such
    /// values) or by a binding of such a value that goes out of scope before the guard does,
    /// by a guard getter (`fn state(&self) -> MutexGuard<'_, S>`:
    /// its guard lives in the caller as long as the value it returns), and be an element of a
    /// field iterated over (`for s in &self.shards`, `self.shards.iter().for_each(|s| ..)`:
    /// any shard, so a callee that locks every shard locks the held one too).
    ///
    /// ### Known limitations
    /// Locks are recognized by their declared type (fields, statics, parameters, typed
    /// locals, pattern bindings of fields). Through calls, a lock is the same object when it
    /// is a static, or a field of `self` reached by calls on `self`; calls resolve within the
    /// crate by the receiver's type when it is known (declared, a guard's, a crate method's
    /// return type), else by name (a method on another receiver only when one crate function
    /// has that name); trait objects, closures stored for later and foreign callbacks
    /// (wakers, a `dyn Subscriber`) are not followed; a closure run under a lock is followed
    /// only as a closure literal passed straight to the function that holds the lock, whose
    /// parameter is an `impl Fn…` or a bare generic type. A crate `Drop` impl is followed
    /// where a value of its declared (or returned, or removed-from-a-container) type is
    /// dropped — by `drop(x)`, an assignment, a discarded removal, or the end of a binding's
    /// scope when the binding is not moved (not behind an `Arc`, where only the last
    /// reference drops); values held inside other values (a request's type-erased
    /// extensions, a field of a pattern's `..`, a value bound to `let _ =`) are not.
    /// `ReentrantMutex`, `try_lock`
    /// and a read lock taken twice are not reported (a read-then-write is
    /// `rwlock-upgrade`'s). A guard moved into another binding or a call is followed as if it
    /// stayed in the first binding. An `if let` scrutinee's temporary lives through the
    /// `else` block before Rust 2024 and not from 2024 on, by the package's `edition` (an
    /// inherited `edition.workspace = true` is the workspace's `[workspace.package] edition`,
    /// in paths mode too). Code in closures passed to
    /// `spawn` runs on another thread and is not counted. `#[test]` functions are skipped: a
    /// deadlock there hangs the suite, and tests of lock implementations deadlock on purpose.
    /// A second `let` of the same name on the same lock right after the first is taken as a
    /// pair of `#[cfg]` alternatives (cfg is not evaluated) and not reported.
    pub static RELOCK_WHILE_HELD = {
        name: "relock-while-held",
        group: Deadlock,
        level: Warn,
        summary: "a lock is acquired again while a guard of the same lock is live (directly or in a callee): the thread deadlocks on itself",
    };
}

pub struct RelockWhileHeld;

impl Rule for RelockWhileHeld {
    fn meta(&self) -> &'static RuleMeta {
        &RELOCK_WHILE_HELD
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        report_same_lock(&RELOCK_WHILE_HELD, cx, |outer, _| outer.writable, "", out);
        let summary = cx.lock_summary();
        for (file, f) in cx.keyed_functions() {
            for r in callback_relocks(cx.index, summary, f.facts) {
                if !r.held.writable {
                    continue;
                }
                let func = f.facts;
                let (call, inner) = (&func.events[r.call], &func.events[r.inner]);
                let callee = &cx.files[r.callee.file].facts.functions[r.callee.func];
                let name = callee.short_name();
                let lock = &r.lock_text;
                let mut out_f = finding(
                    &RELOCK_WHILE_HELD,
                    file,
                    event_region(inner),
                    format!(
                        "this closure locks `{lock}` again, but `{name}` runs it while holding \
                         that lock: the thread waits for itself forever"
                    ),
                    format!(
                        "take what the closure needs from `{lock}` before calling `{name}` and \
                         move the copy into the closure, or pass the guarded data in"
                    ),
                );
                label(
                    &mut out_f,
                    event_region(call),
                    format!("the closure is passed to `{name}` here"),
                );
                push_label(
                    &mut out_f,
                    cx,
                    file,
                    r.callee.file,
                    r.held.held,
                    format!("`{name}` locks `{lock}` here"),
                );
                push_label(
                    &mut out_f,
                    cx,
                    file,
                    r.callee.file,
                    r.held.call,
                    "and calls the closure (or hands it on) under that guard here".to_string(),
                );
                if let Some(t) = &r.taken {
                    let k = t.at.0;
                    let locker = &cx.files[k.file].facts.functions[k.func];
                    push_label(
                        &mut out_f,
                        cx,
                        file,
                        k.file,
                        t.at.1,
                        format!("`{}` locks `{}` here", locker.short_name(), t.lock),
                    );
                }
                out.push(out_f);
            }
        }
    }
}
