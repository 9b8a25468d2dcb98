//! Interprocedural summaries of the crate's getters and setters: methods that read one atomic
//! field of `self` and return it (`fn balance(&self) -> i64 { self.balance.load(..) }`) or
//! store a parameter into one (`fn set_balance(&self, v: i64) { self.balance.store(v, ..) }`),
//! and the same through a lock field of `self` (`*self.balance.lock().unwrap()`, read and
//! returned, or assigned a parameter): [`Accessor`].
//!
//! A check made through a getter and a write made through a setter is the most common real
//! shape of an atomic lost update (`let b = acct.balance(); if b >= x { acct.set_balance(b - x) }`),
//! so the `atomic-load-store` question "which load does this store depend on" is asked over
//! [`AtomicOp`]s: the direct `load`/`store` calls and the calls of such accessors, seen as a
//! load or store of the caller's receiver place extended by the accessor's field
//! (`acct.balance()` → `acct.balance`); `split-lock-update` asks the same of lock accessors
//! ([`LockedOp`]): a read through one locking method and a write of a value derived from it
//! through another are two critical sections.
//!
//! Computed once per crate from the per-file facts ([`AccessorSummary::build`], cached in
//! `CrateIndex::accessors`). Decisions, for precision:
//! * only one level: an accessor's body does the atomic access itself (a getter calling a
//!   getter is not followed);
//! * a getter has a `&self` receiver, returns the value of a `load` of `self.<field>` and does
//!   no store or read-modify-write; a setter has a `&self` receiver, stores one of its
//!   parameters into `self.<field>` and neither loads that field nor does a read-modify-write
//!   (those are load/store pairs of their own, judged in the setter);
//! * a call is an accessor call only when every crate method it may resolve to
//!   ([`CrateIndex::method_callees`]) is the same kind of accessor of the same field; a call
//!   that may be a library method or a method with another body is no access.

use crate::analysis::locks::{acquisitions, acts_through, reads_of};
use crate::analysis::{Arg, Event, EventKind, FileFacts, FnFacts, MemOrdering, Place, Root};
use crate::index::{CrateIndex, FnKey};
use std::collections::{HashMap, HashSet};

/// What an accessor method does with its atomic field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accessor {
    /// Returns `self.<field>.load(ordering)`.
    Load {
        field: String,
        ordering: MemOrdering,
    },
    /// `self.<field>.store(<param>, ordering)`; `arg` is the index of that parameter among the
    /// call's arguments (the receiver not counted).
    Store {
        field: String,
        arg: usize,
        ordering: MemOrdering,
    },
    /// `self.<field>.fetch_add(..)` / `fetch_sub(..)`, unconditionally, as the method's one
    /// atomic access (`fn acquire_slot(&self) -> usize { self.in_use.fetch_add(1, AcqRel) }`):
    /// a counting write of the caller's place.
    Count {
        field: String,
        op: String,
        ordering: MemOrdering,
    },
    /// Locks `self.<field>` (a declared `Mutex`/`RwLock`), reads through the guard and returns
    /// what it read (`fn balance(&self) -> i64 { *self.balance.lock().unwrap() }`); writes
    /// nothing through it.
    LockedRead { field: String },
    /// Locks `self.<field>` for writing and assigns one of its parameters (`arg`, as for
    /// `Store`) through the guard (`*self.balance.lock().unwrap() = v`), reading nothing else.
    LockedWrite { field: String, arg: usize },
}

/// The crate's accessors, by function.
#[derive(Default, Debug)]
pub struct AccessorSummary {
    pub by_fn: HashMap<FnKey, Accessor>,
    /// The accessors' short names: a call of any other name is no accessor call, answered
    /// without resolving its callees.
    names: HashSet<String>,
}

use super::atomics::is_rmw;

fn is_load(ev: &Event) -> bool {
    ev.is_method("load", 1) && ev.args[0].ordering.is_some()
}

fn is_store(ev: &Event) -> bool {
    ev.is_method("store", 2) && ev.args[1].ordering.is_some()
}

/// `self.<field>` → `<field>` for a place rooted at `self` (one or more field steps, no index).
fn self_field(ev: &Event) -> Option<&str> {
    self_place_field(ev.receiver.as_ref()?)
}

/// Whether `text` contains `word` as a whole identifier.
fn mentions(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| w == word)
}

/// `self.<field>` of a place rooted at `self` (no index).
fn self_place_field(p: &Place) -> Option<&str> {
    if p.root != Root::SelfValue || p.text.contains('[') {
        return None;
    }
    p.text.strip_prefix("self.")
}

fn locked_accessor_of(index: &CrateIndex, func: &FnFacts) -> Option<Accessor> {
    let acqs = acquisitions(index, func);
    let [acq] = acqs.as_slice() else {
        return None;
    };
    let lock_ev = acq.event(func);
    let field = self_place_field(lock_ev.receiver.as_ref()?)?.to_string();
    if lock_ev.closure_depth > 0 {
        return None;
    }
    let through: Vec<&Event> = func.events[acq.id + 1..]
        .iter()
        .filter(|e| acts_through(func, acq, e) && !acq.chain.contains(&e.id))
        .collect();
    let writes: Vec<&&Event> = through
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Assign { .. }))
        .collect();
    let returns_read = func.ret.as_deref().is_some_and(|r| r != "()")
        && reads_of(func, acq).iter().any(|r| func.returns.contains(r));
    match writes.as_slice() {
        [] if returns_read => Some(Accessor::LockedRead { field }),
        [w] if acq.writable
            && w.kind == (EventKind::Assign { op: None })
            && w.closure_depth == 0
            && through.len() == 1 =>
        {
            let value = &w.args.first()?.text;
            let arg = func.params[1..]
                .iter()
                .position(|(n, _)| mentions(value, n))?;
            Some(Accessor::LockedWrite { field, arg })
        }
        _ => None,
    }
}

/// [`Accessor::Count`]: `rmw` is the method's only read-modify-write; it must be a
/// `fetch_add`/`fetch_sub` of `self.<field>` that always runs (outside closures, under no
/// check), with no `load`/`store` in the method.
fn counting_accessor_of(func: &FnFacts, rmw: &Event) -> Option<Accessor> {
    if !matches!(rmw.name.as_str(), "fetch_add" | "fetch_sub")
        || rmw.closure_depth > 0
        || !rmw.control_deps.is_empty()
        || func.events.iter().any(|e| is_load(e) || is_store(e))
    {
        return None;
    }
    Some(Accessor::Count {
        field: self_field(rmw)?.to_string(),
        op: rmw.name.clone(),
        ordering: rmw.args.iter().find_map(|a| a.ordering)?,
    })
}

fn accessor_of(index: &CrateIndex, func: &FnFacts) -> Option<Accessor> {
    if !func
        .params
        .first()
        .is_some_and(|(n, t)| n == "self" && t == "&Self")
    {
        return None;
    }
    let rmws: Vec<&Event> = func.events.iter().filter(|e| is_rmw(e)).collect();
    if let [rmw] = rmws.as_slice() {
        return counting_accessor_of(func, rmw);
    }
    if !rmws.is_empty() {
        return None;
    }
    if let Some(a) = locked_accessor_of(index, func) {
        return Some(a);
    }
    let stores: Vec<&Event> = func.events.iter().filter(|e| is_store(e)).collect();
    let loads: Vec<&Event> = func.events.iter().filter(|e| is_load(e)).collect();
    match (loads.as_slice(), stores.as_slice()) {
        ([l], [])
            if func.ret.as_deref().is_some_and(|r| r != "()")
                && func.returns.contains(&l.id)
                && l.closure_depth == 0 =>
        {
            Some(Accessor::Load {
                field: self_field(l)?.to_string(),
                ordering: l.args[0].ordering?,
            })
        }
        ([], [s]) if s.closure_depth == 0 && s.control_deps.is_empty() => {
            let field = self_field(s)?.to_string();
            let value = &s.args[0];
            let arg = func.params[1..]
                .iter()
                .position(|(n, _)| mentions(&value.text, n))?;
            Some(Accessor::Store {
                field,
                arg,
                ordering: s.args[1].ordering?,
            })
        }
        _ => None,
    }
}

impl AccessorSummary {
    pub fn build(index: &CrateIndex, files: &[&FileFacts]) -> AccessorSummary {
        let mut by_fn = HashMap::new();
        let mut names = HashSet::new();
        for (fi, facts) in files.iter().enumerate() {
            for (i, func) in facts.functions.iter().enumerate() {
                if let Some(a) = accessor_of(index, func) {
                    by_fn.insert(FnKey { file: fi, func: i }, a);
                    names.insert(func.short_name().to_string());
                }
            }
        }
        AccessorSummary { by_fn, names }
    }

    /// The accessor a method call `ev` in `func` runs, when every crate method it may resolve
    /// to is the same accessor.
    pub fn of_call(&self, index: &CrateIndex, func: &FnFacts, ev: &Event) -> Option<&Accessor> {
        if ev.kind != EventKind::MethodCall || !self.names.contains(ev.name.as_str()) {
            return None;
        }
        let callees = index.method_callees(func, ev);
        let first = self.by_fn.get(callees.first()?)?;
        callees[1..]
            .iter()
            .all(|k| self.by_fn.get(k) == Some(first))
            .then_some(first)
    }
}

/// An atomic load or store as `atomic-load-store` sees it: a direct `load`/`store` call, or a
/// call of a crate getter/setter ([`Accessor`]).
#[derive(Clone, Debug)]
pub struct AtomicOp<'f> {
    pub ev: &'f Event,
    /// The atomic's place: the receiver of a direct call; for an accessor call, the call's
    /// receiver extended by the accessor's field (`acct.balance()` → `acct.balance`).
    pub place: Place,
    pub ordering: MemOrdering,
    /// The stored value (stores only).
    pub value: Option<&'f Arg>,
    /// The accessor method's name when the access goes through one.
    pub via: Option<&'f str>,
}

impl<'f> AtomicOp<'f> {
    /// `ev` as an atomic load, directly or through a getter.
    pub fn load(
        summary: &AccessorSummary,
        index: &CrateIndex,
        func: &FnFacts,
        ev: &'f Event,
    ) -> Option<AtomicOp<'f>> {
        if is_load(ev) {
            return Some(AtomicOp {
                ev,
                place: ev.receiver.clone()?,
                ordering: ev.args[0].ordering?,
                value: None,
                via: None,
            });
        }
        match summary.of_call(index, func, ev)? {
            Accessor::Load { field, ordering } => Self::through(ev, field, *ordering, None),
            _ => None,
        }
    }

    /// `ev` as an atomic store, directly or through a setter.
    pub fn store(
        summary: &AccessorSummary,
        index: &CrateIndex,
        func: &FnFacts,
        ev: &'f Event,
    ) -> Option<AtomicOp<'f>> {
        if is_store(ev) {
            return Some(AtomicOp {
                ev,
                place: ev.receiver.clone()?,
                ordering: ev.args[1].ordering?,
                value: Some(&ev.args[0]),
                via: None,
            });
        }
        match summary.of_call(index, func, ev)? {
            Accessor::Store {
                field,
                arg,
                ordering,
            } => Self::through(ev, field, *ordering, Some(ev.args.get(*arg)?)),
            _ => None,
        }
    }

    /// `ev` as a counting read-modify-write (`fetch_add`/`fetch_sub`), directly or through a
    /// crate method that does one ([`Accessor::Count`]); `value` is the operand of a direct
    /// call.
    pub fn count(
        summary: &AccessorSummary,
        index: &CrateIndex,
        func: &FnFacts,
        ev: &'f Event,
    ) -> Option<AtomicOp<'f>> {
        if is_rmw(ev) && matches!(ev.name.as_str(), "fetch_add" | "fetch_sub") {
            return Some(AtomicOp {
                ev,
                place: ev.receiver.clone()?,
                ordering: ev.args.iter().find_map(|a| a.ordering)?,
                value: ev.args.first(),
                via: None,
            });
        }
        match summary.of_call(index, func, ev)? {
            Accessor::Count {
                field, ordering, ..
            } => Self::through(ev, field, *ordering, None),
            _ => None,
        }
    }

    /// The access an accessor call `ev` makes: the call's receiver extended by the accessor's
    /// field.
    fn through(
        ev: &'f Event,
        field: &str,
        ordering: MemOrdering,
        value: Option<&'f Arg>,
    ) -> Option<AtomicOp<'f>> {
        Some(AtomicOp {
            ev,
            place: extended(ev.receiver.as_ref()?, field),
            ordering,
            value,
            via: Some(&ev.name),
        })
    }
}

/// A read or write of a lock's data through a crate accessor ([`Accessor::LockedRead`] /
/// [`Accessor::LockedWrite`]), for `split-lock-update`.
#[derive(Clone, Debug)]
pub struct LockedOp<'f> {
    pub ev: &'f Event,
    /// The lock's place in the caller: the call's receiver extended by the accessor's field.
    pub lock: Place,
    pub write: bool,
    /// The written value (writes only).
    pub value: Option<&'f Arg>,
}

impl<'f> LockedOp<'f> {
    pub fn of(
        summary: &AccessorSummary,
        index: &CrateIndex,
        func: &FnFacts,
        ev: &'f Event,
    ) -> Option<LockedOp<'f>> {
        let recv = ev.receiver.as_ref()?;
        match summary.of_call(index, func, ev)? {
            Accessor::LockedRead { field } => Some(LockedOp {
                ev,
                lock: extended(recv, field),
                write: false,
                value: None,
            }),
            Accessor::LockedWrite { field, arg } => Some(LockedOp {
                ev,
                lock: extended(recv, field),
                write: true,
                value: Some(ev.args.get(*arg)?),
            }),
            _ => None,
        }
    }
}

fn extended(recv: &Place, field: &str) -> Place {
    Place {
        text: format!("{}.{field}", recv.text),
        root: recv.root.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze_file;

    fn summary(src: &str) -> (FileFacts, Vec<(String, Accessor)>) {
        let facts = analyze_file(&syn::parse_file(src).unwrap());
        let index = crate::index::leaked_index(&facts);
        let s = AccessorSummary::build(&index, &[&facts]);
        let mut v: Vec<(String, Accessor)> = s
            .by_fn
            .iter()
            .map(|(k, a)| (facts.functions[k.func].name.clone(), a.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        (facts, v)
    }

    #[test]
    fn getters_and_setters_of_one_atomic_field() {
        let (_, v) = summary(
            r#"
            impl Account {
                fn balance(&self) -> i64 { self.balance.load(Ordering::Acquire) }
                fn set_balance(&self, v: i64) { self.balance.store(v, Ordering::Release) }
                fn set_limit(&self, _unit: u8, l: u32) { self.limits.max.store(l as u64, Relaxed); }
                // A store that a parameter decides is still a store of a parameter.
                fn set_if(&self, v: i64, on: bool) { if on { self.balance.store(v, Relaxed) } }
                // A counting write, also with more code around it, or decided by a parameter.
                fn bump(&self) -> i64 { let n = self.balance.fetch_add(1, Relaxed); log(n); n }
                fn bump_if(&self, on: bool) { if on { self.balance.fetch_sub(1, Relaxed); } }
                // Not accessors: a swap, a count under a check of the field, exclusive self, a
                // load not returned, a store of no parameter, a load and a store, an indexed slot.
                fn take(&self) -> i64 { self.balance.swap(0, Relaxed) }
                fn bump_low(&self) { if self.limits.max.load(Relaxed) > 0 { self.balance.fetch_add(1, Relaxed); } }
                fn reset(&mut self, v: i64) { self.balance.store(v, Relaxed) }
                fn log(&self) { println!("{}", self.balance.load(Relaxed)); }
                fn clear(&self) { self.balance.store(0, Relaxed) }
                fn double(&self) -> i64 { let b = self.balance.load(Relaxed); self.balance.store(b * 2, Relaxed); b }
                fn of_slot(&self, i: usize) -> u64 { self.slots[i].load(Relaxed) }
            }
            "#,
        );
        let names: Vec<&str> = v.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Account::balance",
                "Account::bump",
                "Account::bump_if",
                "Account::set_balance",
                "Account::set_if",
                "Account::set_limit"
            ]
        );
        assert_eq!(
            v[1].1,
            Accessor::Count {
                field: "balance".into(),
                op: "fetch_add".into(),
                ordering: MemOrdering::Relaxed
            }
        );
        assert_eq!(
            v[5].1,
            Accessor::Store {
                field: "limits.max".into(),
                arg: 1,
                ordering: MemOrdering::Relaxed
            }
        );
    }

    #[test]
    fn getters_and_setters_through_one_lock_field() {
        let (_, v) = summary(
            r#"
            struct Wallet { funds: Mutex<i64>, limit: Mutex<i64>, log: Mutex<Vec<i64>> }
            impl Wallet {
                fn funds(&self) -> i64 { *self.funds.lock().unwrap() }
                fn set_funds(&self, v: i64) { *self.funds.lock().unwrap() = v; }
                fn limit(&self) -> i64 { let g = self.limit.lock().unwrap(); *g }
                fn set_limit(&self, v: i64) { let mut g = self.limit.lock().unwrap(); *g = v; }
                // Not accessors: a read-modify-write in one section, a write of no parameter,
                // a push, no result.
                fn add(&self, v: i64) { *self.funds.lock().unwrap() += v; }
                fn zero(&self) { *self.funds.lock().unwrap() = 0; }
                fn record(&self, v: i64) { self.log.lock().unwrap().push(v); }
                fn touch(&self) { let _g = self.funds.lock().unwrap(); }
            }
            "#,
        );
        let got: Vec<String> = v.iter().map(|(n, a)| format!("{n}: {a:?}")).collect();
        assert_eq!(
            got,
            [
                "Wallet::funds: LockedRead { field: \"funds\" }",
                "Wallet::limit: LockedRead { field: \"limit\" }",
                "Wallet::set_funds: LockedWrite { field: \"funds\", arg: 0 }",
                "Wallet::set_limit: LockedWrite { field: \"limit\", arg: 0 }",
            ]
        );
    }
}
