//! Lock guards: which events take a guard of a `Mutex`/`RwLock`, which bindings hold it and
//! for how long, which later events act through it, and whether some guard is live at a given
//! event. Every rule that asks "is a lock held here" asks [`lock_held_at`]; the `lost-update`
//! rules that follow one lock's guards use [`acquisitions`]. A query over [`FnFacts`] and the
//! [`CrateIndex`], not a syntax walk.
//!
//! A guard is live from its acquisition to the end of the scope of the binding that holds it
//! (`let g = m.lock().unwrap();`, `if let Ok(g) = m.lock()`), unless that binding is passed to
//! `drop` first. A guard no binding holds is a temporary, gone at the end of its statement.
//! Not followed yet: a guard moved into a call or a struct, and a temporary guard in a
//! `match`/`if let` scrutinee (live for the whole `match`), which needs the scrutinee's region
//! from the walk.

use crate::analysis::{Binding, Event, EventId, EventKind, FnFacts, Place, Root};
use crate::index::CrateIndex;

/// Lock types whose guards these rules follow (std, parking_lot, tokio, async-std, spin).
pub fn is_lock_type(ty: &str) -> bool {
    ["Mutex<", "RwLock<", "Mutex :: <", "RwLock :: <"]
        .iter()
        .any(|t| ty.contains(t))
        || ty.ends_with("Mutex")
        || ty.ends_with("RwLock")
}

/// Whether the place is declared as a lock of the kinds above ([`CrateIndex::type_of`]).
pub fn is_lock_place(index: &CrateIndex, func: &FnFacts, place: &Place) -> bool {
    index.type_of(func, place).is_some_and(|t| is_lock_type(&t))
}

/// Methods that take a guard (no arguments).
const ACQUIRE_WRITE: &[&str] = &[
    "lock",
    "try_lock",
    "blocking_lock",
    "write",
    "try_write",
    "blocking_write",
    "lock_arc",
    "write_arc",
];
const ACQUIRE_READ: &[&str] = &["read", "try_read", "blocking_read", "read_arc"];

/// Methods that take an exclusive guard on a receiver of any type: the names no other common
/// API uses with no arguments (a bare `write()` or `read()` is an `RwLock`'s only when its
/// declared type says so; `write()` has always been counted).
const GUARD_ANY_TYPE: &[&str] = &[
    "lock",
    "write",
    "try_lock",
    "try_write",
    "lock_exclusive",
    "upgradable_read",
    "blocking_lock",
    "blocking_write",
];

/// Methods that pass a guard through unchanged (`m.lock().unwrap()`).
const PASS: &[&str] = &[
    "unwrap",
    "expect",
    "unwrap_or_else",
    "unwrap_or_default",
    "into_inner",
];

/// One guard acquisition.
pub struct Acq<'f> {
    pub id: EventId,
    /// The lock, normalized (`self.state`); empty for a lock reached through a temporary
    /// (only in [`guards`]).
    pub lock: String,
    /// `lock()`/`write()` (may write) vs `read()`.
    pub writable: bool,
    /// The acquisition and the `unwrap`/`expect` calls applied to it, in order.
    pub chain: Vec<EventId>,
    /// Bindings that hold the guard (`let g = m.lock().unwrap();`).
    pub holders: Vec<&'f Binding>,
}

impl Acq<'_> {
    pub fn event<'f>(&self, func: &'f FnFacts) -> &'f Event {
        &func.events[self.id]
    }
}

/// Every guard acquisition on a declared lock in `func`.
pub fn acquisitions<'f>(index: &CrateIndex, func: &'f FnFacts) -> Vec<Acq<'f>> {
    func.events
        .iter()
        .filter(|ev| ev.kind == EventKind::MethodCall && ev.args.is_empty())
        .filter_map(|ev| {
            let writable = ACQUIRE_WRITE.contains(&ev.name.as_str());
            if !writable && !ACQUIRE_READ.contains(&ev.name.as_str()) {
                return None;
            }
            let place = ev.receiver.as_ref()?;
            is_lock_place(index, func, place)
                .then(|| acquisition(func, ev, place.text.clone(), writable))
        })
        .collect()
}

/// The exclusive guards taken in one function, computed once and asked at many events.
///
/// These are the writable [`acquisitions`], and the guard-taking calls of [`GUARD_ANY_TYPE`]
/// on any receiver, also one whose type the crate does not declare as a lock (a lock behind a
/// getter, an `Arc` of a foreign type), which serializes the code after it just as well. Read
/// guards do not serialize readers, so they are not counted.
pub struct Guards<'f> {
    func: &'f FnFacts,
    guards: Vec<Acq<'f>>,
}

impl<'f> Guards<'f> {
    pub fn of(index: &CrateIndex, func: &'f FnFacts) -> Guards<'f> {
        let guards = func
            .events
            .iter()
            .filter(|ev| ev.kind == EventKind::MethodCall && ev.args.is_empty())
            .filter_map(|ev| {
                let name = ev.name.as_str();
                let typed = || {
                    ev.receiver
                        .as_ref()
                        .is_some_and(|p| is_lock_place(index, func, p))
                };
                let taken =
                    GUARD_ANY_TYPE.contains(&name) || (ACQUIRE_WRITE.contains(&name) && typed());
                let lock = ev.receiver.as_ref().map(|p| p.text.clone());
                taken.then(|| acquisition(func, ev, lock.unwrap_or_default(), true))
            })
            .collect();
        Guards { func, guards }
    }

    /// Whether some guard is live when `ev` runs ([`held_at`]): the code at `ev` is serialized
    /// by a lock. The one answer every rule uses for "a lock is held here".
    pub fn live_at(&self, ev: &Event) -> bool {
        self.guards.iter().any(|g| held_at(self.func, g, ev))
    }
}

/// The acquisition `ev` of `lock`, with its pass-through chain and holders.
fn acquisition<'f>(func: &'f FnFacts, ev: &Event, lock: String, writable: bool) -> Acq<'f> {
    let mut chain = vec![ev.id];
    for next in &func.events[ev.id + 1..] {
        let last = &func.events[*chain.last().expect("non-empty")];
        // The receiver is the chain's last call itself, possibly behind `.await`/`?`: no
        // other call (`.get(k)`) sits between the two.
        let direct = next.receiver_region.is_some_and(|r| {
            r.starts_with(&last.region)
                && !func.events[last.id + 1..next.id]
                    .iter()
                    .any(|e| r.contains(&e.region) && e.region.contains(&last.region))
        });
        if next.kind == EventKind::MethodCall && PASS.contains(&next.name.as_str()) && direct {
            chain.push(next.id);
        }
    }
    let holders = func
        .bindings
        .iter()
        .filter(|b| b.init.is_some_and(|i| chain.contains(&i)))
        .collect();
    Acq {
        id: ev.id,
        lock,
        writable,
        chain,
        holders,
    }
}

/// Whether `name` is passed to `drop` by an event with id in `(after, before)`.
fn dropped_between(func: &FnFacts, name: &str, after: EventId, before: EventId) -> bool {
    func.between(after, before).iter().any(|e| {
        e.kind == EventKind::Call
            && (e.name == "drop" || e.name.ends_with("::drop"))
            && e.args.first().is_some_and(|a| a.text == name)
    })
}

/// Whether the guard of `acq` may still be alive when `ev` runs: a binding holds it, `ev` is
/// inside that binding's scope, and the binding was not passed to `drop` in between. A guard
/// that no binding holds is a temporary, gone at the end of its statement.
pub fn held_at(func: &FnFacts, acq: &Acq<'_>, ev: &Event) -> bool {
    ev.id > acq.id
        && acq
            .holders
            .iter()
            .any(|b| b.scope.contains(&ev.region) && !dropped_between(func, &b.name, acq.id, ev.id))
}

/// Whether `ev` acts on the guarded data of `acq`: its receiver/target is rooted at a binding
/// holding the guard, or is an expression built on the guard itself (`*m.lock().unwrap()`).
pub fn acts_through(func: &FnFacts, acq: &Acq<'_>, ev: &Event) -> bool {
    match &ev.receiver {
        Some(p) if !matches!(p.root, Root::Temporary) => {
            let root = p.text.split(['.', '[']).next().unwrap_or(&p.text);
            if !matches!(p.root, Root::Local { .. }) {
                return false;
            }
            // The binding `root` refers to at `ev` (shadowing).
            let visible = func.binding_at(root, &ev.region);
            visible.is_some_and(|v| acq.holders.iter().any(|h| std::ptr::eq(*h, v)))
        }
        _ => acq.chain.iter().any(|c| ev.receiver_deps.contains(c)),
    }
}

/// Events that read the guarded data of `acq` (calls on the guard) or the acquisition chain
/// itself (a field read `m.lock().unwrap().x` has no event of its own).
pub fn reads_of(func: &FnFacts, acq: &Acq<'_>) -> Vec<EventId> {
    let mut out = acq.chain.clone();
    out.extend(
        func.events[acq.id + 1..]
            .iter()
            .filter(|e| acts_through(func, acq, e) && !acq.chain.contains(&e.id))
            .map(|e| e.id),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{analyze_file, FileFacts};

    fn crate_of(src: &str) -> (FileFacts, CrateIndex) {
        let facts = analyze_file(&syn::parse_file(src).expect("test source parses"));
        let index = CrateIndex::build(&[&facts]);
        (facts, index)
    }

    /// Whether a lock is held at each `mark()` call of the function named `name`.
    fn held_at_marks(src: &str, name: &str) -> Vec<bool> {
        let (facts, index) = crate_of(src);
        let func = facts.functions.iter().find(|f| f.name == name).unwrap();
        let guards = Guards::of(&index, func);
        func.events
            .iter()
            .filter(|e| e.name == "mark")
            .map(|e| guards.live_at(e))
            .collect()
    }

    const BANK: &str = "struct Bank { state: Mutex<u64>, cache: RwLock<u64>, n: u64 }\n";

    #[test]
    fn a_bound_guard_is_live_to_the_end_of_its_scope() {
        let src = format!(
            "{BANK}impl Bank {{ fn f(&self) {{ mark(); {{ let g = self.state.lock().unwrap(); \
             mark(); }} mark(); }} }}"
        );
        assert_eq!(held_at_marks(&src, "Bank::f"), [false, true, false]);
    }

    #[test]
    fn drop_ends_a_guard_and_a_temporary_guard_ends_with_its_statement() {
        let src = format!(
            "{BANK}impl Bank {{ fn f(&self) {{ let g = self.state.lock().unwrap(); mark(); \
             drop(g); mark(); *self.state.lock().unwrap() += 1; mark(); }} }}"
        );
        assert_eq!(held_at_marks(&src, "Bank::f"), [true, false, false]);
    }

    #[test]
    fn if_let_guards_and_guards_of_locks_of_unknown_type() {
        // `if let Ok(g) = ..`: the guard lives in the branch. `self.inner().lock()` has no
        // declared type, but `lock()` takes a guard whatever the receiver.
        let src = format!(
            "{BANK}impl Bank {{ fn f(&self) {{ if let Ok(g) = self.state.lock() {{ mark(); }} \
             mark(); let h = self.inner().lock(); mark(); }} }}"
        );
        assert_eq!(held_at_marks(&src, "Bank::f"), [true, false, true]);
    }

    #[test]
    fn read_guards_do_not_serialize() {
        let src = format!(
            "{BANK}impl Bank {{ fn f(&self) {{ let r = self.cache.read().unwrap(); mark(); \
             let w = self.cache.write().unwrap(); mark(); }} }}"
        );
        assert_eq!(held_at_marks(&src, "Bank::f"), [false, true]);
    }

    #[test]
    fn acquisitions_are_typed_and_follow_their_chain() {
        let src = format!(
            "{BANK}impl Bank {{ fn f(&self) {{ let g = self.state.lock().unwrap(); \
             let r = self.cache.read().unwrap(); self.n.lock(); g.push(1); }} }}"
        );
        let (facts, index) = crate_of(&src);
        let func = &facts.functions[0];
        let acqs = acquisitions(&index, func);
        let got: Vec<(&str, bool, usize, usize)> = acqs
            .iter()
            .map(|a| (a.lock.as_str(), a.writable, a.chain.len(), a.holders.len()))
            .collect();
        // `self.n` is a `u64`: its `lock()` is no lock's.
        assert_eq!(
            got,
            [("self.state", true, 2, 1), ("self.cache", false, 2, 1)]
        );
        let push = func.events.iter().find(|e| e.name == "push").unwrap();
        assert!(acts_through(func, &acqs[0], push));
        assert!(!acts_through(func, &acqs[1], push));
        assert!(held_at(func, &acqs[0], push));
        assert!(reads_of(func, &acqs[0]).contains(&push.id));
    }
}
