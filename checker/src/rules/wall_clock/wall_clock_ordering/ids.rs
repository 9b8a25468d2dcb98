//! The identity sink: identifiers, keys, sequence numbers and versions made from a reading.

use super::taint::{member, words, Taint};
use super::Ctx;
use crate::analysis::{last_segment, Deps, EventId, EventKind, FnFacts, Place};
use crate::finding::Region;
use std::collections::HashSet;

/// Whether `name` names an identifier, key, sequence number or version.
pub(super) fn id_ish(name: &str) -> bool {
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
pub(super) fn exempt_id(func: &FnFacts, deps: &Deps) -> bool {
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

impl Ctx<'_, '_, '_> {
    pub(super) fn ids(&mut self) {
        let (c, func) = (self.c, self.func);
        let mut reported: HashSet<EventId> = HashSet::new();
        let mut reported_fields: HashSet<String> = HashSet::new();
        // (where, name, deps of the value, the value when it is a field read, the value's
        // region and text when known)
        type Cand<'a> = (
            Region,
            &'a str,
            &'a Deps,
            Option<&'a Place>,
            Option<(Region, &'a str)>,
        );
        let mut cands: Vec<Cand<'_>> = Vec::new();
        for b in &func.bindings {
            cands.push((b.region, &b.name, &b.deps, b.field.as_ref(), None));
        }
        for init in &func.field_inits {
            let value = Some((init.region, init.text.as_str()));
            cands.push((
                init.region,
                &init.field,
                &init.deps,
                init.field_read.as_ref(),
                value,
            ));
        }
        for ev in &func.events {
            if let (EventKind::Assign { .. }, Some(m), Some(a)) = (
                &ev.kind,
                ev.receiver.as_ref().and_then(member),
                ev.args.first(),
            ) {
                let value = Some((a.region, a.text.as_str()));
                cands.push((ev.region, m, &a.deps, None, value));
            }
        }
        cands.sort_by_key(|c| c.0.start());
        for (region, name, deps, field, value) in cands {
            if !id_ish(name) || self.quiet(&region) {
                continue;
            }
            // Field-sensitive: `let id = row.id` holds the row's `id`, whatever else of `row`
            // came from the clock; it is a reading only when that field is stamped.
            let taint = match field {
                Some(p) => match c.wall_field(&[p]) {
                    Some((p, s)) if reported_fields.insert(p.text.clone()) => Taint::Field(p, s),
                    _ => continue,
                },
                None => {
                    let Some(src) = c.reaching_source(func, deps) else {
                        continue;
                    };
                    if value.is_some_and(|(r, t)| !c.reaches(func, src, &r, t)) {
                        continue;
                    }
                    if exempt_id(func.facts, deps) || !reported.insert(src) {
                        continue;
                    }
                    Taint::Local(src)
                }
            };
            let labels = vec![c.taint_label(func.facts, self.fi, &taint)];
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

pub(super) fn id_help() -> String {
    "draw identifiers from a counter (`AtomicU64::fetch_add`), a database sequence or a \
     random/ULID-style generator with a random part; use a Lamport counter or version vector \
     for versions"
        .to_string()
}
