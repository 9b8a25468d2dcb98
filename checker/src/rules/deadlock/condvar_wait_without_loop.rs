use crate::analysis::{Event, EventKind, FnFacts, LoopKind};
use crate::declare_rule;
use crate::finding::Finding;
use crate::index::CrateIndex;
use crate::rules::{event_region, finding, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds `Condvar::wait` (std's `wait(guard)`, parking_lot's `wait(&mut guard)`) called
    /// outside any `while` or `loop` of the function, i.e. the predicate the thread waits for
    /// is checked at most once before the wait and never after it.
    ///
    /// ### Why is this bad
    /// A condition variable may wake up spuriously, and a notification can be consumed by
    /// another waiter or sent before this thread started waiting (then it waits forever — a
    /// lost wakeup). Code after a single `wait` runs without the state it expects: a queue
    /// that is still empty, a flag still unset. It works in tests, where the notifier is
    /// usually slower than the waiter.
    ///
    /// ### Example
    /// ```rust,ignore
    /// let mut ready = lock.lock().unwrap();
    /// if !*ready {
    ///     ready = cvar.wait(ready).unwrap();
    /// }
    /// start(); // may run with *ready == false
    /// ```
    ///
    /// ### Use instead
    /// `wait_while` (std) re-checks the predicate after every wake-up; or wait in a `while`
    /// loop over the predicate:
    /// ```rust,ignore
    /// let ready = cvar.wait_while(lock.lock().unwrap(), |ready| !*ready).unwrap();
    /// // or
    /// let mut ready = lock.lock().unwrap();
    /// while !*ready {
    ///     ready = cvar.wait(ready).unwrap();
    /// }
    /// ```
    ///
    /// ### Known limitations
    /// Timed waits (`wait_timeout`, `wait_for`, `wait_until`) are not reported: without a
    /// loop they are the usual interruptible sleep, where an early wake-up is harmless. A wait
    /// on a guard the function received as a parameter is a wrapper (the caller owns the
    /// predicate and the loop) and is not reported; neither is a wait in a `park`-like
    /// function, whose contract allows spurious returns. `#[test]` functions are skipped (as
    /// by all `deadlock` rules): tests of synchronization code wait on purpose.
    /// A condition variable is recognized by its declared type (`Condvar`), or, when the
    /// receiver's type is not declared (a tuple destructured from an `Arc`), by a lock guard
    /// passed as the argument. A `for` loop does not count as re-checking; any `while` or
    /// `loop` around the wait does, even when its condition is not the predicate. A wait
    /// whose caller loops (the helper waits once, the caller re-checks) is reported.
    pub static CONDVAR_WAIT_WITHOUT_LOOP = {
        name: "condvar-wait-without-loop",
        group: Deadlock,
        level: Warn,
        summary: "a condition variable is waited on outside a loop that re-checks its predicate (spurious and lost wakeups)",
    };
}

pub struct CondvarWaitWithoutLoop;

/// Untimed waits that return on any wake-up (not the `_while` forms, which re-check).
const WAITS: &[&str] = &["wait"];

/// Whether `ev` is a wait on a condition variable.
fn is_condvar_wait(index: &CrateIndex, func: &FnFacts, ev: &Event) -> bool {
    if ev.kind != EventKind::MethodCall || !WAITS.contains(&ev.name.as_str()) || ev.args.is_empty()
    {
        return false;
    }
    let Some(recv) = &ev.receiver else {
        return false;
    };
    // A wrapper around the wait (the guard is the caller's), or a park: the caller loops.
    let guard_param = ev.args[0]
        .place
        .as_ref()
        .is_some_and(|p| p.root == crate::analysis::Root::Param);
    if guard_param || func.short_name().contains("park") {
        return false;
    }
    if let Some(t) = index.type_of(func, recv) {
        return t.contains("Condvar");
    }
    // Undeclared receiver: the argument is a guard (its value comes from a lock call).
    ev.args[0].deps.iter().any(|&d| {
        let e = &func.events[d];
        e.kind == EventKind::MethodCall
            && e.args.is_empty()
            && matches!(e.name.as_str(), "lock" | "write")
    })
}

impl Rule for CondvarWaitWithoutLoop {
    fn meta(&self) -> &'static RuleMeta {
        &CONDVAR_WAIT_WITHOUT_LOOP
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions().filter(|(_, f)| !f.is_test) {
            for ev in &func.events {
                if !is_condvar_wait(cx.index, func, ev) {
                    continue;
                }
                let looped = ev
                    .loops
                    .iter()
                    .any(|&l| matches!(func.loops[l].kind, LoopKind::While | LoopKind::Loop));
                if looped {
                    continue;
                }
                out.push(finding(
                    &CONDVAR_WAIT_WITHOUT_LOOP,
                    file,
                    event_region(ev),
                    format!(
                        "`{}` is not inside a loop that re-checks the condition: a spurious \
                         wake-up or a notification taken by another waiter lets the code after \
                         it run while the condition is still false",
                        ev.name
                    ),
                    "use `wait_while` with the predicate, or call `wait` in a `while` loop over \
                     the predicate",
                ));
            }
        }
    }
}
