//! Lint-only example: these plain tests check the delays, not concurrency.

use retry_storm::fixed::{full_jitter, JitterRng};
use std::time::Duration;

#[test]
fn jittered_delays_stay_under_the_exponential_bound() {
    let mut rng = JitterRng::with_seed(7);
    for attempt in 0..20 {
        let bound = (100u64 << attempt.min(10)).min(10_000);
        assert!(full_jitter(attempt, &mut rng) <= Duration::from_millis(bound));
    }
}

#[test]
fn clients_that_failed_together_do_not_retry_together() {
    // 100 clients, each with its own seed, all on their 4th retry (bound 1.6 s).
    let delays: std::collections::BTreeSet<Duration> = (0..100)
        .map(|seed| full_jitter(4, &mut JitterRng::with_seed(seed * 7919 + 1)))
        .collect();
    assert!(delays.len() > 50, "only {} distinct delays", delays.len());
}
