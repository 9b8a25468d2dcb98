use super::ordering_fix;
use crate::analysis::atomics::{
    is_acquire_fence, is_release_fence, is_spin_acquire, is_spin_release, success_ordering,
};
use crate::analysis::MemOrdering;
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, CrateContext, Rule, RuleMeta};
use std::collections::HashSet;

declare_rule! {
    /// ### What it does
    /// Finds a lock built from atomics whose acquiring operation (`compare_exchange(false,
    /// true, ..)`, `swap(true, ..)`, `fetch_or(LOCKED, ..)`) has `Relaxed` success ordering,
    /// or whose releasing store (`store(false, ..)`, `fetch_and(!LOCKED, ..)`) is `Relaxed`.
    /// A lock is recognized by the atomic's name (`lock`, `locked`, `mutex`, `spin…`), a
    /// `LOCKED`-style constant, or a `lock`/`try_lock`/`unlock` function.
    ///
    /// ### Why is this bad
    /// A lock does two jobs: mutual exclusion, and handing the protected data from one owner
    /// to the next. The second job is the ordering: the unlock must `Release` what the
    /// critical section wrote, and the next lock must `Acquire` it. With `Relaxed`, the next
    /// owner can take the lock and still read the previous owner's stale data, or the
    /// critical section's accesses can move outside the lock. x86's strong ordering hides
    /// this in every test; it fails on ARM or when the compiler reorders.
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn lock(&self) {
    ///     while self.locked.swap(true, Ordering::Relaxed) {
    ///         std::hint::spin_loop();
    ///     }
    /// }
    /// fn unlock(&self) {
    ///     self.locked.store(false, Ordering::Relaxed);
    /// }
    /// ```
    ///
    /// ### Use instead
    /// ```rust,ignore
    /// fn lock(&self) {
    ///     while self.locked.swap(true, Ordering::Acquire) {
    ///         std::hint::spin_loop();
    ///     }
    /// }
    /// fn unlock(&self) {
    ///     self.locked.store(false, Ordering::Release);
    /// }
    /// ```
    ///
    /// ### Known limitations
    /// Locks are recognized by names and lock/unlock values (`true`/`false`, `1`/`0`,
    /// `LOCKED`/`UNLOCKED` constants); a lock word with other encodings (ticket locks, state
    /// machines with several bits) is only seen when its constants say `LOCK`. The fence forms
    /// (`Relaxed` lock then `fence(Acquire)`, `fence(Release)` then `Relaxed` unlock) are
    /// accepted when the fence is in the same function.
    pub static RELAXED_LOCK = {
        name: "relaxed-lock",
        group: MemoryOrdering,
        level: Warn,
        summary: "a lock built from atomics is taken or released with `Relaxed` ordering",
    };
}

pub struct RelaxedLock;

impl Rule for RelaxedLock {
    fn meta(&self) -> &'static RuleMeta {
        &RELAXED_LOCK
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        // Atomics the crate uses as locks: some function acquires them.
        let mut locks: HashSet<String> = HashSet::new();
        for (_, func) in cx.functions() {
            for ev in func.events.iter().filter(|e| is_spin_acquire(func, e)) {
                if let Some(r) = &ev.receiver {
                    locks.insert(r.last_name().to_string());
                }
            }
        }
        for (file, func) in cx.functions() {
            for ev in &func.events {
                let Some(arg) = success_ordering(ev) else {
                    continue;
                };
                if arg.ordering != Some(MemOrdering::Relaxed) {
                    continue;
                }
                let Some(recv) = ev.receiver.as_ref() else {
                    continue;
                };
                // The fence forms are correct: a Relaxed lock followed by `fence(Acquire)`, a
                // `fence(Release)` followed by a Relaxed unlock.
                let fenced_after = func.events[ev.id + 1..].iter().any(is_acquire_fence);
                let fenced_before = func.events[..ev.id].iter().any(is_release_fence);
                let (message, help, to) = if is_spin_acquire(func, ev) && !fenced_after {
                    (
                        format!(
                            "the lock `{}` is taken with `Relaxed`; the previous owner's writes \
                             to the protected data may not be visible to this one",
                            recv.text
                        ),
                        format!(
                            "take the lock with `Ordering::Acquire` in `{}.{}` (and release it \
                             with `Ordering::Release`)",
                            recv.text, ev.name
                        ),
                        "Acquire",
                    )
                } else if locks.contains(recv.last_name())
                    && is_spin_release(func, ev)
                    && !fenced_before
                {
                    (
                        format!(
                            "the lock `{}` is released with `Relaxed`; the critical section's \
                             writes may become visible after the next owner takes the lock",
                            recv.text
                        ),
                        format!(
                            "release the lock with `Ordering::Release` in `{}.{}` (and take it \
                             with `Ordering::Acquire`)",
                            recv.text, ev.name
                        ),
                        "Release",
                    )
                } else {
                    continue;
                };
                let mut f = finding(&RELAXED_LOCK, file, event_region(ev), message, help);
                f.fix = ordering_fix(arg, to);
                out.push(f);
            }
        }
    }
}
