//! The comparison sink: `<`, `cmp`, `max`, … of two wall-clock stamps (last write wins), and an
//! expiry check of a time that came from elsewhere against the local clock.

use super::taint::{member, side_of_arg, side_of_operand, side_of_receiver, words, Side, Taint};
use super::Ctx;
use crate::analysis::{last_segment, EventKind, Place, Root};
use crate::finding::Region;
use crate::rules::event_region;

/// A field read that holds a time that came from elsewhere: `token.exp`, `claims.nbf`,
/// `msg.sent_at`, `row.expires_at` (not a field of `self`).
pub(super) fn foreign_time_field<'p>(fields: &[&'p Place]) -> Option<&'p Place> {
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

impl Ctx<'_, '_> {
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
        let labels = vec![c.taint_label(func.facts, self.fi, &Taint::Local(src))];
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
