use crate::declare_rule;
use crate::finding::{Finding, Label};
use crate::rules::retry::{classify_delay, immediate_retries, retry_loops, Delay};
use crate::rules::{event_region, finding, label, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds hand-written retry loops that wait the same fixed time before every attempt: a
    /// `loop`/`for`/`while` whose body makes a call, sleeps on that call's error path
    /// (`std::thread::sleep`, `tokio::time::sleep`, `async_std::task::sleep`) and tries again,
    /// leaving the loop when the call succeeds, with a delay that never changes.
    ///
    /// ### Why is this bad
    /// A service that is down or overloaded fails every caller at once. With a constant delay,
    /// five hundred instances all retry every second, on the same schedule, for as long as the
    /// outage lasts: the recovering service takes the full load the moment it comes back and
    /// falls over again (a retry storm). Load tests with one client never show it; the outage
    /// that the retry was written for does.
    ///
    /// ### Example
    /// ```rust,ignore
    /// loop {
    ///     match client.get(url).send().await {
    ///         Ok(resp) => return Ok(resp),
    ///         Err(e) => {
    ///             warn!("fetch failed: {e}");
    ///             tokio::time::sleep(Duration::from_secs(1)).await;
    ///         }
    ///     }
    /// }
    /// ```
    ///
    /// ### Use instead
    /// Grow the delay exponentially with the attempt number, cap it, and randomize it (full
    /// jitter): `sleep = random_between(0, min(cap, base * 2^attempt))`. Bound the attempts.
    /// ```rust,ignore
    /// for attempt in 0..MAX_ATTEMPTS {
    ///     match client.get(url).send().await {
    ///         Ok(resp) => return Ok(resp),
    ///         Err(e) => {
    ///             let ceiling = CAP.min(BASE * 2u32.pow(attempt));
    ///             tokio::time::sleep(ceiling.mul_f64(rand::random::<f64>())).await;
    ///         }
    ///     }
    /// }
    /// ```
    /// or use a retry crate with jitter (`backoff::ExponentialBackoff::default()`,
    /// `backon::ExponentialBuilder::default().with_jitter()`).
    ///
    /// A retry with no delay at all is reported too: a loop that calls a function of the crate
    /// which reports a retryable failure as a value (it returns `Ok(None)` from an error path:
    /// `Ok(Err(Error::Io(_))) => Ok(None)`) and goes round again on that value with nothing on
    /// the way back to the call that waits (`Ok(None) => continue`, or
    /// `if let Some(v) = attempt()? { return Ok(v) }` falling through). The caller hammers the
    /// service as fast as it fails.
    ///
    /// ### Known limitations
    /// Only loops in one function are seen, and only the three sleep functions above (not
    /// `tokio::time::interval` or timers). The error path is recognized from `match`/`if let`
    /// on `Ok`/`Err` and from `is_ok()`/`is_err()` tests. A delay computed by a helper or a
    /// backoff object is assumed to grow and is not reported. Loops that sleep but never leave
    /// on success (polling, heartbeats) are not retries and are not reported. A retry with no
    /// delay is seen only through a crate function's `Ok(None)` signal (a loop that retries
    /// `Err(_) => continue` directly, or a signal from a macro body, is not reported); any call
    /// on the way back whose name says it waits (`sleep`, `delay`, `backoff`, `wait`, `park`,
    /// `tick`, `timer`, `interval`, `throttle`) counts as a delay.
    pub static RETRY_WITHOUT_BACKOFF = {
        name: "retry-without-backoff",
        group: Retry,
        level: Warn,
        summary: "a retry loop waits a constant delay between attempts",
    };
}

pub struct RetryWithoutBackoff;

impl Rule for RetryWithoutBackoff {
    fn meta(&self) -> &'static RuleMeta {
        &RETRY_WITHOUT_BACKOFF
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            for r in retry_loops(func) {
                if classify_delay(func, r.lp, r.sleep) != Delay::Constant {
                    continue;
                }
                let delay = &r.sleep.args[0].text;
                let call = &r.attempt.name;
                let mut f = finding(
                    &RETRY_WITHOUT_BACKOFF,
                    file,
                    event_region(r.sleep),
                    format!(
                        "retry loop waits the same `{delay}` before every new attempt of \
                         `{call}`; many clients failing together retry in lockstep"
                    ),
                    format!(
                        "grow and randomize the delay per attempt instead of `{delay}`: \
                         `sleep(random_between(0, min(cap, base * 2^attempt)))` (full jitter), \
                         or use `backoff::ExponentialBackoff::default()` / \
                         `backon::ExponentialBuilder::default().with_jitter()`"
                    ),
                );
                label(
                    &mut f,
                    event_region(r.attempt),
                    format!("`{call}` is retried when it fails"),
                );
                out.push(f);
            }
            for r in immediate_retries(cx, func) {
                let call = &r.attempt.name;
                let (key, at) = r.signal;
                let callee = &cx.files[key.file];
                let mut f = finding(
                    &RETRY_WITHOUT_BACKOFF,
                    file,
                    event_region(r.attempt),
                    format!(
                        "`{call}` is retried at once when it reports a retryable failure \
                         (`Ok(None)`): no delay between attempts, so the loop hammers a service \
                         that is down as fast as it fails"
                    ),
                    "wait before the next attempt, growing and randomized: \
                     `sleep(random_between(0, min(cap, base * 2^attempt)))` on the `Ok(None)` \
                     path (full jitter), or retry through `backoff`/`backon` with jitter",
                );
                f.labels.push(Label {
                    region: at,
                    message: format!(
                        "`{}` reports a retryable failure here",
                        callee.facts.functions[key.func].name
                    ),
                    file: (callee.source.rel != file.source.rel).then(|| callee.source.rel.clone()),
                });
                out.push(f);
            }
        }
    }
}
