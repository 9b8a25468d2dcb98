use super::ordering_token;
use crate::analysis::atomics::is_atomic_op;
use crate::analysis::MemOrdering;
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{finding, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Reports every atomic operation that uses `Ordering::Relaxed` (a `load`, `store`, `swap`,
    /// `fetch_*`, or either ordering of a `compare_exchange`). Off by default: enable it for
    /// code where every `Relaxed` must carry a written justification (a suppression with a
    /// reason).
    ///
    /// ### Why is this bad
    /// `Relaxed` makes the one atomic access indivisible and nothing more: it does not order
    /// any other memory access around it. That is right for a statistics counter and wrong
    /// for a flag, index or pointer that hands other memory to another thread (the producer's
    /// data write may become visible after the flag). x86's strong hardware ordering hides
    /// the difference, so a wrong `Relaxed` passes every test there and fails on ARM, or when
    /// the compiler reorders. Teams that want each one reviewed turn this rule on and
    /// suppress the justified ones with a reason.
    ///
    /// ### Example
    /// ```rust,ignore
    /// self.ready.store(true, Ordering::Relaxed);
    /// ```
    ///
    /// ### Use instead
    /// Either a stronger ordering, or a suppression that says why `Relaxed` is enough:
    /// ```rust,ignore
    /// // heisen: allow(relaxed-any) -- statistics only, nothing is read through it
    /// self.hits.fetch_add(1, Ordering::Relaxed);
    /// ```
    ///
    /// ### Known limitations
    /// Only orderings written as a path ending in `Relaxed` (`Ordering::Relaxed`, an imported
    /// `Relaxed`) are seen; an ordering passed in a variable or returned by a function is
    /// not. `fetch_update`'s closure is not inspected.
    pub static RELAXED_ANY = {
        name: "relaxed-any",
        group: MemoryOrdering,
        level: Allow,
        summary: "an atomic operation uses `Ordering::Relaxed` (off by default: for teams that justify each one)",
    };
}

pub struct RelaxedAny;

impl Rule for RelaxedAny {
    fn meta(&self) -> &'static RuleMeta {
        &RELAXED_ANY
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            for ev in func.events.iter().filter(|e| is_atomic_op(e)) {
                let Some(arg) = ev
                    .args
                    .iter()
                    .find(|a| a.ordering == Some(MemOrdering::Relaxed))
                else {
                    continue;
                };
                let recv = ev
                    .receiver
                    .as_ref()
                    .map(|p| p.text.as_str())
                    .unwrap_or("the atomic");
                let region = ordering_token(arg).unwrap_or(arg.region);
                out.push(finding(
                    &RELAXED_ANY,
                    file,
                    region,
                    format!(
                        "`{recv}.{}` uses `Relaxed`, which orders no other memory access",
                        ev.name
                    ),
                    format!(
                        "if `{recv}` hands other memory to another thread use `Release` on the \
                         write and `Acquire` on the read; otherwise suppress with a reason \
                         (`// heisen: allow(relaxed-any) -- counter only`)"
                    ),
                ));
            }
        }
    }
}
