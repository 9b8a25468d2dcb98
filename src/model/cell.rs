//! Model-build `UnsafeCell` (loom's `with`/`with_mut` and `get`/`get_mut` API; accesses
//! recorded, and checked for data races by loom).

use super::rt::{self, Backend, Op};
use super::statics::{std_only, Site};
use std::panic::Location;

/// Facade `UnsafeCell` with loom's API.
pub struct UnsafeCell<T>(Inner<T>);
enum Inner<T> {
    Std(std::cell::UnsafeCell<T>, Site),
    Loom(loom::cell::UnsafeCell<T>),
    Shuttle(std::cell::UnsafeCell<T>),
}

/// A read access to an [`UnsafeCell`] that lasts as long as this value (loom's `ConstPtr`):
/// under loom, a write by another thread while it lives is a data race.
pub struct ConstPtr<T> {
    ptr: *const T,
    loom: Option<loom::cell::ConstPtr<T>>,
}

/// A write access to an [`UnsafeCell`] that lasts as long as this value (loom's `MutPtr`):
/// under loom, any access by another thread while it lives is a data race.
pub struct MutPtr<T> {
    ptr: *mut T,
    loom: Option<loom::cell::MutPtr<T>>,
}

impl<T> ConstPtr<T> {
    /// Dereferences the pointer.
    ///
    /// # Safety
    /// As dereferencing `*const T`: no `&mut` to the value may exist while the result lives.
    pub unsafe fn deref(&self) -> &T {
        match &self.loom {
            Some(p) => p.deref(),
            None => &*self.ptr,
        }
    }
    /// Runs `f` with the raw pointer.
    pub fn with<F, R>(&self, f: F) -> R
    where
        F: FnOnce(*const T) -> R,
    {
        match &self.loom {
            Some(p) => p.with(f),
            None => f(self.ptr),
        }
    }
}

impl<T> MutPtr<T> {
    /// Dereferences the pointer.
    ///
    /// # Safety
    /// As dereferencing `*mut T`: the result must be the only reference to the value while it
    /// lives.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn deref(&self) -> &mut T {
        match &self.loom {
            Some(p) => p.deref(),
            None => &mut *self.ptr,
        }
    }
    /// Runs `f` with the raw pointer.
    pub fn with<F, R>(&self, f: F) -> R
    where
        F: FnOnce(*mut T) -> R,
    {
        match &self.loom {
            Some(p) => p.with(f),
            None => f(self.ptr),
        }
    }
}

impl<T> std::fmt::Debug for ConstPtr<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConstPtr").finish_non_exhaustive()
    }
}
impl<T> std::fmt::Debug for MutPtr<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MutPtr").finish_non_exhaustive()
    }
}

impl<T> UnsafeCell<T> {
    /// Creates a cell (modelled when created inside a model run).
    #[track_caller]
    pub fn new(v: T) -> Self {
        UnsafeCell(match rt::backend() {
            Backend::Loom => Inner::Loom(loom::cell::UnsafeCell::new(v)),
            Backend::Shuttle => Inner::Shuttle(std::cell::UnsafeCell::new(v)),
            Backend::Std => Inner::Std(std::cell::UnsafeCell::new(v), Location::caller()),
        })
    }
    #[track_caller]
    fn record(&self, op: Op) {
        rt::record(
            op,
            Some(self as *const Self as usize),
            None,
            Some(Location::caller()),
        );
    }
    /// Immutable access through a raw pointer (a recorded read; loom checks it for races).
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        self.record(Op::CellRead);
        match &self.0 {
            Inner::Std(c, site) => {
                std_only(site, "UnsafeCell");
                f(c.get())
            }
            Inner::Shuttle(c) => f(c.get()),
            Inner::Loom(c) => c.with(f),
        }
    }
    /// Mutable access through a raw pointer (a recorded write; loom checks it for races).
    #[track_caller]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        self.record(Op::CellWrite);
        match &self.0 {
            Inner::Std(c, site) => {
                std_only(site, "UnsafeCell");
                f(c.get())
            }
            Inner::Shuttle(c) => f(c.get()),
            Inner::Loom(c) => c.with_mut(f),
        }
    }
    /// A read access that lasts while the returned [`ConstPtr`] lives (a recorded read).
    #[track_caller]
    pub fn get(&self) -> ConstPtr<T> {
        self.record(Op::CellRead);
        match &self.0 {
            Inner::Std(c, site) => {
                std_only(site, "UnsafeCell");
                ConstPtr {
                    ptr: c.get(),
                    loom: None,
                }
            }
            Inner::Shuttle(c) => ConstPtr {
                ptr: c.get(),
                loom: None,
            },
            Inner::Loom(c) => ConstPtr {
                ptr: std::ptr::null(),
                loom: Some(c.get()),
            },
        }
    }
    /// A write access that lasts while the returned [`MutPtr`] lives (a recorded write).
    #[track_caller]
    pub fn get_mut(&self) -> MutPtr<T> {
        self.record(Op::CellWrite);
        match &self.0 {
            Inner::Std(c, site) => {
                std_only(site, "UnsafeCell");
                MutPtr {
                    ptr: c.get(),
                    loom: None,
                }
            }
            Inner::Shuttle(c) => MutPtr {
                ptr: c.get(),
                loom: None,
            },
            Inner::Loom(c) => MutPtr {
                ptr: std::ptr::null_mut(),
                loom: Some(c.get_mut()),
            },
        }
    }
    /// Consumes the cell.
    pub fn into_inner(self) -> T {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again.
        match unsafe { std::ptr::read(&this.0) } {
            Inner::Std(c, _) | Inner::Shuttle(c) => c.into_inner(),
            Inner::Loom(c) => c.into_inner(),
        }
    }
}

/// Freeing a cell is a write access (tracked allocation): under loom, dropping it while
/// another thread's last access is not ordered before the drop (a refcount decremented with
/// `Relaxed`, a channel slot freed early) is reported as a data race.
impl<T> Drop for UnsafeCell<T> {
    fn drop(&mut self) {
        if let Inner::Loom(c) = &self.0 {
            if super::statics::tracking_frees() {
                c.with_mut(|_| ());
            }
        }
    }
}
impl<T: Default> Default for UnsafeCell<T> {
    #[track_caller]
    fn default() -> Self {
        Self::new(T::default())
    }
}
impl<T> From<T> for UnsafeCell<T> {
    #[track_caller]
    fn from(v: T) -> Self {
        Self::new(v)
    }
}
impl<T> std::fmt::Debug for UnsafeCell<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnsafeCell").finish_non_exhaustive()
    }
}
