//! Where wall-clock readings come from and where they flow: the clock calls themselves, the
//! crate functions that return a reading (a fixpoint over calls), the struct fields stamped
//! from a reading anywhere in the crate, and the field reads that carry one through time
//! conversions. [`Crate`] holds these crate-wide facts for the other parts of the rule.

use super::ids::id_ish;
use crate::analysis::{last_segment, Arg, Deps, Event, EventId, EventKind, FnFacts, Place, Root};
use crate::finding::{Label, Region};
use crate::index::{FnKey, FnRef};
use crate::rules::{event_region, CrateContext};
use std::collections::{HashMap, HashSet};

/// `Type::fn` paths (last two segments) that read the wall clock.
pub(super) const SOURCE_CALLS: &[&str] = &[
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
pub(super) const CONVERSIONS: &[&str] = &[
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

/// Whether a method's arguments are operands of its result: arithmetic, bounds, fallbacks
/// and the [`CONVERSIONS`].
pub(super) fn operand_method(name: &str) -> bool {
    CONVERSIONS.contains(&name)
        || matches!(
            name,
            "max"
                | "min"
                | "clamp"
                | "add"
                | "sub"
                | "mul"
                | "div"
                | "rem"
                | "pow"
                | "abs_diff"
                | "unwrap_or_else"
                | "or"
                | "or_else"
                | "map_or"
                | "map_or_else"
                | "to_string"
                | "from"
        )
        || ["checked_", "saturating_", "wrapping_", "overflowing_"]
            .iter()
            .any(|p| name.starts_with(p))
}

/// Where a wall-clock field is stamped.
pub(super) struct Stamp {
    pub(super) file: usize,
    pub(super) region: Region,
    pub(super) strukt: Option<String>,
    /// Set when the field is a stamp by its declared wall-clock type (the region is the
    /// declaration), not by an assignment of a reading.
    pub(super) declared: Option<String>,
    /// Stamped as a reading plus a delay (`send_at: SystemTime::now() + delay`): a deadline.
    pub(super) deadline: bool,
}

/// Whether a stamped value adds a delay to the reading (`now + ttl`, `now.checked_add(d)`).
fn adds_delay(text: &str) -> bool {
    text.contains('+') || text.contains("checked_add(") || text.contains("saturating_add(")
}

/// Whether a type as written holds a wall-clock time wherever its value comes from
/// (deserialised, pattern-bound, an element of a `VecDeque<(K, SystemTime)>`): std's
/// `SystemTime`, chrono's `DateTime<Tz>` / `NaiveDateTime`, time's `OffsetDateTime` /
/// `UtcDateTime` / `PrimitiveDateTime`, jiff's `Timestamp` / `Zoned`, and `UnixTime`
/// (rustls-pki-types).
pub(super) fn wall_clock_type(t: &str) -> bool {
    t.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| {
            matches!(
                w,
                "SystemTime"
                    | "DateTime"
                    | "NaiveDateTime"
                    | "OffsetDateTime"
                    | "UtcDateTime"
                    | "PrimitiveDateTime"
                    | "Timestamp"
                    | "Zoned"
                    | "UnixTime"
            )
        })
}

/// Why a value is a wall-clock reading.
pub(super) enum Taint<'a> {
    /// A reading (or a call of a crate function returning one) in this function.
    Local(EventId),
    /// A read of a wall-clock field.
    Field(&'a Place, &'a Stamp),
}

/// One side of a comparison: its text, the events flowing into it, the fields it reads.
pub(super) struct Side<'a> {
    pub(super) text: String,
    pub(super) deps: &'a Deps,
    pub(super) fields: Vec<&'a Place>,
}

pub(super) struct Crate<'a, 'c> {
    pub(super) cx: &'a CrateContext<'c>,
    /// Functions whose return value is a wall-clock reading.
    pub(super) wall_fns: HashSet<FnKey>,
    /// Field name → where it is stamped from the wall clock.
    pub(super) wall_fields: HashMap<String, Vec<Stamp>>,
    /// Per function: which of its events are wall-clock readings. Filled once the fixpoint
    /// is done.
    pub(super) sources: HashMap<FnKey, Vec<bool>>,
    /// Structs that are hybrid-logical-clock stamps (their values are not wall-clock readings).
    pub(super) hlc: HashSet<String>,
}

pub(super) fn last_two(s: &str) -> String {
    let segs: Vec<&str> = s.split("::").collect();
    segs[segs.len().saturating_sub(2)..].join("::")
}

/// The member a field place reads (`self.entry.written_at` → `written_at`), if it is a field.
pub(super) fn member(p: &Place) -> Option<&str> {
    if p.text.ends_with("[]") {
        return None;
    }
    let (_, m) = p.text.rsplit_once('.')?;
    (!m.is_empty() && !m.chars().all(|c| c.is_ascii_digit())).then_some(m)
}

pub(super) fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect()
}

pub(super) fn is_direct_source(ev: &Event) -> bool {
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
pub(super) fn returns_stamp_type(hlc: &HashSet<String>, func: &FnFacts) -> bool {
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
pub(super) fn logical_clock_type(hlc: &HashSet<String>, ty: &str) -> bool {
    ty.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| hlc.contains(w))
}

impl<'a, 'c> Crate<'a, 'c> {
    /// The crate's wall-clock functions and fields. A hybrid logical clock is recognized from
    /// where its physical part is stamped, which needs the wall-clock functions first: a first
    /// build treats no struct as one, and when it finds any, a second build leaves them out.
    pub(super) fn new(cx: &'a CrateContext<'c>) -> Crate<'a, 'c> {
        let c = Crate::build(cx, HashSet::new());
        let hlc = c.hlc_structs();
        if hlc.is_empty() {
            c
        } else {
            Crate::build(cx, hlc)
        }
    }

    pub(super) fn build(cx: &'a CrateContext<'c>, hlc: HashSet<String>) -> Crate<'a, 'c> {
        let mut c = Crate {
            cx,
            wall_fns: HashSet::new(),
            wall_fields: HashMap::new(),
            sources: HashMap::new(),
            hlc,
        };
        c.find_wall_functions();
        c.sources = cx
            .keyed_functions()
            .map(|(_, func)| {
                let v: Vec<bool> = func.events.iter().map(|e| c.is_source(&func, e)).collect();
                (func.key, v)
            })
            .collect();
        c.wall_fields = c.stamped_fields();
        c
    }

    /// Functions returning a reading: a fixpoint over calls inside the crate.
    pub(super) fn find_wall_functions(&mut self) {
        for _ in 0..8 {
            let mut changed = false;
            for (_, func) in self.cx.keyed_functions() {
                if self.wall_fns.contains(&func.key) || !returns_stamp_type(&self.hlc, &func) {
                    continue;
                }
                // A function converting a parameter of a wall-clock type (`fn to_millis(t:
                // &SystemTime) -> u64`) returns a reading only when given one: not a source.
                if func
                    .returns
                    .iter()
                    .any(|&id| self.reads_clock(&func, &func.events[id]))
                {
                    self.wall_fns.insert(func.key);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Fields stamped from a reading (struct literals and field assignments), minus the names
    /// that are ids, `Instant`s, `Duration`s or hybrid logical clocks, and names several
    /// structs declare of which not all are stamped.
    pub(super) fn stamped_fields(&self) -> HashMap<String, Vec<Stamp>> {
        let (c, cx) = (self, self.cx);
        let mut fields: HashMap<String, Vec<Stamp>> = HashMap::new();
        for (_, func) in cx.keyed_functions() {
            let fi = func.key.file;
            for init in &func.field_inits {
                if c.local_source(func, &init.deps).is_some() {
                    let strukt = if init.strukt == "Self" {
                        func.owner().map(str::to_string)
                    } else {
                        Some(init.strukt.clone())
                    };
                    fields.entry(init.field.clone()).or_default().push(Stamp {
                        file: fi,
                        region: init.region,
                        strukt,
                        declared: None,
                        deadline: adds_delay(&init.text),
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
                        strukt: func.owner().filter(|_| on_self).map(str::to_string),
                        declared: None,
                        deadline: ev.args.first().is_some_and(|a| adds_delay(&a.text)),
                    });
                }
            }
        }
        // A field declared with a wall-clock type is a stamp by its type (after any stamp
        // by assignment, which makes the better label).
        for (fi, file) in cx.files.iter().enumerate() {
            for d in &file.facts.fields {
                if wall_clock_type(&d.ty) && !d.ty.contains("Instant") {
                    fields.entry(d.field.clone()).or_default().push(Stamp {
                        file: fi,
                        region: d.region,
                        strukt: Some(d.strukt.clone()),
                        declared: Some(d.ty.clone()),
                        deadline: false,
                    });
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
        fields
    }
}

impl Crate<'_, '_> {
    /// Whether the event's value is a wall-clock reading: [`Crate::reads_clock`], or a
    /// conversion of a parameter or local of a wall-clock type.
    pub(super) fn is_source(&self, func: &FnFacts, ev: &Event) -> bool {
        if self.reads_clock(func, ev) {
            return true;
        }
        // A parameter or local of a wall-clock type, converted (`now.as_secs()` with
        // `now: UnixTime`, `t.duration_since(UNIX_EPOCH)` with `t: SystemTime`): a reading
        // passed in.
        if ev.kind == EventKind::MethodCall && CONVERSIONS.contains(&ev.name.as_str()) {
            if let Some(r) = ev.receiver.as_ref().filter(|r| {
                matches!(r.root, Root::Param | Root::Local { .. }) && !r.text.contains('.')
            }) {
                return self.cx.index.type_is(func, r, wall_clock_type);
            }
        }
        false
    }

    /// Whether the event reads the clock: a clock call, `elapsed()` of a `SystemTime` field,
    /// or a call of a crate function returning a reading.
    pub(super) fn reads_clock(&self, func: &FnFacts, ev: &Event) -> bool {
        if is_direct_source(ev) {
            return true;
        }
        // `stamp.elapsed()` on a `SystemTime` field reads the clock too.
        if ev.kind == EventKind::MethodCall && ev.name == "elapsed" && ev.args.is_empty() {
            if let Some(r) = ev.receiver.as_ref().filter(|r| member(r).is_some()) {
                if self.cx.index.type_is(func, r, |t| t.contains("SystemTime")) {
                    return true;
                }
            }
        }
        // (Most crates have no wall-clock function: then no call can be one.)
        if !matches!(ev.kind, EventKind::Call | EventKind::MethodCall) || self.wall_fns.is_empty() {
            return false;
        }
        let callees = self.cx.index.callees(func, ev);
        !callees.is_empty() && callees.iter().all(|k| self.wall_fns.contains(k))
    }

    /// The first wall-clock reading among `deps`.
    pub(super) fn local_source(&self, func: FnRef<'_>, deps: &Deps) -> Option<EventId> {
        if let Some(v) = self.sources.get(&func.key) {
            return deps.iter().copied().find(|&id| v[id]);
        }
        deps.iter()
            .copied()
            .find(|&id| self.is_source(func.facts, &func.events[id]))
    }

    /// The first reading among `deps` that reaches the value itself. A method's result
    /// derives from its receiver, not from its arguments: a reading that only went into an
    /// argument of a method call on something else (`ctx.create_stream(Ulid::generate())`
    /// returns a slab index, `query.bind(now)` a query, `heartbeat.eq(now)` a filter) stops
    /// there — except for the methods whose arguments are operands of the result
    /// ([`operand_method`]: `a.max(now)`, `x.saturating_sub(now)`, `opt.unwrap_or(now)`).
    pub(super) fn reaching_source(&self, func: FnRef<'_>, deps: &Deps) -> Option<EventId> {
        let is_src = |id: EventId| match self.sources.get(&func.key) {
            Some(v) => v[id],
            None => self.is_source(func.facts, &func.events[id]),
        };
        let barriers: Vec<&Event> = deps
            .iter()
            .map(|&id| &func.events[id])
            .filter(|e| e.kind == EventKind::MethodCall && !operand_method(&e.name))
            .filter(|e| !is_src(e.id))
            .collect();
        deps.iter().copied().find(|&id| {
            is_src(id)
                && !barriers
                    .iter()
                    .any(|b| b.data_deps.contains(&id) && !b.receiver_deps.contains(&id))
        })
    }

    /// Whether the reading `src` reaches the value written as `text` at `region` other than
    /// through locals that hold one unstamped field (`let id = pasta.id;` then
    /// `encrypt(id.to_string())`: the reading went into `pasta.created`, not `pasta.id`).
    /// The reading is inside the value itself, or a local the value names carries it and is
    /// not such a field read.
    pub(super) fn reaches(
        &self,
        func: FnRef<'_>,
        src: EventId,
        region: &Region,
        text: &str,
    ) -> bool {
        if region.contains(&func.events[src].region) {
            return true;
        }
        let mut via_field = false;
        let mut names: Vec<&str> = text
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .filter(|w| !w.is_empty())
            .collect();
        names.dedup();
        for n in names {
            let Some(b) = func.binding_at(n, region) else {
                continue;
            };
            if !b.deps.contains(&src) {
                continue;
            }
            match &b.field {
                Some(p) if self.wall_field(&[p]).is_none() => via_field = true,
                _ => return true,
            }
        }
        !via_field
    }

    /// The first wall-clock field among `fields`.
    pub(super) fn wall_field<'p>(&'p self, fields: &[&'p Place]) -> Option<(&'p Place, &'p Stamp)> {
        fields.iter().find_map(|p| {
            let stamps = self.wall_fields.get(member(p)?)?;
            Some((*p, stamps.first()?))
        })
    }

    pub(super) fn taint<'p>(&'p self, func: FnRef<'_>, side: &Side<'p>) -> Option<Taint<'p>> {
        if let Some(id) = self.local_source(func, side.deps) {
            return Some(Taint::Local(id));
        }
        self.wall_field(&side.fields)
            .map(|(p, s)| Taint::Field(p, s))
    }

    /// A label pointing at where a taint comes from.
    pub(super) fn taint_label(&self, func: &FnFacts, file: usize, t: &Taint<'_>) -> Label {
        match t {
            Taint::Local(id) => {
                let ev = &func.events[*id];
                let message = if is_direct_source(ev) {
                    "the wall clock is read here".to_string()
                } else if !self.reads_clock(func, ev) {
                    format!(
                        "`{}` holds a wall-clock time (by its type)",
                        ev.receiver
                            .as_ref()
                            .map_or("the receiver", |r| r.text.as_str())
                    )
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
                message: match &stamp.declared {
                    Some(ty) => format!(
                        "`{}` is declared as `{ty}` here",
                        member(p).unwrap_or(&p.text)
                    ),
                    None => format!(
                        "`{}` is stamped from the wall clock here",
                        member(p).unwrap_or(&p.text)
                    ),
                },
                file: (stamp.file != file).then(|| self.cx.files[stamp.file].source.rel.clone()),
            },
        }
    }
}

/// Field reads of `deps` through time conversions (`a.ts.as_millis()`,
/// `now.duration_since(token.iat)`).
pub(super) fn conversion_fields<'a>(func: &'a FnFacts, deps: &Deps, out: &mut Vec<&'a Place>) {
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

pub(super) fn side_of_operand<'a>(func: &'a FnFacts, op: &'a crate::analysis::Operand) -> Side<'a> {
    let mut fields: Vec<&Place> = op.fields.iter().collect();
    conversion_fields(func, &op.deps, &mut fields);
    Side {
        text: op.text.clone(),
        deps: &op.deps,
        fields,
    }
}

pub(super) fn side_of_arg<'a>(func: &'a FnFacts, a: &'a Arg) -> Side<'a> {
    let mut fields: Vec<&Place> = a.fields.iter().collect();
    conversion_fields(func, &a.deps, &mut fields);
    Side {
        text: a.text.trim_start_matches('&').to_string(),
        deps: &a.deps,
        fields,
    }
}

pub(super) fn side_of_receiver<'a>(func: &'a FnFacts, ev: &'a Event, text: String) -> Side<'a> {
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
