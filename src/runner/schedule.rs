//! shuttle schedules: the scheduler wrapper that records each execution's schedule (for
//! replay) and whether it had any choice to make, and the schedule's text encoding.

use super::*;
use crate::model::rt;
use ::shuttle::scheduler::{Schedule, Scheduler, Task, TaskId};

/// When a shuttle phase stops before its iteration count.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// Never early (replay).
    Never,
    /// After an execution without any choice: no scheduling decision between two
    /// runnable tasks and no random value. Every execution would be that one.
    Deterministic,
    /// After an execution with no scheduling decision between two runnable tasks: PCT has
    /// no priorities to change (shuttle's PCT panics "test closure did not exercise any
    /// concurrency" on its next execution).
    NoConcurrency,
}

/// What the executions of one shuttle phase showed.
#[derive(Clone, Copy, Default)]
pub(super) struct Seen {
    /// Some scheduling decision had two or more runnable tasks.
    pub(super) concurrent: bool,
    /// Some execution asked for a random value.
    pub(super) data: bool,
    /// The phase stopped early (see [`Stop`]).
    pub(super) stopped: bool,
}

/// shuttle scheduler wrapper recording the schedule (seed + choices) for replay, and
/// whether the executions had any choice to make (see [`Stop`]).
///
/// On a failure the inner scheduler is leaked rather than dropped: shuttle's
/// `RandomScheduler` prints its own (heisen-irrelevant) "failing seed" advice on drop.
pub(super) struct Recording<S> {
    inner: std::mem::ManuallyDrop<S>,
    stop: Stop,
    executions: usize,
    seen: Seen,
    /// `seen`, for the runner (updated when `seen` changes: rarely).
    shared: Arc<std::sync::Mutex<Seen>>,
}
impl<S> Recording<S> {
    pub(super) fn new(inner: S, stop: Stop) -> (Self, Arc<std::sync::Mutex<Seen>>) {
        let shared = Arc::new(std::sync::Mutex::new(Seen::default()));
        let r = Recording {
            inner: std::mem::ManuallyDrop::new(inner),
            stop,
            executions: 0,
            seen: Seen::default(),
            shared: shared.clone(),
        };
        (r, shared)
    }
    fn note(&mut self, f: impl FnOnce(&mut Seen)) {
        f(&mut self.seen);
        if let Ok(mut s) = self.shared.lock() {
            *s = self.seen;
        }
    }
}
impl<S> Drop for Recording<S> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            // SAFETY: dropped exactly once, here; never used afterwards.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.inner) }
        }
    }
}
impl<S: Scheduler> Scheduler for Recording<S> {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.executions > 0 {
            let seen = self.seen;
            let stop = match self.stop {
                Stop::Never => false,
                Stop::Deterministic => !seen.concurrent && !seen.data,
                Stop::NoConcurrency => !seen.concurrent,
            };
            if stop {
                self.note(|s| s.stopped = true);
                return None;
            }
        }
        let s = self.inner.new_execution()?;
        self.executions += 1;
        rt::shuttle_schedule_start(s.seed);
        Some(s)
    }
    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        if runnable.len() > 1 && !self.seen.concurrent && self.stop != Stop::Never {
            self.note(|s| s.concurrent = true);
        }
        let t = self.inner.next_task(runnable, current, is_yielding);
        if let Some(t) = t {
            rt::shuttle_schedule_push(Some(usize::from(t)));
        }
        t
    }
    fn next_u64(&mut self) -> u64 {
        if !self.seen.data && self.stop != Stop::Never {
            self.note(|s| s.data = true);
        }
        rt::shuttle_schedule_push(None);
        self.inner.next_u64()
    }
}

/// Encodes a shuttle schedule: `seed:steps`, steps run-length encoded (`3*4.1.r`).
pub(super) fn encode(seed: u64, steps: &[Option<usize>]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < steps.len() {
        let mut j = i;
        while j < steps.len() && steps[j] == steps[i] {
            j += 1;
        }
        let tok = steps[i].map_or("r".to_string(), |t| t.to_string());
        parts.push(if j - i > 1 {
            format!("{tok}*{}", j - i)
        } else {
            tok
        });
        i = j;
    }
    format!("{seed:x}:{}", parts.join("."))
}

pub(super) fn decode(s: &str) -> Option<Schedule> {
    let (seed, steps) = s.split_once(':')?;
    let mut sched = Schedule::new(u64::from_str_radix(seed, 16).ok()?);
    for tok in steps.split('.').filter(|t| !t.is_empty()) {
        let (t, n) = match tok.split_once('*') {
            Some((t, n)) => (t, n.parse::<usize>().ok()?),
            None => (tok, 1),
        };
        for _ in 0..n {
            if t == "r" {
                sched.push_random();
            } else {
                sched.push_task(TaskId::from(t.parse::<usize>().ok()?));
            }
        }
    }
    Some(sched)
}

pub(super) fn stable_hash(s: &str) -> u64 {
    // FNV-1a: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    #[test]
    fn schedule_encoding_round_trips() {
        let steps = vec![Some(0), Some(0), Some(0), Some(1), None, Some(2), Some(2)];
        let e = super::encode(0xabc, &steps);
        assert_eq!(e, "abc:0*3.1.r.2*2");
        let s = super::decode(&e).unwrap();
        assert_eq!(s.seed, 0xabc);
        assert_eq!(s.len(), steps.len());
    }
}
