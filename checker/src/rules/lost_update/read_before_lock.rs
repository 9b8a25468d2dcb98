use crate::analysis::atomics::is_atomic_op;
use crate::analysis::locks::Guards;
use crate::analysis::{Event, EventKind, FnFacts};
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, label, CrateContext, FileCx, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds a value read from an object before a lock guard is taken and written back to the
    /// same object while that guard is live: `let mut info = room.clone_info();` … `let _g =
    /// store_lock.lock().await;` … `room.set_room_info(info)`. The read is a method call on a
    /// place (`room`), the write a setter-like call on the same place (`set_*`, `save`, `put`,
    /// `insert`, `update`, `replace`, `write`) whose argument is the copy the read returned
    /// (bound by `let`, possibly changed in place since).
    ///
    /// ### Why is this bad
    /// The lock serializes the writes but not the read. Two tasks both copy the old value before
    /// either takes the lock, then write one after the other: the second write carries a copy
    /// that misses the first task's change, which is lost without an error. The lock around
    /// the write shows that the author expected concurrent updates; the read belongs inside
    /// it (matrix-sdk 0.16's latest-event code overwrote a sync's room name this way).
    ///
    /// ### Example
    /// ```rust,ignore
    /// async fn store(&self, room: &Room, event: Event) {
    ///     let mut info = room.clone_info();
    ///     info.set_latest_event(event);
    ///     let _guard = self.store_lock.lock().await;
    ///     room.set_room_info(info);
    /// }
    /// ```
    ///
    /// ### Use instead
    /// Take the guard first and read under it (or re-read under it before writing):
    /// ```rust,ignore
    /// async fn store(&self, room: &Room, event: Event) {
    ///     let _guard = self.store_lock.lock().await;
    ///     let mut info = room.clone_info();
    ///     info.set_latest_event(event);
    ///     room.set_room_info(info);
    /// }
    /// ```
    ///
    /// ### Known limitations
    /// A value only computed from the read (a new client built from a fetched configuration)
    /// is not a copy and is not reported. Data flow is followed within one function; the
    /// object is one place by its text
    /// (`room`, `self.cache`), not reassigned in between. Not reported: a read made under a
    /// guard already (that is `split-lock-update`'s question), a second read of the same object
    /// under the new guard before the write (a re-check), atomics (`atomic-load-store`),
    /// locals built in the function, `&mut self` / `self` receivers for places of `self`, and
    /// `#[test]` functions. Which lock protects the object is not known: any guard taken
    /// between the read and the write counts as the one the write is serialized by.
    pub static READ_BEFORE_LOCK = {
        name: "read-before-lock",
        group: LostUpdate,
        level: Warn,
        summary: "a value is read before a lock is taken and written back under it: the lock serializes the writes, not the stale read",
    };
}

pub struct ReadBeforeLock;

/// Names of calls that write their argument into the receiver.
fn is_write_name(name: &str) -> bool {
    name.starts_with("set_")
        || matches!(
            name,
            "save" | "put" | "insert" | "update" | "replace" | "write" | "set"
        )
}

/// Whether `ev` is a read of a shared place: a method call on a place that is not a
/// temporary, not a write, not an atomic, whose value is used.
fn read_of(func: &FnFacts, ev: &Event) -> bool {
    ev.kind == EventKind::MethodCall
        && ev.value_used
        && ev.closure_depth == 0
        && !is_write_name(&ev.name)
        && !is_atomic_op(ev)
        && func.shared_receiver(ev)
}

/// Whether the argument `a` of the write `w` is the copy `r` returned: a binding initialised
/// by `r` itself or by a pass-through of it (`.unwrap()`, `.clone()`), possibly changed in
/// place since (`info.set_latest_event(..)`). A new value merely computed from the read (a
/// client built from a fetched configuration) is no stale copy of the object.
fn copy_of(func: &FnFacts, a: &crate::analysis::Arg, w: &Event, r: &Event) -> bool {
    let name = a.text.trim_start_matches('&').trim_start_matches("mut ");
    let Some(init) = func.binding_at(name, &w.region).and_then(|b| b.init) else {
        return false;
    };
    init == r.id || {
        let e = &func.events[init];
        e.receiver_deps.contains(&r.id)
            && matches!(
                e.name.as_str(),
                "unwrap" | "expect" | "clone" | "to_owned" | "unwrap_or_default"
            )
    }
}

fn check_fn(cx: &CrateContext<'_>, file: &FileCx<'_>, func: &FnFacts, out: &mut Vec<Finding>) {
    let guards = Guards::of(cx.index, func);
    // No guard, nothing taken between a read and a write.
    if guards.is_empty() {
        return;
    }
    for w in func.events.iter().filter(|e| {
        e.kind == EventKind::MethodCall
            && e.closure_depth == 0
            && is_write_name(&e.name)
            && !is_atomic_op(e)
    }) {
        let Some(place) = w.receiver.as_ref() else {
            continue;
        };
        let same = |e: &Event| e.receiver.as_ref().is_some_and(|p| p.text == place.text);
        let Some(r) = func.events[..w.id]
            .iter()
            .rev()
            .filter(|r| same(r) && read_of(func, r))
            .find(|r| w.args.iter().any(|a| copy_of(func, a, w, r)))
        else {
            continue;
        };
        let Some(lock) = guards.taken_between(r, w) else {
            continue;
        };
        // A re-read under the new guard, or the place reassigned: not the stale copy.
        let rechecked = func.events[lock + 1..w.id]
            .iter()
            .any(|e| same(e) && read_of(func, e));
        let reassigned = func.between(r.id, w.id).iter().any(|e| {
            matches!(e.kind, EventKind::Assign { .. })
                && e.receiver.as_ref().is_some_and(|p| p.text == place.text)
        });
        if rechecked || reassigned {
            continue;
        }
        let lock_ev = &func.events[lock];
        let mut f = finding(
            &READ_BEFORE_LOCK,
            file,
            event_region(w),
            format!(
                "`{}` is written back with a value read by `{}.{}()` before the lock was \
                 taken; another writer's change made in between is overwritten",
                place.text, place.text, r.name
            ),
            format!(
                "take the guard before `{}.{}()` (or read `{}` again under the guard) so the \
                 read, the change and the write are one critical section",
                place.text, r.name, place.text
            ),
        );
        label(
            &mut f,
            event_region(r),
            format!("`{}` is read here, outside the lock", place.text),
        );
        label(
            &mut f,
            event_region(lock_ev),
            "the lock is taken only here".to_string(),
        );
        out.push(f);
    }
}

impl Rule for ReadBeforeLock {
    fn meta(&self) -> &'static RuleMeta {
        &READ_BEFORE_LOCK
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            if func.is_test {
                continue;
            }
            check_fn(cx, file, func, out);
        }
    }
}
