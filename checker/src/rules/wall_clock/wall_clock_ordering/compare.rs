//! The comparison sink: `<`, `cmp`, `max`, … of two wall-clock stamps (last write wins), and an
//! expiry check of a time that came from elsewhere against the local clock.

use super::taint::{
    member, side_of_arg, side_of_operand, side_of_receiver, wall_clock_type, words, Side, Taint,
};
use super::Ctx;
use crate::analysis::FnFacts;
use crate::analysis::{last_segment, EventKind, Place, Root};
use crate::finding::{Label, Region};
use crate::rules::event_region;

/// A field read that holds a time that came from elsewhere: `token.exp`, `claims.nbf`,
/// `msg.sent_at`, `row.expires_at` (not a field of `self`).
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

/// Whether a field read's base names something from elsewhere (`token.exp`, `msg.sent_at`).
fn foreign_base(p: &Place) -> bool {
    let Some(m) = member(p) else {
        return false;
    };
    let base = &p.text[..p.text.len() - m.len()];
    words(base).iter().any(|w| FOREIGN.contains(&w.as_str()))
}

pub(super) fn foreign_time_field<'p>(fields: &[&'p Place]) -> Option<&'p Place> {
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

/// Lowercase words of a name in any case style (`AccessToken` → `access`, `token`).
fn camel_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in s.chars() {
        if (!ch.is_ascii_alphanumeric() || ch.is_ascii_uppercase()) && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if ch.is_ascii_alphanumeric() {
            cur.push(ch.to_ascii_lowercase());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a name says expiry or validity (`exp`, `expiry_date`, `not_before`, `deadline`).
fn expiry_word(name: &str) -> bool {
    words(name).iter().any(|w| STRONG.contains(&w.as_str()))
        || matches!(name, "not_before" | "not_after" | "valid_from" | "valid_to")
}

/// Whether a side carries an explicit margin: it adds or subtracts a `Duration` built in
/// place (`expiry - Duration::minutes(1)`, `now + chrono::Duration::seconds(30)`) or a
/// constant (`now + MARGIN`) — a skew allowance written into the check itself.
fn explicit_margin(func: &FnFacts, side: &Side<'_>) -> bool {
    // (Rendered tokens drop the space next to a parenthesis: `f()- d`.)
    let t = side.text.trim_start_matches('-');
    if !t.contains('+') && !t.replace("->", "").contains('-') {
        return false;
    }
    let duration_call = side.deps.iter().any(|&id| {
        let ev = &func.events[id];
        ev.kind == EventKind::Call
            && (ev.name.contains("Duration::")
                || matches!(
                    last_segment(&ev.name),
                    "from_secs" | "from_millis" | "seconds" | "minutes" | "hours" | "milliseconds"
                ))
    });
    let constant = side
        .text
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| {
            w.len() > 1
                && w.chars().any(|c| c.is_ascii_uppercase())
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        });
    duration_call || constant
}

/// Holders whose values outlive the process or cross the wire: serde, database rows,
/// protobuf, archives. A stamp in such a struct may be read by another node or after a
/// restart, where only the wall clock is meaningful.
const PERSISTED: &[&str] = &[
    "Serialize",
    "Deserialize",
    "FromRow",
    "Queryable",
    "QueryableByName",
    "Insertable",
    "Selectable",
    "AsChangeset",
    "DeriveEntityModel",
    "Message",
    "Archive",
    "Encode",
    "Decode",
    "BorshSerialize",
    "BorshDeserialize",
];

impl Ctx<'_, '_, '_> {
    /// A time from elsewhere that is not a field: a claim looked up by name
    /// (`claims.get("exp")`) or a crate method named for expiry that returns a wall-clock
    /// type on a token, message, session… (`self.expiry_date()` in `impl Token`).
    fn foreign_time_value(&self, side: &Side<'_>) -> Option<String> {
        let (c, func) = (self.c, self.func);
        side.deps.iter().find_map(|&id| {
            let ev = &func.events[id];
            if ev.kind != EventKind::MethodCall {
                return None;
            }
            if matches!(ev.name.as_str(), "get" | "remove" | "get_mut")
                && ev.args.len() == 1
                && ev.args[0].str_lit.as_deref().is_some_and(expiry_word)
            {
                return Some(format!(
                    "{}.{}({})",
                    ev.receiver.as_ref().map_or("_", |r| r.text.as_str()),
                    ev.name,
                    ev.args[0].text
                ));
            }
            if !expiry_word(&ev.name) {
                return None;
            }
            let callees = c.cx.index.callees(func.facts, ev);
            let typed = !callees.is_empty()
                && callees.iter().all(|k| {
                    c.cx.files[k.file].facts.functions[k.func]
                        .ret
                        .as_deref()
                        .is_some_and(wall_clock_type)
                });
            let recv = ev.receiver.as_ref()?;
            let holder = if recv.text == "self" {
                func.owner().unwrap_or("").to_string()
            } else {
                recv.text.clone()
            };
            let foreign = camel_words(&holder)
                .iter()
                .any(|w| FOREIGN.contains(&w.as_str()));
            (typed && foreign).then(|| format!("{}.{}()", recv.text, ev.name))
        })
    }

    /// A leeway the function mentions that is zero unless configured: the field's value in
    /// the crate's `Default` impl is `0` (`Validation { leeway: 0, .. }`). Returns the label
    /// pointing at that default.
    fn zero_default_leeway(&self, sides: [&Side<'_>; 2]) -> Option<Label> {
        let c = self.c;
        let field = sides
            .iter()
            .flat_map(|s| s.fields.iter())
            .filter_map(|p| member(p))
            .find(|m| {
                let m = m.to_ascii_lowercase();
                super::LEEWAY.iter().any(|w| m.contains(w))
            })?;
        c.cx.keyed_functions().find_map(|(_, f)| {
            if !(f.name.ends_with("::default") || f.name == "default") {
                return None;
            }
            let init = f.field_inits.iter().find(|i| {
                i.field == field
                    && matches!(
                        i.text.as_str(),
                        "0" | "0.0" | "0u64" | "0i64" | "Duration::ZERO" | "Duration::from_secs(0)"
                    )
            })?;
            Some(Label {
                region: init.region,
                message: format!("`{field}` defaults to `{}` here", init.text),
                file: (f.key.file != self.fi).then(|| c.cx.files[f.key.file].source.rel.clone()),
            })
        })
    }

    /// Whether every struct that declares the field keeps it in memory only (none derives
    /// a serialization or database trait).
    fn in_memory_field(&self, name: &str) -> bool {
        let index = self.c.cx.index;
        let mut decls = index.fields.get(name).into_iter().flatten().peekable();
        decls.peek().is_some()
            && decls.all(|d| {
                index
                    .structs
                    .get(&d.strukt)
                    .is_some_and(|s| !s.derives.iter().any(|x| PERSISTED.contains(&x.as_str())))
            })
    }

    /// A comparison between two sides (`a < b`, `a.cmp(&b)`, `max(a, b)`).
    pub(super) fn compare(&mut self, region: Region, what: &str, lhs: &Side<'_>, rhs: &Side<'_>) {
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
                    c.taint_label(func.facts, self.fi, &Taint::Field(lp, ls)),
                    c.taint_label(func.facts, self.fi, &Taint::Field(rp, rs)),
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
        let local = c
            .local_source(func, lhs.deps)
            .or_else(|| c.local_source(func, rhs.deps));
        // A deadline or stamp kept in memory, measured against the wall clock: a clock step
        // (NTP, an operator) fires it early or holds it back; `Instant` does not step.
        // Only a deadline (a field named for expiry, or stamped as a reading plus a delay)
        // compared by an ordering operator, and only when nothing says the time crossed
        // nodes (a skew allowance, a token's or message's field); `max`/`min` merge stamps.
        let mut all: Vec<&Place> = lhs.fields.clone();
        all.extend(rhs.fields.iter().copied());
        let ordering = !["max", "min", "clamp"].iter().any(|m| what.contains(m));
        let local_check = ordering && !self.leeway && !all.iter().any(|p| foreign_base(p));
        if let Some(src) = local.filter(|_| local_check) {
            let stamped = [lhs, rhs].into_iter().find_map(|side| {
                let stamps = |m: &str| c.wall_fields.get(m).into_iter().flatten();
                side.fields.iter().copied().find_map(|p| {
                    let m = member(p)?;
                    let st = stamps(m)
                        .find(|s| s.deadline)
                        .or_else(|| stamps(m).next().filter(|_| expiry_word(m)))?;
                    (c.local_source(func, side.deps).is_none() && self.in_memory_field(m))
                        .then_some((p, st))
                })
            });
            if let Some((p, st)) = stamped {
                let field = member(p).unwrap_or(&p.text).to_string();
                let labels = vec![
                    c.taint_label(func.facts, self.fi, &Taint::Local(src)),
                    c.taint_label(func.facts, self.fi, &Taint::Field(p, st)),
                ];
                self.emit(
                    region,
                    format!(
                        "{what} measures the in-memory time `{}` against the wall clock; a \
                         clock step (NTP, an operator) makes it fire early or hold on far too long",
                        p.text
                    ),
                    format!(
                        "keep `{field}` as an `Instant` (`Instant::now() + ttl`, \
                         `since.elapsed()`): it never steps; keep a wall-clock time only for \
                         values that are persisted or sent to another node"
                    ),
                    labels,
                );
                return;
            }
        }
        let mut zero_leeway = None;
        if self.leeway {
            zero_leeway = self.zero_default_leeway([lhs, rhs]);
            if zero_leeway.is_none() {
                return;
            }
        }
        if explicit_margin(func.facts, lhs) || explicit_margin(func.facts, rhs) {
            return;
        }
        let foreign = foreign_time_field(&all)
            .map(|p| p.text.clone())
            .or_else(|| self.foreign_time_value(lhs))
            .or_else(|| self.foreign_time_value(rhs));
        let (Some(src), Some(foreign)) = (local, foreign) else {
            return;
        };
        let mut labels = vec![c.taint_label(func.facts, self.fi, &Taint::Local(src))];
        let allowance = match zero_leeway {
            Some(l) => {
                labels.push(l);
                "a skew allowance that is zero by default"
            }
            None => "no skew allowance",
        };
        self.emit(
            region,
            format!(
                "`{foreign}` came from elsewhere and is checked against this node's wall clock \
                 with {allowance}; a clock running ahead expires it early, one running behind \
                 accepts it late"
            ),
            format!(
                "allow for clock skew in the check (e.g. compare against `{foreign} + LEEWAY`, \
                 as JWT validators do with a few seconds of leeway), or let the issuing node \
                 enforce the expiry; use `Instant` for durations measured on one node"
            ),
            labels,
        );
    }

    pub(super) fn comparisons(&mut self) {
        let func = self.func;
        for cmp in &func.comparisons {
            let lhs = side_of_operand(func.facts, &cmp.lhs);
            let rhs = side_of_operand(func.facts, &cmp.rhs);
            self.compare(cmp.region, &format!("`{}`", cmp.op), &lhs, &rhs);
        }
        for ev in &func.events {
            let name = ev.name.as_str();
            match ev.kind {
                EventKind::MethodCall
                    if matches!(
                        name,
                        "cmp" | "partial_cmp" | "max" | "min" | "clamp" | "lt" | "gt" | "le" | "ge"
                    ) && !ev.args.is_empty() =>
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
                    let lhs = side_of_receiver(func.facts, ev, recv_text);
                    for a in &ev.args {
                        let rhs = side_of_arg(func.facts, a);
                        self.compare(event_region(ev), &format!("`{name}`"), &lhs, &rhs);
                    }
                }
                EventKind::Call
                    if matches!(last_segment(name), "cmp" | "partial_cmp" | "max" | "min")
                        && ev.args.len() == 2 =>
                {
                    let lhs = side_of_arg(func.facts, &ev.args[0]);
                    let rhs = side_of_arg(func.facts, &ev.args[1]);
                    let what = format!("`{}`", last_segment(name));
                    self.compare(event_region(ev), &what, &lhs, &rhs);
                }
                _ => {}
            }
        }
    }
}
