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
//! has receiver `self.balance`.
//!
//! Rules never walk syntax trees themselves: they query these facts.

mod walk;

use crate::finding::Region;
use std::collections::BTreeSet;

pub use walk::analyze_file;

/// Index of an [`Event`] in [`FnFacts::events`].
pub type EventId = usize;
/// A set of events, ordered by id (which is evaluation order).
pub type Deps = BTreeSet<EventId>;

/// Memory orderings named in an argument (`Ordering::Relaxed`, or a bare `Relaxed` import).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Root {
    /// `self.…`
    SelfValue,
    /// A `static`/`const` or any path with `::` or an UPPER_CASE name.
    Static,
    /// A function parameter.
    Param,
    /// A local binding; `init` is the constructor path of its initializer when it was a call
    /// (`AtomicUsize::new`, `Arc::new`), `ty` its annotated type, both as written.
    Local {
        init: Option<String>,
        ty: Option<String>,
    },
    /// A temporary (method call result, literal, …).
    Temporary,
}

/// A normalized receiver or assignment target.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
#[derive(Clone, Debug)]
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
}

/// What kind of syntax an event came from.
#[derive(Clone, Debug, PartialEq, Eq)]
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
#[derive(Clone, Debug)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopKind {
    Loop,
    While,
    For,
}

/// A loop in a function body.
#[derive(Clone, Debug)]
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
}

/// A field initialized in a struct literal: `Entry { written_at: now(), .. }`.
#[derive(Clone, Debug)]
pub struct FieldInit {
    /// Last segment of the struct path (`Entry`).
    pub strukt: String,
    pub field: String,
    pub region: Region,
    pub deps: Deps,
}

/// A local binding introduced by `let`, a pattern, a closure or a parameter.
#[derive(Clone, Debug)]
pub struct Binding {
    pub name: String,
    pub region: Region,
    /// Events whose values flow into the binding.
    pub deps: Deps,
    /// The annotated type, as written, if any.
    pub ty: Option<String>,
}

/// The facts of one function.
#[derive(Clone, Debug)]
pub struct FnFacts {
    /// `Type::method` for methods, `name` for free functions.
    pub name: String,
    /// The fn signature's name.
    pub region: Region,
    /// The whole fn item.
    pub item_region: Region,
    pub is_async: bool,
    /// Parameters: name and type as written (`self` has type `Self`).
    pub params: Vec<(String, String)>,
    /// The return type as written, if any.
    pub ret: Option<String>,
    pub events: Vec<Event>,
    pub loops: Vec<LoopInfo>,
    pub field_inits: Vec<FieldInit>,
    pub bindings: Vec<Binding>,
    /// Events whose values flow into the function's return value (tail expr or `return`).
    pub returns: Deps,
}

impl FnFacts {
    /// Events strictly between `a` and `b` (by evaluation order).
    pub fn between(&self, a: EventId, b: EventId) -> &[Event] {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        &self.events[(lo + 1).min(hi)..hi]
    }
}

/// A struct field's declared type: `Bank { balance: AtomicI64 }`.
#[derive(Clone, Debug)]
pub struct FieldDecl {
    pub strukt: String,
    pub field: String,
    pub ty: String,
    pub region: Region,
}

/// A `static` or `const` item and its type.
#[derive(Clone, Debug)]
pub struct StaticDecl {
    pub name: String,
    pub ty: String,
    pub region: Region,
}

/// A derived `Ord`/`PartialOrd` struct and its fields in order.
#[derive(Clone, Debug)]
pub struct StructDecl {
    pub name: String,
    pub derives: Vec<String>,
    /// Field names in declaration order (tuple structs: "0", "1", …).
    pub fields: Vec<String>,
    pub region: Region,
}

/// Everything one file contributes: per-function facts and item-level declarations.
#[derive(Clone, Debug, Default)]
pub struct FileFacts {
    pub functions: Vec<FnFacts>,
    pub fields: Vec<FieldDecl>,
    pub statics: Vec<StaticDecl>,
    pub structs: Vec<StructDecl>,
}
