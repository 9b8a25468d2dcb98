use crate::analysis::accessors::AtomicOp;
use crate::analysis::atomics::{acquired_in, acquiring_functions, is_fence_call, is_rmw};
use crate::analysis::locks::Guards;
use crate::analysis::{Event, EventId, EventKind, FnFacts, MemOrdering, Place};
use std::collections::HashMap;

/// Read-modify-writes that succeed for one racer only: a successful one between the load and
/// the store has claimed the right to write.
const CAS: &[&str] = &[
    "compare_exchange",
    "compare_exchange_weak",
    "compare_and_swap",
    "fetch_update",
];
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, label, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds an atomic that is read with `load` and later written with `store`, where the stored
    /// value is computed from the loaded one (`x.store(x.load(..) - amount, ..)`) or the store
    /// only happens because of a check on the loaded value (`if x.load(..) >= amount { .. }`);
    /// and a check-then-count, a `fetch_add`/`fetch_sub` (direct, or through a crate method
    /// that does one: `self.count_connection()`) that only runs because of a check on an
    /// earlier load (`if in_use.load(..) < max { in_use.fetch_add(1, ..) }`).
    ///
    /// ### Why is this bad
    /// A `load` followed by a `store` is two atomic steps, not one. Two threads withdrawing 50
    /// from a balance of 100 can both load 100, both pass the `>= 50` check and both store 50:
    /// one withdrawal vanishes and nothing reports an error. Each access is atomic, so there is
    /// no data race for sanitizers or Miri to see, and tests on an idle machine almost never
    /// interleave at exactly that point: the bug shows up as money that does not add up in
    /// production.
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn withdraw(&self, amount: i64) -> Result<(), Insufficient> {
    ///     let balance = self.balance.load(Ordering::SeqCst);
    ///     if balance < amount {
    ///         return Err(Insufficient);
    ///     }
    ///     self.balance.store(balance - amount, Ordering::SeqCst);
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ### Use instead
    /// Make the read and the write one atomic step: `fetch_add`/`fetch_sub`/`fetch_max` when the
    /// update is unconditional, and `fetch_update` (or a `compare_exchange` loop) when it depends
    /// on a check:
    /// ```rust,ignore
    /// fn withdraw(&self, amount: i64) -> Result<(), Insufficient> {
    ///     self.balance
    ///         .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| (b >= amount).then(|| b - amount))
    ///         .map(|_| ())
    ///         .map_err(|_| Insufficient)
    /// }
    /// ```
    ///
    /// ### Known limitations
    /// Data flow is followed within one function (through `let` bindings, arithmetic, branches,
    /// closures); across calls only into the crate's own getters and setters: a `&self` method
    /// that returns a `load` of one field of `self`, or stores one of its parameters into one,
    /// counts as that load or store of the caller's receiver (`pool.available()` reads
    /// `pool.available`), when every crate method the call may be agrees; deeper helpers are
    /// not followed. Atomics that are local variables built in the function
    /// (`let c = AtomicUsize::new(0)`) are assumed unshared; wrap them in `Arc` and they count.
    /// A check-then-count is not reported when one lock guard is live at both the check and
    /// the count (a `drop(guard)` in a branch that returns does not end it for the code after
    /// the branch), when the count's own result is tested (`if c.fetch_add(1, ..) >= max {
    /// c.fetch_sub(1, ..) }`, the optimistic increment), or when the load is the exit test of a
    /// work loop and a call in the loop decides the count (`while left.load(..) > 0 { if let
    /// Some(x) = q.pop() { left.fetch_sub(1, ..) } }`: each racer counts what it claimed).
    /// Not reported, because only one thread can be writing: functions taking `&mut self` or
    /// `self` (also written out: `self: &mut Self`, `self: Box<Self>`; `self: &Arc<Self>` is
    /// shared), and `unsafe fn`s (whose callers guarantee exclusivity); pairs after a lock guard
    /// was taken in the same function; a `Release` store that pairs with an acquire of the
    /// same atomic in another function of the crate, or an explicit `fence` in the function
    /// (the single-writer publication idiom of SPSC queues, seqlocks and deques; a `Release`
    /// store that nothing else acquires publishes nothing and is reported) — except when
    /// the read was a counting read-modify-write (`fetch_add`/`fetch_sub`, whose result counts
    /// as a load: `if c.fetch_add(1, ..) == 0 { c.store(0, Release) }` overwrites the
    /// increments made in between), which expects other writers; a
    /// `bool` literal stored under a check as the last thing the check guards, or a freshly
    /// computed value stored under a check (every racer writes the same value: lazy
    /// initialization) — a flag stored *before* more guarded work is a claim that two racers
    /// both make (`if !started.load(..) { started.store(true, ..); spawn(..) }`); a store that only runs after a successful
    /// compare-and-swap (the CAS already chose one writer); a pair inside a closure that is not
    /// passed straight to `spawn` (a callback may run under its caller's lock). A single-writer
    /// design enforced elsewhere (an owner thread, a lock taken by the caller) is not visible
    /// to the rule: suppress with a reason (crossbeam-deque's FIFO `Worker::pop` undoes its own
    /// `fetch_add` with a `store` when the queue was empty, which the deque's protocol makes
    /// safe: stealers cannot succeed on an empty queue).
    pub static ATOMIC_LOAD_STORE = {
        name: "atomic-load-store",
        group: LostUpdate,
        level: Warn,
        summary: "an atomic is loaded and then stored with a value derived from (or guarded by) the load",
    };
}

pub struct AtomicLoadStore;

/// Read-modify-writes that count: the value they return is a read like a `load`'s, and a later
/// `store` of the same atomic that depends on it overwrites every count other threads made in
/// between (`if c.fetch_add(1, ..) == 0 { c.store(0, ..) }`: a concurrent increment after the
/// first is lost). `swap` and compare-exchanges are not counted: racing RMWs that set a fixed
/// value in between (a spin lock's `swap(true)`) lose nothing to the store.
fn is_counting_rmw(ev: &Event) -> bool {
    is_rmw(ev) && matches!(ev.name.as_str(), "fetch_add" | "fetch_sub")
}

/// The last load of the same shared atomic that `store` depends on, by data or control: a
/// direct `load`, a crate getter of that atomic (`analysis::accessors`), or a counting
/// read-modify-write ([`is_counting_rmw`]).
fn matching_load<'f>(
    cx: &CrateContext<'_>,
    func: &'f FnFacts,
    store: &AtomicOp<'f>,
) -> Option<(AtomicOp<'f>, bool)> {
    let recv = &store.place;
    if !recv.maybe_shared() {
        return None;
    }
    let ev = store.ev;
    func.events[..ev.id]
        .iter()
        .rev()
        .filter_map(|l| {
            AtomicOp::load(cx.accessors(), cx.index, func, l).or_else(|| {
                if !is_counting_rmw(l) {
                    return None;
                }
                Some(AtomicOp {
                    ev: l,
                    place: l.receiver.clone()?,
                    ordering: l.args.iter().find_map(|a| a.ordering)?,
                    value: None,
                    via: None,
                })
            })
        })
        .filter(|l| l.place.text == recv.text)
        .find_map(|l| {
            let data = ev.data_deps.contains(&l.ev.id);
            (data || ev.control_deps.contains(&l.ev.id)).then_some((l, data))
        })
        .filter(|(l, _)| !rmw_between(func, l.ev.id, ev.id, &recv.text))
}

fn rmw_between(func: &FnFacts, a: EventId, b: EventId, recv: &str) -> bool {
    func.between(a, b)
        .iter()
        .any(|ev| is_rmw(ev) && ev.receiver.as_ref().is_some_and(|r| r.text == recv))
}

/// Patterns where the load/store pair cannot lose an update because only one thread writes:
/// * `&mut self` / `self`: exclusive access;
/// * a lock guard live at the load (`analysis::locks::Guards`) serializes the writers;
/// * `unsafe fn`: the caller guarantees the invariants (typically "the lock is held");
/// * a `Release` store that another function of the crate acquires, or an explicit `fence`
///   in the function: a hand-written memory protocol (SPSC queue indices, seqlock writers,
///   work-stealing deques) whose writer owns the value and publishes it to its consumer;
/// * a store of a `bool` literal guarded by the load (`if !done.load(..) { done.store(true) }`)
///   that completes the guarded code writes the same value whichever thread wins (when guarded
///   work follows the store it is a claim, see [`claims`]).
fn serialized(
    cx: &CrateContext<'_>,
    func: &FnFacts,
    load: &Event,
    store: &AtomicOp<'_>,
    data: bool,
    acquirers: &HashMap<String, usize>,
) -> bool {
    let (ordering, value, store_place, store) =
        (store.ordering, store.value, &store.place, store.ev);
    if func.exclusive_self() || func.is_unsafe || Guards::of(cx.index, func).live_at(load) {
        return true;
    }
    if store.closure_depth > 0 && !spawned(func, store) {
        return true;
    }
    // Hand-written memory protocols (explicit fences, Release publication of an index the
    // writer owns) are single-writer by design; lost updates live in code that counts. A read
    // by a counting RMW is no single-writer read: it expects other writers.
    // A `Release` store is that protocol only when the release pairs with an acquire of the
    // same atomic in another function of the crate (the consumer's `Acquire` load); a
    // `Release` that nothing else acquires orders nothing, and the load→store pair is an
    // ordinary check-then-set that two writers can race through.
    if !is_counting_rmw(load)
        && ((ordering == MemOrdering::Release && acquired_elsewhere(func, store_place, acquirers))
            || func.events.iter().any(is_fence_call))
    {
        return true;
    }
    if claimed(func, load, store) {
        return true;
    }
    if data {
        return false;
    }
    // Guarded only: a bool, or a value freshly computed by a call (lazy initialization of a
    // cache: every racer stores the same result), or a constant state stored after guarded
    // initialisation work (`if state.load(..) == UNINIT { init(); state.store(READY, ..) }`).
    let Some(value) = value else {
        return false;
    };
    let is_bool = matches!(value.text.as_str(), "true" | "false");
    (is_bool && !claims(func, load, store))
        || (constant(value) && !claims(func, load, store) && initialises(func, load, store))
        || value.deps.iter().any(|&d| {
            matches!(func.events[d].kind, EventKind::Call | EventKind::MethodCall)
                && !func.events[d].data_deps.contains(&load.id)
        })
}

/// A successful compare-and-swap (on any atomic) between the two that the write depends on
/// has claimed the right to write: the losers of the CAS never reach the write.
fn claimed(func: &FnFacts, load: &Event, write: &Event) -> bool {
    func.between(load.id, write.id)
        .iter()
        .any(|e| CAS.contains(&e.name.as_str()) && write.control_deps.contains(&e.id))
}

/// The last load of the same shared atomic (direct or through a getter) whose value decides
/// whether the counting write runs: `if in_use.load(..) < max { in_use.fetch_add(1, ..) }`.
/// A count whose own result is tested (`if c.fetch_add(1, ..) >= max { c.fetch_sub(1, ..) }`,
/// the optimistic increment) is the atomic check itself, and nothing is paired with it.
fn checked_count<'f>(
    cx: &CrateContext<'_>,
    func: &'f FnFacts,
    count: &AtomicOp<'f>,
) -> Option<AtomicOp<'f>> {
    let ev = count.ev;
    if !count.place.maybe_shared()
        || func.events[ev.id + 1..]
            .iter()
            .any(|e| e.data_deps.contains(&ev.id) || e.control_deps.contains(&ev.id))
    {
        return None;
    }
    func.events[..ev.id]
        .iter()
        .rev()
        .filter_map(|l| AtomicOp::load(cx.accessors(), cx.index, func, l))
        .filter(|l| l.place.text == count.place.text)
        .find(|l| ev.control_deps.contains(&l.ev.id))
        .filter(|l| !rmw_between(func, l.ev.id, ev.id, &count.place.text))
        .filter(|l| !counts_claims(func, l.ev, ev))
}

/// A work loop's exit test with a count of what each pass claimed: `while remaining.load(..) >
/// 0 { if let Some(x) = q.steal() { remaining.fetch_sub(1, ..) } }`. The load is the condition
/// of a loop around the count, and a call inside the loop (the claim) decides the count too:
/// each racer counts only what it took, so passing the same exit test loses nothing.
fn counts_claims(func: &FnFacts, load: &Event, count: &Event) -> bool {
    count.loops.iter().any(|&l| {
        let lp = &func.loops[l];
        lp.header_deps.contains(&load.id)
            && count.control_deps.iter().any(|&d| {
                let e = &func.events[d];
                d > load.id
                    && lp.region.contains(&e.region)
                    && matches!(e.kind, EventKind::Call | EventKind::MethodCall)
            })
    })
}

/// Check-then-count pairs that one writer at a time runs: exclusive access, an `unsafe fn`,
/// one lock guard live at both the check and the count, a closure not spawned, or a CAS
/// between them that chose the writer. The single-writer protocols and same-value stores that
/// excuse a load→store pair do not apply: every racer that passes the check adds its own count.
fn count_serialized(cx: &CrateContext<'_>, func: &FnFacts, load: &Event, count: &Event) -> bool {
    func.exclusive_self()
        || func.is_unsafe
        || Guards::of(cx.index, func).live_across(load, count)
        || (count.closure_depth > 0 && !spawned(func, count))
        || claimed(func, load, count)
}

/// A value every racer stores alike: an integer literal or a constant / enum variant path
/// (`RUNNING`, `State::Initialized`).
fn constant(value: &crate::analysis::Arg) -> bool {
    value.deps.is_empty()
        && (value.int_lit.is_some()
            || crate::analysis::last_segment(&value.text)
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase()))
}

/// Whether guarded work runs before the store: a call decided by the same checks as the store
/// (the initialisation the stored state announces). A bare check-then-set of a state word
/// (`if s.load(..) == IDLE { s.store(RUNNING, ..) }`) does nothing but claim the state.
fn initialises(func: &FnFacts, load: &Event, store: &Event) -> bool {
    func.between(load.id, store.id).iter().any(|e| {
        e.closure_depth == store.closure_depth && e.control_deps.contains(&load.id) && does_work(e)
    })
}

/// Whether the event does something: a method call, an assignment, or a call of a function
/// (not a constructor: `Ok(true)`, `Some(v)`, `State::Ready(x)` only build the result).
fn does_work(e: &Event) -> bool {
    match e.kind {
        EventKind::MethodCall | EventKind::Assign { .. } => true,
        EventKind::Call => !crate::analysis::last_segment(&e.name)
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase()),
        EventKind::Macro => false,
    }
}

/// Whether some function of the crate other than `func` acquires the atomic `place` (by
/// field or static name, `analysis::atomics::acquiring_functions`).
fn acquired_elsewhere(func: &FnFacts, place: &Place, acquirers: &HashMap<String, usize>) -> bool {
    let name = place.last_name();
    let here = usize::from(acquired_in(func).contains(name));
    acquirers.get(name).is_some_and(|&n| n > here)
}

/// Whether the flag store under a check on `load` is a *claim*: code the check guards runs
/// after the store (`if !started.load(..) { started.store(true, ..); spawn_worker() }`). Two
/// threads that both read `false` both claim and both do the work. A store that comes last in
/// the guarded code completes an initialisation (`if !ready.load(..) { init(); ready.store(true,
/// ..) }`): racers repeat the same initialisation and store the same value.
///
/// The work must run whenever the store ran: it is decided by exactly the same checks, and no
/// `return`/`break`/`continue` lies between the two (events of another branch — `else`, the
/// code after a `break` in a retry loop — come later in the text but not after the store).
fn claims(func: &FnFacts, load: &Event, store: &Event) -> bool {
    let exit_between = |e: &Event| {
        func.exits
            .iter()
            .chain(&func.continues)
            .any(|x| store.region.precedes(&x.region) && x.region.precedes(&e.region))
    };
    func.events[store.id + 1..].iter().any(|e| {
        e.closure_depth == store.closure_depth
            && e.control_deps.contains(&load.id)
            && e.control_deps == store.control_deps
            && does_work(e)
            && !exit_between(e)
    })
}

/// Whether `ev` sits in a closure or async block passed directly to a thread/task spawn. Code
/// in any other closure runs in a calling context we cannot see (a callback invoked under the
/// caller's lock, an iterator adapter), so the rule stays silent there.
fn spawned(func: &FnFacts, ev: &Event) -> bool {
    func.events.iter().any(|call| {
        matches!(call.kind, EventKind::Call | EventKind::MethodCall)
            && (call.name.ends_with("spawn")
                || call.name.ends_with("spawn_blocking")
                || call.name.ends_with("spawn_local"))
            && call.args.iter().any(|a| a.region.contains(&ev.region))
    })
}

/// The concrete fix for this store.
fn help(recv: &str, value: &str, data: bool, guarded: bool) -> String {
    if data && !guarded {
        let op = if value.contains("max") {
            "fetch_max"
        } else if value.contains("min") {
            "fetch_min"
        } else if value.contains('-') {
            "fetch_sub"
        } else {
            "fetch_add"
        };
        format!(
            "make it one atomic step: `{recv}.{op}(..)` when the change is a plain delta, \
             otherwise `{recv}.fetch_update(..)` or a `compare_exchange` loop that retries when \
             the value changed"
        )
    } else {
        format!(
            "do the check and the write as one atomic step: `{recv}.fetch_update(.., |v| \
             (/* check on v */).then(|| /* new value */))` or a `compare_exchange(expected, new, ..)` \
             loop, so the store fails when another thread changed `{recv}` after the read"
        )
    }
}

impl Rule for AtomicLoadStore {
    fn meta(&self) -> &'static RuleMeta {
        &ATOMIC_LOAD_STORE
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        let mut acquirers = None;
        for (file, func) in cx.functions() {
            for store in func
                .events
                .iter()
                .filter_map(|e| AtomicOp::store(cx.accessors(), cx.index, func, e))
            {
                let Some((load, data)) = matching_load(cx, func, &store) else {
                    continue;
                };
                let acquirers = acquirers
                    .get_or_insert_with(|| acquiring_functions(cx.functions().map(|(_, f)| f)));
                if serialized(cx, func, load.ev, &store, data, acquirers) {
                    continue;
                }
                let recv = &store.place.text;
                let guarded = store.ev.control_deps.contains(&load.ev.id);
                let how = match (data, guarded) {
                    (true, true) => "with a value computed from, and under a check on,",
                    (true, false) => "with a value computed from",
                    _ => "under a check on",
                };
                let through = |op: &AtomicOp<'_>| {
                    op.via
                        .map(|m| format!(" (through `{m}()`)"))
                        .unwrap_or_default()
                };
                let value = store.value.map_or("", |v| v.text.as_str());
                let mut f = finding(
                    &ATOMIC_LOAD_STORE,
                    file,
                    event_region(store.ev),
                    format!(
                        "`{recv}` is stored{} {how} an earlier load; an update made by another \
                         thread in between is lost",
                        through(&store)
                    ),
                    help(recv, value, data, guarded),
                );
                label(
                    &mut f,
                    event_region(load.ev),
                    format!("`{recv}` is read here{}", through(&load)),
                );
                out.push(f);
            }
            check_then_count(cx, file, func, out);
        }
    }
}

/// `if x.load(..) < max { x.fetch_add(1, ..) }`: two threads both pass the check before either
/// counts (one connection, permit or slot too many; a counter below zero).
fn check_then_count(
    cx: &CrateContext<'_>,
    file: &crate::rules::FileCx<'_>,
    func: &FnFacts,
    out: &mut Vec<Finding>,
) {
    for count in func
        .events
        .iter()
        .filter_map(|e| AtomicOp::count(cx.accessors(), cx.index, func, e))
    {
        let Some(load) = checked_count(cx, func, &count) else {
            continue;
        };
        if count_serialized(cx, func, load.ev, count.ev) {
            continue;
        }
        let recv = &count.place.text;
        let through = |op: &AtomicOp<'_>| {
            op.via
                .map(|m| format!(" (through `{m}()`)"))
                .unwrap_or_default()
        };
        let (verb, step) = if count_op(cx, func, &count) == "fetch_sub" {
            ("decremented", "v - 1")
        } else {
            ("incremented", "v + 1")
        };
        let mut f = finding(
            &ATOMIC_LOAD_STORE,
            file,
            event_region(count.ev),
            format!(
                "`{recv}` is {verb}{} under a check on an earlier load; two threads can both \
                 pass the check before either counts",
                through(&count)
            ),
            format!(
                "do the check and the count as one atomic step: `{recv}.fetch_update(.., |v| \
                 (/* check on v */).then(|| {step}))` or a `compare_exchange` loop{}",
                if Guards::of(cx.index, func).live_at(load.ev) {
                    "; or count before the lock guard the check runs under is released"
                } else {
                    ""
                }
            ),
        );
        label(
            &mut f,
            event_region(load.ev),
            format!("`{recv}` is read here{}", through(&load)),
        );
        out.push(f);
    }
}

/// The counting operation of a direct call or of the accessor it goes through.
fn count_op<'a>(cx: &'a CrateContext<'_>, func: &FnFacts, count: &'a AtomicOp<'_>) -> &'a str {
    if count.via.is_none() {
        return &count.ev.name;
    }
    match cx.accessors().of_call(cx.index, func, count.ev) {
        Some(crate::analysis::accessors::Accessor::Count { op, .. }) => op,
        _ => &count.ev.name,
    }
}
