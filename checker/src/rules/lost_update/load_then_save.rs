use crate::analysis::atomics::is_atomic_op;
use crate::analysis::locks::Guards;
use crate::analysis::{Event, EventKind, FnFacts};
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, label, CrateContext, FileCx, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds a record loaded from a store object and saved back to the same object with a value
    /// computed from the load, with no lock held across the two: `let s = store.load(&id)?;` …
    /// `store.save(&record_from(s))`. Loads are `load`, `get`, `find`, `fetch`, `find_by_id`,
    /// `get_by_id`, `load_by_id`; saves are `save`, `put`, `upsert`, `update`, `persist` — the
    /// repository and session-store vocabulary, on any receiver that is shared (a field, a
    /// parameter, a cloned handle).
    ///
    /// ### Why is this bad
    /// The store runs the two calls as two steps. Two requests of one session (or one account,
    /// one document) both load the same record, each changes its copy, and the second save
    /// overwrites the first request's change: a lost update with no error. tower-sessions 0.2.3
    /// lost session data this way (load at the start of a request, save of the whole record at
    /// its end).
    ///
    /// ### Example
    /// ```rust,ignore
    /// async fn handle(&self, id: Id, item: Item) -> Result<(), Error> {
    ///     let mut cart = self.store.load(&id).await?;
    ///     cart.items.push(item);
    ///     self.store.save(&cart).await?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ### Use instead
    /// Hold a lock (per key, or one for the store) from the load to the save; or make the save
    /// conditional on what was loaded (a version or ETag the store checks, retrying on a
    /// conflict); or send the change, not the whole record (`store.add_item(&id, item)`):
    /// ```rust,ignore
    /// async fn handle(&self, id: Id, item: Item) -> Result<(), Error> {
    ///     let _guard = self.locks.lock(&id).await;
    ///     let mut cart = self.store.load(&id).await?;
    ///     cart.items.push(item);
    ///     self.store.save(&cart).await?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ### Known limitations
    /// The store is recognised by the method names above on one receiver place, not by its
    /// type: a save that checks a version inside the store is not seen, except when an
    /// argument of the save names one (`version`, `etag`, `revision`, `expected`). Not
    /// reported: one lock guard live at both calls, a guard taken between them
    /// (`read-before-lock`'s), calls on a lock guard itself (the store is the guarded
    /// value), `get`/`set`, `read`/`write` and `load`/`store` pairs (cells, raw pointers,
    /// atomics), SQL strings (`sql-read-then-write`) and Redis commands
    /// (`kv-read-then-write`), `&mut self` and `&mut` parameter places (except a cloned handle:
    /// `let store = self.store.clone()` shares what the field points to), locals built in
    /// the function, and test code. Data flow is followed within one function.
    pub static LOAD_THEN_SAVE = {
        name: "load-then-save",
        group: LostUpdate,
        level: Warn,
        summary: "a record is loaded from a store and saved back from what was loaded, with no lock or version across the two",
    };
}

pub struct LoadThenSave;

fn is_load_name(name: &str) -> bool {
    matches!(
        name,
        "load" | "get" | "find" | "fetch" | "find_by_id" | "get_by_id" | "load_by_id"
    )
}

fn is_save_name(name: &str) -> bool {
    matches!(name, "save" | "put" | "upsert" | "update" | "persist")
}

/// Whether an argument of the save names a version the store can check.
fn versioned(w: &Event) -> bool {
    w.args.iter().any(|a| {
        let t = a.text.to_ascii_lowercase();
        ["version", "etag", "revision", "expected"]
            .iter()
            .any(|k| t.contains(k))
    })
}

fn check_fn(cx: &CrateContext<'_>, file: &FileCx<'_>, func: &FnFacts, out: &mut Vec<Finding>) {
    // Built on the first candidate pair: most functions have none.
    let mut guards = None;
    for w in func.events.iter().filter(|e| {
        e.kind == EventKind::MethodCall
            && is_save_name(&e.name)
            && !is_atomic_op(e)
            && func.shared_receiver(e)
    }) {
        let Some(place) = w.receiver.as_ref() else {
            continue;
        };
        let Some(r) = func.events[..w.id].iter().rev().find(|r| {
            r.kind == EventKind::MethodCall
                && is_load_name(&r.name)
                && r.closure_depth == w.closure_depth
                && r.receiver.as_ref().is_some_and(|p| p.text == place.text)
                && w.args.iter().any(|a| a.deps.contains(&r.id))
        }) else {
            continue;
        };
        if versioned(w) {
            continue;
        }
        let g = guards.get_or_insert_with(|| Guards::of(cx.index, func));
        if g.live_across(r, w) || g.taken_between(r, w).is_some() || g.through(w) {
            continue;
        }
        let mut f = finding(
            &LOAD_THEN_SAVE,
            file,
            event_region(w),
            format!(
                "`{p}.{}()` saves a value computed from `{p}.{}()` with no lock across the two; \
                 a save by another request in between is overwritten",
                w.name,
                r.name,
                p = place.text
            ),
            format!(
                "hold a lock (per key) from `{p}.{}()` to `{p}.{}()`, or make the save \
                 conditional on a version the load returned, or save only the change",
                r.name,
                w.name,
                p = place.text
            ),
        );
        label(
            &mut f,
            event_region(r),
            format!("the record is loaded here (`{}.{}()`)", place.text, r.name),
        );
        out.push(f);
    }
}

impl Rule for LoadThenSave {
    fn meta(&self) -> &'static RuleMeta {
        &LOAD_THEN_SAVE
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            if func.is_test || func.cfg_test {
                continue;
            }
            check_fn(cx, file, func, out);
        }
    }
}
