//! Atomic operations, memory orderings and fences, as every rule recognizes them; and the
//! operations that take or release a lock built from atomics (a spin lock).
//!
//! **Fences.** [`thread_fence`] is `fence(o)` (`std::sync::atomic::fence`, `core::…`): the only
//! fence that orders memory between threads, so only it (and std's `acquire!()` macro, which
//! expands to one) makes [`is_acquire_fence`] / [`is_release_fence`] true. `compiler_fence`
//! orders only against a signal handler on the same thread and never counts as acquiring or
//! releasing. As a *sign of a hand-written memory protocol* ([`is_fence_call`]), every fence
//! call counts: `fence`, `compiler_fence`, and a crate's own wrappers (`full_fence()`).

use super::{last_segment, Arg, Event, EventKind, FnFacts, MemOrdering};

/// Methods of the std atomic types that take orderings.
const ATOMIC_METHODS: &[&str] = &[
    "load",
    "store",
    "swap",
    "compare_exchange",
    "compare_exchange_weak",
    "compare_and_swap",
    "fetch_update",
    "fetch_add",
    "fetch_sub",
    "fetch_and",
    "fetch_nand",
    "fetch_or",
    "fetch_xor",
    "fetch_max",
    "fetch_min",
    "fetch_ptr_add",
    "fetch_ptr_sub",
    "fetch_byte_add",
    "fetch_byte_sub",
    "fetch_not",
    "fetch_neg",
];

/// Whether the event is a method call on an atomic (an ordering argument is present).
pub fn is_atomic_op(ev: &Event) -> bool {
    ev.kind == EventKind::MethodCall
        && ATOMIC_METHODS.contains(&ev.name.as_str())
        && ev.args.iter().any(|a| a.ordering.is_some())
}

/// Whether the event is an atomic read-modify-write (any atomic op but `load` and `store`).
pub fn is_rmw(ev: &Event) -> bool {
    is_atomic_op(ev) && !matches!(ev.name.as_str(), "load" | "store")
}

/// Whether `ev` looks like an atomic op whose orderings are not written out but passed in
/// (`self.next_all.load(ordering)` in a helper that callers give `Acquire` or `Relaxed`):
/// what it orders is the callers' choice, so it may acquire or release.
pub fn has_passed_ordering(ev: &Event) -> bool {
    let arity = match ev.name.as_str() {
        "load" => 1,
        "compare_exchange" | "compare_exchange_weak" => 4,
        n if ATOMIC_METHODS.contains(&n) && n != "fetch_update" && n != "compare_and_swap" => 2,
        _ => return false,
    };
    ev.kind == EventKind::MethodCall
        && ev.args.len() == arity
        && ev.args.iter().all(|a| a.ordering.is_none())
        && ev
            .args
            .last()
            .is_some_and(|a| a.place.is_some() && a.int_lit.is_none())
}

/// The ordering arguments of an atomic op, in order (success first for CAS).
pub fn ordering_args(ev: &Event) -> Vec<&Arg> {
    ev.args.iter().filter(|a| a.ordering.is_some()).collect()
}

/// The ordering that decides what the op synchronizes with when it succeeds.
pub fn success_ordering(ev: &Event) -> Option<&Arg> {
    ordering_args(ev).into_iter().next()
}

/// Whether `ev` is a `compare_exchange` / `compare_exchange_weak` with both orderings given.
pub fn is_cas(ev: &Event) -> bool {
    ev.kind == EventKind::MethodCall
        && matches!(
            ev.name.as_str(),
            "compare_exchange" | "compare_exchange_weak"
        )
        && ev.args.len() == 4
}

/// The failure ordering of a `compare_exchange`: it orders the load that produced the value
/// returned in `Err` (the value another thread stored), independently of the success ordering.
pub fn failure_ordering(ev: &Event) -> Option<&Arg> {
    is_cas(ev)
        .then(|| &ev.args[3])
        .filter(|a| a.ordering.is_some())
}

/// Whether the value a failed `compare_exchange` returns flows on: the CAS is matched with an
/// `Err(..)` pattern (`match`, `if let`), or its result is unwrapped to the current value
/// (`.unwrap_or_else(|x| x)`, `.unwrap_err()`, `.err()`, `.unwrap_or(..)`). Then the failure
/// ordering governs what that value may be used for.
pub fn failure_value_used(func: &FnFacts, ev: &Event) -> bool {
    if !is_cas(ev) {
        return false;
    }
    func.cases
        .iter()
        .any(|c| !c.negated && c.pattern.starts_with("Err") && c.scrutinee.contains(&ev.id))
        || func.events[ev.id + 1..].iter().any(|e| {
            e.kind == EventKind::MethodCall
                && matches!(
                    e.name.as_str(),
                    "unwrap_or_else" | "unwrap_err" | "err" | "unwrap_or"
                )
                && e.receiver_deps.contains(&ev.id)
        })
}

/// Whether `region` runs only when the compare-exchange `cas` failed: it lies in an `Err(..)`
/// case of a `match` / `if let` on the CAS's result. What it reads there was ordered by the
/// *failure* ordering; the success ordering governs the `Ok` path only.
pub fn in_failure_path(func: &FnFacts, cas: &Event, region: &super::Region) -> bool {
    is_cas(cas)
        && func.cases.iter().any(|c| {
            !c.negated
                && c.pattern.starts_with("Err")
                && c.scrutinee.contains(&cas.id)
                && c.region.contains(region)
        })
}

/// The ordering argument that governs the value `ev` reads from its atomic: a `load`'s; a
/// `swap`'s or `fetch_*`'s (the old value, read with the success ordering); for a
/// `compare_exchange`, its failure ordering when the value returned on failure flows on
/// ([`failure_value_used`]) — on success it returns the expected value, which the caller
/// already had. `None` for anything else.
pub fn read_ordering<'e>(func: &FnFacts, ev: &'e Event) -> Option<&'e Arg> {
    if !is_atomic_op(ev) || ev.name == "store" {
        return None;
    }
    if is_cas(ev) {
        return failure_value_used(func, ev).then(|| &ev.args[3]);
    }
    match ev.name.as_str() {
        "load" | "swap" => ordering_args(ev).into_iter().next(),
        n if n.starts_with("fetch_") && n != "fetch_update" => ordering_args(ev).into_iter().next(),
        _ => None,
    }
}

/// Whether the ordering acquires (`Acquire`, `AcqRel`, `SeqCst`).
pub fn acquires(o: MemOrdering) -> bool {
    matches!(
        o,
        MemOrdering::Acquire | MemOrdering::AcqRel | MemOrdering::SeqCst
    )
}

/// Whether the ordering releases (`Release`, `AcqRel`, `SeqCst`).
pub fn releases(o: MemOrdering) -> bool {
    matches!(
        o,
        MemOrdering::Release | MemOrdering::AcqRel | MemOrdering::SeqCst
    )
}

/// The ordering of a thread fence `fence(o)`; `None` for any other event, `compiler_fence`
/// included (see the module doc).
pub fn thread_fence(ev: &Event) -> Option<MemOrdering> {
    if ev.kind == EventKind::Call && last_segment(&ev.name) == "fence" {
        return ev.args.first().and_then(|a| a.ordering);
    }
    None
}

/// Whether the event calls a fence of any kind: `fence`, `compiler_fence`, or a function of
/// the crate's whose name ends in `fence` (`full_fence()`).
pub fn is_fence_call(ev: &Event) -> bool {
    ev.kind == EventKind::Call && last_segment(&ev.name).ends_with("fence")
}

/// An acquire fence: `fence(Acquire | AcqRel | SeqCst)`, or std's `acquire!(..)` macro (the
/// one `Arc` uses, copied by many crates).
pub fn is_acquire_fence(ev: &Event) -> bool {
    if ev.kind == EventKind::Macro && last_segment(&ev.name) == "acquire" {
        return true;
    }
    thread_fence(ev).is_some_and(acquires)
}

/// A release fence: `fence(Release | AcqRel | SeqCst)`.
pub fn is_release_fence(ev: &Event) -> bool {
    thread_fence(ev).is_some_and(releases)
}

/// Whether any event in `evs` acquires: an acquire fence, or an atomic op whose success
/// ordering acquires.
pub fn any_acquire(evs: &[Event]) -> bool {
    evs.iter().any(|e| {
        is_acquire_fence(e)
            || (is_atomic_op(e)
                && success_ordering(e)
                    .and_then(|a| a.ordering)
                    .is_some_and(acquires))
    })
}

/// Whether any event in `evs` releases: a release fence, or an atomic op with a releasing
/// success ordering.
pub fn any_release(evs: &[Event]) -> bool {
    evs.iter().any(|e| {
        is_release_fence(e)
            || (is_atomic_op(e)
                && success_ordering(e)
                    .and_then(|a| a.ordering)
                    .is_some_and(releases))
    })
}

/// The atomics (by field or static name, [`Place::last_name`](super::Place::last_name)) that
/// some operation of `func` acquires: an atomic op with an acquiring ordering (a load, a
/// read-modify-write, either ordering of a compare-exchange), an op followed by an acquire
/// fence in the function (`Relaxed` load, then `fence(Acquire)`), or an op whose ordering is
/// passed in (`self.next_all.load(ordering)`: its callers may pass `Acquire`).
pub fn acquired_in(func: &FnFacts) -> std::collections::HashSet<&str> {
    let last_fence = func
        .events
        .iter()
        .rev()
        .find(|e| is_acquire_fence(e))
        .map(|e| e.id);
    func.events
        .iter()
        .filter_map(|ev| {
            let recv = ev.receiver.as_ref()?;
            let acquires_here = has_passed_ordering(ev)
                || (is_atomic_op(ev)
                    && (ev.orderings().into_iter().any(acquires)
                        || last_fence.is_some_and(|f| f > ev.id)));
            acquires_here.then(|| recv.last_name())
        })
        .collect()
}

/// For every atomic name ([`acquired_in`]), the number of the crate's functions that acquire
/// it. A `Release` store pairs with something only when this is non-zero outside the storing
/// function.
pub fn acquiring_functions<'f>(
    funcs: impl IntoIterator<Item = &'f FnFacts>,
) -> std::collections::HashMap<String, usize> {
    let mut out = std::collections::HashMap::new();
    for func in funcs {
        for name in acquired_in(func) {
            *out.entry(name.to_string()).or_insert(0) += 1;
        }
    }
    out
}

// ---- Spin locks: a lock built from one atomic ----------------------------------------------

fn lockish_name(s: &str) -> bool {
    let s = s.to_ascii_lowercase();
    s.contains("lock") || s.contains("mutex") || s.starts_with("spin")
}

/// A `LOCKED`-style constant (not `UNLOCKED`).
fn lock_const(text: &str) -> bool {
    let last = last_segment(text);
    last.chars().any(|c| c.is_ascii_uppercase())
        && !last.chars().any(|c| c.is_ascii_lowercase())
        && last.contains("LOCK")
        && !last.contains("UNLOCK")
}

fn locked_value(a: &Arg) -> bool {
    a.text == "true" || a.int_lit == Some(1) || lock_const(&a.text)
}

fn unlocked_value(a: &Arg) -> bool {
    a.text == "false" || a.int_lit == Some(0) || last_segment(&a.text).contains("UNLOCK")
}

fn lock_fn(func: &FnFacts) -> bool {
    let n = func.short_name();
    matches!(
        n,
        "lock" | "try_lock" | "acquire" | "spin_lock" | "raw_lock"
    ) || n.starts_with("lock_")
        || n.starts_with("try_lock")
}

/// Whether `func` takes a lock by its contract: a `lock`/`try_lock`/`lock_*` function
/// (lock_api's `RawMutex::lock`, `RawRwLock::lock_exclusive`, …), or an `upgrade` /
/// `try_upgrade*` of a lock type (`RawRwLockUpgrade::upgrade`: a type named `…Lock…` or
/// `…Mutex…`; `Weak::upgrade` is not one). On return (or on `true`) the caller owns the
/// protected data, so the function must acquire what the previous owner released.
pub fn takes_lock(func: &FnFacts) -> bool {
    let n = func.short_name();
    lock_fn(func)
        || ((n == "upgrade" || n.starts_with("try_upgrade"))
            && func.owner().is_some_and(lockish_name))
}

fn unlock_fn(func: &FnFacts) -> bool {
    let n = func.short_name();
    n.contains("unlock") || matches!(n, "release" | "drop")
}

/// Whether `ev` takes a spin lock (any ordering): CAS unlocked→locked, `swap(locked)` whose old
/// value is tested, `fetch_or(LOCKED)` whose old value is tested; on an atomic named like a
/// lock, with a `LOCKED`-style value, or in a `lock`/`try_lock` function.
pub fn is_spin_acquire(func: &FnFacts, ev: &Event) -> bool {
    if !is_atomic_op(ev) {
        return false;
    }
    let Some(recv) = &ev.receiver else {
        return false;
    };
    let named = lockish_name(recv.last_name());
    let (value_is_lock, shape) = match ev.name.as_str() {
        "compare_exchange" | "compare_exchange_weak" | "compare_and_swap" if ev.args.len() >= 3 => {
            (
                lock_const(&ev.args[1].text),
                unlocked_value(&ev.args[0]) && locked_value(&ev.args[1]),
            )
        }
        "swap" if ev.args.len() == 2 => (
            lock_const(&ev.args[0].text),
            ev.value_used && locked_value(&ev.args[0]),
        ),
        "fetch_or" if ev.args.len() == 2 => (
            lock_const(&ev.args[0].text),
            ev.value_used && lock_const(&ev.args[0].text),
        ),
        _ => (false, false),
    };
    shape && (named || value_is_lock || lock_fn(func))
}

/// Whether `ev` releases a spin lock (any ordering): store/swap of the unlocked value, or
/// `fetch_and(!LOCKED)`; on an atomic named like a lock, with an `UNLOCKED`-style value, or in
/// an `unlock`/`release`/`drop` function.
pub fn is_spin_release(func: &FnFacts, ev: &Event) -> bool {
    if !is_atomic_op(ev) {
        return false;
    }
    let Some(recv) = &ev.receiver else {
        return false;
    };
    let (value_is_lock, shape) = match ev.name.as_str() {
        "store" | "swap" if ev.args.len() == 2 => (
            last_segment(&ev.args[0].text).contains("UNLOCK"),
            unlocked_value(&ev.args[0]),
        ),
        "fetch_and" if ev.args.len() == 2 => {
            let t = ev.args[0].text.trim_start_matches('!');
            let neg = ev.args[0].text.starts_with('!');
            (neg && lock_const(t), neg && lock_const(t))
        }
        _ => (false, false),
    };
    shape && (lockish_name(recv.last_name()) || value_is_lock || unlock_fn(func))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze_file;

    fn events(body: &str) -> crate::analysis::FnFacts {
        let src = format!("fn f(a: &AtomicUsize) {{ {body} }}");
        let facts = analyze_file(&syn::parse_file(&src).expect("test source parses"));
        facts.functions.into_iter().next().expect("one function")
    }

    #[test]
    fn acquired_names_count_acquiring_ops_fences_and_passed_orderings() {
        let f = events(
            "self.a.load(Acquire); self.d.compare_exchange(0, 1, Relaxed, Acquire); \
             self.e.load(Relaxed); fence(Acquire); self.b.load(Relaxed); \
             self.c.store(1, Release); self.g.load(ordering); self.h.load(Relaxed); \
             compiler_fence(SeqCst);",
        );
        let mut got: Vec<&str> = acquired_in(&f).into_iter().collect();
        got.sort_unstable();
        // `e` is followed by `fence(Acquire)`; `b` and `h` are Relaxed with no acquire fence after
        // them (`compiler_fence` is none), `c` only releases.
        assert_eq!(got, ["a", "d", "e", "g"]);
        let g = events("self.a.fetch_add(1, AcqRel); self.a.load(Acquire);");
        let counts = acquiring_functions([&f, &g]);
        assert_eq!(counts.get("a"), Some(&2));
        assert_eq!(counts.get("d"), Some(&1));
        assert_eq!(counts.get("c"), None);
    }

    #[test]
    fn failure_path_is_the_err_case_of_that_cas() {
        let f = events(
            "match a.compare_exchange(0, 1, Relaxed, Acquire) { \
                 Ok(_) => ok_side(), \
                 Err(cur) => err_side(cur), \
             } \
             if let Err(x) = a.compare_exchange(1, 2, Relaxed, Relaxed) { other(x); } \
             after();",
        );
        let ev = |name: &str| f.events.iter().find(|e| e.name == name).unwrap();
        let first = &f.events[0];
        assert!(in_failure_path(&f, first, &ev("err_side").region));
        assert!(!in_failure_path(&f, first, &ev("ok_side").region));
        assert!(!in_failure_path(&f, first, &ev("after").region));
        // The `Err` case of another CAS is not this one's failure path.
        assert!(!in_failure_path(&f, first, &ev("other").region));
    }

    #[test]
    fn atomic_ops_need_an_ordering_argument() {
        let f = events("a.load(Ordering::Acquire); a.fetch_add(1, SeqCst); v.load(); a.swap(1);");
        let got: Vec<bool> = f.events.iter().map(is_atomic_op).collect();
        assert_eq!(got, [true, true, false, false]);
        let cas = events("a.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed);");
        let orderings: Vec<_> = ordering_args(&cas.events[0])
            .iter()
            .map(|a| a.ordering)
            .collect();
        assert_eq!(
            orderings,
            [Some(MemOrdering::AcqRel), Some(MemOrdering::Relaxed)]
        );
        assert_eq!(
            success_ordering(&cas.events[0]).and_then(|a| a.ordering),
            Some(MemOrdering::AcqRel)
        );
    }

    #[test]
    fn fences_thread_compiler_and_wrappers() {
        let f = events(
            "std::sync::atomic::fence(Ordering::Acquire); fence(Release); fence(SeqCst); \
             compiler_fence(Ordering::SeqCst); full_fence(); acquire!(x); fence_count(1);",
        );
        let acq: Vec<bool> = f.events.iter().map(is_acquire_fence).collect();
        let rel: Vec<bool> = f.events.iter().map(is_release_fence).collect();
        let any: Vec<bool> = f.events.iter().map(is_fence_call).collect();
        assert_eq!(acq, [true, false, true, false, false, true, false]);
        assert_eq!(rel, [false, true, true, false, false, false, false]);
        // compiler_fence orders nothing between threads, but marks a hand-written protocol.
        assert_eq!(any, [true, true, true, true, true, false, false]);
        assert_eq!(thread_fence(&f.events[3]), None);
        assert!(any_acquire(&f.events[..1]) && !any_acquire(&f.events[1..2]));
        assert!(any_release(&f.events[1..2]) && !any_release(&f.events[3..5]));
    }

    #[test]
    fn acquiring_and_releasing_atomic_ops() {
        let f = events(
            "a.load(Relaxed); a.fetch_add(1, Acquire); a.store(1, Release); a.swap(2, AcqRel);",
        );
        assert!(!any_acquire(&f.events[..1]));
        assert!(any_acquire(&f.events[1..2]) && !any_release(&f.events[1..2]));
        assert!(any_release(&f.events[2..3]) && !any_acquire(&f.events[2..3]));
        assert!(any_acquire(&f.events[3..]) && any_release(&f.events[3..]));
    }

    #[test]
    fn cas_failure_value_and_read_orderings() {
        let src = "fn f(&self) {
            match T.compare_exchange(a, b, AcqRel, Relaxed) { Ok(_) => b, Err(old) => old };
            let v = T.compare_exchange(a, b, Release, Relaxed).unwrap_or_else(|x| x);
            T.compare_exchange(a, b, Acquire, Relaxed).is_ok();
            s.load(Acquire); s.fetch_sub(1, Relaxed); s.store(1, Release);
        }";
        let facts = analyze_file(&syn::parse_file(src).expect("test source parses"));
        let f = &facts.functions[0];
        let cas: Vec<&Event> = f.events.iter().filter(|e| is_cas(e)).collect();
        let used: Vec<bool> = cas.iter().map(|e| failure_value_used(f, e)).collect();
        // The third only tests success: its failure value goes nowhere.
        assert_eq!(used, [true, true, false]);
        assert_eq!(
            failure_ordering(cas[0]).and_then(|a| a.ordering),
            Some(MemOrdering::Relaxed)
        );
        let reads: Vec<Option<MemOrdering>> = f
            .events
            .iter()
            .filter(|e| is_atomic_op(e))
            .map(|e| read_ordering(f, e).and_then(|a| a.ordering))
            .collect();
        use MemOrdering::*;
        assert_eq!(
            reads,
            [
                Some(Relaxed),
                Some(Relaxed),
                None,
                Some(Acquire),
                Some(Relaxed),
                None
            ]
        );
    }

    #[test]
    fn lock_taking_functions_by_contract() {
        let src = "impl RawRwLock { fn lock_exclusive(&self) {} fn upgrade(&self) {} \
                   fn try_upgrade_for(&self) {} fn unlock(&self) {} }
                   impl Weak { fn upgrade(&self) {} }";
        let facts = analyze_file(&syn::parse_file(src).expect("test source parses"));
        let got: Vec<bool> = facts.functions.iter().map(takes_lock).collect();
        assert_eq!(got, [true, true, true, false, false]);
    }

    fn spin(src: &str) -> Vec<(bool, bool)> {
        let facts = analyze_file(&syn::parse_file(src).expect("test source parses"));
        let f = &facts.functions[0];
        f.events
            .iter()
            .map(|e| (is_spin_acquire(f, e), is_spin_release(f, e)))
            .collect()
    }

    #[test]
    fn spin_lock_shapes() {
        // By the atomic's name.
        assert_eq!(
            spin("fn f(&self) { while self.locked.swap(true, Acquire) {} self.locked.store(false, Release); }"),
            [(true, false), (false, true)]
        );
        // A swap whose old value is ignored takes nothing; a counter named otherwise is no lock.
        assert_eq!(
            spin("fn f(&self) { self.locked.swap(true, Acquire); self.count.store(0, Relaxed); }"),
            [(false, false), (false, false)]
        );
        // By the constants, on an atomic with any name.
        assert_eq!(
            spin("fn f(&self) { if self.state.fetch_or(LOCKED, Acquire) & LOCKED == 0 {} self.state.fetch_and(!LOCKED, Release); }"),
            [(true, false), (false, true)]
        );
        // By the function's name.
        assert_eq!(
            spin("fn try_lock(&self) -> bool { self.flag.compare_exchange(0, 1, Acquire, Relaxed).is_ok() }"),
            [(true, false), (false, false)]
        );
    }
}
