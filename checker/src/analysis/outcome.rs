//! What a function's result tells its caller, summarised from its body: which pattern cases
//! run on an error path, and whether the function reports "failed, try again" as a value.
//!
//! The three-way result `Result<Option<T>, E>` is a common way to hand a retry decision to the
//! caller: `Ok(Some(v))` succeeded, `Err(e)` failed for good, `Ok(None)` failed in a way worth
//! another attempt (`Ok(Err(Error::Io(_))) => Ok(None)`, `Err(e) if spurious(e) => Ok(None)`).
//! The caller's loop then retries on `Ok(None)`, and whether it waits in between is decided
//! there, far from the failure — the shape of several real "retry in a tight loop" bugs.

use super::{Case, Event, EventKind, FnFacts};

/// The constructors of one pattern head: `Ok(Err)` → `["Ok", "Err"]`.
fn parts(head: &str) -> impl Iterator<Item = &str> {
    head.split(['(', ')']).filter(|p| !p.is_empty())
}

fn all_ok(head: &str) -> bool {
    parts(head).all(|p| p == "Ok")
}

impl Case {
    /// The case runs on an error path of its scrutinee (some alternative is an `Err(..)`,
    /// possibly nested as `Ok(Err(..))`, or the code runs when `Ok(..)` did not match).
    pub fn on_error(&self) -> bool {
        self.errs(false)
    }

    /// The case runs only on an error path: every alternative of the pattern is an `Err(..)`
    /// (possibly nested, `Ok(Err(..))`), or the code runs when `Ok(..)` did not match.
    /// `Ok(_) | Err(NeedMore) => {}` also runs on success and is no error-only case.
    pub fn only_on_error(&self) -> bool {
        self.errs(true)
    }

    /// Some (`every`: each) alternative of the pattern is an error; a negated case is on the
    /// error path when the pattern it did not match is all `Ok`.
    fn errs(&self, every: bool) -> bool {
        let is_err = |h: &str| parts(h).any(|p| p == "Err");
        if self.negated {
            all_ok(&self.pattern)
        } else if every {
            self.pattern.split('|').all(is_err)
        } else {
            self.pattern.split('|').any(is_err)
        }
    }

    /// The case runs only on the success path of its scrutinee (`Ok(..)`, or not `Err(..)`).
    pub fn on_success(&self) -> bool {
        if self.negated {
            self.pattern == "Err"
        } else {
            self.pattern.split('|').all(all_ok)
        }
    }

    /// The case runs when a "try again" signal (`Ok(None)`, or `None` after `?`) matched: the
    /// pattern is `Ok(None)`/`None`, or the code runs when `Some(..)`/`Ok(Some(..))` did not.
    pub fn on_retry_signal(&self) -> bool {
        if self.negated {
            matches!(self.pattern.as_str(), "Some" | "Ok(Some)")
        } else {
            self.pattern
                .split('|')
                .any(|h| h == "None" || h == "Ok(None)")
        }
    }
}

/// Names of calls that wait before going on: sleeps, timers, backoff helpers, waits on a
/// condition, a notification (`notified`, `changed`) or a channel (`recv`). Matched against the last path segment, lower-cased.
pub fn is_delay_like(ev: &Event) -> bool {
    if !matches!(ev.kind, EventKind::Call | EventKind::MethodCall) {
        return false;
    }
    let name = super::last_segment(&ev.name).to_ascii_lowercase();
    [
        "sleep", "delay", "backoff", "wait", "park", "tick", "timer", "interval", "throttle",
        "notified", "changed", "recv",
    ]
    .iter()
    .any(|w| name.contains(w))
}

/// The function returns `Ok(None)` from an error-only case of a call it makes (with no wait in
/// that case) and its return type is a `Result` of an `Option`: a caller gets "failed, retry"
/// as a value. Returns the `Ok(None)` event.
pub fn retry_signal(func: &FnFacts) -> Option<&Event> {
    let ret = func.ret.as_deref()?;
    // `Result<Option<T>, E>` (or an alias such as `CargoResult<Option<T>>`), not an
    // `Option<Result<Option<T>, E>>` whose `Some(Ok(None))` is an answer.
    if !ret.contains("Option<") || ret.starts_with("Option<") {
        return None;
    }
    func.events.iter().find(|e| {
        e.kind == EventKind::Call
            && e.name == "Ok"
            && e.closure_depth == 0
            && e.args.len() == 1
            && e.args[0].text == "None"
            // Returned as it is, not wrapped into another value.
            && !func.events.iter().any(|o| o.data_deps.contains(&e.id))
            && func.cases.iter().any(|c| {
                c.only_on_error()
                    && !c.scrutinee.is_empty()
                    && c.region.contains(&e.region)
                    && !func
                        .events
                        .iter()
                        .any(|w| c.region.contains(&w.region) && is_delay_like(w))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze_file;

    fn func(src: &str) -> FnFacts {
        let file = syn::parse_file(src).unwrap();
        analyze_file(&file).functions.remove(0)
    }

    #[test]
    fn ok_none_on_an_error_path_is_a_retry_signal() {
        let f = func(
            "async fn connect(&self) -> Result<Option<Conn>, Error> {
                match timeout(t, self.opts.connect()).await {
                    Ok(Ok(c)) => Ok(Some(c)),
                    Ok(Err(Error::Io(_))) => Ok(None),
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err(Error::Timeout),
                }
            }",
        );
        assert!(retry_signal(&f).is_some());
        let g = func(
            "fn attempt<T>(&mut self, f: impl FnOnce() -> Result<T>) -> Result<Option<T>> {
                match f() {
                    Err(ref e) if spurious(e) && self.left > 0 => { self.left -= 1; Ok(None) }
                    other => other.map(Some),
                }
            }",
        );
        assert!(retry_signal(&g).is_some());
    }

    #[test]
    fn ok_none_that_is_not_a_failure_or_waits_is_no_signal() {
        // "Not found" on the success path is an answer, not a retry.
        let lookup = func(
            "fn find(&self, k: &str) -> Result<Option<Row>, Error> {
                match self.db.get(k) {
                    Ok(Some(r)) => Ok(Some(r)),
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                }
            }",
        );
        assert!(retry_signal(&lookup).is_none());
        // The callee waits before asking for another attempt.
        let waits = func(
            "fn attempt(&mut self) -> Result<Option<Conn>, Error> {
                match self.connect() {
                    Ok(c) => Ok(Some(c)),
                    Err(_) => { std::thread::sleep(self.backoff.next()); Ok(None) }
                }
            }",
        );
        assert!(retry_signal(&waits).is_none());
        // A decoder's "need more input": the `Ok(None)` follows a match whose fall-through
        // arms include success.
        let decoder = func(
            "fn decode(&mut self, buf: &mut Buf) -> Result<Option<Frame>, Error> {
                match self.frame.load(buf) {
                    Ok(_) => {}
                    Err(Error::NeedMore) if !self.end => {}
                    Err(e) => return Err(e),
                }
                if self.end { Ok(Some(self.take())) } else { Ok(None) }
            }",
        );
        assert!(retry_signal(&decoder).is_none());
        // `Some(Ok(None))`: "stopped, without an error code", an answer wrapped in `Some`.
        let stopped = func(
            "fn stopped(conn: &mut State) -> Option<Result<Option<u64>, Error>> {
                match conn.stream().stopped() {
                    Err(Closed) => Some(Ok(None)),
                    Ok(Some(code)) => Some(Ok(Some(code))),
                    Ok(None) => None,
                }
            }",
        );
        assert!(retry_signal(&stopped).is_none());
    }
}
