//! Atomicity of critical sections (`#[heisen::critical]`): conflict-serializability of one
//! execution's trace.
//!
//! Units of atomicity are the critical-section instances (a thread's outermost section; nested
//! sections and threads spawned inside it are merged into it); every access outside a section
//! is a unit of its own. The conflict graph has an edge A → B when an access of A precedes a
//! conflicting access of B (same object, at least one a write), plus program order between the
//! consecutive units of a thread and spawn / join edges. A cycle means that no serial order of
//! the units explains the execution: an **atomicity violation**.
//!
//! What counts as an access, and what does not:
//! * atomic `load` = read; `store` = write; `swap` / `fetch_*` = write (a read and a write at
//!   one instant); successful CAS = write that *validates*; failed CAS = read.
//! * `UnsafeCell::with` = read, `with_mut` = write.
//! * lock data: the first `Deref` of a guard during a hold = read of the lock's data, the first
//!   `DerefMut` = write. Acquire / release themselves are not accesses: holds of one lock are
//!   already totally ordered in the trace (a lock row never appears while another thread holds
//!   the lock), so the data accesses made under them conflict in that order, and two
//!   read-only holds do not conflict.
//! * optimistic concurrency: a section's earlier reads of an object are dropped from the
//!   conflict relation when the same section later performs a successful CAS on it (the CAS
//!   validated them), or reads it again while holding a lock acquired after those reads (the
//!   double check under the lock supersedes the unlocked check), or when a failed CAS of the
//!   section re-read it (a CAS loop recomputes from the value the failed CAS returned). A write
//!   of the section to the object in between keeps them.

use super::rt::{Event, Op, Section};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Acc {
    Read,
    Write,
    /// Successful compare-and-exchange: a write that validates the section's earlier reads.
    Validate,
    /// Failed compare-and-exchange: a read of the current value that supersedes the section's
    /// earlier reads (a CAS loop recomputes from it).
    Reread,
}

fn access(e: &Event) -> Option<(usize, Acc)> {
    let obj = e.object?;
    let a = match &e.op {
        Op::Load(_) | Op::CellRead | Op::GuardRead => Acc::Read,
        Op::Store(_) | Op::Rmw(..) | Op::CellWrite | Op::GuardWrite => Acc::Write,
        Op::Cas { result: Ok(_), .. } => Acc::Validate,
        Op::Cas { result: Err(_), .. } => Acc::Reread,
        _ => return None,
    };
    Some((obj, a))
}

/// Why an edge of the conflict graph exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Why {
    /// Conflicting accesses to one object.
    Conflict,
    /// Same thread, earlier unit first.
    ProgramOrder,
    /// The spawn precedes the child's first step.
    Spawn,
    /// The child's last step precedes the join.
    Join,
}

/// One edge of the cycle: unit `from` must precede unit `to`, witnessed by two events.
#[derive(Clone, Debug)]
pub(crate) struct Edge {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) from_event: usize,
    pub(crate) to_event: usize,
    pub(crate) why: Why,
}

/// A cycle in the conflict graph.
#[derive(Clone, Debug)]
pub(crate) struct Violation {
    pub(crate) edges: Vec<Edge>,
}

/// Dense index of `key` in `keys` (few distinct objects per execution: a linear scan beats
/// hashing; this runs at the end of every explored execution).
fn dense<K: PartialEq + Copy>(keys: &mut Vec<K>, key: K) -> usize {
    match keys.iter().position(|k| *k == key) {
        Some(i) => i,
        None => {
            keys.push(key);
            keys.len() - 1
        }
    }
}

fn at_lane<T: Default>(v: &mut Vec<T>, lane: usize) -> &mut T {
    if v.len() <= lane {
        v.resize_with(lane + 1, T::default);
    }
    &mut v[lane]
}

/// Checks one execution; `None` = conflict-serializable.
pub(crate) fn check(events: &[Event], sections: &[Section]) -> Option<Violation> {
    let nsec = sections.len();
    let unit = |i: usize, e: &Event| e.section.map_or(nsec + i, |s| s as usize);

    // Pass 1: reads validated by a later successful CAS, re-read by a failed CAS, or
    // superseded by a re-read under a lock acquired after them.
    let mut dropped = vec![false; events.len()];
    let mut held: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut live_keys: Vec<(u32, usize)> = Vec::new();
    let mut live: Vec<Vec<usize>> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match &e.op {
            Op::Lock {
                kind,
                acquired: true,
            } if *kind != "try_lock (busy)" => {
                if let Some(o) = e.object {
                    at_lane(&mut held, e.thread).push((o, i));
                }
            }
            Op::Unlock(_) | Op::Wait(_) => {
                let o = match &e.op {
                    Op::Wait(m) => Some(*m),
                    _ => e.object,
                };
                if let Some(o) = o {
                    let h = at_lane(&mut held, e.thread);
                    if let Some(p) = h.iter().rposition(|(x, _)| *x == o) {
                        h.remove(p);
                    }
                }
            }
            _ => {}
        }
        let (Some(s), Some((obj, a))) = (e.section, access(e)) else {
            continue;
        };
        let k = dense(&mut live_keys, (s, obj));
        if live.len() <= k {
            live.push(Vec::new());
        }
        let reads = &mut live[k];
        match a {
            Acc::Read => {
                let latest_acquire = held
                    .get(e.thread)
                    .and_then(|h| h.iter().map(|(_, at)| *at).max());
                if let Some(la) = latest_acquire {
                    reads.retain(|&r| {
                        let superseded = r < la;
                        if superseded {
                            dropped[r] = true;
                        }
                        !superseded
                    });
                }
                reads.push(i);
            }
            Acc::Validate | Acc::Reread => {
                for r in reads.drain(..) {
                    dropped[r] = true;
                }
                if a == Acc::Reread {
                    reads.push(i);
                }
            }
            Acc::Write => reads.clear(),
        }
    }

    // Pass 2: edges, in the order their witnesses complete (`to_event` ascending).
    let mut edges: Vec<Edge> = Vec::new();
    let mut add = |from: usize, to: usize, fe: usize, te: usize, why: Why| {
        if from != to {
            edges.push(Edge {
                from,
                to,
                from_event: fe,
                to_event: te,
                why,
            });
        }
    };
    #[derive(Default)]
    struct Obj {
        last_write: Option<(usize, usize)>,
        readers: Vec<(usize, usize)>,
    }
    let mut obj_keys: Vec<usize> = Vec::new();
    let mut objs: Vec<Obj> = Vec::new();
    let mut last_of_lane: Vec<Option<(usize, usize)>> = Vec::new();
    let mut spawned_by: Vec<Option<(usize, usize)>> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let acc = access(e).filter(|_| !dropped[i]);
        let relevant = acc.is_some()
            || matches!(
                e.op,
                Op::Spawn(_) | Op::Join(_) | Op::SectionEnter { .. } | Op::Lock { .. }
            );
        if !relevant {
            continue;
        }
        let u = unit(i, e);
        match *at_lane(&mut last_of_lane, e.thread) {
            Some((pu, pe)) => add(pu, u, pe, i, Why::ProgramOrder),
            None => {
                if let Some((su, se)) = *at_lane(&mut spawned_by, e.thread) {
                    add(su, u, se, i, Why::Spawn);
                }
            }
        }
        *at_lane(&mut last_of_lane, e.thread) = Some((u, i));
        match e.op {
            Op::Spawn(child) => *at_lane(&mut spawned_by, child) = Some((u, i)),
            Op::Join(child) => {
                if let Some((cu, ce)) = *at_lane(&mut last_of_lane, child) {
                    add(cu, u, ce, i, Why::Join);
                }
            }
            _ => {}
        }
        let Some((obj, a)) = acc else { continue };
        let k = dense(&mut obj_keys, obj);
        if objs.len() <= k {
            objs.push(Obj::default());
        }
        let o = &mut objs[k];
        match a {
            Acc::Read | Acc::Reread => {
                if let Some((w, we)) = o.last_write {
                    add(w, u, we, i, Why::Conflict);
                }
                o.readers.push((u, i));
            }
            Acc::Write | Acc::Validate => {
                for &(r, re) in &o.readers {
                    add(r, u, re, i, Why::Conflict);
                }
                if let Some((w, we)) = o.last_write {
                    add(w, u, we, i, Why::Conflict);
                }
                o.readers.clear();
                o.last_write = Some((u, i));
            }
        }
    }

    // Every edge points forward in time, so a cycle must enter some section S from a step
    // taken after S began: without such an edge the execution is serializable (the common
    // case, decided without a graph search).
    let mut first_of = vec![usize::MAX; nsec];
    for (i, e) in events.iter().enumerate() {
        if let Some(s) = e.section {
            let f = &mut first_of[s as usize];
            *f = (*f).min(i);
        }
    }
    if !edges
        .iter()
        .any(|e| e.to < nsec && e.from_event > first_of[e.to])
    {
        return None;
    }

    // Shortest cycle through a section instance (BFS from each section back to itself).
    let n = nsec + events.len();
    let mut order: Vec<usize> = (0..edges.len()).collect();
    // by source, keeping insertion order (earliest witness first) within a source
    order.sort_by_key(|&k| (edges[k].from, k));
    let mut start = vec![0usize; n + 1];
    for e in &edges {
        start[e.from + 1] += 1;
    }
    for v in 0..n {
        start[v + 1] += start[v];
    }
    let mut best: Option<Vec<usize>> = None;
    let mut prev = vec![usize::MAX; n];
    let mut queue = std::collections::VecDeque::new();
    for s in 0..nsec {
        if start[s] == start[s + 1] {
            continue;
        }
        prev.iter_mut().for_each(|p| *p = usize::MAX);
        queue.clear();
        queue.push_back(s);
        let mut closing = None;
        'bfs: while let Some(x) = queue.pop_front() {
            for &k in &order[start[x]..start[x + 1]] {
                let y = edges[k].to;
                if y == s {
                    closing = Some(x);
                    break 'bfs;
                }
                if prev[y] == usize::MAX {
                    prev[y] = x;
                    queue.push_back(y);
                }
            }
        }
        if let Some(mut x) = closing {
            let mut path = vec![x];
            while x != s {
                x = prev[x];
                path.push(x);
            }
            path.reverse(); // s .. last; last → s closes the cycle
            if best.as_ref().map_or(true, |b| path.len() < b.len()) {
                best = Some(path);
            }
        }
    }
    let path = best?;
    let len = path.len();
    let edges = (0..len)
        .map(|k| {
            let (f, t) = (path[k], path[(k + 1) % len]);
            order[start[f]..start[f + 1]]
                .iter()
                .map(|&j| &edges[j])
                .find(|e| e.to == t)
                .expect("edge on the path")
                .clone()
        })
        .collect();
    Some(Violation { edges })
}

/// The violation as the failure message: summary line, the story in one sentence (for two
/// sections), the cycle's edges with values and source lines, and the sections' extents.
pub(crate) fn render(v: &Violation, events: &[Event], sections: &[Section]) -> String {
    let names = super::report::object_names(events);
    let nsec = sections.len();
    let unit_name = |u: usize| -> String {
        if u < nsec {
            format!("`{}` on T{}", sections[u].name, sections[u].lane)
        } else {
            format!("T{} (outside critical sections)", events[u - nsec].thread)
        }
    };
    let at = |i: usize| {
        events[i]
            .location
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default()
    };
    let what = |i: usize| describe(&events[i], names[i].as_deref());
    let mut out = String::from(
        "atomicity violation: critical sections interleaved so that no serial order of them \
         explains this execution\n",
    );
    // The story, for the common two-unit cycle: X did x1, then Y did y.., before X did x2.
    if let [a, b] = v.edges.as_slice() {
        for (xy, yx) in [(a, b), (b, a)] {
            let (x1, y1, y2, x2) = (xy.from_event, xy.to_event, yx.from_event, yx.to_event);
            if xy.why == Why::Conflict && yx.why == Why::Conflict && x1 < y1 && y2 < x2 {
                let x = unit_name(xy.from);
                let y = unit_name(xy.to);
                let tx = format!("T{}", events[x2].thread);
                let mut s = format!(
                    "  {x} {}{}, then {y} {}{}",
                    what(x1),
                    at(x1),
                    what(y1),
                    at(y1)
                );
                if y2 != y1 {
                    s.push_str(&format!(" and {}{}", what(y2), at(y2)));
                }
                s.push_str(&format!(" before {tx} {}{}\n", what(x2), at(x2)));
                out.push_str(&s);
                break;
            }
        }
    }
    out.push_str(
        "  cycle (A → B: a step of A came first, so A must precede B in any serial order):\n",
    );
    for e in &v.edges {
        let why = match e.why {
            Why::Conflict => "",
            Why::ProgramOrder => " [same thread]",
            Why::Spawn => " [spawn]",
            Why::Join => " [join]",
        };
        out.push_str(&format!(
            "    {} → {}{why}: {} (row {}{}) before {} (row {}{})\n",
            unit_name(e.from),
            unit_name(e.to),
            what(e.from_event),
            e.from_event + 1,
            at(e.from_event),
            what(e.to_event),
            e.to_event + 1,
            at(e.to_event),
        ));
    }
    let mut seen = Vec::new();
    for e in &v.edges {
        if e.from < nsec && !seen.contains(&e.from) {
            seen.push(e.from);
        }
    }
    for s in seen {
        let rows: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.section == Some(s as u32))
            .map(|(i, _)| i + 1)
            .collect();
        out.push_str(&format!(
            "  section {}: entered{}, rows {}–{}\n",
            unit_name(s),
            sections[s]
                .location
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default(),
            rows.first().copied().unwrap_or(0),
            rows.last().copied().unwrap_or(0),
        ));
    }
    out
}

/// An access in words: "read balance = 100", "wrote balance ← 50".
fn describe(e: &Event, name: Option<&str>) -> String {
    let n = name.unwrap_or("?");
    let via = e.via.map(|v| format!(" ({v})")).unwrap_or_default();
    match &e.op {
        Op::Load(v) => format!("read {n} = {v}{via}"),
        Op::Store(v) => format!("wrote {n} ← {v}"),
        Op::Rmw(m, old, new) => format!("{m} {n}: {old} → {new}"),
        Op::Cas {
            expected,
            new,
            result: Ok(_),
        } => format!("CAS {n} {expected} → {new}{via}"),
        Op::Cas {
            result: Err(actual),
            ..
        } => format!("read {n} = {actual} (failed CAS){via}"),
        Op::CellRead => format!("read {n} (UnsafeCell)"),
        Op::CellWrite => format!("wrote {n} (UnsafeCell)"),
        Op::GuardRead => format!("read {n} (through its guard)"),
        Op::GuardWrite => format!("wrote {n} (through its guard)"),
        Op::Spawn(t) => format!("spawned T{t}"),
        Op::Join(t) => format!("joined T{t}"),
        Op::Lock { kind, .. } => format!("{kind} {n}"),
        Op::SectionEnter { name, .. } => format!("entered `{name}`"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rt::Val;

    /// `(thread, section, op, object)` rows → events.
    fn trace(rows: &[(usize, Option<u32>, Op, usize)]) -> Vec<Event> {
        rows.iter()
            .map(|(t, s, op, o)| Event {
                thread: *t,
                op: op.clone(),
                object: Some(*o),
                ordering: None,
                location: None,
                section: *s,
                via: None,
            })
            .collect()
    }
    fn sections(n: usize) -> Vec<Section> {
        (0..n)
            .map(|i| Section {
                name: "s",
                lane: i + 1,
                location: None,
            })
            .collect()
    }
    fn r() -> Op {
        Op::Load(Val::Int(0))
    }
    fn w() -> Op {
        Op::Store(Val::Int(1))
    }
    fn cas(ok: bool) -> Op {
        Op::Cas {
            expected: Val::Int(0),
            new: Val::Int(1),
            result: if ok {
                Ok(Val::Int(0))
            } else {
                Err(Val::Int(1))
            },
        }
    }

    #[test]
    fn lost_update_is_a_two_cycle() {
        let ev = trace(&[
            (1, Some(0), r(), 1),
            (2, Some(1), r(), 1),
            (2, Some(1), w(), 1),
            (1, Some(0), w(), 1),
        ]);
        let v = check(&ev, &sections(2)).expect("violation");
        assert_eq!(v.edges.len(), 2);
    }

    #[test]
    fn cas_loop_is_serializable() {
        let ev = trace(&[
            (1, Some(0), r(), 1),
            (2, Some(1), r(), 1),
            (2, Some(1), cas(true), 1),
            (1, Some(0), cas(false), 1),
            (1, Some(0), cas(true), 1),
        ]);
        assert!(check(&ev, &sections(2)).is_none());
    }

    #[test]
    fn three_sections_in_a_cycle() {
        // S0 reads a .. S1 writes a, reads b .. S2 writes b, reads c .. S0 writes c
        let ev = trace(&[
            (1, Some(0), r(), 1),
            (2, Some(1), w(), 1),
            (2, Some(1), r(), 2),
            (3, Some(2), w(), 2),
            (3, Some(2), r(), 3),
            (1, Some(0), w(), 3),
        ]);
        let v = check(&ev, &sections(3)).expect("violation");
        assert_eq!(v.edges.len(), 3);
    }

    #[test]
    fn outside_sections_every_access_is_its_own_unit() {
        let ev = trace(&[
            (1, None, r(), 1),
            (2, None, r(), 1),
            (2, None, w(), 1),
            (1, None, w(), 1),
        ]);
        assert!(check(&ev, &[]).is_none());
    }

    #[test]
    fn a_reread_under_a_later_lock_supersedes_but_not_across_an_own_write() {
        let lock = |ok| Op::Lock {
            kind: "lock",
            acquired: ok,
        };
        // S0: read x, [S1 writes x], lock m, read x, write x: the double check passes.
        let dcl = trace(&[
            (1, Some(0), r(), 1),
            (2, Some(1), w(), 1),
            (1, Some(0), lock(true), 9),
            (1, Some(0), r(), 1),
            (1, Some(0), w(), 1),
        ]);
        assert!(check(&dcl, &sections(2)).is_none());
        // S0: read x, write x, [S1 writes x], lock m, read x: the first read stays (S0 wrote
        // in between), so S1's write inside S0 is a cycle.
        let own_write = trace(&[
            (1, Some(0), r(), 1),
            (1, Some(0), w(), 1),
            (2, Some(1), w(), 1),
            (1, Some(0), lock(true), 9),
            (1, Some(0), r(), 1),
        ]);
        assert!(check(&own_write, &sections(2)).is_some());
    }
}
