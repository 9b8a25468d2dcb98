//! Group `retry`: retry loops that knock a recovering service over again (no backoff, no
//! jitter) or repeat a side effect the server already performed (non-idempotent retries).
//!
//! The shared query here finds hand-written retry loops: a loop whose body makes a call, and
//! on that call's error path sleeps and goes round again, while its success path leaves the
//! loop. Polling loops (`Ok(msg) => handle(msg)`, `Err(Empty) => sleep(..)`) are not retries:
//! their success path stays in the loop.

pub mod non_idempotent_retry;
pub mod retry_without_backoff;
pub mod retry_without_jitter;

use crate::analysis::{
    last_segment, outcome, Case, Deps, Event, EventId, EventKind, Exit, FnFacts, LoopKind,
};
use crate::finding::Region;
use crate::index::FnKey;
use crate::rules::CrateContext;
use std::collections::HashSet;

/// `std::thread::sleep(d)`, `tokio::time::sleep(d)`, `async_std::task::sleep(d)` (or an
/// imported `sleep(d)`).
/// Runtime shims count too (`crate::rt::sleep(d)`): any called path ending in `sleep`.
pub(crate) fn is_sleep(ev: &Event) -> bool {
    ev.kind == EventKind::Call
        && ev.args.len() == 1
        && (ev.name == "sleep" || ev.name.ends_with("::sleep"))
}

/// Method calls that only inspect or adapt a result; never "the call that is retried".
const ADAPTERS: &[&str] = &[
    "map_err",
    "map",
    "context",
    "with_context",
    "ok",
    "err",
    "into",
    "is_ok",
    "is_err",
    "unwrap_or",
    "unwrap_or_else",
    "and_then",
    "error_for_status",
    // `timeout(d, op())` wraps the attempt: name the operation, not the wrapper.
    "timeout",
];

/// A hand-written retry: `sleep` is on the error path of `attempt`, both inside loop `lp`,
/// and the loop is left on the success path of the same call.
pub(crate) struct RetryLoop<'f> {
    pub lp: usize,
    pub sleep: &'f Event,
    /// The call whose failure is retried (the outermost one of the tested expression).
    pub attempt: &'f Event,
    /// Every in-loop event the tested expression depends on.
    pub attempts: Deps,
}

/// `is_ok()`/`is_err()` tests among `deps` whose receiver depends on one of `attempts`.
fn tests_result(func: &FnFacts, deps: &Deps, attempts: &Deps) -> bool {
    deps.iter().any(|&d| {
        let t = &func.events[d];
        t.kind == EventKind::MethodCall
            && matches!(t.name.as_str(), "is_ok" | "is_err")
            && t.receiver_deps.iter().any(|r| attempts.contains(r))
    })
}

fn in_loop_calls(func: &FnFacts, deps: &Deps, lp: usize, depth: usize) -> Deps {
    deps.iter()
        .copied()
        .filter(|&d| {
            let e = &func.events[d];
            // A `while` condition is evaluated once per iteration, like the body.
            (e.loops.contains(&lp) || func.loops[lp].header_deps.contains(&d))
                && e.closure_depth == depth
                && matches!(e.kind, EventKind::Call | EventKind::MethodCall)
                && !is_sleep(e)
                // `try_lock`, `try_send`, `Arc::try_unwrap`: non-blocking attempts on local
                // state (a spin-wait), not requests to a service.
                && !last_segment(&e.name).starts_with("try_")
        })
        .collect()
}

/// Whether the loop is left on the success path of one of `attempts`.
fn exits_on_success(func: &FnFacts, lp: usize, depth: usize, attempts: &Deps) -> bool {
    let l = &func.loops[lp];
    if l.kind == LoopKind::While && l.header_deps.iter().any(|h| attempts.contains(h)) {
        return true;
    }
    func.exits.iter().any(|x| {
        x.closure_depth == depth
            && x.loops.contains(&lp)
            && (x.is_return || x.label.is_some() || x.loops.last() == Some(&lp))
            && (func.cases.iter().any(|c| {
                c.on_success()
                    && c.region.contains(&x.region)
                    && c.scrutinee.iter().any(|s| attempts.contains(s))
            }) || tests_result(func, &x.control_deps, attempts))
    })
}

/// Whether some success case of `attempts` inside the loop neither leaves the loop nor sleeps:
/// the loop processes results (a poll), it does not retry.
fn success_stays(func: &FnFacts, lp: usize, attempts: &Deps) -> bool {
    let lr = func.loops[lp].region;
    func.cases.iter().any(|c| {
        c.on_success()
            && !c.negated
            && lr.contains(&c.region)
            && c.scrutinee.iter().any(|s| attempts.contains(s))
            && !func
                .exits
                .iter()
                .any(|x| x.loops.contains(&lp) && c.region.contains(&x.region))
            && !func
                .events
                .iter()
                .any(|e| is_sleep(e) && c.region.contains(&e.region))
    })
}

/// Every hand-written retry loop of `func`, one per retrying `sleep`.
pub(crate) fn retry_loops(func: &FnFacts) -> Vec<RetryLoop<'_>> {
    let mut out = Vec::new();
    for s in func.events.iter().filter(|e| is_sleep(e)) {
        let Some(&lp) = s.loops.last() else { continue };
        let depth = s.closure_depth;
        // The calls on whose error path the sleep runs.
        let mut attempts = Deps::new();
        for c in &func.cases {
            if c.on_error() && c.region.contains(&s.region) {
                attempts.extend(in_loop_calls(func, &c.scrutinee, lp, depth));
            }
        }
        for &d in &s.control_deps {
            let t = &func.events[d];
            if t.kind == EventKind::MethodCall
                && matches!(t.name.as_str(), "is_ok" | "is_err")
                && t.loops.contains(&lp)
            {
                attempts.extend(in_loop_calls(func, &t.receiver_deps, lp, depth));
            }
        }
        // `Err(_) => { sleep(..); break; }`: waits, then gives up; not a retry.
        let gives_up = func.exits.iter().any(|x| {
            x.closure_depth == depth
                && x.loops.contains(&lp)
                && (x.is_return || x.loops.last() == Some(&lp))
                && x.region.start() > s.region.end()
                && x.control_deps == s.control_deps
                && func.cases.iter().any(|c| {
                    c.on_error() && c.region.contains(&s.region) && c.region.contains(&x.region)
                })
        });
        if attempts.is_empty()
            || gives_up
            || !exits_on_success(func, lp, depth, &attempts)
            || success_stays(func, lp, &attempts)
        {
            continue;
        }
        let pick = |skip_adapters: bool| {
            attempts
                .iter()
                .rev()
                .map(|&a| &func.events[a])
                .find(|e| !skip_adapters || !ADAPTERS.contains(&last_segment(&e.name)))
        };
        let Some(attempt) = pick(true).or_else(|| pick(false)) else {
            continue;
        };
        out.push(RetryLoop {
            lp,
            sleep: s,
            attempt,
            attempts,
        });
    }
    out
}

/// A loop that retries a call the moment it reports a retryable failure: the callee is a crate
/// function that returns "try again" as a value ([`outcome::retry_signal`]: `Ok(None)` from an
/// error path), the loop goes round again on that value, and nothing on the way back to the
/// call waits (no sleep, timer, backoff or wait).
pub(crate) struct ImmediateRetry<'f> {
    /// The retried call in the loop.
    pub attempt: &'f Event,
    /// Where the callee signals the retry (`Ok(None)` in its body).
    pub signal: (FnKey, Region),
}

/// Whether an exit leaves loop `lp` (a `return`, a labelled `break`, or a `break` of `lp`).
fn leaves(x: &Exit, lp: usize, depth: usize) -> bool {
    x.closure_depth == depth
        && x.loops.contains(&lp)
        && (x.is_return || x.label.is_some() || x.loops.last() == Some(&lp))
}

/// Every immediate retry in `func` (see [`ImmediateRetry`]).
pub(crate) fn immediate_retries<'f>(
    cx: &CrateContext<'f>,
    func: &'f FnFacts,
) -> Vec<ImmediateRetry<'f>> {
    let mut out = Vec::new();
    for a in &func.events {
        let Some(&lp) = a.loops.last() else { continue };
        // `try_recv`, `try_lock`: a non-blocking attempt polled in a loop, as in `retry_loops`.
        if !matches!(a.kind, EventKind::Call | EventKind::MethodCall)
            || last_segment(&a.name).starts_with("try_")
        {
            continue;
        }
        let depth = a.closure_depth;
        // `for mgr in managers { if let Ok(Some(v)) = mgr.lookup(k) { return v } }` asks each
        // item once: a search, not a retry of the same call.
        let l = &func.loops[lp];
        if l.kind == LoopKind::For
            && l.header_deps
                .iter()
                .any(|h| a.receiver_deps.contains(h) || a.data_deps.contains(h))
        {
            continue;
        }
        let callees = cx.index.method_callees(func, a);
        let signals: Vec<(FnKey, Region)> = callees
            .iter()
            .filter_map(|k| {
                let f = &cx.files[k.file].facts.functions[k.func];
                outcome::retry_signal(f).map(|e| (*k, e.region))
            })
            .collect();
        // Every function the call may be signals retries (one that does not may be the one
        // called).
        if signals.is_empty() || signals.len() != callees.len() {
            continue;
        }
        let lr = func.loops[lp].region;
        let on_a: Vec<&Case> = func
            .cases
            .iter()
            .filter(|c| c.scrutinee.contains(&a.id) && lr.contains(&c.region))
            .collect();
        let exits_in = |c: &Case| {
            func.exits
                .iter()
                .any(|x| leaves(x, lp, depth) && c.region.contains(&x.region))
        };
        let retry_case = on_a.iter().find(|c| c.on_retry_signal());
        // The code that runs between the signal and the next attempt, as regions of the loop.
        let mut path: Vec<Region> = Vec::new();
        let mut falls_through = true;
        match retry_case {
            Some(c) => {
                if exits_in(c) {
                    continue;
                }
                let conts: Vec<&Exit> = func
                    .continues
                    .iter()
                    .filter(|x| x.closure_depth == depth && c.region.contains(&x.region))
                    .collect();
                if conts.iter().any(|x| x.label.is_some()) {
                    continue;
                }
                path.push(c.region);
                falls_through = conts.is_empty();
            }
            None => {
                // `if let Some(v) = attempt()? { return Ok(v) }`: every case on the value
                // leaves the loop on success; the signal falls through to the next round.
                if on_a.is_empty()
                    || !on_a
                        .iter()
                        .all(|c| !c.negated && matches!(c.pattern.as_str(), "Some" | "Ok(Some)"))
                    || !on_a.iter().any(|c| exits_in(c))
                {
                    continue;
                }
            }
        }
        let header = &func.loops[lp].header_deps;
        let skipped = |e: &Event| {
            on_a.iter()
                .any(|c| !c.on_retry_signal() && c.region.contains(&e.region))
        };
        let on_path = |e: &Event| {
            e.id != a.id
                && (header.contains(&e.id)
                    || (e.loops.contains(&lp)
                        && (e.region.starts_before(&a.region)
                            || path.iter().any(|r| r.contains(&e.region))
                            || (falls_through
                                && a.region.starts_before(&e.region)
                                && !skipped(e)))))
        };
        if func
            .events
            .iter()
            .any(|e| on_path(e) && (is_sleep(e) || outcome::is_delay_like(e)))
        {
            continue;
        }
        out.push(ImmediateRetry {
            attempt: a,
            signal: signals[0],
        });
    }
    out
}

/// How a retry loop's delay evolves between attempts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Delay {
    /// The same delay on every attempt.
    Constant,
    /// Grows per attempt (`*=`, `<<`, `pow`, a multiplied attempt counter); the region is
    /// where it grows.
    Growing(Region),
    /// Randomness flows into it (`rand`, `fastrand`, `getrandom`, a jitter helper).
    Random,
    /// Computed by something we cannot see through (a backoff object, a server hint, a helper).
    Unknown,
}

/// Calls and methods that compute a delay without hiding state: conversions, arithmetic,
/// clamping. A delay built only from these (and locals) can be judged.
const PURE: &[&str] = &[
    "from_millis",
    "from_secs",
    "from_micros",
    "from_nanos",
    "from_secs_f64",
    "from_secs_f32",
    "new",
    "min",
    "max",
    "clamp",
    "clone",
    "into",
    "try_into",
    "from",
    "try_from",
    "unwrap",
    "expect",
    "unwrap_or",
    "unwrap_or_default",
    "as_millis",
    "as_secs",
    "as_secs_f64",
    "as_secs_f32",
    "as_micros",
    "as_nanos",
    "saturating_add",
    "checked_add",
    "wrapping_add",
    "saturating_sub",
    "checked_sub",
    "to_owned",
];

/// Pure operations that make a delay grow with its input.
pub(crate) const GROWTH: &[&str] = &[
    "pow",
    "checked_pow",
    "saturating_pow",
    "wrapping_pow",
    "checked_mul",
    "saturating_mul",
    "wrapping_mul",
    "mul_f64",
    "mul_f32",
    "checked_shl",
    "wrapping_shl",
];

pub(crate) fn mentions_randomness(s: &str) -> bool {
    let s = s.to_ascii_lowercase();
    ["rand", "jitter", "rng", "getrandom", "fastrand"]
        .iter()
        .any(|w| s.contains(w))
}

/// Whether the event draws randomness: `rand::random`, `thread_rng`, `rng.gen_range(..)`,
/// `fastrand::u64(..)`, `getrandom(..)`, `jitter(..)`.
pub(crate) fn is_random(ev: &Event) -> bool {
    mentions_randomness(&ev.name)
        || matches!(
            ev.name.as_str(),
            "gen_range" | "gen" | "random_range" | "sample"
        )
        || ev
            .receiver
            .as_ref()
            .is_some_and(|r| mentions_randomness(&r.text))
}

/// Local names (and `self`) read by a rendered expression: identifiers not preceded by `.` or
/// `::` and not followed by `(`, `!` or `::`; UPPER_CASE constants are left out.
fn names_in(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let before = text_before(&chars, start);
            let after: String = chars[i..].iter().take(2).collect();
            let is_const = word.chars().any(|c| c.is_ascii_uppercase())
                && !word.chars().any(|c| c.is_ascii_lowercase());
            let is_type = word.starts_with(|c: char| c.is_ascii_uppercase());
            if !(before.ends_with('.')
                || before.ends_with("::")
                || after.starts_with('(')
                || after.starts_with('!')
                || after.starts_with("::")
                || is_const
                || is_type
                || word == "as"
                || word == "mut")
            {
                out.push(word);
            }
        } else if c.is_ascii_digit() {
            // A number with its suffix (`2u64`, `1_000`, `0.5f64`).
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

fn text_before(chars: &[char], at: usize) -> String {
    chars[at.saturating_sub(2)..at].iter().collect()
}

/// Whether `text` mentions the place `p` (`delay`, `self.delay`) as a whole path.
fn mentions_place(text: &str, p: &str) -> bool {
    let mut from = 0;
    while let Some(pos) = text[from..].find(p) {
        let start = from + pos;
        let end = start + p.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let ident = |c: char| c.is_alphanumeric() || c == '_';
        if !before.is_some_and(|c| ident(c) || c == '.') && !after.is_some_and(ident) {
            return true;
        }
        from = end;
    }
    false
}

/// Classifies the delay of a retrying `sleep` in loop `lp`: follows the events and locals that
/// flow into it, and the assignments inside the loop to the places it reads.
// One piece on purpose (~135 lines): a worklist fixpoint whose three passes (events the delay
// depends on, names its texts mention, assignments in the loop to what it reads) feed each
// other through the shared `pending`/`texts`/`seen_*` state until none makes progress.
pub(crate) fn classify_delay(func: &FnFacts, lp: usize, sleep: &Event) -> Delay {
    let l = &func.loops[lp];
    let lr = l.region;
    let arg = &sleep.args[0];
    let mut texts: Vec<String> = vec![arg.text.clone()];
    let mut pending: Vec<EventId> = arg.deps.iter().copied().collect();
    let mut seen_events: HashSet<EventId> = HashSet::new();
    let mut seen_names: HashSet<String> = HashSet::new();
    let mut seen_assigns: HashSet<EventId> = HashSet::new();
    let (mut varying, mut unknown, mut random) = (false, false, false);
    let mut growth: Option<Region> = None;
    let mut text_growth = false;
    let mut loop_var = false;
    let mut next_text = 0;
    loop {
        let mut progressed = false;
        while let Some(id) = pending.pop() {
            if id == sleep.id || !seen_events.insert(id) {
                continue;
            }
            progressed = true;
            let ev = &func.events[id];
            if is_random(ev) {
                random = true;
            }
            if !lr.contains(&ev.region) {
                continue;
            }
            let name = last_segment(&ev.name);
            if matches!(ev.kind, EventKind::Assign { .. }) {
                continue;
            }
            if GROWTH.contains(&name) {
                growth.get_or_insert(ev.region);
            } else if !PURE.contains(&name) && !is_random(ev) {
                unknown = true;
            }
            texts.extend(ev.args.iter().map(|a| a.text.clone()));
            if let Some(r) = &ev.receiver {
                texts.push(r.text.clone());
            }
        }
        while next_text < texts.len() {
            progressed = true;
            let t = texts[next_text].clone();
            next_text += 1;
            if mentions_randomness(&t) {
                random = true;
            }
            if t.contains("<<") || t.contains('*') || t.contains("pow") {
                text_growth = true;
            }
            for n in names_in(&t) {
                if n == "self" || !seen_names.insert(n.clone()) {
                    continue;
                }
                for b in func
                    .bindings
                    .iter()
                    .filter(|b| b.name == n && lr.contains(&b.region))
                {
                    let is_loop_var = l.kind == LoopKind::For
                        && l.header_region.is_some_and(|h| b.region.starts_before(&h));
                    if is_loop_var {
                        varying = true;
                        loop_var = true;
                        continue;
                    }
                    let inner: Vec<EventId> = b
                        .deps
                        .iter()
                        .copied()
                        .filter(|&d| lr.contains(&func.events[d].region))
                        .collect();
                    if inner.is_empty() {
                        // Bound in the loop from something we do not see (a literal, an
                        // expression without calls): give up rather than guess.
                        unknown = true;
                    }
                    pending.extend(b.deps.iter().copied());
                }
            }
        }
        // Assignments in the loop to a place the delay reads make it vary per attempt.
        let assigns: Vec<&Event> = func
            .events
            .iter()
            .filter(|e| {
                matches!(e.kind, EventKind::Assign { .. })
                    && lr.contains(&e.region)
                    && !seen_assigns.contains(&e.id)
            })
            .collect();
        for ev in assigns {
            let Some(p) = &ev.receiver else { continue };
            if !texts.iter().any(|t| mentions_place(t, &p.text)) {
                continue;
            }
            seen_assigns.insert(ev.id);
            progressed = true;
            varying = true;
            if let EventKind::Assign { op: Some(op) } = &ev.kind {
                match op.as_str() {
                    "*=" | "<<=" | "+=" => {
                        growth.get_or_insert(ev.region);
                    }
                    // A shrinking or otherwise updated delay: not a backoff we can judge.
                    _ => unknown = true,
                }
            }
            if let Some(v) = ev.args.first() {
                if v.text.contains("<<") || v.text.contains('*') || v.text.contains("pow") {
                    growth.get_or_insert(ev.region);
                }
                texts.push(v.text.clone());
                pending.extend(v.deps.iter().copied());
            }
        }
        if !progressed {
            break;
        }
    }
    if random {
        Delay::Random
    } else if unknown {
        Delay::Unknown
    } else if !varying {
        Delay::Constant
    } else if let Some(g) = growth {
        Delay::Growing(g)
    } else if text_growth && loop_var {
        Delay::Growing(arg.region)
    } else {
        Delay::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_skip_paths_methods_and_constants() {
        assert_eq!(
            names_in("Duration::from_millis(BASE * 2u64.pow(attempt) + self.x)"),
            vec!["attempt", "self"]
        );
        assert_eq!(names_in("delay.min(max_delay)"), vec!["delay", "max_delay"]);
    }

    #[test]
    fn place_mentions_are_whole_paths() {
        assert!(mentions_place("self.delay * 2", "self.delay"));
        assert!(!mentions_place("self.delay", "delay"));
        assert!(!mentions_place("delay_ms", "delay"));
        assert!(mentions_place("min(delay, cap)", "delay"));
    }
}
