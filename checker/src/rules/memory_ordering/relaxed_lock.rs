use super::ordering_fix;
use crate::analysis::atomics::{
    any_acquire, is_acquire_fence, is_atomic_op, is_release_fence, is_spin_acquire,
    is_spin_release, read_ordering, success_ordering, takes_lock,
};
use crate::analysis::locks::crate_callee;
use crate::analysis::{Event, EventKind, FnFacts, LoopKind, MemOrdering, Root};
use crate::declare_rule;
use crate::finding::Finding;
use crate::index::FnKey;
use crate::rules::{event_region, finding, label, CrateContext, Rule, RuleMeta};
use std::collections::HashSet;

declare_rule! {
    /// ### What it does
    /// Finds a lock built from atomics whose acquiring operation (`compare_exchange(false,
    /// true, ..)`, `swap(true, ..)`, `fetch_or(LOCKED, ..)`) has `Relaxed` success ordering,
    /// or whose releasing store (`store(false, ..)`, `fetch_and(!LOCKED, ..)`) is `Relaxed`.
    /// A lock is recognized by the atomic's name (`lock`, `locked`, `mutex`, `spin…`), a
    /// `LOCKED`-style constant, or a `lock`/`try_lock`/`unlock` function.
    ///
    /// Lock words are also recognized by what the code does with them, whatever the
    /// constants are called: a function that takes a lock by its contract (`lock`,
    /// `try_lock*`, `lock_*` as in lock_api's `RawMutex`/`RawRwLock`, and `upgrade` /
    /// `try_upgrade*` of a `…Lock`/`…Mutex` type) whose `Relaxed` read-modify-write decides
    /// that the lock is taken while nothing in the function acquires; and, on the slow paths
    /// those functions call on `self`, a wait loop (`while state & READERS != 0 { .. }`) that
    /// re-reads the lock word with `Relaxed` — a `load`, or the value a `compare_exchange`
    /// with `Relaxed` *failure* ordering returns in `Err` — when nothing acquires after the
    /// wait: leaving that loop is the decision that the previous owners are gone.
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
    /// `LOCKED`/`UNLOCKED` constants), or by the lock-taking functions above; the release side
    /// of a lock word with other encodings (ticket locks, state machines with several bits) is
    /// only seen when its constants say `LOCK`. The fence forms (`Relaxed` lock then
    /// `fence(Acquire)`, `fence(Release)` then `Relaxed` unlock) are accepted when the fence
    /// is in the same function. A lock-taking function that calls a closure it was given
    /// (`lock_common(.., try_lock: impl FnMut(..))`) is taken to acquire through it; a wait
    /// whose condition calls a function, or whose loop takes the lock inside (a CAS loop), is
    /// not judged. Slow paths are followed three calls deep, through calls on `self` only.
    pub static RELAXED_LOCK = {
        name: "relaxed-lock",
        group: MemoryOrdering,
        level: Warn,
        summary: "a lock built from atomics is taken or released with `Relaxed` ordering",
    };
}

pub struct RelaxedLock;

/// How many calls deep a lock's slow paths are followed (`lock` → `lock_slow` →
/// `wait_for_readers`).
const LOCK_PATH_DEPTH: usize = 3;

/// The functions that run while a lock is being taken: those that take one by contract
/// ([`takes_lock`]) and the methods they call on `self`, [`LOCK_PATH_DEPTH`] calls deep (the
/// slow paths, where the waiting happens).
fn lock_path(cx: &CrateContext<'_>) -> HashSet<FnKey> {
    let mut seen = HashSet::new();
    let mut frontier: Vec<FnKey> = Vec::new();
    for (fi, f) in cx.files.iter().enumerate() {
        for (i, func) in f.facts.functions.iter().enumerate() {
            if takes_lock(func) {
                let key = FnKey { file: fi, func: i };
                seen.insert(key);
                frontier.push(key);
            }
        }
    }
    for _ in 0..LOCK_PATH_DEPTH {
        let mut next = Vec::new();
        for key in frontier {
            let func = &cx.files[key.file].facts.functions[key.func];
            for ev in &func.events {
                if let Some((callee, true)) = crate_callee(cx.index, func, ev) {
                    if seen.insert(callee) {
                        next.push(callee);
                    }
                }
            }
        }
        frontier = next;
    }
    seen
}

/// Whether `func` calls one of its parameters (a closure it was given).
fn calls_param(func: &FnFacts) -> bool {
    func.events
        .iter()
        .any(|e| e.kind == EventKind::Call && func.params.iter().any(|(n, _)| *n == e.name))
}

/// A read of a shared atomic (a field of `self`, a static) whose value is governed by a
/// `Relaxed` ordering: the ordering argument.
fn relaxed_read<'e>(func: &FnFacts, ev: &'e Event) -> Option<&'e crate::analysis::Arg> {
    let shared = ev
        .receiver
        .as_ref()
        .is_some_and(|r| matches!(r.root, Root::SelfValue | Root::Static));
    read_ordering(func, ev).filter(|a| shared && a.ordering == Some(MemOrdering::Relaxed))
}

/// Waits on a lock path: a `while` loop whose condition (with the values carried around it)
/// reads the lock word with `Relaxed`, and after which nothing acquires: leaving the loop is
/// the decision that the previous owners are gone (`while state & READERS_MASK != 0 { .. }`).
/// Returns (the `Relaxed` read, the loop's condition region).
fn relaxed_waits(func: &FnFacts) -> Vec<(&Event, crate::finding::Region)> {
    let mut out = Vec::new();
    for (i, lp) in func.loops.iter().enumerate() {
        if lp.kind != LoopKind::While {
            continue;
        }
        let deps = func.loop_condition_deps(i);
        let evs: Vec<&Event> = deps.iter().filter_map(|&d| func.events.get(d)).collect();
        // A condition decided by a call the walk cannot see into (`while !try_lock(&mut s)`,
        // a helper that may acquire) is not judged; getters on the loaded value are fine.
        let opaque = evs.iter().any(|e| {
            matches!(e.kind, EventKind::Call | EventKind::MethodCall)
                && !is_atomic_op(e)
                && !(e.args.is_empty()
                    && e.receiver
                        .as_ref()
                        .is_some_and(|r| matches!(r.root, Root::Local { .. })))
        });
        if opaque {
            continue;
        }
        // A CAS loop that takes the lock inside (`while s & WRITER == 0 { match
        // cas(s, s | WRITER, Acquire, Relaxed) { Ok(_) => return, Err(e) => s = e } }`): leaving
        // it is not taking the lock.
        let takes_inside = func.events.iter().any(|e| {
            e.loops.contains(&i) && e.name != "load" && any_acquire(std::slice::from_ref(e))
        });
        if takes_inside {
            continue;
        }
        // What runs after the wait: the rest of the function, and, for a wait nested in a
        // retry loop (`while cas(.., Acquire).is_err() { while locked.load(Relaxed) {} }`),
        // the enclosing loops.
        let end = lp.region.end_line;
        let enclosing: Vec<usize> = func
            .loops
            .iter()
            .enumerate()
            .filter(|(j, o)| *j != i && o.region.line <= lp.region.line && o.region.end_line >= end)
            .map(|(j, _)| j)
            .collect();
        let after: Vec<Event> = func
            .events
            .iter()
            .filter(|e| {
                e.closure_depth == 0
                    && (e.region.line > end || e.loops.iter().any(|l| enclosing.contains(l)))
            })
            .cloned()
            .collect();
        if any_acquire(&after) {
            continue;
        }
        let header = lp.header_region.unwrap_or(lp.region);
        for e in evs {
            // Only values read anew in the loop decide when it ends (a ticket drawn before
            // the loop is compared, not waited on). A spin acquire (`while locked.swap(true,
            // Relaxed)`) is reported as one below.
            if e.closure_depth == 0
                && e.loops.contains(&i)
                && relaxed_read(func, e).is_some()
                && !is_spin_acquire(func, e)
            {
                out.push((e, header));
            }
        }
    }
    out
}

impl Rule for RelaxedLock {
    fn meta(&self) -> &'static RuleMeta {
        &RELAXED_LOCK
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        let locks = spin_locks(cx);
        relaxed_waits_on_lock_paths(cx, out);
        relaxed_lock_ops(cx, &locks, out);
    }
}

/// Atomics the crate uses as locks: some function acquires them (by last name).
fn spin_locks(cx: &CrateContext<'_>) -> HashSet<String> {
    // Atomics the crate uses as locks: some function acquires them.
    let mut locks: HashSet<String> = HashSet::new();
    for (_, func) in cx.functions() {
        for ev in func.events.iter().filter(|e| is_spin_acquire(func, e)) {
            if let Some(r) = &ev.receiver {
                locks.insert(r.last_name().to_string());
            }
        }
    }
    locks
}

/// Waits for a lock word to be free, decided by `Relaxed` reads, in the functions that take a
/// lock and their slow paths.
fn relaxed_waits_on_lock_paths(cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
    // Lock words by behaviour: the functions that take a lock and their slow paths.
    let mut path = None;
    for (fi, file) in cx.files.iter().enumerate() {
        for (i, func) in file.facts.functions.iter().enumerate() {
            if !func.events.iter().any(is_atomic_op) {
                continue;
            }
            let path = path.get_or_insert_with(|| lock_path(cx));
            if !path.contains(&FnKey { file: fi, func: i }) {
                continue;
            }
            for (read, header) in relaxed_waits(func) {
                let Some(arg) = relaxed_read(func, read) else {
                    continue;
                };
                let recv = read
                    .receiver
                    .as_ref()
                    .map_or("the lock", |r| r.text.as_str());
                let what = if read.name.starts_with("compare_exchange") {
                    "the value a failed compare-exchange returns (`Relaxed` failure \
                     ordering)"
                } else {
                    "a `Relaxed` read"
                };
                let mut f = finding(
                    &RELAXED_LOCK,
                    file,
                    event_region(read),
                    format!(
                        "`{}` waits for the lock `{recv}` to be free on {what}, and nothing \
                         acquires after the wait; the previous owners' writes to the \
                         protected data may not be visible to the new owner",
                        func.short_name()
                    ),
                    format!(
                        "read `{recv}` with `Ordering::Acquire` here (or put \
                         `std::sync::atomic::fence(Ordering::Acquire)` after the loop)"
                    ),
                );
                f.fix = ordering_fix(arg, "Acquire");
                label(&mut f, header, "leaving this loop takes the lock");
                out.push(f);
            }
        }
    }
}

/// A lock taken or released with `Relaxed` (spin acquire/release, a lock-taking RMW with
/// nothing acquiring), fence forms excepted.
fn relaxed_lock_ops(cx: &CrateContext<'_>, locks: &HashSet<String>, out: &mut Vec<Finding>) {
    for (file, func) in cx.functions() {
        // A function that takes a lock and acquires nothing at all. One that calls a
        // closure it was given (`lock_common(.., try_lock: impl FnMut(..) -> bool)`) may
        // acquire through it.
        let acquires = || any_acquire(&func.events) || calls_param(func);
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
            } else if takes_lock(func)
                && is_atomic_op(ev)
                && ev.name != "load"
                && ev.name != "store"
                && ev.value_used
                && ev.closure_depth == 0
                && matches!(recv.root, Root::SelfValue | Root::Static)
                && !acquires()
            {
                (
                    format!(
                        "`{}` takes the lock `{}` with a `Relaxed` `{}` and acquires nothing; \
                         the previous owner's writes to the protected data may not be \
                         visible to this one",
                        func.short_name(),
                        recv.text,
                        ev.name
                    ),
                    format!(
                        "use `Ordering::Acquire` in `{}.{}` (the operation whose result \
                         decides that the lock is taken)",
                        recv.text, ev.name
                    ),
                    "Acquire",
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
