//! Group `deadlock`: a thread blocks forever on a lock it (or another thread, in the opposite
//! order) already holds, or waits on a condition variable without re-checking its predicate.
//!
//! All rules ask the shared lock queries of `analysis::locks`: [`Nesting`] (every lock taken
//! while a guard is live, directly or through in-crate callees) over the per-crate
//! [`LockSummary`].
//!
//! **Guards held across `.await` are left to clippy.** `clippy::await_holding_lock` (std and
//! parking_lot guards) and `await_holding_refcell_ref` already look at every type that lives
//! across an `.await` in an async body, including a guard passed into an async helper as a
//! parameter (it is part of that helper's future), with the compiler's exact drop
//! information. A syntax-only copy would be strictly weaker, so heisen has no
//! `guard-across-await` rule: enable `clippy::await_holding_lock` (it is in clippy's
//! `suspicious` group, on by default).
//!
//! [`Nesting`]: crate::analysis::locks::Nesting
//! [`LockSummary`]: crate::analysis::locks::LockSummary

use crate::analysis::locks::{foreign_under_lock, Acq, ForeignKind, Nested, Nesting};
use crate::analysis::FnFacts;
use crate::finding::{Finding, Label};
use crate::rules::{event_region, finding, label, CrateContext, FileCx, RuleMeta};

pub mod condvar_wait_without_loop;
pub mod foreign_call_under_lock;
pub mod lock_order_inversion;
pub mod relock_while_held;
pub mod rwlock_upgrade;
pub mod wake_under_lock;

/// The finding of a nested acquisition of the same lock: at the second acquisition (or the
/// call that reaches it), labelled with where the live guard was taken and, through a call,
/// where the callee acquires the lock. Shared shape of `relock-while-held` and
/// `rwlock-upgrade` (the latter passes its own `help`).
pub fn report(
    meta: &'static RuleMeta,
    cx: &CrateContext<'_>,
    file: &FileCx<'_>,
    func: &FnFacts,
    nesting: &Nesting<'_>,
    n: &Nested,
    help: &str,
) -> Finding {
    let outer = &nesting.acqs[n.outer];
    let outer_ev = outer.event(func);
    let at = &func.events[n.at];
    let lock = &outer.lock;
    let (message, default_help) = wording(cx, func, nesting, n);
    let help = if help.is_empty() {
        default_help
    } else {
        help.to_string()
    };
    let mut f = finding(meta, file, event_region(at), message, help);
    label(
        &mut f,
        event_region(outer_ev),
        format!("`{lock}` is locked here"),
    );
    if let Some(t) = &n.taken {
        path_labels(&mut f, cx, file, t);
    }
    f
}

/// The message and default help of [`report`]'s finding, by how the lock is reached again:
/// directly, by a value dropped at its scope's end, by a dropped value's `Drop`, or through a
/// call.
fn wording(
    cx: &CrateContext<'_>,
    func: &FnFacts,
    nesting: &Nesting<'_>,
    n: &Nested,
) -> (String, String) {
    let outer = &nesting.acqs[n.outer];
    let outer_ev = outer.event(func);
    let at = &func.events[n.at];
    let lock = &outer.lock;
    let read = if outer.writable { "" } else { "read " };
    let mode = if n.inner_writable {
        "locked"
    } else {
        "read-locked"
    };
    match &n.taken {
        None => (
            format!(
                "`{lock}` is {mode} again while its {read}guard from line {} is still live: \
                 the thread waits for itself forever",
                outer_ev.region.line
            ),
            "end the first guard before locking again: bind the value in its own statement, \
             or `drop(guard)` first"
                .to_string(),
        ),
        Some(t) if n.scope_end.is_some() => {
            let k = first_callee(t);
            let dropped = &cx.files[k.file].facts.functions[k.func];
            let name = n.scope_end.as_deref().unwrap_or_default();
            (
                format!(
                    "`{name}` is dropped at the end of its scope (line {}) while this function's \
                     {read}guard of `{lock}` from line {} is still live, and its `{}` locks \
                     `{lock}` again: the thread waits for itself forever",
                    t.via[0].1.end_line, outer_ev.region.line, dropped.name
                ),
                format!(
                    "drop the guard before `{name}` goes out of scope, or move `{name}` out of \
                     the guard's block and drop it after the guard"
                ),
            )
        }
        Some(t) if is_drop_run(cx, t) => {
            let k = first_callee(t);
            let dropped = &cx.files[k.file].facts.functions[k.func];
            let mode = if n.inner_writable {
                "locks"
            } else {
                "read-locks"
            };
            (
                format!(
                    "this drops a value whose `{}` {mode} `{lock}` while this function's \
                     {read}guard of it from line {} is still live: the thread waits for itself \
                     forever",
                    dropped.name, outer_ev.region.line
                ),
                "drop the guard before the value, or move the value out and drop it after the \
                 guard"
                    .to_string(),
            )
        }
        Some(t) => {
            let callee = &cx.files[t.at.0.file].facts.functions[t.at.0.func];
            let mode = if n.inner_writable {
                "locks"
            } else {
                "read-locks"
            };
            (
                format!(
                    "`{}` {mode} `{lock}` while this function's {read}guard of it from line {} \
                     is still live: the thread waits for itself forever",
                    crate::analysis::last_segment(&at.name),
                    outer_ev.region.line
                ),
                format!(
                    "drop the guard before calling `{}`, or pass the guarded data to a variant \
                     of `{}` that does not lock",
                    crate::analysis::last_segment(&at.name),
                    callee.short_name()
                ),
            )
        }
    }
}

/// Labels for the call path of `t` down to its acquisition: each intermediate call (step by
/// step) and where the last callee locks. Shared by the deadlock rules that report a lock
/// reached through calls.
pub fn path_labels(
    f: &mut Finding,
    cx: &CrateContext<'_>,
    file: &FileCx<'_>,
    t: &crate::analysis::locks::Taken,
) {
    let func_of = |k: crate::index::FnKey| &cx.files[k.file].facts.functions[k.func];
    for (i, (k, region)) in t.via.iter().enumerate().skip(1) {
        push_label(
            f,
            cx,
            file,
            k.file,
            *region,
            format!("`{}` calls on here (step {i})", func_of(*k).short_name()),
        );
    }
    push_label(
        f,
        cx,
        file,
        t.at.0.file,
        t.at.1,
        format!("`{}` locks `{}` here", func_of(t.at.0).short_name(), t.lock),
    );
}

/// The function the nesting function calls first on `t`'s path.
fn first_callee(t: &crate::analysis::locks::Taken) -> crate::index::FnKey {
    t.via.get(1).map_or(t.at.0, |(k, _)| *k)
}

/// Whether the first call of `t`'s path is a `Drop::drop` run by dropping a value.
fn is_drop_run(cx: &CrateContext<'_>, t: &crate::analysis::locks::Taken) -> bool {
    let k = first_callee(t);
    let f = &cx.files[k.file].facts.functions[k.func];
    f.short_name() == "drop" && f.owner().is_some()
}

/// Adds a label in the file with index `fi` of the crate (a cross-file label names its file).
pub fn push_label(
    f: &mut Finding,
    cx: &CrateContext<'_>,
    here: &FileCx<'_>,
    fi: usize,
    region: crate::finding::Region,
    message: String,
) {
    let other = &cx.files[fi].source.rel;
    let file = (*other != here.source.rel).then(|| other.clone());
    f.labels.push(Label {
        region,
        message,
        file,
    });
}

/// Reports every nested acquisition of the *same* lock that blocks and that `pick` accepts
/// (given the live guard's acquisition and the nesting), over every function of the crate:
/// the common driver of `relock-while-held` and `rwlock-upgrade`.
pub fn report_same_lock(
    meta: &'static RuleMeta,
    cx: &CrateContext<'_>,
    pick: impl Fn(&Acq<'_>, &Nested) -> bool,
    help: &str,
    out: &mut Vec<Finding>,
) {
    for (file, f) in cx.keyed_functions() {
        let nesting = cx.nesting(f.key);
        for n in &nesting.nested {
            if n.same && n.inner_blocks && pick(&nesting.acqs[n.outer], n) {
                out.push(report(meta, cx, file, f.facts, nesting, n, help));
            }
        }
    }
}

/// The findings of a foreign call made while a guard is live
/// ([`foreign_under_lock`](crate::analysis::locks::foreign_under_lock)) of the kinds `pick`
/// accepts: at the call (or the in-crate call that reaches it), labelled with the guard's
/// acquisition and the path to the foreign call. Shared by `foreign-call-under-lock` and
/// `wake-under-lock`.
pub fn report_foreign(
    meta: &'static RuleMeta,
    cx: &CrateContext<'_>,
    pick: impl Fn(ForeignKind) -> bool + Copy,
    out: &mut Vec<Finding>,
) {
    let summary = cx.lock_summary();
    for (file, f) in cx.keyed_functions() {
        let nesting = cx.nesting(f.key);
        for u in foreign_under_lock(cx.index, summary, f.key, f.facts, nesting, pick) {
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
                ForeignKind::DynMethod => {
                    format!("`{what}` calls an open trait's method through a trait object")
                }
            };
            let help = match u.foreign.kind {
                ForeignKind::Wake | ForeignKind::WakerDrop => {
                    "collect the wakers under the lock, end the guard, then wake them (move an \
                     old waker out with `mem::replace` and drop it after the guard)"
                }
                ForeignKind::StoredCallable | ForeignKind::DynCallback | ForeignKind::DynMethod => {
                    "end the guard before calling: copy what the callback needs out of the \
                     guarded state first, or take one item under the lock and call after the \
                     guard"
                }
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
            let mut out_f = finding(meta, file, event_region(at), message, help.to_string());
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
