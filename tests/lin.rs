//! `heisen::lin`: broken concurrent objects are reported as not linearizable without an
//! assertion in the test, their correct versions pass. Runs in normal builds (one run on real
//! threads per check) and in the model build (`cargo test --features heisen/model --test lin`,
//! also run by `tests/model_build.rs`), where each object is explored under both backends.

use heisen::lin::{self, Scenario, Spec};
use heisen::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use heisen::sync::Mutex;

// ------------------------------------------------------------------------- counter

#[derive(Clone, Debug, PartialEq)]
enum COp {
    Incr,
    Get,
}
#[derive(Clone, Debug, PartialEq)]
enum CRet {
    Done,
    Value(u64),
}
#[derive(Clone, Default, Hash)]
struct SeqCounter(u64);
impl Spec for SeqCounter {
    type Op = COp;
    type Ret = CRet;
    fn apply(&mut self, op: &COp) -> CRet {
        match op {
            COp::Incr => {
                self.0 += 1;
                CRet::Done
            }
            COp::Get => CRet::Value(self.0),
        }
    }
    fn fingerprint(&self) -> Option<u64> {
        Some(lin::fingerprint_of(self))
    }
}

struct Counter {
    n: AtomicU64,
    racy: bool,
}
impl Counter {
    fn incr(&self) {
        if self.racy {
            let v = self.n.load(SeqCst); // a load + a store: a lost update
            self.n.store(v + 1, SeqCst);
        } else {
            self.n.fetch_add(1, SeqCst);
        }
    }
}
fn counter(racy: bool) -> Counter {
    Counter {
        n: AtomicU64::new(0),
        racy,
    }
}
fn counter_op(c: &Counter, op: &COp) -> CRet {
    match op {
        COp::Incr => {
            c.incr();
            CRet::Done
        }
        COp::Get => CRet::Value(c.n.load(SeqCst)),
    }
}
#[cfg_attr(not(feature = "model"), allow(dead_code))] // used by the model-build tests
fn counter_racy() {
    lin::check::<SeqCounter, _>(
        || counter(true),
        counter_op,
        Scenario::threads(vec![vec![COp::Incr], vec![COp::Incr]]).post(vec![COp::Get]),
    );
}
fn counter_fetch_add() {
    lin::check::<SeqCounter, _>(
        || counter(false),
        counter_op,
        Scenario::threads(vec![vec![COp::Incr, COp::Get], vec![COp::Incr, COp::Get]])
            .post(vec![COp::Get]),
    );
}

// --------------------------------------------------------------------------- stack

#[derive(Clone, Debug, PartialEq)]
enum Op {
    Push(u32),
    Pop,
    Len,
}
#[derive(Clone, Debug, PartialEq)]
enum Ret {
    Pushed,
    Popped(Option<u32>),
    Len(usize),
}
/// The issue's spec shape: only `Clone + Default` (no fingerprint: no memoisation).
#[derive(Clone, Default)]
struct SeqStack(Vec<u32>);
impl Spec for SeqStack {
    type Op = Op;
    type Ret = Ret;
    fn apply(&mut self, op: &Op) -> Ret {
        match op {
            Op::Push(v) => {
                self.0.push(*v);
                Ret::Pushed
            }
            Op::Pop => Ret::Popped(self.0.pop()),
            Op::Len => Ret::Len(self.0.len()),
        }
    }
}

/// A `Mutex<Vec>` stack; with `racy_len`, its length is a separate counter updated after the
/// lock is released.
struct MyStack {
    items: Mutex<Vec<u32>>,
    len: AtomicUsize,
    racy_len: bool,
}
impl MyStack {
    fn new() -> Self {
        MyStack {
            items: Mutex::new(Vec::new()),
            len: AtomicUsize::new(0),
            racy_len: false,
        }
    }
    fn with_racy_len() -> Self {
        MyStack {
            racy_len: true,
            ..MyStack::new()
        }
    }
    fn push(&self, v: u32) {
        self.items.lock().unwrap().push(v);
        if self.racy_len {
            self.len.fetch_add(1, SeqCst);
        }
    }
    fn pop(&self) -> Option<u32> {
        let v = self.items.lock().unwrap().pop();
        if self.racy_len && v.is_some() {
            self.len.fetch_sub(1, SeqCst);
        }
        v
    }
    fn len(&self) -> usize {
        if self.racy_len {
            self.len.load(SeqCst)
        } else {
            self.items.lock().unwrap().len()
        }
    }
}
fn stack_op(s: &MyStack, op: &Op) -> Ret {
    match op {
        Op::Push(v) => {
            s.push(*v);
            Ret::Pushed
        }
        Op::Pop => Ret::Popped(s.pop()),
        Op::Len => Ret::Len(s.len()),
    }
}
fn stack_racy_len() {
    lin::check::<SeqStack, _>(
        MyStack::with_racy_len,
        stack_op,
        Scenario::threads(vec![vec![Op::Push(1)], vec![Op::Pop, Op::Len]]),
    );
}
fn stack_mutex() {
    lin::check::<SeqStack, _>(
        MyStack::new,
        stack_op,
        Scenario::threads(vec![vec![Op::Push(1), Op::Len], vec![Op::Pop, Op::Len]]),
    );
}
/// Two pops race for one element: one gets it, one gets `None` — always explainable.
fn stack_two_pops_of_one() {
    lin::check::<SeqStack, _>(
        MyStack::new,
        stack_op,
        Scenario::threads(vec![vec![Op::Pop], vec![Op::Pop]])
            .init(vec![Op::Push(7)])
            .post(vec![Op::Len]),
    );
}

// --------------------------------------------------------------------------- queue

#[derive(Clone, Debug, PartialEq)]
enum QOp {
    Enq(u64),
    Deq,
}
#[derive(Clone, Debug, PartialEq)]
enum QRet {
    Enqueued,
    Dequeued(Option<u64>),
}
#[derive(Clone, Default, Hash)]
struct SeqQueue(std::collections::VecDeque<u64>);
impl Spec for SeqQueue {
    type Op = QOp;
    type Ret = QRet;
    fn apply(&mut self, op: &QOp) -> QRet {
        match op {
            QOp::Enq(v) => {
                self.0.push_back(*v);
                QRet::Enqueued
            }
            QOp::Deq => QRet::Dequeued(self.0.pop_front()),
        }
    }
    fn fingerprint(&self) -> Option<u64> {
        Some(lin::fingerprint_of(self))
    }
}

/// Michael–Scott lock-free queue over an arena of nodes (index 0 is the initial dummy node;
/// `next == 0` is null; nodes are never reused, so there is no ABA). With `lose`, the enqueue
/// links its node with a check-then-store instead of a CAS: two racing enqueues can both see
/// a null `next`, and one node is overwritten — an element is lost.
struct MsQueue {
    vals: Vec<AtomicU64>,
    next: Vec<AtomicUsize>,
    alloc: AtomicUsize,
    head: AtomicUsize,
    tail: AtomicUsize,
    lose: bool,
}
const NIL: usize = 0;
impl MsQueue {
    fn new(lose: bool) -> Self {
        MsQueue {
            vals: (0..32).map(|_| AtomicU64::new(0)).collect(),
            next: (0..32).map(|_| AtomicUsize::new(NIL)).collect(),
            alloc: AtomicUsize::new(1),
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            lose,
        }
    }
    fn enqueue(&self, v: u64) {
        let n = self.alloc.fetch_add(1, SeqCst);
        self.vals[n].store(v, SeqCst);
        loop {
            let t = self.tail.load(SeqCst);
            let next = self.next[t].load(SeqCst);
            if t != self.tail.load(SeqCst) {
                continue;
            }
            if next != NIL {
                // help a lagging tail along
                let _ = self.tail.compare_exchange(t, next, SeqCst, SeqCst);
                continue;
            }
            let linked = if self.lose {
                self.next[t].store(n, SeqCst); // BUG: check-then-store, not a CAS
                true
            } else {
                self.next[t]
                    .compare_exchange(NIL, n, SeqCst, SeqCst)
                    .is_ok()
            };
            if linked {
                let _ = self.tail.compare_exchange(t, n, SeqCst, SeqCst);
                return;
            }
        }
    }
    fn dequeue(&self) -> Option<u64> {
        loop {
            let h = self.head.load(SeqCst);
            let t = self.tail.load(SeqCst);
            let next = self.next[h].load(SeqCst);
            if h != self.head.load(SeqCst) {
                continue;
            }
            if h == t {
                if next == NIL {
                    return None;
                }
                let _ = self.tail.compare_exchange(t, next, SeqCst, SeqCst);
                continue;
            }
            let v = self.vals[next].load(SeqCst);
            if self.head.compare_exchange(h, next, SeqCst, SeqCst).is_ok() {
                return Some(v);
            }
        }
    }
}
fn queue_op(q: &MsQueue, op: &QOp) -> QRet {
    match op {
        QOp::Enq(v) => {
            q.enqueue(*v);
            QRet::Enqueued
        }
        QOp::Deq => QRet::Dequeued(q.dequeue()),
    }
}
#[cfg_attr(not(feature = "model"), allow(dead_code))] // used by the model-build tests
fn queue_losing() {
    lin::check::<SeqQueue, _>(
        || MsQueue::new(true),
        queue_op,
        Scenario::threads(vec![vec![QOp::Enq(1)], vec![QOp::Enq(2)]])
            .post(vec![QOp::Deq, QOp::Deq]),
    );
}
fn queue_lock_free() {
    lin::check::<SeqQueue, _>(
        || MsQueue::new(false),
        queue_op,
        Scenario::threads(vec![
            vec![QOp::Enq(1), QOp::Deq],
            vec![QOp::Enq(2), QOp::Deq],
        ])
        .post(vec![QOp::Deq]),
    );
}

// ------------------------------------------------------------------ the issue's example

#[heisen::model]
fn stack_is_linearizable() {
    lin::check::<SeqStack, _>(
        MyStack::new, // the object under test, built per execution
        |s: &MyStack, op: &Op| match op {
            Op::Push(v) => {
                s.push(*v);
                Ret::Pushed
            }
            Op::Pop => Ret::Popped(s.pop()),
            Op::Len => Ret::Len(s.len()),
        },
        Scenario::threads(vec![vec![Op::Push(1), Op::Pop], vec![Op::Push(2), Op::Pop]]),
    );
}

#[heisen::model]
fn counter_with_fetch_add_is_linearizable() {
    counter_fetch_add();
}

#[heisen::model]
fn mutex_stack_is_linearizable() {
    stack_mutex();
}

#[heisen::model]
fn two_pops_of_one_element_are_always_explainable() {
    stack_two_pops_of_one();
}

#[heisen::model]
fn michael_scott_queue_is_linearizable() {
    queue_lock_free();
}

/// The guide's example (the README shows its report).
#[heisen::model(shuttle)]
#[should_panic(expected = "not linearizable")]
#[cfg_attr(not(feature = "model"), ignore = "the race needs the model build")]
fn stack_with_racy_len() {
    stack_racy_len();
}

// ------------------------------------------------------ deterministic, in every build

/// A "stack" that pops the oldest element: wrong even on one thread, so a normal build's
/// single run on real threads must report it too, with the history itself.
struct Fifo(Mutex<std::collections::VecDeque<u32>>);

#[test]
fn a_sequentially_wrong_object_is_reported_with_its_history_in_every_build() {
    let r = std::panic::catch_unwind(|| {
        lin::check::<SeqStack, _>(
            || Fifo(Mutex::new(Default::default())),
            |s: &Fifo, op: &Op| match op {
                Op::Push(v) => {
                    s.0.lock().unwrap().push_back(*v);
                    Ret::Pushed
                }
                Op::Pop => Ret::Popped(s.0.lock().unwrap().pop_front()),
                Op::Len => Ret::Len(s.0.lock().unwrap().len()),
            },
            Scenario::threads(vec![vec![Op::Len]])
                .init(vec![Op::Push(1), Op::Push(2)])
                .post(vec![Op::Pop]),
        )
    });
    let msg = *r.expect_err("must panic").downcast::<String>().unwrap();
    for want in [
        "not linearizable: no sequential order",
        "     1  T0 │ call Push(1)",
        "     2  T0 │ ret Pushed",
        "T1 │     call Len",
        "the longest prefix a sequential order explains (3 of 4 operations):",
        "  T0 Pop returned Popped(Some(1)), the spec returns Popped(Some(2))",
    ] {
        assert!(msg.contains(want), "missing {want:?} in:\n{msg}");
    }
}

#[test]
fn correct_objects_pass_on_real_threads() {
    counter_fetch_add();
    stack_mutex();
    stack_two_pops_of_one();
    queue_lock_free();
    stack_is_linearizable();
}

#[test]
fn random_scenarios_are_reproducible_and_shaped_as_asked() {
    let ops = [Op::Push(1), Op::Push(2), Op::Pop, Op::Len];
    let a = Scenario::random(&ops, 3, 4, 42);
    assert_eq!(a, Scenario::random(&ops, 3, 4, 42));
    assert_eq!(a.lanes().len(), 3);
    assert!(a.lanes().iter().all(|l| l.len() == 4));
    assert_ne!(a, Scenario::random(&ops, 3, 4, 43));
    // Over many seeds every operation is drawn.
    let all: Vec<Op> = (0..20)
        .flat_map(|s| Scenario::random(&ops, 2, 2, s).lanes().concat())
        .collect();
    assert!(ops.iter().all(|o| all.contains(o)));
}

// ------------------------------------------------------------------ model build only

#[cfg(feature = "model")]
mod model {
    use super::*;
    use heisen::runner::{check, Config, Failure};

    fn expect_not_linearizable(name: &str, cfg: Config, body: fn()) -> Box<Failure> {
        match check(&cfg, body) {
            Ok(s) => panic!("{name}: expected a linearizability violation, but it passed:\n{s}"),
            Err(f) => {
                assert_eq!(f.kind, "not linearizable", "{name}:\n{}", f.report);
                assert!(f.report.contains("call "), "{name}:\n{}", f.report);
                assert!(f.report.contains("ret "), "{name}:\n{}", f.report);
                assert!(
                    f.report
                        .contains("after it, no operation's recorded result is the spec's")
                        || f.report.contains("no operation can come first"),
                    "{name}:\n{}",
                    f.report
                );
                assert!(f.report.contains("replay ("), "{name}:\n{}", f.report);
                f
            }
        }
    }

    fn both(name: &str, body: fn()) -> [Box<Failure>; 2] {
        [
            expect_not_linearizable(name, Config::new(name).loom_only(), body),
            expect_not_linearizable(name, Config::new(name).shuttle_only(), body),
        ]
    }

    #[test]
    fn a_load_store_counter_is_not_linearizable_under_both_backends() {
        for f in both("counter_racy", counter_racy) {
            assert!(
                f.report
                    .contains("T0 Get returned Value(1), the spec returns Value(2)"),
                "{}",
                f.report
            );
        }
    }

    #[test]
    fn a_stack_with_a_racy_len_is_not_linearizable_under_both_backends() {
        for f in both("stack_racy_len", stack_racy_len) {
            assert!(
                f.report.contains(&format!(
                    "Len returned Len({}), the spec returns Len(0)",
                    usize::MAX
                )),
                "{}",
                f.report
            );
        }
    }

    #[test]
    fn a_queue_that_loses_an_element_is_not_linearizable_under_both_backends() {
        for f in both("queue_losing", queue_losing) {
            assert!(
                f.report.contains("T0 Deq returned Dequeued("),
                "{}",
                f.report
            );
        }
    }

    #[test]
    fn the_report_interleaves_call_and_ret_rows_with_the_facade_rows() {
        let f = expect_not_linearizable(
            "counter_racy",
            Config::new("counter_racy").shuttle_only(),
            counter_racy,
        );
        let rows: Vec<&str> = f.report.lines().filter(|l| l.contains(" │ ")).collect();
        let pos = |needle: &str| {
            rows.iter()
                .position(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no row {needle:?} in:\n{}", f.report))
        };
        // T1's call, then its load, then its ret: the operation's facade rows are inside it.
        let call = pos("T1 │     call Incr");
        let load = rows
            .iter()
            .position(|l| l.contains("T1 │     load n ="))
            .unwrap();
        let ret = pos("T1 │     ret Done");
        assert!(call < load && load < ret, "{}", f.report);
        assert!(f.report.contains("HEISEN_REPLAY='shuttle:"), "{}", f.report);
    }

    #[test]
    fn the_correct_versions_pass_under_both_backends() {
        for (name, body) in [
            ("counter_fetch_add", counter_fetch_add as fn()),
            ("stack_mutex", stack_mutex),
            ("stack_two_pops_of_one", stack_two_pops_of_one),
            ("queue_lock_free", queue_lock_free),
        ] {
            for cfg in [
                Config::new(name).loom_only(),
                Config::new(name).shuttle_only(),
            ] {
                if let Err(f) = check(&cfg, body) {
                    panic!("{name} must pass:\n{}", f.report);
                }
            }
        }
    }

    #[test]
    fn a_batch_finds_the_racy_counter_and_shrinks_it_to_two_increments() {
        let ops = [COp::Incr, COp::Get];
        let cfg = Config::new("lin::batch").shuttle_only();
        let f = lin::batch::<SeqCounter, _>(
            &cfg,
            || counter(true),
            counter_op,
            (0..8).map(|seed| Scenario::random(&ops, 2, 3, seed)),
        )
        .expect_err("the racy counter must fail");
        assert!(
            f.report.starts_with("heisen::lin: scenario #"),
            "{}",
            f.report
        );
        // The smallest failing scenario: one increment per lane and a read.
        let shrunk = f.report.lines().nth(1).unwrap().trim();
        let lanes = shrunk.matches("vec![").count() - 1;
        assert_eq!(lanes, 2, "{}", f.report);
        assert_eq!(shrunk.matches("Incr").count(), 2, "{}", f.report);
        assert_eq!(shrunk.matches("Get").count(), 1, "{}", f.report);
        assert!(
            f.replay.starts_with("HEISEN_LIN_SCENARIO='"),
            "{}",
            f.replay
        );
        assert!(f.replay.contains("HEISEN_REPLAY='shuttle:"), "{}", f.replay);
        // The correct counter passes the same batch.
        let s = lin::batch::<SeqCounter, _>(
            &cfg,
            || counter(false),
            counter_op,
            (0..8).map(|seed| Scenario::random(&ops, 2, 3, seed)),
        )
        .expect("fetch_add counter is linearizable");
        assert_eq!(s.scenarios, 8);
    }

    /// The README's report of the guide example is the captured one
    /// (`UPDATE_TIMELINES=1 cargo test --features heisen/model --test lin` rewrites it).
    #[test]
    fn readme_report_is_current() {
        if std::env::var_os("HEISEN_SEED").is_some() || std::env::var_os("HEISEN_BACKEND").is_some()
        {
            return;
        }
        let report = heisen::runner::capture_report(stack_with_racy_len).expect("a failure");
        let want: String = report
            .lines()
            .map(|l| format!("{}\n", l.trim_end()))
            .collect();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let text = std::fs::read_to_string(path).unwrap();
        let marker = "<!-- lin-report: stack_with_racy_len -->\n```text\n";
        let start = text.find(marker).expect("README has the lin report block") + marker.len();
        let end = start + text[start..].find("```\n").expect("closed block");
        if text[start..end] == want {
            return;
        }
        if std::env::var("UPDATE_TIMELINES").is_ok_and(|v| v == "1") {
            std::fs::write(path, format!("{}{want}{}", &text[..start], &text[end..])).unwrap();
            return;
        }
        panic!(
            "README.md's lin report is outdated; run UPDATE_TIMELINES=1 cargo test --features \
             heisen/model --test lin and read the diff. Captured:\n{want}"
        );
    }
}

// ------------------------------------------------------------------------- bench

#[cfg_attr(not(feature = "model"), allow(dead_code))] // used by the model-build tests
#[derive(Clone, Debug, PartialEq)]
enum MOp {
    Put(u64, u64),
    Get(u64),
}
#[cfg_attr(not(feature = "model"), allow(dead_code))] // used by the model-build tests
#[derive(Clone, Default, Hash)]
struct SeqMap(std::collections::BTreeMap<u64, u64>);
impl Spec for SeqMap {
    type Op = MOp;
    type Ret = Option<u64>;
    fn apply(&mut self, op: &MOp) -> Option<u64> {
        match op {
            MOp::Put(k, v) => self.0.insert(*k, *v),
            MOp::Get(k) => self.0.get(k).copied(),
        }
    }
    fn partition(op: &MOp) -> Option<u64> {
        match op {
            MOp::Put(k, _) | MOp::Get(k) => Some(*k),
        }
    }
    fn fingerprint(&self) -> Option<u64> {
        Some(lin::fingerprint_of(self))
    }
}

/// Checking cost: the checker's share of a model run, per history shape. Run with
/// `cargo test --release --features heisen/model --test lin -- --ignored --nocapture bench`.
#[cfg(feature = "model")]
#[test]
#[ignore = "a bench: prints the checker's time as a ratio to the model run"]
fn bench_checker_time_against_the_model_run() {
    use heisen::runner::{check, Config};
    use std::time::{Duration, Instant};
    fn measure(label: &str, cfg: Config, body: impl Fn() + Send + Sync + 'static) {
        let (h0, t0) = lin::__checker_stats();
        let start = Instant::now();
        let s = check(&cfg, body).unwrap_or_else(|f| panic!("{label} must pass:\n{}", f.report));
        let total = start.elapsed();
        let (h1, t1) = lin::__checker_stats();
        let (histories, checker) = (h1 - h0, t1 - t0);
        let executions: u64 = s.runs.iter().map(|r| r.executions).sum();
        println!(
            "{label:<44} {:>7} executions  checker {:>9.1?}/history  {:>6.3}× the model run ({:.2?} of {:.2?})",
            executions,
            checker / histories.max(1) as u32,
            checker.as_secs_f64() / total.as_secs_f64(),
            checker,
            total
        );
    }
    let ops = [QOp::Enq(1), QOp::Enq(2), QOp::Deq];
    for (threads, per) in [(2, 2), (2, 6), (3, 4), (4, 2), (4, 6)] {
        let scenario = Scenario::random(&ops, threads, per, 7).post(vec![QOp::Deq]);
        for (backend, cfg) in [
            ("shuttle", Config::new("bench").shuttle_only()),
            ("loom", Config::new("bench").loom_only()),
        ] {
            let mut cfg = cfg;
            cfg.iterations = 200;
            cfg.timeout = Duration::from_secs(10);
            let sc = scenario.clone();
            measure(
                &format!("MS queue {threads} threads × {per} ops, {backend}"),
                cfg,
                move || {
                    lin::check::<SeqQueue, _>(|| MsQueue::new(false), queue_op, sc.clone());
                },
            );
        }
    }
    // 1,000 operations (4 lanes × 250) on a Mutex<HashMap> over 16 keys, partitioned by key.
    let mut cfg = Config::new("bench").shuttle_only();
    cfg.iterations = 10;
    let mut seed = 11u64;
    let map_ops: Vec<MOp> = (0..32)
        .map(|i| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if i % 2 == 0 {
                MOp::Put(seed >> 60, i)
            } else {
                MOp::Get(seed >> 60)
            }
        })
        .collect();
    let scenario = Scenario::random(&map_ops, 4, 250, 3);
    measure(
        "map 4 threads × 250 ops, partitioned, shuttle",
        cfg,
        move || {
            lin::check::<SeqMap, _>(
                || Mutex::new(std::collections::HashMap::new()),
                |m: &Mutex<std::collections::HashMap<u64, u64>>, op: &MOp| match op {
                    MOp::Put(k, v) => m.lock().unwrap().insert(*k, *v),
                    MOp::Get(k) => m.lock().unwrap().get(k).copied(),
                },
                scenario.clone(),
            );
        },
    );
}

/// In every build: a batch finds the sequentially wrong "stack" and shrinks the failing
/// scenario to the two pushes and the pop that show it.
#[test]
fn a_batch_shrinks_a_failure_to_the_smallest_failing_scenario() {
    let fifo = || Fifo(Mutex::new(Default::default()));
    let run = |s: &Fifo, op: &Op| match op {
        Op::Push(v) => {
            s.0.lock().unwrap().push_back(*v);
            Ret::Pushed
        }
        Op::Pop => Ret::Popped(s.0.lock().unwrap().pop_front()),
        Op::Len => Ret::Len(s.0.lock().unwrap().len()),
    };
    let cfg = heisen::runner::Config::new("lin::fifo_batch");
    let ops = [Op::Push(1), Op::Push(2), Op::Pop, Op::Len];
    let f = lin::batch::<SeqStack, _>(
        &cfg,
        fifo,
        run,
        (0..30).map(|seed| Scenario::random(&ops, 1, 6, seed)),
    )
    .expect_err("a FIFO is not a stack");
    let shrunk = f.report.lines().nth(1).unwrap().trim();
    assert_eq!(shrunk.matches("Push(").count(), 2, "{}", f.report);
    assert_eq!(shrunk.matches("Pop").count(), 1, "{}", f.report);
    assert_eq!(shrunk.matches("Len").count(), 0, "{}", f.report);
    assert!(
        f.replay.starts_with("HEISEN_LIN_SCENARIO='"),
        "{}",
        f.report
    );
    assert!(f.report.contains("not linearizable"), "{}", f.report);
}
