use crate::analysis::locks::Guards;
use crate::analysis::{Event, EventKind, FnFacts, Root};
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, label, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds a pointer read with a plain `load` from a shared `AtomicPtr` (a field of `self`, of
    /// a parameter, or a static) that is then freed (`Box::from_raw`, `drop_in_place`,
    /// `dealloc`) while the atomic still holds it: nothing between the load and the free
    /// takes the pointer out of the atomic (`swap`, `compare_exchange`, `store`).
    ///
    /// ### Why is this bad
    /// Freeing memory is a write that must happen exactly once. A `load` only copies the
    /// pointer: the atomic still hands it to every other thread that looks, and one of them
    /// may free it too (a double free) or read it after this thread freed it (a
    /// use-after-free). Taking the pointer out with one atomic step decides which thread owns
    /// it.
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn discard(&self) {
    ///     let mut block = self.head.swap(ptr::null_mut(), Ordering::AcqRel);
    ///     while block.is_null() {
    ///         backoff.snooze();
    ///         block = self.head.load(Ordering::Acquire); // still in `self.head`
    ///     }
    ///     unsafe { drop(Box::from_raw(block)) };
    /// }
    /// ```
    ///
    /// ### Use instead
    /// Take ownership in the same atomic step that reads the pointer:
    /// ```rust,ignore
    /// while block.is_null() {
    ///     backoff.snooze();
    ///     block = self.head.swap(ptr::null_mut(), Ordering::AcqRel);
    /// }
    /// ```
    /// or free only after a `compare_exchange` that replaced the pointer succeeded.
    ///
    /// ### Known limitations
    /// Data flow is followed within one function. The atomic is recognized by a declared type
    /// `AtomicPtr<..>` of its field, static or parameter (a field name that several structs
    /// declare counts when one of them is an `AtomicPtr`: only that one can be loaded with an
    /// ordering). Not reported: functions with exclusive access (`&mut self`,
    /// `self`, `Drop::drop`) and `unsafe fn`s (their callers guarantee ownership), loads under
    /// a lock guard, and frees after a `swap`/`compare_exchange`/`store` of the same atomic
    /// between the load and the free (a write after the free comes too late). Reclamation schemes that defer the free (epochs, hazard
    /// pointers) call no free function and are not reported.
    pub static FREE_OF_LOADED_POINTER = {
        name: "free-of-loaded-pointer",
        group: LostUpdate,
        level: Warn,
        summary: "a pointer loaded from a shared AtomicPtr is freed while the atomic still holds it",
    };
}

pub struct FreeOfLoadedPointer;

/// Writes that take the pointer out of the atomic (or replace it).
const TAKES: &[&str] = &[
    "swap",
    "compare_exchange",
    "compare_exchange_weak",
    "compare_and_swap",
    "fetch_update",
    "store",
];

fn is_free(ev: &Event) -> bool {
    ev.kind == EventKind::Call
        && (ev.name.ends_with("Box::from_raw")
            || ev.name == "drop_in_place"
            || ev.name.ends_with("ptr::drop_in_place")
            || ev.name == "dealloc"
            || ev.name.ends_with("alloc::dealloc"))
}

fn shared_field_or_static(root: &Root) -> bool {
    matches!(root, Root::SelfValue | Root::Param | Root::Static)
}

/// The plain loads of a shared `AtomicPtr` whose value reaches the free `f`, with no write
/// taking the pointer out of that atomic after the load.
fn loads_reaching<'f>(cx: &CrateContext<'_>, func: &'f FnFacts, f: &Event) -> Vec<&'f Event> {
    let deps: Vec<usize> = f.args.iter().flat_map(|a| a.deps.iter().copied()).collect();
    deps.into_iter()
        .map(|d| &func.events[d])
        .filter(|l| l.is_method("load", 1) && l.closure_depth == f.closure_depth)
        .filter(|l| {
            let Some(p) = &l.receiver else { return false };
            shared_field_or_static(&p.root)
                && !p.text.starts_with('(')
                && l.args[0].ordering.is_some()
                // A field name several structs declare: the one that can be loaded with an
                // ordering is the atomic (`block: AtomicPtr<Block>` beside `block: *const u8`).
                && cx
                    .index
                    .declared_types(func, p)
                    .iter()
                    .any(|t| t.contains("AtomicPtr"))
                && !func.events.iter().any(|w| {
                    w.id > l.id
                        && w.id < f.id
                        && TAKES.contains(&w.name.as_str())
                        && w.receiver.as_ref().is_some_and(|r| r.text == p.text)
                })
        })
        .collect()
}

impl Rule for FreeOfLoadedPointer {
    fn meta(&self) -> &'static RuleMeta {
        &FREE_OF_LOADED_POINTER
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            if func.exclusive_self() || func.is_unsafe {
                continue;
            }
            let guards = Guards::of(cx.index, func);
            // One finding per load, with every free it reaches.
            let mut by_load: Vec<(&Event, Vec<&Event>)> = Vec::new();
            for f in func.events.iter().filter(|e| is_free(e)) {
                let Some(l) = loads_reaching(cx, func, f)
                    .into_iter()
                    .find(|l| !guards.live_at(l))
                else {
                    continue;
                };
                match by_load.iter_mut().find(|(x, _)| x.id == l.id) {
                    Some((_, frees)) => frees.push(f),
                    None => by_load.push((l, vec![f])),
                }
            }
            for (l, frees) in by_load {
                let atomic = l.receiver.as_ref().map_or("", |p| p.text.as_str());
                let mut fi = finding(
                    &FREE_OF_LOADED_POINTER,
                    file,
                    event_region(l),
                    format!(
                        "the pointer loaded from `{atomic}` is freed while `{atomic}` still \
                         holds it: another thread can load and free it too"
                    ),
                    format!(
                        "take the pointer out in the same atomic step: \
                         `{atomic}.swap(ptr::null_mut(), Ordering::AcqRel)`, or free it only \
                         after a successful `compare_exchange` on `{atomic}`"
                    ),
                );
                for f in frees {
                    label(&mut fi, event_region(f), "freed here");
                }
                out.push(fi);
            }
        }
    }
}
