use super::{ordering_fix, same_body};
use crate::analysis::atomics::{any_acquire, any_release};
use crate::analysis::{last_segment, Event, EventKind, FnFacts, MemOrdering};
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, label, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds a reference-count decrement, `fetch_sub(1, ..)`, whose result decides that the
    /// object is freed (`Box::from_raw`, `drop_in_place`, `dealloc`, `drop_slow`, …) when the
    /// decrement is `Relaxed`, or when it is `Release` but no `Acquire` fence (or acquiring
    /// load) sits between it and the free.
    ///
    /// ### Why is this bad
    /// Every owner uses the object and then decrements. The thread that sees the count reach
    /// zero frees it, so all the other owners' uses must *happen before* the free. A `Release`
    /// decrement publishes "I am done with it" together with everything that owner did; the
    /// freeing thread must then `Acquire` to see it. With `Relaxed` (or `Release` without the
    /// acquire side) the free can overtake another thread's last reads or writes of the
    /// object: a use-after-free that x86's strong ordering hides in every test and that shows
    /// up on ARM, or when the compiler moves the object's accesses past the decrement.
    /// Increments (`fetch_add(1, Relaxed)`) are fine and not reported: a new owner is always
    /// made from an existing one.
    ///
    /// ### Example
    /// ```rust,ignore
    /// impl<T> Drop for MyArc<T> {
    ///     fn drop(&mut self) {
    ///         if self.inner().count.fetch_sub(1, Ordering::Relaxed) == 1 {
    ///             unsafe { drop(Box::from_raw(self.ptr)) };
    ///         }
    ///     }
    /// }
    /// ```
    ///
    /// ### Use instead
    /// The `Arc` pattern: release on the decrement, acquire before the free.
    /// ```rust,ignore
    /// impl<T> Drop for MyArc<T> {
    ///     fn drop(&mut self) {
    ///         if self.inner().count.fetch_sub(1, Ordering::Release) == 1 {
    ///             std::sync::atomic::fence(Ordering::Acquire);
    ///             unsafe { drop(Box::from_raw(self.ptr)) };
    ///         }
    ///     }
    /// }
    /// ```
    /// (`fetch_sub(1, AcqRel)` is also correct; the quick fix uses it.)
    ///
    /// ### Known limitations
    /// The decrement and the free must be in the same function; a `release()` that returns
    /// "was last" to a caller that frees is not followed. Freeing is recognized by name
    /// (`Box::from_raw`, `drop_in_place`, `dealloc`, `free`, `drop_slow`, `Vec::from_raw_parts`,
    /// `ManuallyDrop::drop`); returning the object to a pool for reuse is not.
    pub static RELAXED_REFCOUNT_DROP = {
        name: "relaxed-refcount-drop",
        group: MemoryOrdering,
        level: Warn,
        summary: "a reference-count decrement decides to free the object without release/acquire ordering",
    };
}

pub struct RelaxedRefcountDrop;

/// Whether the event frees (or destroys in place) an object.
pub(crate) fn is_free(ev: &Event) -> bool {
    match ev.kind {
        EventKind::Call => {
            let last = last_segment(&ev.name);
            ev.name.ends_with("Box::from_raw")
                || ev.name.ends_with("Vec::from_raw_parts")
                || ev.name.ends_with("ManuallyDrop::drop")
                || matches!(last, "drop_in_place" | "dealloc" | "free" | "drop_slow")
        }
        EventKind::MethodCall => matches!(
            ev.name.as_str(),
            "drop_in_place" | "dealloc" | "deallocate" | "drop_slow"
        ),
        _ => false,
    }
}

/// The first free in `func` that the decrement `dec` decides (by control or data).
fn gated_free<'f>(func: &'f FnFacts, dec: &Event) -> Option<&'f Event> {
    func.events[dec.id + 1..]
        .iter()
        .filter(|e| same_body(e, dec) && is_free(e))
        .find(|e| e.depends_on(dec.id))
}

impl Rule for RelaxedRefcountDrop {
    fn meta(&self) -> &'static RuleMeta {
        &RELAXED_REFCOUNT_DROP
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            for dec in func.events.iter().filter(|e| e.is_method("fetch_sub", 2)) {
                let Some(ord) = dec.args[1].ordering else {
                    continue;
                };
                if !matches!(ord, MemOrdering::Relaxed | MemOrdering::Release) {
                    continue;
                }
                let Some(free) = gated_free(func, dec) else {
                    continue;
                };
                let acquired = any_acquire(func.between(dec.id, free.id));
                let recv = dec
                    .receiver
                    .as_ref()
                    .map(|p| p.text.as_str())
                    .unwrap_or("the count");
                let message = match ord {
                    MemOrdering::Relaxed => {
                        // A release fence before a relaxed decrement plus an acquire fence
                        // before the free is the fence form of the same pattern.
                        let fenced = any_release(&func.events[..dec.id]) && acquired;
                        if fenced {
                            continue;
                        }
                        format!(
                            "`{recv}` is decremented with `Relaxed` and the object is freed \
                             when it was the last reference; other threads' last uses of it may \
                             not have happened before the free"
                        )
                    }
                    _ => {
                        if acquired {
                            continue;
                        }
                        format!(
                            "`{recv}` is decremented with `Release` but nothing acquires before \
                             the object is freed; other threads' last uses of it may not have \
                             happened before the free"
                        )
                    }
                };
                let mut f = finding(
                    &RELAXED_REFCOUNT_DROP,
                    file,
                    event_region(dec),
                    message,
                    format!(
                        "use `{recv}.fetch_sub(1, Ordering::Release)` and put \
                         `std::sync::atomic::fence(Ordering::Acquire)` before freeing (the `Arc` \
                         pattern), or decrement with `Ordering::AcqRel`"
                    ),
                );
                f.fix = ordering_fix(&dec.args[1], "AcqRel");
                label(&mut f, event_region(free), "the object is freed here");
                out.push(f);
            }
        }
    }
}
