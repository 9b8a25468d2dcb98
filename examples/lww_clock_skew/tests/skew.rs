//! Plain tests that replay the incident on the real clock, with an explicit offset: replica
//! B's clock is 5 s behind. A user edits on A, the edit replicates to B, then the user edits
//! again on B. The second edit must win everywhere. (`tests/model.rs` lets the model choose
//! the skews instead.)

use lww_clock_skew::{buggy, fixed};

#[test]
#[should_panic(expected = "latest edit lost")]
fn edit_after_edit_on_a_slow_replica_buggy() {
    let mut a = buggy::Replica::new(0);
    let mut b = buggy::Replica::new(-5_000);
    let first = a.write("bio: v1");
    b.merge(first);
    let second = b.write("bio: v2");
    a.merge(second);
    assert_eq!(a.get(), Some("bio: v2"), "latest edit lost on replica A");
}

#[test]
fn edit_after_edit_on_a_slow_replica_fixed() {
    let mut a = fixed::Replica::new(1, 0);
    let mut b = fixed::Replica::new(2, -5_000);
    let first = a.write("bio: v1");
    b.merge(first);
    let second = b.write("bio: v2");
    a.merge(second);
    assert_eq!(a.get(), Some("bio: v2"), "latest edit lost on replica A");
    assert_eq!(b.get(), Some("bio: v2"), "latest edit lost on replica B");
}
