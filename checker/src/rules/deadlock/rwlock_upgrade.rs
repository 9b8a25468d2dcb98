use super::report_same_lock;
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds an `RwLock` (std, parking_lot, tokio, async-std, spin) that is write-locked while
    /// a read guard of the same lock is still live — in the same function (a bound guard, a
    /// `match`/`if let` scrutinee temporary, a temporary whose statement goes on) or through an
    /// in-crate function called while the read guard is live.
    ///
    /// ### Why is this bad
    /// A writer waits until every reader is gone, including the reader this thread still
    /// holds: std's, parking_lot's and tokio's `RwLock` all block forever (std may panic).
    /// It looks harmless because "upgrading" a read lock to a write lock reads naturally —
    /// check under `read()`, then `write()` to change it — but no `RwLock` upgrades in place.
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn get_or_load(&self, k: &str) -> Arc<Value> {
    ///     let cache = self.cache.read().unwrap();
    ///     if let Some(v) = cache.get(k) {
    ///         return v.clone();
    ///     }
    ///     let v = Arc::new(load(k));
    ///     self.cache.write().unwrap().insert(k.to_string(), v.clone()); // deadlock
    ///     v
    /// }
    /// ```
    ///
    /// ### Use instead
    /// Drop the read guard before writing (and re-check under the write guard, or use the
    /// entry API), or take parking_lot's `upgradable_read()` and `upgrade()` it:
    /// ```rust,ignore
    /// fn get_or_load(&self, k: &str) -> Arc<Value> {
    ///     if let Some(v) = self.cache.read().unwrap().get(k).cloned() {
    ///         return v;
    ///     }
    ///     let mut cache = self.cache.write().unwrap();
    ///     cache.entry(k.to_string()).or_insert_with(|| Arc::new(load(k))).clone()
    /// }
    /// ```
    ///
    /// ### Known limitations
    /// As for `relock-while-held`: declared lock types only; through calls, the same object
    /// only for statics and `self` fields reached by calls on `self`; `if let` temporaries
    /// follow the package's edition. A `try_write` is not reported, and neither is a
    /// second `read()` while reading (it can deadlock behind a queued writer on std and
    /// parking_lot, but is the usual recursive-read pattern and is left alone).
    pub static RWLOCK_UPGRADE = {
        name: "rwlock-upgrade",
        group: Deadlock,
        level: Warn,
        summary: "an RwLock is write-locked while a read guard of it is live: the writer waits for its own reader forever",
    };
}

pub struct RwlockUpgrade;

impl Rule for RwlockUpgrade {
    fn meta(&self) -> &'static RuleMeta {
        &RWLOCK_UPGRADE
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        report_same_lock(
            &RWLOCK_UPGRADE,
            cx,
            |outer, n| !outer.writable && n.inner_writable,
            "drop the read guard before `write()` and re-check under the write \
                         guard, or take `upgradable_read()` (parking_lot) and `upgrade()` it",
            out,
        );
    }
}
