//! Group `memory-ordering`: `Ordering::Relaxed` where another thread's memory is handed over.
//!
//! Shared helpers for the group's rules: the exact `Relaxed` token of an ordering argument
//! (for quick fixes), and the memory accesses that a flag, index or pointer publishes (writes
//! through an `UnsafeCell`, raw-pointer writes, `Box::into_raw`) or gates (reads through an
//! `UnsafeCell`, pointer dereferences). Atomic operations, orderings, fences and spin locks
//! are the shared analysis's (`analysis::atomics`).

pub mod local_atomic_fence;
pub mod relaxed_any;
pub mod relaxed_consume;
pub mod relaxed_lock;
pub mod relaxed_publication;
pub mod relaxed_refcount_drop;

use crate::analysis::{Arg, Event, EventKind, FnFacts, Place, Root};
use crate::finding::{Fix, Region};
use crate::index::CrateIndex;

/// The region of the ordering's own name in an ordering argument: for `Ordering::Relaxed` just
/// `Relaxed`. `None` when the argument is not a plain path on one line.
pub(crate) fn ordering_token(arg: &Arg) -> Option<Region> {
    let o = arg.ordering?;
    let name = format!("{o:?}");
    let r = arg.region;
    if r.line != r.end_line || !arg.text.ends_with(&name) {
        return None;
    }
    let len = name.chars().count();
    // `then`, not `then_some`: the subtraction must only run when it cannot underflow.
    (r.end_column > len).then(|| Region {
        line: r.line,
        column: r.end_column - len,
        end_line: r.end_line,
        end_column: r.end_column,
    })
}

/// A quick fix that replaces the ordering named by `arg` with `to`. For `Ordering::Relaxed`
/// only the `Relaxed` token changes. A bare `Relaxed` (imported by name) becomes the full path
/// `core::sync::atomic::Ordering::Release`, because the file may not import `Release`: the
/// fix must compile whatever the imports are.
pub(crate) fn ordering_fix(arg: &Arg, to: &str) -> Option<Fix> {
    let bare = !arg.text.contains("::");
    ordering_token(arg).map(|region| Fix {
        region,
        replacement: if bare {
            format!("core::sync::atomic::Ordering::{to}")
        } else {
            to.to_string()
        },
    })
}

/// Whether `place` is declared as an `UnsafeCell` by some struct or static of the crate (a
/// field name shared with a non-cell field of another struct still counts: `get()` with no
/// arguments on such a field is almost always the cell's).
fn is_cell_place(index: &CrateIndex, place: &Place) -> bool {
    let last = place.last_name();
    let cell = |t: &str| t.contains("UnsafeCell");
    index.statics.get(last).is_some_and(|s| cell(&s.ty)) || index.field_types(last).any(cell)
}

/// `cell.get()` / `cell.get_mut()`-free raw access: a zero-argument `get` on a field declared
/// as an `UnsafeCell`, which yields a raw pointer to the cell's contents.
pub(crate) fn is_unsafe_cell_get(index: &CrateIndex, ev: &Event) -> bool {
    ev.kind == EventKind::MethodCall
        && ev.name == "get"
        && ev.args.is_empty()
        && ev
            .receiver
            .as_ref()
            .is_some_and(|p| is_cell_place(index, p))
}

/// The closure-style access of loom's (and heisen's) `UnsafeCell`: `cell.with(|p| ..)` reads,
/// `cell.with_mut(|p| ..)` writes. Returns whether it writes.
pub(crate) fn unsafe_cell_with(index: &CrateIndex, ev: &Event) -> Option<bool> {
    let write = match ev.name.as_str() {
        "with" => false,
        "with_mut" => true,
        _ => return None,
    };
    (ev.kind == EventKind::MethodCall
        && ev.args.len() == 1
        && ev
            .receiver
            .as_ref()
            .is_some_and(|p| is_cell_place(index, p)))
    .then_some(write)
}

/// Calls that build a raw pointer to freshly allocated data that the caller now owns.
pub(crate) fn is_into_raw(ev: &Event) -> bool {
    match ev.kind {
        EventKind::Call => {
            let n = &ev.name;
            n.ends_with("Box::into_raw")
                || n.ends_with("Arc::into_raw")
                || n.ends_with("Box::leak")
                || n.ends_with("Rc::into_raw")
        }
        _ => false,
    }
}

/// The events of `func` at the same closure depth as `ev` and not in a different closure
/// body: a closure's events run at another time than the function's.
pub(crate) fn same_body(a: &Event, b: &Event) -> bool {
    a.closure_depth == b.closure_depth
}

/// Whether the function runs with exclusive access to `self` (`&mut self`, `self`, `Drop`),
/// where `Relaxed` is enough because no other thread can touch the object.
pub(crate) fn exclusive(func: &FnFacts) -> bool {
    func.exclusive_self() || (func.owner().is_some() && func.short_name() == "drop")
}

/// Whether `place` is exclusively this function's: reached through `self` in a function that
/// owns `self` exclusively ([`exclusive`]). A `&mut self` iterator that walks a `&ThreadLocal`
/// parameter has exclusive access to its own fields only, not to the parameter's.
pub(crate) fn exclusive_place(func: &FnFacts, place: &Place) -> bool {
    exclusive(func) && place.root == Root::SelfValue
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze_file;

    fn region_text(src: &str, r: Region) -> String {
        let line = src.lines().nth(r.line - 1).unwrap();
        line.chars()
            .skip(r.column - 1)
            .take(r.end_column - r.column)
            .collect()
    }

    #[test]
    fn ordering_token_covers_exactly_the_ordering_name() {
        let src = "fn f(a: &AtomicBool) {\n    a.store(true, std::sync::atomic::Ordering::Relaxed);\n    a.load(Relaxed);\n    a.fetch_sub(1, Ordering::Release);\n}\n";
        let file = syn::parse_file(src).unwrap();
        let facts = analyze_file(&file);
        let evs = &facts.functions[0].events;
        let texts: Vec<String> = evs
            .iter()
            .filter_map(|e| e.args.iter().find(|a| a.ordering.is_some()))
            .map(|a| region_text(src, ordering_token(a).unwrap()))
            .collect();
        assert_eq!(texts, ["Relaxed", "Relaxed", "Release"]);
        let fix = ordering_fix(evs[0].args.last().unwrap(), "Release").unwrap();
        assert_eq!(region_text(src, fix.region), "Relaxed");
        assert_eq!(fix.replacement, "Release");
        // A bare imported `Relaxed`: the replacement does not rely on `Acquire` being imported.
        let fix = ordering_fix(&evs[1].args[0], "Acquire").unwrap();
        assert_eq!(region_text(src, fix.region), "Relaxed");
        assert_eq!(fix.replacement, "core::sync::atomic::Ordering::Acquire");
    }

    /// Fuzz regression (checker/fuzz, target `code`, input `[213, 16]`): a degenerate span
    /// (line 0, column 1 — what proc-macro2 reports without span locations) made the token
    /// region underflow.
    #[test]
    fn ordering_token_on_a_degenerate_region_is_none() {
        let src = "fn f(a: &AtomicBool) { a.load(Relaxed); }";
        let facts = analyze_file(&syn::parse_file(src).unwrap());
        let mut arg = facts.functions[0].events[0].args[0].clone();
        arg.region = Region {
            line: 0,
            column: 1,
            end_line: 0,
            end_column: 1,
        };
        assert_eq!(ordering_token(&arg), None);
        assert!(ordering_fix(&arg, "Acquire").is_none());
    }
}
