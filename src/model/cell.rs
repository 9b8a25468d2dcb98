//! Model-build `UnsafeCell` (loom's `with`/`with_mut` API; accesses recorded, and checked for
//! data races by loom).

use super::rt::{self, Backend, Op};
use std::panic::Location;

/// Facade `UnsafeCell` with loom's closure API.
pub struct UnsafeCell<T>(Inner<T>);
enum Inner<T> {
    Std(std::cell::UnsafeCell<T>),
    Loom(loom::cell::UnsafeCell<T>),
}

impl<T> UnsafeCell<T> {
    /// Creates a cell.
    pub fn new(v: T) -> Self {
        UnsafeCell(match rt::backend() {
            Backend::Loom => Inner::Loom(loom::cell::UnsafeCell::new(v)),
            _ => Inner::Std(std::cell::UnsafeCell::new(v)),
        })
    }
    /// Immutable access through a raw pointer (a recorded read; loom checks it for races).
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        rt::record(
            Op::CellRead,
            Some(self as *const Self as usize),
            None,
            Some(Location::caller()),
        );
        match &self.0 {
            Inner::Std(c) => f(c.get()),
            Inner::Loom(c) => c.with(f),
        }
    }
    /// Mutable access through a raw pointer (a recorded write; loom checks it for races).
    #[track_caller]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        rt::record(
            Op::CellWrite,
            Some(self as *const Self as usize),
            None,
            Some(Location::caller()),
        );
        match &self.0 {
            Inner::Std(c) => f(c.get()),
            Inner::Loom(c) => c.with_mut(f),
        }
    }
    /// Consumes the cell.
    pub fn into_inner(self) -> T {
        match self.0 {
            Inner::Std(c) => c.into_inner(),
            Inner::Loom(c) => c.into_inner(),
        }
    }
}
impl<T: Default> Default for UnsafeCell<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}
impl<T> std::fmt::Debug for UnsafeCell<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnsafeCell").finish_non_exhaustive()
    }
}
