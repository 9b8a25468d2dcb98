//! Model-build runtime: which backend is active on this OS thread, and the trace recorder.
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
    static TRACE: RefCell<Trace> = RefCell::new(Trace::default());
    /// Lane of the model thread that ran the last facade operation. Model threads switch only
    /// inside backend operations, and every facade operation records (and so refreshes this)
    /// after its backend call returns, so this is the running thread: the panic hook uses it
    /// instead of asking loom/shuttle, which may be mid-update when they panic.
    static LAST_LANE: Cell<usize> = const { Cell::new(0) };
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
}

/// Operation kinds recorded by the facade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Spawned the thread with this lane.
    Spawn(usize),
    /// Joined the thread with this lane.
    Join(usize),
    /// Atomic load that returned the value.
    Load(String),
    /// Atomic store of the value.
    Store(String),
    /// Read-modify-write (`name`, value before, value after).
    Rmw(&'static str, String, String),
    /// compare_exchange: expected, new, Ok(prev) on success / Err(actual) on failure.
    Cas {
        /// Expected value.
        expected: String,
        /// Value to store.
        new: String,
        /// Success and the value observed.
        result: Result<String, String>,
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
    /// Condvar wait (releases the mutex until woken).
    Wait,
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
    /// The thread panicked (the failure).
    Panic(String),
}

/// The trace of the current execution plus bookkeeping.
#[derive(Default)]
pub(crate) struct Trace {
    pub(crate) active: bool,
    pub(crate) events: Vec<Event>,
    lanes: Vec<LaneKey>,
    pub(crate) lane_names: Vec<Option<String>>,
    pub(crate) executions: u64,
    /// First panic of the current execution: (lane, message, location).
    pub(crate) failure: Option<(usize, String, Option<String>)>,
    /// Shuttle replay record of the current execution (seed + choices).
    pub(crate) shuttle_schedule: Option<(u64, Vec<Option<usize>>)>,
}

/// Starts recording a run on this OS thread.
pub(crate) fn start_run() {
    TRACE.with(|t| {
        *t.borrow_mut() = Trace {
            active: true,
            ..Trace::default()
        }
    });
}

/// Stops recording and hands back the trace of the last execution.
pub(crate) fn finish_run() -> Trace {
    TRACE.with(|t| {
        let mut tr = std::mem::take(&mut *t.borrow_mut());
        tr.active = false;
        tr
    })
}

/// Called at the start of every execution (on its main model thread).
pub(crate) fn begin_execution() {
    let key = current_key();
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        t.events.clear();
        t.lanes.clear();
        t.lane_names.clear();
        t.failure = None;
        t.executions += 1;
        LAST_LANE.with(|l| l.set(0));
        if let Some(k) = key {
            t.lanes.push(k);
            t.lane_names.push(Some("main".into()));
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
    if std::thread::panicking() {
        // Unwinding (maybe out of loom/shuttle internals): don't call into the backend.
        return LAST_LANE.with(|l| l.get());
    }
    let Some(key) = current_key() else {
        return LAST_LANE.with(|l| l.get());
    };
    let lane = current_lane_of(key);
    LAST_LANE.with(|l| l.set(lane));
    lane
}

fn current_lane_of(key: LaneKey) -> usize {
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        if let Some(i) = t.lanes.iter().position(|k| *k == key) {
            return i;
        }
        t.lanes.push(key);
        t.lane_names.push(None);
        t.lanes.len() - 1
    })
}

/// Reserves the lane of a thread about to be spawned.
pub(crate) fn reserve_lane(name: Option<String>) -> usize {
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
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
    if !recording() {
        return None;
    }
    let thread = current_lane();
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        // After the failure only unwinding (guard drops) follows: not part of the story.
        if !t.active || t.failure.is_some() {
            return None;
        }
        t.events.push(Event {
            thread,
            op,
            object,
            ordering,
            location,
        });
        Some(t.events.len() - 1)
    })
}

/// Marks a recorded lock request as granted.
pub(crate) fn mark_acquired(idx: Option<usize>) {
    if let Some(i) = idx {
        current_lane();
        TRACE.with(|t| {
            if let Some(Event {
                op: Op::Lock { acquired, .. },
                ..
            }) = t.borrow_mut().events.get_mut(i)
            {
                *acquired = true;
            }
        });
    }
}

/// Panic hook bookkeeping: record the first panic of the execution.
///
/// Never calls into loom/shuttle (they may be mid-update when they panic): the thread is the
/// one that ran the last facade operation (see `LAST_LANE`).
pub(crate) fn note_panic(msg: String, loc: Option<String>) -> bool {
    if !recording() {
        return false;
    }
    let lane = LAST_LANE.with(|l| l.get());
    TRACE.with(|t| {
        let Ok(mut t) = t.try_borrow_mut() else {
            return true;
        };
        if !t.active {
            return false;
        }
        if t.failure.is_none() {
            t.failure = Some((lane, msg.clone(), loc));
            t.events.push(Event {
                thread: lane,
                op: Op::Panic(msg),
                object: None,
                ordering: None,
                location: None,
            });
        }
        true
    })
}

/// Shuttle schedule recording (called by heisen's scheduler wrapper).
pub(crate) fn shuttle_schedule_start(seed: u64) {
    TRACE.with(|t| t.borrow_mut().shuttle_schedule = Some((seed, Vec::new())));
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
