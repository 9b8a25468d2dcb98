//! Hybrid logical clocks: structs whose physical part is stamped from the wall clock but that
//! are ordered causally (the stamp never goes below one seen, a counter orders equal stamps),
//! so neither their values nor their physical field count as wall-clock stamps.

use super::taint::{member, Crate};
use crate::analysis::{last_segment, Deps, EventKind, FnFacts};
use crate::index::FnRef;
use std::collections::HashSet;

/// Integer types a logical counter is declared with.
pub(super) const INT_TYPES: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

/// What follows each read of the field `field` in `text` (`last.wall`, `self.clock.logical`).
pub(super) fn after_field_reads<'t>(text: &'t str, field: &str) -> impl Iterator<Item = &'t str> {
    let pat = format!(".{field}");
    let n = pat.len();
    let starts: Vec<usize> = text.match_indices(&pat).map(|(i, _)| i).collect();
    starts
        .into_iter()
        .map(move |i| &text[i + n..])
        .filter(|rest| !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
}

/// Whether `text` reads the field `field` of some value.
pub(super) fn reads_field(text: &str, field: &str) -> bool {
    after_field_reads(text, field).next().is_some()
}

/// Whether `text` advances a field `field` from its previous value: `last.c + 1`,
/// `self.c += 1`, `prev.c.wrapping_add(1)`.
pub(super) fn advances_field(text: &str, field: &str) -> bool {
    after_field_reads(text, field).any(|rest| {
        let rest = rest.trim_start();
        rest.starts_with('+')
            || ["wrapping_add(", "checked_add(", "saturating_add("]
                .iter()
                .any(|m| rest.strip_prefix('.').is_some_and(|r| r.starts_with(m)))
    })
}

/// A write of a struct field: a field of a struct literal or an assignment to a field.
pub(super) struct FieldWrite<'a> {
    pub(super) field: &'a str,
    pub(super) deps: &'a Deps,
    /// The value as written.
    pub(super) text: &'a str,
    /// The operator of a compound assignment (`+=`).
    pub(super) op: Option<&'a str>,
}

impl Crate<'_, '_> {
    /// The field writes of `func` to the struct `strukt`: its struct literals (`Self { .. }` in
    /// its impl), `self.field = ..` in its impl, and assignments to a field name only `strukt`
    /// declares.
    pub(super) fn writes_of<'f>(&self, func: &'f FnFacts, strukt: &str) -> Vec<FieldWrite<'f>> {
        let only_here = |f: &str| {
            self.cx
                .index
                .fields
                .get(f)
                .is_some_and(|d| d.iter().all(|d| d.strukt == strukt))
        };
        let in_impl = func.owner() == Some(strukt);
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
    pub(super) fn max_merged(&self, func: FnRef<'_>, deps: &Deps, field: &str) -> bool {
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
    pub(super) fn compares_reading_with(&self, func: FnRef<'_>, field: &str) -> bool {
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
    pub(super) fn hlc_structs(&self) -> HashSet<String> {
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

    pub(super) fn is_hlc_pair(&self, strukt: &str, w: &str, c: &str) -> bool {
        let (mut stamped, mut advanced) = (false, false);
        for (file, func) in self.cx.keyed_functions() {
            let writes = self.writes_of(func.facts, strukt);
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
}
