//! Model-build `heisen::tokio` (features `model` + `tokio`): tokio's task, sync and time API
//! over the model backends, so that loom and shuttle explore how tasks interleave at their
//! await points.
//!
//! **Tasks are model threads.** `spawn` starts a model thread (lane `task N`) that polls the
//! task's future; the body of `#[heisen::model] async fn` is task 0 on the main lane. A task
//! that returns `Pending` *parks*: it waits on its own backend condvar until its waker fires.
//! So every await point where the task waits is a point where the backend may run another
//! task, and every operation on a shared primitive's state (a backend mutex, not recorded) is
//! one loom and shuttle schedule around. The same executor serves both backends; under loom at
//! most four tasks besides the body fit (loom 0.7's `MAX_THREADS` is 5 and counts the main
//! thread and every thread an execution started, `heisen::choose`'s helpers included; a fifth
//! `spawn` fails the run with loom's "Model exceeded maximum number of threads").
//!
//! **Futures are waker-based**, as tokio's: `lock()`, `recv()`, `notified()`, `sleep()` … return
//! `Pending` after registering the task's waker, and the releasing side wakes it. Nothing blocks
//! the thread inside a poll, so `tokio::join!` / `tokio::select!` inside one task poll several
//! heisen futures on one waker, and a future dropped while it waits (a lost `select!` branch, a
//! `timeout`) leaves its queue (a granted but unobserved permit is handed on).
//!
//! **Virtual time.** Timers live in the executor: when every live task is parked (no task can
//! progress) the earliest deadline fires — the model clock (`super::time`, the clock behind
//! `heisen::time::{SystemTime, Instant}`) is moved to it and its task is woken. Timers fire one
//! at a time, in deadline order (ties: registration order); a sleep of an hour costs nothing.
//! Model threads that are not tasks (`heisen::thread::spawn`) do not hold timers back.
//!
//! **Early firings.** A timer may also fire *early*, as an explored choice: at an await point
//! (a task's poll returned `Pending`, or `yield_now`) where some task can still run and a timer
//! is pending, the earliest timer fires now — a real system could have been delayed that long
//! there (a GC pause, a slow disk, a preempted thread). So a lease can run out while its holder
//! is between awaits, and a `timeout` can elapse while its work could still complete. Still in
//! deadline order, and never while a task woken by an earlier firing has not finished the poll
//! that sees it (so the poll that sees a timer fire never also sees a later one, even in a
//! rotating `join!`). At most `max_early_timers` per execution (`#[heisen::model(
//! max_early_timers = N)]`, default 1; 0 = only idle firings). loom explores both outcomes of
//! each such choice — one bit from an oracle thread the executor starts at its first choice
//! (`model::choice`): one loom thread (skipped, and said in the summary, when loom's five are
//! taken), a ×3 for the oracle's start, then about one more execution per await point where the
//! timer could fire; shuttle fires with probability 1/(runnable tasks + 1). Every firing is a
//! row on the timer's task's lane at the moment the clock moves (`timer fired: sleep 100ms
//! (virtual t=+100ms)`; an early one ends `, early: T1 could still run)`).
//!
//! **Shutdown.** When the body returns, the runtime shuts down as tokio's does: every other
//! task is dropped at its next await point (its `JoinHandle` would say cancelled).
//!
//! Objects of this module exist only inside a model run: created outside one they panic with
//! a message (build without `model` to get tokio's own).

pub mod sync;
pub mod task;
pub mod time;

use super::choice::Chooser;
use super::rt::{self, Backend};
use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::Arc;
use std::task::{Wake, Waker};

/// The backend of an object created now; panics outside a model run.
#[track_caller]
pub(crate) fn model_backend(what: &str) -> Backend {
    match rt::backend() {
        Backend::Std => panic!(
            "heisen::tokio::{what} in a model build works only inside a #[heisen::model] run \
             (build without the `model` feature to use tokio's own)"
        ),
        b => b,
    }
}

/// A backend mutex for the model's own bookkeeping: its operations are scheduling points of
/// loom and shuttle, but not rows of the timeline.
pub(crate) enum BMutex<T> {
    Loom(loom::sync::Mutex<T>),
    Shuttle(shuttle::sync::Mutex<T>),
}

pub(crate) enum BGuard<'a, T> {
    Loom(loom::sync::MutexGuard<'a, T>),
    Shuttle(shuttle::sync::MutexGuard<'a, T>),
}

impl<T> BMutex<T> {
    #[track_caller]
    pub(crate) fn new(v: T, what: &str) -> Self {
        match model_backend(what) {
            Backend::Loom => BMutex::Loom(loom::sync::Mutex::new(v)),
            _ => BMutex::Shuttle(shuttle::sync::Mutex::new(v)),
        }
    }
    pub(crate) fn lock(&self) -> BGuard<'_, T> {
        let g = match self {
            BMutex::Loom(m) => BGuard::Loom(m.lock().unwrap_or_else(|e| e.into_inner())),
            BMutex::Shuttle(m) => BGuard::Shuttle(m.lock().unwrap_or_else(|e| e.into_inner())),
        };
        // The backend may have switched threads inside `lock`: refresh the running lane.
        rt::current_lane();
        g
    }
    /// `f` on the state, under the lock.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock())
    }
}

impl<T> Deref for BGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            BGuard::Loom(g) => g,
            BGuard::Shuttle(g) => g,
        }
    }
}
impl<T> DerefMut for BGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match self {
            BGuard::Loom(g) => &mut *g,
            BGuard::Shuttle(g) => &mut *g,
        }
    }
}

enum BCondvar {
    Loom(loom::sync::Condvar),
    Shuttle(shuttle::sync::Condvar),
}

impl BCondvar {
    fn new(b: Backend) -> Self {
        match b {
            Backend::Loom => BCondvar::Loom(loom::sync::Condvar::new()),
            _ => BCondvar::Shuttle(shuttle::sync::Condvar::new()),
        }
    }
    fn wait<'a, T>(&self, g: BGuard<'a, T>) -> BGuard<'a, T> {
        let g = match (self, g) {
            (BCondvar::Loom(c), BGuard::Loom(g)) => {
                BGuard::Loom(c.wait(g).unwrap_or_else(|e| e.into_inner()))
            }
            (BCondvar::Shuttle(c), BGuard::Shuttle(g)) => {
                BGuard::Shuttle(c.wait(g).unwrap_or_else(|e| e.into_inner()))
            }
            _ => unreachable!("one backend per execution"),
        };
        rt::current_lane();
        g
    }
    fn notify(&self) {
        match self {
            BCondvar::Loom(c) => c.notify_all(),
            BCondvar::Shuttle(c) => c.notify_all(),
        }
    }
}

/// Whether a drop may call into the backend now. Not after the execution failed (loom may be
/// tearing it down), except while a task's own panic unwinds out of its poll: the task catches
/// it (a `JoinError`), and what the task held — a `MutexGuard`, a permit — must be released, as
/// in tokio.
pub(crate) fn may_clean_up() -> bool {
    !rt::execution_failed() || (std::thread::panicking() && in_task_poll())
}

thread_local! {
    /// The executor of the current execution (model threads share the OS thread).
    static EXEC: RefCell<Option<Arc<Exec>>> = const { RefCell::new(None) };
    /// Lanes whose task is inside its poll (see [`may_clean_up`]).
    static POLLING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

fn in_task_poll() -> bool {
    let lane = rt::current_lane();
    POLLING.with(|p| p.borrow().contains(&lane))
}

/// Start of an execution: a new executor is made at first use. The old one is forgotten, not
/// dropped: it holds backend objects of an execution that is over.
pub(crate) fn begin_execution() {
    if let Some(old) = EXEC.with(|e| e.borrow_mut().take()) {
        std::mem::forget(old);
    }
    POLLING.with(|p| p.borrow_mut().clear());
}

/// End of the body (inside the execution): the executor is dropped with the last task.
pub(crate) fn end_execution() {
    drop(EXEC.with(|e| e.borrow_mut().take()));
}

/// The current execution's executor.
#[track_caller]
pub(crate) fn exec() -> Arc<Exec> {
    if let Some(e) = EXEC.with(|e| e.borrow().clone()) {
        return e;
    }
    let b = model_backend("runtime");
    let e = Arc::new(Exec {
        backend: b,
        st: BMutex::new(
            ExecState {
                early_left: rt::early_timers(),
                ..ExecState::default()
            },
            "runtime",
        ),
        chooser: Chooser::lazy(b),
    });
    EXEC.with(|x| *x.borrow_mut() = Some(e.clone()));
    e
}

/// The executor: tasks, their park state, and the timers.
pub(crate) struct Exec {
    backend: Backend,
    st: BMutex<ExecState>,
    /// The early-firing choices (loom: an oracle thread started at the first one).
    chooser: Chooser,
}

#[derive(Default)]
struct ExecState {
    tasks: Vec<Slot>,
    timers: Vec<Timer>,
    next_timer: u64,
    shutdown: bool,
    /// Early firings left in this execution (`max_early_timers`).
    early_left: usize,
    /// Timers the executor fired whose sleep has not seen it yet (the firing's row is made).
    fired: Vec<u64>,
}

struct Slot {
    /// The lane of the task's model thread (`None` until it starts).
    lane: Option<usize>,
    /// Woken since its last poll.
    notified: bool,
    /// Waiting in [`Exec::park`].
    parked: bool,
    done: bool,
    /// `JoinHandle::abort` was called: the task stops at its next wake-up.
    aborted: bool,
    /// A timer of the task fired since its current poll began (see [`Exec::offer_early`]).
    timer_fired: bool,
    /// The current poll began after a timer of the task fired: it is the poll that sees it.
    timer_seeing: bool,
    /// A `spawn_blocking` closure on its own model thread: not a task that polls, so it
    /// neither holds timers back nor can be parked (as any model thread that is no task).
    blocking: bool,
    cv: Arc<BCondvar>,
}

struct Timer {
    id: u64,
    deadline: super::time::Instant,
    task: usize,
    /// For the firing's row: what the timer is (`sleep 100ms`) and where it was awaited.
    what: String,
    at: &'static Location<'static>,
}

impl ExecState {
    /// Marks task `id` woken (and wakes its thread if it is parked).
    fn wake(&mut self, id: usize) {
        let s = &mut self.tasks[id];
        if s.done {
            return;
        }
        s.notified = true;
        if s.parked {
            s.parked = false;
            s.cv.notify();
        }
    }
    /// When no live task can progress, fires the earliest timer; returns whether it did.
    fn fire_if_idle(&mut self) -> bool {
        if self.shutdown || self.timers.is_empty() {
            return false;
        }
        if self
            .tasks
            .iter()
            .any(|t| !t.done && !t.parked && !t.blocking)
        {
            return false;
        }
        self.fire_earliest(None);
        true
    }
    /// Fires the earliest timer (ties: registration order): the model clock moves to its
    /// deadline (never back) and its task is woken. The firing is a row on the task's lane,
    /// now (`timer fired: sleep 100ms (virtual t=+100ms)`); `early`: what could still run,
    /// for a timer that fired early (`…, early: T1 could still run)`).
    fn fire_earliest(&mut self, early: Option<String>) {
        let i = (0..self.timers.len())
            .min_by_key(|&i| (self.timers[i].deadline, self.timers[i].id))
            .expect("a timer");
        let t = self.timers.remove(i);
        super::time::advance_to(t.deadline);
        let now = super::time::now_virtual();
        let early = early.map(|e| format!(", {e}")).unwrap_or_default();
        let row = format!(
            "timer fired: {} (virtual t={}{early})",
            t.what,
            time::virtual_t(now)
        );
        if let Some(lane) = self.tasks[t.task].lane {
            rt::record_on_lane(lane, rt::Op::Task(row, None), Some(t.at));
        }
        self.fired.push(t.id);
        self.tasks[t.task].timer_fired = true;
        self.wake(t.task);
    }
    /// The live tasks that are not parked (they can run now), as their lanes say them.
    fn runnable(&self) -> Vec<String> {
        self.tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.done && !t.parked && !t.blocking)
            .map(|(i, t)| match t.lane {
                Some(l) => format!("T{l}"),
                None => format!("task {i} (not started)"),
            })
            .collect()
    }
    fn task_of_lane(&self, lane: usize) -> Option<usize> {
        self.tasks
            .iter()
            .position(|t| !t.done && t.lane == Some(lane))
    }
}

impl Exec {
    fn add_slot(&self, lane: Option<usize>, blocking: bool) -> usize {
        let cv = Arc::new(BCondvar::new(self.backend));
        self.st.with(|st| {
            st.tasks.push(Slot {
                lane,
                notified: false,
                parked: false,
                done: false,
                aborted: false,
                timer_fired: false,
                timer_seeing: false,
                blocking,
                cv,
            });
            st.tasks.len() - 1
        })
    }
    fn adopt(&self, id: usize) {
        let lane = rt::current_lane();
        self.st.with(|st| st.tasks[id].lane = Some(lane));
    }
    /// Wakes task `id`.
    pub(crate) fn wake(&self, id: usize) {
        self.st.with(|st| st.wake(id));
    }
    fn waker(self: &Arc<Self>, id: usize) -> Waker {
        Waker::from(Arc::new(TaskWaker {
            exec: self.clone(),
            id,
        }))
    }
    /// Parks task `id` until it is woken (returns at once if it was woken since its poll).
    /// Returns whether the task must stop instead of being polled again: it was aborted, or
    /// the runtime shut down.
    fn park(&self, id: usize) -> bool {
        let mut g = self.st.lock();
        // Back at an await point: a poll that began after a firing has seen it.
        g.tasks[id].timer_seeing = false;
        if g.tasks[id].notified {
            self.offer_early(&mut g);
            let s = &mut g.tasks[id];
            s.notified = false;
            s.timer_seeing = std::mem::take(&mut s.timer_fired);
            return g.shutdown || g.tasks[id].aborted;
        }
        g.tasks[id].parked = true;
        if !g.fire_if_idle() {
            self.offer_early(&mut g);
        }
        loop {
            if g.tasks[id].notified || g.shutdown {
                let shutdown = g.shutdown;
                let s = &mut g.tasks[id];
                s.notified = false;
                s.parked = false;
                s.timer_seeing = std::mem::take(&mut s.timer_fired);
                return shutdown || s.aborted;
            }
            let cv = g.tasks[id].cv.clone();
            g = cv.wait(g);
        }
    }
    /// At an await point where a task can still run and a timer is pending: fires the
    /// earliest timer now, as an explored choice (while `max_early_timers` lasts): a real
    /// system could have been delayed that long here. loom explores both outcomes (one bit of
    /// the executor's oracle); shuttle fires with probability 1/(runnable tasks + 1), as if the
    /// time driver were one more runnable task.
    ///
    /// Not while a task woken by an earlier firing has not finished a poll that began after
    /// it: so the poll that sees a timer fire never sees a later one fire too, and sleeps
    /// complete in deadline order even within one `join!` (whose branch order rotates). (An
    /// idle firing needs every task parked, so the same holds for it.)
    fn offer_early(&self, st: &mut ExecState) {
        if st.shutdown || st.timers.is_empty() || st.early_left == 0 {
            return;
        }
        if st
            .tasks
            .iter()
            .any(|t| !t.done && (t.timer_fired || t.timer_seeing))
        {
            return;
        }
        let runnable = st.runnable();
        if runnable.is_empty() {
            return;
        }
        rt::note_used(|u| u.early_timers = true);
        match self.chooser.coin(runnable.len() + 1) {
            Some(true) => {}
            Some(false) => return,
            None => {
                rt::note_used(|u| u.early_timers_capped = true);
                return;
            }
        }
        st.early_left -= 1;
        let note = format!("early: {} could still run", runnable.join(", "));
        st.fire_earliest(Some(note));
    }
    fn finish(&self, id: usize) {
        self.st.with(|st| {
            st.tasks[id].done = true;
            st.timers.retain(|t| t.task != id);
            st.fire_if_idle();
        });
    }
    /// Whether task `id` must stop before its first poll.
    fn stopped(&self, id: usize) -> bool {
        self.st.with(|st| st.shutdown || st.tasks[id].aborted)
    }
    /// Marks task `id` aborted and wakes it; false if it was aborted or finished already.
    fn abort(&self, id: usize) -> bool {
        self.st.with(|st| {
            let s = &mut st.tasks[id];
            if s.aborted || s.done {
                return false;
            }
            s.aborted = true;
            st.wake(id);
            true
        })
    }
    fn shutdown(&self) {
        self.st.with(|st| {
            st.shutdown = true;
            for t in &mut st.tasks {
                if t.parked {
                    t.parked = false;
                    t.cv.notify();
                }
            }
        });
    }
    /// Registers (or re-registers) timer `id` of the calling task (`what` awaited at `at`);
    /// returns its id.
    #[track_caller]
    pub(crate) fn set_timer(
        &self,
        id: Option<u64>,
        deadline: super::time::Instant,
        what: &str,
        at: &'static Location<'static>,
    ) -> u64 {
        let lane = rt::current_lane();
        self.st.with(|st| {
            let Some(task) = st.task_of_lane(lane) else {
                panic!(
                    "heisen::tokio::time: a timer was awaited outside a heisen::tokio task \
                     (await it in the #[heisen::model] async body or in a spawned task)"
                )
            };
            if let Some(id) = id {
                if let Some(t) = st.timers.iter_mut().find(|t| t.id == id) {
                    t.deadline = deadline;
                    t.task = task;
                    return id;
                }
            }
            st.next_timer += 1;
            let id = st.next_timer;
            st.timers.push(Timer {
                id,
                deadline,
                task,
                what: what.to_string(),
                at,
            });
            id
        })
    }
    /// Removes timer `id`.
    pub(crate) fn cancel_timer(&self, id: u64) {
        self.retire_timer(id);
    }
    /// Removes timer `id` whose sleep completed; returns whether the executor fired it (and
    /// so made its row).
    pub(crate) fn retire_timer(&self, id: u64) -> bool {
        self.st.with(|st| {
            st.timers.retain(|t| t.id != id);
            match st.fired.iter().position(|&f| f == id) {
                Some(i) => {
                    st.fired.swap_remove(i);
                    true
                }
                None => false,
            }
        })
    }
}

struct TaskWaker {
    exec: Arc<Exec>,
    id: usize,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if may_clean_up() && rt::backend() != Backend::Std {
            self.exec.wake(self.id);
        }
    }
}

/// Marks the calling lane as polling its task while `f` runs.
fn polling<R>(f: impl FnOnce() -> R) -> R {
    struct Unmark(usize);
    impl Drop for Unmark {
        fn drop(&mut self) {
            let lane = self.0;
            POLLING.with(|p| p.borrow_mut().retain(|&l| l != lane));
        }
    }
    let lane = rt::current_lane();
    POLLING.with(|p| p.borrow_mut().push(lane));
    let _u = Unmark(lane);
    f()
}

/// Blocks the calling model thread on `f` (`Mutex::blocking_lock` and the like): as tokio's,
/// it panics inside a task (an asynchronous execution context), with tokio's message.
#[track_caller]
pub(crate) fn block_outside_tasks<F: std::future::Future>(f: F) -> F::Output {
    let lane = rt::current_lane();
    if exec().st.with(|st| st.task_of_lane(lane).is_some()) {
        panic!(
            "Cannot block the current thread from within a runtime. This happens because a \
             function attempted to block the current thread while the thread is being used to \
             drive asynchronous tasks."
        );
    }
    crate::model::misc::block_on(f)
}

/// Runs the body of `#[heisen::model] async fn` as task 0 on the calling (main) lane; when it
/// returns, the runtime shuts down (the other tasks are dropped at their next await point).
pub fn block_on_body<F: std::future::Future>(f: F) -> F::Output {
    let exec = exec();
    let id = exec.add_slot(Some(rt::current_lane()), false);
    let waker = exec.waker(id);
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            exec.finish(id);
            exec.shutdown();
            return v;
        }
        exec.park(id);
    }
}
