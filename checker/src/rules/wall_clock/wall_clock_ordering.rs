use crate::analysis::{Arg, Deps, Event, EventId, EventKind, FnFacts, Place, Root};
use crate::declare_rule;
use crate::finding::{Finding, Label, Region};
use crate::rules::{event_region, finding, CrateContext, FileCx, Rule, RuleMeta};
use std::collections::{HashMap, HashSet};

declare_rule! {
    /// ### What it does
    /// Follows wall-clock readings (`SystemTime::now()` of `std::time` or of the `heisen::time`
    /// facade, `UNIX_EPOCH.elapsed()`, `chrono::Utc::now()`/`Local::now()`,
    /// `time::OffsetDateTime::now_utc()`, `jiff::Timestamp::now()`,
    /// `coarsetime::Clock::now_since_epoch()`, and every function of the crate that returns
    /// one, like `fn now_ms() -> u64`) through arithmetic, conversions,
    /// struct fields and helper functions, and reports the places where such a value decides an
    /// order between events:
    /// * a comparison (`<`, `cmp`, `max`, …) of two wall-clock stamps that decides which write
    ///   wins or which event comes first, including stamps stored in struct fields anywhere in
    ///   the crate (`written_at` stamped in one file, compared in a `merge` in another);
    /// * a sort or ordered-collection key (`sort_by_key`, `max_by_key`, `BinaryHeap`,
    ///   `BTreeMap`/`BTreeSet` keys, `.sort()` of tuples that start with a stamp, and a derived
    ///   `Ord` whose first field is a stamp on a struct whose values the crate puts in order:
    ///   compares, sorts, or uses as an ordered-collection key, in any file);
    /// * an identifier, sequence number, version or map key made from a reading;
    /// * an expiry/lease/token check of a timestamp that came from elsewhere (`token.exp`,
    ///   `msg.sent_at`, `row.expires_at`) against the local clock with no skew allowance.
    ///
    /// Logging, metrics, `Instant` timeouts and deadlines, and stamps that are only stored or
    /// returned are not reported.
    ///
    /// ### Why is this bad
    /// A wall clock is an observation, not an order. Two nodes stamp writes with
    /// `SystemTime::now()`; node B's clock runs 50 ms ahead of node A's. A writes `x = 2` at
    /// 10:00:00.030 real time, stamped .030; B wrote `x = 1` 20 ms *earlier*, stamped .060. The
    /// last-write-wins merge keeps B's older write and A's newer write silently disappears,
    /// and every write B makes within 50 ms of one of A's wins the same way. NTP steps the clock
    /// backwards, so ids made from `as_nanos()` collide or go down, and event logs sorted by
    /// stamp replay in the wrong order. Expiry has the same problem: a token minted on node A
    /// with a 100 ms lifetime, checked on node B whose clock is 48 ms ahead, is valid for 52 ms
    /// there, and a clock 100 ms ahead rejects it at once. No test on one machine ever sees any
    /// of this, because one machine has one clock.
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn now_ms() -> u64 {
    ///     SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
    /// }
    ///
    /// fn put(&mut self, v: Value) {
    ///     self.entry = Entry { value: v, written_at: now_ms() };
    /// }
    ///
    /// fn merge(&mut self, other: Entry) {
    ///     if other.written_at > self.entry.written_at {
    ///         self.entry = other; // the node whose clock runs ahead always wins
    ///     }
    /// }
    /// ```
    ///
    /// ### Use instead
    /// Order by a logical clock: a Lamport counter or a hybrid logical clock carried with every
    /// write (a stamp that never goes below any stamp seen), a version vector, or a sequence
    /// assigned by one authority (a database sequence, a Raft log index). Keep the wall-clock
    /// time next to it for display only:
    /// ```rust,ignore
    /// fn merge(&mut self, other: Entry) {
    ///     // (lamport, node_id) is a total order every node agrees on
    ///     if (other.lamport, other.node) > (self.entry.lamport, self.entry.node) {
    ///         self.entry = other;
    ///     }
    /// }
    /// ```
    /// For expiry of something issued elsewhere, allow for skew (`now > exp + LEEWAY`); for
    /// local durations and timeouts use `Instant`.
    ///
    /// ### Known limitations
    /// Field taint is by field name: a field is a wall-clock field when the crate assigns it a
    /// wall-clock value, unless a field of that name is declared as an `Instant`, a `Duration`
    /// or a hybrid-logical-clock struct (below); when several structs declare the name, each must be stamped
    /// (an assignment to a field of something other than `self` counts for all). A field read
    /// is followed through plain `let` bindings, not through destructuring, reassignment or
    /// calls. Wall-clock functions are found through calls inside the crate only, and a method
    /// counts only when every method of that name in the crate returns a reading;
    /// `x.elapsed()` counts when `x` is a field declared as a `SystemTime`.
    /// Comparisons of a local reading with a field of `self` (a same-node TTL or rate limit)
    /// are not reported; an expiry check counts as "from elsewhere" by its names (`exp`,
    /// `expires_at`, `not_before`, or a `_at`/`ts` field of a token, message, row, request…),
    /// and any mention of a leeway/skew/tolerance/grace term in the function counts as a skew
    /// allowance. Functions named like logical-clock code (`hlc`, `lamport`, `logical`, …) are
    /// not reported.
    ///
    /// A struct of the crate is a hybrid logical clock, and neither its values nor its physical
    /// field count as wall-clock stamps (its derived `Ord` is not reported either), when a field
    /// stamped from the wall clock is followed by an integer field that a function writing the
    /// struct advances from a previous value (`last.logical + 1`), and every function that
    /// stamps a reading into the physical field merges it with an earlier or received stamp:
    /// a `max` of the reading and a `.wall` read, or a comparison of the reading with a `.wall`
    /// read plus a write of `wall` from a `.wall` read (`if now > last.wall { now } else
    /// { last.wall }`). That branch form is recognized by what the function contains, not by
    /// which branch guards which write, and a clock that merges only its own previous stamp,
    /// never a received one, counts as well. One function that stamps a raw reading
    /// (`Hlc { wall: now_ms(), logical: 0 }`) makes the struct an ordinary stamp again.
    ///
    /// For the derived-`Ord` sink, values of a struct are recognized by declared types only: a
    /// parameter's or annotated local's type, the return type of the crate function a local
    /// is initialized by, `self`, a field whose declarations agree on one type, a key type of
    /// a `BTreeMap`/`BTreeSet`/`BinaryHeap` anywhere (or a local built by `BTreeMap::new` and
    /// filled with typed values), and the first field of another ordered derived `Ord`. A value
    /// bound by a pattern (`Nightly(d) => d.cmp(..)`) or collected into an unannotated local has
    /// no known type, and the struct's own comparison methods (`fn partial_cmp` in
    /// `impl PartialOrd`) define the order rather than use it. The sink does not follow which
    /// values are ordered: a struct whose clock-made values are only printed while other values
    /// of it (parsed, say) are sorted is still reported. rustversion's `Date` is not reported:
    /// its `year` is computed from `SystemTime::now()` in `today()` for an error message, and the
    /// only comparison of `Date`s (`nightly.cmp(date)` in `bound.rs`) compares pattern-bound
    /// values, which come from rustc's version string and the macro input, never from the
    /// clock.
    pub static WALL_CLOCK_ORDERING = {
        name: "wall-clock-ordering",
        group: WallClock,
        level: Warn,
        summary: "a wall-clock reading decides an order, an identity or a cross-node expiry",
    };
}

pub struct WallClockOrdering;

type FnKey = (usize, usize);

/// `Type::fn` paths (last two segments) that read the wall clock.
const SOURCE_CALLS: &[&str] = &[
    "SystemTime::now",
    "Utc::now",
    "Local::now",
    "OffsetDateTime::now_utc",
    "OffsetDateTime::now_local",
    "UtcDateTime::now",
    "PrimitiveDateTime::now",
    "Timestamp::now",
    "Zoned::now",
    "Clock::now_since_epoch",
    "Clock::recent_since_epoch",
    "UnixTime::now",
];

/// Methods that carry a time value through unchanged in meaning (conversions, arithmetic):
/// their receiver's and arguments' field reads count as reads of the result.
const CONVERSIONS: &[&str] = &[
    "duration_since",
    "signed_duration_since",
    "checked_duration_since",
    "saturating_duration_since",
    "as_millis",
    "as_micros",
    "as_nanos",
    "as_secs",
    "as_secs_f64",
    "as_secs_f32",
    "timestamp",
    "timestamp_millis",
    "timestamp_micros",
    "timestamp_nanos",
    "timestamp_nanos_opt",
    "unix_timestamp",
    "unix_timestamp_nanos",
    "unwrap",
    "unwrap_or",
    "unwrap_or_default",
    "expect",
    "clone",
    "into",
    "try_into",
    "checked_add",
    "checked_sub",
    "saturating_add",
    "saturating_sub",
    "wrapping_add",
    "wrapping_sub",
    "elapsed",
];

/// Macros whose comparisons are checks or output, not decisions.
const QUIET_MACROS: &[&str] = &[
    "trace",
    "debug",
    "info",
    "warn",
    "error",
    "log",
    "event",
    "println",
    "eprintln",
    "print",
    "eprint",
    "format",
    "write",
    "writeln",
    "format_args",
    "panic",
];

/// Words that mark a skew allowance.
const LEEWAY: &[&str] = &[
    "leeway",
    "skew",
    "tolerance",
    "grace",
    "slack",
    "drift",
    "allowance",
    "margin",
];

/// Function-name words of logical-clock implementations (whose `max` of stamps is the fix).
const LOGICAL_CLOCK: &[&str] = &[
    "hlc",
    "hybrid",
    "lamport",
    "logical",
    "vclock",
    "vector_clock",
];

/// Where a wall-clock field is stamped.
struct Stamp {
    file: usize,
    region: Region,
    strukt: Option<String>,
}

/// Why a value is a wall-clock reading.
enum Taint<'a> {
    /// A reading (or a call of a crate function returning one) in this function.
    Local(EventId),
    /// A read of a wall-clock field.
    Field(&'a Place, &'a Stamp),
}

/// One side of a comparison: its text, the events flowing into it, the fields it reads.
struct Side<'a> {
    text: String,
    deps: &'a Deps,
    fields: Vec<&'a Place>,
}

struct Crate<'a> {
    cx: &'a CrateContext<'a>,
    /// Functions whose return value is a wall-clock reading.
    wall_fns: HashSet<FnKey>,
    /// Field name → where it is stamped from the wall clock.
    wall_fields: HashMap<String, Vec<Stamp>>,
    /// Per function (by address of its facts, which live as long as the crate context):
    /// which of its events are wall-clock readings. Filled once the fixpoint is done.
    sources: HashMap<usize, Vec<bool>>,
    /// Structs that are hybrid-logical-clock stamps (their values are not wall-clock readings).
    hlc: HashSet<String>,
}

fn last_segment(s: &str) -> &str {
    s.rsplit("::").next().unwrap_or(s)
}

fn last_two(s: &str) -> String {
    let segs: Vec<&str> = s.split("::").collect();
    segs[segs.len().saturating_sub(2)..].join("::")
}

/// The member a field place reads (`self.entry.written_at` → `written_at`), if it is a field.
fn member(p: &Place) -> Option<&str> {
    if p.text.ends_with("[]") {
        return None;
    }
    let (_, m) = p.text.rsplit_once('.')?;
    (!m.is_empty() && !m.chars().all(|c| c.is_ascii_digit())).then_some(m)
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect()
}

/// The type of the function's `impl` (`Entry::new` → `Entry`).
fn fn_type(func: &FnFacts) -> Option<&str> {
    func.name.rsplit_once("::").map(|(t, _)| last_segment(t))
}

fn region_within(inner: &Region, outer: &Region) -> bool {
    (inner.line, inner.column) >= (outer.line, outer.column)
        && (inner.end_line, inner.end_column) <= (outer.end_line, outer.end_column)
}

fn is_direct_source(ev: &Event) -> bool {
    match ev.kind {
        EventKind::Call => SOURCE_CALLS.contains(&last_two(&ev.name).as_str()),
        EventKind::MethodCall => {
            ev.name == "elapsed"
                && ev.args.is_empty()
                && ev
                    .receiver
                    .as_ref()
                    .is_some_and(|r| last_segment(&r.text) == "UNIX_EPOCH")
        }
        _ => false,
    }
}

/// Whether a function's return type can carry a timestamp (not a flag, text, `Instant` or
/// hybrid-logical-clock value; a `Duration` may be one since `UNIX_EPOCH`).
fn returns_stamp_type(hlc: &HashSet<String>, func: &FnFacts) -> bool {
    match &func.ret {
        None => false,
        Some(t) => {
            !["bool", "String", "str", "Instant", "()", "fmt::Result"]
                .iter()
                .any(|x| t.contains(x))
                && !logical_clock_type(hlc, t)
        }
    }
}

/// Whether the type names a hybrid-logical-clock struct of the crate (see
/// [`Crate::hlc_structs`]): its values are ordered causally, not by one machine's clock.
fn logical_clock_type(hlc: &HashSet<String>, ty: &str) -> bool {
    ty.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| hlc.contains(w))
}

/// Integer types a logical counter is declared with.
const INT_TYPES: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

/// What follows each read of the field `field` in `text` (`last.wall`, `self.clock.logical`).
fn after_field_reads<'t>(text: &'t str, field: &str) -> impl Iterator<Item = &'t str> {
    let pat = format!(".{field}");
    let n = pat.len();
    let starts: Vec<usize> = text.match_indices(&pat).map(|(i, _)| i).collect();
    starts
        .into_iter()
        .map(move |i| &text[i + n..])
        .filter(|rest| !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
}

/// Whether `text` reads the field `field` of some value.
fn reads_field(text: &str, field: &str) -> bool {
    after_field_reads(text, field).next().is_some()
}

/// Whether `text` advances a field `field` from its previous value: `last.c + 1`,
/// `self.c += 1`, `prev.c.wrapping_add(1)`.
fn advances_field(text: &str, field: &str) -> bool {
    after_field_reads(text, field).any(|rest| {
        let rest = rest.trim_start();
        rest.starts_with('+')
            || ["wrapping_add(", "checked_add(", "saturating_add("]
                .iter()
                .any(|m| rest.strip_prefix('.').is_some_and(|r| r.starts_with(m)))
    })
}

/// A write of a struct field: a field of a struct literal or an assignment to a field.
struct FieldWrite<'a> {
    field: &'a str,
    deps: &'a Deps,
    /// The value as written.
    text: &'a str,
    /// The operator of a compound assignment (`+=`).
    op: Option<&'a str>,
}

impl<'a> Crate<'a> {
    /// The crate's wall-clock functions and fields. A hybrid logical clock is recognized from
    /// where its physical part is stamped, which needs the wall-clock functions first: a first
    /// build treats no struct as one, and when it finds any, a second build leaves them out.
    fn new(cx: &'a CrateContext<'a>) -> Crate<'a> {
        let c = Crate::build(cx, HashSet::new());
        let hlc = c.hlc_structs();
        if hlc.is_empty() {
            c
        } else {
            Crate::build(cx, hlc)
        }
    }

    fn build(cx: &'a CrateContext<'a>, hlc: HashSet<String>) -> Crate<'a> {
        let mut c = Crate {
            cx,
            wall_fns: HashSet::new(),
            wall_fields: HashMap::new(),
            sources: HashMap::new(),
            hlc,
        };
        // Functions returning a reading: a fixpoint over calls inside the crate.
        for _ in 0..8 {
            let mut changed = false;
            for (fi, file) in cx.files.iter().enumerate() {
                for (i, func) in file.facts.functions.iter().enumerate() {
                    if c.wall_fns.contains(&(fi, i)) || !returns_stamp_type(&c.hlc, func) {
                        continue;
                    }
                    if func
                        .returns
                        .iter()
                        .any(|&id| c.is_source(func, &func.events[id]))
                    {
                        c.wall_fns.insert((fi, i));
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut sources = HashMap::new();
        for (_, func) in cx.functions() {
            let v: Vec<bool> = func.events.iter().map(|e| c.is_source(func, e)).collect();
            sources.insert(func as *const FnFacts as usize, v);
        }
        c.sources = sources;
        // Fields stamped from a reading: struct literals and field assignments.
        let mut fields: HashMap<String, Vec<Stamp>> = HashMap::new();
        for (fi, file) in cx.files.iter().enumerate() {
            for func in &file.facts.functions {
                for init in &func.field_inits {
                    if c.local_source(func, &init.deps).is_some() {
                        let strukt = if init.strukt == "Self" {
                            fn_type(func).map(str::to_string)
                        } else {
                            Some(init.strukt.clone())
                        };
                        fields.entry(init.field.clone()).or_default().push(Stamp {
                            file: fi,
                            region: init.region,
                            strukt,
                        });
                    }
                }
                for ev in &func.events {
                    if !matches!(ev.kind, EventKind::Assign { .. }) {
                        continue;
                    }
                    let Some(m) = ev.receiver.as_ref().and_then(member) else {
                        continue;
                    };
                    if ev
                        .args
                        .first()
                        .is_some_and(|a| c.local_source(func, &a.deps).is_some())
                    {
                        // `self.field = ..` in an impl names the struct; other targets do not.
                        let on_self = ev.receiver.as_ref().is_some_and(|r| {
                            r.text.matches('.').count() == 1 && r.text.starts_with("self.")
                        });
                        fields.entry(m.to_string()).or_default().push(Stamp {
                            file: fi,
                            region: ev.region,
                            strukt: fn_type(func).filter(|_| on_self).map(str::to_string),
                        });
                    }
                }
            }
        }
        fields.retain(|name, stamps| {
            if id_ish(name)
                || cx
                    .index
                    .field_types(name)
                    .any(|t| t.contains("Instant") || t.contains("Duration"))
            {
                return false;
            }
            // A field holding a hybrid logical clock, or the physical part of one.
            let mut types = cx.index.field_types(name).peekable();
            if types.peek().is_some() && types.all(|t| logical_clock_type(&c.hlc, t)) {
                return false;
            }
            let mut decls = cx.index.fields.get(name).into_iter().flatten().peekable();
            if decls.peek().is_some() && decls.all(|d| c.hlc.contains(&d.strukt)) {
                return false;
            }
            // A name several structs declare counts only when every one of them is stamped
            // (an assignment, whose struct is unknown, counts for all).
            stamps.iter().any(|s| s.strukt.is_none())
                || cx.index.fields.get(name).into_iter().flatten().all(|d| {
                    stamps
                        .iter()
                        .any(|s| s.strukt.as_deref() == Some(d.strukt.as_str()))
                })
        });
        c.wall_fields = fields;
        c
    }

    /// The field writes of `func` to the struct `strukt`: its struct literals (`Self { .. }` in
    /// its impl), `self.field = ..` in its impl, and assignments to a field name only `strukt`
    /// declares.
    fn writes_of<'f>(&self, func: &'f FnFacts, strukt: &str) -> Vec<FieldWrite<'f>> {
        let only_here = |f: &str| {
            self.cx
                .index
                .fields
                .get(f)
                .is_some_and(|d| d.iter().all(|d| d.strukt == strukt))
        };
        let in_impl = fn_type(func) == Some(strukt);
        let mut out = Vec::new();
        for init in &func.field_inits {
            if init.strukt == strukt || (init.strukt == "Self" && in_impl) {
                out.push(FieldWrite {
                    field: &init.field,
                    deps: &init.deps,
                    text: &init.text,
                    op: None,
                });
            }
        }
        for ev in &func.events {
            let EventKind::Assign { op } = &ev.kind else {
                continue;
            };
            let (Some(r), Some(a)) = (ev.receiver.as_ref(), ev.args.first()) else {
                continue;
            };
            let Some(m) = member(r) else { continue };
            let on_self = r.text == format!("self.{m}") && in_impl;
            if on_self || only_here(m) {
                out.push(FieldWrite {
                    field: m,
                    deps: &a.deps,
                    text: &a.text,
                    op: op.as_deref(),
                });
            }
        }
        out
    }

    /// Whether `deps` hold a `max` of a wall-clock reading and a read of a field `field`
    /// (`now.max(last.wall)`, `cmp::max(self.wall, now)`).
    fn max_merged(&self, func: &FnFacts, deps: &Deps, field: &str) -> bool {
        deps.iter().any(|&id| {
            let e = &func.events[id];
            let is_max = match e.kind {
                EventKind::MethodCall => e.name == "max" && e.args.len() == 1,
                EventKind::Call => last_segment(&e.name) == "max" && e.args.len() == 2,
                _ => false,
            };
            let reads = e.receiver.as_ref().and_then(member) == Some(field)
                || e.args.iter().any(|a| {
                    reads_field(&a.text, field) || a.fields.iter().any(|p| member(p) == Some(field))
                });
            let reading = self.local_source(func, &e.receiver_deps).is_some()
                || e.args
                    .iter()
                    .any(|a| self.local_source(func, &a.deps).is_some());
            is_max && reads && reading
        })
    }

    /// Whether `func` compares a wall-clock reading with a read of a field `field`
    /// (`if physical > last.wall`).
    fn compares_reading_with(&self, func: &FnFacts, field: &str) -> bool {
        func.comparisons.iter().any(|cmp| {
            let reads =
                |o: &crate::analysis::Operand| o.fields.iter().any(|p| member(p) == Some(field));
            let reading = |o: &crate::analysis::Operand| self.local_source(func, &o.deps).is_some();
            (reading(&cmp.lhs) && reads(&cmp.rhs)) || (reading(&cmp.rhs) && reads(&cmp.lhs))
        })
    }

    /// Structs of the crate that are hybrid-logical-clock stamps. A struct is one when a field
    /// `w` stamped from the wall clock is followed by an integer field `c` that the crate
    /// advances from a previous value (`last.c + 1`, `self.c += 1`), and every function that
    /// stamps a reading into `w` merges it with an earlier or received stamp: `w` is set to
    /// a `max` of the reading and a `.w` (`now.max(last.w)`), or the function compares the
    /// reading with a `.w` and also sets `w` from a `.w` (`if now > last.w { now } else
    /// { last.w }`). Then `w` never goes below a stamp the node has seen, and `c` orders the
    /// events that share it.
    fn hlc_structs(&self) -> HashSet<String> {
        let ix = self.cx.index;
        let mut out = HashSet::new();
        for s in ix.structs.values() {
            let decl_ty = |f: &str| {
                ix.fields
                    .get(f)
                    .into_iter()
                    .flatten()
                    .find(|d| d.strukt == s.name)
                    .map(|d| d.ty.as_str())
            };
            let is_hlc = s.fields.windows(2).any(|pair| {
                let (w, c) = (pair[0].as_str(), pair[1].as_str());
                // Only a field the first build found stamped from a reading can be the
                // physical part (this keeps the search off the crate's other structs).
                let stamped = self.wall_fields.get(w).is_some_and(|v| {
                    v.iter()
                        .any(|st| st.strukt.is_none() || st.strukt.as_deref() == Some(&s.name))
                });
                stamped
                    && decl_ty(c).is_some_and(|t| INT_TYPES.contains(&t))
                    && self.is_hlc_pair(&s.name, w, c)
            });
            if is_hlc {
                out.insert(s.name.clone());
            }
        }
        out
    }

    fn is_hlc_pair(&self, strukt: &str, w: &str, c: &str) -> bool {
        let (mut stamped, mut advanced) = (false, false);
        for (file, func) in self.cx.functions() {
            let writes = self.writes_of(func, strukt);
            if writes.is_empty() {
                continue;
            }
            // The counter is advanced by a function that writes the struct (through a `let`
            // too: `let count = prev.count + 1; Stamp { millis, count }`).
            advanced |= writes.iter().any(|x| x.field == c && x.op == Some("+="))
                || advances_field(file.source.region_text(&func.item_region), c);
            let mut readings = writes
                .iter()
                .filter(|x| x.field == w && self.local_source(func, x.deps).is_some())
                .peekable();
            if readings.peek().is_none() {
                continue;
            }
            stamped = true;
            let branch_merged = self.compares_reading_with(func, w)
                && writes.iter().any(|x| {
                    x.field == w
                        && self.local_source(func, x.deps).is_none()
                        && reads_field(x.text, w)
                });
            if !branch_merged && !readings.all(|x| self.max_merged(func, x.deps, w)) {
                return false;
            }
        }
        stamped && advanced
    }

    fn fn_at(&self, (fi, i): FnKey) -> &'a FnFacts {
        &self.cx.files[fi].facts.functions[i]
    }

    /// The crate functions a call or method call may resolve to.
    fn callees(&self, func: &FnFacts, ev: &Event) -> Vec<FnKey> {
        let name = last_segment(&ev.name);
        let Some(cands) = self.cx.index.functions.get(name) else {
            return Vec::new();
        };
        let segs: Vec<&str> = ev.name.split("::").collect();
        cands
            .iter()
            .copied()
            .filter(|&k| {
                let n = &self.fn_at(k).name;
                match ev.kind {
                    EventKind::MethodCall => n.contains("::"),
                    EventKind::Call if segs.len() >= 2 => {
                        let t = segs[segs.len() - 2];
                        let t = if t == "Self" {
                            fn_type(func).unwrap_or(t)
                        } else {
                            t
                        };
                        if t.starts_with(|c: char| c.is_ascii_uppercase()) {
                            *n == format!("{t}::{name}")
                        } else {
                            !n.contains("::")
                        }
                    }
                    EventKind::Call => !n.contains("::"),
                    _ => false,
                }
            })
            .collect()
    }

    /// Whether the event's value is a wall-clock reading.
    fn is_source(&self, func: &FnFacts, ev: &Event) -> bool {
        if is_direct_source(ev) {
            return true;
        }
        // `stamp.elapsed()` on a `SystemTime` field reads the clock too.
        if ev.kind == EventKind::MethodCall && ev.name == "elapsed" && ev.args.is_empty() {
            if let Some(r) = ev.receiver.as_ref().filter(|r| member(r).is_some()) {
                if self
                    .cx
                    .index
                    .place_type_is(&r.text, |t| t.contains("SystemTime"))
                {
                    return true;
                }
            }
        }
        // (Most crates have no wall-clock function: then no call can be one.)
        if !matches!(ev.kind, EventKind::Call | EventKind::MethodCall) || self.wall_fns.is_empty() {
            return false;
        }
        let callees = self.callees(func, ev);
        !callees.is_empty() && callees.iter().all(|k| self.wall_fns.contains(k))
    }

    /// The first wall-clock reading among `deps`.
    fn local_source(&self, func: &FnFacts, deps: &Deps) -> Option<EventId> {
        if let Some(v) = self.sources.get(&(func as *const FnFacts as usize)) {
            return deps.iter().copied().find(|&id| v[id]);
        }
        deps.iter()
            .copied()
            .find(|&id| self.is_source(func, &func.events[id]))
    }

    /// The first wall-clock field among `fields`.
    fn wall_field<'p>(&'p self, fields: &[&'p Place]) -> Option<(&'p Place, &'p Stamp)> {
        fields.iter().find_map(|p| {
            let stamps = self.wall_fields.get(member(p)?)?;
            Some((*p, stamps.first()?))
        })
    }

    fn taint<'p>(&'p self, func: &FnFacts, side: &Side<'p>) -> Option<Taint<'p>> {
        if let Some(id) = self.local_source(func, side.deps) {
            return Some(Taint::Local(id));
        }
        self.wall_field(&side.fields)
            .map(|(p, s)| Taint::Field(p, s))
    }

    /// A label pointing at where a taint comes from.
    fn taint_label(&self, func: &FnFacts, file: usize, t: &Taint<'_>) -> Label {
        match t {
            Taint::Local(id) => {
                let ev = &func.events[*id];
                let message = if is_direct_source(ev) {
                    "the wall clock is read here".to_string()
                } else {
                    format!(
                        "`{}()` returns a wall-clock reading",
                        last_segment(&ev.name)
                    )
                };
                Label {
                    region: event_region(ev),
                    message,
                    file: None,
                }
            }
            Taint::Field(p, stamp) => Label {
                region: stamp.region,
                message: format!(
                    "`{}` is stamped from the wall clock here",
                    member(p).unwrap_or(&p.text)
                ),
                file: (stamp.file != file).then(|| self.cx.files[stamp.file].source.rel.clone()),
            },
        }
    }
}

/// Field reads of `deps` through time conversions (`a.ts.as_millis()`,
/// `now.duration_since(token.iat)`).
fn conversion_fields<'a>(func: &'a FnFacts, deps: &Deps, out: &mut Vec<&'a Place>) {
    for &id in deps {
        let ev = &func.events[id];
        if ev.kind != EventKind::MethodCall || !CONVERSIONS.contains(&ev.name.as_str()) {
            continue;
        }
        if let Some(r) = &ev.receiver {
            if member(r).is_some() {
                out.push(r);
            }
        }
        for a in &ev.args {
            out.extend(a.fields.iter());
        }
    }
}

fn side_of_operand<'a>(func: &'a FnFacts, op: &'a crate::analysis::Operand) -> Side<'a> {
    let mut fields: Vec<&Place> = op.fields.iter().collect();
    conversion_fields(func, &op.deps, &mut fields);
    Side {
        text: op.text.clone(),
        deps: &op.deps,
        fields,
    }
}

fn side_of_arg<'a>(func: &'a FnFacts, a: &'a Arg) -> Side<'a> {
    let mut fields: Vec<&Place> = a.fields.iter().collect();
    conversion_fields(func, &a.deps, &mut fields);
    Side {
        text: a.text.trim_start_matches('&').to_string(),
        deps: &a.deps,
        fields,
    }
}

fn side_of_receiver<'a>(func: &'a FnFacts, ev: &'a Event, text: String) -> Side<'a> {
    let mut fields = Vec::new();
    if let Some(r) = &ev.receiver {
        if member(r).is_some() {
            fields.push(r);
        }
    }
    conversion_fields(func, &ev.receiver_deps, &mut fields);
    Side {
        text,
        deps: &ev.receiver_deps,
        fields,
    }
}

/// A field read that holds a time that came from elsewhere: `token.exp`, `claims.nbf`,
/// `msg.sent_at`, `row.expires_at` (not a field of `self`).
fn foreign_time_field<'p>(fields: &[&'p Place]) -> Option<&'p Place> {
    const STRONG: &[&str] = &[
        "exp",
        "expires",
        "expiry",
        "expiration",
        "expire",
        "nbf",
        "iat",
        "deadline",
        "lease",
        "until",
        "issued",
    ];
    const WEAK: &[&str] = &[
        "at",
        "ts",
        "time",
        "timestamp",
        "stamp",
        "sent",
        "created",
        "updated",
        "modified",
    ];
    const FOREIGN: &[&str] = &[
        "token",
        "claims",
        "claim",
        "jwt",
        "msg",
        "message",
        "row",
        "record",
        "request",
        "req",
        "packet",
        "frame",
        "header",
        "headers",
        "lease",
        "session",
        "cookie",
        "cert",
        "certificate",
        "ticket",
        "grant",
        "payload",
        "remote",
        "peer",
        "incoming",
    ];
    fields.iter().copied().find(|p| {
        if p.root == Root::SelfValue || p.text.starts_with("self.") {
            return false;
        }
        let Some(m) = member(p) else {
            return false;
        };
        let mw = words(m);
        if mw.iter().any(|w| STRONG.contains(&w.as_str()))
            || matches!(m, "not_before" | "not_after" | "valid_from" | "valid_to")
        {
            return true;
        }
        let base = &p.text[..p.text.len() - m.len()];
        mw.iter().any(|w| WEAK.contains(&w.as_str()))
            && words(base).iter().any(|w| FOREIGN.contains(&w.as_str()))
    })
}

/// Whether `name` names an identifier, key, sequence number or version.
fn id_ish(name: &str) -> bool {
    let w = words(name);
    w.last().is_some_and(|l| {
        matches!(
            l.as_str(),
            "id" | "key"
                | "seq"
                | "seqno"
                | "sequence"
                | "version"
                | "nonce"
                | "uid"
                | "txid"
                | "serial"
        )
    })
}

/// Whether an id-like value is fine: it also draws on randomness or a counter (so it does
/// not collide), or it is a calendar date or a formatted time (`now.format("%Y-%m-%d")`,
/// `now.date_naive()`): a date-partitioned name is meant to be shared.
fn exempt_id(func: &FnFacts, deps: &Deps) -> bool {
    deps.iter().any(|&id| {
        let n = last_segment(&func.events[id].name).to_ascii_lowercase();
        if func.events[id].kind == EventKind::MethodCall
            && matches!(
                n.as_str(),
                "format"
                    | "to_rfc3339"
                    | "to_rfc2822"
                    | "date"
                    | "date_naive"
                    | "year"
                    | "month"
                    | "day"
                    | "ordinal"
                    | "iso_week"
                    | "weekday"
            )
        {
            return true;
        }
        [
            "rand",
            "uuid",
            "ulid",
            "fetch_add",
            "gen_range",
            "counter",
            "next_id",
            "incr",
        ]
        .iter()
        .any(|w| n.contains(w))
            || func.events[id]
                .receiver
                .as_ref()
                .is_some_and(|r| r.text.to_ascii_lowercase().contains("rng"))
    })
}

struct Ctx<'a, 'c> {
    c: &'c Crate<'a>,
    fi: usize,
    file: &'a FileCx<'a>,
    func: &'a FnFacts,
    /// Whether the function mentions a skew allowance.
    leeway: bool,
    logical: bool,
    /// Regions of assertion, logging and formatting macros in the function.
    quiet_regions: Vec<Region>,
    seen: &'c mut HashSet<(usize, usize, usize)>,
    out: &'c mut Vec<Finding>,
}

impl Ctx<'_, '_> {
    fn quiet(&self, r: &Region) -> bool {
        self.quiet_regions.iter().any(|q| region_within(r, q))
    }

    fn emit(&mut self, region: Region, message: String, help: String, labels: Vec<Label>) {
        if !self.seen.insert((self.fi, region.line, region.column)) {
            return;
        }
        let mut f = finding(&WALL_CLOCK_ORDERING, self.file, region, message, help);
        for l in labels {
            if !f
                .labels
                .iter()
                .any(|x| x.region == l.region && x.file == l.file)
            {
                f.labels.push(l);
            }
        }
        self.out.push(f);
    }

    /// A comparison between two sides (`a < b`, `a.cmp(&b)`, `max(a, b)`).
    fn compare(&mut self, region: Region, what: &str, lhs: &Side<'_>, rhs: &Side<'_>) {
        if self.logical || self.quiet(&region) {
            return;
        }
        let (c, func) = (self.c, self.func);
        let lf = c.wall_field(&lhs.fields);
        let rf = c.wall_field(&rhs.fields);
        if let (Some((lp, ls)), Some((rp, rs))) = (lf, rf) {
            if lp.text != rp.text {
                let field = member(lp).unwrap_or(&lp.text).to_string();
                let labels = vec![
                    c.taint_label(func, self.fi, &Taint::Field(lp, ls)),
                    c.taint_label(func, self.fi, &Taint::Field(rp, rs)),
                ];
                self.emit(
                    region,
                    format!(
                        "{what} of wall-clock stamps `{}` and `{}` decides which comes first; \
                         the node whose clock runs ahead always wins",
                        lhs.text, rhs.text
                    ),
                    format!(
                        "order by a logical clock instead of `{field}`: a Lamport counter or \
                         hybrid logical clock carried with each write, a version vector, or a \
                         sequence assigned by one authority (database sequence, Raft log \
                         index); keep `{field}` for display"
                    ),
                    labels,
                );
                return;
            }
        }
        if self.leeway {
            return;
        }
        let local = c
            .local_source(func, lhs.deps)
            .or_else(|| c.local_source(func, rhs.deps));
        let mut all: Vec<&Place> = lhs.fields.clone();
        all.extend(rhs.fields.iter().copied());
        let (Some(src), Some(foreign)) = (local, foreign_time_field(&all)) else {
            return;
        };
        let labels = vec![c.taint_label(func, self.fi, &Taint::Local(src))];
        self.emit(
            region,
            format!(
                "`{}` came from elsewhere and is checked against this node's wall clock with no \
                 skew allowance; a clock running ahead expires it early, one running behind \
                 accepts it late",
                foreign.text
            ),
            format!(
                "allow for clock skew in the check (e.g. compare against `{} + LEEWAY`, as JWT \
                 validators do with a few seconds of leeway), or let the issuing node enforce \
                 the expiry; use `Instant` for durations measured on one node",
                foreign.text
            ),
            labels,
        );
    }

    fn comparisons(&mut self) {
        let func = self.func;
        for cmp in &func.comparisons {
            let lhs = side_of_operand(func, &cmp.lhs);
            let rhs = side_of_operand(func, &cmp.rhs);
            self.compare(cmp.region, &format!("`{}`", cmp.op), &lhs, &rhs);
        }
        for ev in &func.events {
            let name = ev.name.as_str();
            match ev.kind {
                EventKind::MethodCall
                    if matches!(name, "cmp" | "partial_cmp" | "max" | "min" | "clamp")
                        && !ev.args.is_empty() =>
                {
                    let recv_text = match (&ev.receiver, ev.receiver_region) {
                        (Some(p), _) => p.text.clone(),
                        (None, Some(r)) => self
                            .file
                            .source
                            .region_text(&r)
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" "),
                        (None, None) => "the receiver".to_string(),
                    };
                    let lhs = side_of_receiver(func, ev, recv_text);
                    for a in &ev.args {
                        let rhs = side_of_arg(func, a);
                        self.compare(event_region(ev), &format!("`{name}`"), &lhs, &rhs);
                    }
                }
                EventKind::Call
                    if matches!(last_segment(name), "cmp" | "partial_cmp" | "max" | "min")
                        && ev.args.len() == 2 =>
                {
                    let lhs = side_of_arg(func, &ev.args[0]);
                    let rhs = side_of_arg(func, &ev.args[1]);
                    let what = format!("`{}`", last_segment(name));
                    self.compare(event_region(ev), &what, &lhs, &rhs);
                }
                _ => {}
            }
        }
    }

    fn recv_type_has(&self, p: &Place, pat: &str) -> bool {
        match &p.root {
            Root::Local { init, ty } => [init, ty]
                .iter()
                .any(|s| s.as_ref().is_some_and(|s| s.contains(pat))),
            Root::Temporary => false,
            Root::Param if !p.text.contains('.') => self
                .func
                .params
                .iter()
                .any(|(n, t)| *n == p.text && t.contains(pat)),
            _ => self.c.cx.index.place_type_is(&p.text, |t| t.contains(pat)),
        }
    }

    fn keys(&mut self) {
        let (c, func) = (self.c, self.func);
        for ev in &func.events {
            if ev.kind != EventKind::MethodCall || self.quiet(&ev.region) {
                continue;
            }
            let name = ev.name.as_str();
            let recv = ev.receiver.as_ref();
            let recv_text = recv.map(|p| p.text.as_str()).unwrap_or("the collection");
            match name {
                "sort_by_key"
                | "sort_unstable_by_key"
                | "sort_by_cached_key"
                | "max_by_key"
                | "min_by_key"
                    if ev.args.len() == 1 && !self.logical =>
                {
                    let a = &ev.args[0];
                    let mut fields: Vec<&Place> = a.fields.iter().collect();
                    conversion_fields(func, &a.deps, &mut fields);
                    let Some((p, s)) = c.wall_field(&fields) else {
                        continue;
                    };
                    let field = member(p).unwrap_or(&p.text).to_string();
                    let label = c.taint_label(func, self.fi, &Taint::Field(p, s));
                    self.emit(
                        event_region(ev),
                        format!(
                            "`{name}` orders by the wall-clock stamp `{field}`; stamps from \
                             nodes with skewed clocks (or taken across an NTP step) come out in \
                             the wrong order"
                        ),
                        format!(
                            "order by a logical clock (a Lamport counter or hybrid logical \
                             clock stored next to `{field}`) or by a sequence assigned by one \
                             authority (database sequence, Raft log index)"
                        ),
                        vec![label],
                    );
                }
                "sort" | "sort_unstable" if ev.args.is_empty() => {
                    let Some(r) = recv else { continue };
                    let pushed = func.events[..ev.id].iter().rev().find_map(|p| {
                        let same = p.kind == EventKind::MethodCall
                            && matches!(
                                p.name.as_str(),
                                "push" | "push_back" | "push_front" | "insert"
                            )
                            && p.receiver.as_ref().is_some_and(|x| x.text == r.text);
                        let a = p.args.last().filter(|_| same)?;
                        let first = a.tuple_elems.first()?;
                        c.taint(func, &side_of_operand(func, first)).map(|t| (p, t))
                    });
                    let Some((push, t)) = pushed else { continue };
                    let labels = vec![
                        Label {
                            region: event_region(push),
                            message: "a tuple starting with a wall-clock reading is added here"
                                .to_string(),
                            file: None,
                        },
                        c.taint_label(func, self.fi, &t),
                    ];
                    self.emit(
                        event_region(ev),
                        format!(
                            "`{recv_text}.{name}()` orders tuples whose first element is a \
                             wall-clock reading; events from skewed clocks replay out of order"
                        ),
                        "put a logical timestamp first (a Lamport counter or hybrid logical \
                         clock, or a sequence assigned by one authority) and keep the wall-clock \
                         time for display"
                            .to_string(),
                        labels,
                    );
                }
                "push" if ev.args.len() == 1 => {
                    let Some(r) = recv.filter(|r| self.recv_type_has(r, "BinaryHeap")) else {
                        continue;
                    };
                    let Some(t) = key_taint(c, func, &ev.args[0]) else {
                        continue;
                    };
                    let labels = vec![c.taint_label(func, self.fi, &t)];
                    self.ordered_key(ev, &r.text, "priority", labels);
                }
                "insert" | "entry" if !ev.args.is_empty() && ev.args.len() <= 2 => {
                    let Some(r) = recv else { continue };
                    if self.recv_type_has(r, "BTreeMap") || self.recv_type_has(r, "BTreeSet") {
                        let Some(t) = key_taint(c, func, &ev.args[0]) else {
                            continue;
                        };
                        let labels = vec![c.taint_label(func, self.fi, &t)];
                        self.ordered_key(ev, &r.text, "key", labels);
                    } else if name == "insert" && ev.args.len() == 2 && self.recv_type_has(r, "Map")
                    {
                        let key = &ev.args[0];
                        let Some(src) = c.local_source(func, &key.deps) else {
                            continue;
                        };
                        if exempt_id(func, &key.deps) {
                            continue;
                        }
                        let labels = vec![c.taint_label(func, self.fi, &Taint::Local(src))];
                        self.emit(
                            event_region(ev),
                            format!(
                                "the key `{}` of `{}` is made from a wall-clock reading; two \
                                 nodes, or one clock stepped back by NTP, produce the same key \
                                 and one entry overwrites the other",
                                key.text.trim_start_matches('&'),
                                r.text
                            ),
                            id_help(),
                            labels,
                        );
                    }
                }
                _ => {}
            }
        }
    }

    fn ordered_key(&mut self, ev: &Event, recv: &str, what: &str, labels: Vec<Label>) {
        self.emit(
            event_region(ev),
            format!(
                "`{recv}` is ordered by a wall-clock reading used as its {what}; entries from \
                 nodes with skewed clocks (or taken across an NTP step) come out in the wrong \
                 order"
            ),
            format!(
                "key `{recv}` by a logical timestamp (a Lamport counter or hybrid logical clock) \
                 or a sequence assigned by one authority; use `Instant` for local deadlines"
            ),
            labels,
        );
    }

    fn ids(&mut self) {
        let (c, func) = (self.c, self.func);
        let mut reported: HashSet<EventId> = HashSet::new();
        let mut cands: Vec<(Region, &str, &Deps)> = Vec::new();
        for b in &func.bindings {
            cands.push((b.region, &b.name, &b.deps));
        }
        for init in &func.field_inits {
            cands.push((init.region, &init.field, &init.deps));
        }
        for ev in &func.events {
            if let (EventKind::Assign { .. }, Some(m), Some(a)) = (
                &ev.kind,
                ev.receiver.as_ref().and_then(member),
                ev.args.first(),
            ) {
                cands.push((ev.region, m, &a.deps));
            }
        }
        cands.sort_by_key(|(r, _, _)| (r.line, r.column));
        for (region, name, deps) in cands {
            if !id_ish(name) || self.quiet(&region) {
                continue;
            }
            let Some(src) = c.local_source(func, deps) else {
                continue;
            };
            if exempt_id(func, deps) || !reported.insert(src) {
                continue;
            }
            let labels = vec![c.taint_label(func, self.fi, &Taint::Local(src))];
            self.emit(
                region,
                format!(
                    "`{name}` is made from a wall-clock reading; two nodes, or one clock stepped \
                     back by NTP, produce the same or a smaller value"
                ),
                id_help(),
                labels,
            );
        }
    }
}

/// The taint of an ordered key: a tuple's first element, `Reverse(k)`'s `k`.
fn key_taint<'p>(c: &'p Crate<'_>, func: &'p FnFacts, a: &'p Arg) -> Option<Taint<'p>> {
    if let Some(first) = a.tuple_elems.first() {
        return c.taint(func, &side_of_operand(func, first));
    }
    if a.text.starts_with("Reverse(") || a.text.starts_with("std::cmp::Reverse(") {
        let inner = a.deps.iter().rev().map(|&id| &func.events[id]).find(|e| {
            e.kind == EventKind::Call && last_segment(&e.name) == "Reverse" && e.args.len() == 1
        })?;
        return key_taint(c, func, &inner.args[0]);
    }
    c.taint(func, &side_of_arg(func, a))
}

fn id_help() -> String {
    "draw identifiers from a counter (`AtomicU64::fetch_add`), a database sequence or a \
     random/ULID-style generator with a random part; use a Lamport counter or version vector \
     for versions"
        .to_string()
}

impl Rule for WallClockOrdering {
    fn meta(&self) -> &'static RuleMeta {
        &WALL_CLOCK_ORDERING
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        let c = Crate::new(cx);
        let mut seen = HashSet::new();
        for (fi, file) in cx.files.iter().enumerate() {
            for func in &file.facts.functions {
                let text = file
                    .source
                    .region_text(&func.item_region)
                    .to_ascii_lowercase();
                let lname = func.name.to_ascii_lowercase();
                let mut ctx = Ctx {
                    c: &c,
                    fi,
                    file,
                    func,
                    leeway: LEEWAY.iter().any(|w| text.contains(w)),
                    logical: LOGICAL_CLOCK.iter().any(|w| lname.contains(w)),
                    quiet_regions: func
                        .events
                        .iter()
                        .filter(|ev| {
                            let n = last_segment(&ev.name);
                            ev.kind == EventKind::Macro
                                && (n.contains("assert") || QUIET_MACROS.contains(&n))
                        })
                        .map(|ev| ev.region)
                        .collect(),
                    seen: &mut seen,
                    out,
                };
                ctx.comparisons();
                ctx.keys();
                ctx.ids();
            }
            // A derived order whose first field is a wall-clock stamp, on a struct whose values
            // are put in order somewhere in the crate.
            for s in &file.facts.structs {
                if !s.derives.iter().any(|d| d == "Ord" || d == "PartialOrd")
                    || c.hlc.contains(&s.name)
                {
                    continue;
                }
                let Some(used) = cx.index.ordered.get(&s.name) else {
                    continue;
                };
                let Some(first) = s.fields.first() else {
                    continue;
                };
                let Some(stamp) = c.wall_fields.get(first).and_then(|v| {
                    v.iter()
                        .find(|st| st.strukt.as_deref() == Some(s.name.as_str()))
                        .or_else(|| {
                            let only_here = cx
                                .index
                                .fields
                                .get(first)
                                .is_some_and(|d| d.iter().all(|d| d.strukt == s.name));
                            v.iter().find(|st| st.strukt.is_none() && only_here)
                        })
                }) else {
                    continue;
                };
                if !seen.insert((fi, s.region.line, s.region.column)) {
                    continue;
                }
                let which = if s.derives.iter().any(|d| d == "Ord") {
                    "Ord"
                } else {
                    "PartialOrd"
                };
                let mut f = finding(
                    &WALL_CLOCK_ORDERING,
                    file,
                    s.region,
                    format!(
                        "`{}` derives `{which}` with the wall-clock stamp `{first}` as its first \
                         field; comparing or sorting `{}` values orders them by clock reading",
                        s.name, s.name
                    ),
                    format!(
                        "put a logical timestamp first (a Lamport counter or hybrid logical \
                         clock) or implement `{which}` by hand on a sequence assigned by one \
                         authority; keep `{first}` for display"
                    ),
                );
                f.labels.push(Label {
                    region: stamp.region,
                    message: format!("`{first}` is stamped from the wall clock here"),
                    file: (stamp.file != fi).then(|| cx.files[stamp.file].source.rel.clone()),
                });
                f.labels.push(Label {
                    region: used.region,
                    message: format!("`{}` values are ordered here ({})", s.name, used.how),
                    file: (used.file != fi).then(|| cx.files[used.file].source.rel.clone()),
                });
                out.push(f);
            }
        }
    }
}
