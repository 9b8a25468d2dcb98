//! Linearizability checking: write an object's sequential behaviour once, and every explored
//! execution's history is checked against it — no assertion in the test.
//!
//! ```
//! use heisen::lin::{self, Scenario, Spec};
//! use heisen::sync::Mutex;
//!
//! #[derive(Clone, Debug, PartialEq)] enum Op { Push(u32), Pop }
//! #[derive(Clone, Debug, PartialEq)] enum Ret { Pushed, Popped(Option<u32>) }
//!
//! #[derive(Clone, Default)] struct SeqStack(Vec<u32>);      // the sequential specification
//! impl Spec for SeqStack {
//!     type Op = Op;
//!     type Ret = Ret;
//!     fn apply(&mut self, op: &Op) -> Ret {
//!         match op { Op::Push(v) => { self.0.push(*v); Ret::Pushed } Op::Pop => Ret::Popped(self.0.pop()) }
//!     }
//! }
//!
//! struct MyStack(Mutex<Vec<u32>>);
//! impl MyStack {
//!     fn new() -> Self { MyStack(Mutex::new(Vec::new())) }
//!     fn push(&self, v: u32) { self.0.lock().unwrap().push(v) }
//!     fn pop(&self) -> Option<u32> { self.0.lock().unwrap().pop() }
//! }
//!
//! #[heisen::model]
//! fn stack_is_linearizable() {
//!     lin::check::<SeqStack, _>(
//!         MyStack::new,                                     // the object under test, built per execution
//!         |s: &MyStack, op: &Op| match op { Op::Push(v) => { s.push(*v); Ret::Pushed } Op::Pop => Ret::Popped(s.pop()) },
//!         Scenario::threads(vec![vec![Op::Push(1), Op::Pop], vec![Op::Push(2), Op::Pop]]),
//!     );
//! }
//! ```
//!
//! [`check`] builds the object, runs the scenario's `init` operations on the calling thread,
//! spawns one [`heisen::thread`](crate::thread) per lane, joins them, runs the `post`
//! operations, and checks the recorded history: every operation with its result and when it
//! was invoked and when it returned. A history is *linearizable* when some sequential order
//! of its operations (i) gives every operation the result it returned, applied to the spec
//! from `S::default()`, and (ii) keeps every operation after those that returned before it
//! was invoked. When none does, `check` panics with the reason, which goes through heisen's
//! normal failure path: in a `#[heisen::model]` test the report is the failing execution's
//! timeline, with a `call Push(1)` row when an operation was invoked and a `ret Pushed` row
//! when it returned between the facade rows of what it did, then the reason and the replay
//! line. A stack whose `len` is a separate counter reads (from the guide test in
//! `tests/lin.rs`; the README shows the whole report):
//!
//! ```text
//! failure: not linearizable
//!   thread:   T0 (main)
//!   at:       tests/lin.rs:…
//!   message:  not linearizable: no sequential order of the operations explains their results
//!             the longest prefix a sequential order explains (2 of 3 operations):
//!               T1 Push(1) → Pushed
//!               T2 Pop → Popped(Some(1))
//!             after it, no operation's recorded result is the spec's:
//!               T2 Len returned Len(18446744073709551615), the spec returns Len(0)
//! ```
//!
//! In a normal build `check` runs the scenario once on real threads and checks that history
//! (the report then shows the history itself, one lane per thread).
//!
//! ## Which order counts
//!
//! * **shuttle** schedules are sequentially consistent, and **real threads** run each
//!   operation between two `SeqCst` increments of one counter: "returned before invoked" is
//!   real time, and the whole real-time order is checked.
//! * **loom** explores C++ memory-model executions, in which an operation that returned
//!   earlier in loom's schedule need not be visible to a later one in another thread (a load
//!   may read an older store). Linearizability there is defined over *happens-before*
//!   (Batty, Dodds, Gotsman, "Library abstraction for C/C++ concurrency"): heisen does not see
//!   loom's happens-before relation, so under loom it orders only what is certainly
//!   happens-before — program order within a lane, the `init` operations before every lane
//!   (spawn) and the `post` operations after (join). Results no order explains (a lost
//!   update, a lost element, a value never written) are found by both backends; a result
//!   that is only wrong because of real time (a pop that misses a push which returned
//!   before it began) is shuttle's to find. A correct lock-free object with acquire/release
//!   operations therefore never fails falsely under loom.
//!
//! **The recording adds no synchronization and no scheduling point.** The invocation and
//! response sequence numbers come from a `std` atomic that loom and shuttle do not see, each
//! lane keeps its own history and hands it back through `join`, and the `call`/`ret` rows are
//! appended to the model's trace, which is not an operation of the model. So the explored
//! executions are exactly those of the same body without `lin`, and no happens-before edge
//! is added between the lanes (a `std::sync::Mutex` around the recording would be invisible
//! too, but held across an operation it would block the one OS thread loom or shuttle runs
//! the model on: heisen never holds one). On real threads the two counter increments per
//! operation do synchronize the threads slightly (a smoke run, not an exploration).
//!
//! ## The search
//!
//! Wing & Gong's backtracking search for a sequential order, with Lowe's memoisation: a
//! configuration (set of operations linearized so far, spec state) that was already explored
//! is not explored again. States are compared by [`Spec::fingerprint`] — a 64-bit hash of
//! the state, `None` by default: specs that derive `Hash` return
//! `Some(lin::fingerprint_of(self))` and get the memoisation (equal fingerprints are taken as
//! equal states). Without it the search is still exact but may revisit states; it gives up
//! after 20,000,000 configurations with an error that says so (never a pass). Only the
//! operations whose predecessors are all linearized are tried next.
//!
//! **P-compositionality**: when [`Spec::partition`] returns `Some(key)` for every operation
//! of a history (a map's operations by key), each key's sub-history is checked on its own
//! from `S::default()` — a history is linearizable iff each is, which holds when the spec's
//! state is a product of independent per-key states. One `None` checks the whole history
//! together.
//!
//! ## Many scenarios
//!
//! [`Scenario::random`] draws a scenario from a list of operations; [`check_batch`] (in a
//! plain `#[test]`) explores each scenario as its own model run and, on a failure, shrinks it
//! (drops lanes, then single operations, as long as the smaller scenario still fails) and
//! panics with the smallest failing scenario's report, the scenario itself, and a replay
//! line that names it (`HEISEN_LIN_SCENARIO`).
//!
//! ## Limits
//!
//! * Operations are synchronous closures. `async` operations (`|s, op| async move { .. }`)
//!   need an async runtime facade (`heisen::tokio`), which does not exist yet.
//! * loom allows 4 threads besides the main one: at most 4 lanes under loom.
//! * A lane that panics ends the execution with that panic (it is the failure, not a history).

mod report;
mod search;

use crate::runner::{Config, Failure};
use search::{Entry, History, Order, Verdict};
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;

/// A sequential specification: the object's behaviour when operations run one at a time.
///
/// The initial state is `Default::default()` (required by [`check`], together with `Clone`).
pub trait Spec {
    /// An operation (with its arguments).
    type Op;
    /// What an operation returns.
    type Ret;
    /// Applies `op` to the state and returns its result.
    fn apply(&mut self, op: &Self::Op) -> Self::Ret;
    /// The independent part of the state `op` touches (e.g. a map's key), or `None` when it
    /// may touch all of it. See the module docs (P-compositionality).
    fn partition(_op: &Self::Op) -> Option<u64> {
        None
    }
    /// A hash of the state for the search's memoisation: states with equal fingerprints are
    /// taken as equal. `None` (the default): no memoisation. With `#[derive(Hash)]`:
    /// `fn fingerprint(&self) -> Option<u64> { Some(lin::fingerprint_of(self)) }`.
    fn fingerprint(&self) -> Option<u64> {
        None
    }
}

/// A 64-bit hash of `value` (for [`Spec::fingerprint`]); stable within a process.
pub fn fingerprint_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// What [`check`] runs: an optional `init` prefix on the calling thread, one lane of
/// operations per spawned thread, an optional `post` suffix after the joins.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario<Op> {
    init: Vec<Op>,
    lanes: Vec<Vec<Op>>,
    post: Vec<Op>,
}

impl<Op> Scenario<Op> {
    /// One thread per lane, each running its operations in order.
    pub fn threads(lanes: Vec<Vec<Op>>) -> Self {
        Scenario {
            init: Vec::new(),
            lanes,
            post: Vec::new(),
        }
    }
    /// Operations run on the calling thread before the lanes are spawned.
    pub fn init(mut self, ops: Vec<Op>) -> Self {
        self.init = ops;
        self
    }
    /// Operations run on the calling thread after every lane was joined.
    pub fn post(mut self, ops: Vec<Op>) -> Self {
        self.post = ops;
        self
    }
    /// The lanes.
    pub fn lanes(&self) -> &[Vec<Op>] {
        &self.lanes
    }
    /// Number of operations in all.
    pub fn len(&self) -> usize {
        self.init.len() + self.post.len() + self.lanes.iter().map(Vec::len).sum::<usize>()
    }
    /// No operation at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<Op: Clone> Scenario<Op> {
    /// `threads` lanes of `ops_per_thread` operations each, drawn uniformly from `ops` by a
    /// generator seeded with `seed` (the same seed gives the same scenario).
    pub fn random(ops: &[Op], threads: usize, ops_per_thread: usize, seed: u64) -> Self {
        assert!(
            !ops.is_empty(),
            "Scenario::random: no operations to draw from"
        );
        let mut state = seed;
        let lanes = (0..threads)
            .map(|_| {
                (0..ops_per_thread)
                    .map(|_| ops[(splitmix64(&mut state) % ops.len() as u64) as usize].clone())
                    .collect()
            })
            .collect();
        Scenario::threads(lanes)
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<Op: Debug> std::fmt::Display for Scenario<Op> {
    /// As Rust code: `Scenario::threads(vec![vec![Push(1)], vec![Pop]]).post(vec![Pop])`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |ops: &[Op]| {
            let items: Vec<String> = ops.iter().map(|o| format!("{o:?}")).collect();
            format!("vec![{}]", items.join(", "))
        };
        let lanes: Vec<String> = self.lanes.iter().map(|l| list(l)).collect();
        write!(f, "Scenario::threads(vec![{}])", lanes.join(", "))?;
        if !self.init.is_empty() {
            write!(f, ".init({})", list(&self.init))?;
        }
        if !self.post.is_empty() {
            write!(f, ".post({})", list(&self.post))?;
        }
        Ok(())
    }
}

/// Lane number of the calling thread as the timeline names it (`T<n>`).
fn lane_here(fallback: usize) -> usize {
    #[cfg(feature = "model")]
    if crate::model::rt::recording() {
        return crate::model::rt::current_lane();
    }
    fallback
}

/// A `call`/`ret` row in the model's trace (nothing outside a model run).
fn mark(_row: impl FnOnce() -> String) {
    #[cfg(feature = "model")]
    if crate::model::rt::recording() {
        crate::model::rt::record(crate::model::rt::Op::Lin(_row()), None, None, None);
    }
}

fn order_here() -> Order {
    #[cfg(feature = "model")]
    if crate::model::rt::backend() == crate::model::rt::Backend::Loom {
        return Order::HappensBefore;
    }
    Order::RealTime
}

/// How `check` runs an operation on the object.
type OpFn<T, Op, Ret> = dyn Fn(&T, &Op) -> Ret + Send + Sync;

/// Runs one operation and records it.
fn run_one<T, Op: Debug, Ret: Debug>(
    obj: &T,
    run: &OpFn<T, Op, Ret>,
    op: Op,
    lane: usize,
    main: bool,
    clock: &AtomicU64,
) -> Entry<Op, Ret> {
    let call = clock.fetch_add(1, SeqCst);
    mark(|| format!("call {op:?}"));
    let ret = run(obj, &op);
    mark(|| format!("ret {ret:?}"));
    let ret_at = clock.fetch_add(1, SeqCst);
    Entry {
        lane,
        main,
        op,
        ret,
        call,
        ret_at,
    }
}

/// Runs `scenario` on a fresh object from `new`, each operation through `run`, and panics
/// with a report when the history is not linearizable with respect to the spec `S` (see the
/// module docs). Call it in a `#[heisen::model]` test: every explored execution is checked.
#[track_caller]
pub fn check<S, T>(
    new: impl Fn() -> T,
    run: impl Fn(&T, &S::Op) -> S::Ret + Send + Sync + 'static,
    scenario: Scenario<S::Op>,
) where
    S: Spec + Clone + Default,
    S::Op: Clone + Debug + Send + Sync + 'static,
    S::Ret: Clone + Debug + PartialEq + Send + 'static,
    T: Send + Sync + 'static,
{
    let run: Arc<OpFn<T, S::Op, S::Ret>> = Arc::new(run);
    let obj = Arc::new(new());
    let clock = Arc::new(AtomicU64::new(0));
    let me = lane_here(0);
    let mut entries = Vec::with_capacity(scenario.len());
    for op in scenario.init {
        entries.push(run_one(&*obj, &*run, op, me, true, &clock));
    }
    // A loop, not a closure: `spawn`'s row names the caller of `check` (`#[track_caller]`).
    let mut handles = Vec::with_capacity(scenario.lanes.len());
    for (i, ops) in scenario.lanes.into_iter().enumerate() {
        let (obj, run, clock) = (obj.clone(), run.clone(), clock.clone());
        handles.push(crate::thread::spawn(move || {
            let lane = lane_here(i + 1);
            ops.into_iter()
                .map(|op| run_one(&*obj, &*run, op, lane, false, &clock))
                .collect::<Vec<_>>()
        }));
    }
    for h in handles {
        match h.join() {
            Ok(lane) => entries.extend(lane),
            Err(p) => std::panic::resume_unwind(p),
        }
    }
    for op in scenario.post {
        entries.push(run_one(&*obj, &*run, op, me, true, &clock));
    }
    let history = History {
        entries,
        order: order_here(),
    };
    let started = std::time::Instant::now();
    let verdict = search::check::<S>(&history);
    CHECKER_NANOS.fetch_add(started.elapsed().as_nanos() as u64, SeqCst);
    CHECKED.fetch_add(1, SeqCst);
    match verdict {
        Verdict::Linearizable(_) => {}
        Verdict::NotLinearizable(v) => {
            let with_history = !cfg!(feature = "model") || !in_model();
            panic!("{}", report::violation(&history, &v, with_history))
        }
        Verdict::GaveUp(g) => panic!(
            "linearizability check gave up after {} configurations without deciding: implement \
             `Spec::fingerprint` (see heisen::lin) so that the search can memoise states, or \
             use a smaller scenario",
            report::group(g.configurations)
        ),
    }
}

static CHECKER_NANOS: AtomicU64 = AtomicU64::new(0);
static CHECKED: AtomicU64 = AtomicU64::new(0);

/// Histories checked by [`check`] in this process so far, and the time the checker took on
/// them (for the checking-cost bench in `tests/lin.rs`). Not public API.
#[doc(hidden)]
pub fn __checker_stats() -> (u64, std::time::Duration) {
    (
        CHECKED.load(SeqCst),
        std::time::Duration::from_nanos(CHECKER_NANOS.load(SeqCst)),
    )
}

fn in_model() -> bool {
    #[cfg(feature = "model")]
    {
        crate::model::rt::recording()
    }
    #[cfg(not(feature = "model"))]
    {
        false
    }
}

/// What [`batch`] explored when every scenario passed.
#[derive(Clone, Debug)]
pub struct BatchSummary {
    /// Scenarios run.
    pub scenarios: usize,
    /// Executions explored over all scenarios and backends.
    pub executions: u64,
}

/// One step of shrinking a scenario.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cut {
    Lane(usize),
    Op(usize, usize),
    Init(usize),
    Post(usize),
}

impl Cut {
    fn apply<Op: Clone>(self, s: &Scenario<Op>) -> Option<Scenario<Op>> {
        let mut s = s.clone();
        match self {
            Cut::Lane(l) if l < s.lanes.len() => {
                s.lanes.remove(l);
            }
            Cut::Op(l, i) if l < s.lanes.len() && i < s.lanes[l].len() => {
                s.lanes[l].remove(i);
                if s.lanes[l].is_empty() {
                    s.lanes.remove(l);
                }
            }
            Cut::Init(i) if i < s.init.len() => {
                s.init.remove(i);
            }
            Cut::Post(i) if i < s.post.len() => {
                s.post.remove(i);
            }
            _ => return None,
        }
        Some(s)
    }
    fn code(self) -> String {
        match self {
            Cut::Lane(l) => format!("l{l}"),
            Cut::Op(l, i) => format!("o{l}.{i}"),
            Cut::Init(i) => format!("i{i}"),
            Cut::Post(i) => format!("p{i}"),
        }
    }
    fn parse(s: &str) -> Option<Cut> {
        let (k, rest) = (s.get(..1)?, s.get(1..)?);
        Some(match k {
            "l" => Cut::Lane(rest.parse().ok()?),
            "i" => Cut::Init(rest.parse().ok()?),
            "p" => Cut::Post(rest.parse().ok()?),
            "o" => {
                let (l, i) = rest.split_once('.')?;
                Cut::Op(l.parse().ok()?, i.parse().ok()?)
            }
            _ => return None,
        })
    }
    /// Every single cut of `s`, the biggest reductions first.
    fn all<Op>(s: &Scenario<Op>) -> Vec<Cut> {
        let mut out: Vec<Cut> = (0..s.lanes.len()).map(Cut::Lane).collect();
        out.extend((0..s.post.len()).map(Cut::Post));
        out.extend((0..s.init.len()).map(Cut::Init));
        for (l, ops) in s.lanes.iter().enumerate() {
            out.extend((0..ops.len()).map(|i| Cut::Op(l, i)));
        }
        out
    }
}

/// Explores every scenario as its own model run under `cfg` (one run on real threads in a
/// normal build) and returns the summary, or the failure of the smallest failing scenario
/// the first failing one shrinks to (its report says which scenario, how it was shrunk, and
/// how to replay it). Call it outside a model run (a plain `#[test]`).
///
/// With `HEISEN_LIN_SCENARIO=<k>:<cuts>` (printed in a report) only the `k`-th scenario,
/// shrunk by those cuts, runs, without shrinking: with the printed `HEISEN_REPLAY` this
/// replays the reported execution.
pub fn batch<S, T>(
    cfg: &Config,
    new: impl Fn() -> T + Send + Sync + 'static,
    run: impl Fn(&T, &S::Op) -> S::Ret + Send + Sync + 'static,
    scenarios: impl IntoIterator<Item = Scenario<S::Op>>,
) -> Result<BatchSummary, Box<Failure>>
where
    S: Spec + Clone + Default + 'static,
    S::Op: Clone + Debug + Send + Sync + 'static,
    S::Ret: Clone + Debug + PartialEq + Send + 'static,
    T: Send + Sync + 'static,
{
    assert!(
        !in_model(),
        "heisen::lin::batch runs each scenario as its own model run: call it from a plain \
         #[test], not inside #[heisen::model]"
    );
    let new = Arc::new(new);
    let run = Arc::new(run);
    let explore = |s: &Scenario<S::Op>| {
        let (new, run, s) = (new.clone(), run.clone(), s.clone());
        crate::runner::check(cfg, move || {
            let run = run.clone();
            check::<S, T>(&*new, move |t: &T, op: &S::Op| run(t, op), s.clone())
        })
    };
    let mut scenarios: Vec<Scenario<S::Op>> = scenarios.into_iter().collect();
    let only = std::env::var("HEISEN_LIN_SCENARIO").ok();
    let mut fixed_cuts: Option<Vec<Cut>> = None;
    let first = match only.as_deref().and_then(|v| {
        let (k, cuts) = v.split_once(':').unwrap_or((v, ""));
        let cuts: Option<Vec<Cut>> = cuts
            .split(',')
            .filter(|c| !c.is_empty())
            .map(Cut::parse)
            .collect();
        Some((k.parse::<usize>().ok()?, cuts?))
    }) {
        Some((k, cuts)) if k < scenarios.len() => {
            fixed_cuts = Some(cuts);
            k
        }
        Some(_) | None if only.is_some() => panic!(
            "HEISEN_LIN_SCENARIO={:?}: expected <scenario index>:<cuts> as a report prints it, \
             for one of the {} scenarios",
            only.unwrap_or_default(),
            scenarios.len()
        ),
        _ => 0,
    };
    let mut executions = 0u64;
    let count = scenarios.len();
    for (k, slot) in scenarios.iter_mut().enumerate().skip(first) {
        let original = std::mem::replace(slot, Scenario::threads(Vec::new()));
        let mut current = original.clone();
        if let Some(cuts) = &fixed_cuts {
            for c in cuts {
                current = c.apply(&current).unwrap_or_else(|| {
                    panic!("HEISEN_LIN_SCENARIO: cut {} does not apply", c.code())
                });
            }
        }
        let mut failure = match explore(&current) {
            Ok(s) => {
                executions += s.runs.iter().map(|r| r.executions).sum::<u64>();
                if fixed_cuts.is_some() {
                    break;
                }
                continue;
            }
            Err(f) => f,
        };
        let mut cuts: Vec<Cut> = fixed_cuts.clone().unwrap_or_default();
        if fixed_cuts.is_none() {
            // Greedy shrinking: take the first smaller scenario that still fails, until none.
            'shrink: loop {
                for c in Cut::all(&current) {
                    let Some(smaller) = c.apply(&current) else {
                        continue;
                    };
                    if smaller.lanes.is_empty() {
                        continue;
                    }
                    if let Err(f) = explore(&smaller) {
                        current = smaller;
                        failure = f;
                        cuts.push(c);
                        continue 'shrink;
                    }
                }
                break;
            }
        }
        let codes: Vec<String> = cuts.iter().map(|c| c.code()).collect();
        let env = format!("HEISEN_LIN_SCENARIO='{k}:{}'", codes.join(","));
        let mut f = *failure;
        let head = format!(
            "heisen::lin: scenario #{k} of {count} is not linearizable; shrunk from {} to {} \
             operations:\n  {current}\n  (was {original})\n\n",
            original.len(),
            current.len()
        );
        let replay = if f.replay.is_empty() {
            env.clone()
        } else {
            format!("{env} {}", f.replay)
        };
        let body = if f.replay.is_empty() {
            format!(
                "{}\nreplay this scenario alone:\n  {env} cargo test -- --exact {}\n",
                f.report,
                cfg.test_filter()
            )
        } else {
            f.report.replace(&f.replay, &replay)
        };
        f.report = head + &body;
        f.replay = replay;
        return Err(Box::new(f));
    }
    Ok(BatchSummary {
        scenarios: count,
        executions,
    })
}

/// [`batch`] for a plain `#[test]`: the test's name (libtest's thread name) and default
/// [`Config`]; prints a summary line, panics with the report of the smallest failing scenario.
#[track_caller]
pub fn check_batch<S, T>(
    new: impl Fn() -> T + Send + Sync + 'static,
    run: impl Fn(&T, &S::Op) -> S::Ret + Send + Sync + 'static,
    scenarios: impl IntoIterator<Item = Scenario<S::Op>>,
) where
    S: Spec + Clone + Default + 'static,
    S::Op: Clone + Debug + Send + Sync + 'static,
    S::Ret: Clone + Debug + PartialEq + Send + 'static,
    T: Send + Sync + 'static,
{
    let name = std::thread::current()
        .name()
        .unwrap_or("lin_batch")
        .to_string();
    match batch::<S, T>(&Config::new(name.clone()), new, run, scenarios) {
        Ok(s) => println!(
            "heisen: {name}: lin: {} scenarios linearizable, {} executions explored",
            s.scenarios,
            report::group(s.executions)
        ),
        Err(f) => std::panic::panic_any(f.report),
    }
}

#[cfg(test)]
mod tests;
