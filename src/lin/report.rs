//! The text of a linearizability violation, in the style of heisen's failure timelines.

use super::search::{History, Order, Violation};
pub(crate) use crate::runner::group;
use std::fmt::{Debug, Write};

/// The history as a timeline: one row per invocation and per response, in the order they
/// happened, indented per thread lane.
pub(crate) fn history<Op: Debug, Ret: Debug>(h: &History<Op, Ret>) -> String {
    let mut rows: Vec<(u64, usize, String)> = Vec::new();
    for e in &h.entries {
        rows.push((e.call, e.lane, format!("call {:?}", e.op)));
        rows.push((e.ret_at, e.lane, format!("ret {:?}", e.ret)));
    }
    rows.sort_by_key(|r| r.0);
    let lanes = rows.iter().map(|r| r.1).max().unwrap_or(0) + 1;
    let mut out = String::from("  threads:");
    for l in 0..lanes {
        let _ = write!(out, " T{l}{}", if l == 0 { " (main)" } else { "" });
    }
    out.push('\n');
    for (i, (_, lane, text)) in rows.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {:>4}  T{lane:<2}│ {}{text}",
            i + 1,
            "    ".repeat(*lane)
        );
    }
    out
}

/// The panic message of a violation: the reason (longest explained prefix, the operations
/// none of whose results the spec gives after it), preceded by the history itself when
/// `with_history` (outside a model run, where no timeline shows it).
pub(crate) fn violation<Op: Debug, Ret: Debug>(
    h: &History<Op, Ret>,
    v: &Violation<Ret>,
    with_history: bool,
) -> String {
    let mut out = String::from(
        "not linearizable: no sequential order of the operations explains their results\n",
    );
    if with_history {
        out.push_str("history (one row per invocation and response; lanes indented per thread):\n");
        out.push_str(&history(h));
    }
    let part_len = match v.partition {
        Some(_) => v.prefix.len() + v.stuck.len().max(1),
        None => h.entries.len(),
    };
    if let Some(k) = v.partition {
        let _ = writeln!(
            out,
            "in the sub-history of partition {k} (Spec::partition; each is checked on its own):"
        );
    }
    let name = |i: usize| format!("T{} {:?}", h.entries[i].lane, h.entries[i].op);
    if v.prefix.is_empty() {
        out.push_str("no operation can come first:\n");
    } else {
        let _ = writeln!(
            out,
            "the longest prefix a sequential order explains ({} of {}{} operations):",
            v.prefix.len(),
            if v.partition.is_some() {
                "at least "
            } else {
                ""
            },
            part_len
        );
        for &i in &v.prefix {
            let _ = writeln!(out, "  {} → {:?}", name(i), h.entries[i].ret);
        }
        out.push_str("after it, no operation's recorded result is the spec's:\n");
    }
    for (i, spec_ret) in &v.stuck {
        let _ = writeln!(
            out,
            "  {} returned {:?}, the spec returns {spec_ret:?}",
            name(*i),
            h.entries[*i].ret
        );
    }
    if h.order == Order::HappensBefore {
        out.push_str(
            "(under loom operations of different threads are ordered only by happens-before: \
             program order, spawn and join)\n",
        );
    }
    out.trim_end().to_string()
}
