use super::{exclusive, exclusive_place, is_unsafe_cell_get, ordering_fix, unsafe_cell_with};
use crate::analysis::atomics::{
    acquired_in, acquires, any_acquire, failure_value_used, in_failure_path, is_atomic_op, is_cas,
    is_spin_acquire,
};
use crate::analysis::locks::Guards;
use crate::analysis::{Deps, Event, EventId, EventKind, FnFacts, MemOrdering, Place, Root};
use crate::declare_rule;
use crate::finding::{Finding, Region};
use crate::index::CrateIndex;
use crate::rules::{event_region, finding, label, CrateContext, FileCx, Rule, RuleMeta};
use std::collections::{HashMap, HashSet};

declare_rule! {
    /// ### What it does
    /// Finds a `Relaxed` atomic `load` (or a `compare_exchange` with `Relaxed` success) whose
    /// result decides or locates an access to other memory: a wait loop on a flag followed by reading data through an `UnsafeCell`; an
    /// `if flag.load(Relaxed)` around such a read; a pointer loaded from an `AtomicPtr` and
    /// then dereferenced; an index loaded and then used to read a slot through an
    /// `UnsafeCell`. Not reported when an `Acquire` (or stronger) fence or atomic operation
    /// sits between the load and the access.
    ///
    /// An atomic that the crate publishes with a `Release` `store`/`swap` but that no
    /// operation anywhere in the crate acquires (no `Acquire` load or read-modify-write, no
    /// `Relaxed` load followed by `fence(Acquire)`) is a release with nothing to pair with:
    /// a `Relaxed` load of it whose value decides what is done to the object holding it
    /// (`if inner.notified.load(Relaxed) < n { inner.lock().notify(n) }`) is reported, with
    /// the store as a label.
    ///
    /// A `compare_exchange` whose success ordering acquires but whose *failure* ordering is
    /// `Relaxed` is reported when the value it returns in `Err` (matched with `Err(x)`, or
    /// `.unwrap_or_else(|x| x)`) is the pointer or index of the read: the loser of a race to
    /// install a global table uses the winner's table without acquiring its initialization.
    /// Conversely the success ordering governs only the `Ok` path: with `Relaxed` success and
    /// an acquiring failure ordering, what the `Err(cur)` arm reads through `cur` is ordered.
    /// The atomic may be reached through an alias (`let b = unsafe {
    /// table.buckets.get_unchecked(i) }`, `&*ptr`); a `&mut self` function owns only what it
    /// reaches through `self`, not a `&Table` parameter it walks.
    ///
    /// ### Why is this bad
    /// This is the consumer half of the release/acquire bug. Even when the producer stores
    /// the flag with `Release`, a `Relaxed` load does not synchronize with it: the data reads
    /// after the load may be satisfied with values from before the producer's writes (the CPU
    /// or the compiler may even perform them before the load). The consumer sees
    /// `ready == true` and reads stale data, or follows a pointer into memory that is not
    /// initialized yet. x86 hides this (its loads are not reordered with other loads), so it
    /// passes every test there and fails on ARM or after an optimizer change.
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn consume(&self) -> T {
    ///     while !self.ready.load(Ordering::Relaxed) {
    ///         std::hint::spin_loop();
    ///     }
    ///     unsafe { (*self.data.get()).clone() }
    /// }
    /// ```
    ///
    /// ### Use instead
    /// ```rust,ignore
    /// fn consume(&self) -> T {
    ///     while !self.ready.load(Ordering::Acquire) {
    ///         std::hint::spin_loop();
    ///     }
    ///     unsafe { (*self.data.get()).clone() }
    /// }
    /// ```
    /// (or keep the `Relaxed` loop and put `std::sync::atomic::fence(Ordering::Acquire)` after
    /// it).
    ///
    /// ### Known limitations
    /// The load and the access must be in the same function. Accesses are recognized through
    /// `UnsafeCell` fields declared in the crate and dereferences of pointers loaded from the
    /// atomic; data behind references of unknown origin is not. Any acquiring atomic operation
    /// between the load and the access silences the finding, even one on another atomic.
    /// Only reads are reported, not writes made under a flag check (usually the owner's).
    /// Atomics reached through `self` in functions that own `self` exclusively (`&mut self`,
    /// `Drop`), and functions that hold a lock guard, are skipped. Of a failed
    /// `compare_exchange` only reads located by the returned value count, not code that runs
    /// because it failed. Atomics are matched across the crate by field or static name, so a
    /// field of the same name acquired in another struct silences the unpaired-release case;
    /// a value only returned, only used to decide when to log, or that becomes the expected
    /// value of a CAS on the same atomic decides nothing here, and neither does an atomic with
    /// no owning object (a `&AtomicU64` parameter, a static). A pointer is followed when it
    /// is loaded from a field or static declared as an
    /// `AtomicPtr`; one loaded from a parameter or local (`data: &AtomicPtr<()>`, the shape of
    /// a vtable function) is not: the stores that publish it are the caller's to see.
    pub static RELAXED_CONSUME = {
        name: "relaxed-consume",
        group: MemoryOrdering,
        level: Warn,
        summary: "a `Relaxed` load gates or locates a read of other memory without acquire ordering",
    };
}

pub struct RelaxedConsume;

/// Pointer methods that read (or hand out a reference to) the pointee.
const PTR_READS: &[&str] = &[
    "as_ref",
    "as_mut",
    "read",
    "read_volatile",
    "read_unaligned",
    "assume_init_read",
    "assume_init_ref",
];

/// How the access depends on the load.
#[derive(Clone, Copy, PartialEq)]
enum Gate {
    /// The access runs only when the loaded value says so (`if`, early return, wait loop).
    Control,
    /// The loaded value is the pointer or index used by the access.
    Data,
}

/// One access to other memory: where, at which event position, and its deps.
struct Access {
    region: Region,
    /// The access happens after `events[..pos]`.
    pos: EventId,
    data: Deps,
    control: Deps,
    loops: Vec<usize>,
    closure_depth: usize,
    through_cell: bool,
    is_write: bool,
    /// The cell accessed (for `UnsafeCell` accesses).
    place: Option<Place>,
}

fn accesses(index: &CrateIndex, func: &FnFacts) -> Vec<Access> {
    let mut out = Vec::new();
    let is_assign_target = |id: EventId| {
        func.events[id + 1..]
            .iter()
            .any(|e| matches!(e.kind, EventKind::Assign { .. }) && e.receiver_deps.contains(&id))
    };
    for ev in &func.events {
        let with = unsafe_cell_with(index, ev);
        let cell = is_unsafe_cell_get(index, ev) || with.is_some();
        let ptr_read = ev.kind == EventKind::MethodCall
            && PTR_READS.contains(&ev.name.as_str())
            && ev.args.is_empty();
        let ptr_call = ev.kind == EventKind::Call
            && ev.name.contains("ptr::")
            && (ev.name.ends_with("::read") || ev.name.ends_with("::read_volatile"));
        if !(cell || ptr_read || ptr_call) {
            continue;
        }
        let mut data = ev.receiver_deps.clone();
        data.extend(ev.data_deps.iter().copied());
        out.push(Access {
            region: event_region(ev),
            pos: ev.id,
            data,
            control: ev.control_deps.clone(),
            loops: ev.loops.clone(),
            closure_depth: ev.closure_depth,
            through_cell: cell,
            is_write: with == Some(true) || (cell && is_assign_target(ev.id)),
            place: ev.receiver.clone().filter(|_| cell),
        });
    }
    for d in &func.derefs {
        out.push(Access {
            region: d.region,
            pos: d.after,
            data: d.deps.clone(),
            control: d.control_deps.clone(),
            loops: d.loops.clone(),
            closure_depth: d.closure_depth,
            through_cell: false,
            is_write: d.is_write,
            place: None,
        });
    }
    out.sort_by_key(|a| a.pos);
    out
}

/// Whether (and how) the access `a` is gated by the load `l`.
fn gate(func: &FnFacts, l: &Event, a: &Access) -> Option<Gate> {
    if a.pos <= l.id || a.closure_depth != l.closure_depth {
        return None;
    }
    if a.data.contains(&l.id) {
        return Some(Gate::Data);
    }
    if a.control.contains(&l.id) {
        return Some(Gate::Control);
    }
    // A wait loop: the load decides when the loop ends (a `while` condition, or the
    // condition of a `break`), and the access comes after the loop.
    func.loops
        .iter()
        .enumerate()
        .filter(|(i, lp)| !a.loops.contains(i) && lp.region.precedes(&a.region))
        .any(|(i, lp)| {
            lp.header_deps.contains(&l.id) || (l.loops.contains(&i) && lp.exit_deps.contains(&l.id))
        })
        .then_some(Gate::Control)
}

/// Whether the cell `data` belongs with the flag `flag`: a field of the object that holds the
/// flag (`self.ready` / `self.data`, `self.tail` / `self.slots[].value`), or both statics. A
/// flag of one object that gates a cell of another (a queue entry's key checked while the
/// bucket's own lock protects the bucket's cell) is a different protocol.
fn same_object(flag: &Place, data: &Place) -> bool {
    match flag.text.rsplit_once('.') {
        Some((parent, _)) => {
            data.text == parent
                || data
                    .text
                    .strip_prefix(parent)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        }
        None => flag.root == Root::Static && data.root == Root::Static,
    }
}

/// The atomics (by field or static name) the crate writes with a bare `Release` — a `store`
/// or `swap` whose ordering is exactly `Release`: the writer means to publish — and
/// the names some operation acquires (an acquiring `load`/read-modify-write/CAS success or
/// failure ordering, or a `Relaxed` load followed by `fence(Acquire)` in its function).
/// Returns, per published name that nothing acquires, the first publishing store (file
/// index, region).
fn unpaired_releases(cx: &CrateContext<'_>) -> HashMap<String, (usize, Region)> {
    let mut published: HashMap<String, (usize, Region)> = HashMap::new();
    let mut acquired: HashSet<String> = HashSet::new();
    for (fi, file) in cx.files.iter().enumerate() {
        for func in &file.facts.functions {
            acquired.extend(acquired_in(func).into_iter().map(str::to_string));
            for ev in func.events.iter().filter(|e| is_atomic_op(e)) {
                let Some(recv) = &ev.receiver else {
                    continue;
                };
                if matches!(ev.name.as_str(), "store" | "swap")
                    && ev.orderings().first() == Some(&MemOrdering::Release)
                {
                    let name = recv.last_name().to_string();
                    published.entry(name).or_insert((fi, event_region(ev)));
                }
            }
        }
    }
    published.retain(|n, _| !acquired.contains(n));
    published
}

/// The atomic `l` reads, when another thread may reach it: not a local built here, not a
/// place of `self` in a function that owns `self` exclusively.
fn shared_receiver<'f>(func: &FnFacts, l: &'f Event) -> Option<&'f Place> {
    l.receiver
        .as_ref()
        .filter(|r| r.maybe_shared() && !exclusive_place(func, r))
}

/// Whether the value of `l` decides what is done to the object that holds the atomic: some
/// later event that runs only as the value says is a non-atomic access to that object
/// (`if inner.notified.load(Relaxed) < n { inner.lock().notify(n) }`). A value that only
/// decides when to log, or that becomes the expected value of a CAS on the same atomic (which
/// checks it again), hands nothing over; an atomic with no owning object (a `&AtomicU64`
/// parameter, a static) guards nothing this can see.
fn decides(func: &FnFacts, l: &Event, recv: &Place) -> bool {
    let Some((parent, _)) = recv.text.rsplit_once('.') else {
        return false;
    };
    let retried = func.events[l.id + 1..]
        .iter()
        .any(|e| is_atomic_op(e) && e.receiver == l.receiver && e.data_deps.contains(&l.id));
    let of_object = |p: &Place| {
        p.text == parent
            || p.text
                .strip_prefix(parent)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    };
    !retried
        && func.events[l.id + 1..].iter().any(|e| {
            e.closure_depth == l.closure_depth
                && e.control_deps.contains(&l.id)
                && matches!(e.kind, EventKind::MethodCall | EventKind::Assign { .. })
                && !is_atomic_op(e)
                && e.receiver.as_ref().is_some_and(of_object)
        })
}

impl RelaxedConsume {
    /// `Relaxed` loads of an atomic the crate publishes with `Release` and never acquires,
    /// whose value decides what runs next.
    fn unpaired(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        let mut unpaired = None;
        for (file, func) in cx.functions() {
            // A function that owns its object exclusively (`&mut self`, `Drop`) reads what
            // the previous owner handed over when it got the `&mut`; nothing to pair here.
            if func.is_test || exclusive(func) {
                continue;
            }
            let mut guards = None;
            for l in func.events.iter().filter(|e| e.is_method("load", 1)) {
                if l.args[0].ordering != Some(MemOrdering::Relaxed) {
                    continue;
                }
                let Some(recv) = shared_receiver(func, l) else {
                    continue;
                };
                let unpaired = unpaired.get_or_insert_with(|| unpaired_releases(cx));
                let Some(&(store_file, store_region)) = unpaired.get(recv.last_name()) else {
                    continue;
                };
                if !decides(func, l, recv)
                    || guards
                        .get_or_insert_with(|| Guards::of(cx.index, func))
                        .live_at(l)
                {
                    continue;
                }
                let store_rel = &cx.files[store_file].source.rel;
                let mut f = finding(
                    &RELAXED_CONSUME,
                    file,
                    event_region(l),
                    format!(
                        "`{}` is published with `Release` ({store_rel}:{}) but no operation in \
                         the crate acquires it; this `Relaxed` load decides what runs next \
                         without synchronizing with that store, so the writes made before it \
                         may not be visible",
                        recv.text, store_region.line
                    ),
                    format!(
                        "load `{}` with `Ordering::Acquire` to pair with the `Release` store",
                        recv.text
                    ),
                );
                f.fix = ordering_fix(&l.args[0], "Acquire");
                f.labels.push(crate::finding::Label {
                    region: store_region,
                    message: "published with `Release` here".into(),
                    file: (store_rel != &file.source.rel).then(|| store_rel.clone()),
                });
                out.push(f);
            }
        }
    }
}

impl Rule for RelaxedConsume {
    fn meta(&self) -> &'static RuleMeta {
        &RELAXED_CONSUME
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        // Loads already reported as gating a read: (file, line, column).
        let mut reported: HashSet<(String, usize, usize)> = HashSet::new();
        for (file, func) in cx.functions() {
            let mut acc: Option<Vec<Access>> = None;
            let mut guards = None;
            for l in &func.events {
                // A `load`, or a `compare_exchange` whose success decides the access (a lock
                // taken that way is `relaxed-lock`'s).
                // `failed`: only the value a failed CAS returns is unordered (success orders,
                // failure is `Relaxed`): then only what that value locates counts.
                // `acquired_on_failure`: the success ordering is `Relaxed` but the failure
                // ordering acquires: what the `Err` arm reads is ordered.
                let mut acquired_on_failure = false;
                let (arg, failed) = if l.is_method("load", 1) {
                    (&l.args[0], false)
                } else if is_cas(l) && !is_spin_acquire(func, l) {
                    let relaxed =
                        |a: &crate::analysis::Arg| a.ordering == Some(MemOrdering::Relaxed);
                    if relaxed(&l.args[2]) {
                        acquired_on_failure = l.args[3].ordering.is_some_and(acquires);
                        (&l.args[2], false)
                    } else if relaxed(&l.args[3]) && failure_value_used(func, l) {
                        (&l.args[3], true)
                    } else {
                        continue;
                    }
                } else {
                    continue;
                };
                if arg.ordering != Some(MemOrdering::Relaxed) {
                    continue;
                }
                let Some(recv) = shared_receiver(func, l) else {
                    continue;
                };
                if guards
                    .get_or_insert_with(|| Guards::of(cx.index, func))
                    .live_at(l)
                {
                    continue;
                }
                // Fields and statics only (see Known limitations).
                let is_ptr =
                    matches!(recv.root, Root::SelfValue | Root::Static) || recv.text.contains('.');
                let is_ptr = is_ptr && cx.index.type_is(func, recv, |t| t.contains("AtomicPtr"));
                let accesses = acc.get_or_insert_with(|| accesses(cx.index, func));
                let hit = accesses.iter().find(|a| {
                    let Some(g) = gate(func, l, a) else {
                        return false;
                    };
                    if let Some(p) = &a.place {
                        if !same_object(recv, p) {
                            return false;
                        }
                    }
                    if failed && g != Gate::Data {
                        return false;
                    }
                    if acquired_on_failure && in_failure_path(func, l, &a.region) {
                        return false;
                    }
                    let kind_ok = match g {
                        // A pointer loaded from an `AtomicPtr` and followed; or an index
                        // that locates a slot read through a cell.
                        Gate::Data => !a.is_write && (is_ptr || a.through_cell),
                        // A flag that says the cell's data is ready to read. Writes under a
                        // flag check are usually the owner's (a driver holding its lock).
                        Gate::Control => a.through_cell && !a.is_write,
                    };
                    kind_ok && !any_acquire(&func.events[l.id + 1..a.pos.min(func.events.len())])
                });
                let Some(a) = hit else {
                    continue;
                };
                let f = consume_finding(file, l, recv, a, arg, failed, is_ptr);
                reported.insert((f.file.clone(), f.region.line, f.region.column));
                out.push(f);
            }
        }
        let mut more = Vec::new();
        self.unpaired(cx, &mut more);
        out.extend(
            more.into_iter()
                .filter(|f| !reported.contains(&(f.file.clone(), f.region.line, f.region.column))),
        );
    }
}

/// The finding for the `Relaxed` read `l` of `recv` (its ordering argument `arg`) that gates
/// the access `a`: `failed` when it is a CAS's failure value, `is_ptr` when `recv` is an
/// `AtomicPtr`.
fn consume_finding(
    file: &FileCx<'_>,
    l: &Event,
    recv: &Place,
    a: &Access,
    arg: &crate::analysis::Arg,
    failed: bool,
    is_ptr: bool,
) -> Finding {
    let name = recv.last_name();
    let message = if failed {
        format!(
            "`{}.{}` has `Relaxed` failure ordering and the value it returns on \
             failure (another thread's store) is used to read shared data; that \
             thread's writes before the store may not be visible yet",
            recv.text, l.name
        )
    } else if is_ptr && !a.through_cell {
        format!(
            "the pointer loaded from `{}` with `Relaxed` is dereferenced; the \
             pointee's initialization may not be visible to this thread",
            recv.text
        )
    } else {
        format!(
            "`{}` is loaded with `Relaxed` and decides a read of shared data; the \
             data written before `{name}` was set may not be visible yet",
            recv.text
        )
    };
    let mut f = finding(
        &RELAXED_CONSUME,
        file,
        event_region(l),
        message,
        if failed {
            format!(
                "give `{}.{}` the failure ordering `Ordering::Acquire` (Rust before \
                 1.64 also needs `AcqRel` or `SeqCst` on success)",
                recv.text, l.name
            )
        } else {
            format!(
                "load `{}` with `Ordering::Acquire` (paired with `Release` on the \
                 store), or put `std::sync::atomic::fence(Ordering::Acquire)` before \
                 the access",
                recv.text
            )
        },
    );
    f.fix = ordering_fix(arg, "Acquire");
    label(&mut f, a.region, "the data is read here");
    f
}
