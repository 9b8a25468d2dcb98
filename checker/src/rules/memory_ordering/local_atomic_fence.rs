use crate::analysis::atomics::is_atomic_op;
use crate::analysis::{Event, EventKind, FnFacts, Root};
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds a read-modify-write on an atomic that the function builds for itself and never
    /// shares, whose result is thrown away — a fence made of an RMW
    /// (`let a = AtomicUsize::new(0); let _ = a.compare_exchange(0, 1, SeqCst, SeqCst);`), with
    /// no `compiler_fence` in the function.
    ///
    /// ### Why is this bad
    /// On x86 a locked `cmpxchg` is a full hardware barrier, and the trick is sometimes faster
    /// than `fence(SeqCst)`. But the language's memory model orders accesses only through
    /// atomics other threads can see: an RMW on a variable no other thread reaches
    /// synchronizes with nothing, so the compiler may move the surrounding loads and stores
    /// across it (event-listener 2.5.2's `full_fence`, fixed in 2.5.3; Miri and loom see no
    /// fence either).
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn full_fence() {
    ///     let a = AtomicUsize::new(0);
    ///     let _ = a.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst);
    /// }
    /// ```
    ///
    /// ### Use instead
    /// `std::sync::atomic::fence(Ordering::SeqCst)`; or keep the hack and stop the compiler
    /// from moving accesses across it with `compiler_fence(SeqCst)` on both sides (and a real
    /// fence under Miri), as event-listener 2.5.3 does:
    /// ```rust,ignore
    /// fn full_fence() {
    ///     compiler_fence(Ordering::SeqCst);
    ///     let a = AtomicUsize::new(0);
    ///     let _ = a.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst);
    ///     compiler_fence(Ordering::SeqCst);
    /// }
    /// ```
    ///
    /// ### Known limitations
    /// The atomic must be a `let` binding initialised by a constructor call
    /// (`AtomicUsize::new(..)`, `Default::default()`) and used by nothing but atomic
    /// operations in the function (not passed, borrowed into a call, returned or captured by
    /// a spawned closure). Any `compiler_fence` call in the function counts as the fix.
    pub static LOCAL_ATOMIC_FENCE = {
        name: "local-atomic-fence",
        group: MemoryOrdering,
        level: Warn,
        summary: "an RMW on an atomic no other thread can see is used as a fence: it orders nothing",
    };
}

pub struct LocalAtomicFence;

/// Whether `name` (a local atomic) appears in `ev` other than as the receiver of an atomic op.
fn other_use(ev: &Event, name: &str) -> bool {
    let mentions = |t: &str| {
        t.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| w == name)
    };
    let as_receiver = is_atomic_op(ev) && ev.receiver.as_ref().is_some_and(|p| p.text == name);
    !as_receiver
        && (ev.args.iter().any(|a| mentions(&a.text))
            || ev.receiver.as_ref().is_some_and(|p| mentions(&p.text)))
}

/// The RMW fences of `func`.
fn local_fences(func: &FnFacts) -> impl Iterator<Item = &Event> {
    func.events.iter().filter(move |ev| {
        if !is_atomic_op(ev) || matches!(ev.name.as_str(), "load" | "store") || ev.closure_depth > 0
        {
            return false;
        }
        let Some(p) = &ev.receiver else { return false };
        let Root::Local {
            init: Some(init), ..
        } = &p.root
        else {
            return false;
        };
        let local = !p.text.contains(['.', '['])
            && (init.ends_with("::new") || init.ends_with("::default"))
            && !p.maybe_shared();
        let discarded = !func.returns.contains(&ev.id)
            && !func.events[ev.id + 1..]
                .iter()
                .any(|e| e.data_deps.contains(&ev.id) || e.control_deps.contains(&ev.id))
            && !func
                .bindings
                .iter()
                .any(|b| b.name != "_" && b.deps.contains(&ev.id));
        local
            && discarded
            && !func
                .events
                .iter()
                .any(|e| e.kind == EventKind::Call && other_use(e, &p.text))
            && !func
                .events
                .iter()
                .any(|e| e.kind == EventKind::MethodCall && e.id != ev.id && other_use(e, &p.text))
    })
}

impl Rule for LocalAtomicFence {
    fn meta(&self) -> &'static RuleMeta {
        &LOCAL_ATOMIC_FENCE
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            let compiler_fenced = func.events.iter().any(|e| {
                e.kind == EventKind::Call
                    && crate::analysis::last_segment(&e.name) == "compiler_fence"
            });
            if compiler_fenced {
                continue;
            }
            for ev in local_fences(func) {
                let recv = ev.receiver.as_ref().map_or("", |p| p.text.as_str());
                out.push(finding(
                    &LOCAL_ATOMIC_FENCE,
                    file,
                    event_region(ev),
                    format!(
                        "`{recv}.{}(..)` on an atomic only this function can see orders \
                         nothing: to the memory model it is no fence, and the compiler may move \
                         the surrounding accesses across it",
                        ev.name
                    ),
                    "use `std::sync::atomic::fence(Ordering::SeqCst)`, or put \
                     `compiler_fence(Ordering::SeqCst)` on both sides of the RMW"
                        .to_string(),
                ));
            }
        }
    }
}
