use super::{path_labels, push_label};
use crate::analysis::locks::{LockId, Taken};
use crate::declare_rule;
use crate::finding::{Finding, Region};
use crate::index::FnKey;
use crate::rules::{finding, CrateContext, Rule, RuleMeta};
use std::collections::{BTreeSet, HashMap, VecDeque};

declare_rule! {
    /// ### What it does
    /// Builds the crate-wide lock-order graph — a node per lock place (a field by its owner
    /// type and name, `Bank.accounts`; a static, `REGISTRY`), an edge A → B wherever B is
    /// acquired while a guard of A is live, in any function of the crate, directly or
    /// through in-crate calls — and reports every cycle, with both (all) acquisition paths as
    /// labels, across files.
    ///
    /// ### Why is this bad
    /// Thread 1 holds A and waits for B while thread 2 holds B and waits for A: neither ever
    /// continues. Each path is correct on its own and passes every single-threaded test; the
    /// deadlock needs both to run at once and shows up in production as a hang with no error.
    ///
    /// ### Example
    /// ```rust,ignore
    /// fn deposit(&self, n: u64) {
    ///     let mut accounts = self.accounts.lock().unwrap();
    ///     let mut journal = self.journal.lock().unwrap(); // accounts → journal
    ///     /* … */
    /// }
    /// fn audit(&self) {
    ///     let journal = self.journal.lock().unwrap();
    ///     let accounts = self.accounts.lock().unwrap(); // journal → accounts
    ///     /* … */
    /// }
    /// ```
    ///
    /// ### Use instead
    /// Take the locks in one global order everywhere (document it next to the fields), or
    /// release the first guard before taking the second, or merge the data under one lock:
    /// ```rust,ignore
    /// fn audit(&self) {
    ///     let accounts = self.accounts.lock().unwrap(); // always accounts, then journal
    ///     let journal = self.journal.lock().unwrap();
    ///     /* … */
    /// }
    /// ```
    ///
    /// Lock fields of different types that protect the same crate struct
    /// (`Multi.state: Arc<RwLock<MultiState>>` and a draw target's
    /// `Remote { state: Arc<RwLock<MultiState>> }`) are one node, named by the first in sort
    /// order: such fields are clones of one `Arc` handed from one owner to the other. Guard
    /// getters (`fn state(&self) -> MutexGuard<'_, S>`) acquire in their caller, and calls on
    /// another object resolve by its type (`pb.set_target(..)` with `pb: &ProgressBar`).
    ///
    /// ### Known limitations
    /// Nodes are types' fields, not objects: two instances of one type are one node, so a
    /// `transfer(a, b)` that locks `a.balance` then `b.balance` (the classic order-by-id
    /// deadlock) is a self-edge and not reported, and an order that is safe because the two
    /// instances are never shared is reported anyway. Locks with no crate-wide name (locals,
    /// parameters of a lock type, fields two structs declare) are not in the graph. Two
    /// owners that each hold their own lock of the same protected struct (not a shared `Arc`)
    /// are merged anyway. Calls
    /// resolve as for `relock-while-held`. `try_*` acquisitions add no edge. Read guards count
    /// where a thread waits: a read guard taken while another read guard is held waits only
    /// for a thread that holds the second lock's write guard (A read then B read, against B
    /// write then A write, deadlocks; two readers' paths in opposite orders do not). The
    /// shortest cycle through an edge is the one judged.
    pub static LOCK_ORDER_INVERSION = {
        name: "lock-order-inversion",
        group: Deadlock,
        level: Warn,
        summary: "two locks are acquired in opposite orders in different places: two threads taking both paths deadlock",
    };
}

pub struct LockOrderInversion;

/// One edge of the lock-order graph: `to` acquired while `from` is held.
struct Edge {
    from: LockId,
    to: LockId,
    func: FnKey,
    /// The acquisition of `from`.
    held: Region,
    /// The acquisition of `to`, or the call that reaches it.
    at: Region,
    taken: Option<Taken>,
    /// Whether `from` is held exclusively (a write guard or a mutex).
    held_write: bool,
    /// Whether `to` is taken exclusively.
    taken_write: bool,
}

/// Whether the threads on `cycle` (edge `k`: holds `from`, takes `to`) all wait: thread `k`
/// waits for `to` when it takes it exclusively or thread `k + 1` holds it exclusively. Two
/// read guards never wait for each other, but a read guard waits for a writer: holding A's
/// read guard while taking B's, against holding B's write guard while taking A's, deadlocks.
fn all_wait(edges: &[Edge], cycle: &[usize]) -> bool {
    (0..cycle.len()).all(|k| {
        let (this, next) = (&edges[cycle[k]], &edges[cycle[(k + 1) % cycle.len()]]);
        this.taken_write || next.held_write
    })
}

impl Rule for LockOrderInversion {
    fn meta(&self) -> &'static RuleMeta {
        &LOCK_ORDER_INVERSION
    }

    fn check(&self, cx: &CrateContext<'_>, out: &mut Vec<Finding>) {
        let mut edges: Vec<Edge> = Vec::new();
        for (_, f) in cx.keyed_functions() {
            let nesting = cx.nesting(f.key);
            for n in &nesting.nested {
                let outer = &nesting.acqs[n.outer];
                let (Some(from), Some(to)) = (&n.outer_id, &n.inner_id) else {
                    continue;
                };
                if from == to || !n.inner_blocks {
                    continue;
                }
                // One edge per (from, to, function), exclusive where any of them is.
                if let Some(e) = edges
                    .iter_mut()
                    .find(|e| e.from == *from && e.to == *to && e.func == f.key)
                {
                    e.held_write |= outer.writable;
                    e.taken_write |= n.inner_writable;
                    continue;
                }
                edges.push(Edge {
                    from: from.clone(),
                    to: to.clone(),
                    func: f.key,
                    held: outer.event(f.facts).region,
                    at: f.facts.events[n.at].region,
                    taken: n.taken.clone(),
                    held_write: outer.writable,
                    taken_write: n.inner_writable,
                });
            }
        }
        let mut by_from: HashMap<&LockId, Vec<usize>> = HashMap::new();
        for (i, e) in edges.iter().enumerate() {
            by_from.entry(&e.from).or_default().push(i);
        }
        let mut reported: BTreeSet<BTreeSet<&LockId>> = BTreeSet::new();
        for (i, e) in edges.iter().enumerate() {
            let Some(path) = shortest_path(&edges, &by_from, &e.to, &e.from) else {
                continue;
            };
            let mut cycle = vec![i];
            cycle.extend(path);
            if !all_wait(&edges, &cycle) {
                continue;
            }
            let nodes: BTreeSet<&LockId> = cycle.iter().map(|&j| &edges[j].from).collect();
            if !reported.insert(nodes) {
                continue;
            }
            out.push(report(cx, &edges, &cycle));
        }
    }
}

/// The edges of a shortest path from `start` to `goal` (breadth first), if any.
fn shortest_path(
    edges: &[Edge],
    by_from: &HashMap<&LockId, Vec<usize>>,
    start: &LockId,
    goal: &LockId,
) -> Option<Vec<usize>> {
    let mut prev: HashMap<&LockId, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    let mut seen = BTreeSet::from([start]);
    while let Some(n) = queue.pop_front() {
        if n == goal {
            let mut path = Vec::new();
            let mut cur = n;
            while cur != start {
                let j = prev[cur];
                path.push(j);
                cur = &edges[j].from;
            }
            path.reverse();
            return Some(path);
        }
        for &j in by_from.get(n).into_iter().flatten() {
            let to = &edges[j].to;
            if seen.insert(to) {
                prev.insert(to, j);
                queue.push_back(to);
            }
        }
    }
    None
}

fn report(cx: &CrateContext<'_>, edges: &[Edge], cycle: &[usize]) -> Finding {
    let func_of = |k: FnKey| &cx.files[k.file].facts.functions[k.func];
    let first = &edges[cycle[0]];
    let file = &cx.files[first.func.file];
    let order: Vec<String> = cycle
        .iter()
        .map(|&j| format!("`{}`", edges[j].from))
        .chain(std::iter::once(format!("`{}`", first.from)))
        .collect();
    let others: Vec<String> = cycle[1..]
        .iter()
        .map(|&j| {
            let e = &edges[j];
            format!(
                "`{}` takes `{}` while holding `{}` ({}:{})",
                func_of(e.func).short_name(),
                e.to,
                e.from,
                cx.files[e.func.file].source.rel,
                e.at.line
            )
        })
        .collect();
    let message = format!(
        "`{}` is acquired while `{}` is held, but {}: the locks are taken in a cycle ({}), and \
         threads on these paths deadlock",
        first.to,
        first.from,
        others.join(", "),
        order.join(" → ")
    );
    let help = format!(
        "pick one order for {} and take them in that order everywhere, or release the first \
         guard before taking the next",
        order[..cycle.len()].join(", ")
    );
    let mut f = finding(&LOCK_ORDER_INVERSION, file, first.at, message, help);
    for &j in cycle {
        let e = &edges[j];
        let name = func_of(e.func).short_name();
        push_label(
            &mut f,
            cx,
            file,
            e.func.file,
            e.held,
            format!("`{name}` locks `{}` here", e.from),
        );
        let how = if e.taken.is_some() {
            "calls into code that locks"
        } else {
            "locks"
        };
        push_label(
            &mut f,
            cx,
            file,
            e.func.file,
            e.at,
            format!("then {how} `{}` while `{}` is held", e.to, e.from),
        );
        if let Some(t) = &e.taken {
            path_labels(&mut f, cx, file, t);
        }
    }
    f
}
