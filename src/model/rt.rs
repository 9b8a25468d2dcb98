//! Model-build runtime: which backend is active on this OS thread, and the trace recorder.
//! It only records: the atomicity check and the rendering read its trace (`runner`,
//! `atomicity`, `report`).
//!
//! The recorder is the single source of truth for everything reported about an execution:
//! per-execution events (thread lane, operation, object id, value, ordering, location), cleared
//! when an execution starts. loom and shuttle both run all model threads as coroutines on the
//! OS thread that called the runner, so plain `std` thread-locals are shared by every model
//! thread of a run and only by them.

use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::sync::atomic::Ordering;

/// Backend selected for objects created on this OS thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Real threads, no recording (outside a model run).
    Std,
    /// Inside `loom::model`.
    Loom,
    /// Inside a shuttle runner.
    Shuttle,
}

thread_local! {
    static BACKEND: Cell<Backend> = const { Cell::new(Backend::Std) };
    // `const`: every access skips the lazy-initialisation check (one per recorded operation).
    static TRACE: RefCell<Trace> = const { RefCell::new(Trace::EMPTY) };
    /// Lane of the model thread that ran the last facade operation. Model threads switch only
    /// inside backend operations, and every facade operation records (and so refreshes this)
    /// after its backend call returns, so this is the running thread: the panic hook uses it
    /// instead of asking loom/shuttle, which may be mid-update when they panic.
    static LAST_LANE: Cell<usize> = const { Cell::new(0) };
    /// The facade operation whose backend call is running on this OS thread, with the lane that
    /// started it: set by [`op_begin`] before the call, cleared when a lane is next looked up
    /// (every facade operation records after its backend call returns). A panic raised inside
    /// the backend while it is set (a loom causality violation or branch limit inside a load, a
    /// deadlock inside a join) is that operation's failure, not the previous row's.
    static IN_FLIGHT: Cell<Option<(&'static Location<'static>, usize)>> = const { Cell::new(None) };
    /// Whether the last panic was raised inside loom or shuttle (see [`last_panic_by_backend`]).
    static BACKEND_PANIC: Cell<bool> = const { Cell::new(false) };
}

/// Whether the last panic noted by the panic hook was raised inside loom or shuttle (a
/// deadlock, a limit), not by the user's code: code that catches panics must let it go on.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn last_panic_by_backend() -> bool {
    BACKEND_PANIC.with(Cell::get)
}

/// Marks the facade operation at `location` as running its backend call on the current lane
/// (see `IN_FLIGHT`). Costs one thread-local read and one write.
#[inline]
pub(crate) fn op_begin(location: &'static Location<'static>) {
    let lane = LAST_LANE.with(|l| l.get());
    IN_FLIGHT.with(|c| c.set(Some((location, lane))));
}

/// A blocking facade operation of the calling lane (a lock, a join), from before its backend
/// call to its return. The backend may run other threads meanwhile (their operations move
/// `LAST_LANE` and clear `IN_FLIGHT`) and then raise a panic in this lane when it resumes it
/// (loom's `Mutex::lock` of a mutex whose holder panicked unwraps a `PoisonError`): the panic
/// hook cannot ask the backend which thread runs, so it names the last lane that recorded. A
/// panic that unwinds through this guard was raised on this lane's stack, so on unwinding the
/// guard gives it back to this lane: its row, its thread and, when raised inside the backend,
/// the operation's source line.
pub(crate) struct Blocking {
    lane: usize,
    location: &'static Location<'static>,
}

/// Starts a [`Blocking`] operation of the calling lane at `location` (`None` outside a run).
/// Cheap (no backend call): at the start of an operation the last lane that recorded is the
/// calling one (see `op_begin`).
#[inline]
pub(crate) fn blocking(location: &'static Location<'static>) -> Option<Blocking> {
    if !recording() {
        return None;
    }
    Some(Blocking {
        lane: LAST_LANE.with(|l| l.get()),
        location,
    })
}

impl Drop for Blocking {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let lane = self.lane;
        LAST_LANE.with(|l| l.set(lane));
        TRACE.with(|t| {
            let Ok(mut t) = t.try_borrow_mut() else {
                return;
            };
            let section = t.unit_of(lane);
            // The panic unwinding through this frame is the last one noted (the hook noted it
            // when it was raised; nothing records while it unwinds up to here).
            let Some(mark) = t.panics.last_mut().filter(|m| !m.caught) else {
                return;
            };
            if mark.lane == lane {
                return;
            }
            mark.lane = lane;
            let backend = mark.location.as_deref().is_some_and(raised_by_backend);
            let at = mark.at;
            if let Some(row) = t.events.get_mut(at) {
                row.thread = lane;
                row.section = section;
                if backend {
                    row.location = Some(self.location);
                }
            }
        });
    }
}

/// Whether a panic location is inside loom or shuttle (not the user's code).
pub(crate) fn raised_by_backend(location: &str) -> bool {
    location.contains("/.cargo/registry/")
        || location.contains("/loom-")
        || location.contains("/shuttle-")
}

/// Current backend of this OS thread.
#[inline]
pub fn backend() -> Backend {
    BACKEND.with(|b| b.get())
}

/// Sets the backend for the duration of a run; restores `Std` on drop (also on panic).
pub(crate) struct BackendGuard;
impl BackendGuard {
    pub(crate) fn enter(b: Backend) -> Self {
        BACKEND.with(|c| c.set(b));
        BackendGuard
    }
}
impl Drop for BackendGuard {
    fn drop(&mut self) {
        BACKEND.with(|c| c.set(Backend::Std));
    }
}

/// Key of a model thread, as the backend names it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LaneKey {
    Loom(loom::thread::ThreadId),
    Shuttle(usize),
}

fn current_key() -> Option<LaneKey> {
    match backend() {
        Backend::Std => None,
        Backend::Loom => Some(LaneKey::Loom(loom::thread::current().id())),
        Backend::Shuttle => {
            shuttle::current::try_get_current_task().map(|t| LaneKey::Shuttle(usize::from(t)))
        }
    }
}

/// One recorded operation.
#[derive(Clone, Debug)]
pub struct Event {
    /// Thread lane: 0 = the test body ("main"), 1.. = spawned threads in spawn order.
    pub thread: usize,
    /// What happened.
    pub op: Op,
    /// Identity of the object within this execution (its address), if any.
    pub object: Option<usize>,
    /// Memory ordering, for atomics and fences.
    pub ordering: Option<Ordering>,
    /// The user's source location (`#[track_caller]` through the facade).
    pub location: Option<&'static Location<'static>>,
    /// Critical-section instance the event belongs to (`#[heisen::critical]`): the thread's
    /// outermost open section, else the one it inherited from its spawner; `None` = outside.
    pub section: Option<u32>,
    /// The facade method the user called when it is not the op's own (`fetch_update`).
    pub via: Option<&'static str>,
}

/// A value an atomic held, kept unformatted in the trace: an execution records every load and
/// store, while only a failing execution's trace is ever rendered, so formatting happens when a
/// report is (`Display`, the same text as the value's own `Display` / `{:p}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    /// A signed integer type's value.
    Int(i64),
    /// An unsigned integer type's value.
    Uint(u64),
    /// An `AtomicBool`'s value.
    Bool(bool),
    /// An `AtomicPtr`'s address.
    Ptr(usize),
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Val::Int(v) => v.fmt(f),
            Val::Uint(v) => v.fmt(f),
            Val::Bool(v) => v.fmt(f),
            Val::Ptr(a) => std::fmt::Pointer::fmt(&(a as *const ()), f),
        }
    }
}

// 16 bytes (not `i128`'s 32), so an event stays small: every execution pushes one per operation.
macro_rules! int_val {
    ($variant:ident, $wide:ty, $($t:ty),*) => {$(
        impl From<$t> for Val {
            fn from(v: $t) -> Val {
                Val::$variant(v as $wide)
            }
        }
    )*};
}
int_val!(Int, i64, i8, i16, i32, i64, isize);
int_val!(Uint, u64, u8, u16, u32, u64, usize);

impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::Bool(v)
    }
}

/// Operation kinds recorded by the facade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Spawned the thread with this lane.
    Spawn(usize),
    /// Joined the thread with this lane.
    Join(usize),
    /// Atomic load that returned the value.
    Load(Val),
    /// Atomic store of the value.
    Store(Val),
    /// Read-modify-write (`name`, value before, value after).
    Rmw(&'static str, Val, Val),
    /// compare_exchange: expected, new, Ok(prev) on success / Err(actual) on failure.
    Cas {
        /// Expected value.
        expected: Val,
        /// Value to store.
        new: Val,
        /// Success and the value observed.
        result: Result<Val, Val>,
    },
    /// Memory fence.
    Fence,
    /// UnsafeCell read access (`with`).
    CellRead,
    /// UnsafeCell write access (`with_mut`).
    CellWrite,
    /// Lock requested; `acquired` turns true when it was granted (false = still blocked).
    Lock {
        /// Kind: "lock", "read", "write".
        kind: &'static str,
        /// Whether the lock was granted.
        acquired: bool,
    },
    /// Lock released (guard dropped).
    Unlock(&'static str),
    /// Condvar wait (releases the mutex, whose id this is, until woken).
    Wait(usize),
    /// Condvar notify.
    Notify(&'static str),
    /// Barrier wait.
    BarrierWait,
    /// Channel send / receive.
    Send,
    /// Channel receive.
    Recv,
    /// yield_now / spin_loop.
    Yield,
    /// Nondeterministic choice (`heisen::choose`): the chosen value out of n.
    Choose(usize, usize),
    /// `SystemTime::now()` on the model clock (`heisen::time`): the reading (since the Unix
    /// epoch) and the reading thread's skew in nanoseconds.
    ClockRead {
        /// What the thread's clock said.
        reading: std::time::Duration,
        /// The thread's skew (reading minus the model's true time), in nanoseconds.
        skew: i64,
    },
    /// First read of a lock's data through a guard during one hold (`Deref`).
    GuardRead,
    /// First write of a lock's data through a guard during one hold (`DerefMut`).
    GuardWrite,
    /// Entered a critical section (`#[heisen::critical]`); `nested` = merged into the
    /// thread's enclosing instance.
    SectionEnter {
        /// Section name.
        name: &'static str,
        /// Whether it is nested in (and merged into) an enclosing instance.
        nested: bool,
    },
    /// Left a critical section.
    SectionExit {
        /// Section name.
        name: &'static str,
        /// Whether it was nested.
        nested: bool,
    },
    /// The thread panicked and the panic ended the execution (the failure).
    Panic(String),
    /// The thread panicked and caught the panic (`catch_unwind`): not the failure; the
    /// execution went on.
    CaughtPanic(String),
    /// A row of `heisen::lin`'s history (`call Push(1)`, `ret Pushed`): not an access.
    Lin(String),
    /// A `heisen::tokio` task event that is not a lock (a timer firing, a message sent or
    /// received, a notification, a task's end): its text, followed by the object's name when
    /// the event has an object; and the method whose receiver in the source line names the
    /// object (`send` in `tx.send(v)` names `tx`).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    Task(String, Option<&'static str>),
    /// A `heisen::net` event (`net send client→server Charge { key: 7 }`, `net drop ..`,
    /// `net deliver ..`, `net timeout ..`, `net partition ..`): rendered verbatim; not an
    /// access (a delivery is synchronization, as a channel's).
    Net(String),
    /// A `heisen::net` receive still waiting when the execution failed (a deadlock): only
    /// enters the timeline then, as `BLOCKED` (see [`wait_begin`]).
    NetBlocked(String),
}

/// One critical-section instance (outermost entry of a thread into a critical section).
#[derive(Clone, Debug)]
pub struct Section {
    /// Name (function name, or the name given to `critical_section!`).
    pub name: &'static str,
    /// Thread lane that ran it.
    pub lane: usize,
    /// Where it was entered.
    pub location: Option<&'static Location<'static>>,
}

/// Per-lane critical-section state.
#[derive(Clone, Copy, Default)]
struct LaneSection {
    open: Option<u32>,
    depth: u32,
    inherited: Option<u32>,
}

/// A panic of the current execution. Until the thread that raised it records another operation
/// while not unwinding (it caught the panic), it may be the failure: events recorded meanwhile
/// may be unwinding noise (guard drops), dropped if the panic ends the execution.
struct PanicMark {
    lane: usize,
    message: String,
    location: Option<String>,
    /// Index of its `Panic` row in `events`.
    at: usize,
    /// Lock requests not granted when it was raised (shown `BLOCKED` if it is the failure).
    pending: Vec<Event>,
    caught: bool,
}

/// Backend limits a run ran into (see `runner`): what the test used that a backend cannot
/// express, noted in that backend's summary line.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Used {
    /// An atomic operation or fence with an ordering weaker than `SeqCst`.
    pub(crate) weak_ordering: bool,
    /// `Condvar::notify_one`.
    pub(crate) notify_one: bool,
    /// `heisen::future::block_on` (also under `future::spawn`).
    pub(crate) futures: bool,
    /// A `heisen::tokio` timer could have fired early (an explored choice was offered).
    pub(crate) early_timers: bool,
    /// loom: an early timer firing was not offered because its oracle thread would have
    /// exceeded loom's thread limit.
    pub(crate) early_timers_capped: bool,
}

impl Used {
    /// Either run's uses.
    pub(crate) fn or(self, o: Used) -> Used {
        Used {
            weak_ordering: self.weak_ordering || o.weak_ordering,
            notify_one: self.notify_one || o.notify_one,
            futures: self.futures || o.futures,
            early_timers: self.early_timers || o.early_timers,
            early_timers_capped: self.early_timers_capped || o.early_timers_capped,
        }
    }
}

/// The trace of the current execution plus bookkeeping.
pub(crate) struct Trace {
    pub(crate) active: bool,
    pub(crate) events: Vec<Event>,
    lanes: Vec<LaneKey>,
    pub(crate) lane_names: Vec<Option<String>>,
    pub(crate) executions: u64,
    /// The panic that ended the failing execution: (lane, message, location). Set by
    /// [`finish_failed_run`].
    pub(crate) failure: Option<(usize, String, Option<String>)>,
    /// Panics of the current execution, in order (see [`PanicMark`]).
    panics: Vec<PanicMark>,
    /// What the run used that a backend cannot express (whole run).
    pub(crate) used: Used,
    /// Shuttle replay record of the current execution (seed + choices).
    pub(crate) shuttle_schedule: Option<(u64, Vec<Option<usize>>)>,
    /// Lock requests not granted yet: (token, event). A request enters the timeline when it
    /// is granted (so a lock row never appears while another thread holds the lock), or, still
    /// BLOCKED, when the execution fails (deadlock).
    pending: Vec<(u64, Event)>,
    next_token: u64,
    /// Critical-section instances of the current execution.
    pub(crate) sections: Vec<Section>,
    lane_sections: Vec<LaneSection>,
    /// Critical-section instances checked over the whole run (all executions).
    pub(crate) critical_checked: u64,
    /// Rendered atomicity violation of the failing execution.
    pub(crate) violation: Option<String>,
    /// Clock-skew bound of the run (`#[heisen::model(clock_skew = "..")]`, zero by default).
    pub(crate) clock_bound: std::time::Duration,
    /// Wall-clock readings taken so far in the current execution (the model's true time).
    clock_reads: u64,
    /// Skew of each lane's clock in nanoseconds, chosen at the lane's first reading.
    lane_skews: Vec<Option<i64>>,
    /// Network faults the run may inject (`#[heisen::model(net_faults = "..")]`).
    pub(crate) net_faults: crate::net::Faults,
    /// The state of each `heisen::net::Network` of the current execution (its in-flight
    /// messages and partitions), keyed by the network's id, as of its last operation.
    pub(crate) net_states: Vec<(usize, String)>,
    /// How many `heisen::tokio` timers may fire early per execution
    /// (`#[heisen::model(max_early_timers = N)]`).
    pub(crate) early_timers: usize,
    /// loom threads of the current execution that are no lane: the oracles and helpers of
    /// the model's own choices.
    helper_threads: usize,
}

/// Starts recording a run on this OS thread; `clock_bound` bounds the skew of every model
/// thread's wall clock (`heisen::time`).
pub(crate) fn start_run(clock_bound: std::time::Duration) {
    TRACE.with(|t| {
        *t.borrow_mut() = Trace {
            active: true,
            clock_bound,
            ..Trace::default()
        }
    });
}

/// Stops recording and hands back the trace of the last execution (of a passing run).
pub(crate) fn finish_run() -> Trace {
    TRACE.with(|t| {
        let mut tr = std::mem::take(&mut *t.borrow_mut());
        tr.active = false;
        tr
    })
}

/// Stops recording a run whose last execution failed, and hands back its trace ending in the
/// failure: the last panic nobody caught (`failure` names it). Events recorded while it unwound
/// are dropped; lock requests not granted when it was raised enter as `BLOCKED`.
pub(crate) fn finish_failed_run() -> Trace {
    let mut tr = finish_run();
    // Normally the last panic, still open. If every panic was seen caught (a guard dropped
    // outside any unwinding after the failure), the last one ended the execution after all.
    let Some(i) = tr
        .panics
        .iter()
        .rposition(|p| !p.caught)
        .or(tr.panics.len().checked_sub(1))
    else {
        return tr;
    };
    let mut mark = tr.panics.swap_remove(i);
    let mut row = tr.events[mark.at].clone();
    if let Op::CaughtPanic(m) = row.op {
        row.op = Op::Panic(m);
    }
    tr.events.truncate(mark.at);
    tr.events.append(&mut mark.pending);
    tr.events.push(row);
    tr.failure = Some((mark.lane, mark.message, mark.location));
    tr
}

/// Called at the start of every execution (on its main model thread).
pub(crate) fn begin_execution() {
    super::statics::begin_execution();
    super::time::begin_execution();
    #[cfg(feature = "tokio")]
    super::tokio::begin_execution();
    let key = current_key();
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        t.events.clear();
        t.lanes.clear();
        // The main lane's name survives from the last execution (no allocation per execution).
        let keep_main =
            key.is_some() && matches!(t.lane_names.first(), Some(Some(n)) if n == "main");
        t.lane_names.truncate(usize::from(keep_main));
        t.failure = None;
        t.panics.clear();
        t.pending.clear();
        t.sections.clear();
        t.lane_sections.clear();
        t.violation = None;
        t.clock_reads = 0;
        t.lane_skews.clear();
        t.net_states.clear();
        t.helper_threads = 0;
        t.executions += 1;
        LAST_LANE.with(|l| l.set(0));
        IN_FLIGHT.with(|c| c.set(None));
        if let Some(k) = key {
            t.lanes.push(k);
            if !keep_main {
                t.lane_names.push(Some("main".into()));
            }
        }
    });
}

/// Whether recording is on (inside a model run).
#[inline]
pub fn recording() -> bool {
    backend() != Backend::Std
}

/// Lane of the calling model thread (registering it if unknown).
pub(crate) fn current_lane() -> usize {
    match lane_key() {
        Some(key) => TRACE.with(|t| lane_of(&mut t.borrow_mut(), key)),
        None => LAST_LANE.with(|l| l.get()),
    }
}

/// The backend's key of the calling model thread, `None` while unwinding (maybe out of
/// loom/shuttle internals: don't call into the backend) or outside a run.
fn lane_key() -> Option<LaneKey> {
    if std::thread::panicking() {
        return None;
    }
    current_key()
}

/// The lane of `key` in `t` (registering it if unknown), which is now the running lane: it
/// refreshes `LAST_LANE` and ends the lane's operation in flight (see `IN_FLIGHT`).
fn lane_of(t: &mut Trace, key: LaneKey) -> usize {
    let lane = match t.lanes.iter().position(|k| *k == key) {
        Some(i) => i,
        None => {
            t.lanes.push(key);
            t.lane_names.push(None);
            t.lanes.len() - 1
        }
    };
    LAST_LANE.with(|l| l.set(lane));
    IN_FLIGHT.with(|c| c.set(None));
    lane
}

/// Reserves the lane of a thread about to be spawned.
pub(crate) fn reserve_lane(name: Option<String>) -> usize {
    let parent = current_lane();
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        // A thread spawned inside a critical section runs as part of it (fork/join inside a
        // section is one unit of atomicity).
        let inherited = t.unit_of(parent);
        let child = t.lanes.len();
        t.set_lane_section(
            child,
            LaneSection {
                inherited,
                ..LaneSection::default()
            },
        );
        // Placeholder key, replaced by `adopt_lane` when the child starts.
        let placeholder = LaneKey::Shuttle(usize::MAX - t.lanes.len());
        t.lanes.push(placeholder);
        t.lane_names.push(name);
        t.lanes.len() - 1
    })
}

/// Called first thing in a spawned model thread: binds its backend id to the reserved lane.
pub(crate) fn adopt_lane(lane: usize) {
    LAST_LANE.with(|l| l.set(lane));
    IN_FLIGHT.with(|c| c.set(None));
    if let Some(key) = current_key() {
        TRACE.with(|t| {
            let mut t = t.borrow_mut();
            if lane < t.lanes.len() {
                t.lanes[lane] = key;
            }
        });
    }
}

/// Records an event of the calling model thread; returns its index.
pub(crate) fn record(
    op: Op,
    object: Option<usize>,
    ordering: Option<Ordering>,
    location: Option<&'static Location<'static>>,
) -> Option<usize> {
    record_via(op, object, ordering, location, None)
}

/// [`record`] for an op performed on behalf of another facade method (`fetch_update`).
pub(crate) fn record_via(
    op: Op,
    object: Option<usize>,
    ordering: Option<Ordering>,
    location: Option<&'static Location<'static>>,
    via: Option<&'static str>,
) -> Option<usize> {
    if !recording() {
        return None;
    }
    record_at(None, op, object, ordering, location, via)
}

/// Records an event of lane `lane` that another lane caused (a timer the executor fired for
/// a parked task): a row on `lane`, now.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn record_on_lane(lane: usize, op: Op, location: Option<&'static Location<'static>>) {
    if recording() {
        record_at(Some(lane), op, None, None, location, None);
    }
}

/// Pushes an event on `lane`, or (`None`) on the calling thread's lane.
fn record_at(
    lane: Option<usize>,
    op: Op,
    object: Option<usize>,
    ordering: Option<Ordering>,
    location: Option<&'static Location<'static>>,
    via: Option<&'static str>,
) -> Option<usize> {
    // One borrow of the trace for the lane lookup and the push (once per operation).
    let key = if lane.is_none() { lane_key() } else { None };
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        let thread = match (lane, key) {
            (Some(lane), _) => lane,
            (None, Some(key)) => lane_of(&mut t, key),
            (None, None) => LAST_LANE.with(|l| l.get()),
        };
        if !t.accepting() {
            return None;
        }
        if let Some(o) = ordering {
            t.used.weak_ordering |= o != Ordering::SeqCst;
        }
        if matches!(op, Op::Notify("notify_one")) {
            t.used.notify_one = true;
        }
        let section = t.unit_of(thread);
        t.events.push(Event {
            thread,
            op,
            object,
            ordering,
            location,
            section,
            via,
        });
        Some(t.events.len() - 1)
    })
}

/// Notes a lock request of the calling thread (not in the timeline until granted); returns
/// the token to pass to [`mark_acquired`].
pub(crate) fn lock_requested(
    kind: &'static str,
    object: usize,
    location: &'static Location<'static>,
) -> Option<u64> {
    let op = Op::Lock {
        kind,
        acquired: false,
    };
    pend(op, Some(object), location, false)
}

/// Adds a pending row of the calling thread (see `Trace::pending`); returns its token.
/// `in_section`: the row carries the thread's critical-section instance.
fn pend(
    op: Op,
    object: Option<usize>,
    location: &'static Location<'static>,
    in_section: bool,
) -> Option<u64> {
    if !recording() {
        return None;
    }
    let thread = current_lane();
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        if !t.accepting() {
            return None;
        }
        t.next_token += 1;
        let token = t.next_token;
        let section = if in_section { t.unit_of(thread) } else { None };
        t.pending.push((
            token,
            Event {
                thread,
                op,
                object,
                ordering: None,
                location: Some(location),
                section,
                via: None,
            },
        ));
        Some(token)
    })
}

/// The lock request `token` will never be granted (its future was dropped while it waited,
/// e.g. a cancelled `select!` branch): it leaves the pending list without a row.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn lock_abandoned(token: Option<u64>) {
    let Some(token) = token else { return };
    TRACE.with(|t| {
        if let Ok(mut t) = t.try_borrow_mut() {
            t.pending.retain(|(k, _)| *k != token);
        }
    });
}

/// The lock request `token` was granted: its row enters the timeline now.
pub(crate) fn mark_acquired(token: Option<u64>) {
    let Some(token) = token else { return };
    let lane = current_lane();
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        let Some(i) = t.pending.iter().position(|(k, _)| *k == token) else {
            return;
        };
        let (_, mut e) = t.pending.remove(i);
        if !t.accepting() {
            return;
        }
        if let Op::Lock { acquired, .. } = &mut e.op {
            *acquired = true;
        }
        e.thread = lane;
        e.section = t.unit_of(lane);
        t.events.push(e);
    });
}

/// Notes that the calling thread starts waiting in a blocking operation that records its own
/// row when it completes (`heisen::net`'s `recv`): `op` enters the timeline only if the
/// execution fails while it still waits (a deadlock). Pass the token to [`wait_end`].
pub(crate) fn wait_begin(op: Op, location: &'static Location<'static>) -> Option<u64> {
    pend(op, None, location, true)
}

/// The wait `token` of [`wait_begin`] ended: it never enters the timeline.
pub(crate) fn wait_end(token: Option<u64>) {
    let Some(token) = token else { return };
    TRACE.with(|t| {
        if let Ok(mut t) = t.try_borrow_mut() {
            t.pending.retain(|(k, _)| *k != token);
        }
    });
}

/// The network faults the current run may inject.
pub(crate) fn net_faults() -> crate::net::Faults {
    TRACE.with(|t| t.borrow().net_faults)
}

/// Sets the network faults of the run (called by the runner after [`start_run`]).
pub(crate) fn set_net_faults(f: crate::net::Faults) {
    TRACE.with(|t| t.borrow_mut().net_faults = f);
}

/// How many `heisen::tokio` timers may fire early per execution in the current run.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn early_timers() -> usize {
    TRACE.with(|t| t.borrow().early_timers)
}

/// Sets the early timer firings of the run (called by the runner after [`start_run`]).
pub(crate) fn set_early_timers(n: usize) {
    TRACE.with(|t| t.borrow_mut().early_timers = n);
}

/// Notes what a run used or ran into (see [`Used`]).
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn note_used(f: impl FnOnce(&mut Used)) {
    TRACE.with(|t| {
        if let Ok(mut t) = t.try_borrow_mut() {
            f(&mut t.used);
        }
    });
}

/// loom 0.7's `MAX_THREADS` (not public): threads per execution, the body's included.
pub(crate) const LOOM_MAX_THREADS: usize = 5;

/// loom threads the current execution started so far, its main thread included: every lane
/// (a spawned or reserved model thread) plus the model's helper threads.
pub(crate) fn loom_threads() -> usize {
    TRACE.with(|t| {
        let t = t.borrow();
        t.lanes.len().max(1) + t.helper_threads
    })
}

/// The current execution's helper threads (see [`loom_threads`]).
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn helper_threads() -> usize {
    TRACE.with(|t| t.borrow().helper_threads)
}

/// A helper thread that is no lane (an oracle, `heisen::choose`'s helper) is starting.
pub(crate) fn helper_thread_started() {
    TRACE.with(|t| t.borrow_mut().helper_threads += 1);
}

/// Keeps `state` as the current state of network `id` (printed by the failure report).
pub(crate) fn set_net_state(id: usize, state: String) {
    TRACE.with(|t| {
        let Ok(mut t) = t.try_borrow_mut() else {
            return;
        };
        if !t.accepting() {
            return;
        }
        match t.net_states.iter_mut().find(|(k, _)| *k == id) {
            Some(slot) => slot.1 = state,
            None => t.net_states.push((id, state)),
        }
    });
}

/// Marks a critical section entered by the calling model thread (see `heisen::critical`).
#[track_caller]
pub(crate) fn section_enter(name: &'static str) -> bool {
    if !recording() {
        return false;
    }
    let location = Location::caller();
    let lane = current_lane();
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        if !t.accepting() {
            return false;
        }
        let mut ls = t.lane_sections.get(lane).copied().unwrap_or_default();
        let nested = ls.depth > 0 || ls.inherited.is_some();
        if !nested {
            ls.open = Some(t.sections.len() as u32);
            t.sections.push(Section {
                name,
                lane,
                location: Some(location),
            });
        }
        ls.depth += 1;
        t.set_lane_section(lane, ls);
        let section = t.unit_of(lane);
        t.events.push(Event {
            thread: lane,
            op: Op::SectionEnter { name, nested },
            object: None,
            ordering: None,
            location: Some(location),
            section,
            via: None,
        });
        true
    })
}

/// Marks the end of the critical section entered last by the calling model thread.
pub(crate) fn section_exit(name: &'static str) {
    let lane = current_lane();
    TRACE.with(|t| {
        let Ok(mut t) = t.try_borrow_mut() else {
            return;
        };
        let mut ls = t.lane_sections.get(lane).copied().unwrap_or_default();
        if ls.depth == 0 {
            return;
        }
        let section = t.unit_of(lane);
        let nested = ls.depth > 1 || ls.inherited.is_some();
        ls.depth -= 1;
        if ls.depth == 0 {
            ls.open = None;
        }
        t.set_lane_section(lane, ls);
        if !t.accepting() {
            return;
        }
        t.events.push(Event {
            thread: lane,
            op: Op::SectionExit { name, nested },
            object: None,
            ordering: None,
            location: None,
            section,
            via: None,
        });
    });
}

/// End of one execution's body (it returned: every panic so far was caught). When the
/// execution entered critical sections, counts them and hands its events and sections to
/// `check`; a verdict is kept as the execution's violation and returned, for the caller to fail
/// the execution with (the recorder itself judges nothing).
pub(crate) fn end_execution(
    check: impl FnOnce(&[Event], &[Section]) -> Option<String>,
) -> Option<String> {
    // Per-execution statics are dropped first (inside the execution: they may hold models).
    super::statics::end_execution();
    #[cfg(feature = "tokio")]
    super::tokio::end_execution();
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        if !t.accepting() || t.open_panic() || t.sections.is_empty() {
            return None;
        }
        t.critical_checked += t.sections.len() as u64;
        let text = check(&t.events, &t.sections)?;
        t.violation = Some(text.clone());
        Some(text)
    })
}

impl Default for Trace {
    fn default() -> Self {
        Trace::EMPTY
    }
}

impl Trace {
    /// No run, no events (`const`, for the thread-local's initialiser).
    const EMPTY: Trace = Trace {
        active: false,
        events: Vec::new(),
        lanes: Vec::new(),
        lane_names: Vec::new(),
        executions: 0,
        failure: None,
        panics: Vec::new(),
        used: Used {
            weak_ordering: false,
            notify_one: false,
            futures: false,
            early_timers: false,
            early_timers_capped: false,
        },
        shuttle_schedule: None,
        pending: Vec::new(),
        next_token: 0,
        sections: Vec::new(),
        lane_sections: Vec::new(),
        critical_checked: 0,
        violation: None,
        clock_bound: std::time::Duration::ZERO,
        clock_reads: 0,
        lane_skews: Vec::new(),
        net_faults: crate::net::Faults::NONE,
        net_states: Vec::new(),
        early_timers: 0,
        helper_threads: 0,
    };
    /// The critical-section instance (unit of atomicity) lane `lane` is in now.
    fn unit_of(&self, lane: usize) -> Option<u32> {
        self.lane_sections
            .get(lane)
            .and_then(|ls| ls.inherited.or(ls.open))
    }
    fn set_lane_section(&mut self, lane: usize, ls: LaneSection) {
        if self.lane_sections.len() <= lane {
            self.lane_sections.resize(lane + 1, LaneSection::default());
        }
        self.lane_sections[lane] = ls;
    }
    /// Whether the last panic may still end the execution (nobody was seen catching it).
    fn open_panic(&self) -> bool {
        self.panics.last().is_some_and(|p| !p.caught)
    }
    /// Whether an event of the running thread enters the trace now. An operation recorded
    /// while no thread unwinds after a panic means the panic was caught (an uncaught one ends
    /// the execution: neither loom nor shuttle runs user code after it): its row says so.
    fn accepting(&mut self) -> bool {
        if !self.active {
            return false;
        }
        if self.open_panic() && !std::thread::panicking() {
            self.catch_open_panic();
        }
        true
    }
    fn catch_open_panic(&mut self) {
        if let Some(p) = self.panics.last_mut() {
            p.caught = true;
            let row = &mut self.events[p.at];
            if let Op::Panic(m) = &mut row.op {
                row.op = Op::CaughtPanic(std::mem::take(m));
            }
        }
    }
}

/// Panic hook bookkeeping: record the first panic of the execution.
///
/// Never calls into loom/shuttle (they may be mid-update when they panic): the thread is the
/// one that ran the last facade operation (see `LAST_LANE`).
pub(crate) fn note_panic(mut msg: String, loc: Option<String>) -> bool {
    if !recording() {
        return false;
    }
    BACKEND_PANIC.with(|b| b.set(loc.as_deref().is_some_and(raised_by_backend)));
    let lane = LAST_LANE.with(|l| l.get());
    // A failure inside the teardown of a per-execution static or thread-local (e.g. a
    // destructor that blocks: a deadlock) names it, as the timeline has no row for the drop.
    if let Some(what) = super::statics::destroying() {
        let when = if lane == 0 {
            "when the body returned"
        } else {
            "when its closure returned"
        };
        msg = format!("{msg} (in {what}, run by T{lane} {when})");
    }
    // Raised inside the backend during a facade operation of this lane: the row is that
    // operation's (see `IN_FLIGHT`).
    let in_flight = IN_FLIGHT
        .with(|c| c.get())
        .filter(|&(_, l)| l == lane)
        .map(|(at, _)| at)
        .filter(|_| loc.as_deref().is_some_and(raised_by_backend));
    TRACE.with(|t| {
        let Ok(mut t) = t.try_borrow_mut() else {
            return true;
        };
        if !t.active {
            return false;
        }
        // A panic while another unwinds aborts the process, so an earlier panic still open
        // was caught; this one is the candidate for the failure until it is seen caught.
        if t.open_panic() {
            t.catch_open_panic();
        }
        let section = t.unit_of(lane);
        let at = t.events.len();
        let pending = t.pending.iter().map(|(_, e)| e.clone()).collect();
        t.events.push(Event {
            thread: lane,
            op: Op::Panic(msg.clone()),
            object: None,
            ordering: None,
            location: in_flight,
            section,
            via: None,
        });
        t.panics.push(PanicMark {
            lane,
            message: msg,
            location: loc,
            at,
            pending,
            caught: false,
        });
        true
    })
}

/// std's message when a destructor panics while the thread unwinds (`panic_nounwind`): the
/// process aborts right after the panic hook returns.
const NOUNWIND: &str = "panic in a destructor during cleanup";

/// A panic on which Rust aborts the process (see [`NOUNWIND`]): nothing of the run would be
/// reported, so this returns the report to print first (the timeline so far and the
/// execution's panics in order: the failure, then the destructor's panic while unwinding from
/// it), or `None` for any other panic.
pub(crate) fn abort_note(msg: &str) -> Option<String> {
    if !recording() || !msg.starts_with(NOUNWIND) {
        return None;
    }
    TRACE.with(|t| {
        let t = t.try_borrow().ok()?;
        if !t.active || t.panics.is_empty() {
            return None;
        }
        let panics: String = t
            .panics
            .iter()
            .map(|p| {
                format!(
                    "  T{} at {}: {}\n",
                    p.lane,
                    p.location.as_deref().unwrap_or("?"),
                    p.message
                )
            })
            .collect();
        // the panic it unwound from was not caught (a second panic marked it so)
        let mut events = t.events.clone();
        if let [.., from, last] = t.panics.as_slice() {
            if from.lane == last.lane {
                if let Some(Op::CaughtPanic(m)) = events.get(from.at).map(|e| e.op.clone()) {
                    events[from.at].op = Op::Panic(m);
                }
            }
        }
        Some(format!(
            "timeline of the failing execution (one row per step; lanes indented per thread):\n{}\n\
             failure: a destructor panicked while the thread unwound from a panic, and Rust \
             aborts the process on that ({NOUNWIND})\npanics of the execution, in order:\n{panics}",
            super::report::timeline(&events, &t.lane_names),
        ))
    })
}

/// Whether the current execution has a panic nobody caught yet (loom may be tearing the
/// execution down, e.g. after a deadlock): drops must not call into the backend then.
pub(crate) fn execution_failed() -> bool {
    TRACE.with(|t| t.try_borrow().map_or(true, |t| t.open_panic()))
}

/// Notes that the run used `heisen::future` (see [`Used`]).
pub(crate) fn note_future() {
    TRACE.with(|t| {
        if let Ok(mut t) = t.try_borrow_mut() {
            t.used.futures = true;
        }
    });
}

/// The model wall clock's skew bound for the current run.
pub(crate) fn clock_bound() -> std::time::Duration {
    TRACE.with(|t| t.borrow().clock_bound)
}

/// The clock skew of `lane` in this execution, if it has read its clock yet.
pub(crate) fn lane_skew(lane: usize) -> Option<i64> {
    TRACE.with(|t| t.borrow().lane_skews.get(lane).copied().flatten())
}

/// Fixes the clock skew of `lane` for the rest of this execution.
pub(crate) fn set_lane_skew(lane: usize, skew: i64) {
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        if t.lane_skews.len() <= lane {
            t.lane_skews.resize(lane + 1, None);
        }
        t.lane_skews[lane] = Some(skew);
    });
}

/// How many wall-clock readings this execution took so far (without taking one).
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn clock_reads() -> u64 {
    TRACE.with(|t| t.borrow().clock_reads)
}

/// Counts a wall-clock reading: returns how many readings preceded it in this execution.
pub(crate) fn next_clock_read() -> u64 {
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        t.clock_reads += 1;
        t.clock_reads - 1
    })
}

/// Shuttle schedule recording (called by heisen's scheduler wrapper).
pub(crate) fn shuttle_schedule_start(seed: u64) {
    // Reuses the last execution's buffer (no allocation per execution).
    TRACE.with(|t| match &mut t.borrow_mut().shuttle_schedule {
        Some((s, steps)) => {
            *s = seed;
            steps.clear();
        }
        slot => *slot = Some((seed, Vec::new())),
    });
}
pub(crate) fn shuttle_schedule_push(step: Option<usize>) {
    TRACE.with(|t| {
        if let Some((_, steps)) = &mut t.borrow_mut().shuttle_schedule {
            steps.push(step);
        }
    });
}

/// The shuttle schedule recorded for the current (failing) execution.
pub(crate) fn peek_schedule() -> Option<(u64, Vec<Option<usize>>)> {
    TRACE.with(|t| t.borrow().shuttle_schedule.clone())
}

/// A critical-section guard: created on entry (`#[heisen::critical]`,
/// `heisen::critical_section!`), the exit is recorded when it drops.
#[must_use]
pub struct CriticalGuard {
    name: &'static str,
    active: bool,
}

impl CriticalGuard {
    /// Enters the critical section `name` (recorded only inside a model run).
    #[track_caller]
    #[inline]
    pub fn enter(name: &'static str) -> Self {
        let active = recording() && section_enter(name);
        CriticalGuard { name, active }
    }
}

impl Drop for CriticalGuard {
    #[inline]
    fn drop(&mut self) {
        if self.active {
            section_exit(self.name);
        }
    }
}

/// `f` over the current execution's events and lane names so far (see
/// `runner::__current_timeline`); `None` outside a model run.
pub(crate) fn with_current_events<R>(
    f: impl FnOnce(&[Event], &[Option<String>]) -> R,
) -> Option<R> {
    if !recording() {
        return None;
    }
    TRACE.with(|t| {
        let t = t.borrow();
        Some(f(&t.events, &t.lane_names))
    })
}

#[cfg(test)]
mod tests {
    use super::Val;

    /// A trace value prints as the value itself did (`Display`, `{:p}`), which is what the
    /// reports showed when values were formatted at record time.
    #[test]
    fn values_render_as_their_own_display() {
        assert_eq!(Val::from(u64::MAX).to_string(), u64::MAX.to_string());
        assert_eq!(Val::from(i64::MIN).to_string(), i64::MIN.to_string());
        assert_eq!(Val::from(-3i8).to_string(), "-3");
        assert_eq!(Val::from(usize::MAX).to_string(), usize::MAX.to_string());
        assert_eq!(Val::from(true).to_string(), "true");
        let mut x = 5u32;
        let p: *mut u32 = &mut x;
        assert_eq!(Val::Ptr(p as usize).to_string(), format!("{p:p}"));
        let null: *mut u32 = std::ptr::null_mut();
        assert_eq!(Val::Ptr(null as usize).to_string(), format!("{null:p}"));
        assert!(std::mem::size_of::<Val>() <= 16);
    }
}
