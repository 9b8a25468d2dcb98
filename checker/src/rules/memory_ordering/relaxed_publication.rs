use super::{
    exclusive, is_into_raw, is_unsafe_cell_get, ordering_fix, same_body, unsafe_cell_with,
};
use crate::analysis::atomics::{any_release, is_atomic_op, success_ordering};
use crate::analysis::locks::Guards;
use crate::analysis::{last_segment, Event, EventKind, FnFacts, MemOrdering};
use crate::declare_rule;
use crate::finding::Finding;
use crate::finding::Region;
use crate::index::CrateIndex;
use crate::rules::{event_region, finding, label, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds a `Relaxed` atomic write (`store`, `swap`, `fetch_*`, or a `compare_exchange`
    /// with `Relaxed` success) of a flag, index or pointer that comes after this function
    /// wrote other shared memory: through an `UnsafeCell` (`*self.data.get() = v`,
    /// `self.slot.get().write(v)`, `(*self.items.get()).push(v)`), with `ptr::write`,
    /// through a pointer made by `Box::into_raw`, or when the stored value *is* a pointer to
    /// freshly built data (`Box::into_raw(Box::new(node))`).
    ///
    /// ### Why is this bad
    /// This is the release/acquire bug. The producer writes the data, then sets `ready`; the
    /// consumer sees `ready == true` and reads the data. With `Relaxed` nothing orders the data
    /// write before the flag write as seen from another core, so the consumer can see the flag
    /// and still read stale or uninitialized data. It passes every test on x86, whose hardware
    /// keeps stores in order, and fails on ARM, or whenever the compiler moves the data write
    /// after the flag store.
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn publish(&self, v: T) {
    ///     unsafe { *self.data.get() = v };
    ///     self.ready.store(true, Ordering::Relaxed);
    /// }
    /// ```
    ///
    /// ### Use instead
    /// `Release` on the flag, paired with `Acquire` on the load that reads it:
    /// ```rust,ignore
    /// fn publish(&self, v: T) {
    ///     unsafe { *self.data.get() = v };
    ///     self.ready.store(true, Ordering::Release);
    /// }
    /// ```
    /// (or a `fence(Ordering::Release)` between the data write and the `Relaxed` store).
    ///
    /// ### Known limitations
    /// The data write and the flag store must be in the same function. A `fetch_*` whose
    /// result is unused or only returned is taken for a statistics counter and not reported,
    /// even when it is really an index that publishes a slot. Data published through
    /// another atomic (`data.store(v, Relaxed); ready.store(true, Relaxed)`) is not reported,
    /// nor writes through `&mut` references or raw pointers whose origin the function does
    /// not show. Functions that own `self` exclusively (`&mut self`, `Drop`) or hold a lock
    /// guard are skipped.
    pub static RELAXED_PUBLICATION = {
        name: "relaxed-publication",
        group: MemoryOrdering,
        level: Warn,
        summary: "a flag, index or pointer is published with `Relaxed` after writing the data it hands over",
    };
}

pub struct RelaxedPublication;

/// Methods that write through a raw pointer.
const PTR_WRITES: &[&str] = &[
    "write",
    "write_volatile",
    "write_unaligned",
    "copy_from_nonoverlapping",
];

/// Methods that change a collection or cell in place: called on data reached through an
/// `UnsafeCell` pointer, they write shared data.
const MUTATORS: &[&str] = &[
    "push",
    "push_back",
    "push_front",
    "insert",
    "extend",
    "extend_from_slice",
    "append",
    "set",
    "replace",
    "write",
];

/// Events that produce a raw pointer into memory other threads may read.
fn is_ptr_source(index: &CrateIndex, ev: &Event) -> bool {
    is_unsafe_cell_get(index, ev) || is_into_raw(ev)
}

/// A write of shared data before `store`: (region, what) of the latest one.
fn data_write(cx: &CrateContext<'_>, func: &FnFacts, store: &Event) -> Option<(Region, usize)> {
    let index = cx.index;
    let src = |deps: &crate::analysis::Deps| {
        deps.iter()
            .any(|&d| d < func.events.len() && is_ptr_source(index, &func.events[d]))
    };
    let mut best: Option<(Region, usize)> = None;
    for ev in func.events[..store.id]
        .iter()
        .filter(|e| same_body(e, store))
    {
        let hit = match &ev.kind {
            // `*self.data.get() = v`, `(*node).next = p`
            EventKind::Assign { .. } => src(&ev.receiver_deps),
            // `self.slot.get().write(v)`, loom's `self.data.with_mut(|p| ..)`
            EventKind::MethodCall => {
                (PTR_WRITES.contains(&ev.name.as_str())
                    && ev.args.len() == 1
                    && src(&ev.receiver_deps))
                    // `(*self.items.get()).push(v)`
                    || (MUTATORS.contains(&ev.name.as_str()) && src(&ev.receiver_deps))
                    || unsafe_cell_with(index, ev) == Some(true)
            }
            // `ptr::write(self.slot.get(), v)`
            EventKind::Call => {
                ev.name.contains("ptr::")
                    && PTR_WRITES.contains(&last_segment(&ev.name))
                    && ev.args.first().is_some_and(|a| src(&a.deps))
            }
            _ => false,
        };
        if hit {
            best = Some((event_region(ev), ev.id));
        }
    }
    // Dereference writes that are not assignment events of their own (`(*p).x = v` is one;
    // this catches compound targets the assignment's receiver deps miss).
    for d in func.derefs.iter().filter(|d| {
        d.is_write && d.after <= store.id && d.closure_depth == store.closure_depth && src(&d.deps)
    }) {
        if best.map_or(true, |(_, id)| d.after > id) {
            best = Some((d.region, d.after.saturating_sub(1)));
        }
    }
    best
}

/// The stored value of a publishing op.
fn stored_value(ev: &Event) -> Option<&crate::analysis::Arg> {
    match ev.name.as_str() {
        "store" | "swap" => ev.args.first(),
        "compare_exchange" | "compare_exchange_weak" | "compare_and_swap" => ev.args.get(1),
        _ => None,
    }
}

impl Rule for RelaxedPublication {
    fn meta(&self) -> &'static RuleMeta {
        &RELAXED_PUBLICATION
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            if exclusive(func) {
                continue;
            }
            let mut guards = None;
            for store in func.events.iter().filter(|e| is_atomic_op(e)) {
                if store.name == "load" || store.name == "fetch_update" {
                    continue;
                }
                // A statistics or ID counter: `fetch_add(1, Relaxed)` whose result is unused or
                // only returned hands nothing over, even right after a data write.
                if store.name.starts_with("fetch_")
                    && (!store.value_used || func.returns.contains(&store.id))
                {
                    continue;
                }
                let Some(ord_arg) = success_ordering(store) else {
                    continue;
                };
                if ord_arg.ordering != Some(MemOrdering::Relaxed) {
                    continue;
                }
                let Some(recv) = store.receiver.as_ref().filter(|r| r.maybe_shared()) else {
                    continue;
                };
                if guards
                    .get_or_insert_with(|| Guards::of(cx.index, func))
                    .live_at(store)
                {
                    continue;
                }
                // The stored value is a pointer to data built just now.
                let fresh = stored_value(store).and_then(|v| {
                    v.deps
                        .iter()
                        .copied()
                        .find(|&d| d < func.events.len() && is_into_raw(&func.events[d]))
                        .map(|d| (event_region(&func.events[d]), d))
                });
                let (write_region, write_id, what) = match (fresh, data_write(cx, func, store)) {
                    (Some((r, id)), _) => (r, id, "a pointer to data built here"),
                    (None, Some((r, id))) => (r, id, "after writing shared data"),
                    (None, None) => continue,
                };
                if any_release(func.between(write_id, store.id)) {
                    continue;
                }
                let message = if what.starts_with("a pointer") {
                    format!(
                        "`{}` publishes {what} with `Relaxed`; another thread that loads the \
                         pointer may read the data before it is written",
                        recv.text
                    )
                } else {
                    format!(
                        "`{}` is written with `Relaxed` {what}; another thread that sees the \
                         new value may still read the old data",
                        recv.text
                    )
                };
                let mut f = finding(
                    &RELAXED_PUBLICATION,
                    file,
                    event_region(store),
                    message,
                    format!(
                        "use `Ordering::Release` in `{}.{}` (and `Ordering::Acquire` on the \
                         load that reads it)",
                        recv.text, store.name
                    ),
                );
                f.fix = ordering_fix(ord_arg, "Release");
                label(&mut f, write_region, "the data is written here");
                out.push(f);
            }
        }
    }
}
