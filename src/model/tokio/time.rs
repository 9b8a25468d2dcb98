//! Model `heisen::tokio::time`: virtual time. `Instant::now()` reads the model clock without
//! advancing it; `sleep`/`sleep_until`/`timeout`/`interval` register timers with the executor,
//! which fires the earliest one when no task can progress, or earlier as an explored choice
//! (see the parent module). A firing is a timeline row on the sleeping task's lane:
//! `timer fired: sleep 100ms (virtual t=+100ms)`.

use super::{exec, may_clean_up, Exec};
use crate::model::rt::{self, Backend, Op};
use crate::model::time as clock;
use std::fmt;
use std::future::Future;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
pub use std::time::Duration;

/// A point on the virtual clock (as `tokio::time::Instant`): the model's monotonic clock,
/// shared with `heisen::time::Instant` and `SystemTime`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(clock::Instant);

impl Instant {
    /// The virtual time now (reading it does not move it).
    #[track_caller]
    pub fn now() -> Instant {
        super::model_backend("time::Instant::now");
        Instant(clock::now_virtual())
    }
    /// The `heisen::time::Instant` (std's type in normal builds) of this instant.
    pub fn into_std(self) -> clock::Instant {
        self.0
    }
    /// An instant from a `heisen::time::Instant`.
    pub fn from_std(std: clock::Instant) -> Instant {
        Instant(std)
    }
    /// The time from `earlier` to `self` (zero if `earlier` is later).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.duration_since(earlier.0)
    }
    /// The time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }
    /// The time from `earlier` to `self`, or zero.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }
    /// The virtual time elapsed since `self`.
    #[track_caller]
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }
    /// `self + d`, or `None` on overflow.
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }
    /// `self - d`, or `None` on overflow.
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d).map(Instant)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant(virtual t=+{:?})", clock::since_start(self.0))
    }
}
impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d)
    }
}
impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 += d;
    }
}
impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0 - d)
    }
}
impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        self.0 -= d;
    }
}
impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, o: Instant) -> Duration {
        self.duration_since(o)
    }
}

/// `+100ms`: virtual time since the execution started.
pub(super) fn virtual_t(t: clock::Instant) -> String {
    format!("+{}", clock::fmt_span(clock::since_start(t).as_nanos()))
}

/// The future of [`sleep`] / [`sleep_until`] (as `tokio::time::Sleep`).
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    what: String,
    at: &'static Location<'static>,
    timer: Option<u64>,
    exec: Arc<Exec>,
    fired: bool,
}

impl Sleep {
    #[track_caller]
    fn new(deadline: Instant, what: String) -> Sleep {
        Sleep {
            deadline,
            what,
            at: Location::caller(),
            timer: None,
            exec: exec(),
            fired: false,
        }
    }
    /// The instant it completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        clock::now_virtual() >= self.deadline.0
    }
    /// Moves the deadline (the sleep may complete again).
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        this.fired = false;
    }
    fn poll_at(&mut self, cx: &mut Context<'_>, row: bool) -> Poll<()> {
        let _ = cx;
        let now = clock::now_virtual();
        if now >= self.deadline.0 {
            // The executor made the row of a firing; a deadline that passed otherwise (the
            // clock moved for another timer, or it was already due) gets its row here.
            let fired = self
                .timer
                .take()
                .is_some_and(|id| self.exec.retire_timer(id));
            if !self.fired && !fired && row {
                rt::record(
                    Op::Task(
                        format!("timer fired: {} (virtual t={})", self.what, virtual_t(now)),
                        None,
                    ),
                    None,
                    None,
                    Some(self.at),
                );
            }
            self.fired = true;
            return Poll::Ready(());
        }
        self.timer = Some(
            self.exec
                .set_timer(self.timer, self.deadline.0, &self.what, self.at),
        );
        Poll::Pending
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_at(cx, true)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(id) = self.timer.take() {
            if may_clean_up() && rt::backend() != Backend::Std {
                self.exec.cancel_timer(id);
            }
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Waits until `duration` has elapsed on the virtual clock (no real time passes).
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let now = Instant::now();
    let deadline = now
        .checked_add(duration)
        .unwrap_or(now + Duration::from_secs(86400 * 365 * 30));
    Sleep::new(
        deadline,
        format!("sleep {}", clock::fmt_span(duration.as_nanos())),
    )
}

/// Waits until `deadline` on the virtual clock.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    super::model_backend("time::sleep_until");
    Sleep::new(deadline, format!("sleep_until {}", virtual_t(deadline.0)))
}

/// Error types of this module.
pub mod error {
    use std::fmt;

    /// A `timeout` elapsed before its future completed (as `tokio::time::error::Elapsed`).
    #[derive(Debug, PartialEq, Eq)]
    pub struct Elapsed(pub(super) ());

    impl fmt::Display for Elapsed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("deadline has elapsed")
        }
    }

    impl std::error::Error for Elapsed {}
}

/// The future of [`timeout`] (as `tokio::time::Timeout`).
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    future: Pin<Box<F>>,
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, error::Elapsed>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(v) = this.future.as_mut().poll(cx) {
            if let Some(id) = this.sleep.timer.take() {
                this.sleep.exec.cancel_timer(id);
            }
            return Poll::Ready(Ok(v));
        }
        match this.sleep.poll_at(cx, true) {
            Poll::Ready(()) => Poll::Ready(Err(error::Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Races `future` against a deadline `duration` from now: `Err(Elapsed)` if the deadline
/// fires first (the future is dropped), else its output.
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    let mut sleep = sleep(duration);
    sleep.what = format!("timeout {}", clock::fmt_span(duration.as_nanos()));
    Timeout {
        future: Box::pin(future),
        sleep,
    }
}

/// Races `future` against `deadline`.
#[track_caller]
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    let mut sleep = sleep_until(deadline);
    sleep.what = format!("timeout_at {}", virtual_t(deadline.0));
    Timeout {
        future: Box::pin(future),
        sleep,
    }
}

/// What an [`Interval`] does when a tick is late (as `tokio::time::MissedTickBehavior`): a
/// tick is late when it completes more than 5 ms after its scheduled instant, as in tokio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// The missed ticks complete at once, one after another, until the interval caught up
    /// (the schedule stays `start + k·period`).
    #[default]
    Burst,
    /// The next tick is one period after the late one completed (the schedule shifts).
    Delay,
    /// The missed ticks are skipped: the next tick is the next instant of the original
    /// schedule after now.
    Skip,
}

impl MissedTickBehavior {
    /// The instant of the tick after one scheduled at `timeout` that completed at `now`.
    fn next_timeout(self, timeout: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => timeout + period,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let late = (now - timeout).as_nanos() % period.as_nanos();
                now + period - Duration::from_nanos(u64::try_from(late).unwrap_or(u64::MAX))
            }
        }
    }
}

/// Ticks every `period` (as `tokio::time::Interval`; by default `MissedTickBehavior::Burst`);
/// the first tick completes at once.
#[derive(Debug)]
pub struct Interval {
    next: Instant,
    period: Duration,
    sleep: Option<Sleep>,
    at: &'static Location<'static>,
    missed: MissedTickBehavior,
}

/// An [`Interval`] whose first tick is now.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// An [`Interval`] whose first tick is at `start`.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval {
        next: start,
        period,
        sleep: None,
        at: Location::caller(),
        missed: MissedTickBehavior::Burst,
    }
}

impl Interval {
    /// Waits for the next tick; returns its scheduled instant.
    pub fn tick(&mut self) -> Tick<'_> {
        Tick { interval: self }
    }
    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
    /// What the interval does when a tick is late.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }
    /// Sets what the interval does when a tick is late.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
    /// Restarts the interval: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.next = Instant::now() + self.period;
        self.sleep = None;
    }
}

/// The future of [`Interval::tick`].
#[derive(Debug)]
pub struct Tick<'a> {
    interval: &'a mut Interval,
}

impl Future for Tick<'_> {
    type Output = Instant;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        let iv = &mut *self.get_mut().interval;
        if iv.sleep.is_none() {
            let mut s = Sleep::new_at(iv.next, iv.at);
            s.what = format!("interval tick {}", virtual_t(iv.next.0));
            iv.sleep = Some(s);
        }
        let s = iv.sleep.as_mut().expect("sleep present");
        match s.poll_at(cx, true) {
            Poll::Ready(()) => {
                // As tokio's: a tick more than 5 ms late follows the missed-tick behaviour.
                let t = iv.next;
                let now = Instant::now();
                iv.next = if now > t + Duration::from_millis(5) {
                    iv.missed.next_timeout(t, now, iv.period)
                } else {
                    t + iv.period
                };
                iv.sleep = None;
                Poll::Ready(t)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Sleep {
    fn new_at(deadline: Instant, at: &'static Location<'static>) -> Sleep {
        Sleep {
            deadline,
            what: String::new(),
            at,
            timer: None,
            exec: exec(),
            fired: false,
        }
    }
}
