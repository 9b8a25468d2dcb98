//! Renders the trace of a failing execution as a per-thread timeline.

use super::rt::{Event, Op};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Reads line `line` (1-based) of a source file named as `Location::file()` names it.
pub(crate) fn source_line(file: &str, line: u32) -> Option<String> {
    let mut candidates: Vec<PathBuf> = vec![PathBuf::from(file)];
    if let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") {
        for anc in Path::new(&dir).ancestors() {
            candidates.push(anc.join(file));
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        for anc in cwd.ancestors() {
            candidates.push(anc.join(file));
        }
    }
    for c in candidates {
        if let Ok(text) = std::fs::read_to_string(&c) {
            return text
                .lines()
                .nth(line.checked_sub(1)? as usize)
                .map(str::to_string);
        }
    }
    None
}

fn method_of(e: &Event) -> Option<&'static str> {
    if let Some(v) = e.via {
        return Some(v);
    }
    Some(match &e.op {
        Op::Load(_) => "load",
        Op::Store(_) => "store",
        Op::Rmw(m, _, _) => m,
        Op::Cas { .. } => "compare_exchange",
        Op::CellRead => "with",
        Op::CellWrite => "with_mut",
        Op::Lock { kind, .. } => match *kind {
            "read" => "read",
            "write" => "write",
            "relock after wait" => "wait",
            k if k.starts_with("try_lock") => "try_lock",
            _ => "lock",
        },
        Op::Wait(_) => "wait",
        Op::Notify(m) => m,
        Op::BarrierWait => "wait",
        _ => return None,
    })
}

/// The receiver expression before `.method(` in the source line at/after `col`.
pub(crate) fn receiver(line: &str, col: u32, method: &str) -> Option<String> {
    let start = (col as usize).saturating_sub(1).min(line.len());
    let pats = [format!(".{method}("), format!(".{method}_weak(")];
    let rest = &line[start..];
    // The location may point at the method name (`load(`) or at the receiver.
    let at_method = pats.iter().any(|p| rest.starts_with(&p[1..]));
    let end = if at_method && start > 0 && line.as_bytes()[start - 1] == b'.' {
        start - 1
    } else {
        let (rel, _) = pats
            .iter()
            .filter_map(|p| rest.find(p.as_str()).map(|i| (i, p)))
            .min_by_key(|(i, _)| *i)?;
        start + rel
    };
    // Walk back over a path-like receiver: identifiers, `.`, `::`, `self`, `&`, `*`, `()`, `[]`.
    let bytes = line.as_bytes();
    let mut i = end;
    let mut depth = 0i32;
    while i > 0 {
        let c = bytes[i - 1] as char;
        match c {
            ')' | ']' => depth += 1,
            '(' | '[' if depth > 0 => depth -= 1,
            c if depth > 0 || c.is_alphanumeric() || c == '_' || c == '.' || c == ':' => {}
            _ => break,
        }
        i -= 1;
    }
    let r = line[i..end].trim_start_matches("self.").trim();
    (!r.is_empty()).then(|| r.to_string())
}

fn short_ord(o: Option<std::sync::atomic::Ordering>) -> String {
    o.map(|o| format!(" ({o:?})")).unwrap_or_default()
}

/// The source line of every event (`None` without a location or a readable file).
fn sources(events: &[Event]) -> Vec<Option<String>> {
    let mut src_cache: HashMap<(&str, u32), Option<String>> = HashMap::new();
    events
        .iter()
        .map(|e| {
            e.location.and_then(|l| {
                src_cache
                    .entry((l.file(), l.line()))
                    .or_insert_with(|| source_line(l.file(), l.line()))
                    .clone()
            })
        })
        .collect()
}

/// The name of the object each event touches, read from the source text (`balance` in
/// `balance.load(..)`); an object keeps the first name it was seen under.
fn names_with(events: &[Event], srcs: &[Option<String>]) -> Vec<Option<String>> {
    let mut names: HashMap<usize, String> = HashMap::new();
    events
        .iter()
        .zip(srcs)
        .map(|(e, src)| {
            let mut name = None;
            if let (Some(l), Some(m), Some(s)) = (e.location, method_of(e), src) {
                name = receiver(s, l.column(), m);
                // A call chained on its own line (`self.balance\n    .fetch_update(..)`):
                // the receiver ends the line before.
                if name.is_none() && s.trim_start().starts_with('.') {
                    if let Some(prev) = l
                        .line()
                        .checked_sub(1)
                        .and_then(|n| source_line(l.file(), n))
                    {
                        let head = prev.trim_end();
                        let joined = format!("{head}{}", s.trim_start());
                        name = receiver(&joined, head.len() as u32 + 1, m);
                    }
                }
            }
            if let (Some(obj), Some(n)) = (e.object, &name) {
                names.entry(obj).or_insert_with(|| n.clone());
            }
            name.or_else(|| e.object.and_then(|o| names.get(&o).cloned()))
                .or_else(|| e.object.map(|o| format!("obj@{o:#x}")))
        })
        .collect()
}

/// Object names per event (see `names_with`).
pub(crate) fn object_names(events: &[Event]) -> Vec<Option<String>> {
    names_with(events, &sources(events))
}

/// Records in `latest` the value `e` stores to its object, if it stores one (a store, a
/// read-modify-write, a successful CAS), so that a later load of another value is stale.
pub(crate) fn track_latest(latest: &mut HashMap<usize, String>, e: &Event) {
    if let Some(o) = e.object {
        match &e.op {
            Op::Store(v) | Op::Rmw(_, _, v) => {
                latest.insert(o, v.clone());
            }
            Op::Cas {
                new, result: Ok(_), ..
            } => {
                latest.insert(o, new.clone());
            }
            _ => {}
        }
    }
}

/// One described row per event: (lane, text, `file:line`, trimmed source line).
pub(crate) fn rows(events: &[Event]) -> Vec<(usize, String, String, String)> {
    let srcs = sources(events);
    let names = names_with(events, &srcs);
    let mut rows = Vec::new();
    // Latest value written to each object in trace order, to flag weak-memory (stale) reads.
    let mut latest: HashMap<usize, String> = HashMap::new();
    for ((e, src), name) in events.iter().zip(srcs).zip(names) {
        let obj_name = name.unwrap_or_default();
        let ord = short_ord(e.ordering);
        let via = e.via.map(|v| format!("{v}: ")).unwrap_or_default();
        let text = match &e.op {
            Op::Spawn(t) => format!("spawn T{t}"),
            Op::Join(t) => format!("join T{t}"),
            Op::Load(v) => match e.object.and_then(|o| latest.get(&o)) {
                Some(w) if w != v => format!(
                    "load {obj_name} = {v}{ord}  ⚠ stale: latest store was {w} (weak memory)"
                ),
                _ => format!("load {obj_name} = {v}{ord}"),
            },
            Op::Store(v) => format!("store {obj_name} ← {v}{ord}"),
            Op::Rmw(m, old, new) => format!("{m} {obj_name}: {old} → {new}{ord}"),
            Op::Cas {
                expected,
                new,
                result: Ok(_),
            } => format!("CAS {obj_name} {expected} → {new} succeeded{ord}"),
            Op::Cas {
                expected,
                result: Err(actual),
                ..
            } => format!("CAS {obj_name} expected {expected} FAILED (was {actual}){ord}"),
            Op::Fence => format!("fence{ord}"),
            Op::CellRead => format!("read {obj_name} (UnsafeCell)"),
            Op::CellWrite => format!("write {obj_name} (UnsafeCell)"),
            Op::Lock { kind, acquired } => {
                if *acquired || kind.starts_with("try_lock") {
                    format!("{kind} {obj_name}")
                } else {
                    format!("{kind} {obj_name} … BLOCKED (never acquired)")
                }
            }
            Op::Unlock(k) => format!("{k} {obj_name}"),
            Op::Wait(_) => format!("wait on {obj_name} (releases the mutex)"),
            Op::GuardRead => format!("read {obj_name} (guarded data)"),
            Op::GuardWrite => format!("write {obj_name} (guarded data)"),
            Op::SectionEnter { name, nested } => format!(
                "⟦ enter critical `{name}`{}",
                if *nested {
                    " (nested: merged into the enclosing section)"
                } else {
                    ""
                }
            ),
            Op::SectionExit { name, .. } => format!("⟧ exit critical `{name}`"),
            Op::Notify(k) => format!("{k} {obj_name}"),
            Op::BarrierWait => format!("barrier wait {obj_name}"),
            Op::Send => "channel send".to_string(),
            Op::Recv => "channel recv".to_string(),
            Op::Yield => "yield".to_string(),
            Op::Choose(v, n) => format!("choose({n}) = {v}"),
            Op::ClockRead { reading, skew } => format!(
                "SystemTime::now() = {} (skew {})",
                super::time::fmt_reading(*reading),
                super::time::fmt_skew(*skew)
            ),
            Op::Panic(m) => format!("PANIC: {}", m.lines().next().unwrap_or("")),
        };
        let text = format!("{via}{text}");
        track_latest(&mut latest, e);
        let loc = e
            .location
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let snippet = src.map(|s| s.trim().to_string()).unwrap_or_default();
        rows.push((e.thread, text, loc, snippet));
    }
    rows
}

/// One human-readable row per event.
pub(crate) fn timeline(events: &[Event], lane_names: &[Option<String>]) -> String {
    let rows = rows(events);
    let lanes = rows.iter().map(|r| r.0).max().unwrap_or(0) + 1;
    let width = rows
        .iter()
        .filter(|r| !r.1.starts_with("PANIC"))
        .map(|r| r.0 * 4 + r.1.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(20, 72);
    let mut out = String::new();
    let _ = write!(out, "  threads:");
    for l in 0..lanes {
        let n = lane_names.get(l).cloned().flatten();
        let _ = write!(
            out,
            " T{l}{}",
            n.map(|n| format!(" ({n})")).unwrap_or_default()
        );
    }
    out.push('\n');
    const MAX: usize = 300;
    let skip = rows.len().saturating_sub(MAX);
    if skip > 0 {
        let _ = writeln!(out, "  … {skip} earlier steps omitted");
    }
    for (i, (lane, text, loc, snippet)) in rows.into_iter().enumerate().skip(skip) {
        let cell = format!("{}{}", "    ".repeat(lane), text);
        let pad = width.saturating_sub(cell.chars().count());
        let mut snippet = snippet;
        if snippet.chars().count() > 60 {
            snippet = snippet.chars().take(57).collect::<String>() + "...";
        }
        let row = format!(
            "  {:>4}  T{lane:<2}│ {cell}{}  {loc}{}",
            i + 1,
            " ".repeat(pad),
            if snippet.is_empty() {
                String::new()
            } else {
                format!("  │ {snippet}")
            }
        );
        // (rows without a location, such as `unlock`, end in padding)
        let _ = writeln!(out, "{}", row.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::receiver;

    #[test]
    fn receiver_names_the_object_before_the_method() {
        let l = "        let b = balance.load(SeqCst);";
        // Location at the receiver or at the method name: both work.
        assert_eq!(receiver(l, 17, "load").as_deref(), Some("balance"));
        assert_eq!(receiver(l, 25, "load").as_deref(), Some("balance"));
        let l = "self.accounts[i].balance.fetch_sub(amt, Ordering::AcqRel);";
        assert_eq!(
            receiver(l, 1, "fetch_sub").as_deref(),
            Some("accounts[i].balance")
        );
        let l = "while let Err(a) = x.y().compare_exchange_weak(c, n, AcqRel, Acquire) {";
        assert_eq!(
            receiver(l, 20, "compare_exchange").as_deref(),
            Some("x.y()")
        );
        assert_eq!(receiver("foo(1);", 1, "load"), None);
    }
}
