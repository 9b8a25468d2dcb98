//! The `wall-clock-ordering` rule. Its parts: [`taint`] (where readings come from and flow),
//! [`hlc`] (hybrid logical clocks, which are not stamps), and one module per sink:
//! [`compare`], [`keys`], [`ids`], [`derived_ord`].

mod compare;
mod derived_ord;
mod hlc;
mod ids;
mod keys;
mod taint;

use crate::analysis::{last_segment, EventKind};
use crate::declare_rule;
use crate::finding::{Finding, Label, Region};
use crate::index::FnRef;
use crate::rules::{finding, CrateContext, FileCx, Rule, RuleMeta};
use std::collections::HashSet;
use taint::Crate;

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
    ///   `msg.sent_at`, `row.expires_at`, a claim looked up by name as in `claims.get("exp")`,
    ///   an expiry method of a token such as `self.expiry_date()` in `impl AccessToken`)
    ///   against the local clock with no skew allowance, or with a leeway whose default (in
    ///   the crate's `Default` impl) is zero;
    /// * a deadline kept in memory only (a field named for expiry, or stamped as a reading
    ///   plus a delay: `fire_at: SystemTime::now() + delay`, on structs that derive no
    ///   serialization or database trait) checked against the wall clock with `<`, `lt`, `cmp`,
    ///   …: a clock step fires it early or holds it back, and an `Instant` would not step.
    ///
    /// A value is a wall-clock time by where it comes from *and* by its type: a field, parameter
    /// or local declared as `SystemTime`, chrono's `DateTime<Tz>`/`NaiveDateTime`, time's
    /// `OffsetDateTime`/`UtcDateTime`/`PrimitiveDateTime`, jiff's `Timestamp`/`Zoned` or
    /// `UnixTime` is a stamp wherever its value came from (deserialised, passed in). Taint is
    /// field- and tuple-sensitive where it decides identities: `let id = row.id` holds the
    /// row's `id`, not the clock reading that went into `row.created`; `let (ts, id) = (now(),
    /// next())` binds each element to its own value; a reading passed as an argument to a
    /// method on something else (`ctx.create_stream(ulid)`, `query.bind(now)`) does not reach
    /// the method's result, except for arithmetic and fallbacks (`a.max(now)`,
    /// `x.saturating_sub(now)`, `opt.unwrap_or(now)`).
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
    /// is followed through plain `let` bindings, `let (a, b) = …` of a tuple (or of a block
    /// ending in one) element by element, and one-payload patterns (`Until(t) => …`), not
    /// through other destructuring, reassignment or calls. Wall-clock functions are found through calls inside the crate only, and a method
    /// counts only when every method of that name in the crate returns a reading;
    /// `x.elapsed()` counts when `x` is a field declared as a `SystemTime`.
    /// Comparisons of a local reading with a field of `self` (a same-node TTL or rate limit)
    /// are not reported unless the field is an in-memory deadline (above); elapsed-time checks
    /// that add the delay in the comparison (`now > self.last_flush + 1_000`) are not
    /// reported. Whether a struct is in memory only is read from its derives (`Serialize`,
    /// `Deserialize`, `FromRow`, `Queryable`, prost's `Message`, …), not from how its values
    /// travel. An expiry check counts as "from elsewhere" by its names (`exp`,
    /// `expires_at`, `not_before`, or a `_at`/`ts` field of a token, message, row, request…),
    /// and any mention of a leeway/skew/tolerance/grace term in the function, or an explicit
    /// margin in the comparison (`exp - Duration::minutes(1) <= now`, `now + MARGIN`), counts
    /// as a skew allowance. In test code (`#[cfg(test)]`, `#[test]`, `tests/`, `benches/`,
    /// `xtask/`) the rule is off by default: `[test-code] wall-clock = true` turns it on. Functions named like logical-clock code (`hlc`, `lamport`, `logical`, …) are
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
    /// `impl PartialOrd`) define the order rather than use it (no comparison inside an
    /// `Ord`/`PartialOrd` method of an impl is reported). The sink does not follow which
    /// values are ordered: a struct whose clock-made values are only printed while other values
    /// of it (parsed, say) are sorted is still reported.
    pub static WALL_CLOCK_ORDERING = {
        name: "wall-clock-ordering",
        group: WallClock,
        level: Warn,
        summary: "a wall-clock reading decides an order, an identity or a cross-node expiry",
    };
}

pub struct WallClockOrdering;

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
pub(super) const LEEWAY: &[&str] = &[
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

struct Ctx<'a, 'c, 'x> {
    c: &'c Crate<'a, 'x>,
    fi: usize,
    file: &'a FileCx<'a>,
    func: FnRef<'a>,
    /// Whether the function mentions a skew allowance.
    leeway: bool,
    logical: bool,
    /// Regions of assertion, logging and formatting macros in the function.
    quiet_regions: Vec<Region>,
    seen: &'c mut HashSet<(usize, usize, usize)>,
    out: &'c mut Vec<Finding>,
}

impl Ctx<'_, '_, '_> {
    fn quiet(&self, r: &Region) -> bool {
        self.quiet_regions.iter().any(|q| q.contains(r))
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
}

impl Rule for WallClockOrdering {
    fn meta(&self) -> &'static RuleMeta {
        &WALL_CLOCK_ORDERING
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        let c = Crate::new(cx);
        let mut seen = HashSet::new();
        for (fi, file) in cx.files.iter().enumerate() {
            for (i, facts) in file.facts.functions.iter().enumerate() {
                let func = FnRef {
                    key: crate::index::FnKey { file: fi, func: i },
                    facts,
                };
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
                // `impl Ord for T { fn cmp(..) }` defines the order of `T` (a library's own
                // date type, say); the uses of that order are what this rule judges.
                let defines_order = func.owner().is_some()
                    && matches!(
                        func.name.rsplit("::").next().unwrap_or(""),
                        "cmp" | "partial_cmp" | "lt" | "le" | "gt" | "ge" | "max" | "min"
                    );
                if !defines_order {
                    ctx.comparisons();
                }
                ctx.keys();
                ctx.ids();
            }
            derived_ord::check(&c, cx, fi, file, &mut seen, out);
        }
    }
}
