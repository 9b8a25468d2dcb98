//! Lock-guard facts shared by the `lost-update` rules that reason about `Mutex`/`RwLock`
//! acquisitions: which events take a guard, which bindings hold it and for how long, and
//! which later events act through it. A query over [`FnFacts`], not a syntax walk.

use crate::analysis::{Binding, Event, EventId, EventKind, FnFacts, Place, Root};
use crate::finding::Region;
use crate::rules::CrateContext;

/// Lock types whose guards these rules follow (std, parking_lot, tokio, async-std, spin).
pub fn is_lock_type(ty: &str) -> bool {
    ["Mutex<", "RwLock<", "Mutex :: <", "RwLock :: <"]
        .iter()
        .any(|t| ty.contains(t))
        || ty.ends_with("Mutex")
        || ty.ends_with("RwLock")
}

/// The declared type of a place, from the crate's declarations: struct fields, statics,
/// parameters and annotated or constructed locals.
pub fn place_type(cx: &CrateContext<'_>, func: &FnFacts, place: &Place) -> Option<String> {
    let last = place
        .text
        .trim_end_matches("[]")
        .rsplit(['.', ':'])
        .next()
        .unwrap_or(&place.text)
        .to_string();
    let is_field = place.text.contains('.');
    match &place.root {
        Root::Local { init, ty } if !is_field => ty.clone().or_else(|| init.clone()),
        Root::Param if !is_field => func
            .params
            .iter()
            .find(|(n, _)| *n == place.text)
            .map(|(_, t)| t.clone()),
        Root::Static if !is_field => cx.index.statics.get(&last).map(|s| s.ty.clone()),
        _ => {
            // `self.field`: the field of the impl's own type, when the crate declares it.
            if let (Root::SelfValue, Some((owner, _))) = (&place.root, func.name.rsplit_once("::"))
            {
                if place.text.matches('.').count() == 1 {
                    let owner = owner.rsplit("::").next().unwrap_or(owner);
                    if let Some(d) = cx
                        .index
                        .fields
                        .get(&last)
                        .into_iter()
                        .flatten()
                        .find(|d| d.strukt == owner)
                    {
                        return Some(d.ty.clone());
                    }
                }
            }
            let mut tys = cx.index.field_types(&last);
            let first = tys.next()?.to_string();
            // Ambiguous field names (two structs, different types) give no answer.
            tys.all(|t| t == first).then_some(first)
        }
    }
}

/// Whether the place is declared as a lock of the kinds above.
pub fn is_lock_place(cx: &CrateContext<'_>, func: &FnFacts, place: &Place) -> bool {
    place_type(cx, func, place).is_some_and(|t| is_lock_type(&t))
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
    /// The lock, normalized (`self.state`).
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

fn within(inner: &Region, outer: &Region) -> bool {
    (inner.line, inner.column) >= (outer.line, outer.column)
        && (inner.end_line, inner.end_column) <= (outer.end_line, outer.end_column)
}

fn starts_at(a: &Region, b: &Region) -> bool {
    a.line == b.line && a.column == b.column
}

/// Every guard acquisition on a declared lock in `func`.
pub fn acquisitions<'f>(cx: &CrateContext<'_>, func: &'f FnFacts) -> Vec<Acq<'f>> {
    let mut out = Vec::new();
    for ev in &func.events {
        if ev.kind != EventKind::MethodCall || !ev.args.is_empty() {
            continue;
        }
        let writable = ACQUIRE_WRITE.contains(&ev.name.as_str());
        if !writable && !ACQUIRE_READ.contains(&ev.name.as_str()) {
            continue;
        }
        let Some(place) = &ev.receiver else { continue };
        if !is_lock_place(cx, func, place) {
            continue;
        }
        let mut chain = vec![ev.id];
        for next in &func.events[ev.id + 1..] {
            let last = &func.events[*chain.last().expect("non-empty")];
            // The receiver is the chain's last call itself, possibly behind `.await`/`?`: no
            // other call (`.get(k)`) sits between the two.
            let direct = next.receiver_region.is_some_and(|r| {
                starts_at(&r, &last.region)
                    && !func.events[last.id + 1..next.id]
                        .iter()
                        .any(|e| within(&e.region, &r) && within(&last.region, &e.region))
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
        out.push(Acq {
            id: ev.id,
            lock: place.text.clone(),
            writable,
            chain,
            holders,
        });
    }
    out
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
            .any(|b| within(&ev.region, &b.scope) && !dropped_between(func, &b.name, acq.id, ev.id))
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
            // The binding `root` refers to at `ev`: the last one declared before it whose
            // scope contains it (shadowing).
            let visible = func
                .bindings
                .iter()
                .filter(|b| {
                    b.name == root
                        && (b.region.line, b.region.column) < (ev.region.line, ev.region.column)
                        && within(&ev.region, &b.scope)
                })
                .max_by_key(|b| (b.region.line, b.region.column));
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
