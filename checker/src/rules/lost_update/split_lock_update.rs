use crate::analysis::accessors::LockedOp;
use crate::analysis::locks::{acquisitions, acts_through, held_at, reads_of, Acq, Guards};
use crate::analysis::{Event, EventId, EventKind, FnFacts};
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, label, CrateContext, FileCx, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds a `Mutex`/`RwLock` (std, parking_lot, tokio, async-std, spin) that is locked to
    /// read a value, unlocked (the guard was a temporary, went out of scope or was passed to
    /// `drop`), and locked again to write a value computed from what was read, or to write only
    /// because of a check on it. `read()` followed by `write()` on an `RwLock` counts too.
    ///
    /// ### Why is this bad
    /// Each critical section is atomic, the pair is not. Two threads withdrawing 50 from a
    /// balance of 100 both lock, read 100 and unlock; both pass the `>= 50` check; both lock
    /// again and write 50. One withdrawal is lost and nothing reports an error: there is no data
    /// race, no panic and no deadlock, and tests on an idle machine rarely interleave between
    /// the two sections.
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn withdraw(&self, amount: i64) -> Result<(), Insufficient> {
    ///     let balance = *self.balance.lock().unwrap();
    ///     if balance < amount {
    ///         return Err(Insufficient);
    ///     }
    ///     *self.balance.lock().unwrap() = balance - amount;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ### Use instead
    /// Hold one guard across the read, the check and the write (for an `RwLock`, take
    /// `write()` once, or an upgradable read that is upgraded for the write):
    /// ```rust,ignore
    /// fn withdraw(&self, amount: i64) -> Result<(), Insufficient> {
    ///     let mut balance = self.balance.lock().unwrap();
    ///     if *balance < amount {
    ///         return Err(Insufficient);
    ///     }
    ///     *balance -= amount;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ### Known limitations
    /// Locks are recognized by their declared type (struct fields, statics, parameters, typed
    /// locals); locks behind type aliases or returned by functions are not followed. Data flow
    /// is followed within one function. A second section that re-checks under its own guard
    /// before writing is trusted, even when the re-check is unrelated. When the first section
    /// also writes (an id allocation, a pop), the pair is taken as two separate steps and not
    /// reported. Guards held through `if let`/`match` on the lock result count as re-checks.
    /// Across calls, the crate's own lock getters and setters are followed one level (a `&self`
    /// method that locks one field of `self` and returns what it read, or assigns a parameter
    /// through the guard): `w.set_limit(w.limit() + by)` is two sections. Through such helpers
    /// only a written value computed from the read is reported, not a write under a check
    /// alone (mostly a registration serialized by a lock the caller's caller holds).
    pub static SPLIT_LOCK_UPDATE = {
        name: "split-lock-update",
        group: LostUpdate,
        level: Warn,
        summary: "a lock is released after a read and re-taken to write a value derived from (or guarded by) that read",
    };
}

pub struct SplitLockUpdate;

/// Methods that modify the guarded value.
const MUTATORS: &[&str] = &[
    "insert",
    "push",
    "push_back",
    "push_front",
    "remove",
    "extend",
    "set",
    "clear",
    "truncate",
    "append",
    "retain",
    "swap_remove",
    "replace",
];

fn is_write(ev: &Event) -> bool {
    match ev.kind {
        EventKind::Assign { .. } => true,
        EventKind::MethodCall => MUTATORS.contains(&ev.name.as_str()) && !ev.args.is_empty(),
        _ => false,
    }
}

/// Whether anything writes through the guard of `acq` (the section is a read-modify-write of
/// its own, e.g. allocating an id).
fn section_writes(func: &FnFacts, acq: &Acq<'_>) -> bool {
    func.events[acq.id + 1..].iter().any(|e| {
        let mutates =
            is_write(e) || (e.kind == EventKind::MethodCall && TAKES.contains(&e.name.as_str()));
        if mutates && acts_through(func, acq, e) {
            return true;
        }
        // `std::mem::take(&mut g.waker)`, `mem::replace`, `mem::swap`
        e.kind == EventKind::Call
            && ["take", "replace", "swap"]
                .iter()
                .any(|n| e.name == format!("mem::{n}") || e.name.ends_with(&format!("::mem::{n}")))
            && e.args
                .first()
                .is_some_and(|a| acq.chain.iter().any(|c| a.deps.contains(c)))
    })
}

/// Methods that move a value out of (or otherwise change) the guarded data.
const TAKES: &[&str] = &[
    "take",
    "pop",
    "pop_front",
    "pop_back",
    "drain",
    "split_off",
    "get_mut",
    "entry",
    "iter_mut",
    "values_mut",
    "sort",
    "sort_by",
    "sort_unstable",
    "dedup",
];

/// The same pair through the crate's lock accessors (`analysis::accessors`): a method that
/// locks `self.f`, reads and returns, and a method that locks it again to assign a parameter,
/// called with a value computed from the first call's result. A write that only runs under a
/// check on the getter (`match (x.timer_node(), ..) { (None, ..) => x.set_timer_node(t) }`)
/// is not reported: through helpers that shape is mostly a registration serialized by a lock
/// the caller's caller holds (moka's timer wheel, tokio's driver lock), which the facts do not
/// show. Not reported while any guard is live in the caller (it serializes the pair, or the
/// setter would deadlock), nor on places of an exclusive `self`.
fn through_accessors(cx: &CrateContext<'_>, func: &FnFacts, out: &mut Vec<(EventId, EventId)>) {
    let ops: Vec<LockedOp<'_>> = func
        .events
        .iter()
        .filter_map(|e| LockedOp::of(cx.accessors(), cx.index, func, e))
        .collect();
    if ops.is_empty() {
        return;
    }
    let guards = Guards::of(cx.index, func);
    for w in ops.iter().filter(|o| o.write) {
        if w.lock.root == crate::analysis::Root::SelfValue && func.exclusive_self() {
            continue;
        }
        let found = ops.iter().rev().find(|r| {
            !r.write
                && r.ev.id < w.ev.id
                && r.lock.text == w.lock.text
                && w.ev.data_deps.contains(&r.ev.id)
                && !guards.live_at(r.ev)
                && !guards.live_at(w.ev)
        });
        if let Some(r) = found {
            out.push((r.ev.id, w.ev.id));
        }
    }
}

/// Map reads followed by an insert/remove are `map-check-then-act`'s to report.
const MAP_READS: &[&str] = &["contains_key", "get", "get_mut", "contains"];

impl Rule for SplitLockUpdate {
    fn meta(&self) -> &'static RuleMeta {
        &SPLIT_LOCK_UPDATE
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            accessor_pairs(cx, file, func, out);
            split_guards(cx, file, func, out);
        }
    }
}

/// A read through one locking accessor and a write through another (`set_x(get_x() + 1)`),
/// from the accessor summaries.
fn accessor_pairs(
    cx: &CrateContext<'_>,
    file: &FileCx<'_>,
    func: &FnFacts,
    out: &mut Vec<Finding>,
) {
    let mut pairs = Vec::new();
    through_accessors(cx, func, &mut pairs);
    for (r, w) in pairs
        .iter()
        .map(|&(r, w)| (&func.events[r], &func.events[w]))
    {
        let data = w.data_deps.contains(&r.id);
        let ctrl = w.control_deps.contains(&r.id);
        let how = match (data, ctrl) {
            (true, true) => "with a value computed from, and under a check on,",
            (true, false) => "with a value computed from",
            _ => "under a check on",
        };
        let lock = LockedOp::of(cx.accessors(), cx.index, func, w)
            .map(|o| o.lock.text)
            .unwrap_or_default();
        let mut f = finding(
            &SPLIT_LOCK_UPDATE,
            file,
            event_region(w),
            format!(
                "`{lock}` is written (through `{}()`, which locks it) {how} a read made \
                 by `{}()` under an earlier guard that was already released; an update \
                 made by another thread in between is lost",
                w.name, r.name
            ),
            format!(
                "do the read, the check and the write under one guard of `{lock}`: add \
                 a method that locks it once and updates the value through the guard"
            ),
        );
        label(
            &mut f,
            event_region(r),
            format!(
                "`{lock}` is read here (`{}()` locks and unlocks it)",
                r.name
            ),
        );
        out.push(f);
    }
}

/// A write under a guard that depends on a read made under an earlier, released guard of the
/// same lock, with no re-read under the second guard.
fn split_guards(cx: &CrateContext<'_>, file: &FileCx<'_>, func: &FnFacts, out: &mut Vec<Finding>) {
    let acqs = acquisitions(cx.index, func);
    for a2 in acqs.iter().filter(|a| a.writable) {
        let revalidation = reads_of(func, a2);
        for w in func.events[a2.id + 1..]
            .iter()
            .filter(|e| is_write(e) && acts_through(func, a2, e))
        {
            if w.control_deps.iter().any(|d| revalidation.contains(d)) {
                continue;
            }
            let a2ev = a2.event(func);
            let found = acqs.iter().rev().find_map(|a1| {
                if a1.id >= a2.id || a1.lock != a2.lock || held_at(func, a1, a2ev) {
                    return None;
                }
                let reads = reads_of(func, a1);
                let data = w.data_deps.iter().find(|d| reads.contains(d));
                let ctrl = w.control_deps.iter().find(|d| reads.contains(d));
                let read = *data.or(ctrl)?;
                if section_writes(func, a1) {
                    return None;
                }
                let map_pair = matches!(w.name.as_str(), "insert" | "remove")
                    && reads.iter().any(|r| {
                        MAP_READS.contains(&func.events[*r].name.as_str())
                            && w.depends_on(*r)
                            && func.events[*r].same_key(w)
                    });
                if map_pair {
                    return None;
                }
                Some((a1, read, data.is_some(), ctrl.is_some()))
            });
            let Some((a1, _read, data, ctrl)) = found else {
                continue;
            };
            let lock = &a2.lock;
            let how = match (data, ctrl) {
                (true, true) => "with a value computed from, and under a check on,",
                (true, false) => "with a value computed from",
                _ => "under a check on",
            };
            let a1ev = a1.event(func);
            let help = if a1.writable {
                format!(
                    "hold one guard of `{lock}` across the read and the write: take \
                     `{lock}.{}()` once, bind the guard, and do the check and the update \
                     through it",
                    a2ev.name
                )
            } else {
                format!(
                    "take `{lock}.{}()` once for both the read and the write (or an \
                     upgradable read that is upgraded for the write), so no other \
                     writer can run between them",
                    a2ev.name
                )
            };
            let mut f = finding(
                &SPLIT_LOCK_UPDATE,
                file,
                event_region(w),
                format!(
                    "`{lock}` is written {how} a read made under an earlier guard that \
                     was already released; an update made by another thread in between \
                     is lost"
                ),
                help,
            );
            label(
                &mut f,
                event_region(a1ev),
                format!("`{lock}` is read here, under a guard released before the write"),
            );
            label(
                &mut f,
                event_region(a2ev),
                format!("`{lock}` is locked again here"),
            );
            out.push(f);
        }
    }
}
