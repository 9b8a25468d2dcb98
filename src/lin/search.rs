//! The linearizability search over one recorded history: Wing & Gong's backtracking search
//! with Lowe's memoisation of visited configurations (linearized set, spec state), split into
//! independent sub-histories where the spec declares a partition (P-compositionality).

use super::Spec;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

/// One completed operation of a history.
#[derive(Clone, Debug)]
pub(crate) struct Entry<Op, Ret> {
    /// Thread lane as the report names it (`T0` = the thread that called `lin::check`).
    pub(crate) lane: usize,
    /// Run by the thread that called `lin::check` (the scenario's `init` prefix, before the
    /// spawns, or `post` suffix, after the joins).
    pub(crate) main: bool,
    /// The operation.
    pub(crate) op: Op,
    /// What the object returned.
    pub(crate) ret: Ret,
    /// Sequence number taken just before the operation was invoked.
    pub(crate) call: u64,
    /// Sequence number taken just after it returned.
    pub(crate) ret_at: u64,
}

/// Which order between operations of different threads a history claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    /// Real time: `a` precedes `b` when `a` returned before `b` was invoked (sequentially
    /// consistent executions: shuttle, and real threads).
    RealTime,
    /// Only what is known to be happens-before: program order within a lane, and the main
    /// thread's init (before the spawns) and post (after the joins) operations against every
    /// lane. Used under loom, whose executions are C++ memory-model executions: an operation
    /// that returned earlier in loom's schedule need not be visible to a later one.
    HappensBefore,
}

/// A recorded history.
#[derive(Clone, Debug)]
pub(crate) struct History<Op, Ret> {
    pub(crate) entries: Vec<Entry<Op, Ret>>,
    pub(crate) order: Order,
}

impl<Op, Ret> History<Op, Ret> {
    /// Whether `a` must be linearized before `b`.
    pub(crate) fn precedes(&self, a: usize, b: usize) -> bool {
        let (x, y) = (&self.entries[a], &self.entries[b]);
        if x.ret_at >= y.call {
            return false;
        }
        match self.order {
            Order::RealTime => true,
            Order::HappensBefore => x.lane == y.lane || x.main || y.main,
        }
    }
}

/// Why a history is not linearizable: the longest prefix some sequential order explains, and
/// the operations that could come next, none of whose recorded results the spec gives.
#[derive(Clone, Debug)]
pub(crate) struct Violation<Ret> {
    /// Indices (into the history) of the longest explained prefix, in its sequential order.
    pub(crate) prefix: Vec<usize>,
    /// The operations that may come next after that prefix (all their predecessors are in
    /// it), each with the result the spec gives there instead of the recorded one.
    pub(crate) stuck: Vec<(usize, Ret)>,
    /// Indices of the sub-history (partition) the violation is in; all, without partitions.
    pub(crate) partition: Option<u64>,
}

/// The search gave up: more configurations than the budget (only possible for specs without
/// a [`Spec::fingerprint`], whose states cannot be memoised).
#[derive(Clone, Debug)]
pub(crate) struct GaveUp {
    pub(crate) configurations: u64,
}

/// Result of checking a history.
#[derive(Clone, Debug)]
pub(crate) enum Verdict<Ret> {
    /// A sequential order explains every result (the order, as indices).
    Linearizable(Vec<usize>),
    NotLinearizable(Violation<Ret>),
    GaveUp(GaveUp),
}

/// Configurations a search may visit before it gives up.
pub(crate) const BUDGET: u64 = 20_000_000;

/// Checks `h` against the spec `S` (starting from `S::default()`), one partition at a time
/// when every operation names one.
pub(crate) fn check<S>(h: &History<S::Op, S::Ret>) -> Verdict<S::Ret>
where
    S: Spec + Clone + Default,
    S::Ret: PartialEq + Clone,
{
    let keys: Option<Vec<u64>> = h.entries.iter().map(|e| S::partition(&e.op)).collect();
    let Some(keys) = keys else {
        let all: Vec<usize> = (0..h.entries.len()).collect();
        return check_part::<S>(h, &all, None);
    };
    let mut parts: Vec<(u64, Vec<usize>)> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        match parts.iter_mut().find(|(pk, _)| pk == k) {
            Some((_, v)) => v.push(i),
            None => parts.push((*k, vec![i])),
        }
    }
    let mut order = Vec::new();
    for (k, idx) in &parts {
        match check_part::<S>(h, idx, Some(*k)) {
            Verdict::Linearizable(o) => order.extend(o),
            other => return other,
        }
    }
    Verdict::Linearizable(order)
}

/// A set of operation positions (within one partition).
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
    fn has(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    /// Every member of `self` is in `other`.
    fn subset_of(&self, other: &Bits) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a & !b == 0)
    }
}

fn memo_key(done: &Bits, fingerprint: u64) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    done.hash(&mut h);
    fingerprint.hash(&mut h);
    h.finish()
}

/// Wing–Gong search over the operations `idx` of `h`.
fn check_part<S>(
    h: &History<S::Op, S::Ret>,
    idx: &[usize],
    partition: Option<u64>,
) -> Verdict<S::Ret>
where
    S: Spec + Clone + Default,
    S::Ret: PartialEq + Clone,
{
    let n = idx.len();
    // preds[j]: the positions that must be linearized before position j.
    let preds: Vec<Bits> = (0..n)
        .map(|j| {
            let mut b = Bits::new(n);
            for i in 0..n {
                if i != j && h.precedes(idx[i], idx[j]) {
                    b.set(i);
                }
            }
            b
        })
        .collect();
    let mut done = Bits::new(n);
    let mut seen: HashSet<u64> = HashSet::new();
    // Depth-first: each frame is a state after `path`, and the next candidate to try.
    struct Frame<S> {
        state: S,
        next: usize,
    }
    let mut stack: Vec<Frame<S>> = vec![Frame {
        state: S::default(),
        next: 0,
    }];
    let mut path: Vec<usize> = Vec::new();
    let mut best: (Vec<usize>, S) = (Vec::new(), S::default());
    let mut visited: u64 = 0;
    while let Some(top) = stack.last_mut() {
        if path.len() == n {
            return Verdict::Linearizable(path.iter().map(|&p| idx[p]).collect());
        }
        // The next candidate: not yet linearized, every predecessor linearized.
        let mut found = None;
        while top.next < n {
            let j = top.next;
            top.next += 1;
            if done.has(j) || !preds[j].subset_of(&done) {
                continue;
            }
            let mut s = top.state.clone();
            let r = s.apply(&h.entries[idx[j]].op);
            if r != h.entries[idx[j]].ret {
                continue;
            }
            done.set(j);
            if let Some(fp) = s.fingerprint() {
                if !seen.insert(memo_key(&done, fp)) {
                    done.clear(j);
                    continue;
                }
            }
            found = Some((j, s));
            break;
        }
        match found {
            Some((j, s)) => {
                visited += 1;
                if visited > BUDGET {
                    return Verdict::GaveUp(GaveUp {
                        configurations: visited,
                    });
                }
                path.push(j);
                if path.len() > best.0.len() {
                    best = (path.clone(), s.clone());
                }
                stack.push(Frame { state: s, next: 0 });
            }
            None => {
                stack.pop();
                if let Some(j) = path.pop() {
                    done.clear(j);
                }
            }
        }
    }
    // Not linearizable: explain from the longest prefix found.
    let (prefix, state) = best;
    let mut in_prefix = Bits::new(n);
    for &p in &prefix {
        in_prefix.set(p);
    }
    let stuck = (0..n)
        .filter(|&j| !in_prefix.has(j) && preds[j].subset_of(&in_prefix))
        .map(|j| {
            let mut s = state.clone();
            (idx[j], s.apply(&h.entries[idx[j]].op))
        })
        .collect();
    Verdict::NotLinearizable(Violation {
        prefix: prefix.iter().map(|&p| idx[p]).collect(),
        stuck,
        partition,
    })
}
