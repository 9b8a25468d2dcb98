use crate::analysis::locks::{acquisitions, acts_through, held_at};
use crate::analysis::{Event, EventKind, FnFacts};
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, label, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds a concurrent map (`DashMap`, `DashSet`, moka caches, `scc::HashMap`, `flurry`,
    /// `chashmap`) or a std `HashMap`/`BTreeMap` behind a lock that is read with
    /// `contains_key`/`get` and then written with `insert`/`remove` of the same key, where the
    /// write only happens because of the read or writes a value computed from it. For a map
    /// behind a `Mutex`/`RwLock`, the read and the write must use separate lock acquisitions.
    ///
    /// ### Why is this bad
    /// Every map call is atomic on its own; the pair is not. Two threads withdrawing 50 from an
    /// account whose balance of 100 lives in `balances` both `get` 100, both pass the `>= 50`
    /// check and both `insert` 50: one withdrawal is lost. With `contains_key` then `insert`, two
    /// threads both see the key missing and the second insert silently replaces the first
    /// thread's value (a cache computed twice, a session or a reservation overwritten).
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn withdraw(&self, id: u64, amount: i64) -> Result<(), Insufficient> {
    ///     let balance = *self.balances.get(&id).ok_or(Insufficient)?;
    ///     if balance < amount {
    ///         return Err(Insufficient);
    ///     }
    ///     self.balances.insert(id, balance - amount);
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ### Use instead
    /// The map's entry / compute / upsert API, which reads and writes under one shard lock:
    /// ```rust,ignore
    /// fn withdraw(&self, id: u64, amount: i64) -> Result<(), Insufficient> {
    ///     let mut balance = self.balances.get_mut(&id).ok_or(Insufficient)?;
    ///     if *balance < amount {
    ///         return Err(Insufficient);
    ///     }
    ///     *balance -= amount;
    ///     Ok(())
    /// }
    /// ```
    /// (`entry(k).or_insert_with(..)` for insert-if-absent; moka `entry(k).or_insert_with` /
    /// `and_compute_with`; `scc::HashMap::entry`/`upsert`; for a locked std map, one guard and
    /// its `entry` API.)
    ///
    /// ### Known limitations
    /// Maps are recognized by their declared type (struct fields, statics, parameters, typed or
    /// constructed locals); type aliases, `papaya` pinned handles and `evmap` handles are not
    /// followed. Keys are compared by their normalized expression text, so the same key computed
    /// twice in different ways is not matched. Data flow is followed within one function.
    pub static MAP_CHECK_THEN_ACT = {
        name: "map-check-then-act",
        group: LostUpdate,
        level: Warn,
        summary: "a shared map is checked with contains_key/get, then the same key is inserted or removed as a separate step",
    };
}

pub struct MapCheckThenAct;

const READS: &[&str] = &[
    "contains_key",
    "contains",
    "get",
    "get_mut",
    "get_async",
    "contains_async",
    "read",
    "read_async",
];
const WRITES: &[&str] = &[
    "insert",
    "remove",
    "invalidate",
    "insert_async",
    "remove_async",
    "upsert",
];

/// Concurrent map types whose single calls are atomic but whose pairs are not.
fn is_concurrent_map(ty: &str) -> bool {
    [
        "DashMap<",
        "DashSet<",
        "CHashMap<",
        "moka::",
        "scc::",
        "flurry::",
        "quick_cache::",
    ]
    .iter()
    .any(|t| ty.contains(t))
        || ty
            .match_indices("Cache<")
            .any(|(i, _)| i == 0 || !ty[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
}

fn is_std_map(ty: &str) -> bool {
    [
        "HashMap<",
        "BTreeMap<",
        "HashSet<",
        "BTreeSet<",
        "IndexMap<",
    ]
    .iter()
    .any(|t| ty.contains(t))
}

fn is_read(e: &Event) -> bool {
    e.kind == EventKind::MethodCall && READS.contains(&e.name.as_str()) && !e.args.is_empty()
}

fn is_write(e: &Event) -> bool {
    e.kind == EventKind::MethodCall && WRITES.contains(&e.name.as_str()) && !e.args.is_empty()
}

/// A finding's ingredients: read, write, map text, how.
struct Pair<'f> {
    read: &'f Event,
    write: &'f Event,
    map: String,
    locked: bool,
}

/// Pairs on a concurrent map.
fn concurrent_pairs<'f>(cx: &CrateContext<'_>, func: &'f FnFacts, out: &mut Vec<Pair<'f>>) {
    for w in func.events.iter().filter(|e| is_write(e)) {
        let Some(place) = &w.receiver else { continue };
        if !place.maybe_shared()
            || !cx
                .index
                .type_of(func, place)
                .is_some_and(|t| is_concurrent_map(&t))
        {
            continue;
        }
        let read = func.events[..w.id].iter().rev().find(|r| {
            is_read(r)
                && r.receiver.as_ref().is_some_and(|p| p.text == place.text)
                && r.same_key(w)
                && w.depends_on(r.id)
        });
        if let Some(read) = read {
            out.push(Pair {
                read,
                write: w,
                map: place.text.clone(),
                locked: false,
            });
        }
    }
}

/// Pairs on a std map behind a lock, read and written under separate acquisitions.
fn locked_pairs<'f>(cx: &CrateContext<'_>, func: &'f FnFacts, out: &mut Vec<Pair<'f>>) {
    let acqs = acquisitions(cx.index, func);
    let inner_is_map = |lock: &str| {
        acqs.iter()
            .find(|a| a.lock == lock)
            .and_then(|a| a.event(func).receiver.as_ref())
            .and_then(|p| cx.index.type_of(func, p))
            .is_some_and(|t| is_std_map(&t))
    };
    for a2 in acqs.iter().filter(|a| a.writable && inner_is_map(&a.lock)) {
        for w in func.events[a2.id + 1..]
            .iter()
            .filter(|e| is_write(e) && acts_through(func, a2, e))
        {
            // Re-checked under the writing guard: fine.
            let rechecked = func.events[a2.id + 1..w.id]
                .iter()
                .any(|r| is_read(r) && acts_through(func, a2, r) && w.depends_on(r.id));
            if rechecked {
                continue;
            }
            let found = acqs.iter().rev().find_map(|a1| {
                if a1.id >= a2.id || a1.lock != a2.lock || held_at(func, a1, a2.event(func)) {
                    return None;
                }
                func.events[a1.id + 1..a2.id].iter().rev().find(|r| {
                    is_read(r) && acts_through(func, a1, r) && r.same_key(w) && w.depends_on(r.id)
                })
            });
            if let Some(read) = found {
                out.push(Pair {
                    read,
                    write: w,
                    map: a2.lock.clone(),
                    locked: true,
                });
            }
        }
    }
}

impl Rule for MapCheckThenAct {
    fn meta(&self) -> &'static RuleMeta {
        &MAP_CHECK_THEN_ACT
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            let mut pairs = Vec::new();
            concurrent_pairs(cx, func, &mut pairs);
            locked_pairs(cx, func, &mut pairs);
            for p in pairs {
                let (r, w, map) = (p.read, p.write, &p.map);
                let key = w.args[0].text.trim_start_matches('&');
                let data = w.data_deps.contains(&r.id);
                let how = if data {
                    "with a value computed from"
                } else {
                    "under a check on"
                };
                let help = if p.locked {
                    format!(
                        "take the lock once and do the check and the `{}` through that one guard \
                         (its `entry({key})` API: `or_insert_with`, `and_modify`), instead of \
                         locking `{map}` twice",
                        w.name
                    )
                } else if w.name.starts_with("remove") || w.name == "invalidate" {
                    format!(
                        "remove atomically on the condition: `{map}.remove_if(&{key}, |_, v| \
                         /* check */)`, or decide and remove through `{map}.entry({key})`"
                    )
                } else {
                    format!(
                        "read and write `{key}` in one step through the map's entry API: \
                         `{map}.entry({key}).or_insert_with(..)` for insert-if-absent, \
                         `{map}.get_mut(&{key})` / `entry({key}).and_modify(..)` for an update \
                         (moka: `entry(..).or_insert_with` / `and_compute_with`; scc: `entry` / \
                         `upsert`)"
                    )
                };
                let mut f = finding(
                    &MAP_CHECK_THEN_ACT,
                    file,
                    event_region(w),
                    format!(
                        "`{map}` key `{key}` is written by `{}` {how} an earlier `{}` of the same \
                         key; another thread can change the entry in between and its update is lost",
                        w.name, r.name
                    ),
                    help,
                );
                label(
                    &mut f,
                    event_region(r),
                    format!("`{key}` is read here, as a separate step"),
                );
                out.push(f);
            }
        }
    }
}
