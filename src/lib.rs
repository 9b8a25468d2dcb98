//! # heisen: write a concurrency test once, explore it with loom and shuttle
//!
//! Code under test uses heisen's facade instead of `std`:
//!
//! | instead of | use |
//! |---|---|
//! | `std::sync::{Arc, Weak, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, Condvar, WaitTimeoutResult, Barrier, BarrierWaitResult, Once, OnceState, OnceLock, LazyLock, mpsc}` (+ `LockResult`, `TryLockResult`, `PoisonError`, `TryLockError`) | [`heisen::sync`](sync) |
//! | `std::sync::atomic::{AtomicBool, AtomicI8..AtomicU64, AtomicIsize, AtomicUsize, AtomicPtr, Ordering, fence, compiler_fence}` | [`heisen::sync::atomic`](sync::atomic) |
//! | `std::thread::{spawn, scope, current, park, park_timeout, sleep, yield_now, panicking, available_parallelism, Builder, JoinHandle, Scope, ScopedJoinHandle, Thread, ThreadId, LocalKey, AccessError, Result}` | [`heisen::thread`](thread) |
//! | `std::thread_local!`, `lazy_static::{lazy_static!, initialize}` | [`heisen::thread_local!`](thread_local), [`heisen::lazy_static!`](macro@lazy_static), [`heisen::lazy_static::initialize`](lazy_static::initialize) — see [Statics](#statics) |
//! | `std::cell::UnsafeCell` | [`heisen::cell::UnsafeCell`](cell::UnsafeCell) (loom's API: `with` / `with_mut`, `get` / `get_mut` returning [`ConstPtr`](cell::ConstPtr) / [`MutPtr`](cell::MutPtr)) |
//! | `std::hint::spin_loop` | [`heisen::hint::spin_loop`](hint::spin_loop) |
//! | `std::alloc::{alloc, alloc_zeroed, dealloc, Layout}`, loom's `alloc::Track` | [`heisen::alloc`](alloc) (leaks reported under loom) |
//! | `std::time::{SystemTime, UNIX_EPOCH, SystemTimeError, Duration, Instant}` | [`heisen::time`](time) (in model runs `Instant` is the model's clock and each thread's `SystemTime::now()` is skewed, see [Clock skew](#clock-skew-heisentime)) |
//! | (nothing: a statement of intent) | [`#[heisen::critical]`](macro@critical), [`heisen::critical_section!`](critical_section) — see [Critical sections](#critical-sections-heisencritical) |
//! | an executor's `block_on` / `spawn` | [`heisen::future::block_on`](future::block_on), [`heisen::future::spawn`](future::spawn) |
//! | `tokio::{spawn, select!, join!, try_join!, pin!}`, `tokio::task::{JoinHandle, JoinError, JoinSet, yield_now}`, `tokio::sync::{Mutex, RwLock, Semaphore, Notify, Barrier, mpsc, oneshot, watch}`, `tokio::time::{sleep, sleep_until, timeout, interval, Instant, Duration, error::Elapsed}` | `heisen::tokio` (cargo feature `tokio`; tokio's own items in normal builds, modelled tasks and virtual time in model builds: see the module's docs and the README's conformance table) |
//! | a real network between machines (sockets, RPC) | [`heisen::net`](net): a simulated network of named nodes whose delivery order, delays, timeouts, partitions and faults the model explores |
//!
//! Every item has std's signature in both builds (`tests/parity.rs` assigns each one to a
//! `fn` pointer of std's type and is compiled in the normal and in the model build), with the
//! exceptions listed under *Limits* below.
//!
//! In a normal build these **are** `std` (re-exports; `UnsafeCell` is an `#[inline]` newtype),
//! so production code pays nothing and needs no `cfg` of its own.
//!
//! ## Writing a model test
//!
//! ```
//! use heisen::sync::atomic::{AtomicU64, Ordering::SeqCst};
//! use heisen::sync::Arc;
//! use heisen::thread;
//!
//! #[heisen::model]
//! fn two_withdrawals() {
//!     let balance = Arc::new(AtomicU64::new(100));
//!     let hs: Vec<_> = (0..2)
//!         .map(|_| {
//!             let balance = balance.clone();
//!             thread::spawn(move || {
//!                 // one atomic read-modify-write: no lost update (a load + store would be one)
//!                 balance.fetch_sub(50, SeqCst);
//!             })
//!         })
//!         .collect();
//!     for h in hs {
//!         h.join().unwrap();
//!     }
//!     assert_eq!(balance.load(SeqCst), 0);
//! }
//! ```
//!
//! `#[heisen::model]` replaces `#[test]` (keep other attributes such as `#[should_panic]` or
//! `#[ignore]`; `async fn` bodies run under [`future::block_on`], or with the `tokio` feature as
//! a tokio test, see `heisen::tokio`; inner attributes such as
//! `#![allow(..)]` at the top of the body apply to the body). `#[should_panic]` (all three of
//! libtest's forms) is honoured by heisen itself rather than by libtest: the test passes when
//! the model finds a failure whose report contains the `expected` text, and a test skipped by
//! `HEISEN_BACKEND` is `ok` whether or not it expects a failure. In a **model build** it runs
//! the body under **shuttle** (random, then PCT scheduling; scales to bigger tests, and its
//! counterexamples are plain interleavings) and then under **loom** (exhaustive within a
//! preemption bound, including weak-memory behaviours: a `Relaxed` publication is caught, and
//! unsynchronized [`cell::UnsafeCell`] accesses are reported as data races). In a normal build
//! it runs the body once on real threads (a smoke test).
//!
//! Limits to know:
//! * Objects must be created *inside* the test body: the backend of an object is chosen when
//!   it is constructed. An object built before the run (a `static` with a `const`
//!   constructor in a normal build, an object shared from outside) is plain `std`, and using
//!   it inside a model run is an **error** naming its construction site (`heisen: this Mutex
//!   was created outside the model run (at src/lib.rs:12:5) …`), never a silent std object.
//!   In model builds the constructors are not `const` (as in loom): model a `static` with
//!   [`heisen::lazy_static!`](macro@lazy_static) or [`sync::LazyLock`] (see [Statics](#statics)).
//! * [`sync::Arc`] / [`sync::Weak`] are std's in normal builds. In model builds, inside a
//!   **loom** run, an `Arc`'s reference count is modelled: every drop is a loom release and the
//!   last drop (like `get_mut`, `try_unwrap`, `Weak::upgrade`) an acquire, as std's
//!   `fetch_sub(Release)` + `fence(Acquire)`, so the last owner's drop *happens after* every
//!   other owner's use; a leaked allocation (an `Arc` cycle) is reported by loom (`Allocation
//!   leaked`); and loom explores as many executions as with its own `Arc` (a clone is not a
//!   scheduling point, as loom's `Arc` treats clones as independent of drops; with a
//!   preemption bound the counts can differ slightly, since loom's `Arc` counts a clone as a
//!   preemption point). Under shuttle (whose `Arc` is std's) and outside runs the count is
//!   std's. Cost: two words per `Arc` and one loom operation per drop under loom. Not
//!   available: unsized coercion (`let a: Arc<dyn Tr> = Arc::new(x)` needs the unstable
//!   `CoerceUnsized`; loom's own `Arc` has the same limit): build it with
//!   `Arc::from(Box::new(x) as Box<dyn Tr>)` or `Arc::from(std_arc)`, which compile in both
//!   builds. `Arc::into_raw`/`from_raw` keep the modelled count (by address). An `Arc` built
//!   outside the run keeps std's count inside it (the objects it holds are guarded on their
//!   own, see above).
//! * **Frees of data are accesses** under loom: dropping a facade `UnsafeCell` is a write
//!   access, so freeing memory (a `Box` dropped when a hand-rolled refcount hits zero, a
//!   channel slot) while another thread's last access to the cell is not ordered before the
//!   free is reported as a data race (loom's own types do not check this). Dropping a facade
//!   *atomic* is not an access (as in loom): atomics are often shared through
//!   `std::sync::Arc`, whose synchronization loom cannot see, and checking their free made
//!   loom's own `fence.rs` / `yield.rs` tests fail falsely. So a refcount bug is found through
//!   the data it frees (an `UnsafeCell`), not through the count itself. Memory without a facade
//!   cell in it is not tracked; [`heisen::alloc`](alloc) (loom's `alloc` API) reports leaked
//!   raw allocations and `Track`ed values. Share facade cells through
//!   [`heisen::sync::Arc`](sync::Arc), not `std::sync::Arc`: loom cannot see std's `Arc`
//!   synchronize, so a std `Arc`'s last drop of an `UnsafeCell` on another thread (not joined
//!   before) frees it in a way loom calls a data race.
//! * Timed waits (`Condvar::wait_timeout[_while]`, `Receiver::recv_timeout`) **never time
//!   out** inside a model run (neither backend models timers; this is loom's and shuttle's own
//!   semantics): they are waits whose result says `timed_out() == false`. `thread::sleep` and
//!   `park_timeout` are yields that advance the model's monotonic clock ([`time::Instant`]) by
//!   the duration (a `park_timeout` returns at once: a spurious wakeup, which std allows).
//!   `thread::park` may also return spuriously.
//! * `sync_channel` under loom (which has none) is a bounded queue under a loom `Mutex` +
//!   `Condvar`; loom explores it as any locked queue.
//! * [`thread::scope`] is modelled by shuttle; loom has no scoped threads, so inside a loom
//!   run it panics with an explanation: mark such tests `#[heisen::model(shuttle)]`.
//! * `UnsafeCell` data races are detected by loom only; shuttle records the accesses.
//! * Atomics: `fetch_update` is recorded step by step (`fetch_update: load ..`, then each CAS
//!   attempt with its success or failure and values). `get_mut` works on std and shuttle
//!   objects; loom's atomics have none, so inside a loom run it panics (use `load`/`store`:
//!   with `&mut` no other thread can race them). `as_ptr` exists for std objects only (loom
//!   and shuttle keep the value in their own state): inside a model run it panics with an
//!   explanation. The deprecated `compare_and_swap` is a `compare_exchange` with std's
//!   failure ordering. Not offered: `from_ptr` (a model atomic cannot live at a user address).
//! * `Mutex::is_poisoned` / `RwLock::is_poisoned` are always `false` under loom (loom never
//!   poisons): locking a mutex whose holder panicked fails inside loom's `lock` (it unwraps
//!   the `PoisonError` itself) where std and shuttle return `Err(PoisonError)`. The failure is
//!   the locking thread's, at its `lock` line; the row shows the lock as not acquired.
//! * A `LazyLock` is initialised once per execution, so a `static` one runs its initialiser
//!   in every execution: a `static`'s initialiser owns nothing (a `fn` or a closure without
//!   captures), and each execution calls a copy of it. An initialiser that owns data
//!   (`F: FnOnce`, as std allows: a `move` closure) runs once, as std's; a `LazyLock` holding
//!   one lives in one execution (it is created in the body), and forcing it again in a later
//!   execution panics with an explanation.
//! * `JoinHandle::is_finished` inside a model run is a check of whether the thread's closure
//!   returned, not a scheduling point; join to synchronize with the thread.
//! * loom 0.7 models `SeqCst` more weakly than Rust (C++20) does: it can run an execution that
//!   is not sequentially consistent although every atomic operation in it is `SeqCst` (store
//!   buffering with `SeqCst` stores and loads: both loads read 0), which no real run of a
//!   program whose atomics are all `SeqCst` and that has no data race can produce. When loom
//!   fails in such an execution, the report says so in a `note:` naming the load and the
//!   store that make it not sequentially consistent, and whether shuttle (whose schedules are
//!   all sequentially consistent) passed the body: the failure may be loom's alone.
//! * What a backend cannot express is said in its summary line whenever the test used it:
//!   loom's `Condvar::notify_one` always wakes the *first* waiter (shuttle explores which
//!   waiter wakes): `…, Condvar::notify_one always wakes the first waiter under loom …`;
//!   shuttle runs every atomic as `SeqCst` (a `Relaxed`/`Acquire`/`Release` bug is loom's to
//!   find): `…, every atomic ran as SeqCst (weak-memory behaviours of the weaker orderings used
//!   are loom's job)`; shuttle never polls a future spuriously (a future that is only correct
//!   when polled exactly once per wake-up passes there): `…, futures are never polled
//!   spuriously under shuttle`.
//! * A panic caught inside the model (`std::panic::catch_unwind`) is not a failure: only a
//!   panic that ends the execution is. The timeline shows the caught one as `panic (caught,
//!   the execution went on)` and goes on; the report's thread, `at:` and message name the panic
//!   that ended the execution.
//!
//! Arguments (all optional; invalid ones are compile errors):
//!
//! | argument | meaning | default | why |
//! |---|---|---|---|
//! | `loom` / `shuttle` | run only that backend | both | |
//! | `preemption_bound = N` | loom: max preemptions per execution | 2 | nearly all real bugs need ≤ 2 preemptions (CHESS); keeps loom to seconds in CI |
//! | `max_branches = N` | loom: max branch points per execution (exceeding it fails the test) | 1,000 | loom's default |
//! | `iterations = N` | shuttle: schedules per strategy (random, then PCT) | 1,000 | ~ms per schedule for small tests |
//! | `pct_depth = N` | shuttle: PCT bug depth | 3 | shuttle's recommended depth |
//! | `seed = N` | shuttle: base seed | `HEISEN_SEED`, else a stable hash of the test name | CI runs are reproducible |
//! | `timeout = "30s"` | time budget per backend (`ms`, `s`, `m`) | `"60s"` | |
//! | `clock_skew = "50ms"` | bound of each thread's wall-clock skew in [`heisen::time`](time) (`ns`, `us`, `ms`, `s`) | no skew | see [Clock skew](#clock-skew-heisentime) |
//! | `net_faults = "drop, duplicate, reorder"` | network faults [`heisen::net`](net) may inject (any non-empty subset) | none: reliable, FIFO per pair, arbitrary delay | see [`net`] |
//! | `max_net_faults = N` | how often each enabled fault kind may strike per execution (needs `net_faults`) | 2 | keeps loom tractable |
//! | `max_early_timers = N` | how many `heisen::tokio` timers may fire early per execution (an explored choice at an await point where a task can still run); `0` = only when no task can run | 1 | loom: one oracle thread, then about one more execution per await point where a timer could fire |
//!
//! Exploration is never a silent pass: every run prints what it explored, e.g.
//! `shuttle: 1,000 random + 1,000 PCT(depth 3) schedules, seed … — bounded` and
//! `loom: 1,194 executions, preemption bound 2 — bounded`, and a time limit that cut a run
//! short says `time limit 60s reached` (loom's own `max_duration` would end in a silent pass).
//! The lines are captured by the test harness; see them with `--nocapture`, or as a table with
//! `cargo heisen model`. Exceeding `max_branches` fails the test (loom panics).
//!
//! `— complete` means every distinct execution was explored and no bound cut any; `— bounded`
//! means a bound may have left executions out, and the line names it (the preemption bound,
//! shuttle's sampling, the time limit). Precisely, a run is `complete` when:
//! * loom ran with no preemption bound ([`runner::Config::preemption_bound`] `(None)`) and
//!   within the time limit; or
//! * loom explored exactly one execution under a bound of at least 1 (`loom: 1 execution,
//!   preemption bound 2 (no other schedule to explore) — complete`): loom's first execution
//!   never preempts, and the bound only drops alternatives of an execution that used all its
//!   preemptions, so an unbounded loom run explores that one execution too; or
//! * shuttle's first execution made no choice at all — no two threads were ever runnable
//!   together and nothing asked for a random value — so every schedule is that execution:
//!   `shuttle: 1 execution, no concurrency — complete` (and PCT, which needs two runnable
//!   threads, is not run). A body with no concurrency passes; it is never a failure.
//!
//! Shuttle's sampling is always `bounded`. A body that only makes random choices
//! ([`choose`]) runs all its random schedules and skips PCT (`PCT stopped: no two threads were
//! ever runnable together`). A loom run that explored one execution of two or more threads
//! warns: `warning: loom: 1 execution for 2 threads — the threads never overlapped; is the
//! test shaped to race?` (the reader ran entirely before the writer, or the threads share
//! nothing: such a test rarely checks what it means to).
//!
//! ## Selecting a model build
//!
//! The model build is the cargo feature **`heisen/model`**:
//!
//! ```text
//! cargo heisen model                          # every #[heisen::model] test, with a summary
//! cargo test --features heisen/model          # the same through plain cargo
//! ```
//!
//! The feature links loom and shuttle and turns the facade types into thin dispatchers: an
//! object created inside a loom run is a loom object, inside a shuttle run a shuttle object, and
//! anywhere else (ordinary `#[test]`s in the same binary) a `std` object, chosen at construction
//! by a thread-local runtime switch. Your crate never names a `cfg`, so it gets no
//! `unexpected_cfgs` warnings, and a feature (unlike `RUSTFLAGS=--cfg`) does not rebuild the
//! whole dependency tree when toggled.
//!
//! ## When a model test fails
//!
//! The test panics with a report: a timeline of the failing execution, one row per facade
//! operation, indented per thread (T0 = the test body, T1.. = spawned threads in spawn order),
//! with the value read or written, the memory ordering, the source location and the source
//! text of that line; then the failure (kind, thread, location, message) and the replay
//! recipe. A lost update reads like:
//!
//! ```text
//! heisen: accounts::two_withdrawals FAILED under shuttle (random scheduler, seed …) in execution #1
//!
//! timeline of the failing execution (one row per step; lanes indented per thread):
//!   threads: T0 (main) T1
//!      1  T0 │ spawn T1                         tests/accounts.rs:27  │ let t = thread::spawn(move || a2.withdraw(50));
//!      2  T1 │     load balance = 100 (SeqCst)  tests/accounts.rs:18  │ let b = balance.load(SeqCst);
//!      3  T0 │ load balance = 100 (SeqCst)      tests/accounts.rs:18  │ let b = balance.load(SeqCst);
//!      4  T1 │     store balance ← 50 (SeqCst)  tests/accounts.rs:19  │ balance.store(b - amount, SeqCst);
//!      5  T0 │ store balance ← 50 (SeqCst)      tests/accounts.rs:19  │ balance.store(b - amount, SeqCst);
//!      6  T0 │ join T1                          tests/accounts.rs:29  │ t.join().unwrap();
//!      7  T0 │ load balance = 50 (SeqCst)       tests/accounts.rs:14  │ self.balance.load(SeqCst)
//!      8  T0 │ PANIC: balance == 0
//!
//! failure: panic
//!   thread:   T0 (main)
//!   at:       tests/accounts.rs:30:5  │ assert!(acct.balance() == 0, "balance == 0");
//!   message:  balance == 0
//!
//! replay (shuttle, deterministic):
//!   HEISEN_REPLAY='shuttle:120b43f6cdc77d1a:0*2.1*2.0.1.0*3' cargo test --features heisen/model -- --exact two_withdrawals
//! ```
//!
//! Loom reports add what only weak memory allows: a load that returns an older value than the
//! latest store in the timeline is flagged `⚠ stale: latest store was … (weak memory)`, and a
//! deadlock lists the `BLOCKED` lock requests of every thread.
//!
//! ## Replaying
//!
//! * shuttle: the report prints `HEISEN_REPLAY='shuttle:<schedule>' cargo test --features
//!   heisen/model -- --exact <test>`, which reruns exactly the failing schedule.
//! * loom: exploration order is deterministic, so `HEISEN_BACKEND=loom cargo test --features
//!   heisen/model -- --exact <test>` fails on the same execution again.
//! * `HEISEN_BACKEND=loom|shuttle` restricts a run to one backend; `HEISEN_SEED=N` changes the
//!   shuttle seed of tests that don't set one. A test whose attribute excludes the requested
//!   backend (`#[heisen::model(loom)]` with `HEISEN_BACKEND=shuttle`) runs nothing and says so:
//!   it prints `skipped: test is loom-only, HEISEN_BACKEND=shuttle` and is recorded as
//!   `skipped` in the summary file, never as a pass (the libtest result is `ok`: nothing
//!   failed — also for a `#[should_panic]` test). Any other value of `HEISEN_BACKEND` is an
//!   error.
//! * `HEISEN_SUMMARY_FILE=path`: every model test appends one tab-separated line per backend
//!   (test, backend, executions, bounded|complete|failed, result, ms, description, warning);
//!   this is how `cargo heisen model` builds its summary. The result is each backend's own:
//!   `FAIL` (or `xfail` for a `#[should_panic]` test) for the backend that found the failure,
//!   `pass` for a backend that passed before it — a shuttle pass stays a pass when loom then
//!   fails, and its summary line is printed before the report. A skipped test writes one line
//!   with backend `-`, 0 executions, result `skipped` and the reason as its description.
//! * `HEISEN_SHUTTLE_JOBS=N` spreads each test's shuttle schedules over N OS threads (`0` = one
//!   per core; default 1, since `cargo test` already runs tests in parallel; also
//!   `runner::Config::shuttle_jobs`). Each thread runs its share of random and PCT schedules
//!   from its own seeds (`seed + k·2³²`), so the schedules explored differ from a one-thread run
//!   but are reproducible for a given N; the lowest failing thread's report is printed and its
//!   `HEISEN_REPLAY` line replays it exactly on one thread. Use it for a few heavy models.
//!
//! ## How it works
//!
//! Every facade operation in a model run appends an event (thread lane, operation, object
//! address, value, ordering, `#[track_caller]` location, critical-section instance) to one
//! per-execution trace, cleared when an execution starts; the report is rendered from the trace
//! of the failing execution, reading the source line at each location to name the object
//! (`balance` in `balance.load(..)`). The same trace feeds the atomicity check of critical
//! sections (below), so every report tells one story.
//!
//! Lock rows: a `lock` row enters the timeline when the lock is *granted* (a request that is
//! never granted shows as `BLOCKED` when the execution fails, e.g. in a deadlock), and the
//! `unlock` row is recorded before the lock is released, so between a thread's `lock m` and
//! `unlock m` no other thread's `lock m` ever appears. The first read and the first write of a
//! lock's data through a guard during one hold are rows too (`read m (guarded data)`,
//! `write m (guarded data)`).
//!
//! ## Clock skew: `heisen::time`
//!
//! Machines disagree about the time. Code that orders events by `SystemTime::now()` (last
//! write wins, "newest" by timestamp, expiry issued on one node and checked on another) reads
//! [`heisen::time::SystemTime`](time::SystemTime) instead, and a model test gives the clocks a
//! skew bound:
//!
//! ```
//! use heisen::time::{SystemTime, UNIX_EPOCH};
//! use heisen::sync::mpsc;
//! use heisen::thread;
//!
//! fn stamp() -> u128 {
//!     SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
//! }
//!
//! #[heisen::model(clock_skew = "50ms")]
//! #[should_panic(expected = "reply stamped before its request")]
//! fn reply_is_stamped_after_the_request() {
//!     let (tx, rx) = mpsc::channel();
//!     let server = thread::spawn(move || {
//!         let request = rx.recv().unwrap();
//!         let reply = stamp(); // read after the request arrived, on another machine's clock
//!         assert!(reply >= request, "reply stamped before its request");
//!     });
//!     tx.send(stamp()).unwrap();
//!     server.join().unwrap();
//! }
//! ```
//!
//! In a normal build `heisen::time` is `std::time` and the assertion holds on one machine's
//! clock (the examples mark such tests `#[cfg_attr(not(feature = "model"), ignore)]`); the
//! model build finds the skews that break it. **Which skews are explored**: loom exhaustively, the
//! values `-bound`, `0` and `+bound` for every thread; shuttle by sampling, a uniform skew in
//! `[-bound, +bound]` per thread and schedule. The model's true time advances at every
//! reading, so readings in causal order are in real-time order; see the [`time`] module for
//! the details, and the `lww_clock_skew` example for last-write-wins losing the newest write.
//!
//! ## Critical sections: `#[heisen::critical]`
//!
//! Many lost-update tests only fail if someone wrote the right assertion. Instead, state the
//! intent: "this function must behave as if it ran alone".
//!
//! ```
//! use heisen::sync::atomic::{AtomicU64, Ordering::SeqCst};
//!
//! struct Account { balance: AtomicU64 }
//!
//! impl Account {
//!     #[heisen::critical]
//!     fn withdraw(&self, amount: u64) -> bool {
//!         let b = self.balance.load(SeqCst);
//!         if b < amount { return false; }
//!         self.balance.store(b - amount, SeqCst); // lost update: an atomicity violation
//!         true
//!     }
//! }
//!
//! fn audit(a: &Account, b: &Account) -> u64 {
//!     // the block form (an attribute and a `macro!` cannot share the name `critical`)
//!     heisen::critical_section!(audit, { a.balance.load(SeqCst) + b.balance.load(SeqCst) })
//! }
//! # let a = Account { balance: AtomicU64::new(100) };
//! # assert!(a.withdraw(50));
//! # assert_eq!(audit(&a, &a), 100);
//! ```
//!
//! A model test that just runs two `withdraw`s concurrently — **no assertion** — fails:
//!
//! ```text
//! failure: atomicity violation
//!   critical sections interleaved so that no serial order of them explains this execution
//!     `withdraw` on T1 read balance = 100 at src/accounts.rs:18, then `withdraw` on T2 wrote balance ← 50 at src/accounts.rs:20 before T1 wrote balance ← 50 at src/accounts.rs:20
//!     cycle (A → B: a step of A came first, so A must precede B in any serial order):
//!       `withdraw` on T1 → `withdraw` on T2: read balance = 100 (row 4 at src/accounts.rs:18) before wrote balance ← 50 (row 7 at src/accounts.rs:20)
//!       `withdraw` on T2 → `withdraw` on T1: wrote balance ← 50 (row 7 at src/accounts.rs:20) before wrote balance ← 50 (row 9 at src/accounts.rs:20)
//!     section `withdraw` on T1: entered at src/accounts.rs:17, rows 3–10
//! ```
//!
//! (after the usual timeline, which shows the sections' `⟦ enter critical …` and
//! `⟧ exit critical …` rows), with the usual replay recipe. Values are shown for atomics; data
//! behind a lock guard is named but has no value (`read balance (through its guard)`).
//!
//! * **Forms**: `#[heisen::critical]` on a function or method (also trait default methods,
//!   `async fn`, generic fns), `#[heisen::critical(name = "..")]` to name it (default: the
//!   function's name), and `heisen::critical_section!(name, { .. })` for a block (`name`: an
//!   identifier or a string literal). A method is named by its own name (`withdraw`, not
//!   `Account::withdraw`: an attribute cannot see the `impl`). Bad arguments or targets (a
//!   struct, a `const fn`, a trait method without a body) are compile errors.
//! * **Normal builds: exactly the original code.** The attribute expands to
//!   `heisen::__critical_select! { { original item } { instrumented item } }`, a `macro_rules!`
//!   that heisen defines per its own `model` feature: the normal-build arm returns the original
//!   tokens and discards the other unparsed (a `cfg(feature = "model")` in the expansion would
//!   be evaluated in *your* crate, which has no such feature). `critical_section!` expands to
//!   the block itself. `tests/critical_std.rs` proves both at compile level.
//! * **Model builds**: the instrumented item holds a guard for the whole body (the return
//!   value is computed, and its temporaries such as a `MutexGuard` dropped, inside the section).
//!   Every facade access made while a thread is in a section carries the section instance.
//!   At the end of every explored execution heisen checks that the section instances are
//!   **conflict-serializable**; a cycle in the conflict graph fails the execution as an
//!   `atomicity violation` (a test that fails for another reason first, e.g. an assertion, gets
//!   the violation appended to its report when there is one). Executions without sections pay
//!   nothing extra; with them, a release-build run costs about 1.0–1.6× the same model without
//!   `critical` (`tests/overhead.rs`, `bench_critical_vs_plain`). Summaries count the
//!   instances checked: `loom: 316 executions, preemption bound 2, critical sections: 632
//!   instances checked — bounded` (also in `cargo heisen model`'s description column).
//! * **Units and edges**: each section instance is a unit; each access outside any section is
//!   a unit of its own. A → B when a step of A precedes a conflicting step of B on the same
//!   object (at least one a write), plus program order between a thread's units and spawn /
//!   join edges. Accesses: atomic `load` = read; `store`, `swap`, `fetch_*` = write; a
//!   successful CAS = write; a failed CAS = read; `UnsafeCell::with` / `with_mut` = read /
//!   write; a lock's data = read on the first `Deref` of a hold, write on the first `DerefMut`.
//!   Lock acquire / release are not accesses themselves: holds of one lock are totally ordered
//!   in the trace, so the data accessed under them conflicts in that order. Two sections that
//!   each hold `M` for their whole duration are therefore serialized by `M` (no cycle); a
//!   split-lock update (lock, read, unlock, lock, write) is a cycle; read-only holds never
//!   conflict.
//! * **Optimistic concurrency passes**: a section's earlier reads of an object are dropped from
//!   the conflict relation when the same section later (a) performs a successful CAS /
//!   `fetch_update` step on it (the CAS validated them), (b) re-reads it with a failed CAS (a
//!   CAS loop recomputes from that value), or (c) re-reads it while holding a lock acquired
//!   after those reads (double-checked patterns, and versioned updates that re-check the
//!   version under the lock before writing). A write of the section to the object in between
//!   keeps them. Limitation of (c): a section that re-reads under a lock but then computes
//!   from the *old* value is not flagged.
//! * **Nesting**: the outermost instance is the unit of atomicity. A section entered while the
//!   thread is already in one is merged into it (its rows say `nested: merged into the
//!   enclosing section`, and it is not counted as an instance); threads spawned inside a
//!   section run as part of it (fork/join inside a section is one unit). So `transfer`
//!   calling the critical `debit` and `credit` is checked as one `transfer`.
//! * **Limits**: the check runs when the test body returns, over what happened until then:
//!   join your threads. The conflict order is the model's execution order; under loom a
//!   weak-memory load that returns an older value is still ordered by its position (the
//!   timeline flags it `stale`). Channels, condvar notifications and barriers are
//!   synchronization, not accesses.
//!
//! ## Linearizability: `heisen::lin`
//!
//! Instead of an assertion, write the object's sequential behaviour once ([`lin::Spec`]) and
//! call [`lin::check`] in a `#[heisen::model]` test: every explored execution's history is
//! checked against the spec, and a history no sequential order explains fails the execution
//! with its `call`/`ret` rows in the timeline and the reason (the longest explained prefix,
//! the operation whose result no order gives). [`lin::check_batch`] explores generated
//! scenarios and shrinks a failure. Under loom only happens-before orders operations of
//! different threads; under shuttle and on real threads real time does. See [`lin`] for the
//! example and its report, the search, and its limits (`async` operations wait for a
//! `heisen::tokio` facade, which does not exist yet).
//!
//! ## Statics
//!
//! Real code keeps shared state in `static`s. In a model run every explored execution must
//! start from the same state, so heisen's statics are **per execution** there:
//!
//! ```
//! use heisen::sync::atomic::{AtomicU64, Ordering::SeqCst};
//! use heisen::sync::{LazyLock, Mutex, OnceLock};
//!
//! static NEXT_ID: LazyLock<AtomicU64> = LazyLock::new(|| AtomicU64::new(1));
//! heisen::lazy_static! {
//!     static ref REGISTRY: Mutex<Vec<u64>> = Mutex::new(Vec::new());
//! }
//! static CONFIG: OnceLock<String> = OnceLock::new();
//! heisen::thread_local! {
//!     static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
//! }
//!
//! fn register() -> u64 {
//!     let id = NEXT_ID.fetch_add(1, SeqCst);
//!     REGISTRY.lock().unwrap().push(id);
//!     SCRATCH.with_borrow_mut(|s| s.push(1));
//!     id
//! }
//! # CONFIG.get_or_init(|| "x".into());
//! # assert_eq!(register(), 1);
//! ```
//!
//! * [`sync::Once`] (`static INIT: Once = Once::new()`) is per execution the same way; its
//!   `call_once` blocks concurrent callers on a modelled mutex until the initialiser returns,
//!   and a panicking initialiser poisons it, as std's.
//! * Normal builds: these are exactly std's `Once`, `LazyLock`, `OnceLock` and `thread_local!`
//!   (`heisen::lazy_static!` declares a `std::sync::LazyLock` static, used through `Deref`).
//! * Model builds, inside a model run: the first access of an execution initialises the value
//!   (so the `AtomicU64` and `Mutex` above are loom / shuttle objects, explored like any
//!   other), and the values are dropped when the execution's body returns; a thread-local has
//!   one value per model thread, dropped when that thread's closure returns. Under loom the
//!   initialisation is ordered before every other thread's use, as loom's `lazy_static!` does.
//!   As in loom, initialisation is not a scheduling point, and two threads racing to
//!   initialise may both run the initialiser (the first value stored wins). Outside model runs
//!   (ordinary `#[test]`s in the model build) they are std's.
//! * A plain `static X: heisen::sync::Mutex<_> = Mutex::new(..)` compiles in normal builds
//!   only (model constructors are not `const`), and any facade object built outside the run
//!   and used inside is refused with its construction site (see *Limits*).
//!
//! ## Harness tests
//!
//! [`runner::check`] runs a body under a [`runner::Config`] and returns the
//! [`runner::Summary`] or the [`runner::Failure`] (with its `report` text) instead of
//! panicking, for tests that assert on what was found.

#![warn(missing_docs)]

pub use heisen_macros::{critical, model};

/// Support for macro expansions; not public API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "model")]
    pub use crate::model::rt::CriticalGuard;
    #[cfg(feature = "tokio")]
    pub use ::tokio;

    /// Runs the body of `#[heisen::model] async fn`: model build with `tokio`, as task 0 of
    /// heisen's modelled tokio runtime; normal build with `tokio`, once on a current-thread
    /// tokio runtime with time enabled and paused (as `#[tokio::test(start_paused = true)]`:
    /// the clock jumps to the next timer when no task can run, like the model's virtual time,
    /// so a test that sleeps an hour finishes at once in both builds); without `tokio`, under
    /// `heisen::future::block_on`.
    pub fn block_on_body<F: std::future::Future>(f: F) -> F::Output {
        #[cfg(all(feature = "tokio", feature = "model"))]
        return crate::model::tokio::block_on_body(f);
        #[cfg(all(feature = "tokio", not(feature = "model")))]
        return ::tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("heisen: build a tokio current-thread runtime")
            .block_on(f);
        #[cfg(not(feature = "tokio"))]
        return crate::future::block_on(f);
    }
}

/// Selects `#[heisen::critical]`'s expansion by heisen's own `model` feature: the original
/// item in normal builds (the instrumented arm is discarded unparsed), the instrumented one in
/// model builds. (A `cfg` in the attribute's output would be evaluated in the user's crate.)
#[doc(hidden)]
#[cfg(not(feature = "model"))]
#[macro_export]
macro_rules! __critical_select {
    ({ $($original:tt)* } { $($instrumented:tt)* }) => { $($original)* };
}

#[doc(hidden)]
#[cfg(feature = "model")]
#[macro_export]
macro_rules! __critical_select {
    ({ $($original:tt)* } { $($instrumented:tt)* }) => { $($instrumented)* };
}

/// A critical block: `heisen::critical_section!(name, { .. })` must behave as if it ran alone
/// (the block form of [`#[heisen::critical]`](macro@critical); see the crate guide).
///
/// `name` is an identifier or a string literal. Normal build: expands to the block itself.
#[cfg(not(feature = "model"))]
#[macro_export]
macro_rules! critical_section {
    ($name:ident, $body:block) => {
        $body
    };
    ($name:literal, $body:block) => {
        $body
    };
    ($($other:tt)*) => {
        ::core::compile_error!(
            "usage: heisen::critical_section!(name, { .. }): a name (identifier or string literal), a comma, a block"
        )
    };
}

/// A critical block: `heisen::critical_section!(name, { .. })` must behave as if it ran alone
/// (the block form of [`#[heisen::critical]`](macro@critical); see the crate guide).
///
/// `name` is an identifier or a string literal. Model build: the block is one
/// critical-section instance, checked for atomicity in every explored execution.
#[cfg(feature = "model")]
#[macro_export]
macro_rules! critical_section {
    (@enter $name:expr, $body:block) => {{
        let __heisen_critical = $crate::__private::CriticalGuard::enter($name);
        #[allow(unused_braces, unreachable_code, clippy::let_and_return)]
        let __heisen_value = $body;
        __heisen_value
    }};
    ($name:ident, $body:block) => {
        $crate::critical_section!(@enter ::core::stringify!($name), $body)
    };
    ($name:literal, $body:block) => {
        $crate::critical_section!(@enter $name, $body)
    };
    ($($other:tt)*) => {
        ::core::compile_error!(
            "usage: heisen::critical_section!(name, { .. }): a name (identifier or string literal), a comma, a block"
        )
    };
}

#[doc(hidden)]
pub mod counterexample;
mod future_std;
pub mod lin;
#[cfg(feature = "model")]
mod model;
pub mod net;
pub mod runner;
#[cfg(feature = "tokio")]
pub mod tokio;

/// Synchronization primitives (std in normal builds, modelled in model runs).
pub mod sync {
    #[cfg(not(feature = "model"))]
    pub use std::sync::{
        mpsc, Arc, Barrier, BarrierWaitResult, Condvar, LazyLock, Mutex, MutexGuard, Once,
        OnceLock, OnceState, RwLock, RwLockReadGuard, RwLockWriteGuard, WaitTimeoutResult, Weak,
    };
    pub use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

    #[cfg(feature = "model")]
    pub use crate::model::sync::{
        mpsc, Arc, Barrier, BarrierWaitResult, Condvar, LazyLock, Mutex, MutexGuard, Once,
        OnceLock, OnceState, RwLock, RwLockReadGuard, RwLockWriteGuard, WaitTimeoutResult, Weak,
    };

    /// Atomic types (std in normal builds, modelled and recorded in model runs).
    pub mod atomic {
        #[cfg(not(feature = "model"))]
        pub use std::sync::atomic::{
            compiler_fence, fence, AtomicBool, AtomicI16, AtomicI32, AtomicI64, AtomicI8,
            AtomicIsize, AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
            Ordering,
        };

        #[cfg(feature = "model")]
        pub use crate::model::atomic::{
            compiler_fence, fence, AtomicBool, AtomicI16, AtomicI32, AtomicI64, AtomicI8,
            AtomicIsize, AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
            Ordering,
        };
    }
}

/// Threads (std in normal builds, modelled in model runs).
pub mod thread {
    #[cfg(not(feature = "model"))]
    pub use std::thread::{
        available_parallelism, current, panicking, park, park_timeout, scope, sleep, spawn,
        yield_now, AccessError, Builder, JoinHandle, LocalKey, Result, Scope, ScopedJoinHandle,
        Thread, ThreadId,
    };

    #[cfg(feature = "model")]
    pub use crate::model::thread::{
        available_parallelism, current, panicking, park, park_timeout, scope, sleep, spawn,
        yield_now, AccessError, Builder, JoinHandle, LocalKey, Result, Scope, ScopedJoinHandle,
        Thread, ThreadId,
    };
}

/// Declares thread-locals (as `std::thread_local!`): std's in normal builds; in model builds a
/// [`thread::LocalKey`] whose value, inside a model run, is per model thread and per execution
/// (dropped when the thread's closure returns).
#[cfg(not(feature = "model"))]
#[macro_export]
macro_rules! thread_local {
    ($($t:tt)*) => {
        ::std::thread_local!($($t)*);
    };
}

/// Declares thread-locals (as `std::thread_local!`): std's in normal builds; in model builds a
/// [`thread::LocalKey`] whose value, inside a model run, is per model thread and per execution
/// (dropped when the thread's closure returns).
#[cfg(feature = "model")]
#[macro_export]
macro_rules! thread_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const $init:block; $($rest:tt)*) => {
        $crate::__thread_local_inner!($(#[$attr])* $vis $name, $t, $init);
        $crate::thread_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const $init:block) => {
        $crate::__thread_local_inner!($(#[$attr])* $vis $name, $t, $init);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        $crate::__thread_local_inner!($(#[$attr])* $vis $name, $t, $init);
        $crate::thread_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => {
        $crate::__thread_local_inner!($(#[$attr])* $vis $name, $t, $init);
    };
}

#[doc(hidden)]
#[cfg(feature = "model")]
#[macro_export]
macro_rules! __thread_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty, $init:expr) => {
        $(#[$attr])* $vis static $name: $crate::thread::LocalKey<$t> = {
            ::std::thread_local!(static __HEISEN_STD: $t = $init);
            $crate::thread::LocalKey::__new(&__HEISEN_STD, || $init)
        };
    };
}

/// A modelled `static`, in `lazy_static::lazy_static!` syntax: `static ref NAME: T = expr;`
/// declares `static NAME: heisen::sync::LazyLock<T>` (use it through `Deref`, as with
/// `lazy_static`). Normal builds: std's `LazyLock`, initialised once per process. Model builds:
/// inside a model run the value is initialised anew in every execution (so the objects it
/// holds are modelled) and dropped when the execution's body returns, as loom's
/// `lazy_static!`.
#[macro_export]
macro_rules! lazy_static {
    () => {};
    ($(#[$attr:meta])* $vis:vis static ref $name:ident : $t:ty = $init:expr; $($rest:tt)*) => {
        $(#[$attr])* $vis static $name: $crate::sync::LazyLock<$t> =
            $crate::sync::LazyLock::new(|| $init);
        $crate::lazy_static!($($rest)*);
    };
}

/// `lazy_static::initialize`, for statics declared with [`heisen::lazy_static!`](macro@lazy_static).
pub mod lazy_static {
    /// Forces the initialisation of a lazy static (as `lazy_static::initialize`).
    pub fn initialize<T, F: FnOnce() -> T>(lazy: &crate::sync::LazyLock<T, F>) {
        crate::sync::LazyLock::force(lazy);
    }
}

/// `UnsafeCell` with loom's API (`with` / `with_mut`, `get` / `get_mut`).
pub mod cell {
    #[cfg(feature = "model")]
    pub use crate::model::cell::{ConstPtr, MutPtr, UnsafeCell};

    /// `std::cell::UnsafeCell` with loom's `with` / `with_mut` and `get` / `get_mut` API (an
    /// `#[inline]` newtype).
    #[cfg(not(feature = "model"))]
    #[derive(Debug, Default)]
    #[repr(transparent)]
    pub struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

    /// A read access to an [`UnsafeCell`] (loom's `ConstPtr`; a raw pointer in normal builds).
    #[cfg(not(feature = "model"))]
    #[derive(Debug)]
    pub struct ConstPtr<T: ?Sized>(*const T);

    /// A write access to an [`UnsafeCell`] (loom's `MutPtr`; a raw pointer in normal builds).
    #[cfg(not(feature = "model"))]
    #[derive(Debug)]
    pub struct MutPtr<T: ?Sized>(*mut T);

    #[cfg(not(feature = "model"))]
    impl<T: ?Sized> ConstPtr<T> {
        /// Dereferences the pointer.
        ///
        /// # Safety
        /// As dereferencing `*const T`.
        #[inline]
        pub unsafe fn deref(&self) -> &T {
            &*self.0
        }
        /// Runs `f` with the raw pointer.
        #[inline]
        pub fn with<F, R>(&self, f: F) -> R
        where
            F: FnOnce(*const T) -> R,
        {
            f(self.0)
        }
    }

    #[cfg(not(feature = "model"))]
    impl<T: ?Sized> MutPtr<T> {
        /// Dereferences the pointer.
        ///
        /// # Safety
        /// As dereferencing `*mut T`: the result must be the only reference while it lives.
        #[inline]
        #[allow(clippy::mut_from_ref)]
        pub unsafe fn deref(&self) -> &mut T {
            &mut *self.0
        }
        /// Runs `f` with the raw pointer.
        #[inline]
        pub fn with<F, R>(&self, f: F) -> R
        where
            F: FnOnce(*mut T) -> R,
        {
            f(self.0)
        }
    }

    #[cfg(not(feature = "model"))]
    impl<T> UnsafeCell<T> {
        /// Creates a cell.
        #[inline]
        pub const fn new(v: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(v))
        }
        /// Consumes the cell.
        #[inline]
        pub fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    #[cfg(not(feature = "model"))]
    impl<T> From<T> for UnsafeCell<T> {
        #[inline]
        fn from(v: T) -> Self {
            UnsafeCell::new(v)
        }
    }

    #[cfg(not(feature = "model"))]
    impl<T: ?Sized> UnsafeCell<T> {
        /// Immutable access through a raw pointer.
        #[inline]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }
        /// Mutable access through a raw pointer.
        #[inline]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
        /// A read access (loom's `get`): a pointer wrapper to dereference.
        #[inline]
        pub fn get(&self) -> ConstPtr<T> {
            ConstPtr(self.0.get())
        }
        /// A write access (loom's `get_mut`): a pointer wrapper to dereference.
        #[inline]
        pub fn get_mut(&self) -> MutPtr<T> {
            MutPtr(self.0.get())
        }
    }
}

/// Time: `std::time` in normal builds; in model runs a wall clock per thread, skewed.
///
/// | item | normal build | model build |
/// |---|---|---|
/// | [`Duration`](crate::time::Duration) | `std::time` | `std::time` |
/// | [`Instant`](crate::time::Instant) | `std::time` | std's API; inside a model run [`Instant::now`](crate::time::Instant::now) reads the model's true time (below, without any thread's skew: one machine's monotonic clock), so deadlines are deterministic; `thread::sleep(d)` and `park_timeout(d)` advance it by `d` without real time passing |
/// | [`SystemTime`](crate::time::SystemTime), [`UNIX_EPOCH`](crate::time::UNIX_EPOCH), [`SystemTimeError`](crate::time::SystemTimeError) | `std::time` | a thin mirror of std's API: `now`, `duration_since`, `elapsed`, `checked_add` / `checked_sub`, `+` / `-` a `Duration`, `Ord`, `Hash`, `Debug`, `From` to and from `std::time::SystemTime` |
///
/// In a model build, `SystemTime::now()` outside a model run is the real clock. Inside one,
/// every model thread reads **its own clock**: the model's *true time* plus the thread's
/// **skew**, which the model chooses within the bound given by
/// `#[heisen::model(clock_skew = "50ms")]` (units `ns`, `us`/`µs`, `ms`, `s`; without the
/// argument every skew is zero):
///
/// * **True time** starts at a whole number of seconds after the Unix epoch (1 s, more when
///   the bound is a second or more, so no reading falls before the epoch) and advances by one
///   *tick* at **every** reading of any thread: a reading taken later in the execution is
///   later in real time, so "B wrote after it saw A's write" means B's true time is larger,
///   while B's clock may still say otherwise. The tick is 1 ms (1 µs or 1 ns when the bound is
///   not a whole number of milliseconds or microseconds); a reading is not a scheduling point
///   of its own.
/// * **Skew**: chosen at a thread's first reading, fixed for the rest of the execution.
///   * **loom explores exhaustively** over the three values `-bound`, `0`, `+bound` per
///     thread (with [`choose`]'s mechanism: each thread's first reading costs loom one
///     short-lived helper thread, and loom allows 5 threads per execution, the test body
///     included), combined with every interleaving within the preemption bound;
///   * **shuttle samples**: each thread's skew is drawn uniformly from `[-bound, +bound]` in
///     whole ticks, anew for every schedule (random and PCT), from the schedule's seeded
///     randomness, so a failing schedule's replay line reproduces the same skews.
///
/// Every reading is a row of the failure timeline, with the thread's skew:
/// `SystemTime::now() = 1.050s (skew +50ms)` (`elapsed: SystemTime::now() = …` for
/// [`SystemTime::elapsed`](crate::time::SystemTime::elapsed)), and run summaries name the exploration
/// (`clock skew ±50ms (each thread: -50ms, 0 or +50ms)` under loom, `(each thread: sampled)`
/// under shuttle).
pub mod time {
    pub use std::time::Duration;

    #[cfg(not(feature = "model"))]
    pub use std::time::{Instant, SystemTime, SystemTimeError, UNIX_EPOCH};

    #[cfg(feature = "model")]
    pub use crate::model::time::{Instant, SystemTime, SystemTimeError, UNIX_EPOCH};
}

/// Allocation with loom's leak tracking (loom's `alloc` API): std's allocator in normal builds;
/// inside a loom run an allocation never freed, or a [`Track`](alloc::Track)ed value never
/// dropped, is reported as a leak at the end of the execution.
pub mod alloc {
    pub use std::alloc::Layout;

    #[cfg(feature = "model")]
    pub use crate::model::alloc::{alloc, alloc_zeroed, dealloc, Track};
    #[cfg(not(feature = "model"))]
    pub use std::alloc::{alloc, alloc_zeroed, dealloc};

    /// A value tracked for leaks in model runs (loom's `alloc::Track`); a plain wrapper here.
    #[cfg(not(feature = "model"))]
    #[derive(Debug)]
    pub struct Track<T>(T);

    #[cfg(not(feature = "model"))]
    impl<T> Track<T> {
        /// Tracks `value`.
        #[inline]
        pub fn new(value: T) -> Track<T> {
            Track(value)
        }
        /// The value.
        #[inline]
        pub fn get_ref(&self) -> &T {
            &self.0
        }
        /// The value, mutably.
        #[inline]
        pub fn get_mut(&mut self) -> &mut T {
            &mut self.0
        }
        /// Stops tracking, returning the value.
        #[inline]
        pub fn into_inner(self) -> T {
            self.0
        }
    }
}

/// Hints.
pub mod hint {
    #[cfg(feature = "model")]
    pub use crate::model::misc::spin_loop;
    #[cfg(not(feature = "model"))]
    pub use std::hint::spin_loop;
}

/// Futures: `block_on` and task `spawn`.
pub mod future {
    #[cfg(feature = "model")]
    pub use crate::model::misc::{block_on, spawn};

    #[cfg(not(feature = "model"))]
    pub use crate::future_std::block_on;

    /// Spawns a future as a concurrent task (on its own thread); join the handle.
    #[cfg(not(feature = "model"))]
    pub fn spawn<F>(f: F) -> crate::thread::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        std::thread::spawn(move || block_on(f))
    }
}

/// Nondeterministic choice in `0..n`: loom explores every value, shuttle picks one per
/// schedule (replayable), real threads get `0`. Recorded in the trace as `choose(n) = v`.
///
/// Under loom the choice is emulated with a helper thread racing `n - 1` relaxed stores
/// against one load (loom has no public choice primitive), so each call uses one of loom's
/// (at most 4) threads while it runs.
#[cfg(feature = "model")]
pub use crate::model::misc::choose;

/// Nondeterministic choice in `0..n` (normal build: always `0`).
#[cfg(not(feature = "model"))]
#[inline]
pub fn choose(n: usize) -> usize {
    assert!(n > 0, "heisen::choose(0)");
    0
}
