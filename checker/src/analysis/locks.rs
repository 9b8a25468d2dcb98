//! Lock guards: which events take a guard of a `Mutex`/`RwLock`, which bindings hold it and
//! for how long, which later events act through it, and whether some guard is live at a given
//! event. Every rule that asks "is a lock held here" asks [`lock_held_at`]; the `lost-update`
//! rules that follow one lock's guards use [`acquisitions`]; the `deadlock` rules use
//! [`held_at`], [`lock_id`] and the per-crate [`LockSummary`] ("function f acquires locks
//! {…}", through its in-crate callees). A query over [`FnFacts`] and the [`CrateIndex`], not a
//! syntax walk.
//!
//! A guard is live from its acquisition to the end of the scope of the binding that holds it
//! (`let g = m.lock().unwrap();`, `if let Ok(g) = m.lock()`), unless that binding is passed to
//! `drop` first. A guard no binding holds is a temporary: it lives to the end of the
//! outermost call around it in the same closure (`m.lock().unwrap().push(self.helper())` holds
//! it while `helper` runs), or, in the matched expression of a `match`/`if let`/`while let`,
//! through the arms and body ([`Scrutinee`]; for `if let` the `else` block too before Rust
//! 2024, see [`DEFAULT_EDITION`]). A guard handed to a call (`helper(guard)`,
//! `f(m.lock())`) belongs to the callee from then on: [`Nesting`] does not count that call.
//! Not followed yet: a guard moved into a struct or another binding (`let h = g;`, taken to
//! live as long as `g`'s scope).
//!
//! Code that runs implicitly under a guard is followed where the crate shows it: a crate
//! `Drop` impl run by `drop(x)`, an overwrite, a discarded removal or a binding's scope end
//! ([`drop_impl_run`], [`scope_end_drops`]), and closures a function calls while it holds a
//! lock ([`LockSummary::callbacks`], [`callback_relocks`]). [`Guards`] and the deadlock rules
//! use the package's edition ([`CrateIndex::edition`]); [`held_at`] (the lost-update rules)
//! still assumes [`DEFAULT_EDITION`].

use crate::analysis::{
    Binding, Event, EventId, EventKind, FnFacts, Place, Root, Scrutinee, ScrutineeKind,
};
use crate::finding::Region;
use crate::index::{CrateIndex, FnKey};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Lock types whose guards these rules follow (std, parking_lot, tokio, async-std, spin).
pub fn is_lock_type(ty: &str) -> bool {
    ["Mutex<", "RwLock<", "Mutex :: <", "RwLock :: <"]
        .iter()
        .any(|t| ty.contains(t))
        || ty.ends_with("Mutex")
        || ty.ends_with("RwLock")
}

/// The type a lock type as written guards, through the pointers around the lock
/// (`Arc<Mutex<RemoteQueue<S>>>` → `RemoteQueue<S>`, `&RwLock<State>` → `State`); `None` when
/// no lock of the kinds above is reached.
pub fn guarded_type(ty: &str) -> Option<&str> {
    let mut ty = ty.trim();
    for _ in 0..6 {
        ty = ty.trim_start_matches('&').trim_start();
        if let Some(rest) = ty.strip_prefix('\'') {
            // A lifetime: `&'a Mutex<T>`.
            ty = rest.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_');
            ty = ty.trim_start();
        }
        ty = ty.strip_prefix("mut ").unwrap_or(ty).trim_start();
        let lt = ty.find('<')?;
        let head = crate::analysis::last_segment(ty[..lt].trim());
        let inner = crate::index::first_generic_arg(ty)?;
        if head.ends_with("Mutex") || head.ends_with("RwLock") {
            return Some(inner);
        }
        if !["Arc", "Rc", "Box", "CachePadded"].contains(&head) {
            return None;
        }
        ty = inner;
    }
    None
}

/// The lock whose guard the value of `ev` is: `ev` takes one (`lock()`, `read()`, `write()`,
/// … with no arguments) or passes one through ([`PASS`]: `m.lock().unwrap()`); the lock's
/// place as written.
pub fn guard_source<'a>(func: &'a FnFacts, ev: &'a Event) -> Option<&'a Place> {
    let mut e = ev;
    while PASS.contains(&e.name.as_str()) {
        let r = e.receiver_region?;
        e = func.events[..e.id].iter().rev().find(|x| x.region == r)?;
    }
    if takes_guard(e) {
        e.receiver.as_ref()
    } else {
        None
    }
}

/// Whether `e` is an acquisition by name: a method call with no arguments of one of
/// [`ACQUIRE_WRITE`] or [`ACQUIRE_READ`].
fn takes_guard(e: &Event) -> bool {
    let name = e.name.as_str();
    e.kind == EventKind::MethodCall
        && e.args.is_empty()
        && (ACQUIRE_WRITE.contains(&name) || ACQUIRE_READ.contains(&name))
}

/// Whether the place is declared as a lock of the kinds above: every declaration the crate
/// has for it is one ([`CrateIndex::type_is`]; `Mutex<u32>` and `Mutex<u8>` fields of one
/// name are both locks).
pub fn is_lock_place(index: &CrateIndex, func: &FnFacts, place: &Place) -> bool {
    index.type_is(func, place, is_lock_type)
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

/// Methods that pass a guard through unchanged (`m.lock().unwrap()`), also inside the
/// `Result`/`Option` that `?` then opens (`m.lock().map_err(|_| Error::Poisoned)?`,
/// `m.lock().ok()?`).
const PASS: &[&str] = &[
    "unwrap",
    "map_err",
    "ok",
    "expect",
    "unwrap_or_else",
    "unwrap_or_default",
    "into_inner",
];

/// One guard acquisition.
#[derive(Debug)]
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
    /// For a guard no binding holds: the matched expression it is a temporary of, if any.
    pub scrutinee: Option<&'f Scrutinee>,
    /// For a guard no binding holds (outside a scrutinee): the outermost call of the same
    /// closure around it, whose later parts run while the temporary is alive.
    pub statement: Option<Region>,
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
    /// The package's edition ([`CrateIndex::edition`]): how long scrutinee temporaries live.
    edition: Edition,
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
        Guards {
            func,
            guards,
            edition: index.edition,
        }
    }

    /// Whether some guard is live when `ev` runs ([`held_at`]): the code at `ev` is serialized
    /// by a lock. The one answer every rule uses for "a lock is held here".
    pub fn live_at(&self, ev: &Event) -> bool {
        self.guards
            .iter()
            .any(|g| held_at_in(self.func, g, ev, self.edition))
    }

    /// Whether the function takes no guard at all.
    pub fn is_empty(&self) -> bool {
        self.guards.is_empty()
    }

    /// Whether `ev` acts on a guard's data ([`acts_through`]): a call on the guard itself
    /// (`db.get(k)` where `let db = self.db.lock().await`), serialized by that lock.
    /// Inside a local macro's expansion, where every region is the invocation's and a
    /// binding cannot be told apart by position, a receiver named like a holder of the guard
    /// whose value comes from the acquisition counts too.
    pub fn through(&self, ev: &Event) -> bool {
        self.guards.iter().any(|g| {
            acts_through(self.func, g, ev)
                || ev.receiver.as_ref().is_some_and(|p| {
                    self.func.is_expansion(&ev.region)
                        && ev.receiver_deps.contains(&g.id)
                        && g.holders.iter().any(|h| h.name == p.text)
                })
        })
    }

    /// The acquisition of a guard taken after `a`, not live at `a`, and live at `b`: `b` is in
    /// a critical section that `a` is not.
    pub fn taken_between(&self, a: &Event, b: &Event) -> Option<EventId> {
        self.guards
            .iter()
            .find(|g| {
                g.id > a.id
                    && g.id < b.id
                    && !held_at_in(self.func, g, a, self.edition)
                    && held_at_in(self.func, g, b, self.edition)
            })
            .map(|g| g.id)
    }

    /// Whether one guard is live both when `a` and when `b` run: the two are in one critical
    /// section. A guard dropped between them (`drop(guard)` before the write) serializes
    /// neither with the other thread's pair.
    pub fn live_across(&self, a: &Event, b: &Event) -> bool {
        self.guards.iter().any(|g| {
            held_at_in(self.func, g, a, self.edition) && held_at_in(self.func, g, b, self.edition)
        })
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
    let holders: Vec<&Binding> = func
        .bindings
        .iter()
        .filter(|b| b.init.is_some_and(|i| chain.contains(&i)))
        .collect();
    let (mut scrutinee, mut statement) = (None, None);
    if holders.is_empty() {
        scrutinee = func
            .scrutinees
            .iter()
            .rev()
            .find(|s| s.expr.contains(&ev.region));
        if scrutinee.is_none() {
            statement = func.events[ev.id + 1..]
                .iter()
                .filter(|e| e.closure_depth == ev.closure_depth && e.region.contains(&ev.region))
                .map(|e| e.region)
                .max_by_key(|r| (std::cmp::Reverse(r.start()), r.end()));
        }
    }
    Acq {
        id: ev.id,
        lock,
        writable,
        chain,
        holders,
        scrutinee,
        statement,
    }
}

/// How long temporaries of an `if let` scrutinee live: to the end of the whole `if … else …`
/// (Rust 2015–2021), or only through the then-block (Rust 2024).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Edition {
    #[default]
    E2021,
    E2024,
}

impl Edition {
    /// The temporary rules of a manifest's `edition` (`"2015"`–`"2021"`: the older ones;
    /// `"2024"` and later: the newer). Unknown (`None`, `edition.workspace = true` in paths
    /// mode) is taken as 2021, under which an `if let` temporary is still alive in the `else`
    /// block.
    pub fn of(edition: Option<&str>) -> Edition {
        match edition.and_then(|e| e.parse::<u32>().ok()) {
            Some(y) if y >= 2024 => Edition::E2024,
            _ => Edition::E2021,
        }
    }
}

/// The edition [`held_at`] assumes (the deadlock rules use the package's, through
/// [`held_at_in`] and `CrateIndex::edition`).
pub const DEFAULT_EDITION: Edition = Edition::E2021;

impl Acq<'_> {
    /// Where a temporary guard is alive (see the module docs), under `edition`.
    pub fn temporary_scope(&self, edition: Edition) -> Option<Region> {
        match self.scrutinee {
            Some(s) if s.kind == ScrutineeKind::IfLet && edition == Edition::E2024 => Some(s.then),
            Some(s) => Some(s.whole),
            None => self.statement,
        }
    }

    /// Whether the acquisition only tries (`try_lock`, `try_write`, `try_read`): it never
    /// blocks, so taking it again while held is no deadlock.
    pub fn is_try(&self, func: &FnFacts) -> bool {
        self.event(func).name.starts_with("try_")
    }
}

/// Whether `name` is passed to `drop` by an event with id in `(after, before)` on a path that
/// goes on to `before`: a `drop(guard)` in a branch that then returns (`if let Some(r) =
/// q.pop() { drop(guard); return Ok(r); }`) leaves the guard held for the code after the
/// branch. The branch is known by its decisions: a `return` after the drop and before
/// `before`, under exactly the drop's checks, at the same closure depth.
fn dropped_between(func: &FnFacts, name: &str, after: EventId, before: EventId) -> bool {
    let target = func.events.get(before).map(|e| e.region);
    func.between(after, before).iter().any(|e| {
        e.kind == EventKind::Call
            && (e.name == "drop" || e.name.ends_with("::drop"))
            && e.args.first().is_some_and(|a| a.text == name)
            && !target.is_some_and(|t| returns_after(func, e, &t))
    })
}

/// Whether the branch of `ev` returns after it and before the code at `target`.
fn returns_after(func: &FnFacts, ev: &Event, target: &Region) -> bool {
    func.exits.iter().any(|x| {
        x.is_return
            && x.closure_depth == ev.closure_depth
            && x.control_deps == ev.control_deps
            && ev.region.precedes(&x.region)
            && x.region.precedes(target)
    })
}

/// Whether the guard of `acq` may still be alive when `ev` runs: a binding holds it, `ev` is
/// inside that binding's scope, and the binding was not passed to `drop` in between. A guard
/// that no binding holds is a temporary, gone at the end of its statement.
pub fn held_at(func: &FnFacts, acq: &Acq<'_>, ev: &Event) -> bool {
    held_at_in(func, acq, ev, DEFAULT_EDITION)
}

/// [`held_at`] under the temporary rules of `edition`.
pub fn held_at_in(func: &FnFacts, acq: &Acq<'_>, ev: &Event, edition: Edition) -> bool {
    if ev.id <= acq.id || acq.chain.contains(&ev.id) {
        return false;
    }
    // A guard whose scope is a whole local-macro expansion (a temporary or binding of the
    // transcriber's own code) has no known end inside it: taken as not held, rather than held
    // through the rest of the invocation.
    if let Some(r) = acq.temporary_scope(edition) {
        return !func.is_expansion(&r) && r.contains(&ev.region);
    }
    acq.holders.iter().any(|b| {
        !func.is_expansion(&b.scope)
            && b.scope.contains(&ev.region)
            && !dropped_between(func, &b.name, acq.id, ev.id)
    })
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

/// A lock as the whole crate names it, for questions across functions: a field by its owner
/// type and name (`Bank.state`, whichever instance), or a static by name (`REGISTRY`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockId(pub String);

impl std::fmt::Display for LockId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The crate-wide name of the lock at `place` in `func`: a static declared as a lock, or a
/// field declared as a lock in a crate struct — the impl's own struct for `self.f`, the
/// struct the base's declared type names (`acct: &Account` → `Account.f`), else the one
/// struct that declares a lock field of that name. `None` for locals, parameters and fields
/// whose owner is ambiguous (those are still compared by place text within one function).
///
/// A local bound by a pattern to a field (`TargetKind::Multi { ref state, .. }`) is that
/// field (`TargetKind.state`). Lock fields of different owner types that protect the same
/// crate struct (`MultiProgress.state` and `TargetKind.state`, both `Arc<RwLock<MultiState>>`)
/// are taken to be one lock shared through the `Arc`, named by the first of them in sort order
/// ([`lock_classes`]).
pub fn lock_id(index: &CrateIndex, func: &FnFacts, place: &Place) -> Option<LockId> {
    let id = field_lock_id(index, func, place)?;
    let classes = index.lock_classes.get_or_init(|| lock_classes(index));
    Some(classes.get(&id.0).map_or(id, |c| LockId(c.clone())))
}

/// [`lock_id`] before lock classes are applied.
fn field_lock_id(index: &CrateIndex, func: &FnFacts, place: &Place) -> Option<LockId> {
    let text = place.text.trim_end_matches("[]");
    if place.root == Root::Static && !text.contains('.') {
        let name = crate::analysis::last_segment(text);
        let s = index.statics.get(name)?;
        return is_lock_type(crate::index::lazy_inner(&s.ty)).then(|| LockId(name.to_string()));
    }
    if matches!(place.root, Root::Local { .. }) && !text.contains('.') {
        // A pattern binding of a lock field: name it by its struct or enum.
        let (path, field) = func
            .bindings
            .iter()
            .find(|b| b.name == text)
            .and_then(|b| b.field_of.as_ref())?;
        if !index.type_is(func, place, is_lock_type) {
            return None;
        }
        let segs: Vec<&str> = path.split("::").collect();
        let owner = match segs.as_slice() {
            [.., e, _] if index.variant_fields.contains_key(segs[segs.len() - 1]) => {
                if *e == "Self" {
                    func.owner()?
                } else {
                    e
                }
            }
            [.., s] => s,
            [] => return None,
        };
        return Some(LockId(format!("{owner}.{field}")));
    }
    let (base, member) = text.rsplit_once('.')?;
    let decls: Vec<&str> = index
        .fields
        .get(member)?
        .iter()
        .filter(|d| is_lock_type(&d.ty))
        .map(|d| d.strukt.as_str())
        .collect();
    let owner = if base == "self" {
        func.owner().filter(|o| decls.contains(o))
    } else {
        let base_place = Place {
            text: base.to_string(),
            root: place.root.clone(),
        };
        index.type_of(func, &base_place).and_then(|t| {
            t.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .find_map(|w| decls.iter().copied().find(|d| *d == w))
        })
    };
    let owner = owner.or_else(|| {
        let first = *decls.first()?;
        decls.iter().all(|d| *d == first).then_some(first)
    })?;
    Some(LockId(format!("{owner}.{member}")))
}

/// The protected type of a lock type when it is one crate struct (`Arc<RwLock<MultiState>>`
/// → `MultiState`; `Mutex<Vec<u8>>`, `Mutex<T>` → `None`).
fn protected_struct<'t>(index: &CrateIndex, ty: &'t str) -> Option<&'t str> {
    let at = ["Mutex<", "RwLock<"]
        .iter()
        .filter_map(|m| ty.rfind(m).map(|i| i + m.len()))
        .max()?;
    let inner = ty[at..].trim_end_matches('>').trim();
    let head = inner.split('<').next()?.trim();
    let name = crate::analysis::last_segment(head);
    (index.structs.contains_key(name) && name.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .then_some(name)
}

/// Lock classes: for every crate struct that lock fields of two or more owner types protect
/// (`Arc<RwLock<MultiState>>` in `MultiProgress.state` and in variant `TargetKind::Multi`'s
/// `state`), each of those fields (`Owner.field`) → the class's name, the first of them in
/// sort order. Such fields are in practice clones of one `Arc` handed from one owner to the
/// other, so the lock-order graph treats them as one node. A struct that one owner protects
/// with two fields (`a: Mutex<Inner>`, `b: Mutex<Inner>`: two locks) forms no class.
pub fn lock_classes(index: &CrateIndex) -> HashMap<String, String> {
    let mut by_struct: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    let decls = index
        .fields
        .values()
        .flatten()
        .map(|d| (d.strukt.as_str(), d));
    let variants = index.variant_fields.values().flatten().map(|d| {
        let owner = d.strukt.split("::").next().unwrap_or(&d.strukt);
        (owner, d)
    });
    for (owner, d) in decls.chain(variants) {
        if !is_lock_type(&d.ty) {
            continue;
        }
        if let Some(p) = protected_struct(index, &d.ty) {
            let members = by_struct.entry(p).or_default();
            let id = (owner.to_string(), format!("{owner}.{}", d.field));
            if !members.contains(&id) {
                members.push(id);
            }
        }
    }
    let mut out = HashMap::new();
    for members in by_struct.values_mut() {
        members.sort();
        let one_per_owner = members.windows(2).all(|w| w[0].0 != w[1].0);
        if members.len() < 2 || !one_per_owner {
            continue;
        }
        let name = members[0].1.clone();
        for (_, id) in members.iter() {
            out.insert(id.clone(), name.clone());
        }
    }
    out
}

/// Whether the lock at `place` is reentrant (`ReentrantMutex`, `ReentrantLock`): the thread
/// holding it may lock it again.
pub fn is_reentrant(index: &CrateIndex, func: &FnFacts, place: &Place) -> bool {
    index
        .type_of(func, place)
        .is_some_and(|t| t.contains("Reentrant"))
}

/// Whether `ev` runs on another thread or task than the function's own code, or may be
/// abandoned: inside a closure or async block passed to a `spawn` (`thread::spawn`,
/// `tokio::spawn`, `s.spawn`, `spawn_blocking`, `rayon::spawn`), or to a `timeout` that
/// gives up on it. A lock taken there blocks that thread (or times out), not the holder.
pub fn runs_elsewhere(func: &FnFacts, ev: &Event) -> bool {
    ev.closure_depth > 0
        && func.events[ev.id + 1..].iter().any(|s| {
            let name = crate::analysis::last_segment(&s.name);
            (name.starts_with("spawn") || name == "execute" || name.starts_with("timeout"))
                && s.closure_depth < ev.closure_depth
                && s.region.contains(&ev.region)
        })
}

/// Whether the value of `ev` is passed on as a call argument as it is (`spawn(lock.read())`,
/// `timeout(d, m.lock())`): for an async lock that is a future nobody awaits here, so the
/// acquisition does not block at this point.
fn passed_as_argument(func: &FnFacts, ev: &Event) -> bool {
    !ev.awaited
        && func.events[ev.id + 1..]
            .iter()
            .any(|e| e.args.iter().any(|a| a.region == ev.region))
}

/// Whether the guard of `acq` is handed to the call `call`: the acquisition is (inside) one
/// of its arguments, or a binding holding it is passed by value (`helper(guard)`). The callee
/// then owns the guard and decides when it ends.
fn moved_into(func: &FnFacts, acq: &Acq<'_>, call: &Event) -> bool {
    let region = acq.event(func).region;
    call.args
        .iter()
        .any(|a| a.region.contains(&region) || acq.holders.iter().any(|h| h.name == a.text))
}

/// One lock a function may acquire, directly or through in-crate calls.
#[derive(Clone, Debug)]
pub struct Taken {
    pub lock: LockId,
    /// The lock is a field of the function's own `self` (`self.state`), reached through
    /// calls on `self` only: the same instance as the caller's `self.state`.
    pub on_self: bool,
    pub writable: bool,
    /// Where the lock is finally acquired: the function and the acquisition's region.
    pub at: (FnKey, Region),
    /// The calls from the summarized function down to `at`, outermost first (empty when the
    /// function acquires it itself).
    pub via: Vec<(FnKey, Region)>,
}

/// The per-crate lock summary: for every function, the blocking acquisitions of crate-named
/// locks ([`lock_id`]) it performs itself or through the in-crate functions it calls, computed
/// once per crate to a fixed point over the call graph. A call on `self` (`self.helper()`,
/// `Self::helper(self)`) resolves to the caller's impl; any other call only when
/// [`CrateIndex::callees`] finds exactly one function. `try_*` acquisitions, reentrant locks
/// and code in spawned closures do not count.
#[derive(Debug, Default)]
pub struct LockSummary {
    pub takes: HashMap<FnKey, Vec<Taken>>,
    /// Guard getters: functions that return a guard (their return type names a `…Guard`) of
    /// the one lock they acquire themselves (`fn state(&self) -> MutexGuard<'_, BarState> {
    /// self.state.lock().unwrap() }`). A call of one is an acquisition in the caller
    /// ([`Nesting`]), live as long as the value it returns.
    pub getters: HashMap<FnKey, Taken>,
    /// Callbacks run under a lock: functions that call a callable parameter (`f(..)`), or
    /// pass it on to another call, while a guard of a crate-named lock they acquire
    /// themselves is live (`fn with_state(&self, f: impl FnOnce(&S)) { f(&self.state.lock()) }`).
    /// A closure passed there runs with the lock held ([`callback_relocks`]).
    pub callbacks: HashMap<FnKey, Vec<HeldCall>>,
    /// Foreign code run by a function, itself or through in-crate calls ([`foreign_call`]):
    /// the first such call found of each [`ForeignKind`], for the functions that have one.
    pub foreign: HashMap<FnKey, Vec<Foreign>>,
    /// Plain `fn`-pointer fields whose every value the crate shows ([`fn_pointer_fields`]):
    /// field name → the crate functions stored in it.
    pub fn_fields: HashMap<String, Vec<FnKey>>,
}

/// What kind of code the crate does not show a call runs ([`foreign_call`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForeignKind {
    /// `waker.wake()` / `wake_by_ref()`: a function of whoever built the waker.
    Wake,
    /// An overwrite that drops the previous `Waker` (`*slot = Some(cx.waker().clone())`): its
    /// drop runs the waker's vtable too.
    WakerDrop,
    /// A call of a function value read from a place (`(self.hook)(..)`,
    /// `(vtable.cancel)(ptr)`): a stored callback or a hand-made vtable.
    StoredCallable,
    /// A call of a `dyn Fn…` parameter (`f: &dyn Fn(..)`, `Box<dyn FnMut(..)>`): whatever the
    /// caller passed.
    DynCallback,
    /// A method of an open crate trait called through a trait object (`self.subscriber
    /// .register_callsite(..)` on an `Arc<dyn Subscriber + Send + Sync>`,
    /// [`open_trait_object_call`]): any implementation, other crates' included.
    DynMethod,
}

/// A foreign call a function makes (or reaches through in-crate calls).
#[derive(Clone, Debug)]
pub struct Foreign {
    pub kind: ForeignKind,
    /// The code called, as written (`waker.wake`, `(vtable.cancel)`, `f`).
    pub text: String,
    /// Where: the function and the call's region.
    pub at: (FnKey, Region),
    /// The calls from the summarized function down to `at`, outermost first.
    pub via: Vec<(FnKey, Region)>,
}

/// Whether `ev` runs code the crate does not show, which may do anything — lock again what the
/// caller holds included ([`ForeignKind`]). A `wake` that resolves to exactly one crate
/// function is that function (followed by the summary), not foreign; a `wake` on a receiver
/// of unknown or foreign type is a `Waker`'s. The waker overwrite is an assignment (not `let`,
/// not `mem::replace`) whose value is built from `cx.waker()` (the task's new waker), or of a
/// place declared as a `Waker`.
pub fn foreign_call(
    index: &CrateIndex,
    fn_fields: &HashMap<String, Vec<FnKey>>,
    func: &FnFacts,
    ev: &Event,
) -> Option<ForeignKind> {
    match &ev.kind {
        EventKind::MethodCall
            if (ev.name == "wake" || ev.name == "wake_by_ref") && ev.args.is_empty() =>
        {
            (crate_callee(index, func, ev).is_none()).then_some(ForeignKind::Wake)
        }
        EventKind::MethodCall => {
            open_trait_object_call(index, func, ev).then_some(ForeignKind::DynMethod)
        }
        EventKind::Assign { op: None } => {
            let value = ev.args.first()?;
            // The value's events come right before the assignment, inside its region.
            let new_waker = func.events[..ev.id]
                .iter()
                .rev()
                .take_while(|e| ev.region.contains(&e.region))
                .any(|e| {
                    e.kind == EventKind::MethodCall
                        && e.name == "waker"
                        && e.args.is_empty()
                        && value.region.contains(&e.region)
                });
            let declared = ev
                .receiver
                .as_ref()
                .and_then(|p| index.type_of(func, p))
                .is_some_and(|t| is_waker_type(&t));
            (new_waker || declared).then_some(ForeignKind::WakerDrop)
        }
        // `(self.hook)(..)`, `(vtable.cancel)(..)`, `(*f)(..)`; an immediately called closure
        // literal `(|| ..)()` is code written here.
        // A plain `fn` pointer that only ever holds crate functions is not foreign: the call
        // is one of those functions (followed through the summary, [`stored_fn_targets`]).
        EventKind::Call if ev.name.starts_with('(') && !ev.name.contains('|') => {
            (stored_fn_targets(fn_fields, ev).is_none() && !generic_field_call(index, ev))
                .then_some(ForeignKind::StoredCallable)
        }
        // `f(..)` of a `dyn Fn…` parameter, or of a local that a pattern binds to a `dyn Fn…`
        // field (`Behavior::Function { call, .. } => call(x)`: a closure stored earlier).
        EventKind::Call if !ev.name.contains("::") => {
            if let Some((_, ty)) = func.params.iter().find(|(n, _)| *n == ev.name) {
                return is_dyn_fn(ty).then_some(ForeignKind::DynCallback);
            }
            let local = Place {
                text: ev.name.clone(),
                root: Root::Local {
                    init: None,
                    ty: None,
                },
            };
            let types = index.declared_types(func, &local);
            (!types.is_empty() && types.iter().all(|t| is_dyn_fn(t)))
                .then_some(ForeignKind::StoredCallable)
        }
        _ => None,
    }
}

/// Whether the method call `ev` runs an implementation the crate may not show: its receiver's
/// type ([`receiver_type`]) is a trait object (`dyn T`, alone or behind `&`, `&mut`, `Box`,
/// `Arc`, `Rc`), `T` is a trait the crate declares `pub` and does not seal
/// ([`crate::analysis::TraitDecl::open`]: an extension point other crates implement), and the
/// method is one of `T`'s own. In-crate implementations do not make it safe: the object may
/// hold any. A std or other crate's trait (`dyn Error`, `dyn Write`) does not count, nor a
/// private or `pub(crate)` one (every implementation is the crate's), nor a method of the
/// wrapper (`Arc::clone`); a call on the guard of a `Mutex<Box<dyn T>>` is not seen (the
/// type found is the lock's).
fn open_trait_object_call(index: &CrateIndex, func: &FnFacts, ev: &Event) -> bool {
    if ev.receiver.as_ref().is_some_and(|p| p.text == "self") || index.traits.is_empty() {
        return false;
    }
    let RecvType::Known(ty) = receiver_type(index, func, ev) else {
        return false;
    };
    // An element of a place (`for l in &self.listeners`, the closure parameter of
    // `self.0.upgrade().map(|s| ..)`): the type names its container.
    let element = ev.receiver.as_ref().is_some_and(|p| p.text.ends_with("[]"));
    let ty = if element { element_type(&ty) } else { &ty };
    let Some(name) = object_trait(ty) else {
        return false;
    };
    index.traits.get(name).is_some_and(|decls| {
        decls.iter().all(|d| d.open) && decls.iter().any(|d| d.methods.contains(&ev.name))
    })
}

/// The element type of a container type as written: its last type argument (`Vec<Box<dyn
/// L>>` → `Box<dyn L>`, `HashMap<u64, Arc<dyn L>>` → `Arc<dyn L>`, `Weak<dyn S>` → `dyn S`)
/// or a slice's or array's element (`&[Box<dyn L>]`); the type itself when it is neither.
fn element_type(ty: &str) -> &str {
    let ty = ty.trim();
    if let Some(inner) = ty
        .trim_start_matches('&')
        .trim_start_matches("mut ")
        .trim_start()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
    {
        return inner.split(';').next().unwrap_or(inner).trim();
    }
    let (Some(open), true) = (ty.find('<'), ty.ends_with('>')) else {
        return ty;
    };
    let args = &ty[open + 1..ty.len() - 1];
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in args.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => start = i + 1,
            _ => {}
        }
    }
    args[start..].trim()
}

/// The trait of a trait-object type as written, if the type is one alone or behind a
/// reference or an owning pointer: `&'static dyn Callsite` → `Callsite`,
/// `Arc<dyn Subscriber + Send + Sync>` → `Subscriber`, `Box<dyn a::Hook>` → `Hook`; `None` for
/// `Weak<dyn T>`, `Option<Box<dyn T>>`, `Vec<Box<dyn T>>` (whose methods are the wrapper's).
fn object_trait(ty: &str) -> Option<&str> {
    let at = ty.find("dyn ")?;
    let mut prefix: String = ty[..at].chars().filter(|c| !c.is_whitespace()).collect();
    loop {
        let before = prefix.len();
        for wrapper in ["&", "mut", "Box<", "Arc<", "Rc<"] {
            if let Some(rest) = prefix.strip_prefix(wrapper) {
                prefix = rest.to_string();
            }
        }
        // A lifetime (`'static`) or a path segment (`std::sync::`).
        let ident_end = |s: &str| {
            s.find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(s.len())
        };
        if let Some(rest) = prefix.strip_prefix('\'') {
            prefix = rest[ident_end(rest)..].to_string();
        } else if let Some(i) = prefix.find("::").filter(|i| *i == ident_end(&prefix)) {
            prefix = prefix[i + 2..].to_string();
        }
        if prefix.is_empty() {
            break;
        }
        if prefix.len() == before {
            return None;
        }
    }
    let path = ty[at + 4..].trim_start();
    let end = path
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(path.len());
    let name = crate::analysis::last_segment(&path[..end]);
    (!name.is_empty()).then_some(name)
}

/// Whether a declared type is a trait object of a closure trait (`&dyn Fn(u32)`,
/// `Box<dyn FnMut() + Send>`, `Arc<dyn Fn(&T)>`).
fn is_dyn_fn(ty: &str) -> bool {
    ["dyn Fn", "dyn FnMut", "dyn FnOnce"]
        .iter()
        .any(|d| ty.contains(d))
}

/// Whether a declared type is a waker (`Waker`, `Option<Waker>`, `std::task::Waker`), not an
/// `AtomicWaker` or a list of them (whose overwrite the declaring crate implements).
fn is_waker_type(ty: &str) -> bool {
    let inner = ty
        .trim()
        .trim_start_matches("Option<")
        .trim_end_matches('>');
    crate::analysis::last_segment(inner.trim()) == "Waker"
}

/// A call of foreign code ([`foreign_call`]) while a guard of a lock is live, in one function:
/// directly, or through a call of an in-crate function that makes one ([`LockSummary::foreign`]).
#[derive(Clone, Debug)]
pub struct ForeignUnderLock {
    /// Index of the live guard's acquisition in [`Nesting::acqs`].
    pub outer: usize,
    /// The foreign call, or the in-crate call that reaches it.
    pub at: EventId,
    /// What is called in the end; `via` is empty for a direct call.
    pub foreign: Foreign,
}

/// Every [`ForeignUnderLock`] of `func` whose kind `pick` accepts, at most one per event (the
/// first live guard). A guard handed to the call (`self.notify(guard)`: the callee decides
/// when it ends), `try_*` guards (in a scrutinee, the arm where the lock was busy has none),
/// reentrant locks, code in spawned closures and `#[test]` functions do not count.
pub fn foreign_under_lock(
    index: &CrateIndex,
    summary: &LockSummary,
    key: FnKey,
    func: &FnFacts,
    nesting: &Nesting<'_>,
    pick: impl Fn(ForeignKind) -> bool,
) -> Vec<ForeignUnderLock> {
    let mut out = Vec::new();
    if func.is_test || nesting.acqs.is_empty() {
        return out;
    }
    for ev in &func.events {
        if !matches!(
            ev.kind,
            EventKind::MethodCall | EventKind::Call | EventKind::Assign { .. }
        ) || nesting.acqs.iter().any(|a| a.id == ev.id)
        {
            continue;
        }
        let direct = foreign_call(index, &summary.fn_fields, func, ev).filter(|k| pick(*k));
        let through = || {
            let callees = match crate_callee(index, func, ev) {
                Some((callee, _)) => vec![callee],
                None => stored_fn_targets(&summary.fn_fields, ev)?.to_vec(),
            };
            callees
                .into_iter()
                .filter(|c| *c != key)
                .find_map(|callee| {
                    let found = summary.foreign.get(&callee)?;
                    found.iter().find(|f| pick(f.kind) && f.via.len() < 8)
                })
        };
        let foreign = match direct {
            Some(kind) => Foreign {
                kind,
                text: foreign_text(ev),
                at: (key, ev.region),
                via: Vec::new(),
            },
            None => match through() {
                Some(f) => {
                    let mut f = f.clone();
                    f.via.insert(0, (key, ev.region));
                    f
                }
                None => continue,
            },
        };
        // A trait object's implementation reaches a `static` lock through the crate's API
        // alone (logging an event registers its callsite); an instance's lock only with a
        // handle to that instance, which the implementors of an open trait (clocks, timers,
        // runtimes, sockets) are not given.
        let object = foreign.kind == ForeignKind::DynMethod;
        let outer = nesting.acqs.iter().position(|a| {
            let reentrant = a
                .event(func)
                .receiver
                .as_ref()
                .is_some_and(|p| is_reentrant(index, func, p));
            !reentrant
                && !a.is_try(func)
                && held_at_in(func, a, ev, index.edition)
                && !moved_into(func, a, ev)
                && (!object || on_static(a.event(func)))
                && (!runs_elsewhere(func, ev) || runs_elsewhere(func, a.event(func)))
        });
        if let Some(outer) = outer {
            out.push(ForeignUnderLock {
                outer,
                at: ev.id,
                foreign,
            });
        }
    }
    out
}

/// Whether an acquisition locks a `static` (`REGISTRY.lock()`), which any code can reach.
fn on_static(acq: &Event) -> bool {
    acq.receiver
        .as_ref()
        .is_some_and(|p| p.root == Root::Static)
}

/// How a foreign call reads in a message: the receiver and method (`waker.wake`), the target
/// of an overwrite, or the called expression.
fn foreign_text(ev: &Event) -> String {
    match (&ev.kind, &ev.receiver) {
        (EventKind::MethodCall, Some(r)) => format!("{}.{}", r.text, ev.name),
        (EventKind::Assign { .. }, Some(r)) => r.text.clone(),
        _ => ev.name.clone(),
    }
}

/// A callable parameter that a function calls (or passes on) while it holds a lock.
#[derive(Clone, Debug)]
pub struct HeldCall {
    /// The parameter's position in the signature (`self` counts), and whether the function
    /// takes `self` (a method call's arguments then start at position 1).
    pub param: usize,
    pub has_self: bool,
    /// The lock held, its mode, and where the function acquires it.
    pub lock: LockId,
    pub on_self: bool,
    pub writable: bool,
    pub held: Region,
    /// Where the parameter is called or passed on, under the guard.
    pub call: Region,
}

/// Whether a parameter's declared type can be called: an `impl Fn…`, `dyn Fn…`, `&mut F`
/// where the type names `Fn`, or a bare generic parameter (`F`, `Handler`: one identifier
/// that is no crate type; its bound is not recorded, the call site's closure decides).
fn callable_param(index: &CrateIndex, ty: &str) -> bool {
    let ty = ty.trim_start_matches('&').trim_start_matches("mut ").trim();
    if ty.contains("Fn(") || ty.contains("FnMut") || ty.contains("FnOnce") || ty.contains("Fn (") {
        return true;
    }
    let generic = ty.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && ty != "Self";
    generic && !index.structs.contains_key(ty) && !index.variant_fields.contains_key(ty)
}

/// The [`HeldCall`]s of one function: for every blocking acquisition of a crate-named lock
/// in its own body, each callable parameter called, or passed as an argument, while the
/// guard is live.
fn held_calls(
    index: &CrateIndex,
    func: &FnFacts,
    by_name: &HashMap<&str, Vec<(FnKey, &FnFacts)>>,
) -> Vec<HeldCall> {
    let params: Vec<(usize, &str)> = func
        .params
        .iter()
        .enumerate()
        .filter(|(_, (n, t))| n != "self" && callable_param(index, t))
        .map(|(i, (n, _))| (i, n.as_str()))
        .collect();
    let mut out = Vec::new();
    if params.is_empty() || func.is_test {
        return out;
    }
    for (a, lock, on_self) in summarized_acquisitions(index, func) {
        let ev = a.event(func);
        for e in &func.events[ev.id + 1..] {
            if !matches!(e.kind, EventKind::Call | EventKind::MethodCall)
                || !held_at_in(func, &a, e, index.edition)
                || runs_elsewhere(func, e)
            {
                continue;
            }
            for (i, name) in &params {
                let called = e.kind == EventKind::Call && e.name == *name;
                // Handed on only to a crate function that takes a callable there (which may
                // call it); `Box::new(f)`, `tx.send(f)` store it for later.
                let passed = e.args.iter().enumerate().any(|(pos, x)| {
                    let t = x.text.trim_start_matches('&').trim_start_matches("mut ");
                    t == *name && takes_callable(index, by_name, func, e, pos)
                });
                if (called || passed) && !out.iter().any(|h: &HeldCall| h.param == *i) {
                    out.push(HeldCall {
                        param: *i,
                        has_self: func.params.first().is_some_and(|(n, _)| n == "self"),
                        lock: lock.clone(),
                        on_self,
                        writable: a.writable,
                        held: ev.region,
                        call: e.region,
                    });
                }
            }
        }
    }
    out
}

/// The acquisitions of `func` that the [`LockSummary`] counts: blocking (not `try_*`), not
/// in a spawned closure, of a non-reentrant lock with a crate-wide name, each with that
/// [`LockId`] and whether it is a field of `self` (`self.state`).
fn summarized_acquisitions<'f>(
    index: &CrateIndex,
    func: &'f FnFacts,
) -> Vec<(Acq<'f>, LockId, bool)> {
    acquisitions(index, func)
        .into_iter()
        .filter_map(|a| {
            let ev = a.event(func);
            if a.is_try(func) || runs_elsewhere(func, ev) {
                return None;
            }
            let place = ev.receiver.as_ref()?;
            if is_reentrant(index, func, place) {
                return None;
            }
            let lock = lock_id(index, func, place)?;
            let on_self = place.root == Root::SelfValue && place.text.matches('.').count() == 1;
            Some((a, lock, on_self))
        })
        .collect()
}

/// Whether some crate function named like the call `ev` takes a callable parameter at its
/// argument position `pos` (a method's `self` shifts the positions of a method call).
fn takes_callable(
    index: &CrateIndex,
    by_name: &HashMap<&str, Vec<(FnKey, &FnFacts)>>,
    func: &FnFacts,
    ev: &Event,
    pos: usize,
) -> bool {
    // The functions the call may be (`Box::new` is none of the crate's `new`s).
    let keys = index.method_callees(func, ev);
    let name = crate::analysis::last_segment(&ev.name);
    let candidates = by_name.get(name).into_iter().flatten();
    candidates.filter(|(k, _)| keys.contains(k)).any(|(_, f)| {
        let has_self = f.params.first().is_some_and(|(n, _)| n == "self");
        let at = if has_self && ev.kind == EventKind::MethodCall {
            pos + 1
        } else {
            pos
        };
        f.params
            .get(at)
            .is_some_and(|(_, t)| callable_param(index, t))
    })
}

/// A closure that relocks a lock its callee holds while calling it: `self.status.with(|s| {
/// self.status.confirm() })` where `with` calls its parameter under `self.status`'s lock and
/// `confirm` locks it again.
#[derive(Clone, Debug)]
pub struct CallbackRelock {
    /// The call that passes the closure.
    pub call: EventId,
    pub callee: FnKey,
    pub held: HeldCall,
    /// The acquisition inside the closure: an event of the function (a lock call, or a call
    /// whose callee takes the lock) and, for the latter, the callee's [`Taken`].
    pub inner: EventId,
    pub taken: Option<Taken>,
    /// The lock as the caller names it (`self.status.0`; a static by name).
    pub lock_text: String,
}

/// Every [`CallbackRelock`] in `func`: a closure literal passed to an in-crate function at
/// the position of a parameter it calls under a lock ([`LockSummary::callbacks`]), whose body
/// takes the same lock — the same static, or for a lock on the callee's `self`, the same
/// field of the call's receiver (`self.status.set_len(.., |..| self.status.confirm())`).
pub fn callback_relocks(
    index: &CrateIndex,
    summary: &LockSummary,
    func: &FnFacts,
) -> Vec<CallbackRelock> {
    let mut out = Vec::new();
    if summary.callbacks.is_empty() || func.is_test {
        return out;
    }
    let acqs = acquisitions(index, func);
    for ev in &func.events {
        let Some((callee, _)) = crate_callee(index, func, ev) else {
            continue;
        };
        let Some(held) = summary.callbacks.get(&callee) else {
            continue;
        };
        let receiver = match ev.kind {
            EventKind::MethodCall => ev.receiver.as_ref().map(|p| p.text.clone()),
            _ => None,
        };
        for h in held {
            let at = if h.has_self && ev.kind == EventKind::MethodCall {
                h.param.checked_sub(1)
            } else {
                Some(h.param)
            };
            let Some(arg) = at.and_then(|i| ev.args.get(i)) else {
                continue;
            };
            let text = arg.text.trim_start_matches("move ");
            if !text.starts_with('|') {
                continue;
            }
            let field = h.lock.0.rsplit('.').next().unwrap_or(&h.lock.0);
            let lock_text = match (&receiver, h.on_self) {
                (Some(r), true) => format!("{r}.{field}"),
                _ => h.lock.0.clone(),
            };
            // The same lock object as the callee's: a static, or `R.field` for the receiver R.
            let same_place = |lock_text: &str| match (&receiver, h.on_self) {
                (Some(r), true) => lock_text == format!("{r}.{field}"),
                (_, false) => !h.lock.0.contains('.'),
                _ => false,
            };
            let inside = |e: &Event| {
                arg.region.contains(&e.region)
                    && e.closure_depth > ev.closure_depth
                    && !runs_elsewhere(func, e)
            };
            for a in &acqs {
                let e = a.event(func);
                if !inside(e) || a.is_try(func) || !same_place(&a.lock) {
                    continue;
                }
                let id = e.receiver.as_ref().and_then(|p| lock_id(index, func, p));
                if id.as_ref() == Some(&h.lock) {
                    out.push(CallbackRelock {
                        call: ev.id,
                        callee,
                        held: h.clone(),
                        inner: e.id,
                        taken: None,
                        lock_text: lock_text.clone(),
                    });
                }
            }
            for e in func.events.iter().filter(|e| inside(e)) {
                let Some((c, _)) = crate_callee(index, func, e) else {
                    continue;
                };
                let recv = e.receiver.as_ref().map(|p| p.text.as_str());
                for t in summary.of(c) {
                    let same = t.lock == h.lock
                        && match (h.on_self, &receiver) {
                            (true, Some(r)) => t.on_self && recv == Some(r.as_str()),
                            (false, _) => !h.lock.0.contains('.'),
                            _ => false,
                        };
                    if same {
                        out.push(CallbackRelock {
                            call: ev.id,
                            callee,
                            held: h.clone(),
                            inner: e.id,
                            taken: Some(t.clone()),
                            lock_text: lock_text.clone(),
                        });
                        break;
                    }
                }
            }
        }
    }
    out
}

/// A call of an in-crate function in `func`: the callee and whether it is a call on `self`.
pub fn crate_callee(index: &CrateIndex, func: &FnFacts, ev: &Event) -> Option<(FnKey, bool)> {
    if let Some(k) = drop_impl_run(index, func, ev) {
        return Some((k, false));
    }
    if !matches!(ev.kind, EventKind::MethodCall | EventKind::Call) {
        return None;
    }
    let keys = index.method_callees(func, ev);
    let on_self = match ev.kind {
        EventKind::MethodCall => ev.receiver.as_ref().is_some_and(|p| p.text == "self"),
        _ => ev.name.starts_with("Self::") && ev.args.first().is_some_and(|a| a.text == "self"),
    };
    match keys.as_slice() {
        [one] => Some((*one, on_self)),
        _ => None,
    }
}

/// Container methods that return the element they remove: when the caller discards the
/// result, the element is dropped on the spot (`self.conns.remove(&id);`,
/// `self.current.take();`).
const REMOVING: &[&str] = &[
    "remove",
    "take",
    "pop",
    "pop_front",
    "pop_back",
    "swap_remove",
];

/// Whether the method call `ev` drops elements of its receiver: a [`REMOVING`] call whose
/// result is discarded, or `clear()`/`truncate(n)`.
fn discards_elements(ev: &Event) -> bool {
    let name = ev.name.as_str();
    (REMOVING.contains(&name) && !ev.value_used) || name == "clear" || name == "truncate"
}

/// The crate's `Drop::drop` that `ev` runs, if any: `drop(x)` (or `mem::drop`) of a value
/// whose declared type is a crate type with a `Drop` impl, an assignment `place = v` that
/// drops the old value of a place of such a type, or a discarded removal from a place that
/// holds such values (`self.pending.remove(&id);`, `self.current.take();`, `clear()`). Drops
/// of bindings at scope end are [`scope_end_drops`].
pub fn drop_impl_run(index: &CrateIndex, func: &FnFacts, ev: &Event) -> Option<FnKey> {
    let place = match &ev.kind {
        EventKind::Call if ev.name == "drop" || ev.name.ends_with("mem::drop") => {
            ev.args.first()?.place.as_ref()?
        }
        EventKind::Assign { op: None } => ev.receiver.as_ref()?,
        EventKind::MethodCall if discards_elements(ev) => ev.receiver.as_ref()?,
        _ => return None,
    };
    let ty = index.type_of(func, place)?;
    if ev.kind == EventKind::MethodCall {
        // `self.registry.remove(id)` on a crate struct is that struct's own method; only a
        // container of values (`HashMap<Id, Conn>`, `Option<Ticket>`) drops an element.
        let outer = ty.trim_start_matches('&').trim_start_matches("mut ");
        let head = crate::analysis::last_segment(outer.split('<').next().unwrap_or(outer));
        if !outer.contains('<') || index.structs.contains_key(head.trim()) {
            return None;
        }
    }
    drop_impl_of(index, &ty)
}

/// A binding whose value a crate `Drop` impl drops at the end of its scope.
pub struct ScopeDrop<'f> {
    pub binding: &'f Binding,
    /// The crate's `Drop::drop` for its value.
    pub drop: FnKey,
    /// The last event of the binding's scope (after which it is dropped).
    pub last: EventId,
}

/// Bindings dropped at the end of their scope by a crate `Drop` impl: the value's type (the
/// annotation, or what the initializer returns: a crate function's return type, an element
/// removed from a container, `take()` of an `Option`) has one, and the
/// binding is not moved away first. Moved is judged conservatively: passed as an argument,
/// flowing into any other call's arguments, returned, put in a struct literal, or the receiver
/// of a method that is not a crate method taking `&self`/`&mut self`.
pub fn scope_end_drops<'f>(index: &CrateIndex, func: &'f FnFacts) -> Vec<ScopeDrop<'f>> {
    if !index.functions.contains_key("drop") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for b in &func.bindings {
        let Some(init) = b.init else {
            continue;
        };
        if b.name == "_" || b.field_of.is_some() {
            continue;
        }
        let ty = match &b.ty {
            Some(t) => Some(t.clone()),
            None => value_type(index, func, &func.events[init]),
        };
        let Some(drop) = ty.as_deref().and_then(|t| drop_impl_of(index, t)) else {
            continue;
        };
        let last = func
            .events
            .iter()
            .filter(|e| e.id > init && b.scope.contains(&e.region))
            .map(|e| e.id)
            .max()
            .unwrap_or(init);
        if func.returns.contains(&init)
            || func.field_inits.iter().any(|f| f.deps.contains(&init))
            || moved_after(index, func, b, init)
        {
            continue;
        }
        out.push(ScopeDrop {
            binding: b,
            drop,
            last,
        });
    }
    out
}

/// The type of the value `ev` produces, when the crate tells: a crate function's declared
/// return type, or an element taken from a container place (`self.q.pop_front()` of a
/// `VecDeque<Task>`), through `unwrap`/`expect`.
fn value_type(index: &CrateIndex, func: &FnFacts, ev: &Event) -> Option<String> {
    let mut e = ev;
    while PASS.contains(&e.name.as_str()) {
        let r = e.receiver_region?;
        e = func.events[..e.id].iter().rev().find(|x| x.region == r)?;
    }
    if e.kind == EventKind::MethodCall && REMOVING.contains(&e.name.as_str()) {
        return container_of(index, func, e);
    }
    let (callee, _) = crate_callee(index, func, e)?;
    let name = crate::analysis::last_segment(&e.name);
    let entry = index
        .functions
        .get(name)?
        .iter()
        .find(|f| f.key == callee)?;
    (entry.ret != "()").then(|| entry.ret.clone())
}

/// For a [`REMOVING`] call that takes an element out of a container place
/// (`lock.queue.pop_front()` of a `VecDeque<Task<S>>`): the container's declared type, which
/// names the element's type — a library container (generic, not a crate struct: a crate's own
/// `queue.pop()` is a crate method, resolved as calls are).
fn container_of(index: &CrateIndex, func: &FnFacts, e: &Event) -> Option<String> {
    if e.kind != EventKind::MethodCall || !REMOVING.contains(&e.name.as_str()) {
        return None;
    }
    let place = e.receiver.as_ref()?;
    let t = match index.type_of(func, place) {
        Some(t) => t,
        None => guard_local_type(index, func, place, e)?.into(),
    };
    let head = t.split('<').next().unwrap_or(&t).trim();
    let crate_type = index
        .structs
        .contains_key(crate::analysis::last_segment(head));
    (t.contains('<') && !crate_type).then(|| t.into_owned())
}

/// For a local holding a lock guard at `at` (`let mut lock = self.queue.lock().unwrap();`):
/// the type the lock guards (`Mutex<VecDeque<Task>>` → `VecDeque<Task>`).
fn guard_local_type<'a>(
    index: &'a CrateIndex,
    func: &'a FnFacts,
    place: &Place,
    at: &Event,
) -> Option<String> {
    if !matches!(place.root, Root::Local { .. }) || place.text.contains('.') {
        return None;
    }
    let b = func.binding_at(&place.text, &at.region)?;
    let init = b.init.filter(|i| *i < at.id)?;
    let lock = guard_source(func, &func.events[init])?;
    let ty = index.type_of(func, lock)?;
    guarded_type(&ty).map(str::to_string)
}

/// Whether the pattern binding `b` takes the value out of a std `Some(..)`/`Ok(..)` (`while
/// let Some(task) = queue.pop_front()`): its type is that of the value inside, which the
/// initializer tells, not a crate variant's field. A crate enum with a variant of that name
/// keeps the field's type.
fn unwraps_std_wrapper(index: &CrateIndex, b: &Binding) -> bool {
    let Some((path, field)) = &b.field_of else {
        return false;
    };
    matches!(path.as_str(), "Some" | "Ok")
        && field == "0"
        && !index.variant_fields.contains_key(path.as_str())
}

/// Whether binding `b` (initialized by event `init`) may be moved away in its scope.
fn moved_after(index: &CrateIndex, func: &FnFacts, b: &Binding, init: EventId) -> bool {
    func.events[init + 1..]
        .iter()
        .filter(|e| b.scope.contains(&e.region))
        .any(|e| {
            let named = |t: &str| t == b.name;
            if e.args.iter().any(|a| named(&a.text)) || e.data_deps.contains(&init) {
                return true;
            }
            let on_it = e
                .receiver
                .as_ref()
                .is_some_and(|p| named(&p.text) && matches!(p.root, Root::Local { .. }));
            if e.kind == EventKind::MethodCall && on_it {
                // A crate method on `&self`/`&mut self` borrows; anything else may consume.
                let borrows = crate_callee(index, func, e).is_some_and(|(k, _)| {
                    index
                        .functions
                        .get(crate::analysis::last_segment(&e.name))
                        .into_iter()
                        .flatten()
                        .any(|f| f.key == k && f.self_by_ref)
                });
                return !borrows;
            }
            matches!(e.kind, EventKind::Assign { .. }) && on_it
        })
}

/// The crate `Drop::drop` that dropping a value of type `ty` (as written) runs: the one crate
/// type with a `Drop` impl that `ty` names, when no `Arc`/`Rc`/reference stands in between.
fn drop_impl_of(index: &CrateIndex, ty: &str) -> Option<FnKey> {
    let drops = index.functions.get("drop")?;
    // The value's own type: its outermost crate type (`Handle`, `Option<Handle>`; not the
    // `T` of an `Arc<T>`, which drops only with the last reference).
    if ty.contains("Arc<") || ty.contains("Rc<") || ty.starts_with('&') {
        return None;
    }
    let words: Vec<&str> = ty
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    let mut found = drops
        .iter()
        .filter(|e| e.owner.as_deref().is_some_and(|o| words.contains(&o)));
    let one = found.next()?;
    found.next().is_none().then_some(one.key)
}

/// What the crate knows of the receiver of a method call ([`receiver_type`]).
#[derive(Debug, PartialEq, Eq)]
pub enum RecvType {
    /// Its type as written (or the type that names it).
    Known(String),
    /// The value of a call that is no crate function's (`xs.iter().position(..)`): a foreign
    /// type, whose methods are none of the crate's.
    Foreign,
    Unknown,
}

/// The type of the receiver of the method call `ev`, as far as the crate tells: its declared
/// type ([`CrateIndex::type_of`]; a pattern binding of a field, that field's); for a lock
/// guard (a binding holding one, or the acquisition chain itself:
/// `self.state.write().unwrap().insert(..)`) the lock's declared type, which names the
/// guarded struct; for the value of a crate method (`let state = self.state();`) that
/// method's return type (`MutexGuard<'_, BarState>`); for the value of a call that is no
/// crate function's, [`RecvType::Foreign`].
pub fn receiver_type(index: &CrateIndex, func: &FnFacts, ev: &Event) -> RecvType {
    let source = match &ev.receiver {
        Some(p) => {
            if let Root::Local { .. } = p.root {
                if let Some(b) = func.binding_at(&p.text, &ev.region) {
                    if unwraps_std_wrapper(index, b) {
                        // The value inside the initializer's `Option`/`Result`; a library
                        // call's value may hold a crate type (`v.first_mut()`): unknown.
                        return match b.init.filter(|i| *i < ev.id) {
                            Some(i) => match produced_type(index, func, i) {
                                RecvType::Foreign => RecvType::Unknown,
                                t => t,
                            },
                            None => RecvType::Unknown,
                        };
                    }
                    if b.field_of.is_some() {
                        let types = index.binding_field_types(b);
                        return match types.as_slice() {
                            [one] => RecvType::Known(one.to_string()),
                            _ => RecvType::Unknown,
                        };
                    }
                }
            }
            if let Some(t) = index.type_of(func, p) {
                return RecvType::Known(t.into_owned());
            }
            let Root::Local { .. } = p.root else {
                return RecvType::Unknown;
            };
            // Only an earlier event (`let x = x.step();` shadows: the new `x`'s own init is
            // not its receiver), which also bounds the recursion through the producer's
            // callees below.
            match func.binding_at(&p.text, &ev.region).and_then(|b| b.init) {
                Some(i) if i < ev.id => i,
                _ => return RecvType::Unknown,
            }
        }
        None => {
            let Some(r) = ev.receiver_region else {
                return RecvType::Unknown;
            };
            match func.events[..ev.id].iter().rev().find(|e| e.region == r) {
                Some(e) => e.id,
                None => return RecvType::Unknown,
            }
        }
    };
    produced_type(index, func, source)
}

/// The type of the value that event `source` produces, as far as the crate tells
/// ([`receiver_type`]).
fn produced_type(index: &CrateIndex, func: &FnFacts, source: EventId) -> RecvType {
    // Back through `unwrap`/`expect`/`.await` to the call that produced the value.
    let mut e = &func.events[source];
    while PASS.contains(&e.name.as_str()) {
        let found = e
            .receiver_region
            .and_then(|r| func.events[..e.id].iter().rev().find(|x| x.region == r));
        match found {
            Some(x) => e = x,
            None => return RecvType::Unknown,
        }
    }
    let name = e.name.as_str();
    if takes_guard(e) {
        return match e.receiver.as_ref().and_then(|p| index.type_of(func, p)) {
            Some(t) => RecvType::Known(t.into_owned()),
            None => RecvType::Unknown,
        };
    }
    if let Some(t) = container_of(index, func, e) {
        return RecvType::Known(t);
    }
    if !matches!(e.kind, EventKind::MethodCall | EventKind::Call) {
        return RecvType::Unknown;
    }
    // The call that produced the value, resolved as every call is ([`CrateIndex::method_callees`]).
    let rets: Vec<&str> = if e.kind == EventKind::MethodCall {
        let entries = index.method_entries(func, e);
        entries.into_iter().map(|f| f.ret.as_str()).collect()
    } else {
        let keys = index.callees(func, e);
        let entries = index.functions.get(crate::analysis::last_segment(name));
        // `callees` keeps the entries' order: one merge pass.
        let mut keys = keys.iter().peekable();
        let mut rets = Vec::new();
        for f in entries.into_iter().flatten() {
            if keys.peek() == Some(&&f.key) {
                keys.next();
                rets.push(f.ret.as_str());
            }
        }
        rets
    };
    match rets.as_slice() {
        [] => RecvType::Foreign,
        [one] if *one != "()" => RecvType::Known(one.to_string()),
        _ => RecvType::Unknown,
    }
}

impl LockSummary {
    /// Builds the summary of one crate; `files` in the order the index was built from.
    pub fn build(index: &CrateIndex, files: &[&crate::analysis::FileFacts]) -> LockSummary {
        let mut takes = direct_takes(index, files);
        let callbacks = held_callbacks(index, files);
        let getters = guard_getters(files, &takes);
        let fn_fields = fn_pointer_fields(index, files);
        let mut foreign = direct_foreign(index, &fn_fields, files);
        // A crate that locks nothing named has nothing to propagate.
        if !(takes.is_empty() && foreign.is_empty()) {
            let calls = crate_calls(index, &fn_fields, files);
            propagate_takes(&calls, &mut takes);
            propagate_foreign(&calls, &mut foreign);
        }
        LockSummary {
            takes,
            getters,
            callbacks,
            foreign,
            fn_fields,
        }
    }

    /// What `key` acquires (directly or through calls).
    pub fn of(&self, key: FnKey) -> &[Taken] {
        self.takes.get(&key).map_or(&[], Vec::as_slice)
    }
}

/// Each function's direct acquisitions ([`summarized_acquisitions`]).
fn direct_takes(
    index: &CrateIndex,
    files: &[&crate::analysis::FileFacts],
) -> HashMap<FnKey, Vec<Taken>> {
    let mut takes: HashMap<FnKey, Vec<Taken>> = HashMap::new();
    for (fi, facts) in files.iter().enumerate() {
        for (i, func) in facts.functions.iter().enumerate() {
            let key = FnKey { file: fi, func: i };
            for (a, lock, on_self) in summarized_acquisitions(index, func) {
                add(
                    takes.entry(key).or_default(),
                    Taken {
                        lock,
                        on_self,
                        writable: a.writable,
                        at: (key, a.event(func).region),
                        via: Vec::new(),
                    },
                );
            }
        }
    }
    takes
}

/// The callables each function runs while a guard is live ([`held_calls`]).
fn held_callbacks(
    index: &CrateIndex,
    files: &[&crate::analysis::FileFacts],
) -> HashMap<FnKey, Vec<HeldCall>> {
    let mut callbacks = HashMap::new();
    let mut by_name: HashMap<&str, Vec<(FnKey, &FnFacts)>> = HashMap::new();
    for (fi, facts) in files.iter().enumerate() {
        for (i, f) in facts.functions.iter().enumerate() {
            let key = FnKey { file: fi, func: i };
            by_name.entry(f.short_name()).or_default().push((key, f));
        }
    }
    for (fi, facts) in files.iter().enumerate() {
        for (i, func) in facts.functions.iter().enumerate() {
            let held = held_calls(index, func, &by_name);
            if !held.is_empty() {
                callbacks.insert(FnKey { file: fi, func: i }, held);
            }
        }
    }
    callbacks
}

/// Functions that return a guard of the one lock they take.
fn guard_getters(
    files: &[&crate::analysis::FileFacts],
    takes: &HashMap<FnKey, Vec<Taken>>,
) -> HashMap<FnKey, Taken> {
    let mut getters = HashMap::new();
    for (key, ts) in takes {
        let func = &files[key.file].functions[key.func];
        let returns_guard = func.ret.as_deref().is_some_and(|r| r.contains("Guard"));
        if let ([t], true) = (ts.as_slice(), returns_guard) {
            getters.insert(*key, t.clone());
        }
    }
    getters
}

/// Each function's direct foreign calls; a `dyn` callback parameter is the caller's own
/// closure, and a `dyn` trait parameter the caller's own object, so only the function that
/// calls it counts it (not its callers).
fn direct_foreign(
    index: &CrateIndex,
    fn_fields: &HashMap<String, Vec<FnKey>>,
    files: &[&crate::analysis::FileFacts],
) -> HashMap<FnKey, Vec<Foreign>> {
    let mut foreign: HashMap<FnKey, Vec<Foreign>> = HashMap::new();
    for (fi, facts) in files.iter().enumerate() {
        for (i, func) in facts.functions.iter().enumerate() {
            let key = FnKey { file: fi, func: i };
            if func.is_test {
                continue;
            }
            let mut mine: Vec<Foreign> = Vec::new();
            for ev in &func.events {
                let Some(kind) = foreign_call(index, fn_fields, func, ev) else {
                    continue;
                };
                // A `dyn` parameter's object is the caller's too (`register(callsite: &dyn
                // Callsite)`): counted where it is called, not in callers.
                let param_object = kind == ForeignKind::DynMethod
                    && ev.receiver.as_ref().is_some_and(|p| p.root == Root::Param);
                if kind == ForeignKind::DynCallback
                    || param_object
                    || runs_elsewhere(func, ev)
                    || mine.iter().any(|f| f.kind == kind)
                {
                    continue;
                }
                mine.push(Foreign {
                    kind,
                    text: foreign_text(ev),
                    at: (key, ev.region),
                    via: Vec::new(),
                });
            }
            if !mine.is_empty() {
                foreign.insert(key, mine);
            }
        }
    }
    foreign
}

/// The in-crate calls of each function: callee, whether on `self`, and the call's region
/// (calls that run elsewhere, such as spawned closures, left out).
fn crate_calls(
    index: &CrateIndex,
    fn_fields: &HashMap<String, Vec<FnKey>>,
    files: &[&crate::analysis::FileFacts],
) -> BTreeMap<FnKey, Vec<(FnKey, bool, Region)>> {
    let mut calls: BTreeMap<FnKey, Vec<(FnKey, bool, Region)>> = BTreeMap::new();
    for (fi, facts) in files.iter().enumerate() {
        for (i, func) in facts.functions.iter().enumerate() {
            let key = FnKey { file: fi, func: i };
            for ev in &func.events {
                if runs_elsewhere(func, ev) {
                    continue;
                }
                let callees: Vec<(FnKey, bool)> = match crate_callee(index, func, ev) {
                    Some(c) => vec![c],
                    None => stored_fn_targets(fn_fields, ev)
                        .map(|ks| ks.iter().map(|k| (*k, false)).collect())
                        .unwrap_or_default(),
                };
                for (callee, on_self) in callees {
                    if callee != key {
                        calls
                            .entry(key)
                            .or_default()
                            .push((callee, on_self, ev.region));
                    }
                }
            }
        }
    }
    calls
}

/// Plain `fn`-pointer fields whose every value the crate shows: every declaration of a field
/// of that name is a `fn(..)` / `unsafe fn(..)` pointer type (not a closure trait object,
/// which may capture anything), the crate's struct literals set it at least once, and each of
/// them stores a path naming crate functions (`expand: expand_with::<DB>`). Field name → those
/// functions. A call through such a field (`(driver.expand)(..)`) runs one of them, so it is
/// followed like a call of them, not counted as foreign code; a field set from anything else
/// (a parameter, a closure, a foreign function) stays foreign.
pub fn fn_pointer_fields(
    index: &CrateIndex,
    files: &[&crate::analysis::FileFacts],
) -> HashMap<String, Vec<FnKey>> {
    let is_fn_ptr = |ty: &str| {
        let t = ty.trim();
        let t = t.strip_prefix("unsafe ").unwrap_or(t).trim_start();
        t.starts_with("fn(") || t.starts_with("fn (")
    };
    let mut out: HashMap<String, Vec<FnKey>> = HashMap::new();
    let mut unknown: HashSet<String> = HashSet::new();
    for facts in files {
        for func in &facts.functions {
            for fi in &func.field_inits {
                if unknown.contains(&fi.field) {
                    continue;
                }
                let decls = index.fields.get(fi.field.as_str());
                if !decls.is_some_and(|ds| ds.iter().all(|d| is_fn_ptr(&d.ty))) {
                    continue;
                }
                let path = fi.text.split("::<").next().unwrap_or("").replace(' ', "");
                let plain = !path.is_empty()
                    && path
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == ':');
                let targets: Vec<FnKey> = if plain {
                    index
                        .functions
                        .get(crate::analysis::last_segment(&path))
                        .map(|es| es.iter().map(|e| e.key).collect())
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                if targets.is_empty() {
                    unknown.insert(fi.field.clone());
                    out.remove(&fi.field);
                    continue;
                }
                let mine = out.entry(fi.field.clone()).or_default();
                for t in targets {
                    if !mine.contains(&t) {
                        mine.push(t);
                    }
                }
            }
        }
    }
    out
}

/// The crate functions a call through a stored `fn` pointer (`(driver.expand)(..)`) may run,
/// when its field is one of `fn_fields` ([`fn_pointer_fields`]).
pub fn stored_fn_targets<'a>(
    fn_fields: &'a HashMap<String, Vec<FnKey>>,
    ev: &Event,
) -> Option<&'a [FnKey]> {
    if ev.kind != EventKind::Call {
        return None;
    }
    fn_fields.get(called_field(ev)?).map(Vec::as_slice)
}

/// The field a call through a field names (`f` of `(self.hooks.f)(..)`), if it is one.
fn called_field(ev: &Event) -> Option<&str> {
    let inner = ev.name.strip_prefix('(')?.strip_suffix(')')?;
    let (_, field) = inner.rsplit_once('.')?;
    Some(field.trim())
}

/// Whether the call through a field (`(self.filter)(item)`) calls a value of a type
/// parameter of the field's struct (`struct DrainFilter<T, F> { filter: F }`), in every
/// declaration of a field of that name: the closure the code that built the value passed in,
/// as a generic `F: FnMut` parameter is the caller's closure — code at the construction site,
/// not a callback stored for anyone to set.
fn generic_field_call(index: &CrateIndex, ev: &Event) -> bool {
    let Some(field) = called_field(ev) else {
        return false;
    };
    let decls = index.fields.get(field).map_or(&[][..], Vec::as_slice);
    !decls.is_empty()
        && decls.iter().all(|d| {
            index
                .structs
                .get(d.strukt.as_str())
                .is_some_and(|s| s.generics.iter().any(|g| *g == d.ty.trim()))
        })
}

/// Propagates acquisitions from callees to callers to a fixed point (bounded: every round
/// adds at least one new take, paths are at most 8 calls deep).
fn propagate_takes(
    calls: &BTreeMap<FnKey, Vec<(FnKey, bool, Region)>>,
    takes: &mut HashMap<FnKey, Vec<Taken>>,
) {
    for _ in 0..32 {
        let mut changed = false;
        for (caller, cs) in calls {
            for (callee, on_self, region) in cs {
                let Some(inner) = takes.get(callee).cloned() else {
                    continue;
                };
                let mine = takes.entry(*caller).or_default();
                for t in inner {
                    if t.via.len() >= 8 {
                        continue;
                    }
                    let mut via = vec![(*caller, *region)];
                    via.extend(t.via);
                    changed |= add(
                        mine,
                        Taken {
                            lock: t.lock,
                            on_self: t.on_self && *on_self,
                            writable: t.writable,
                            at: t.at,
                            via,
                        },
                    );
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// The same for foreign calls: a function reaches one when a callee does (the first found of
/// each kind, bounded like the takes).
fn propagate_foreign(
    calls: &BTreeMap<FnKey, Vec<(FnKey, bool, Region)>>,
    foreign: &mut HashMap<FnKey, Vec<Foreign>>,
) {
    for _ in 0..32 {
        let mut changed = false;
        for (caller, cs) in calls {
            for (callee, _, region) in cs {
                let Some(inner) = foreign.get(callee).cloned() else {
                    continue;
                };
                let mine = foreign.entry(*caller).or_default();
                for f in inner {
                    if f.via.len() >= 8 || mine.iter().any(|m| m.kind == f.kind) {
                        continue;
                    }
                    let mut f = f;
                    f.via.insert(0, (*caller, *region));
                    mine.push(f);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// Adds `t` unless an equivalent take (same lock, instance and mode) is there; whether added.
fn add(list: &mut Vec<Taken>, t: Taken) -> bool {
    if list
        .iter()
        .any(|o| o.lock == t.lock && o.on_self == t.on_self && o.writable == t.writable)
    {
        return false;
    }
    list.push(t);
    true
}

/// A lock taken while a guard is live, in one function: directly (`inner` is an acquisition of
/// the function) or through a call whose callee takes it ([`LockSummary`]).
#[derive(Clone, Debug)]
pub struct Nested {
    /// Index of the live guard's acquisition in [`Nesting::acqs`].
    pub outer: usize,
    /// The second acquisition, or the call that reaches it.
    pub at: EventId,
    /// `Some(i)`: the second acquisition is `acqs[i]`; `None`: it is `taken`, through the call.
    pub inner: Option<usize>,
    pub taken: Option<Taken>,
    /// Crate names of both locks, when they have one ([`lock_id`]).
    pub outer_id: Option<LockId>,
    pub inner_id: Option<LockId>,
    pub inner_writable: bool,
    /// The second acquisition blocks (not `try_*`).
    pub inner_blocks: bool,
    /// Both are the same lock object: the same place in the function, the same static, or the
    /// caller's `self.f` and a callee's `self.f` reached through calls on `self`.
    pub same: bool,
    /// For a lock taken by the `Drop` impl of a binding dropped at the end of its scope
    /// ([`scope_end_drops`]): the binding's name (`at` is its initializer).
    pub scope_end: Option<String>,
}

impl Nested {
    /// A lock taken through the call (or drop) at event `at`, whose callee takes `t`; `step`
    /// is this function's part of the path.
    fn through(
        outer: usize,
        at: EventId,
        outer_id: &Option<LockId>,
        t: &Taken,
        step: (FnKey, Region),
        same: bool,
    ) -> Nested {
        let mut t = t.clone();
        t.via.insert(0, step);
        Nested {
            outer,
            at,
            inner: None,
            outer_id: outer_id.clone(),
            inner_id: Some(t.lock.clone()),
            inner_writable: t.writable,
            inner_blocks: true,
            same,
            taken: Some(t),
            scope_end: None,
        }
    }
}

/// Every acquisition of a function and every lock taken while one of its guards is live.
#[derive(Debug)]
pub struct Nesting<'f> {
    pub acqs: Vec<Acq<'f>>,
    pub nested: Vec<Nested>,
}

impl<'f> Nesting<'f> {
    /// Computes the nesting of `func` (with key `key`). Reentrant locks and guards in spawned
    /// closures (other than the closure's own code) are left out.
    pub fn of(
        index: &CrateIndex,
        summary: &LockSummary,
        key: FnKey,
        func: &'f FnFacts,
    ) -> Nesting<'f> {
        let mut acqs = acquisitions(index, func);
        let mut nested = Vec::new();
        let mut ids: Vec<Option<LockId>> = acqs
            .iter()
            .map(|a| {
                let place = a.event(func).receiver.as_ref()?;
                lock_id(index, func, place)
            })
            .collect();
        let mut reentrant: Vec<bool> = acqs
            .iter()
            .map(|a| {
                a.event(func)
                    .receiver
                    .as_ref()
                    .is_some_and(|p| is_reentrant(index, func, p))
            })
            .collect();
        // Calls of guard getters acquire too: `self.state()` locks `self.state`,
        // `pb.state()` locks `pb.state`.
        for (a, id) in getter_acquisitions(index, summary, func) {
            acqs.push(a);
            ids.push(Some(id));
            reentrant.push(false);
        }
        // A deadlock in a test hangs the suite (which finds it), and tests of lock
        // implementations deadlock on purpose.
        if acqs.is_empty() || func.is_test {
            return Nesting { acqs, nested };
        }
        let scope_drops = scope_end_drops(index, func);
        for (o, outer) in acqs.iter().enumerate() {
            if reentrant[o] {
                continue;
            }
            let outer_ev = outer.event(func);
            let elsewhere =
                |ev: &Event| runs_elsewhere(func, ev) && !runs_elsewhere(func, outer_ev);
            for (i, inner) in acqs.iter().enumerate() {
                let ev = inner.event(func);
                // `let g = m.lock(); let g = m.lock();` is the walk's view of two
                // `#[cfg]`-alternative statements (cfg is not evaluated), never a real sequence.
                let rebinds = inner
                    .holders
                    .iter()
                    .any(|h| outer.holders.iter().any(|o| o.name == h.name))
                    && inner.lock == outer.lock;
                if reentrant[i]
                    || !held_at_in(func, outer, ev, index.edition)
                    || elsewhere(ev)
                    || rebinds
                {
                    continue;
                }
                nested.push(Nested {
                    outer: o,
                    at: ev.id,
                    inner: Some(i),
                    taken: None,
                    outer_id: ids[o].clone(),
                    inner_id: ids[i].clone(),
                    inner_writable: inner.writable,
                    inner_blocks: !inner.is_try(func) && !passed_as_argument(func, ev),
                    same: inner.lock == outer.lock,
                    scope_end: None,
                });
            }
            let outer_place = outer_ev.receiver.as_ref();
            let outer_static = outer_place.is_some_and(|p| p.root == Root::Static);
            let outer_self =
                outer.lock.starts_with("self.") && outer.lock.matches('.').count() == 1;
            for ev in func.events[outer.id + 1..].iter() {
                let drops = matches!(ev.kind, EventKind::Assign { op: None });
                if !(matches!(ev.kind, EventKind::MethodCall | EventKind::Call) || drops)
                    || acqs.iter().any(|a| a.id == ev.id)
                    || !held_at_in(func, outer, ev, index.edition)
                    || elsewhere(ev)
                    || moved_into(func, outer, ev)
                {
                    continue;
                }
                let Some((callee, on_self)) = crate_callee(index, func, ev) else {
                    continue;
                };
                if callee == key {
                    continue;
                }
                for t in summary.of(callee) {
                    let same = ids[o].as_ref() == Some(&t.lock)
                        && (outer_static || (outer_self && on_self && t.on_self));
                    nested.push(Nested::through(
                        o,
                        ev.id,
                        &ids[o],
                        t,
                        (key, ev.region),
                        same,
                    ));
                }
            }
            // Values dropped at the end of their scope while the guard is still live.
            let (ids, drops) = (&ids, &scope_drops);
            scope_end_nestings(
                index,
                summary,
                key,
                func,
                (o, outer),
                ids,
                drops,
                &mut nested,
            );
        }
        Nesting { acqs, nested }
    }
}

/// The acquisitions made by calls of guard getters ([`LockSummary::getters`]) in `func`, each
/// with the lock it takes: `self.state()` locks `self.state`, `pb.state()` locks `pb.state`.
fn getter_acquisitions<'f>(
    index: &CrateIndex,
    summary: &LockSummary,
    func: &'f FnFacts,
) -> Vec<(Acq<'f>, LockId)> {
    let mut out = Vec::new();
    if !summary.getters.is_empty() {
        for ev in &func.events {
            let Some(t) =
                crate_callee(index, func, ev).and_then(|(callee, _)| summary.getters.get(&callee))
            else {
                continue;
            };
            let field = t.lock.0.rsplit('.').next().unwrap_or(&t.lock.0);
            let lock = match &ev.receiver {
                Some(r) if t.on_self && ev.kind == EventKind::MethodCall => {
                    format!("{}.{field}", r.text)
                }
                _ => t.lock.0.clone(),
            };
            out.push((acquisition(func, ev, lock, t.writable), t.lock.clone()));
        }
    }
    out
}

/// The nestings of the guard `outer` (acquisition number `o`) with the values dropped at the
/// end of their scope while it is live: the binding is made under the guard and its scope ends
/// inside the guard's (a later `let` in the same block drops first), with no `drop(guard)`
/// before that end.
#[allow(clippy::too_many_arguments)]
fn scope_end_nestings(
    index: &CrateIndex,
    summary: &LockSummary,
    key: FnKey,
    func: &FnFacts,
    (o, outer): (usize, &Acq<'_>),
    ids: &[Option<LockId>],
    scope_drops: &[ScopeDrop],
    nested: &mut Vec<Nested>,
) {
    let outer_ev = outer.event(func);
    let outer_static = outer_ev
        .receiver
        .as_ref()
        .is_some_and(|p| p.root == Root::Static);
    let elsewhere = |ev: &Event| runs_elsewhere(func, ev) && !runs_elsewhere(func, outer_ev);
    for d in scope_drops {
        let init = d.binding.init.expect("scope drops have an initializer");
        let init_ev = &func.events[init];
        let guard_region = outer
            .temporary_scope(index.edition)
            .into_iter()
            .chain(outer.holders.iter().filter_map(|h| {
                (!dropped_between(func, &h.name, outer.id, d.last + 1)).then_some(h.scope)
            }))
            .find(|r| r.contains(&d.binding.scope));
        if init <= outer.id
            || guard_region.is_none()
            || !held_at_in(func, outer, init_ev, index.edition)
            || elsewhere(init_ev)
        {
            continue;
        }
        for t in summary.of(d.drop) {
            let same = ids[o].as_ref() == Some(&t.lock) && outer_static;
            let mut n = Nested::through(o, init, &ids[o], t, (key, d.binding.scope), same);
            n.scope_end = Some(d.binding.name.clone());
            nested.push(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{analyze_file, FileFacts};

    fn crate_of(src: &str) -> (FileFacts, CrateIndex<'static>) {
        let facts = analyze_file(&syn::parse_file(src).expect("test source parses"));
        let index = crate::index::leaked_index(&facts);
        (facts, index)
    }

    fn func<'a>(facts: &'a FileFacts, name: &str) -> (FnKey, &'a FnFacts) {
        let i = facts
            .functions
            .iter()
            .position(|f| f.name == name)
            .expect("function exists");
        (FnKey { file: 0, func: i }, &facts.functions[i])
    }

    const HEAD: &str = "use std::sync::{Mutex, RwLock};
        struct Bank { state: Mutex<u32>, log: Mutex<Vec<u32>>, limits: RwLock<u32> }
        static TOTAL: Mutex<u32> = Mutex::new(0);\n";

    /// (outer line, inner event line, same) for every nesting of `name`.
    fn nested(src: &str, name: &str) -> Vec<(usize, usize, bool)> {
        let src = format!("{HEAD}{src}");
        let (facts, index) = crate_of(&src);
        let summary = LockSummary::build(&index, &[&facts]);
        let (key, f) = func(&facts, name);
        let n = Nesting::of(&index, &summary, key, f);
        n.nested
            .iter()
            .map(|x| {
                let o = n.acqs[x.outer].event(f).region.line;
                (o, f.events[x.at].region.line, x.same)
            })
            .collect()
    }

    #[test]
    fn bound_guard_is_live_to_scope_end_unless_dropped() {
        let got = nested(
            "impl Bank { fn f(&self) {
                let g = self.state.lock().unwrap();
                let h = self.state.lock().unwrap();
                drop(g);
                let k = self.state.lock().unwrap();
            } }",
            "Bank::f",
        );
        // line numbers: HEAD has 3 lines, so `fn f` is on 4.
        assert_eq!(got, [(5, 6, true), (6, 8, true)]);
    }

    #[test]
    fn discarded_guards_end_at_once_and_named_ones_at_scope_end() {
        // `let _ = m.lock()` binds nothing: the guard is dropped at the end of the statement.
        // `let _g = m.lock()` lives to the end of its block; a guard of an inner block ends
        // with that block.
        let got = nested(
            "impl Bank { fn f(&self) {
                let _ = self.state.lock().unwrap();
                let n = *self.state.lock().unwrap();
                {
                    let _g = self.log.lock().unwrap();
                }
                let _h = self.log.lock().unwrap();
                let m = self.log.lock().unwrap().len();
            } }",
            "Bank::f",
        );
        assert_eq!(got, [(10, 11, true)]);
    }

    #[test]
    fn scrutinee_temporaries_live_through_the_arms() {
        let got = nested(
            "impl Bank { fn f(&self) {
                match *self.state.lock().unwrap() {
                    0 => { self.state.lock().unwrap(); }
                    _ => {}
                }
                self.state.lock().unwrap();
                let n = *self.state.lock().unwrap();
                self.state.lock().unwrap();
            } }",
            "Bank::f",
        );
        assert_eq!(got, [(5, 6, true)]);
    }

    #[test]
    fn if_let_else_depends_on_the_edition() {
        let src = format!(
            "{HEAD}impl Bank {{ fn f(&self) {{
                if let Some(x) = self.log.lock().unwrap().first().copied() {{
                    self.log.lock().unwrap();
                }} else {{
                    self.log.lock().unwrap();
                }}
            }} }}"
        );
        let (facts, index) = crate_of(&src);
        let (_, f) = func(&facts, "Bank::f");
        let acqs = acquisitions(&index, f);
        let (first, then, els) = (&acqs[0], acqs[1].event(f), acqs[2].event(f));
        assert!(held_at_in(f, first, then, Edition::E2021));
        assert!(held_at_in(f, first, then, Edition::E2024));
        assert!(held_at_in(f, first, els, Edition::E2021));
        assert!(!held_at_in(f, first, els, Edition::E2024));
    }

    #[test]
    fn nesting_follows_the_package_edition() {
        // Rust 2024 drops an `if let` scrutinee's temporaries before the `else` block.
        let src = format!(
            "{HEAD}impl Bank {{ fn f(&self) {{
                if let Some(x) = self.log.lock().unwrap().first().copied() {{
                    drop(x);
                }} else {{
                    self.log.lock().unwrap();
                }}
            }} }}"
        );
        let (facts, mut index) = crate_of(&src);
        let summary = LockSummary::build(&index, &[&facts]);
        let (key, f) = func(&facts, "Bank::f");
        assert_eq!(Nesting::of(&index, &summary, key, f).nested.len(), 1);
        index.edition = Edition::of(Some("2024"));
        assert!(Nesting::of(&index, &summary, key, f).nested.is_empty());
        assert_eq!(Edition::of(Some("2018")), Edition::E2021);
        assert_eq!(Edition::of(None), Edition::E2021);
    }

    #[test]
    fn statement_temporaries_live_through_the_arguments() {
        let got = nested(
            "impl Bank { fn f(&self) {
                self.log.lock().unwrap().push(*self.state.lock().unwrap());
                self.log.lock().unwrap().push(self.total());
            }
            fn total(&self) -> u32 { *self.log.lock().unwrap() } }",
            "Bank::f",
        );
        assert_eq!(got, [(5, 5, false), (6, 6, true)]);
        let nested_self = nested(
            "impl Bank { fn f(&self) { let g = self.log.lock().unwrap(); self.total(); }
             fn total(&self) -> u32 { self.inner() } fn inner(&self) -> u32 { *self.log.lock().unwrap() } }",
            "Bank::f",
        );
        assert_eq!(nested_self, [(4, 4, true)]);
    }

    #[test]
    fn fn_pointer_fields_hold_only_crate_functions() {
        let src = "use std::sync::Mutex;
            pub struct Driver { expand: fn(&str) -> String }
            pub struct Plugin { run: fn(u32) -> u32 }
            pub struct Hook { call: Box<dyn Fn()> }
            static M: Mutex<u32> = Mutex::new(0);
            fn expand_with<const N: usize>(s: &str) -> String { *M.lock().unwrap() += 1; s.into() }
            fn make() -> Driver { Driver { expand: expand_with::<1> } }
            fn plugin(run: fn(u32) -> u32) -> Plugin { Plugin { run } }
            fn hook() -> Hook { Hook { call: Box::new(|| ()) } }
            fn go(d: &Driver) -> String { (d.expand)(\"x\") }";
        let (facts, index) = crate_of(src);
        let fields = fn_pointer_fields(&index, &[&facts]);
        let (target, _) = func(&facts, "expand_with");
        // `expand` is a dispatch table; `run` is set from a parameter; `call` is a closure.
        assert_eq!(fields.get("expand"), Some(&vec![target]));
        assert!(!fields.contains_key("run") && !fields.contains_key("call"));
        // A call through it is a crate call: `go` takes `M` through `expand_with`.
        let summary = LockSummary::build(&index, &[&facts]);
        let (go, _) = func(&facts, "go");
        let taken: Vec<&str> = summary.of(go).iter().map(|t| t.lock.0.as_str()).collect();
        assert_eq!(taken, ["M"]);
    }

    #[test]
    fn open_trait_objects_are_foreign_through_their_wrappers() {
        let src = "use std::sync::{Arc, Weak};
            pub trait Subscriber { fn register_callsite(&self, n: u32) -> bool; }
            pub trait Closed: private::Sealed { fn go(&self); }
            pub(crate) trait Codec { fn encode(&self) -> u32; }
            pub struct NoSubscriber;
            impl Subscriber for NoSubscriber { fn register_callsite(&self, _: u32) -> bool { false } }
            pub struct Dispatch { subscriber: Arc<dyn Subscriber + Send + Sync> }
            impl Dispatch {
                fn register_callsite(&self, n: u32) -> bool { self.subscriber.register_callsite(n) }
                fn handle(&self) -> Arc<dyn Subscriber + Send + Sync> { self.subscriber.clone() }
            }
            fn outer(d: &Dispatch) -> bool { d.register_callsite(1) }
            pub struct Registrar(Weak<dyn Subscriber + Send + Sync>);
            impl Registrar {
                fn try_register(&self) -> Option<bool> {
                    self.0.upgrade().map(|s| s.register_callsite(3))
                }
            }
            fn param(s: &'static dyn Subscriber) -> bool { s.register_callsite(2) }
            fn sealed(s: &dyn Closed) { s.go(); }
            fn private(c: Box<dyn Codec>) -> u32 { c.encode() }
            fn std_object(e: &dyn std::error::Error) -> String { e.to_string() }
            fn weak(w: Weak<dyn Subscriber>) { w.upgrade(); }";
        let (facts, index) = crate_of(src);
        let summary = LockSummary::build(&index, &[&facts]);
        let found = |name: &str| -> Vec<(ForeignKind, String, usize)> {
            let (key, _) = func(&facts, name);
            let found = summary.foreign.get(&key).into_iter().flatten();
            found
                .map(|f| (f.kind, f.text.clone(), f.via.len()))
                .collect()
        };
        let call = |text: &str, via| vec![(ForeignKind::DynMethod, text.to_string(), via)];
        // The wrapper's field holds any subscriber, `NoSubscriber` or another crate's.
        let wrapped = "self.subscriber.register_callsite";
        assert_eq!(found("Dispatch::register_callsite"), call(wrapped, 0));
        assert_eq!(found("outer"), call(wrapped, 1));
        // Through a `Weak`'s pointee, as tracing-core's `Registrar` calls its subscriber.
        let pointee = "self.0[].register_callsite";
        assert_eq!(found("Registrar::try_register"), call(pointee, 0));
        // A `dyn` parameter is the caller's object (counted only under a guard in `param`);
        // `Arc::clone`, a sealed or crate-private trait, std's `Error`, a `Weak`: none.
        let none = [
            "param",
            "Dispatch::handle",
            "sealed",
            "private",
            "std_object",
            "weak",
        ];
        for name in none {
            assert_eq!(found(name), [], "{name}");
        }
        assert_eq!(object_trait("&'static dyn Callsite"), Some("Callsite"));
        assert_eq!(object_trait("&mut dyn a::Visit<'_>"), Some("Visit"));
        assert_eq!(
            object_trait("std::boxed::Box<dyn Hook + Send>"),
            Some("Hook")
        );
        assert_eq!(object_trait("Option<Box<dyn Hook>>"), None);
        assert_eq!(object_trait("Vec<Arc<dyn Hook>>"), None);
        assert_eq!(element_type("Vec<Box<dyn L + Send>>"), "Box<dyn L + Send>");
        assert_eq!(element_type("HashMap<u64, Arc<dyn L>>"), "Arc<dyn L>");
        assert_eq!(
            element_type("std::sync::Weak<dyn S + Send + Sync>"),
            "dyn S + Send + Sync"
        );
        assert_eq!(element_type("&[Box<dyn L>]"), "Box<dyn L>");
    }

    #[test]
    fn summary_follows_self_calls_and_keeps_instances_apart() {
        let src = format!(
            "{HEAD}impl Bank {{
                fn a(&self) {{ self.b(); }}
                fn b(&self) {{ *self.state.lock().unwrap() += 1; *TOTAL.lock().unwrap() += 1; }}
                fn c(&self, other: &Bank) {{ other.b(); }}
                fn d(&self) {{ self.state.try_lock(); }}
            }}"
        );
        let (facts, index) = crate_of(&src);
        let summary = LockSummary::build(&index, &[&facts]);
        let names = |name: &str| {
            let (key, _) = func(&facts, name);
            let mut v: Vec<(String, bool, usize)> = summary
                .of(key)
                .iter()
                .map(|t| (t.lock.0.clone(), t.on_self, t.via.len()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            names("Bank::a"),
            [("Bank.state".into(), true, 1), ("TOTAL".into(), false, 1)]
        );
        assert_eq!(
            names("Bank::c"),
            [("Bank.state".into(), false, 1), ("TOTAL".into(), false, 1)]
        );
        assert!(names("Bank::d").is_empty());
    }

    #[test]
    fn spawned_closures_and_reentrant_locks_do_not_nest() {
        let got = nested(
            "impl Bank { fn f(&self, r: &parking_lot::ReentrantMutex<u32>) {
                let g = self.state.lock().unwrap();
                std::thread::spawn(move || { TOTAL.lock().unwrap(); });
                let a = r.lock();
                let b = r.lock();
                self.state.try_lock();
            } }",
            "Bank::f",
        );
        // Only the try_lock nests (and it does not block).
        assert_eq!(got, [(5, 9, true)]);
    }

    #[test]
    fn lock_ids_name_the_owner_type() {
        let src = format!(
            "{HEAD}struct Other {{ state: Mutex<u8> }}
             impl Bank {{ fn f(&self, acct: &Bank, o: &Other) {{ self.state.lock(); acct.state.lock(); o.state.lock(); TOTAL.lock(); self.log.lock(); }} }}"
        );
        let (facts, index) = crate_of(&src);
        let (_, f) = func(&facts, "Bank::f");
        let ids: Vec<String> = acquisitions(&index, f)
            .iter()
            .map(|a| {
                lock_id(&index, f, a.event(f).receiver.as_ref().unwrap())
                    .map_or("-".into(), |l| l.0)
            })
            .collect();
        assert_eq!(
            ids,
            [
                "Bank.state",
                "Bank.state",
                "Other.state",
                "TOTAL",
                "Bank.log"
            ]
        );
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
    fn a_drop_in_a_branch_that_returns_leaves_the_guard_held_after_it() {
        // `map_err(..)?` and `ok()?` pass the guard on; the `drop` in the returning branch ends
        // it only there (mark 1), the code after the branch still holds it (mark 2), and a
        // `drop` in a branch that falls through ends it for what follows (mark 4).
        let src = format!(
            "{BANK}impl Bank {{ fn f(&self, q: &mut Vec<u8>) -> Result<(), E> {{ \
             let g = self.state.lock().map_err(|_| E)?; \
             if q.is_empty() {{ drop(g); mark(); return Ok(()); }} mark(); \
             if q.len() > 2 {{ drop(g); mark(); }} mark(); Ok(()) }} \
             fn h(&self) -> Option<()> {{ let g = self.state.lock().ok()?; mark(); None }} }}"
        );
        assert_eq!(held_at_marks(&src, "Bank::f"), [false, true, false, false]);
        assert_eq!(held_at_marks(&src, "Bank::h"), [true]);
        let (facts, index) = crate_of(&src);
        let f = facts
            .functions
            .iter()
            .find(|f| f.name == "Bank::f")
            .unwrap();
        let guards = Guards::of(&index, f);
        let marks: Vec<&Event> = f.events.iter().filter(|e| e.name == "mark").collect();
        assert!(guards.live_across(marks[1], marks[1]));
        assert!(!guards.live_across(marks[1], marks[3]));
    }

    #[test]
    fn a_match_that_only_unwraps_the_lock_result_binds_the_guard() {
        // `match m.lock() { Ok(g) => g, Err(_) => return }` is `?` written out: the guard
        // lives in `lock` (mark 1); a match that computes from the guard binds no guard
        // (mark 2 after it is free).
        let src = format!(
            "{BANK}impl Bank {{ fn f(&self) {{ let mut lock = match self.state.lock() {{ \
             Err(_) if std::thread::panicking() => return, Err(_) => panic!(\"poisoned\"), \
             Ok(lock) => lock }}; mark(); }} \
             fn g(&self) {{ let n = match self.state.lock() {{ Ok(g) => *g + 1, Err(_) => return }}; \
             mark(); }} }}"
        );
        assert_eq!(held_at_marks(&src, "Bank::f"), [true]);
        assert_eq!(held_at_marks(&src, "Bank::g"), [false]);
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

    #[test]
    fn a_for_loops_iterable_temporaries_live_through_the_loop() {
        // The guard in the iterable lives through the body (line 6); collected into a `Vec`
        // first (line 8), it ends with that statement and the loop on line 9 is free.
        let got = nested(
            "impl Bank { fn f(&self) {
                for x in self.log.lock().unwrap().iter() {
                    self.log.lock().unwrap().push(*x);
                }
                let xs: Vec<u32> = self.log.lock().unwrap().iter().copied().collect();
                for x in xs { self.log.lock().unwrap().push(x); }
                for i in 0..*self.state.lock().unwrap() { self.log.lock().unwrap().push(i); }
            } }",
            "Bank::f",
        );
        assert_eq!(got, [(5, 6, true), (10, 10, false)]);
    }

    #[test]
    fn locks_inside_local_macros_are_taken_where_the_macro_is_invoked() {
        // `send!` expands to `remove!`, which write-locks the map while the loop's read guard
        // is live (line 8, the invocation); the invocation after the loop holds nothing.
        let got = nested(
            "macro_rules! remove { ($s:expr, $k:expr) => { $s.write().unwrap(); drop($k); } }
            macro_rules! send { ($s:expr, $k:expr, $m:expr) => {
                if let Err(_) = $m.send($k) { remove!($s, $k); }
            } }
            impl Bank { fn f(&self, out: Out) {
                for k in self.limits.read().unwrap().iter() {
                    send!(self.limits, *k, out);
                }
                send!(self.limits, 0, out);
            } }",
            "Bank::f",
        );
        assert_eq!(got, [(9, 10, true)]);
    }

    #[test]
    fn statics_of_lazy_static_and_lazy_cells_are_locks() {
        // `lazy_static!` statics and `Lazy<..>` / `LazyLock<..>` statics of a lock type are
        // locks named by the static; the plain `Lazy<Vec<..>>` is not.
        let src = format!(
            "{HEAD}lazy_static! {{ pub static ref REG: Mutex<Vec<u32>> = Mutex::new(Vec::new()); }}
            static CELL: once_cell::sync::Lazy<RwLock<u32>> = Lazy::new(|| RwLock::new(0));
            static L: std::sync::LazyLock<Mutex<u8>, fn() -> Mutex<u8>> = LazyLock::new(f);
            static V: Lazy<Vec<u32>> = Lazy::new(Vec::new);
            fn h() {{
                let g = REG.lock().unwrap();
                let r = CELL.read().unwrap();
                let l = L.lock().unwrap();
                let v = V.lock().unwrap();
            }}"
        );
        let (facts, index) = crate_of(&src);
        let (_, f) = func(&facts, "h");
        let locks: Vec<String> = acquisitions(&index, f)
            .iter()
            .map(|a| a.lock.clone())
            .collect();
        assert_eq!(locks, ["REG", "CELL", "L"]);
        let ids: Vec<Option<String>> = f
            .events
            .iter()
            .filter_map(|e| e.receiver.as_ref())
            .map(|p| lock_id(&index, f, p).map(|l| l.0))
            .collect();
        let named = |s: &str| Some(s.to_string());
        assert_eq!(ids, [named("REG"), named("CELL"), named("L"), None]);
    }

    #[test]
    fn a_local_built_as_an_arc_of_a_lock_is_a_lock() {
        // `Arc::new(RwLock::new(..))` without an annotation: the nested constructors name
        // the type. `Arc::new(Handle::new())` is no lock, whatever its methods are called.
        let src = format!(
            "{HEAD}fn g() {{
                let state = Arc::new(RwLock::new(Sessions::new()));
                let n = std::sync::Arc::new(Mutex::new(0));
                let h = Arc::new(Handle::new());
                state.read().unwrap();
                n.lock().unwrap();
                h.lock();
            }}"
        );
        let (facts, index) = crate_of(&src);
        let (_, f) = func(&facts, "g");
        let locks: Vec<String> = acquisitions(&index, f)
            .iter()
            .map(|a| a.lock.clone())
            .collect();
        assert_eq!(locks, ["state", "n"]);
    }

    #[test]
    fn guards_of_a_macros_own_code_end_inside_its_expansion() {
        // `let _ = m.lock()` in the transcriber's loop is not live at the next iteration's
        // lock (its statement is the whole expansion, with no end of its own inside it); the
        // outer guard `g` is live at the second invocation (line 9).
        let got = nested(
            "macro_rules! spin { ($m:expr, $n:expr) => {
                for _ in 0..$n { let _ = $m.lock().unwrap(); let _ = $m.lock().unwrap(); }
            } }
            impl Bank { fn f(&self) {
                spin!(self.state, 3);
                let g = self.state.lock().unwrap();
                spin!(self.state, 1);
            } }",
            "Bank::f",
        );
        assert_eq!(got, [(9, 10, true), (9, 10, true)]);
    }
}
