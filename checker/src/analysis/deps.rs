//! [`Deps`]: a small sorted set of event ids.
//!
//! Every event, argument, binding and loop carries one or more dependency sets, most of them
//! empty or holding one or two ids; a `BTreeSet` allocates a node for each non-empty one and
//! the walk builds and unions them for every expression. This set keeps up to two ids inline
//! and the rest in one sorted buffer, unions by merging, and has the `BTreeSet` methods the
//! rules use (`contains`, `iter` in ascending order, `insert`, `extend`, `is_empty`, `len`).
//! It serializes exactly like a `BTreeSet<usize>` (a sequence in ascending order), so cached
//! facts are byte-identical to what the `BTreeSet` gave.

use super::EventId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smallvec::SmallVec;

/// A set of events, ordered by id (which is evaluation order).
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Deps(SmallVec<[EventId; 2]>);

impl Deps {
    pub const fn new() -> Deps {
        Deps(SmallVec::new_const())
    }

    /// The set `{id}`.
    pub fn one(id: EventId) -> Deps {
        let mut d = Deps::new();
        d.0.push(id);
        d
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, id: &EventId) -> bool {
        self.0.binary_search(id).is_ok()
    }

    /// The ids in ascending order.
    pub fn iter(&self) -> std::slice::Iter<'_, EventId> {
        self.0.iter()
    }

    /// The ids in ascending order, as a slice.
    pub fn as_slice(&self) -> &[EventId] {
        &self.0
    }

    pub fn first(&self) -> Option<&EventId> {
        self.0.first()
    }

    pub fn last(&self) -> Option<&EventId> {
        self.0.last()
    }

    /// Adds `id`; `false` when it was there already.
    pub fn insert(&mut self, id: EventId) -> bool {
        match self.0.last() {
            None => {
                self.0.push(id);
                true
            }
            Some(&l) if l < id => {
                self.0.push(id);
                true
            }
            _ => match self.0.binary_search(&id) {
                Ok(_) => false,
                Err(at) => {
                    self.0.insert(at, id);
                    true
                }
            },
        }
    }

    /// Adds every id of `other` (a linear merge).
    pub fn union_with(&mut self, other: &Deps) {
        let other = other.as_slice();
        match (self.0.last(), other.first()) {
            (_, None) => {}
            (None, Some(_)) => self.0.extend_from_slice(other),
            (Some(&l), Some(&f)) if l < f => self.0.extend_from_slice(other),
            _ => {
                if other.len() == 1 {
                    self.insert(other[0]);
                    return;
                }
                let mut out: SmallVec<[EventId; 2]> =
                    SmallVec::with_capacity(self.0.len() + other.len());
                let (mut a, mut b) = (self.0.iter().peekable(), other.iter().peekable());
                loop {
                    match (a.peek(), b.peek()) {
                        (Some(&&x), Some(&&y)) => {
                            if x <= y {
                                out.push(x);
                                a.next();
                                if x == y {
                                    b.next();
                                }
                            } else {
                                out.push(y);
                                b.next();
                            }
                        }
                        (Some(_), None) => {
                            out.extend(a.copied());
                            break;
                        }
                        (None, Some(_)) => {
                            out.extend(b.copied());
                            break;
                        }
                        (None, None) => break,
                    }
                }
                self.0 = out;
            }
        }
    }
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.iter()).finish()
    }
}

impl Extend<EventId> for Deps {
    fn extend<I: IntoIterator<Item = EventId>>(&mut self, iter: I) {
        for id in iter {
            self.insert(id);
        }
    }
}

impl<'a> Extend<&'a EventId> for Deps {
    fn extend<I: IntoIterator<Item = &'a EventId>>(&mut self, iter: I) {
        self.extend(iter.into_iter().copied())
    }
}

impl Extend<Deps> for Deps {
    fn extend<I: IntoIterator<Item = Deps>>(&mut self, iter: I) {
        for d in iter {
            self.union_with(&d);
        }
    }
}

impl FromIterator<EventId> for Deps {
    fn from_iter<I: IntoIterator<Item = EventId>>(iter: I) -> Deps {
        let mut v: SmallVec<[EventId; 2]> = iter.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        Deps(v)
    }
}

impl IntoIterator for Deps {
    type Item = EventId;
    type IntoIter = smallvec::IntoIter<[EventId; 2]>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Deps {
    type Item = &'a EventId;
    type IntoIter = std::slice::Iter<'a, EventId>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Serialize for Deps {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de> Deserialize<'de> for Deps {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Deps, D::Error> {
        // Through `Vec` and sorting, so that any sequence (not only our own output) gives a
        // valid set.
        let v: Vec<EventId> = Vec::deserialize(d)?;
        Ok(v.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every operation agrees with `BTreeSet` on small pseudo-random sets, and the two
    /// serialize to the same bytes.
    #[test]
    fn same_as_btreeset() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % m) as usize
        };
        for _ in 0..2000 {
            let (mut a, mut b) = (Deps::new(), BTreeSet::new());
            for _ in 0..next(12) {
                match next(3) {
                    0 => {
                        let x = next(40);
                        assert_eq!(a.insert(x), b.insert(x));
                    }
                    1 => {
                        let other: Vec<usize> = (0..next(6)).map(|_| next(40)).collect();
                        let od: Deps = other.iter().copied().collect();
                        a.extend(od);
                        b.extend(other);
                    }
                    _ => {
                        let other: Vec<usize> = (0..next(6)).map(|_| next(40)).collect();
                        a.extend(other.iter());
                        b.extend(other);
                    }
                }
                assert!(a.iter().eq(b.iter()));
                assert_eq!(a.len(), b.len());
                assert_eq!(a.first(), b.first());
                assert_eq!(a.last(), b.last());
                let probe = next(40);
                assert_eq!(a.contains(&probe), b.contains(&probe));
            }
            let (pa, pb) = (
                postcard::to_allocvec(&a).unwrap(),
                postcard::to_allocvec(&b).unwrap(),
            );
            assert_eq!(pa, pb);
            let back: Deps = postcard::from_bytes(&pa).unwrap();
            assert_eq!(back, a);
        }
    }
}
