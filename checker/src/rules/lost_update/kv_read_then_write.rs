use crate::analysis::{Deps, Event, EventId, EventKind, FnFacts, Root};
use crate::declare_rule;
use crate::finding::Finding;
use crate::rules::{event_region, finding, label, CrateContext, Rule, RuleMeta};

declare_rule! {
    /// ### What it does
    /// Finds a Redis value that is read (`GET`, `HGET`, `LINDEX`, through `redis::cmd("GET")`
    /// or the `Commands`/`AsyncCommands` methods) and then written back (`SET`, `HSET`, `LSET`,
    /// or deleted with `DEL`/`HDEL`) under the same key, where the written value is computed
    /// from the read or the write only happens because of a check on it, with no `WATCH` in the
    /// function.
    ///
    /// ### Why is this bad
    /// Redis runs each command atomically, not the pair. Two workers withdrawing 50 from a
    /// balance of 100 both `GET` 100, both pass the `>= 50` check and both `SET` 50: one
    /// withdrawal is lost. The same shape releases someone else's lock (`GET` the token, compare,
    /// `DEL` after the lock expired and another client took it) and double-claims jobs. Nothing
    /// reports an error, and a single test client never interleaves.
    ///
    /// ### Example
    /// ```rust,ignore
    /// let balance: i64 = con.get(&key).await?;
    /// if balance < amount {
    ///     return Err(Insufficient);
    /// }
    /// con.set(&key, balance - amount).await?;
    /// ```
    ///
    /// ### Use instead
    /// An atomic command (`INCRBY`/`DECRBY`, `HINCRBY`, `SET … GET`, `SET … NX`), a Lua script
    /// that checks and writes in one step, or `WATCH key` + `MULTI`/`EXEC` with a retry when the
    /// transaction is aborted (`redis::transaction`):
    /// ```rust,ignore
    /// let script = redis::Script::new(
    ///     "local b = tonumber(redis.call('GET', KEYS[1]) or '0') \
    ///      if b < tonumber(ARGV[1]) then return -1 end \
    ///      return redis.call('DECRBY', KEYS[1], ARGV[1])",
    /// );
    /// let left: i64 = script.key(&key).arg(amount).invoke_async(&mut con).await?;
    /// ```
    ///
    /// ### Known limitations
    /// Only the `redis` crate's command builders and methods are recognized, on a connection
    /// whose type or constructor names a Redis connection (`redis::…`, `…Connection`,
    /// `ConnectionManager`, `get_connection()`-style calls). Keys are compared by their
    /// normalized expression text. A `WATCH` (or `redis::transaction`) anywhere in the function
    /// is trusted to cover the pair. Data flow is followed within one function.
    pub static KV_READ_THEN_WRITE = {
        name: "kv-read-then-write",
        group: LostUpdate,
        level: Warn,
        summary: "a Redis key is read, then written (or deleted) with a value derived from (or guarded by) the read, without WATCH, a script or an atomic command",
    };
}

pub struct KvReadThenWrite;

/// Read command → the writes that overwrite what it read.
const PAIRS: &[(&str, &[&str])] = &[
    (
        "get",
        &["set", "set_ex", "pset_ex", "setex", "psetex", "del"],
    ),
    ("hget", &["hset", "hdel"]),
    ("lindex", &["lset"]),
];

/// How many leading arguments name the slot (key; key + field; key + index).
fn slot_arity(cmd: &str) -> usize {
    match cmd {
        "hget" | "hset" | "hdel" | "lindex" | "lset" => 2,
        _ => 1,
    }
}

/// One Redis command in the function.
struct Cmd {
    /// The event to report at (the method, or the `cmd(..)` call).
    at: EventId,
    /// Lowercase command.
    name: String,
    /// Normalized slot arguments (key, field/index).
    slot: Vec<String>,
    /// What the command's written values and execution depend on.
    deps: Deps,
    control: Deps,
    /// `SET … NX`/`XX`/`GET`: an atomic conditional write.
    conditional: bool,
}

fn norm(text: &str, place: Option<&str>) -> String {
    if let Some(p) = place {
        return p.to_string();
    }
    let mut t = text.trim_start_matches('&').to_string();
    for suffix in [".clone()", ".to_string()", ".to_owned()", ".as_str()"] {
        if let Some(s) = t.strip_suffix(suffix) {
            t = s.to_string();
        }
    }
    t
}

/// Whether the event is chained on a `redis::pipe()` / `Pipeline::new()`.
fn in_pipe(func: &FnFacts, ev: &Event) -> bool {
    let is_pipe = |e: &Event| {
        e.kind == EventKind::Call
            && (e.name.ends_with("redis::pipe") || e.name.ends_with("Pipeline::new"))
    };
    if ev.receiver_deps.iter().any(|d| is_pipe(&func.events[*d])) {
        return true;
    }
    // `let mut p = redis::pipe(); p.set(..)`
    ev.receiver.as_ref().is_some_and(|place| {
        func.bindings.iter().any(|b| {
            b.name == place.text
                && b.region.line <= ev.region.line
                && b.init.is_some_and(|i| is_pipe(&func.events[i]))
        })
    })
}

/// Whether a method receiver is a Redis connection, from its declared type or constructor.
fn is_redis_conn(cx: &CrateContext<'_>, func: &FnFacts, ev: &Event) -> bool {
    if in_pipe(func, ev) {
        return true;
    }
    let Some(place) = &ev.receiver else {
        return false;
    };
    let redisy = |t: &str| {
        let l = t.to_lowercase();
        l.contains("redis") || l.contains("connection")
    };
    if cx.index.type_of(func, place).is_some_and(|t| redisy(&t)) {
        return true;
    }
    // `let mut con = client.get_multiplexed_async_connection().await?;`
    if let Root::Local { .. } = place.root {
        let name = place.text.as_str();
        return func.bindings.iter().any(|b| {
            b.name == name
                && b.region.line <= ev.region.line
                && b.deps
                    .iter()
                    .any(|d| redisy(&func.events[*d].name) && func.events[*d].id < ev.id)
        });
    }
    false
}

fn commands(cx: &CrateContext<'_>, func: &FnFacts) -> Vec<Cmd> {
    let known = |n: &str| PAIRS.iter().any(|(r, ws)| *r == n || ws.contains(&n));
    let mut out = Vec::new();
    for ev in &func.events {
        // `redis::cmd("GET").arg(&key)…`
        // (also `redis::pipe().cmd("SET").arg(..)`)
        let is_cmd = match ev.kind {
            EventKind::Call => ev.name == "cmd" || ev.name.ends_with("::cmd"),
            EventKind::MethodCall => ev.name == "cmd" && in_pipe(func, ev),
            _ => false,
        };
        if is_cmd {
            let Some(name) = ev.args.first().and_then(|a| a.str_lit.as_ref()) else {
                continue;
            };
            let name = name.to_lowercase();
            if !known(&name) {
                continue;
            }
            let args: Vec<&Event> = func.events[ev.id + 1..]
                .iter()
                .filter(|e| {
                    e.kind == EventKind::MethodCall
                        && e.name == "arg"
                        && e.args.len() == 1
                        && e.receiver_deps.contains(&ev.id)
                })
                .collect();
            let n = slot_arity(&name);
            if args.len() < n {
                continue;
            }
            let slot = args[..n]
                .iter()
                .map(|a| norm(&a.args[0].text, a.args[0].place.as_ref().map(|p| &*p.text)))
                .collect();
            let conditional = args[n..].iter().any(|a| {
                a.args[0]
                    .str_lit
                    .as_ref()
                    .is_some_and(|s| matches!(s.to_uppercase().as_str(), "NX" | "XX" | "GET"))
            });
            let mut deps = Deps::new();
            for a in &args[n..] {
                deps.extend(a.data_deps.iter().copied());
            }
            out.push(Cmd {
                at: ev.id,
                name,
                slot,
                deps,
                control: ev.control_deps.clone(),
                conditional,
            });
            continue;
        }
        // `con.get(&key)`, `con.set(&key, v)`
        if ev.kind != EventKind::MethodCall || !known(&ev.name) {
            continue;
        }
        let n = slot_arity(&ev.name);
        if ev.args.len() < n || !is_redis_conn(cx, func, ev) {
            continue;
        }
        let slot = ev.args[..n]
            .iter()
            .map(|a| norm(&a.text, a.place.as_ref().map(|p| &*p.text)))
            .collect();
        let mut deps = Deps::new();
        for a in &ev.args[n..] {
            deps.extend(a.deps.iter().copied());
        }
        out.push(Cmd {
            at: ev.id,
            name: ev.name.clone(),
            slot,
            deps,
            control: ev.control_deps.clone(),
            conditional: false,
        });
    }
    out
}

/// `WATCH`, `redis::transaction` or a script anywhere in the function.
fn has_watch(func: &FnFacts) -> bool {
    func.events.iter().any(|e| {
        e.name == "watch"
            || e.name.ends_with("transaction")
            || e.name.ends_with("Script::new")
            || ((e.name == "cmd" || e.name.ends_with("::cmd"))
                && e.args
                    .first()
                    .and_then(|a| a.str_lit.as_ref())
                    .is_some_and(|s| {
                        matches!(s.to_uppercase().as_str(), "WATCH" | "EVAL" | "EVALSHA")
                    }))
    })
}

impl Rule for KvReadThenWrite {
    fn meta(&self) -> &'static RuleMeta {
        &KV_READ_THEN_WRITE
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        for (file, func) in cx.functions() {
            let cmds = commands(cx, func);
            if cmds.len() < 2 || has_watch(func) {
                continue;
            }
            for w in cmds.iter().filter(|c| !c.conditional) {
                let read = cmds.iter().rev().find(|r| {
                    r.at < w.at
                        && PAIRS
                            .iter()
                            .any(|(rn, ws)| *rn == r.name && ws.contains(&w.name.as_str()))
                        && r.slot == w.slot
                        && (w.deps.contains(&r.at) || w.control.contains(&r.at))
                });
                let Some(r) = read else { continue };
                let data = w.deps.contains(&r.at);
                let key = &w.slot[0];
                let how = if data {
                    "with a value computed from"
                } else {
                    "under a check on"
                };
                let verb = if w.name.ends_with("del") {
                    "deleted"
                } else {
                    "written"
                };
                let fix = match w.name.as_str() {
                    "del" | "hdel" => "a Lua script that compares and deletes in one step",
                    "hset" => "`HINCRBY` for a counter, or a Lua script / `WATCH` + `MULTI`",
                    _ => {
                        "`INCRBY`/`DECRBY` for a counter, `SET … GET`/`SET … NX` for a swap or \
                          an insert-if-absent, or a Lua script / `WATCH` + `MULTI` with a retry"
                    }
                };
                let wev = &func.events[w.at];
                let mut f = finding(
                    &KV_READ_THEN_WRITE,
                    file,
                    event_region(wev),
                    format!(
                        "Redis key `{key}` is {verb} ({}) {how} an earlier {}; another client \
                         can change it in between and its update is lost",
                        w.name.to_uppercase(),
                        r.name.to_uppercase()
                    ),
                    format!("make the read and the write of `{key}` one atomic step: {fix}"),
                );
                label(
                    &mut f,
                    event_region(&func.events[r.at]),
                    format!("`{key}` is read here"),
                );
                out.push(f);
            }
        }
    }
}
