//! Model-build wall clock: `SystemTime::now()` reads the calling model thread's skewed clock.
//!
//! The model keeps one *true time* per execution. It starts at a whole number of seconds after
//! the Unix epoch (1 s, or more when the skew bound is a second or more, so that no reading
//! falls before the epoch) and advances by one *tick* at every reading, so a reading taken
//! later in the execution is later in real time. The tick is 1 ms, or 1 µs / 1 ns when the
//! bound is not a whole number of milliseconds / microseconds; skews are whole ticks. A
//! thread's reading is the true time plus its skew, chosen at the thread's first reading:
//! every value of {-bound, 0, +bound} under loom, a uniform sample of [-bound, +bound] under
//! shuttle (replayable). Outside a model run the clock is the real one.

use super::rt::{self, Backend, Op};
use std::cell::Cell;
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::panic::Location;
use std::time::Duration;

/// A wall-clock time: `std::time::SystemTime`, except that inside a model run
/// [`SystemTime::now`] reads the calling thread's skewed model clock (see `heisen::time`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SystemTime(std::time::SystemTime);

/// 1970-01-01 00:00:00 UTC, as `std::time::UNIX_EPOCH`.
pub const UNIX_EPOCH: SystemTime = SystemTime(std::time::UNIX_EPOCH);

/// `duration_since` was given a later time (as `std::time::SystemTimeError`).
#[derive(Clone, Debug)]
pub struct SystemTimeError(Duration);

impl SystemTimeError {
    /// How much later the other time was.
    pub fn duration(&self) -> Duration {
        self.0
    }
}

impl fmt::Display for SystemTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("second time provided was later than self")
    }
}

impl std::error::Error for SystemTimeError {}

impl SystemTime {
    /// 1970-01-01 00:00:00 UTC.
    pub const UNIX_EPOCH: SystemTime = UNIX_EPOCH;

    /// The current time: the real clock, or inside a model run the calling thread's skewed
    /// model clock (the reading is a row of the failure timeline).
    #[track_caller]
    pub fn now() -> SystemTime {
        read(Location::caller(), None)
    }

    /// The time elapsed from `earlier` to `self`; an error if `earlier` is later.
    pub fn duration_since(&self, earlier: SystemTime) -> Result<Duration, SystemTimeError> {
        self.0
            .duration_since(earlier.0)
            .map_err(|e| SystemTimeError(e.duration()))
    }

    /// The time elapsed since `self` (reads the clock, like [`SystemTime::now`]).
    #[track_caller]
    pub fn elapsed(&self) -> Result<Duration, SystemTimeError> {
        read(Location::caller(), Some("elapsed")).duration_since(*self)
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(&self, d: Duration) -> Option<SystemTime> {
        self.0.checked_add(d).map(SystemTime)
    }

    /// `self - d`, or `None` on overflow.
    pub fn checked_sub(&self, d: Duration) -> Option<SystemTime> {
        self.0.checked_sub(d).map(SystemTime)
    }
}

impl fmt::Debug for SystemTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// `±`/`±=` a `Duration`, and conversions to and from the std type, for a clock newtype.
macro_rules! clock_ops {
    ($t:ident) => {
        impl Add<Duration> for $t {
            type Output = $t;
            fn add(self, d: Duration) -> $t {
                $t(self.0 + d)
            }
        }
        impl AddAssign<Duration> for $t {
            fn add_assign(&mut self, d: Duration) {
                self.0 += d;
            }
        }
        impl Sub<Duration> for $t {
            type Output = $t;
            fn sub(self, d: Duration) -> $t {
                $t(self.0 - d)
            }
        }
        impl SubAssign<Duration> for $t {
            fn sub_assign(&mut self, d: Duration) {
                self.0 -= d;
            }
        }
        impl From<std::time::$t> for $t {
            fn from(t: std::time::$t) -> $t {
                $t(t)
            }
        }
        impl From<$t> for std::time::$t {
            fn from(t: $t) -> std::time::$t {
                t.0
            }
        }
    };
}
clock_ops!(SystemTime);
clock_ops!(Instant);

/// The model clock's tick for a skew bound (see the module docs).
fn tick(bound: Duration) -> u128 {
    let b = bound.as_nanos();
    if b % 1_000_000 == 0 {
        1_000_000
    } else if b % 1_000 == 0 {
        1_000
    } else {
        1
    }
}

/// The true time of an execution's first reading: whole seconds, past the skew bound.
fn start(bound: Duration) -> u128 {
    u128::from(bound.as_secs() + 1) * 1_000_000_000
}

/// A skew for the calling thread in whole ticks within `bound`, in nanoseconds.
fn choose_skew(backend: Backend, bound: Duration) -> i64 {
    let tick = tick(bound);
    let k = i64::try_from(bound.as_nanos() / tick).expect("clock_skew bound fits in i64 ns");
    let ticks = match backend {
        _ if k == 0 => 0,
        Backend::Std => 0,
        Backend::Loom => [-k, 0, k][super::misc::loom_choose(3)],
        Backend::Shuttle => {
            use shuttle::rand::Rng;
            shuttle::rand::thread_rng().gen_range(-k..=k)
        }
    };
    ticks * tick as i64
}

fn read(location: &'static Location<'static>, via: Option<&'static str>) -> SystemTime {
    let backend = rt::backend();
    if backend == Backend::Std {
        return SystemTime(std::time::SystemTime::now());
    }
    let bound = rt::clock_bound();
    let lane = rt::current_lane();
    let skew = rt::lane_skew(lane).unwrap_or_else(|| {
        let s = choose_skew(backend, bound);
        rt::set_lane_skew(lane, s);
        s
    });
    let true_now = true_time(bound);
    let nanos = u64::try_from(true_now as i128 + i128::from(skew)).expect("model clock in range");
    let reading = Duration::from_nanos(nanos);
    rt::record_via(
        Op::ClockRead { reading, skew },
        None,
        None,
        Some(location),
        via,
    );
    SystemTime(std::time::UNIX_EPOCH + reading)
}

thread_local! {
    /// Time the model's clocks were moved forward in this execution (`thread::sleep`,
    /// `park_timeout`), in nanoseconds.
    static ADVANCED: Cell<u128> = const { Cell::new(0) };
}

/// Start of an execution: the model's clocks start again.
pub(crate) fn begin_execution() {
    ADVANCED.with(|a| a.set(0));
}

/// Moves the model's true time forward by `d` (a modelled sleep: no real time passes).
pub(crate) fn advance(d: Duration) {
    ADVANCED.with(|a| a.set(a.get().saturating_add(d.as_nanos())));
}

/// The model's true time at a reading (nanoseconds since the Unix epoch): one tick per reading
/// of any clock, plus the modelled sleeps.
fn true_time(bound: Duration) -> u128 {
    start(bound) + tick(bound) * u128::from(rt::next_clock_read()) + ADVANCED.with(Cell::get)
}

// The virtual clock API. `heisen::tokio::time` reads and advances the model's true time through
// these three functions only (and any other modelled timer, e.g. `heisen::net`'s timeouts,
// should too), so there is one clock per execution: a timer firing moves `SystemTime::now()`
// and `Instant::now()` forward with it.

/// The model's true time now, as an [`Instant`], *without* taking a reading: unlike
/// [`Instant::now`] it does not advance the clock by a tick (a virtual-time reading behaves like
/// tokio's paused clock: time stands still until a timer fires). Inside a model run only.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn now_virtual() -> Instant {
    let bound = rt::clock_bound();
    let ns = start(bound) + tick(bound) * u128::from(rt::clock_reads()) + ADVANCED.with(Cell::get);
    Instant(instant_base() + Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)))
}

/// Moves the model's true time forward to `t` (nothing if it is already later): a modelled
/// timer fired at its deadline `t`. No real time passes.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn advance_to(t: Instant) {
    let now = now_virtual();
    if t > now {
        advance(t.duration_since(now));
    }
}

/// How far `t` is past the execution's start on the virtual clock (`virtual t=+100ms` rows).
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn since_start(t: Instant) -> Duration {
    let origin = instant_base()
        + Duration::from_nanos(u64::try_from(start(rt::clock_bound())).unwrap_or(u64::MAX));
    t.0.saturating_duration_since(origin)
}

/// A monotonic clock reading (as `std::time::Instant`). Inside a model run [`Instant::now`]
/// reads the model's true time (the clock behind [`SystemTime`], without any thread's skew:
/// one machine's monotonic clock), which advances one tick per clock reading and by the
/// duration of every modelled `thread::sleep` / `park_timeout`; so deadlines and timeouts are
/// deterministic. Outside a model run it is the real clock.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

/// The real instant model readings are offset from (fixed per process).
fn instant_base() -> std::time::Instant {
    static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *BASE.get_or_init(std::time::Instant::now)
}

impl Instant {
    /// The current instant (the model's true time inside a model run).
    pub fn now() -> Instant {
        if rt::backend() == Backend::Std {
            return Instant(std::time::Instant::now());
        }
        let ns = true_time(rt::clock_bound());
        Instant(instant_base() + Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)))
    }
    /// The time from `earlier` to `self` (zero if `earlier` is later).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }
    /// The time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }
    /// The time from `earlier` to `self`, or zero.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }
    /// The time since `self` (reads the clock).
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
        fmt::Debug::fmt(&self.0, f)
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, other: Instant) -> Duration {
        self.duration_since(other)
    }
}

/// `1.050s`: seconds with as many decimals as the value needs (3, 6 or 9).
pub(crate) fn fmt_reading(d: Duration) -> String {
    let (s, n) = (d.as_secs(), d.subsec_nanos());
    if n % 1_000_000 == 0 {
        format!("{s}.{:03}s", n / 1_000_000)
    } else if n % 1_000 == 0 {
        format!("{s}.{:06}s", n / 1_000)
    } else {
        format!("{s}.{n:09}s")
    }
}

/// `50ms`, `2s`, `500µs`, `7ns`: a span in its largest exact unit.
pub(crate) fn fmt_span(nanos: u128) -> String {
    match nanos {
        0 => "0".into(),
        n if n % 1_000_000_000 == 0 => format!("{}s", n / 1_000_000_000),
        n if n % 1_000_000 == 0 => format!("{}ms", n / 1_000_000),
        n if n % 1_000 == 0 => format!("{}µs", n / 1_000),
        n => format!("{n}ns"),
    }
}

/// `+50ms`, `-50ms`, `0`.
pub(crate) fn fmt_skew(nanos: i64) -> String {
    let sign = match nanos.signum() {
        1 => "+",
        -1 => "-",
        _ => "",
    };
    format!("{sign}{}", fmt_span(u128::from(nanos.unsigned_abs())))
}

/// How a backend explores clock skews within `bound`, for run summaries (empty: no skew).
pub(crate) fn exploration_note(bound: Duration, loom: bool) -> String {
    if bound.is_zero() {
        return String::new();
    }
    let b = fmt_span(bound.as_nanos());
    if loom {
        format!(", clock skew ±{b} (each thread: -{b}, 0 or +{b})")
    } else {
        format!(", clock skew ±{b} (each thread: sampled)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_reading(Duration::from_millis(1_050)), "1.050s");
        assert_eq!(fmt_reading(Duration::from_micros(950_500)), "0.950500s");
        assert_eq!(
            fmt_reading(Duration::from_nanos(2_000_000_007)),
            "2.000000007s"
        );
        assert_eq!(fmt_skew(50_000_000), "+50ms");
        assert_eq!(fmt_skew(-2_000_000_000), "-2s");
        assert_eq!(fmt_skew(-500_000), "-500µs");
        assert_eq!(fmt_skew(0), "0");
    }

    #[test]
    fn ticks_and_start_keep_readings_after_the_epoch() {
        assert_eq!(tick(Duration::from_millis(50)), 1_000_000);
        assert_eq!(tick(Duration::ZERO), 1_000_000);
        assert_eq!(tick(Duration::from_micros(500)), 1_000);
        assert_eq!(tick(Duration::from_nanos(1_500)), 1);
        assert_eq!(start(Duration::from_millis(50)), 1_000_000_000);
        assert!(start(Duration::from_millis(2_500)) > Duration::from_millis(2_500).as_nanos());
    }
}
