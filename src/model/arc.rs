//! Model-build `Arc` / `Weak`: std's types, plus, for an `Arc` created inside a loom run, a
//! reference count that loom models.
//!
//! The value lives in a `std::sync::Arc` as usual. Under loom every allocation also gets a
//! `Count` (see there): the exact strong count, a loom atomic through which every drop
//! releases and the last drop (and `get_mut`, `try_unwrap`, `upgrade`) acquires, as std's
//! `fetch_sub(Release)` + `fence(Acquire)` do, and a loom `alloc::Track` that lives as long as
//! the allocation. So:
//!
//! * the last owner's drop of the value *happens after* every other owner's last use: a value
//!   dropped on another thread is not a data race (loom checks causality as for std's Arc);
//! * drops and count reads are loom operations (clones are not, as loom's own `Arc` treats
//!   them as independent of drops), so loom explores about as many executions as with its own
//!   `Arc`;
//! * an allocation that is never freed (an `Arc` cycle, `mem::forget`) leaves the `Track`
//!   alive at the end of the execution, and loom reports the leak (`Allocation leaked`).
//!
//! Each std count update happens right after its loom twin with no scheduling point between,
//! so the two counts agree whenever another model thread can run. Shuttle's own `Arc` is std's,
//! so under shuttle (and outside model runs) the count is std's alone.
//!
//! Cost: model builds' `Arc` is two words (the value pointer + the count pointer), and every
//! drop under loom is one loom atomic operation (a scheduling point, as in loom).

use super::rt::{self, Backend};
use std::borrow::Borrow;
use std::cell::RefCell;
use std::cmp::Ordering as CmpOrdering;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

/// The strong count of one allocation under loom.
///
/// The count itself is exact in a plain atomic (model threads are coroutines: nothing runs
/// between two statements without a scheduling point); loom sees the synchronization through
/// `sync`, a loom atomic that every release (drop) and every acquiring read (last drop,
/// `get_mut`, `try_unwrap`, `upgrade`, `strong_count`) updates with a read-modify-write, which
/// always reads the latest value: so a last drop acquires every earlier drop's release, as
/// std's `fetch_sub(Release)` + `fence(Acquire)`. A clone (std: a `Relaxed` increment that
/// synchronizes nothing) is not a loom operation, as loom's own `Arc` treats a clone as
/// independent of drops; this keeps the exploration close to loom's `Arc`.
struct Count {
    strong: std::sync::atomic::AtomicUsize,
    sync: loom::sync::atomic::AtomicUsize,
    /// Lives as long as the allocation: loom reports it leaked if the allocation is (a loom
    /// `Track`, whose drop is not a scheduling point, unlike a loom `Arc`'s).
    _leak: loom::alloc::Track<()>,
}

type CountRef = std::sync::Arc<Count>;

impl Count {
    /// A release by this thread (a scheduling point).
    fn release(&self) {
        self.sync.fetch_add(1, Release);
    }
    /// An acquire of every earlier release (a scheduling point).
    fn acquire(&self) {
        self.sync.fetch_add(0, Acquire);
    }
    /// Drops one strong reference (release); true if it was the last (then acquired).
    fn drop_strong(&self) -> bool {
        self.release();
        let last = self.strong.fetch_sub(1, Relaxed) == 1;
        if last {
            loom::sync::atomic::fence(Acquire);
        }
        last
    }
}

#[track_caller]
fn new_count(strong: usize) -> Option<CountRef> {
    (rt::backend() == Backend::Loom).then(|| {
        std::sync::Arc::new(Count {
            strong: std::sync::atomic::AtomicUsize::new(strong),
            sync: loom::sync::atomic::AtomicUsize::new(0),
            _leak: loom::alloc::Track::new(()),
        })
    })
}

thread_local! {
    /// Counts of allocations whose `Arc`s were turned into raw pointers (`into_raw`), by address.
    static RAW: RefCell<HashMap<usize, CountRef>> = RefCell::new(HashMap::new());
}

/// Forgets the counts of raw `Arc`s left by a finished execution (see `alloc::begin_execution`).
pub(crate) fn forget_raw_counts() {
    let _ = RAW.try_with(|r| {
        r.borrow_mut()
            .drain()
            .for_each(|(_, c)| std::mem::forget(c))
    });
}

fn addr<T: ?Sized>(p: *const T) -> usize {
    p.cast::<()>() as usize
}

/// `std::sync::Arc`; inside a loom run its reference count is modelled (see the module docs).
pub struct Arc<T: ?Sized> {
    count: Option<CountRef>,
    std: ManuallyDrop<std::sync::Arc<T>>,
}

/// `std::sync::Weak`, the weak reference of a facade [`Arc`].
pub struct Weak<T: ?Sized> {
    count: Option<CountRef>,
    std: std::sync::Weak<T>,
}

impl<T> Arc<T> {
    /// A new allocation holding `value`.
    #[track_caller]
    pub fn new(value: T) -> Arc<T> {
        Arc {
            count: new_count(1),
            std: ManuallyDrop::new(std::sync::Arc::new(value)),
        }
    }
    /// A new allocation built from a weak reference to itself (which cannot be upgraded until
    /// `data_fn` returns).
    #[track_caller]
    pub fn new_cyclic<F: FnOnce(&Weak<T>) -> T>(data_fn: F) -> Arc<T> {
        let count = new_count(0);
        let std = std::sync::Arc::new_cyclic(|w| {
            data_fn(&Weak {
                count: count.clone(),
                std: w.clone(),
            })
        });
        if let Some(c) = &count {
            c.release();
            c.strong.store(1, Relaxed);
        }
        Arc {
            count,
            std: ManuallyDrop::new(std),
        }
    }
    /// A new pinned allocation.
    #[track_caller]
    pub fn pin(value: T) -> Pin<Arc<T>> {
        unsafe { Pin::new_unchecked(Arc::new(value)) }
    }
    /// The value, if `this` is the only strong reference; else `this` back.
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        if let Some(c) = &this.count {
            c.acquire();
            if c.strong.compare_exchange(1, 0, Relaxed, Relaxed).is_err() {
                return Err(this);
            }
        }
        let (count, std) = Self::into_parts(this);
        match std::sync::Arc::try_unwrap(std) {
            Ok(v) => {
                forget_raw(count.as_ref(), &v);
                Ok(v)
            }
            Err(std) => Err(Arc {
                count,
                std: ManuallyDrop::new(std),
            }),
        }
    }
    /// The value if `this` was the last strong reference (dropping the reference either way).
    pub fn into_inner(this: Self) -> Option<T> {
        let last = match &this.count {
            Some(c) => c.drop_strong(),
            None => true,
        };
        let (count, std) = Self::into_parts(this);
        let v = std::sync::Arc::into_inner(std);
        debug_assert!(v.is_none() || last, "heisen: Arc counts out of step");
        if let Some(v) = &v {
            forget_raw(count.as_ref(), v);
        }
        v
    }
    /// The value, cloned if other strong references exist.
    pub fn unwrap_or_clone(this: Self) -> T
    where
        T: Clone,
    {
        Arc::try_unwrap(this).unwrap_or_else(|a| (*a).clone())
    }
}

fn forget_raw<T>(count: Option<&CountRef>, v: &T) {
    if count.is_some() {
        let a = addr(v as *const T);
        let _ = RAW.try_with(|r| r.borrow_mut().remove(&a));
    }
}

impl<T: ?Sized> Arc<T> {
    fn into_parts(this: Self) -> (Option<CountRef>, std::sync::Arc<T>) {
        let mut this = ManuallyDrop::new(this);
        let count = this.count.take();
        let std = unsafe { ManuallyDrop::take(&mut this.std) };
        (count, std)
    }
    fn from_std_counted(std: std::sync::Arc<T>, count: Option<CountRef>) -> Self {
        Arc {
            count,
            std: ManuallyDrop::new(std),
        }
    }
    /// A weak reference to the allocation.
    pub fn downgrade(this: &Self) -> Weak<T> {
        Weak {
            count: this.count.clone(),
            std: std::sync::Arc::downgrade(&this.std),
        }
    }
    /// The number of strong references (under loom: the modelled count, read `SeqCst`).
    pub fn strong_count(this: &Self) -> usize {
        match &this.count {
            Some(c) => {
                c.sync.load(SeqCst);
                c.strong.load(Relaxed)
            }
            None => std::sync::Arc::strong_count(&this.std),
        }
    }
    /// The number of weak references.
    pub fn weak_count(this: &Self) -> usize {
        std::sync::Arc::weak_count(&this.std)
    }
    /// Whether both point to the same allocation.
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&this.std, &other.std)
    }
    /// A pointer to the value.
    pub fn as_ptr(this: &Self) -> *const T {
        std::sync::Arc::as_ptr(&this.std)
    }
    /// Consumes the reference, returning the pointer ([`Arc::from_raw`] takes it back).
    pub fn into_raw(this: Self) -> *const T {
        let (count, std) = Self::into_parts(this);
        let p = std::sync::Arc::into_raw(std);
        if let Some(c) = count {
            let _ = RAW.try_with(|r| r.borrow_mut().insert(addr(p), c));
        }
        p
    }
    /// Takes back a reference given away by [`Arc::into_raw`].
    ///
    /// # Safety
    /// As `std::sync::Arc::from_raw`.
    pub unsafe fn from_raw(ptr: *const T) -> Self {
        let count = RAW
            .try_with(|r| r.borrow().get(&addr(ptr)).cloned())
            .ok()
            .flatten();
        Arc::from_std_counted(std::sync::Arc::from_raw(ptr), count)
    }
    /// Increments the strong count of the allocation behind `ptr`.
    ///
    /// # Safety
    /// As `std::sync::Arc::increment_strong_count`.
    pub unsafe fn increment_strong_count(ptr: *const T) {
        let a = ManuallyDrop::new(Arc::from_raw(ptr));
        let _ = ManuallyDrop::new((*a).clone());
    }
    /// Decrements the strong count of the allocation behind `ptr`.
    ///
    /// # Safety
    /// As `std::sync::Arc::decrement_strong_count`.
    pub unsafe fn decrement_strong_count(ptr: *const T) {
        drop(Arc::from_raw(ptr));
    }
    /// Mutable access, if there is no other `Arc` or `Weak` to the allocation.
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        if let Some(c) = &this.count {
            c.acquire();
            if c.strong.load(Relaxed) != 1 {
                return None;
            }
        }
        std::sync::Arc::get_mut(&mut this.std)
    }
}

impl<T: Clone> Arc<T> {
    /// Mutable access, cloning the value into a new allocation first if it is shared.
    pub fn make_mut(this: &mut Self) -> &mut T {
        if Arc::get_mut(this).is_none() {
            *this = Arc::new(T::clone(this));
        }
        Arc::get_mut(this).expect("a fresh Arc is unique")
    }
}

impl<T: ?Sized> Clone for Arc<T> {
    fn clone(&self) -> Self {
        if let Some(c) = &self.count {
            c.strong.fetch_add(1, Relaxed); // not a loom operation: see `Count`
        }
        Arc::from_std_counted(std::sync::Arc::clone(&self.std), self.count.clone())
    }
}

/// A count handle dropped where loom must not be called (see `statics::tracking_frees`): the
/// last handle is leaked, since dropping it would drop its loom `Track`.
fn drop_quietly(c: CountRef) {
    if std::sync::Arc::strong_count(&c) == 1 {
        std::mem::forget(c);
    }
}

impl<T: ?Sized> Drop for Arc<T> {
    fn drop(&mut self) {
        if let Some(c) = self.count.take() {
            if super::statics::tracking_frees() {
                if c.drop_strong() {
                    let a = addr(std::sync::Arc::as_ptr(&self.std));
                    let _ = RAW.try_with(|r| r.borrow_mut().remove(&a));
                }
            } else {
                // Unwinding, or loom tearing a failed execution down: the count stays exact,
                // without the loom release.
                c.strong.fetch_sub(1, Relaxed);
                drop_quietly(c);
            }
        }
        unsafe { ManuallyDrop::drop(&mut self.std) }
    }
}

impl<T: ?Sized> Drop for Weak<T> {
    fn drop(&mut self) {
        if let Some(c) = self.count.take() {
            if super::statics::tracking_frees() {
                drop(c);
            } else {
                drop_quietly(c);
            }
        }
    }
}

impl<T: ?Sized> Deref for Arc<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.std
    }
}

impl<T: ?Sized> AsRef<T> for Arc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: ?Sized> Borrow<T> for Arc<T> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: Default> Default for Arc<T> {
    #[track_caller]
    fn default() -> Self {
        Arc::new(T::default())
    }
}

impl<T> From<T> for Arc<T> {
    #[track_caller]
    fn from(v: T) -> Self {
        Arc::new(v)
    }
}

impl<T: ?Sized> From<std::sync::Arc<T>> for Arc<T> {
    /// Adopts a std `Arc` (in a normal build this is the identity conversion, so it is also
    /// the portable way to build an `Arc<dyn Trait>`: see the crate guide). Under loom the
    /// count is modelled only if the std `Arc` is unique.
    #[track_caller]
    fn from(mut s: std::sync::Arc<T>) -> Self {
        let count = if std::sync::Arc::get_mut(&mut s).is_some() {
            new_count(1)
        } else {
            None
        };
        Arc::from_std_counted(s, count)
    }
}

impl<T: ?Sized> From<Box<T>> for Arc<T> {
    #[track_caller]
    fn from(b: Box<T>) -> Self {
        Arc::from_std_counted(std::sync::Arc::from(b), new_count(1))
    }
}

impl From<&str> for Arc<str> {
    #[track_caller]
    fn from(s: &str) -> Self {
        Arc::from_std_counted(std::sync::Arc::from(s), new_count(1))
    }
}

impl From<String> for Arc<str> {
    #[track_caller]
    fn from(s: String) -> Self {
        Arc::from_std_counted(std::sync::Arc::from(s), new_count(1))
    }
}

impl<T> From<Vec<T>> for Arc<[T]> {
    #[track_caller]
    fn from(v: Vec<T>) -> Self {
        Arc::from_std_counted(std::sync::Arc::from(v), new_count(1))
    }
}

impl<T: Clone> From<&[T]> for Arc<[T]> {
    #[track_caller]
    fn from(v: &[T]) -> Self {
        Arc::from_std_counted(std::sync::Arc::from(v), new_count(1))
    }
}

impl<T> FromIterator<T> for Arc<[T]> {
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Arc::from_std_counted(iter.into_iter().collect(), new_count(1))
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Arc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Arc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized> fmt::Pointer for Arc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&Arc::as_ptr(self), f)
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Arc<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq> Eq for Arc<T> {}

impl<T: ?Sized + PartialOrd> PartialOrd for Arc<T> {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: ?Sized + Ord> Ord for Arc<T> {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (**self).cmp(&**other)
    }
}

impl<T: ?Sized + Hash> Hash for Arc<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<T: ?Sized + std::error::Error> std::error::Error for Arc<T> {}

impl<T: ?Sized + std::panic::RefUnwindSafe> std::panic::UnwindSafe for Arc<T> {}

impl<T> Weak<T> {
    /// A weak reference to nothing (never upgrades).
    pub const fn new() -> Weak<T> {
        Weak {
            count: None,
            std: std::sync::Weak::new(),
        }
    }
}

impl<T: ?Sized> Weak<T> {
    /// A strong reference, if the value is still alive.
    pub fn upgrade(&self) -> Option<Arc<T>> {
        if let Some(c) = &self.count {
            // The scheduling point first; then the increment-if-alive is atomic.
            c.acquire();
            let alive = c
                .strong
                .fetch_update(Relaxed, Relaxed, |n| (n > 0).then(|| n + 1))
                .is_ok();
            if !alive {
                return None;
            }
            let s = self.std.upgrade().expect("heisen: Arc counts out of step");
            return Some(Arc::from_std_counted(s, Some(c.clone())));
        }
        self.std.upgrade().map(|s| Arc::from_std_counted(s, None))
    }
    /// The number of strong references (0 once the value is dropped).
    pub fn strong_count(&self) -> usize {
        match &self.count {
            Some(c) => {
                c.sync.load(SeqCst);
                c.strong.load(Relaxed)
            }
            None => self.std.strong_count(),
        }
    }
    /// The number of weak references.
    pub fn weak_count(&self) -> usize {
        self.std.weak_count()
    }
    /// Whether both point to the same allocation (or both to none).
    pub fn ptr_eq(&self, other: &Self) -> bool {
        self.std.ptr_eq(&other.std)
    }
    /// A pointer to the value (dangling if it was dropped).
    pub fn as_ptr(&self) -> *const T {
        self.std.as_ptr()
    }
}

impl<T: ?Sized> Clone for Weak<T> {
    fn clone(&self) -> Self {
        Weak {
            count: self.count.clone(),
            std: self.std.clone(),
        }
    }
}

impl<T> Default for Weak<T> {
    fn default() -> Self {
        Weak::new()
    }
}

impl<T: ?Sized> fmt::Debug for Weak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(Weak)")
    }
}
