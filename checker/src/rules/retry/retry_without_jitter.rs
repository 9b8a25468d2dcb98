use crate::analysis::{last_segment, Event, EventKind, FnFacts};
use crate::declare_rule;
use crate::finding::{Finding, Region};
use crate::rules::retry::{
    classify_delay, is_random, mentions_randomness, retry_loops, Delay, GROWTH,
};
use crate::rules::{event_region, finding, label, CrateContext, FileCx, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds exponential backoff without randomness: a hand-written retry loop (a call, a
    /// sleep on its error path, another attempt) whose delay grows (`delay *= 2`,
    /// `2u64.pow(attempt)`, `base << attempt`) but never draws from `rand`, `fastrand`,
    /// `getrandom` or a jitter helper; and retry crates configured without jitter:
    /// `backoff::ExponentialBackoff { randomization_factor: 0.0, .. }` (or
    /// `.with_randomization_factor(0.0)`), `backon::ExponentialBuilder` without
    /// `.with_jitter()`, `tokio_retry::strategy::ExponentialBackoff` without `.map(jitter)`.
    ///
    /// ### Why is this bad
    /// Backoff spreads retries out over time, but not across clients: every instance that
    /// failed at the same moment waits 100 ms, 200 ms, 400 ms… and retries at the same
    /// moments. Five hundred instances still arrive in synchronized waves that knock the
    /// recovering service over again (a retry storm / thundering herd). The code looks
    /// careful; the outage shows otherwise.
    ///
    /// ### Example
    /// ```rust,ignore
    /// let mut delay = Duration::from_millis(100);
    /// loop {
    ///     match connect(addr).await {
    ///         Ok(conn) => return Ok(conn),
    ///         Err(_) => {
    ///             tokio::time::sleep(delay).await;
    ///             delay = (delay * 2).min(MAX_DELAY);
    ///         }
    ///     }
    /// }
    /// ```
    ///
    /// ### Use instead
    /// Randomize every delay (full jitter):
    /// `sleep = random_between(0, min(cap, base * 2^attempt))`.
    /// ```rust,ignore
    /// for attempt in 0..MAX_ATTEMPTS {
    ///     match connect(addr).await {
    ///         Ok(conn) => return Ok(conn),
    ///         Err(_) => {
    ///             let ceiling = MAX_DELAY.min(BASE * 2u32.pow(attempt));
    ///             tokio::time::sleep(ceiling.mul_f64(rand::random::<f64>())).await;
    ///         }
    ///     }
    /// }
    /// ```
    /// With crates: keep `backoff`'s default `randomization_factor` (0.5), call
    /// `.with_jitter()` on `backon::ExponentialBuilder`, and
    /// `.map(tokio_retry::strategy::jitter)` on `tokio_retry`'s strategies.
    ///
    /// Jitter that is computed and thrown away is reported too: a by-value builder method
    /// (`builder.with_jitter();`) or a lazy adapter (`strategy.map(jitter);`) whose result is
    /// discarded leaves the policy without jitter. Keep the result:
    /// `builder = builder.with_jitter();`.
    ///
    /// So is jitter too small to matter: a growing delay (`saturating_mul`, `pow`, …) plus a
    /// random fraction of something that does not grow (`cur + self.min_delay.mul_f32(rng)`).
    /// Once the delay has grown, every client's delay differs by at most the minimum delay and
    /// they retry in waves; scale the jitter by the current delay (`cur.mul_f32(rng)`).
    ///
    /// ### Known limitations
    /// Randomness is recognized by name (`rand`, `rng`, `jitter`, `fastrand`, `getrandom`,
    /// `gen_range`) in the events and locals that flow into the delay, within one function. A
    /// delay computed by an opaque helper is not reported. Crate builders that are returned or
    /// stored (configured elsewhere) are not reported. A discarded `with_…jitter…` call is
    /// taken to be a by-value builder method unless it resolves to a method of the crate that
    /// takes `&mut self`.
    pub static RETRY_WITHOUT_JITTER = {
        name: "retry-without-jitter",
        group: Retry,
        level: Warn,
        summary: "an exponential retry backoff has no randomness, so clients retry in lockstep",
    };
}

pub struct RetryWithoutJitter;

fn is_zero(text: &str) -> bool {
    let t = text
        .trim_end_matches("f64")
        .trim_end_matches("f32")
        .trim_end_matches('_');
    !t.is_empty() && t.parse::<f64>().is_ok_and(|v| v == 0.0)
}

/// Whether the function mentions jitter anywhere (a `.with_jitter()`, `.map(jitter)`, a
/// jitter helper): then the crate's builder is assumed to get it.
fn mentions_jitter(func: &FnFacts) -> bool {
    func.events.iter().any(|e| {
        e.name.to_ascii_lowercase().contains("jitter")
            || e.args
                .iter()
                .any(|a| a.text.to_ascii_lowercase().contains("jitter"))
    })
}

/// Whether the policy built by event `id` escapes the function, to be configured elsewhere:
/// returned as a policy, stored in a struct field or assigned to a field.
fn escapes(func: &FnFacts, id: usize) -> bool {
    let returns_policy = func.ret.as_ref().is_some_and(|r| {
        [
            "Builder", "Backoff", "Strategy", "impl ", "Iterator", "Self",
        ]
        .iter()
        .any(|w| r.contains(w))
    });
    (returns_policy && func.returns.contains(&id))
        || func.field_inits.iter().any(|f| f.deps.contains(&id))
        || func.events.iter().any(|e| {
            matches!(e.kind, EventKind::Assign { .. })
                && e.receiver.as_ref().is_some_and(|p| p.text.contains('.'))
                && e.data_deps.contains(&id)
        })
}

/// A call that adds jitter to a retry policy and returns the jittered policy: a `with_…`
/// builder method naming jitter (`with_jitter()`, `with_jitter_factor(..)`) or a `map(jitter)`
/// over a strategy iterator.
fn adds_jitter(ev: &Event) -> bool {
    ev.kind == EventKind::MethodCall
        && ((ev.name.starts_with("with_") && ev.name.to_ascii_lowercase().contains("jitter"))
            || (ev.name == "map"
                && ev
                    .args
                    .iter()
                    .any(|a| a.text.to_ascii_lowercase().contains("jitter"))))
}

/// Whether `ev` is a call on a receiver of a type the crate declares whose method of that name
/// takes `&mut self` (a builder that configures in place, so a discarded result loses
/// nothing). A receiver of unknown type (a library builder chain) follows the `with_…`
/// convention: by value.
fn mutates_in_place(cx: &CrateContext<'_>, func: &FnFacts, ev: &Event) -> bool {
    let typed = ev
        .receiver
        .as_ref()
        .is_some_and(|r| !cx.index.declared_types(func, r).is_empty());
    let callees = cx.index.method_callees(func, ev);
    typed
        && !callees.is_empty()
        && callees.iter().all(|k| {
            cx.files[k.file].facts.functions[k.func]
                .params
                .first()
                .is_some_and(|(n, t)| n == "self" && t.starts_with("&mut"))
        })
}

/// `grown.saturating_add(fixed.mul_f32(random))`: jitter whose magnitude is a value that does
/// not grow, added to a delay that does. Returns the scaling call and the add.
fn fixed_jitter(func: &FnFacts) -> Vec<(&Event, &Event)> {
    let grows = |deps: &crate::analysis::Deps| {
        deps.iter()
            .any(|&d| GROWTH.contains(&last_segment(&func.events[d].name)))
    };
    let random = |a: &crate::analysis::Arg| {
        mentions_randomness(&a.text) || a.deps.iter().any(|&d| is_random(&func.events[d]))
    };
    let mut out = Vec::new();
    for s in &func.events {
        if !(s.is_method("mul_f32", 1) || s.is_method("mul_f64", 1)) || !random(&s.args[0]) {
            continue;
        }
        let Some(scale) = &s.receiver else { continue };
        if grows(&s.receiver_deps) {
            continue;
        }
        let add = func.events.iter().find(|a| {
            a.kind == EventKind::MethodCall
                && matches!(a.name.as_str(), "saturating_add" | "checked_add" | "add")
                && a.data_deps.contains(&s.id)
                && grows(&a.receiver_deps)
                && a.receiver.as_ref().is_some_and(|r| r.text != scale.text)
        });
        if let Some(a) = add {
            out.push((s, a));
        }
    }
    out
}

fn crate_finding(file: &FileCx<'_>, region: Region, message: String, help: &str) -> Finding {
    finding(&RETRY_WITHOUT_JITTER, file, region, message, help)
}

impl Rule for RetryWithoutJitter {
    fn meta(&self) -> &'static RuleMeta {
        &RETRY_WITHOUT_JITTER
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            grown_delays(file, func, out);
            backoff_policies(cx, file, func, out);
        }
    }
}

/// Hand-written retry loops whose delay grows deterministically.
fn grown_delays(file: &FileCx<'_>, func: &FnFacts, out: &mut Vec<Finding>) {
    for r in retry_loops(func) {
        let Delay::Growing(grows) = classify_delay(func, r.lp, r.sleep) else {
            continue;
        };
        let delay = &r.sleep.args[0].text;
        let call = &r.attempt.name;
        let mut f = finding(
            &RETRY_WITHOUT_JITTER,
            file,
            event_region(r.sleep),
            format!(
                "retry of `{call}` backs off to `{delay}` with no randomness; clients \
                 that failed together retry together"
            ),
            format!(
                "randomize the delay (full jitter): sleep a random duration between 0 \
                 and `{delay}`, i.e. `random_between(0, min(cap, base * 2^attempt))`, \
                 e.g. `{delay}.mul_f64(rand::random::<f64>())`"
            ),
        );
        label(&mut f, grows, "the delay grows here, deterministically");
        label(
            &mut f,
            event_region(r.attempt),
            format!("`{call}` is retried when it fails"),
        );
        out.push(f);
    }
}

/// Backoff policies built without jitter, with a zero randomization factor, with jitter that
/// does not grow, or whose jittered value is discarded.
fn backoff_policies(
    cx: &CrateContext<'_>,
    file: &FileCx<'_>,
    func: &FnFacts,
    out: &mut Vec<Finding>,
) {
    // backoff::ExponentialBackoff { randomization_factor: 0.0, .. }
    for fi in &func.field_inits {
        if fi.strukt == "ExponentialBackoff"
            && fi.field == "randomization_factor"
            && is_zero(&fi.text)
        {
            out.push(crate_finding(
                file,
                fi.region,
                "`ExponentialBackoff` with `randomization_factor: 0.0` retries on a \
                 fixed schedule shared by every client"
                    .into(),
                "keep a randomization factor (the default 0.5 is a good start), or \
                 remove the field to use `..Default::default()`'s",
            ));
        }
    }
    for (scale, add) in fixed_jitter(func) {
        let fixed = scale.receiver.as_ref().map_or("", |p| p.text.as_str());
        let grown = add.receiver.as_ref().map_or("", |p| p.text.as_str());
        let mut f = crate_finding(
            file,
            event_region(scale),
            format!(
                "the jitter added to the growing delay `{grown}` is a random fraction of \
                 `{fixed}`, which does not grow: once the delay has grown the jitter is \
                 negligible and clients retry in waves"
            ),
            &format!(
                "scale the jitter by the current delay: `{grown}.{}(..)`",
                scale.name
            ),
        );
        label(
            &mut f,
            event_region(add),
            format!("added to `{grown}`, which grows"),
        );
        out.push(f);
    }
    policy_calls(cx, file, func, out);
}

/// Calls that build a policy: a jittered one whose result is discarded, a zero
/// randomization factor, an exponential builder with no jitter anywhere in the function.
fn policy_calls(cx: &CrateContext<'_>, file: &FileCx<'_>, func: &FnFacts, out: &mut Vec<Finding>) {
    let jitter = mentions_jitter(func);
    for ev in &func.events {
        if adds_jitter(ev) && !ev.value_used && !mutates_in_place(cx, func, ev) {
            let call = &ev.name;
            let mut f = crate_finding(
                file,
                event_region(ev),
                format!(
                    "the policy returned by `{call}` is discarded, so the retries run \
                     without the jitter it adds"
                ),
                &format!(
                    "keep the jittered policy: assign the result (`builder = \
                     builder.{call}(..)`) or chain `.{call}(..)` into the expression \
                     that builds it"
                ),
            );
            label(
                &mut f,
                ev.name_region,
                "builder methods take the policy by value and return the new one",
            );
            out.push(f);
            continue;
        }
        let name = ev.name.as_str();
        let last = last_segment(name);
        // `.with_randomization_factor(0.0)` / `b.randomization_factor = 0.0`
        let zero_factor = (ev.is_method("with_randomization_factor", 1)
            && is_zero(&ev.args[0].text))
            || (matches!(ev.kind, EventKind::Assign { op: None })
                && ev
                    .receiver
                    .as_ref()
                    .is_some_and(|p| p.text.ends_with(".randomization_factor"))
                && ev.args.first().is_some_and(|a| is_zero(&a.text)));
        if zero_factor {
            out.push(crate_finding(
                file,
                event_region(ev),
                "exponential backoff with a randomization factor of 0 retries on a fixed \
                 schedule shared by every client"
                    .into(),
                "keep a randomization factor (backoff's default 0.5 is a good start)",
            ));
            continue;
        }
        if ev.kind != EventKind::Call || jitter || escapes(func, ev.id) {
            continue;
        }
        let backon = name.ends_with("ExponentialBuilder::default")
            || name.ends_with("ExponentialBuilder::new");
        let tokio_retry = (name.ends_with("ExponentialBackoff::from_millis")
            || name.ends_with("ExponentialBackoff::from_secs"))
            && last.starts_with("from_");
        if backon {
            out.push(crate_finding(
                file,
                event_region(ev),
                "`ExponentialBuilder` without `.with_jitter()` retries on a fixed \
                 schedule shared by every client"
                    .into(),
                "add `.with_jitter()` to the builder",
            ));
        } else if tokio_retry {
            out.push(crate_finding(
                file,
                event_region(ev),
                "`ExponentialBackoff` strategy without jitter retries on a fixed \
                 schedule shared by every client"
                    .into(),
                "map the strategy through jitter: \
                 `ExponentialBackoff::from_millis(..).map(tokio_retry::strategy::jitter)`",
            ));
        }
    }
}
