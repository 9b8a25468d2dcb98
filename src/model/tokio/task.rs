//! Model `heisen::tokio::task`: `spawn`, `JoinHandle`, `JoinError`, `yield_now`, `JoinSet`.

use super::{exec, may_clean_up, polling, BMutex, Exec};
use crate::model::rt::{self, Backend, Op};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// A task failed to complete: it panicked, or it was cancelled (aborted, or dropped when the
/// runtime shut down). As `tokio::task::JoinError`.
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panic(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }
    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }
    /// The task's panic payload; panics if the task was cancelled.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError` reason is not a panic.")
    }
    /// The task's panic payload, or the error back if it was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p),
            _ => Err(self),
        }
    }
}

fn panic_text(p: &(dyn Any + Send)) -> &str {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>")
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(p) => write!(f, "task panicked with message {:?}", panic_text(&**p)),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(p) => write!(f, "JoinError::Panic({:?}, ...)", panic_text(&**p)),
        }
    }
}

impl std::error::Error for JoinError {}

struct JoinState<T> {
    result: Option<Result<T, JoinError>>,
    taken: bool,
    waker: Option<Waker>,
    done: bool,
}

/// An owned permission to await a spawned task's output (as `tokio::task::JoinHandle`).
/// Dropping it detaches the task.
pub struct JoinHandle<T> {
    cell: Arc<BMutex<JoinState<T>>>,
    exec: Arc<Exec>,
    id: usize,
}

impl<T> JoinHandle<T> {
    /// Cancels the task at its next await point (its output is then a cancelled
    /// [`JoinError`]); nothing if it finished already.
    #[track_caller]
    pub fn abort(&self) {
        if self.exec.abort(self.id) {
            rt::record(
                Op::Task(format!("abort task {}", self.id), None),
                None,
                None,
                Some(Location::caller()),
            );
        }
    }
    /// Whether the task finished (completed, panicked or was cancelled).
    pub fn is_finished(&self) -> bool {
        self.cell.with(|s| s.done)
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let r = self.cell.with(|s| {
            if let Some(r) = s.result.take() {
                s.taken = true;
                return Some(r);
            }
            assert!(!s.taken, "`JoinHandle` polled after completion");
            s.waker = Some(cx.waker().clone());
            None
        });
        match r {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).finish()
    }
}

/// Spawns a task: a model thread (lane `task N`) that polls `future`, parks when it is
/// `Pending` and is woken by its waker. A panic in the task is its [`JoinError`].
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    start("spawn", false, move |exec, id, cell| {
        run_task(exec, id, future, cell)
    })
}

/// Runs `f` on a blocking thread (as `tokio::task::spawn_blocking`): its own model thread
/// (lane `blocking N`), which is no task: it may block (`Mutex::blocking_lock`, a std lock),
/// does not hold timers back, and `abort` does not stop it once started (as in tokio, where
/// it always starts here). A panic in `f` is the handle's [`JoinError`].
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    start("task::spawn_blocking", true, move |exec, id, cell| {
        let result = match std::panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(v) => Ok(v),
            Err(p) => {
                if rt::backend() == Backend::Std || rt::last_panic_by_backend() {
                    std::panic::resume_unwind(p);
                }
                Err(JoinError {
                    repr: Repr::Panic(p),
                })
            }
        };
        finish_task(&exec, id, result, &cell);
    })
}

/// The cell a task's output reaches its [`JoinHandle`] through.
type Cell<T> = Arc<BMutex<JoinState<T>>>;

/// Starts the model thread of a task (`blocking`: of a `spawn_blocking` closure) that runs
/// `body` with the executor, its slot and its output's cell.
#[track_caller]
fn start<T, B>(what: &str, blocking: bool, body: B) -> JoinHandle<T>
where
    T: Send + 'static,
    B: FnOnce(Arc<Exec>, usize, Cell<T>) + Send + 'static,
{
    let exec = exec();
    if rt::backend() == Backend::Loom && rt::loom_threads() >= rt::LOOM_MAX_THREADS {
        let helpers = rt::helper_threads();
        panic!(
            "heisen::tokio::{what}: loom runs at most {} threads per execution, the body's \
             included, and all are in use{}: spawn fewer tasks under loom{}",
            rt::LOOM_MAX_THREADS,
            if helpers == 0 {
                String::new()
            } else {
                format!(" ({helpers} by the model's own choices: an early-timer or network oracle)")
            },
            if helpers == 0 {
                ""
            } else {
                " (`max_early_timers = 0` keeps timers from starting an oracle)"
            },
        );
    }
    let id = exec.add_slot(None, blocking);
    let cell = Arc::new(BMutex::new(
        JoinState {
            result: None,
            taken: false,
            waker: None,
            done: false,
        },
        what,
    ));
    let (e2, c2) = (exec.clone(), cell.clone());
    let lane = if blocking { "blocking" } else { "task" };
    let h = crate::model::thread::Builder::new()
        .name(format!("{lane} {id}"))
        .spawn(move || body(e2, id, c2))
        .unwrap_or_else(|e| panic!("heisen::tokio::{what}: the model refused another thread: {e}"));
    drop(h);
    JoinHandle { cell, exec, id }
}

/// A task's end: its row, its result for the `JoinHandle`, and its slot done.
fn finish_task<T>(
    exec: &Exec,
    id: usize,
    result: Result<T, JoinError>,
    cell: &BMutex<JoinState<T>>,
) {
    let row = match &result {
        Ok(_) => format!("task {id} finished"),
        Err(e) if e.is_panic() => format!("task {id} panicked: JoinError::Panic"),
        Err(_) => format!("task {id} cancelled"),
    };
    rt::record(Op::Task(row, None), None, None, None);
    let waker = cell.with(|s| {
        s.done = true;
        s.result = Some(result);
        s.waker.take()
    });
    if let Some(w) = waker {
        w.wake();
    }
    exec.finish(id);
}

fn run_task<F: Future>(
    exec: Arc<Exec>,
    id: usize,
    future: F,
    cell: Arc<BMutex<JoinState<F::Output>>>,
) {
    exec.adopt(id);
    let waker = exec.waker(id);
    let mut cx = Context::from_waker(&waker);
    let mut fut = Some(Box::pin(future));
    let mut stop = exec.stopped(id);
    let result = loop {
        if stop {
            drop(fut.take());
            break Err(JoinError {
                repr: Repr::Cancelled,
            });
        }
        let f = fut.as_mut().expect("future present");
        let polled =
            polling(|| std::panic::catch_unwind(AssertUnwindSafe(|| f.as_mut().poll(&mut cx))));
        match polled {
            Ok(Poll::Ready(v)) => break Ok(v),
            Ok(Poll::Pending) => stop = exec.park(id),
            Err(p) => {
                // A panic of loom or shuttle themselves (a deadlock, a limit) is not the task's.
                if rt::backend() == Backend::Std || rt::last_panic_by_backend() {
                    std::panic::resume_unwind(p);
                }
                drop(fut.take());
                break Err(JoinError {
                    repr: Repr::Panic(p),
                });
            }
        }
    };
    finish_task(&exec, id, result, &cell);
}

/// Yields to the scheduler once (as `tokio::task::yield_now`): a scheduling point, and the
/// task is polled again.
#[track_caller]
pub fn yield_now() -> YieldNow {
    YieldNow {
        done: false,
        at: Location::caller(),
    }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    done: bool,
    at: &'static Location<'static>,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done {
            return Poll::Ready(());
        }
        self.done = true;
        rt::record(Op::Yield, None, None, Some(self.at));
        match rt::backend() {
            Backend::Loom => loom::thread::yield_now(),
            Backend::Shuttle => shuttle::thread::yield_now(),
            Backend::Std => {}
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A set of spawned tasks awaited in completion order (as `tokio::task::JoinSet`); dropping it
/// aborts them.
pub struct JoinSet<T> {
    handles: Vec<JoinHandle<T>>,
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        JoinSet {
            handles: Vec::new(),
        }
    }
    /// How many tasks are in the set.
    pub fn len(&self) -> usize {
        self.handles.len()
    }
    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }
    /// Spawns a task into the set.
    #[track_caller]
    pub fn spawn<F>(&mut self, task: F)
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.handles.push(spawn(task));
    }
    /// Waits for the next task to finish; `None` when the set is empty.
    pub fn join_next(&mut self) -> JoinNext<'_, T> {
        JoinNext { set: self }
    }
    /// Aborts every task in the set (they stay in it until joined).
    #[track_caller]
    pub fn abort_all(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        if may_clean_up() && rt::backend() != Backend::Std {
            for h in &self.handles {
                h.abort();
            }
        }
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

/// The future of [`JoinSet::join_next`].
pub struct JoinNext<'a, T> {
    set: &'a mut JoinSet<T>,
}

impl<T> Future for JoinNext<'_, T> {
    type Output = Option<Result<T, JoinError>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.set.handles.is_empty() {
            return Poll::Ready(None);
        }
        for i in 0..self.set.handles.len() {
            if let Poll::Ready(r) = Pin::new(&mut self.set.handles[i]).poll(cx) {
                self.set.handles.remove(i);
                return Poll::Ready(Some(r));
            }
        }
        Poll::Pending
    }
}
