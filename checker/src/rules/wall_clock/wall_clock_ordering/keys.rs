//! The ordering-key sink: sorts and `max_by_key` by a stamp, `.sort()` of tuples that start
//! with a reading, `BinaryHeap` priorities, `BTreeMap`/`BTreeSet` keys, and hash-map keys made
//! from a reading.

use super::ids::{exempt_id, id_help};
use super::taint::{conversion_fields, member, side_of_arg, side_of_operand, Crate, Taint};
use super::Ctx;
use crate::analysis::{last_segment, Arg, Event, EventKind, Place, Root};
use crate::finding::Label;
use crate::index::FnRef;
use crate::rules::event_region;

impl Ctx<'_, '_, '_> {
    pub(super) fn recv_type_has(&self, p: &Place, pat: &str) -> bool {
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
            _ => self
                .c
                .cx
                .index
                .type_is(self.func.facts, p, |t| t.contains(pat)),
        }
    }

    pub(super) fn keys(&mut self) {
        let (c, func) = (self.c, self.func);
        for ev in &func.events {
            if ev.kind != EventKind::MethodCall || self.quiet(&ev.region) {
                continue;
            }
            let name = ev.name.as_str();
            let recv = ev.receiver.as_ref();
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
                    conversion_fields(func.facts, &a.deps, &mut fields);
                    let Some((p, s)) = c.wall_field(&fields) else {
                        continue;
                    };
                    let field = member(p).unwrap_or(&p.text).to_string();
                    let label = c.taint_label(func.facts, self.fi, &Taint::Field(p, s));
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
                    if let Some(r) = recv {
                        self.sorted_tuples(ev, r);
                    }
                }
                "push" if ev.args.len() == 1 => {
                    let Some(r) = recv.filter(|r| self.recv_type_has(r, "BinaryHeap")) else {
                        continue;
                    };
                    let Some(t) = key_taint(c, func, &ev.args[0]) else {
                        continue;
                    };
                    let labels = vec![c.taint_label(func.facts, self.fi, &t)];
                    self.ordered_key(ev, &r.text, "priority", labels);
                }
                "insert" | "entry" if !ev.args.is_empty() && ev.args.len() <= 2 => {
                    let Some(r) = recv else { continue };
                    if self.recv_type_has(r, "BTreeMap") || self.recv_type_has(r, "BTreeSet") {
                        let Some(t) = key_taint(c, func, &ev.args[0]) else {
                            continue;
                        };
                        let labels = vec![c.taint_label(func.facts, self.fi, &t)];
                        self.ordered_key(ev, &r.text, "key", labels);
                    } else if name == "insert" && ev.args.len() == 2 && self.recv_type_has(r, "Map")
                    {
                        let key = &ev.args[0];
                        let Some(src) = c.local_source(func, &key.deps) else {
                            continue;
                        };
                        if exempt_id(func.facts, &key.deps) {
                            continue;
                        }
                        let labels = vec![c.taint_label(func.facts, self.fi, &Taint::Local(src))];
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

    /// `.sort()` of a collection whose last push added a tuple starting with a reading.
    fn sorted_tuples(&mut self, ev: &Event, r: &Place) {
        let (c, func) = (self.c, self.func);
        let (name, recv_text) = (ev.name.as_str(), r.text.as_str());
        let pushed = func.events[..ev.id].iter().rev().find_map(|p| {
            let same = p.kind == EventKind::MethodCall
                && matches!(
                    p.name.as_str(),
                    "push" | "push_back" | "push_front" | "insert"
                )
                && p.receiver.as_ref().is_some_and(|x| x.text == r.text);
            let a = p.args.last().filter(|_| same)?;
            let first = a.tuple_elems.first()?;
            c.taint(func, &side_of_operand(func.facts, first))
                .map(|t| (p, t))
        });
        let Some((push, t)) = pushed else { return };
        let labels = vec![
            Label {
                region: event_region(push),
                message: "a tuple starting with a wall-clock reading is added here".to_string(),
                file: None,
            },
            c.taint_label(func.facts, self.fi, &t),
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

    pub(super) fn ordered_key(&mut self, ev: &Event, recv: &str, what: &str, labels: Vec<Label>) {
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
}

/// The taint of an ordered key: a tuple's first element, `Reverse(k)`'s `k`.
pub(super) fn key_taint<'p>(
    c: &'p Crate<'_, '_>,
    func: FnRef<'p>,
    a: &'p Arg,
) -> Option<Taint<'p>> {
    if let Some(first) = a.tuple_elems.first() {
        return c.taint(func, &side_of_operand(func.facts, first));
    }
    if a.text.starts_with("Reverse(") || a.text.starts_with("std::cmp::Reverse(") {
        let inner = a
            .deps
            .iter()
            .rev()
            .map(|&id| &func.facts.events[id])
            .find(|e| {
                e.kind == EventKind::Call && last_segment(&e.name) == "Reverse" && e.args.len() == 1
            })?;
        return key_taint(c, func, &inner.args[0]);
    }
    c.taint(func, &side_of_arg(func.facts, a))
}
