//! Per-function facts: the one pass over each function body that every rule queries.
//!
//! For each function (free fn, method, trait default method, nested fn) we record, in
//! evaluation order, an [`Event`] for every call, method call, macro call and assignment,
//! together with a small def-use relation over `let` bindings:
//!
//! * `data_deps` — the earlier events whose *values* flow into the event's arguments or
//!   receiver (through `let`, shadowing, arithmetic, field access, method chains, destructuring,
//!   closures, `?` and `.await`);
//! * `control_deps` — the earlier events whose values decide whether the event runs at all:
//!   enclosing `if`/`match`/`while` conditions, and conditions of earlier `if`s in the same
//!   block that leave the block (`if v < amount { return Err(..) }`), and `let … else`.
//!
//! Receivers are normalized to [`Place`]s (`self.balance`, `ACCOUNT`, `acct.balance`); a
//! `let b = &self.balance` (or an `Arc::clone`/`.clone()` of a place) is an alias, so `b.load()`
//! has receiver `self.balance`; so are `unsafe { &*p }` and `unsafe { xs.get_unchecked(i) }`
//! (receiver `xs[]`, like `xs[i]`).
//!
//! Rules never walk syntax trees themselves: they query these facts.

pub mod accessors;
pub mod atomics;
pub mod db;
mod deps;
pub mod locks;
mod macros;
pub mod outcome;
mod query;
mod region;
mod span;
pub mod test_code;
mod walk;

use crate::finding::Region;
use serde::{Deserialize, Serialize};

pub use deps::Deps;
pub use query::{last_segment, last_separator};
pub use walk::analyze_file;

// Every fact type derives `Serialize, Deserialize`: the result cache (`src/cache.rs`) stores
// each file's `FileFacts` and rebuilds the index from them. New types and fields need the
// derives too (a field that cannot be serialized would break the cache build).

/// Index of an [`Event`] in [`FnFacts::events`].
pub type EventId = usize;

/// Memory orderings named in an argument (`Ordering::Relaxed`, or a bare `Relaxed` import).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemOrdering {
    Relaxed,
    Acquire,
    Release,
    AcqRel,
    SeqCst,
}

impl MemOrdering {
    pub fn from_ident(s: &str) -> Option<MemOrdering> {
        Some(match s {
            "Relaxed" => MemOrdering::Relaxed,
            "Acquire" => MemOrdering::Acquire,
            "Release" => MemOrdering::Release,
            "AcqRel" => MemOrdering::AcqRel,
            "SeqCst" => MemOrdering::SeqCst,
            _ => return None,
        })
    }
}

/// What a place is rooted at; decides whether it can be shared between threads.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Root {
    /// `self.…`
    SelfValue,
    /// A `static`/`const` or any path with `::` or an UPPER_CASE name.
    Static,
    /// A function parameter.
    Param,
    /// A local binding; `init` is the constructor path of its initializer when it was a call
    /// (`AtomicUsize::new`, `Arc::new`), `ty` its annotated type, both as written — or, for an
    /// unannotated `Arc::new(Mutex::new(..))`, the type the nested constructors build
    /// (`Arc<Mutex<_>>`).
    Local {
        init: Option<String>,
        ty: Option<String>,
    },
    /// A temporary (method call result, literal, …).
    Temporary,
}

/// A normalized receiver or assignment target.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Place {
    /// `self.balance`, `ACCOUNT`, `acct.balance`, `self.slots[]` (indices erased).
    pub text: String,
    pub root: Root,
}

impl Place {
    /// Whether the place may be reachable from another thread: fields of `self` or of a
    /// parameter, statics, and locals built inside an `Arc`/`Rc` or of unknown origin. A local
    /// built directly by a constructor such as `AtomicUsize::new(0)` is not shared.
    pub fn maybe_shared(&self) -> bool {
        match &self.root {
            Root::SelfValue | Root::Static | Root::Param => true,
            Root::Temporary => false,
            Root::Local { init, ty } => {
                let arc = |s: &String| s.contains("Arc") || s.contains("Rc") || s.contains('&');
                if ty.as_ref().is_some_and(arc) || init.as_ref().is_some_and(arc) {
                    return true;
                }
                // Built in place by a constructor: owned by this function.
                !(init
                    .as_ref()
                    .is_some_and(|i| i.ends_with("::new") || i.ends_with("::default"))
                    || ty.is_some())
            }
        }
    }
}

/// One argument of a call.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Arg {
    pub region: Region,
    /// Events whose values flow into this argument.
    pub deps: Deps,
    /// Set when the argument names a memory ordering.
    pub ordering: Option<MemOrdering>,
    /// The value when the argument is a string literal (or a raw string).
    pub str_lit: Option<String>,
    /// The value when the argument is an integer literal.
    pub int_lit: Option<u128>,
    /// The argument as a normalized place, when it is one (`&self.key` → `self.key`, `key`).
    pub place: Option<Place>,
    /// Rendered tokens of the argument (whitespace-normalized), for messages and key matching.
    pub text: String,
    /// Field reads in the argument (outermost field-access chains, normalized like receivers:
    /// `e.ts`, `self.entry.written_at`; a base that is no place gives a [`Root::Temporary`]
    /// place whose text ends in `.field`). The body of a closure argument counts (`|e| e.ts`),
    /// closures nested deeper do not. A local bound by `let x = <expr>` carries the field
    /// reads of `<expr>` (`let exp = claims.exp; f(exp)` → `claims.exp`).
    pub fields: Vec<Place>,
    /// When the argument is a tuple `(a, b, ..)` (behind `&`/parentheses): each element.
    pub tuple_elems: Vec<Operand>,
}

/// One side of a [`Comparison`] or an element of a tuple argument.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Operand {
    pub region: Region,
    /// Rendered tokens (whitespace-normalized).
    pub text: String,
    /// Events whose values flow into the operand.
    pub deps: Deps,
    /// The operand as a normalized place, when it is one.
    pub place: Option<Place>,
    /// Field reads in the operand, as in [`Arg::fields`] (closures inside not counted).
    pub fields: Vec<Place>,
}

/// An ordering comparison `a < b`, `a > b`, `a <= b`, `a >= b`. Binary operators are not
/// events; comparisons are recorded here, in evaluation order. (`a.cmp(&b)`, `max(a, b)` are
/// ordinary call events.)
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Comparison {
    /// `"<"`, `">"`, `"<="` or `">="`.
    pub op: String,
    /// The whole comparison expression.
    pub region: Region,
    pub lhs: Operand,
    pub rhs: Operand,
    /// Number of events recorded before the comparison is evaluated (those of both operands
    /// included).
    pub after: EventId,
    pub closure_depth: usize,
}

/// What kind of syntax an event came from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `recv.method(args)`; `Event::name` is the method.
    MethodCall,
    /// `path(args)`; `Event::name` is the path as written (`std::thread::sleep`, `Utc::now`).
    Call,
    /// `name!(args)`; args are parsed best-effort as comma-separated expressions.
    Macro,
    /// `target = value` or `target op= value` (`op` like `"+="`); `Event::receiver` is the target
    /// place and `args[0]` the value.
    Assign { op: Option<String> },
}

/// One evaluation step in a function body.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Event {
    pub id: EventId,
    pub kind: EventKind,
    pub name: String,
    /// The whole expression.
    pub region: Region,
    /// The method name (or the path's last segment) region, good for a primary label.
    pub name_region: Region,
    /// Normalized receiver (method calls) or target (assignments).
    pub receiver: Option<Place>,
    /// Region of the receiver expression.
    pub receiver_region: Option<Region>,
    /// Events whose values the receiver expression depends on (e.g. the `lock()` that
    /// produced a guard, the `get()` that produced an entry).
    pub receiver_deps: Deps,
    pub args: Vec<Arg>,
    /// Events whose values flow into this event's arguments (not counting the receiver).
    pub data_deps: Deps,
    /// Events whose values decide whether this event runs.
    pub control_deps: Deps,
    /// Enclosing loops (indices into [`FnFacts::loops`]), outermost first.
    pub loops: Vec<usize>,
    /// Depth of closures/async blocks around the event (0 = the function body itself).
    pub closure_depth: usize,
    /// Set when the event's own value is used: bound, passed on, returned, tested.
    pub value_used: bool,
    /// `.await` directly applied to this event's value.
    pub awaited: bool,
}

impl Event {
    /// The memory orderings among the arguments, in order.
    pub fn orderings(&self) -> Vec<MemOrdering> {
        self.args.iter().filter_map(|a| a.ordering).collect()
    }

    /// Whether this is `.name(..)` with exactly `n` arguments.
    pub fn is_method(&self, name: &str, n: usize) -> bool {
        self.kind == EventKind::MethodCall && self.name == name && self.args.len() == n
    }

    /// Whether the event depends (by data or control) on `other`.
    pub fn depends_on(&self, other: EventId) -> bool {
        self.data_deps.contains(&other) || self.control_deps.contains(&other)
    }
}

/// Kind of loop.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopKind {
    Loop,
    While,
    For,
}

/// A loop in a function body.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct LoopInfo {
    pub kind: LoopKind,
    pub region: Region,
    /// Events whose values the loop condition (`while`) or iterator (`for`) depends on.
    pub header_deps: Deps,
    /// Region of the `while` condition / `for` iterator expression.
    pub header_region: Option<Region>,
    /// Rendered tokens of the header (for `for attempt in 0..5`: `0 .. 5`).
    pub header_text: String,
    /// Number of `break`/`return` exits inside the loop (not counting nested loops' breaks).
    pub exits: usize,
    /// Events whose values decide whether one of those exits is taken (the conditions around
    /// each `break`/`return`: `loop { if flag.load(..) { break; } }` → the `load`).
    pub exit_deps: Deps,
}

/// A dereference `*e` in a function body. The walk does not know types, so `e` may be a raw
/// pointer, a reference or a smart pointer; `deps` tells where the pointer came from.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Deref {
    /// The whole `*e` expression.
    pub region: Region,
    /// Events whose values flow into `e` (e.g. the `load` of an `AtomicPtr`).
    pub deps: Deps,
    /// Number of events recorded before the dereference happens: it evaluates after
    /// `events[..after]` (including those of `e` itself) and before `events[after..]`.
    pub after: EventId,
    /// Events whose values decide whether the dereference runs.
    pub control_deps: Deps,
    /// Enclosing loops (indices into [`FnFacts::loops`]), outermost first.
    pub loops: Vec<usize>,
    pub closure_depth: usize,
    /// Whether it is (inside) an assignment target: `*p = v`, `(*p).len += 1`.
    pub is_write: bool,
}

/// A field initialized in a struct literal: `Entry { written_at: now(), .. }`.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct FieldInit {
    /// Last segment of the struct path (`Entry`).
    pub strukt: String,
    pub field: String,
    pub region: Region,
    pub deps: Deps,
    /// Rendered tokens of the field's value (`0.0` in `randomization_factor: 0.0`).
    pub text: String,
    /// The value when it is a field read (`id: row.id`), as a place (see [`Binding::field`]).
    #[serde(default)]
    pub field_read: Option<Place>,
}

/// A region of code that runs only when a value matched (or did not match) a pattern: a
/// `match` arm body, the branches of `if let`, the body of `while let`, and the rest of a
/// block after an `if let`/`match` whose other arms leave the block
/// (`match r { Ok(v) => return v, Err(e) => e }; sleep(..)` → the rest runs under `Err`).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Case {
    /// The code that runs under the case.
    pub region: Region,
    /// Events whose values the matched expression depends on.
    pub scrutinee: Deps,
    /// Head of the pattern: the last path segment of a tuple-struct, struct or path pattern
    /// (`Ok`, `Err`, `Some`, `None`), `_` for wildcards and bindings, alternatives joined by `|`;
    /// a single constructor argument is kept (`Ok(Err(e))` → `Ok(Err)`).
    pub pattern: String,
    /// Set when the region runs when the pattern did *not* match (`else` of `if let`, code
    /// after `if let P = x { return }`).
    pub negated: bool,
}

/// What kind of expression a [`Scrutinee`] belongs to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScrutineeKind {
    Match,
    IfLet,
    WhileLet,
    /// The iterable of a `for` loop, evaluated once: its temporaries (a guard in
    /// `for c in m.read().unwrap().iter()`) live until the loop ends.
    ForIterable,
}

/// The matched expression of a `match`, `if let` or `while let`. Temporaries created in it
/// (a lock guard in `match m.lock().unwrap().get(k)`) are not dropped at the end of the
/// expression but live on: through every arm of a `match`, through the body of a `while let`
/// (each iteration), and through the then-block of an `if let` — and, before Rust 2024, its
/// `else` block too (the whole `if`). A `for` loop's iterable is one too (`for` is a `match`
/// on `IntoIterator::into_iter(iterable)`): its temporaries live through the whole loop.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Scrutinee {
    pub kind: ScrutineeKind,
    /// The matched expression itself.
    pub expr: Region,
    /// The whole `match` / `if let … else …` / `while let` expression.
    pub whole: Region,
    /// The then-block of an `if let`, the body of a `while let`, `whole` for a `match`.
    pub then: Region,
}

/// A `break` or `return` in a function body.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Exit {
    pub region: Region,
    /// `return` leaves every enclosing loop; `break` only the innermost (or labelled) one.
    pub is_return: bool,
    /// The label of a labelled `break 'outer`, without the quote.
    pub label: Option<String>,
    /// Enclosing loops (indices into [`FnFacts::loops`]), outermost first.
    pub loops: Vec<usize>,
    pub control_deps: Deps,
    pub closure_depth: usize,
}

/// A local binding introduced by `let`, a pattern, a closure or a parameter.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Binding {
    pub name: String,
    pub region: Region,
    /// Events whose values flow into the binding.
    pub deps: Deps,
    /// The annotated type, as written, if any.
    pub ty: Option<String>,
    /// The call/method-call/macro event whose value the pattern binds directly: the `let`
    /// initializer, `if let`/`while let`/`match` scrutinee, with parentheses, `?` and `.await`
    /// stripped (`let g = m.lock().unwrap();` → the `unwrap` event). `None` when the value is
    /// anything else (`*m.lock().unwrap()`, a field, a literal, a parameter).
    pub init: Option<EventId>,
    /// Where the binding is alive: its enclosing block (for `let`), the `if`/`while`
    /// expression (`if let`/`while let`), the match arm, the `for` loop or the closure. A value
    /// bound here (e.g. a lock guard) is dropped at the end of this region unless moved or
    /// passed to `drop` earlier.
    pub scope: Region,
    /// The initializer's value when it is a string literal (`let sql = "UPDATE …";`).
    #[serde(default)]
    pub str_value: Option<String>,
    /// The initializer when it is a field read (`let id = row.id;`, `&row.id`,
    /// `row.id.clone()`), as a place: the binding holds that one field, not the whole `row`
    /// its `deps` come from.
    #[serde(default)]
    pub field: Option<Place>,
    /// For a name a struct, struct-variant or tuple-variant pattern binds to one field
    /// directly: the pattern's path as written and the field (`TargetKind::Multi { ref state,
    /// .. }` → (`TargetKind::Multi`, `state`); `After(pb)` → (`After`, `0`)).
    #[serde(default)]
    pub field_of: Option<(String, String)>,
}

/// The facts of one function.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct FnFacts {
    /// `Type::method` for methods, `name` for free functions.
    pub name: String,
    /// The fn signature's name.
    pub region: Region,
    /// The whole fn item.
    pub item_region: Region,
    pub is_async: bool,
    /// `unsafe fn`: the caller upholds invariants the body relies on (often exclusivity).
    pub is_unsafe: bool,
    /// Marked `#[test]` (or `#[tokio::test]`, `#[…_test]`).
    #[serde(default)]
    pub is_test: bool,
    /// Inside an item that exists only in test builds: a `#[cfg(test)]` (or
    /// `#[cfg(all(test, …))]`) module, impl or function, or a file with `#![cfg(test)]`.
    #[serde(default)]
    pub cfg_test: bool,
    /// Parameters: name and type as written (`self` has type `Self`, `&Self` or `&mut Self`).
    pub params: Vec<(String, String)>,
    /// The return type as written, if any.
    pub ret: Option<String>,
    pub events: Vec<Event>,
    pub loops: Vec<LoopInfo>,
    pub field_inits: Vec<FieldInit>,
    pub bindings: Vec<Binding>,
    /// Events whose values flow into the function's return value (tail expr or `return`).
    pub returns: Deps,
    /// Every ordering comparison (`<`, `>`, `<=`, `>=`), in evaluation order.
    pub comparisons: Vec<Comparison>,
    /// The regions of local-macro invocations whose expansion was walked (see
    /// `analysis::macros`): every transcriber token has exactly this region, so a scope or
    /// statement the transcriber closes ends where the invocation ends.
    #[serde(default)]
    pub expansions: Vec<Region>,
    /// Every `*e` dereference, in evaluation order.
    pub derefs: Vec<Deref>,
    /// Pattern-matched regions (see [`Case`]), in source order.
    pub cases: Vec<Case>,
    /// The matched expressions of `match`/`if let`/`while let`, in source order.
    #[serde(default)]
    pub scrutinees: Vec<Scrutinee>,
    /// Every `break`/`return`, in evaluation order.
    pub exits: Vec<Exit>,
    /// Every `continue`, in evaluation order (`is_return` is false; `label` as for `break`).
    #[serde(default)]
    pub continues: Vec<Exit>,
}

impl FnFacts {
    /// Whether the function has exclusive access to `self` (`&mut self` or `self` by value),
    /// so no other thread can touch `self`'s fields while it runs.
    pub fn exclusive_self(&self) -> bool {
        self.params
            .first()
            .is_some_and(|(n, t)| n == "self" && exclusive_receiver(t))
    }

    /// Whether `place` is this function's alone while it runs: a place of an exclusive `self`
    /// ([`FnFacts::exclusive_self`]), or of a parameter declared `&mut T` (`T` not an
    /// `Arc`/`Rc`, whose pointee other handles share).
    pub fn exclusive_place(&self, place: &Place) -> bool {
        match place.root {
            Root::SelfValue => self.exclusive_self(),
            Root::Param => {
                let root = place.text.split(['.', '[']).next().unwrap_or(&place.text);
                self.params.iter().any(|(n, t)| {
                    n == root && t.starts_with("&mut") && !t.contains("Arc<") && !t.contains("Rc<")
                })
            }
            _ => false,
        }
    }

    /// Whether the receiver of `ev` may be reached by other threads while the function runs:
    /// a place that may be shared ([`Place::maybe_shared`]) and is not the function's alone
    /// ([`FnFacts::exclusive_place`]) — except a clone of it (`let store = self.store.clone();`,
    /// which the walk follows as `self.store`): a second handle to what the field points to,
    /// shared with every other clone whatever `&mut self` says about the field itself.
    pub fn shared_receiver(&self, ev: &Event) -> bool {
        let Some(p) = &ev.receiver else {
            return false;
        };
        let cloned = || {
            ev.receiver_deps.iter().any(|&d| {
                let c = &self.events[d];
                c.name == "clone" && c.receiver.as_ref().is_some_and(|r| r.text == p.text)
            })
        };
        p.maybe_shared() && (!self.exclusive_place(p) || cloned())
    }

    /// Events strictly between `a` and `b` (by evaluation order).
    pub fn between(&self, a: EventId, b: EventId) -> &[Event] {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        &self.events[(lo + 1).min(hi)..hi]
    }
}

/// Whether a receiver of this type has the value to itself: `self`, `&mut self`, and the
/// written-out `self: Box<Self>`, `self: Pin<&mut Self>`, `self: &mut Self`; not
/// `self: &Self`, `self: Arc<Self>` / `&Arc<Self>` / `Rc<Self>` (shared by other handles).
pub fn exclusive_receiver(ty: &str) -> bool {
    let t: String = ty.chars().filter(|c| !c.is_whitespace()).collect();
    matches!(
        t.as_str(),
        "Self" | "&mutSelf" | "Box<Self>" | "Pin<&mutSelf>"
    )
}

/// A struct field's declared type: `Bank { balance: AtomicI64 }`.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct FieldDecl {
    pub strukt: String,
    pub field: String,
    pub ty: String,
    pub region: Region,
}

/// A `static` or `const` item and its type.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct StaticDecl {
    pub name: String,
    pub ty: String,
    pub region: Region,
    /// The value when it is a string literal (`const UPDATE: &str = "UPDATE …";`).
    pub str_value: Option<String>,
}

/// A derived `Ord`/`PartialOrd` struct and its fields in order.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct StructDecl {
    pub name: String,
    pub derives: Vec<String>,
    /// Field names in declaration order (tuple structs: "0", "1", …).
    pub fields: Vec<String>,
    /// The type parameters' names (`F` of `struct DrainFilter<'a, T, F>`), in order.
    #[serde(default)]
    pub generics: Vec<String>,
    pub region: Region,
}

/// Everything one file contributes: per-function facts and item-level declarations.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct FileFacts {
    pub functions: Vec<FnFacts>,
    pub fields: Vec<FieldDecl>,
    pub statics: Vec<StaticDecl>,
    pub structs: Vec<StructDecl>,
    /// Out-of-line modules declared `#[cfg(test)] mod name;` in this file: their files are
    /// test code.
    #[serde(default)]
    pub cfg_test_mods: Vec<String>,
    /// The file starts with `#![cfg(test)]`.
    #[serde(default)]
    pub cfg_test_file: bool,
    /// The fields of enum variants (`strukt` is `Enum::Variant`; tuple fields `0`, `1`, …), kept
    /// apart from struct fields: only pattern bindings ([`Binding::field_of`]) look them up.
    #[serde(default)]
    pub variant_fields: Vec<FieldDecl>,
    /// The traits the file declares.
    #[serde(default)]
    pub traits: Vec<TraitDecl>,
}

/// A trait item: whether code outside the crate can implement it, and its methods.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct TraitDecl {
    pub name: String,
    /// Declared `pub` (not `pub(crate)`) and not sealed (no supertrait named `Sealed`): other
    /// crates may implement it.
    pub open: bool,
    /// The names of its methods (with or without a default body).
    pub methods: Vec<String>,
    pub region: Region,
}

impl FnFacts {
    /// Whether `r` is a region of a walked local-macro expansion's own code
    /// ([`FnFacts::expansions`]): inside an invocation and ending where it ends, as every
    /// node closed by a transcriber token does (a scope or statement of the macro's code,
    /// whose real end inside the expansion is not known).
    pub fn is_expansion(&self, r: &Region) -> bool {
        self.expansions
            .iter()
            .any(|x| x.contains(r) && r.end() == x.end())
    }

    /// Whether the function is test code: a `#[test]` function or inside a `#[cfg(test)]`
    /// item (see [`crate::analysis::test_code`] for files that are test code by path).
    pub fn in_test_code(&self) -> bool {
        self.is_test || self.cfg_test
    }
}
