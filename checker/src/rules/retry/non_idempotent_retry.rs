use crate::analysis::{last_segment, Event, EventKind, FnFacts};
use crate::declare_rule;
use crate::finding::{Finding, Region};
use crate::rules::retry::retry_loops;
use crate::rules::{event_region, finding, label, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds mutating HTTP requests (`post`, `put`, `patch`, `delete`, or
    /// `request(Method::POST, ..)` with `reqwest`, `ureq`, `surf`, `hyper`/`http` or `awc`)
    /// sent inside a retry: a hand-written retry loop (a sleep on the request's error path, then
    /// another attempt) or a closure handed to a retry crate (`backoff::retry`,
    /// `backoff::future::retry`, `tokio_retry::Retry::spawn`, backon's `.retry(..)`), when no
    /// idempotency key header (`Idempotency-Key`, `X-Idempotency-Key`, any header name
    /// containing `idempotency`) is set on the request, or when the key is generated inside
    /// the retried code (`Uuid::new_v4()` in the loop body), so that every attempt sends a new
    /// one.
    ///
    /// ### Why is this bad
    /// A timeout does not mean the request failed. The server may have charged the card,
    /// created the order or sent the email, and only the response was lost. The client sees an
    /// error, waits, and sends the same `POST` again: the customer is charged twice. Nothing
    /// fails in tests, where requests either succeed or are refused outright; the duplicate
    /// shows up as a support ticket.
    ///
    /// ### Example
    /// ```rust,ignore
    /// for attempt in 0..3 {
    ///     match client.post(url).json(&charge).send().await {
    ///         Ok(resp) => return Ok(resp),
    ///         Err(_) => tokio::time::sleep(backoff(attempt)).await,
    ///     }
    /// }
    /// ```
    ///
    /// ### Use instead
    /// Generate one idempotency key per logical operation, outside the loop, and send it on
    /// every attempt, so the server can recognize the retry and return the first result:
    /// ```rust,ignore
    /// let key = uuid::Uuid::new_v4().to_string();
    /// for attempt in 0..3 {
    ///     match client.post(url).header("Idempotency-Key", &key).json(&charge).send().await {
    ///         Ok(resp) => return Ok(resp),
    ///         Err(_) => tokio::time::sleep(backoff(attempt)).await,
    ///     }
    /// }
    /// ```
    /// (and back off with jitter: `sleep = random_between(0, min(cap, base * 2^attempt))`).
    ///
    /// ### Known limitations
    /// Any mention of `idempotency` in the function (a header name, a constant, a helper)
    /// counts as a key; a regenerated key is only seen when the header and the generator
    /// (`uuid`, `ulid`, `rand`, `nanoid`) are both inside the retried code. Retries without a sleep, retry middleware (`reqwest-retry`) and
    /// requests built in another function are not seen. Endpoints that are idempotent by
    /// design (a `PUT` of a full resource, a `DELETE` by id) are reported too: suppress them
    /// with a reason.
    pub static NON_IDEMPOTENT_RETRY = {
        name: "non-idempotent-retry",
        group: Retry,
        level: Warn,
        summary: "a mutating HTTP request is retried without an idempotency key",
    };
}

pub struct NonIdempotentRetry;

const MUTATING: &[&str] = &["post", "put", "patch", "delete"];

/// Methods that send a built request (`reqwest`, `ureq`, `awc`, `hyper`).
const SENDS: &[&str] = &[
    "send",
    "send_json",
    "send_form",
    "send_body",
    "send_string",
    "send_bytes",
    "call",
    "request",
    "execute",
];

/// The HTTP method a request-building event uses, when it is a mutating one.
fn mutating_method(ev: &Event) -> Option<String> {
    let last = last_segment(&ev.name);
    match ev.kind {
        EventKind::MethodCall if MUTATING.contains(&last) && ev.args.len() == 1 => {
            Some(last.to_ascii_uppercase())
        }
        EventKind::Call if MUTATING.contains(&last) && !ev.args.is_empty() => {
            let first = ev.name.split("::").next().unwrap_or("");
            matches!(
                first,
                "reqwest" | "ureq" | "surf" | "awc" | "hyper" | "http" | "Request"
            )
            .then(|| last.to_ascii_uppercase())
        }
        EventKind::MethodCall if (last == "request" && ev.args.len() == 2) || last == "method" => {
            let t = &ev.args.first()?.text;
            MUTATING
                .iter()
                .map(|m| m.to_ascii_uppercase())
                .find(|m| t.ends_with(&format!("::{m}")) || t == &format!("\"{m}\""))
        }
        _ => None,
    }
}

/// Whether the request built by `m` is sent in the function (a `send`-like call depends on
/// it; `surf::post(..)` is sent by awaiting it).
fn is_sent(func: &FnFacts, m: &Event) -> bool {
    m.name.starts_with("surf::")
        || func.events.iter().any(|e| {
            e.id > m.id
                && e.kind == EventKind::MethodCall
                && SENDS.contains(&e.name.as_str())
                && (e.receiver_deps.contains(&m.id) || e.data_deps.contains(&m.id))
        })
}

/// Whether the function sets an idempotency key somewhere (a header name, a constant or a
/// helper mentioning `idempotency`).
fn sets_idempotency_key(func: &FnFacts) -> bool {
    let has = |s: &str| s.to_ascii_lowercase().contains("idempoten");
    has(&func.name)
        || func.events.iter().any(|e| {
            has(&e.name)
                || e.args.iter().any(|a| has(&a.text))
                || e.receiver.as_ref().is_some_and(|r| has(&r.text))
        })
        || func
            .field_inits
            .iter()
            .any(|f| has(&f.field) || has(&f.text))
}

/// Retry-crate entry points taking the operation as a closure.
fn is_retry_call(ev: &Event) -> bool {
    let name = ev.name.as_str();
    match ev.kind {
        EventKind::Call => {
            name == "retry"
                || name == "retry_notify"
                || name.ends_with("backoff::retry")
                || name.ends_with("backoff::retry_notify")
                || name.ends_with("future::retry")
                || name.ends_with("future::retry_notify")
                || name.ends_with("Retry::spawn")
                || name.ends_with("RetryIf::spawn")
        }
        EventKind::MethodCall => name == "retry" && ev.args.len() == 1,
        _ => false,
    }
}

/// Whether the event generates a fresh key: `Uuid::new_v4()`, `Ulid::new()`, `rand::random()`.
fn generates_key(ev: &Event) -> bool {
    let n = ev.name.to_ascii_lowercase();
    ["uuid", "new_v4", "new_v7", "ulid", "rand", "nanoid"]
        .iter()
        .any(|w| n.contains(w))
}

/// An idempotency header set inside the retried code (`scope`) whose value is generated there
/// too: every attempt sends a new key, so the server cannot recognize the retry.
fn key_regenerated(func: &FnFacts, scope: &Region) -> Option<Region> {
    let has = |s: &str| s.to_ascii_lowercase().contains("idempoten");
    func.events.iter().find_map(|k| {
        if !scope.contains(&k.region) || !k.args.iter().any(|a| has(&a.text)) {
            return None;
        }
        let fresh = k.data_deps.iter().any(|&d| {
            let g = &func.events[d];
            scope.contains(&g.region) && generates_key(g)
        });
        fresh.then(|| event_region(k))
    })
}

/// Where `m` is retried: the retrying sleep of a hand-written loop, or the retry-crate call
/// whose closure contains it; with the region of the retried code.
fn retried_at(func: &FnFacts, m: &Event) -> Option<(Region, String, Region)> {
    for r in retry_loops(func) {
        if m.loops.contains(&r.lp)
            && r.attempts.iter().any(|&a| {
                a == m.id
                    || func.events[a].receiver_deps.contains(&m.id)
                    || func.events[a].data_deps.contains(&m.id)
            })
        {
            return Some((
                event_region(r.sleep),
                "the loop retries it after this sleep".into(),
                func.loops[r.lp].region,
            ));
        }
    }
    if m.closure_depth == 0 {
        return None;
    }
    func.events.iter().find_map(|e| {
        if !is_retry_call(e) {
            return None;
        }
        let scope = e
            .args
            .iter()
            .map(|a| a.region)
            .find(|r| r.contains(&m.region))
            .or_else(|| {
                e.receiver_region
                    .filter(|r| e.kind == EventKind::MethodCall && r.contains(&m.region))
                    .filter(|r| *r != m.region)
            })?;
        Some((
            event_region(e),
            format!("`{}` runs the closure again when it fails", e.name),
            scope,
        ))
    })
}

impl Rule for NonIdempotentRetry {
    fn meta(&self) -> &'static RuleMeta {
        &NON_IDEMPOTENT_RETRY
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            let requests: Vec<(&Event, String)> = func
                .events
                .iter()
                .filter_map(|e| mutating_method(e).map(|m| (e, m)))
                .collect();
            if requests.is_empty() {
                continue;
            }
            let keyed = sets_idempotency_key(func);
            for (m, method) in requests {
                if !is_sent(func, m) {
                    continue;
                }
                let Some((at, why, scope)) = retried_at(func, m) else {
                    continue;
                };
                let verb = last_segment(&m.name);
                let mut f = if !keyed {
                    finding(
                        &NON_IDEMPOTENT_RETRY,
                        file,
                        event_region(m),
                        format!(
                            "`{method}` request is retried without an idempotency key; if an \
                             attempt reached the server and only the response was lost, the \
                             retry performs the operation twice"
                        ),
                        format!(
                            "generate a key once, outside the retry (e.g. \
                             `let key = Uuid::new_v4().to_string();`), and send it on every \
                             attempt: `.{verb}(..).header(\"Idempotency-Key\", &key)`"
                        ),
                    )
                } else if let Some(k) = key_regenerated(func, &scope) {
                    let mut f = finding(
                        &NON_IDEMPOTENT_RETRY,
                        file,
                        event_region(m),
                        format!(
                            "`{method}` request is retried with an idempotency key generated \
                             inside the retry; every attempt sends a new key, so the server \
                             cannot tell a retry from a new operation"
                        ),
                        "generate the key once, before the retry starts, and send that same \
                         key on every attempt",
                    );
                    label(&mut f, k, "a fresh key is generated for each attempt");
                    f
                } else {
                    continue;
                };
                label(&mut f, at, why);
                out.push(f);
            }
        }
    }
}
