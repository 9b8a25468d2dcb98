//! Model fidelity of the facade (issue 15): std's API behaves as std's under both backends,
//! `Arc` is modelled under loom (causality, leaks), statics are per execution, a std object
//! built outside the run is refused with its construction site, and `Instant` is the model's
//! clock. Model build only.
#![cfg(feature = "model")]

use heisen::cell::UnsafeCell;
use heisen::runner::{check, Config, Failure, Summary};
use heisen::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use heisen::sync::mpsc::{self, TryRecvError, TrySendError};
use heisen::sync::{Arc, LazyLock, Mutex, OnceLock, RwLock, TryLockError, Weak};
use heisen::thread;
use heisen::time::{Duration, Instant};
use std::cell::Cell;

fn both(name: &str) -> [Config; 2] {
    [
        Config::new(name).shuttle_only().iterations(200),
        Config::new(name).loom_only(),
    ]
}

fn pass_both(name: &str, f: fn()) -> Vec<Summary> {
    both(name)
        .iter()
        .map(|c| check(c, f).unwrap_or_else(|e| panic!("{} failed:\n{e}", c.name)))
        .collect()
}

/// Runs single-threaded API checks on two model threads at once (each on its own objects),
/// so that the body has concurrency for both schedulers.
fn concurrently(name: &str, f: fn()) {
    let body = move || {
        let h = thread::spawn(move || {
            thread::yield_now();
            f()
        });
        thread::yield_now();
        f();
        h.join().unwrap();
    };
    for c in both(name) {
        check(&c, body).unwrap_or_else(|e| panic!("{} failed:\n{e}", c.name));
    }
}

fn fail(cfg: &Config, f: fn()) -> Box<Failure> {
    match check(cfg, f) {
        Ok(s) => panic!("{} must fail, passed: {s:?}", cfg.name),
        Err(f) => f,
    }
}

#[test]
fn try_lock_and_try_read_report_would_block_as_std() {
    concurrently("t::try_lock", || {
        let m = Mutex::new(1);
        let g = m.lock().unwrap();
        assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
        drop(g);
        *m.try_lock().unwrap() += 1;
        assert_eq!(m.into_inner().unwrap(), 2);
        let mut l = RwLock::new(5);
        {
            let r = l.try_read().unwrap();
            assert!(matches!(l.try_write(), Err(TryLockError::WouldBlock)));
            assert_eq!(*r, 5);
        }
        *l.get_mut().unwrap() = 6;
        assert_eq!(l.into_inner().unwrap(), 6);
    });
}

fn bounded_channel_handoff() {
    let (tx, rx) = mpsc::sync_channel::<u32>(1);
    let tx2 = tx.clone();
    let h = thread::spawn(move || {
        tx2.send(1).unwrap();
        tx2.send(2).unwrap();
    });
    let got: Vec<u32> = vec![rx.recv().unwrap(), rx.recv().unwrap()];
    h.join().unwrap();
    tx.send(3).unwrap();
    assert!(matches!(tx.try_send(4), Err(TrySendError::Full(4))));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(got, vec![1, 2]);
}

#[test]
fn sync_channel_is_bounded_and_ordered_under_both_backends() {
    pass_both("t::sync_channel", bounded_channel_handoff);
}

#[test]
fn rendezvous_channel_send_returns_after_the_receive() {
    pass_both("t::rendezvous", || {
        let (tx, rx) = mpsc::sync_channel::<u32>(0);
        let received = Arc::new(AtomicUsize::new(0));
        let r2 = received.clone();
        let h = thread::spawn(move || {
            let v = rx.recv().unwrap();
            r2.store(v as usize, SeqCst);
            rx.iter().count()
        });
        tx.send(9).unwrap();
        assert!(matches!(
            tx.try_send(1),
            Err(TrySendError::Full(1)) | Ok(())
        ));
        drop(tx);
        h.join().unwrap();
        assert_eq!(received.load(SeqCst), 9);
    });
}

#[test]
fn thread_api_names_ids_park_and_is_finished() {
    pass_both("t::thread_api", || {
        let main = thread::current();
        let flag = Arc::new(AtomicUsize::new(0));
        let f2 = flag.clone();
        let h = thread::Builder::new()
            .name("child".into())
            .spawn(move || {
                assert_eq!(thread::current().name(), Some("child"));
                f2.store(1, SeqCst);
                main.unpark();
                thread::current().id()
            })
            .unwrap();
        while flag.load(SeqCst) == 0 {
            thread::park();
        }
        let child = h.thread().id();
        assert_eq!(h.join().unwrap(), child);
        assert_ne!(child, thread::current().id());
    });
}

#[test]
fn is_finished_is_true_once_the_thread_returned() {
    pass_both("t::is_finished", || {
        let h = thread::spawn(|| 3);
        while !h.is_finished() {
            thread::yield_now();
        }
        assert_eq!(h.join().unwrap(), 3);
    });
}

/// The last `Arc` is dropped by whichever thread finishes last; the value's `UnsafeCell` was
/// written by the other one. With std's count loom saw no causality and called it a race.
fn last_arc_dropped_on_another_thread() {
    struct Data(UnsafeCell<u32>);
    unsafe impl Sync for Data {}
    let a = Arc::new(Data(UnsafeCell::new(0)));
    let b = a.clone();
    let h = thread::spawn(move || {
        b.0.with_mut(|p| unsafe { *p = 1 });
        drop(b);
    });
    drop(a);
    h.join().unwrap();
}

#[test]
fn last_arc_dropped_on_another_thread_passes_under_loom() {
    let s = check(
        &Config::new("t::arc_last_drop").loom_only(),
        last_arc_dropped_on_another_thread,
    )
    .unwrap_or_else(|f| panic!("{f}"));
    // The count is modelled: clones and drops are loom operations that it interleaves.
    assert!(s.runs[0].executions > 1, "{s:?}");
}

/// A real refcount bug: a hand-rolled "last one frees" with a Relaxed decrement — the freeing
/// thread does not synchronize with the other's write. Loom must still find the race when the
/// user's own count is wrong, while the facade `Arc`'s count (std's orderings) is right.
fn relaxed_refcount_free() {
    struct Shared {
        refs: AtomicUsize,
        data: UnsafeCell<u32>,
    }
    unsafe impl Sync for Shared {}
    fn release(s: &Shared) {
        if s.refs.fetch_sub(1, heisen::sync::atomic::Ordering::Relaxed) == 1 {
            s.data.with_mut(|p| unsafe { *p = 0 }); // "free"
        }
    }
    let s = Arc::new(Shared {
        refs: AtomicUsize::new(2),
        data: UnsafeCell::new(0),
    });
    let s2 = s.clone();
    let h = thread::spawn(move || {
        s2.data.with(|p| unsafe { *p });
        release(&s2);
    });
    release(&s);
    h.join().unwrap();
}

#[test]
fn relaxed_refcount_free_is_still_a_data_race_under_loom() {
    let f = fail(
        &Config::new("t::relaxed_free").loom_only(),
        relaxed_refcount_free,
    );
    assert!(
        f.message.contains("Causality violation") || f.report.contains("race"),
        "{}",
        f.report
    );
}

fn arc_cycle_leak() {
    struct Node {
        next: Mutex<Option<Arc<Node>>>,
    }
    let a = Arc::new(Node {
        next: Mutex::new(None),
    });
    *a.next.lock().unwrap() = Some(a.clone());
}

#[test]
fn leaked_arc_cycle_is_reported_by_loom() {
    let f = fail(&Config::new("t::arc_leak").loom_only(), arc_cycle_leak);
    assert!(
        f.message.to_lowercase().contains("leak"),
        "{}\n{}",
        f.message,
        f.report
    );
}

#[test]
fn weak_upgrade_fails_after_the_last_strong_drop_under_both_backends() {
    concurrently("t::weak", || {
        let a = Arc::new(5u32);
        let w: Weak<u32> = Arc::downgrade(&a);
        let h = thread::spawn(move || w.upgrade().map(|a| *a));
        drop(a);
        let seen = h.join().unwrap();
        assert!(seen.is_none() || seen == Some(5));
        let mut b = Arc::new(1u32);
        *Arc::make_mut(&mut b) += 1;
        let c = b.clone();
        *Arc::make_mut(&mut b) += 1; // shared: cloned first
        assert_eq!((*b, *c), (3, 2));
        assert_eq!(Arc::try_unwrap(c), Ok(2));
        assert_eq!(Arc::into_inner(b), Some(3));
    });
}

static COUNTER: LazyLock<AtomicUsize> = LazyLock::new(|| AtomicUsize::new(0));

/// A lost update on a `static`: load + store from two threads.
fn static_lost_update() {
    let h = thread::spawn(|| {
        let v = COUNTER.load(SeqCst);
        COUNTER.store(v + 1, SeqCst);
    });
    let v = COUNTER.load(SeqCst);
    COUNTER.store(v + 1, SeqCst);
    h.join().unwrap();
    assert_eq!(COUNTER.load(SeqCst), 2, "lost update on a static");
}

#[test]
fn a_static_lazylock_is_modelled_and_reset_per_execution() {
    for cfg in both("t::static_lost_update") {
        let f = fail(&cfg, static_lost_update);
        assert!(
            f.message.contains("lost update on a static"),
            "{}",
            f.report
        );
    }
    // Fixed with an atomic RMW: passes, which it could only do if the static restarted at 0
    // in every execution (else the second execution would read 2 first).
    pass_both("t::static_rmw", || {
        let h = thread::spawn(|| COUNTER.fetch_add(1, SeqCst));
        COUNTER.fetch_add(1, SeqCst);
        h.join().unwrap();
        assert_eq!(COUNTER.load(SeqCst), 2);
    });
}

heisen::lazy_static! {
    static ref REGISTRY: Mutex<Vec<u32>> = Mutex::new(Vec::new());
}
static ONCE: OnceLock<u32> = OnceLock::new();

#[test]
fn lazy_static_and_oncelock_start_empty_in_every_execution() {
    pass_both("t::lazy_static", || {
        assert!(
            ONCE.get().is_none(),
            "OnceLock kept a value across executions"
        );
        let h = thread::spawn(|| {
            REGISTRY.lock().unwrap().push(1);
            ONCE.get_or_init(|| 1);
        });
        REGISTRY.lock().unwrap().push(2);
        let _ = ONCE.set(2);
        h.join().unwrap();
        let mut r = REGISTRY.lock().unwrap().clone();
        r.sort();
        assert_eq!(r, vec![1, 2]);
        assert!(matches!(ONCE.get(), Some(1 | 2)));
    });
}

heisen::thread_local! {
    static LOCAL: Cell<u32> = const { Cell::new(0) };
    static DROPPER: Cell<Option<std::sync::Arc<()>>> = const { Cell::new(None) };
}

#[test]
fn thread_locals_are_per_model_thread_and_dropped_at_thread_exit() {
    let token = std::sync::Arc::new(());
    let t2 = token.clone();
    let s = check(&Config::new("t::tls").loom_only(), move || {
        LOCAL.set(LOCAL.get() + 1);
        let tok = t2.clone();
        let h = thread::spawn(move || {
            assert_eq!(LOCAL.get(), 0, "a new thread starts with the initial value");
            LOCAL.set(10);
            DROPPER.set(Some(tok));
            LOCAL.get()
        });
        assert_eq!(h.join().unwrap(), 10);
        assert_eq!(
            LOCAL.get(),
            1,
            "each execution starts from the initial value"
        );
    })
    .unwrap_or_else(|f| panic!("{f}"));
    // Every child's thread-local (holding a clone of `token`) was dropped at its exit, and the
    // body (holding `t2`) is gone: only `token` remains.
    assert_eq!(std::sync::Arc::strong_count(&token), 1, "{s:?}");
}

#[test]
fn a_std_object_touched_inside_a_model_run_is_an_error_naming_its_construction_site() {
    let outside = std::sync::Arc::new(Mutex::new(0u32)); // built outside: plain std
    let line = line!() - 1;
    for cfg in both("t::outside") {
        let m = outside.clone();
        let f = check(&cfg, move || {
            *m.lock().unwrap() += 1;
        })
        .expect_err("a std Mutex inside a model run must be refused");
        assert!(
            f.message.contains("created outside the model run")
                && f.message.contains(&format!("{}:{line}", file!())),
            "{}",
            f.message
        );
    }
}

#[test]
fn instant_is_the_model_clock_deterministic_and_advanced_by_sleep() {
    let run = || {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let s2 = seen.clone();
        check(&Config::new("t::instant").loom_only(), move || {
            let t0 = Instant::now();
            thread::sleep(Duration::from_secs(5));
            let waited = t0.elapsed();
            assert!(waited >= Duration::from_secs(5));
            s2.lock().unwrap().push(waited);
        })
        .unwrap_or_else(|f| panic!("{f}"));
        let v = seen.lock().unwrap().clone();
        v
    };
    let real = std::time::Instant::now();
    let (a, b) = (run(), run());
    assert!(
        real.elapsed() < Duration::from_secs(5),
        "a modelled sleep takes no real time"
    );
    assert_eq!(a, b, "the model clock is deterministic");
    assert!(a.iter().all(|d| *d < Duration::from_secs(6)));
}

fn unsafecell_get_mut_race() {
    struct S(UnsafeCell<u32>);
    unsafe impl Sync for S {}
    let s = Arc::new(S(UnsafeCell::new(0)));
    let s2 = s.clone();
    let h = thread::spawn(move || {
        let p = s2.0.get_mut();
        unsafe { *p.deref() += 1 };
    });
    let p = s.0.get();
    let _v = unsafe { *p.deref() };
    drop(p);
    h.join().unwrap();
}

#[test]
fn unsafecell_get_and_get_mut_are_checked_by_loom() {
    let f = fail(
        &Config::new("t::cell_get").loom_only(),
        unsafecell_get_mut_race,
    );
    assert!(
        f.message.contains("Causality violation") || f.report.contains("race"),
        "{}",
        f.report
    );
    // Synchronized through a join: no race.
    check(&Config::new("t::cell_get_ok").loom_only(), || {
        struct S(UnsafeCell<u32>);
        unsafe impl Sync for S {}
        let c = Arc::new(S(UnsafeCell::new(0)));
        let c2 = c.clone();
        let h = thread::spawn(move || {
            let p = c2.0.get_mut();
            unsafe { *p.deref() = 2 };
        });
        h.join().unwrap();
        assert_eq!(unsafe { *c.0.get().deref() }, 2);
    })
    .unwrap_or_else(|f| panic!("{f}"));
}

#[test]
#[allow(deprecated)]
fn compare_and_swap_returns_the_previous_value() {
    concurrently("t::cas", || {
        let a = AtomicUsize::new(1);
        assert_eq!(a.compare_and_swap(1, 2, SeqCst), 1);
        assert_eq!(a.compare_and_swap(1, 3, SeqCst), 2);
        assert_eq!(a.fetch_nand(0, SeqCst), 2);
        assert_eq!(a.load(SeqCst), usize::MAX);
    });
}

/// A hand-rolled refcount frees the node when it drops to zero. With a `Relaxed` decrement the
/// freeing thread is not ordered after the other thread's read: the free (dropping the node's
/// `UnsafeCell`) races with that read. With `AcqRel` it is ordered.
fn refcount_free(order: heisen::sync::atomic::Ordering) {
    struct Node {
        refs: AtomicUsize,
        data: UnsafeCell<u32>,
    }
    fn release(p: usize, order: heisen::sync::atomic::Ordering) {
        let node = unsafe { &*(p as *const Node) };
        node.data.with(|v| unsafe { *v });
        if node.refs.fetch_sub(1, order) == 1 {
            drop(unsafe { Box::from_raw(p as *mut Node) });
        }
    }
    let p = Box::into_raw(Box::new(Node {
        refs: AtomicUsize::new(2),
        data: UnsafeCell::new(7),
    })) as usize;
    let h = thread::spawn(move || release(p, order));
    release(p, order);
    h.join().unwrap();
}

#[test]
fn a_free_racing_with_the_other_threads_last_access_is_a_data_race_under_loom() {
    use heisen::sync::atomic::Ordering::{AcqRel, Relaxed};
    let f = fail(&Config::new("t::free_relaxed").loom_only(), || {
        refcount_free(Relaxed)
    });
    assert!(
        f.message.contains("Causality violation"),
        "{}\n{}",
        f.message,
        f.report
    );
    check(&Config::new("t::free_acqrel").loom_only(), || {
        refcount_free(AcqRel)
    })
    .unwrap_or_else(|f| panic!("{f}"));
}

/// Atomics shared through `std::sync::Arc` (loom's own `fence.rs`/`yield.rs` tests): the last
/// std drop may run on a thread that loom does not see ordered after the other's store (std's
/// count is invisible to loom). Freeing an atomic is not an access, so this passes, as with
/// loom's own atomics; the un-joined thread's store while main returns is the `yield.rs` shape.
fn atomics_in_a_std_arc() {
    use heisen::sync::atomic::{AtomicBool, Ordering::Relaxed};
    let x = std::sync::Arc::new((AtomicBool::new(false), AtomicUsize::new(0)));
    let t = {
        let x = x.clone();
        thread::spawn(move || {
            x.0.store(true, Relaxed);
            x.1.fetch_add(1, Relaxed);
        })
    };
    let u = {
        let x = x.clone();
        thread::spawn(move || x.0.load(Relaxed))
    };
    x.1.store(5, Relaxed);
    drop(x);
    u.join().unwrap();
    drop(t);
}

#[test]
fn atomics_freed_through_std_arc_on_another_thread_are_not_a_race() {
    let s = check(
        &Config::new("t::std_arc_atomics").loom_only(),
        atomics_in_a_std_arc,
    )
    .unwrap_or_else(|f| panic!("{f}"));
    assert!(s.runs[0].executions > 1, "{s:?}");
}

#[test]
fn tracked_allocations_and_values_leak_only_when_not_freed() {
    use heisen::alloc::{alloc, dealloc, Layout, Track};
    let f = fail(&Config::new("t::track_leak").loom_only(), || {
        std::mem::forget(Track::new(1u32));
    });
    assert!(f.message.to_lowercase().contains("leak"), "{}", f.report);
    let f = fail(&Config::new("t::alloc_leak").loom_only(), || {
        let _ = unsafe { alloc(Layout::new::<u64>()) };
    });
    assert!(f.message.to_lowercase().contains("leak"), "{}", f.report);
    concurrently("t::track_ok", || {
        let mut t = Track::new(1u32);
        *t.get_mut() += 1;
        assert_eq!(*t.get_ref(), 2);
        assert_eq!(t.into_inner(), 2);
        let l = Layout::new::<u64>();
        unsafe { dealloc(alloc(l), l) };
    });
}

static INIT: heisen::sync::Once = heisen::sync::Once::new();
static INIT_RUNS: LazyLock<AtomicUsize> = LazyLock::new(|| AtomicUsize::new(0));

#[test]
fn a_static_once_runs_once_per_execution_and_blocks_concurrent_callers() {
    pass_both("t::once", || {
        assert!(
            !INIT.is_completed(),
            "Once kept its state across executions"
        );
        let h = thread::spawn(|| {
            INIT.call_once(|| {
                INIT_RUNS.fetch_add(1, SeqCst);
            });
            assert_eq!(
                INIT_RUNS.load(SeqCst),
                1,
                "call_once returned before the init"
            );
        });
        INIT.call_once(|| {
            thread::yield_now(); // the other caller must wait, not run its initialiser
            INIT_RUNS.fetch_add(1, SeqCst);
        });
        assert_eq!(INIT_RUNS.load(SeqCst), 1);
        h.join().unwrap();
        assert!(INIT.is_completed());
    });
}

/// A `LazyLock` whose initialiser owns data (std's `F: FnOnce`): created in the body, it is
/// initialised once in each execution; a `static` one is initialised anew in every execution.
#[test]
fn a_lazy_lock_with_an_fn_once_initialiser_runs_it_once_per_object() {
    pass_both("t::lazy_fn_once", || {
        let owned = String::from("moved in");
        let lazy = Arc::new(LazyLock::new(move || owned));
        let h = {
            let lazy = lazy.clone();
            thread::spawn(move || lazy.len())
        };
        assert_eq!(lazy.as_str(), "moved in");
        assert_eq!(h.join().unwrap(), 8);
        assert_eq!(
            LAZY_RUNS.fetch_add(1, SeqCst),
            0,
            "a static LazyLock kept its value"
        );
    });
}

static LAZY_RUNS: LazyLock<AtomicUsize> = LazyLock::new(|| AtomicUsize::new(0));

type Owning = LazyLock<String, Box<dyn FnOnce() -> String + Send>>;
static OUTLIVES_EXECUTIONS: std::sync::OnceLock<Owning> = std::sync::OnceLock::new();

/// The same `LazyLock` shared into a second execution cannot run its (consumed) `FnOnce`
/// initialiser again: a clear failure, not a stale value.
#[test]
fn an_fn_once_lazy_lock_forced_in_two_executions_fails_clearly() {
    OUTLIVES_EXECUTIONS.get_or_init(|| {
        let owned = String::from("once");
        LazyLock::new(Box::new(move || owned) as Box<dyn FnOnce() -> String + Send>)
    });
    let f = fail(&Config::new("t::lazy_twice").loom_only(), || {
        let n = Arc::new(AtomicUsize::new(0));
        let h = {
            let n = n.clone();
            thread::spawn(move || n.fetch_add(1, SeqCst))
        };
        n.fetch_add(1, SeqCst);
        h.join().unwrap();
        assert_eq!(OUTLIVES_EXECUTIONS.get().unwrap().as_str(), "once");
    });
    assert!(
        f.message.contains("forced again in a later execution"),
        "{}",
        f.message
    );
}

/// The holder of a mutex panics (caught) while the main thread waits for the lock: std and
/// shuttle return `Err(PoisonError)` to the waiter, loom's `lock` unwraps it itself when it
/// resumes the waiter. Either way the failure is the waiter's (T0), at its `lock` line; under
/// loom the holder had recorded last, and the report named it.
#[test]
fn a_poisoned_lock_fails_in_the_thread_that_locks_it() {
    use heisen::sync::atomic::AtomicBool;
    fn body() {
        let m = Arc::new(Mutex::new(0));
        let waiting = Arc::new(AtomicBool::new(false));
        let h = {
            let (m, waiting) = (m.clone(), waiting.clone());
            thread::spawn(move || {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let _g = m.lock().unwrap();
                    while !waiting.load(SeqCst) {
                        thread::yield_now();
                    }
                    panic!("holder panics");
                }));
            })
        };
        waiting.store(true, SeqCst);
        drop(m.lock().unwrap());
        let _ = h.join();
    }
    for cfg in both("t::poisoned_lock") {
        let f = fail(&cfg, body);
        assert!(f.message.contains("PoisonError"), "{}", f.message);
        assert_eq!(f.thread, 0, "{}", f.report);
        assert!(
            f.report.contains("T0 │ PANIC: called `Result::unwrap()`"),
            "{}",
            f.report
        );
        let at = f.report.lines().find(|l| l.trim_start().starts_with("at:"));
        assert!(
            at.is_some_and(|l| l.contains("drop(m.lock().unwrap());")),
            "{}",
            f.report
        );
    }
}

static SEEN: std::sync::Mutex<Vec<(Option<u32>, Option<u32>)>> = std::sync::Mutex::new(Vec::new());
static DROPPED_LATE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
struct ReadsOnDrop;
impl Drop for ReadsOnDrop {
    fn drop(&mut self) {
        // FIRST was created before this value: destroyed already. LATER: created after, live.
        let seen = (
            FIRST.try_with(Cell::get).ok(),
            LATER.try_with(Cell::get).ok(),
        );
        SEEN.lock().unwrap().push(seen);
        // A key first touched by a destructor is created, and destroyed in its turn.
        LATE.with(|_| ());
    }
}
struct CountsDrop;
impl Drop for CountsDrop {
    fn drop(&mut self) {
        DROPPED_LATE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}
heisen::thread_local! {
    static FIRST: Cell<u32> = const { Cell::new(1) };
    static READS: std::cell::RefCell<Option<ReadsOnDrop>> = const { std::cell::RefCell::new(None) };
    static LATER: Cell<u32> = const { Cell::new(2) };
    static LATE: CountsDrop = const { CountsDrop };
}

#[test]
fn thread_locals_are_destroyed_in_creation_order_and_usable_from_destructors() {
    SEEN.lock().unwrap().clear();
    DROPPED_LATE.store(0, std::sync::atomic::Ordering::SeqCst);
    let s = check(&Config::new("t::tls_order").loom_only(), || {
        thread::spawn(|| {
            FIRST.with(|_| ());
            READS.with(|r| *r.borrow_mut() = Some(ReadsOnDrop));
            LATER.with(|_| ());
        })
        .join()
        .unwrap();
    })
    .unwrap_or_else(|f| panic!("{f}"));
    let execs = s.runs[0].executions as usize;
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(seen, vec![(None, Some(2)); execs]);
    assert_eq!(
        DROPPED_LATE.load(std::sync::atomic::Ordering::SeqCst),
        execs
    );
}

/// One body against loom's own `Arc` (hand-wired `loom::model`) and the facade's: the same
/// number of executions (loom's `rwlock_read_two_write_one` shape; std's `Arc` in the facade
/// gave 10 where loom's `Arc` gives 36).
#[test]
fn arc_exploration_matches_loom_s_own_arc() {
    macro_rules! body {
        ($m:ident) => {{
            let lock = $m::sync::Arc::new($m::sync::RwLock::new(1));
            for _ in 0..2 {
                let lock = lock.clone();
                $m::thread::spawn(move || {
                    let _l = lock.read().unwrap();
                    $m::thread::yield_now();
                });
            }
            let _l = lock.write().unwrap();
            $m::thread::yield_now();
        }};
    }
    static NATIVE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    for bound in [Some(2), None] {
        NATIVE.store(0, std::sync::atomic::Ordering::SeqCst);
        let mut b = loom::model::Builder::new();
        b.preemption_bound = bound;
        b.check(|| {
            NATIVE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            body!(loom)
        });
        let cfg = Config::new("t::arc_explore")
            .loom_only()
            .preemption_bound(bound);
        let s = check(&cfg, || body!(heisen)).unwrap_or_else(|f| panic!("{f}"));
        assert_eq!(
            s.runs[0].executions,
            NATIVE.load(std::sync::atomic::Ordering::SeqCst),
            "bound {bound:?}"
        );
    }
}

/// std semantics the conformance suite found missing (issue #15): the body's thread is
/// unnamed under both backends; `Once`/`OnceLock` keep their state when moved; atomics' `Debug`
/// and `Pointer` print the value as std's do; a detached thread's result is dropped before its
/// thread-locals (so its destructor can still use them).
#[test]
fn thread_names_moved_onces_atomic_formatting_and_detached_results_are_std_s() {
    concurrently("t::std_semantics", || {
        assert_eq!(thread::current().name(), None);
        let once = Box::new(heisen::sync::Once::new());
        once.call_once(|| {});
        let moved = Box::new(*once);
        assert!(moved.is_completed());
        assert!(!heisen::sync::Once::new().is_completed());
        let cell = Box::new(OnceLock::new());
        assert_eq!(cell.set(3), Ok(()));
        let moved = Box::new(*cell);
        assert_eq!(moved.get(), Some(&3));
        let a = AtomicUsize::new(7);
        assert_eq!(format!("{a:?}"), "7");
        let mut x = 0u8;
        let p = heisen::sync::atomic::AtomicPtr::new(&mut x as *mut u8);
        assert_eq!(
            format!("{p:?} {p:p}"),
            format!("{0:?} {0:p}", &mut x as *mut u8)
        );
    });
    heisen::thread_local! {
        static LOCAL: Cell<u32> = const { Cell::new(0) };
    }
    struct SendsLocalOnDrop(mpsc::Sender<u32>);
    impl Drop for SendsLocalOnDrop {
        fn drop(&mut self) {
            let _ = self.0.send(LOCAL.with(Cell::get));
        }
    }
    pass_both("t::detached_result", || {
        let (tx, rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        drop(thread::spawn(move || {
            LOCAL.with(|l| l.set(1));
            go_rx.recv().unwrap(); // returns once the JoinHandle is gone
            SendsLocalOnDrop(tx)
        }));
        go_tx.send(()).unwrap();
        assert_eq!(rx.recv().unwrap(), 1);
    });
}
