//! Model-build allocation tracking (loom's `alloc` API): inside a loom run an allocation made
//! through `heisen::alloc` and never freed, or a [`Track`]ed value never dropped, is reported
//! by loom as a leak at the end of the execution. Elsewhere (shuttle, outside model runs) it
//! is std's allocator and a plain wrapper.

use super::rt::{self, Backend};
use std::alloc::Layout;
use std::cell::RefCell;
use std::collections::HashMap;
use std::mem::ManuallyDrop;

thread_local! {
    /// Raw allocations of the current loom execution, each with the loom `Track` that makes a
    /// leak of it visible to loom (loom's own raw-allocation tracking aborts the process when
    /// it reports a leak under heisen's runner, so heisen tracks raw blocks with `Track`s).
    static RAW: RefCell<HashMap<usize, loom::alloc::Track<()>>> = RefCell::new(HashMap::new());
}

/// Start of an execution, and the end of a loom run: forget the entries left (leaked, never
/// dropped: their loom objects belong to a finished execution, and a loom object dropped
/// outside its execution, e.g. by this thread-local's destructor at thread exit, panics inside
/// a destructor and aborts the process).
pub(crate) fn begin_execution() {
    RAW.with(|r| {
        r.borrow_mut()
            .drain()
            .for_each(|(_, t)| std::mem::forget(t))
    });
    super::arc::forget_raw_counts();
}

#[track_caller]
fn track(p: *mut u8) -> *mut u8 {
    if !p.is_null() && rt::backend() == Backend::Loom {
        let t = loom::alloc::Track::new(());
        RAW.with(|r| r.borrow_mut().insert(p as usize, t));
    }
    p
}

/// Allocates as `std::alloc::alloc` (tracked for leaks under loom).
///
/// # Safety
/// As `std::alloc::alloc`.
#[track_caller]
pub unsafe fn alloc(layout: Layout) -> *mut u8 {
    track(std::alloc::alloc(layout))
}

/// Allocates zeroed memory as `std::alloc::alloc_zeroed` (tracked for leaks under loom).
///
/// # Safety
/// As `std::alloc::alloc_zeroed`.
#[track_caller]
pub unsafe fn alloc_zeroed(layout: Layout) -> *mut u8 {
    track(std::alloc::alloc_zeroed(layout))
}

/// Frees memory from [`alloc`] / [`alloc_zeroed`], as `std::alloc::dealloc`.
///
/// # Safety
/// As `std::alloc::dealloc`.
pub unsafe fn dealloc(ptr: *mut u8, layout: Layout) {
    let t = RAW.with(|r| r.borrow_mut().remove(&(ptr as usize)));
    match t {
        Some(t) if super::statics::tracking_frees() => drop(t),
        Some(t) => std::mem::forget(t),
        None => {}
    }
    std::alloc::dealloc(ptr, layout)
}

/// A value tracked for leaks (loom's `alloc::Track`): under loom, a `Track` still alive at the
/// end of an execution (forgotten, or in an `Arc` cycle) is reported as a leak.
pub struct Track<T>(ManuallyDrop<TInner<T>>);
enum TInner<T> {
    Plain(T),
    Loom(loom::alloc::Track<T>),
}

impl<T> Track<T> {
    /// Tracks `value`.
    #[track_caller]
    pub fn new(value: T) -> Track<T> {
        Track(ManuallyDrop::new(match rt::backend() {
            Backend::Loom => TInner::Loom(loom::alloc::Track::new(value)),
            _ => TInner::Plain(value),
        }))
    }
    /// The value.
    pub fn get_ref(&self) -> &T {
        match &*self.0 {
            TInner::Plain(v) => v,
            TInner::Loom(t) => t.get_ref(),
        }
    }
    /// The value, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        match &mut *self.0 {
            TInner::Plain(v) => v,
            TInner::Loom(t) => t.get_mut(),
        }
    }
    /// Stops tracking, returning the value.
    pub fn into_inner(self) -> T {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again.
        match unsafe { ManuallyDrop::take(&mut this.0) } {
            TInner::Plain(v) => v,
            TInner::Loom(t) => t.into_inner(),
        }
    }
}

impl<T> Drop for Track<T> {
    fn drop(&mut self) {
        if matches!(&*self.0, TInner::Loom(_)) && !super::statics::tracking_frees() {
            // A failed execution: loom may be tearing it down, so its object is leaked.
            return;
        }
        // SAFETY: dropped once, here.
        unsafe { ManuallyDrop::drop(&mut self.0) }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Track<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Track").field(self.get_ref()).finish()
    }
}
