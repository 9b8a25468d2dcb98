//! Renders the trace of a failing execution as a per-thread timeline.

use super::rt::{self, Event, Op, Trace, Val};
use crate::runner::group;
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
            // heisen::tokio: `read().await`, `acquire().await`, …
            k => k.strip_suffix("().await").unwrap_or("lock"),
        },
        Op::Task(_, Some(m)) => m,
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

/// The object `e` stores to and the value it stores, if it stores one (a store, a
/// read-modify-write, a successful CAS).
fn stored(e: &Event) -> Option<(usize, Val)> {
    let o = e.object?;
    match &e.op {
        Op::Store(v) | Op::Rmw(_, _, v) => Some((o, *v)),
        Op::Cas {
            new, result: Ok(_), ..
        } => Some((o, *new)),
        _ => None,
    }
}

/// Records in `latest` the value `e` stores to its object, if it stores one, so that a later
/// load of another value is stale.
pub(crate) fn track_latest(latest: &mut HashMap<usize, Val>, e: &Event) {
    if let Some((o, v)) = stored(e) {
        latest.insert(o, v);
    }
}

/// In an execution whose atomic operations are all `SeqCst`, the first load that read another
/// value than its object's latest store in trace order: (row of the load, row of that store),
/// numbered as the timeline numbers them. Such an execution is not sequentially consistent.
/// Rust's `SeqCst` (C++20's) never runs one for a program whose atomics are all `SeqCst` and
/// that has no data race, but loom 0.7 models `SeqCst` more weakly and explores it: a loom
/// failure in such an execution may be loom's alone (the guide's "Limits to know").
pub(crate) fn non_sc_seqcst_load(events: &[Event]) -> Option<(usize, usize)> {
    let atomic = |e: &&Event| {
        matches!(
            e.op,
            Op::Load(_) | Op::Store(_) | Op::Rmw(..) | Op::Cas { .. } | Op::Fence
        )
    };
    if !events
        .iter()
        .filter(atomic)
        .all(|e| e.ordering == Some(std::sync::atomic::Ordering::SeqCst))
    {
        return None;
    }
    let mut latest: HashMap<usize, (Val, usize)> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        if let (Op::Load(v), Some(o)) = (&e.op, e.object) {
            if let Some(&(w, at)) = latest.get(&o) {
                if w != *v {
                    return Some((i + 1, at + 1));
                }
            }
        }
        if let Some((o, v)) = stored(e) {
            latest.insert(o, (v, i));
        }
    }
    None
}

/// A report field: `label` in a column of its own, then `lines`, aligned under the first.
fn push_field<S: AsRef<str>>(r: &mut String, label: &str, lines: impl IntoIterator<Item = S>) {
    for (i, line) in lines.into_iter().enumerate() {
        if i == 0 {
            let _ = write!(r, "  {label:<10}");
        } else {
            r.push_str("            ");
        }
        r.push_str(line.as_ref());
        r.push('\n');
    }
}

/// `text` in lines of at most `width` characters, broken between words.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// One described row per event: (lane, text, `file:line`, trimmed source line).
pub(crate) fn rows(events: &[Event]) -> Vec<(usize, String, String, String)> {
    let srcs = sources(events);
    let names = names_with(events, &srcs);
    let mut rows = Vec::new();
    // Latest value written to each object in trace order, to flag weak-memory (stale) reads.
    let mut latest: HashMap<usize, Val> = HashMap::new();
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
            Op::Lin(row) | Op::Net(row) => row.clone(),
            Op::NetBlocked(row) => format!("{row} … BLOCKED (nothing delivered)"),
            Op::Task(row, _) if e.object.is_some() => format!("{row} {obj_name}"),
            Op::Task(row, _) => row.clone(),
            Op::ClockRead { reading, skew } => format!(
                "SystemTime::now() = {} (skew {})",
                super::time::fmt_reading(*reading),
                super::time::fmt_skew(*skew)
            ),
            Op::Panic(m) => format!("PANIC: {}", m.lines().next().unwrap_or("")),
            Op::CaughtPanic(m) => format!(
                "panic (caught, the execution went on): {}",
                m.lines().next().unwrap_or("")
            ),
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
        .filter(|r| !r.1.starts_with("PANIC") && !r.1.starts_with("panic (caught"))
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

/// What a failure report says besides its trace (see [`failure_report`]).
pub(crate) struct FailureText<'a> {
    /// Test name.
    pub(crate) test: &'a str,
    /// Backend that found the failure.
    pub(crate) backend: &'static str,
    /// Its strategy (`random scheduler, seed ..`, `preemption bound 2`, `replay`).
    pub(crate) strategy: &'a str,
    /// Failure kind (`deadlock`, `assertion failed`, ..).
    pub(crate) kind: &'static str,
    /// Panic message.
    pub(crate) message: &'a str,
    /// Lane that failed.
    pub(crate) thread: usize,
    /// Panic location (`file:line:col`), if known.
    pub(crate) location: Option<&'a str>,
    /// Replay command.
    pub(crate) replay: &'a str,
    /// Executions of this body that an earlier shuttle run passed (`None`: no such run).
    pub(crate) shuttle_passed: Option<u64>,
}

/// The counterexample report of a failed run: the failing execution's timeline, the failure
/// (kind, thread, location, message; `BLOCKED` requests of a deadlock; an atomicity violation
/// found beside another failure) and the replay recipe.
pub(crate) fn failure_report(f: &FailureText<'_>, trace: &Trace) -> String {
    let (kind, thread, backend, message, replay, location) =
        (f.kind, f.thread, f.backend, f.message, f.replay, f.location);
    let lane_name = |l: usize| {
        format!(
            "T{l}{}",
            trace
                .lane_names
                .get(l)
                .cloned()
                .flatten()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        )
    };
    let mut r = String::new();
    r.push_str(&format!(
        "heisen: {} FAILED under {} ({}) in execution #{}\n\n",
        f.test,
        f.backend,
        f.strategy,
        group(trace.executions)
    ));
    r.push_str(
        "timeline of the failing execution (one row per step; lanes indented per thread):\n",
    );
    r.push_str(&timeline(&trace.events, &trace.lane_names));
    if trace.violation.is_some() {
        r.push_str(&format!("\nfailure: {kind}\n"));
    } else {
        r.push_str(&format!(
            "\nfailure: {kind}\n  thread:   {}\n",
            lane_name(thread)
        ));
    }
    if kind == "deadlock" {
        let blocked: Vec<String> = trace
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.op,
                    Op::Lock {
                        acquired: false,
                        ..
                    } | Op::NetBlocked(_)
                )
            })
            .map(|e| {
                format!(
                    "{} at {}",
                    lane_name(e.thread),
                    e.location
                        .map(|l| format!("{}:{}", l.file(), l.line()))
                        .unwrap_or_default()
                )
            })
            .collect();
        if !blocked.is_empty() {
            r.push_str(&format!("  blocked:  {}\n", blocked.join("; ")));
        }
    }
    if let Some(l) = location.filter(|l| rt::raised_by_backend(l)) {
        // Raised inside the backend (deadlock, race): point at the operation it was
        // raised in (the PANIC row carries it), else at the user's last step.
        let last = trace
            .events
            .iter()
            .rev()
            .find(|e| e.thread == thread && e.location.is_some());
        if let Some(loc) = last.and_then(|e| e.location) {
            let text = source_line(loc.file(), loc.line()).unwrap_or_default();
            r.push_str(&format!(
                "  at:       {}:{}  │ {}\n",
                loc.file(),
                loc.line(),
                text.trim()
            ));
        }
        r.push_str(&format!("  raised by {backend} at {l}\n"));
    } else if let Some(l) = &location {
        let src = l.rsplitn(3, ':').collect::<Vec<_>>();
        let line_text = if src.len() == 3 {
            src[1].parse().ok().and_then(|n| source_line(src[2], n))
        } else {
            None
        };
        r.push_str(&format!("  at:       {l}"));
        if let Some(t) = line_text {
            r.push_str(&format!("  │ {}", t.trim()));
        }
        r.push('\n');
    }
    if trace.violation.is_some() {
        for line in message.lines() {
            r.push_str("  ");
            r.push_str(line.trim_start_matches("atomicity violation: "));
            r.push('\n');
        }
    } else {
        push_field(&mut r, "message:", message.lines());
        // The execution failed for another reason (an assertion, a deadlock): say if
        // its critical sections also interleaved non-serializably up to that point.
        if !trace.sections.is_empty() {
            if let Some(v) = super::atomicity::check(&trace.events, &trace.sections) {
                let text = super::atomicity::render(&v, &trace.events, &trace.sections);
                r.push_str("\nalso an atomicity violation in this execution:\n");
                for line in text.lines().skip(1) {
                    r.push_str(line);
                    r.push('\n');
                }
            }
        }
    }
    if backend == "loom" {
        if let Some((load, store)) = non_sc_seqcst_load(&trace.events) {
            let shuttle = match f.shuttle_passed {
                Some(n) => format!(
                    "; shuttle, whose schedules are all sequentially consistent, passed {} \
                     execution{} of this body",
                    group(n),
                    if n == 1 { "" } else { "s" }
                ),
                None => "; shuttle's schedules are all sequentially consistent: \
                         HEISEN_BACKEND=shuttle checks this body without the limit"
                    .to_string(),
            };
            let text = format!(
                "row {load} read another value than row {store} stored last, though every \
                 atomic operation of this execution is SeqCst: the execution is not \
                 sequentially consistent. loom 0.7 models SeqCst more weakly than Rust does \
                 (a program whose atomics are all SeqCst and that has no data race runs only \
                 sequentially consistent executions), so this failure may be loom's alone\
                 {shuttle} (the guide's \"Limits to know\")."
            );
            push_field(&mut r, "note:", wrap(&text, 84));
        }
    }
    for (_, state) in &trace.net_states {
        r.push_str("\nnetwork at the failure (heisen::net):\n");
        for line in state.lines() {
            r.push_str("  ");
            r.push_str(line);
            r.push('\n');
        }
    }
    r.push_str(&format!(
        "\nreplay ({backend}, deterministic):\n  {replay}\n"
    ));
    r
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
