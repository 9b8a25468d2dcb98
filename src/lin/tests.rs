//! The search on hand-written histories.

use super::search::{check, Entry, History, Order, Verdict};
use super::{fingerprint_of, Spec};

#[derive(Clone, Debug, PartialEq)]
enum Op {
    Push(u32),
    Pop,
}
#[derive(Clone, Debug, PartialEq)]
enum Ret {
    Pushed,
    Popped(Option<u32>),
}
#[derive(Clone, Default, Hash)]
struct Stack(Vec<u32>);
impl Spec for Stack {
    type Op = Op;
    type Ret = Ret;
    fn apply(&mut self, op: &Op) -> Ret {
        match op {
            Op::Push(v) => {
                self.0.push(*v);
                Ret::Pushed
            }
            Op::Pop => Ret::Popped(self.0.pop()),
        }
    }
    fn fingerprint(&self) -> Option<u64> {
        Some(fingerprint_of(self))
    }
}

/// `(lane, op, ret, call, ret_at)`; lane 0 = main.
fn h<O: Clone, R: Clone>(rows: &[(usize, O, R, u64, u64)], order: Order) -> History<O, R> {
    History {
        entries: rows
            .iter()
            .map(|(lane, op, ret, call, ret_at)| Entry {
                lane: *lane,
                main: *lane == 0,
                op: op.clone(),
                ret: ret.clone(),
                call: *call,
                ret_at: *ret_at,
            })
            .collect(),
        order,
    }
}

use Op::*;
use Ret::*;

#[test]
fn overlapping_pushes_and_pops_are_explained_in_either_order() {
    // T1: push 1 ────── pop → 2 ; T2: push 2 ── pop → 1, all overlapping.
    let hist = h(
        &[
            (1, Push(1), Pushed, 0, 4),
            (2, Push(2), Pushed, 1, 2),
            (1, Pop, Popped(Some(2)), 5, 7),
            (2, Pop, Popped(Some(1)), 3, 8),
        ],
        Order::RealTime,
    );
    match check::<Stack>(&hist) {
        Verdict::Linearizable(order) => assert_eq!(order.len(), 4),
        v => panic!("expected linearizable, got {v:?}"),
    }
}

#[test]
fn a_pop_that_misses_a_completed_push_is_not_linearizable_in_real_time_only() {
    // T1 push(1) returns before T2's pop is invoked, and the pop sees nothing.
    let rows = [(1, Push(1), Pushed, 0, 1), (2, Pop, Popped(None), 2, 3)];
    match check::<Stack>(&h(&rows, Order::RealTime)) {
        Verdict::NotLinearizable(v) => {
            assert_eq!(v.prefix, vec![0]);
            assert_eq!(v.stuck, vec![(1, Popped(Some(1)))]);
        }
        v => panic!("expected a violation, got {v:?}"),
    }
    // Without a happens-before edge between the lanes (loom), the pop may come first.
    assert!(matches!(
        check::<Stack>(&h(&rows, Order::HappensBefore)),
        Verdict::Linearizable(_)
    ));
    // An init push (before the spawns) does order it under loom too.
    let rows = [(0, Push(1), Pushed, 0, 1), (2, Pop, Popped(None), 2, 3)];
    assert!(matches!(
        check::<Stack>(&h(&rows, Order::HappensBefore)),
        Verdict::NotLinearizable(_)
    ));
}

#[test]
fn a_value_never_pushed_is_not_linearizable_under_any_order() {
    let rows = [
        (1, Push(1), Pushed, 0, 3),
        (2, Pop, Popped(Some(1)), 1, 4),
        (2, Pop, Popped(Some(1)), 5, 6),
    ];
    for order in [Order::RealTime, Order::HappensBefore] {
        match check::<Stack>(&h(&rows, order)) {
            Verdict::NotLinearizable(v) => {
                assert_eq!(v.prefix, vec![0, 1]);
                assert_eq!(v.stuck, vec![(2, Popped(None))]);
            }
            v => panic!("expected a violation, got {v:?}"),
        }
    }
}

#[test]
fn two_pops_of_one_element_are_explained_whichever_gets_it() {
    for (a, b) in [(Some(7), None), (None, Some(7))] {
        let rows = [
            (0, Push(7), Pushed, 0, 1),
            (1, Pop, Popped(a), 2, 5),
            (2, Pop, Popped(b), 3, 4),
        ];
        assert!(matches!(
            check::<Stack>(&h(&rows, Order::RealTime)),
            Verdict::Linearizable(_)
        ));
    }
}

// A map, partitioned by key.
#[derive(Clone, Debug, PartialEq)]
enum MOp {
    Put(u64, u32),
    Get(u64),
}
#[derive(Clone, Default, Hash)]
struct Map(std::collections::BTreeMap<u64, u32>);
impl Spec for Map {
    type Op = MOp;
    type Ret = Option<u32>;
    fn apply(&mut self, op: &MOp) -> Option<u32> {
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
        Some(fingerprint_of(self))
    }
}

#[test]
fn a_partitioned_map_is_checked_per_key_and_names_the_key() {
    use MOp::*;
    let ok = [
        (1, Put(1, 10), None, 0, 3),
        (2, Put(2, 20), None, 1, 2),
        (2, Get(1), Some(10), 4, 5),
        (1, Get(2), Some(20), 4, 6),
    ];
    assert!(matches!(
        check::<Map>(&h(&ok, Order::RealTime)),
        Verdict::Linearizable(o) if o.len() == 4
    ));
    // Key 2's get returns a value nobody put.
    let bad = [
        (1, Put(1, 10), None, 0, 3),
        (2, Put(2, 20), None, 1, 2),
        (2, Get(1), Some(10), 4, 5),
        (1, Get(2), Some(21), 4, 6),
    ];
    match check::<Map>(&h(&bad, Order::RealTime)) {
        Verdict::NotLinearizable(v) => {
            assert_eq!(v.partition, Some(2));
            assert_eq!(v.prefix, vec![1]);
            assert_eq!(v.stuck, vec![(3, Some(20))]);
        }
        v => panic!("expected a violation, got {v:?}"),
    }
}

#[test]
fn a_long_partitioned_history_is_decided_quickly() {
    use MOp::*;
    // 1,000 operations over 10 keys from 4 lanes, all overlapping within rounds of 4: the
    // whole-history search would face 4-way choices at every step; per key it is tiny.
    let mut rows = Vec::new();
    let mut t = 0;
    for round in 0..250u64 {
        for lane in 1..=4usize {
            let k = (round * 4 + lane as u64) % 10;
            let op = if lane % 2 == 0 {
                Get(k)
            } else {
                Put(k, round as u32)
            };
            rows.push((lane, op, None, t + lane as u64, t + 10));
        }
        t += 20;
    }
    // Fill in the results a sequential run (in row order) gives.
    let mut spec = Map::default();
    for r in &mut rows {
        r.2 = spec.apply(&r.1);
    }
    assert!(matches!(
        check::<Map>(&h(&rows, Order::RealTime)),
        Verdict::Linearizable(o) if o.len() == 1000
    ));
}

#[test]
fn shrink_cuts_round_trip_through_their_replay_codes_and_apply() {
    use super::{Cut, Scenario};
    let s = Scenario::threads(vec![vec![1, 2], vec![3]])
        .init(vec![0])
        .post(vec![4]);
    let cuts = Cut::all(&s);
    assert_eq!(cuts.len(), 2 + 1 + 1 + 3);
    for c in &cuts {
        assert_eq!(Cut::parse(&c.code()), Some(*c));
        assert_eq!(
            c.apply(&s).unwrap().len(),
            if matches!(c, Cut::Lane(0)) { 3 } else { 4 }
        );
    }
    // Dropping a lane's last operation drops the lane.
    let t = Cut::Op(1, 0).apply(&s).unwrap();
    assert_eq!(t.lanes(), &[vec![1, 2]]);
    assert_eq!(Cut::Op(5, 0).apply(&s), None);
    assert_eq!(Cut::parse("x1"), None);
    assert_eq!(Cut::parse("o1"), None);
    assert_eq!(Cut::parse("é1"), None);
    assert_eq!(Cut::parse(""), None);
    assert_eq!(
        s.to_string(),
        "Scenario::threads(vec![vec![1, 2], vec![3]]).init(vec![0]).post(vec![4])"
    );
}
