//! Model-build atomics: dispatch to std / loom / shuttle by the backend active at construction,
//! and record every access in the trace.
//!
//! Freeing an atomic is not an access (as with loom's own atomics): atomics are commonly
//! shared through `std::sync::Arc`, whose count loom cannot see, and a free checked as a write
//! would turn every such last drop on another thread into a false data race (loom's
//! `fence.rs`, `yield.rs` and `atomic_relaxed.rs` tests). Frees of the data, the facade
//! `UnsafeCell`, stay accesses (`cell.rs`).

use super::rt::{self, Backend, Op, Val};
use super::statics::std_only;
use std::panic::Location;
pub use std::sync::atomic::Ordering;

macro_rules! dispatch {
    // A modelled operation marks itself in flight first: a failure raised inside the backend
    // call is its (see `rt::op_begin`).
    ($self:ident, $a:ident => $e:expr) => {
        match &$self.0 {
            Inner::Std($a, site) => {
                std_only(site, $self.kind());
                $e
            }
            Inner::Loom($a) => {
                rt::op_begin(Location::caller());
                $e
            }
            Inner::Shuttle($a) => {
                rt::op_begin(Location::caller());
                $e
            }
        }
    };
}

macro_rules! atomic_common {
    ($name:ident, $t:ty, $fmt:expr) => {
        enum Inner {
            Std(std::sync::atomic::$name, super::super::statics::Site),
            Loom(loom::sync::atomic::$name),
            Shuttle(shuttle::sync::atomic::$name),
        }

        impl $name {
            /// Creates a new atomic (modelled when created inside a model run).
            #[track_caller]
            pub fn new(v: $t) -> Self {
                $name(match rt::backend() {
                    Backend::Std => Inner::Std(std::sync::atomic::$name::new(v), Location::caller()),
                    Backend::Loom => Inner::Loom(loom::sync::atomic::$name::new(v)),
                    Backend::Shuttle => Inner::Shuttle(shuttle::sync::atomic::$name::new(v)),
                })
            }
            fn id(&self) -> Option<usize> {
                Some(self as *const Self as usize)
            }
            fn kind(&self) -> &'static str {
                stringify!($name)
            }
            /// Loads the value.
            #[track_caller]
            pub fn load(&self, order: Ordering) -> $t {
                let v = dispatch!(self, a => a.load(order));
                rt::record(Op::Load($fmt(&v)), self.id(), Some(order), Some(Location::caller()));
                v
            }
            /// Stores a value.
            #[track_caller]
            pub fn store(&self, val: $t, order: Ordering) {
                dispatch!(self, a => a.store(val, order));
                rt::record(Op::Store($fmt(&val)), self.id(), Some(order), Some(Location::caller()));
            }
            /// Swaps the value, returning the previous one.
            #[track_caller]
            pub fn swap(&self, val: $t, order: Ordering) -> $t {
                let old = dispatch!(self, a => a.swap(val, order));
                rt::record(Op::Rmw("swap", $fmt(&old), $fmt(&val)), self.id(), Some(order), Some(Location::caller()));
                old
            }
            /// Deprecated compare-and-swap (std's): a `compare_exchange` whose failure ordering
            /// is the strongest one allowed for `order`; returns the previous value.
            #[deprecated(note = "Use `compare_exchange` or `compare_exchange_weak` instead")]
            #[track_caller]
            pub fn compare_and_swap(&self, current: $t, new: $t, order: Ordering) -> $t {
                let failure = failure_order(order);
                match self.compare_exchange(current, new, order, failure) {
                    Ok(v) | Err(v) => v,
                }
            }
            /// A raw pointer to the value: std objects only (loom and shuttle keep the value in
            /// their own state, so inside a model run this panics with an explanation).
            pub fn as_ptr(&self) -> *mut $t {
                match &self.0 {
                    Inner::Std(a, _) => a.as_ptr(),
                    _ => no_ptr(stringify!($name)),
                }
            }
            /// Compare-and-exchange.
            #[track_caller]
            pub fn compare_exchange(&self, current: $t, new: $t, success: Ordering, failure: Ordering) -> Result<$t, $t> {
                let r = dispatch!(self, a => a.compare_exchange(current, new, success, failure));
                self.record_cas(current, new, &r, success, failure);
                r
            }
            /// Weak compare-and-exchange.
            #[track_caller]
            pub fn compare_exchange_weak(&self, current: $t, new: $t, success: Ordering, failure: Ordering) -> Result<$t, $t> {
                let r = dispatch!(self, a => a.compare_exchange_weak(current, new, success, failure));
                self.record_cas(current, new, &r, success, failure);
                r
            }
            #[track_caller]
            fn record_cas(&self, current: $t, new: $t, r: &Result<$t, $t>, success: Ordering, failure: Ordering) {
                let result = match r { Ok(v) => Ok($fmt(v)), Err(v) => Err($fmt(v)) };
                let ord = if r.is_ok() { success } else { failure };
                rt::record(Op::Cas { expected: $fmt(&current), new: $fmt(&new), result }, self.id(), Some(ord), Some(Location::caller()));
            }
            /// Fetches the value and applies `f` to it until it returns `None` or its result is
            /// installed by a compare-and-exchange (std's algorithm: one load, then weak CAS
            /// attempts). Recorded step by step as `fetch_update`: the load, then every CAS
            /// attempt with its success or failure and values.
            #[track_caller]
            pub fn fetch_update<F: FnMut($t) -> Option<$t>>(&self, set_order: Ordering, fetch_order: Ordering, f: F) -> Result<$t, $t> {
                self.update_via("fetch_update", set_order, fetch_order, f)
            }
            /// std's `try_update` (the new name of `fetch_update`): recorded step by step.
            #[track_caller]
            pub fn try_update(&self, set_order: Ordering, fetch_order: Ordering, f: impl FnMut($t) -> Option<$t>) -> Result<$t, $t> {
                self.update_via("try_update", set_order, fetch_order, f)
            }
            /// std's `update`: applies `f` until its result is installed; returns the previous
            /// value. Recorded step by step.
            #[track_caller]
            pub fn update(&self, set_order: Ordering, fetch_order: Ordering, mut f: impl FnMut($t) -> $t) -> $t {
                match self.update_via("update", set_order, fetch_order, |v| Some(f(v))) {
                    Ok(v) | Err(v) => v,
                }
            }
            #[track_caller]
            fn update_via<F: FnMut($t) -> Option<$t>>(&self, via: &'static str, set_order: Ordering, fetch_order: Ordering, mut f: F) -> Result<$t, $t> {
                let loc = Location::caller();
                let mut prev = dispatch!(self, a => a.load(fetch_order));
                rt::record_via(Op::Load($fmt(&prev)), self.id(), Some(fetch_order), Some(loc), Some(via));
                while let Some(next) = f(prev) {
                    let r = dispatch!(self, a => a.compare_exchange_weak(prev, next, set_order, fetch_order));
                    let result = match &r { Ok(v) => Ok($fmt(v)), Err(v) => Err($fmt(v)) };
                    let ord = if r.is_ok() { set_order } else { fetch_order };
                    rt::record_via(Op::Cas { expected: $fmt(&prev), new: $fmt(&next), result }, self.id(), Some(ord), Some(loc), Some(via));
                    match r {
                        Ok(v) => return Ok(v),
                        Err(v) => prev = v,
                    }
                }
                Err(prev)
            }
            /// Mutable access to the value (exclusive: not an access other threads can race).
            ///
            /// loom's atomics have no `get_mut` (only a closure API): inside a loom run this
            /// panics (use `load`/`store` there: with `&mut self` no other thread can race them).
            pub fn get_mut(&mut self) -> &mut $t {
                match &mut self.0 {
                    Inner::Std(a, _) => a.get_mut(),
                    Inner::Shuttle(a) => a.get_mut(),
                    Inner::Loom(_) => panic!(concat!("heisen: ", stringify!($name), "::get_mut is not available under loom (loom has no get_mut); use load/store")),
                }
            }
            /// Consumes the atomic, returning the value.
            pub fn into_inner(self) -> $t {
                let this = std::mem::ManuallyDrop::new(self);
                // SAFETY: `this` is never used or dropped again.
                match unsafe { std::ptr::read(&this.0) } {
                    Inner::Std(a, _) => a.into_inner(),
                    Inner::Loom(a) => a.into_inner(),
                    Inner::Shuttle(a) => a.into_inner(),
                }
            }
        }

        impl Default for $name {
            #[track_caller]
            fn default() -> Self {
                Self::new(Default::default())
            }
        }

        impl From<$t> for $name {
            #[track_caller]
            fn from(v: $t) -> Self {
                Self::new(v)
            }
        }

        /// std's: the value of a `Relaxed` load (a recorded load in model runs).
        impl std::fmt::Debug for $name {
            #[track_caller]
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.debug_load(), f)
            }
        }

        impl $name {
            /// The value `Debug` shows: a recorded `Relaxed` load of a modelled atomic; a plain
            /// load of a std one (also one built outside the run: formatting never refuses).
            #[track_caller]
            fn debug_load(&self) -> $t {
                match &self.0 {
                    Inner::Std(a, _) => a.load(Ordering::Relaxed),
                    _ => self.load(Ordering::Relaxed),
                }
            }
        }
    };
}

macro_rules! rmw {
    ($t:ty, $fmt:expr, $($op:ident),*) => {
        $(
            /// Read-modify-write, returning the previous value.
            #[track_caller]
            pub fn $op(&self, val: $t, order: Ordering) -> $t {
                let old = dispatch!(self, a => a.$op(val, order));
                // The new value is recomputed from the old one for the report.
                let new = Self::apply(stringify!($op), old, val);
                rt::record(Op::Rmw(stringify!($op), $fmt(&old), $fmt(&new)), self.id(), Some(order), Some(Location::caller()));
                old
            }
        )*
    };
}

/// The trace's (unformatted) value of `v`.
fn fmt_display<T: Copy + Into<Val>>(v: &T) -> Val {
    (*v).into()
}

/// The failure ordering std's deprecated `compare_and_swap` uses for `order`.
fn failure_order(order: Ordering) -> Ordering {
    match order {
        Ordering::Release | Ordering::Relaxed => Ordering::Relaxed,
        Ordering::AcqRel | Ordering::Acquire => Ordering::Acquire,
        _ => Ordering::SeqCst,
    }
}

#[cold]
fn no_ptr(name: &str) -> ! {
    panic!(
        "heisen: {name}::as_ptr is not available inside a model run (loom and shuttle keep the \
         value in their own state, so a raw pointer to it cannot exist); use load/store"
    )
}

macro_rules! int_type {
    ($modname:ident, $name:ident, $t:ty) => {
        mod $modname {
            use super::*;
            /// Facade atomic integer (std outside model runs, loom/shuttle inside; recorded).
            pub struct $name(Inner);
            atomic_common!($name, $t, fmt_display);
            impl $name {
                rmw!(
                    $t,
                    fmt_display,
                    fetch_add,
                    fetch_sub,
                    fetch_and,
                    fetch_nand,
                    fetch_or,
                    fetch_xor,
                    fetch_max,
                    fetch_min
                );
                fn apply(op: &str, old: $t, v: $t) -> $t {
                    match op {
                        "fetch_add" => old.wrapping_add(v),
                        "fetch_sub" => old.wrapping_sub(v),
                        "fetch_and" => old & v,
                        "fetch_nand" => !(old & v),
                        "fetch_or" => old | v,
                        "fetch_xor" => old ^ v,
                        "fetch_max" => old.max(v),
                        _ => old.min(v),
                    }
                }
            }
        }
        pub use $modname::$name;
    };
}

int_type!(i8_, AtomicI8, i8);
int_type!(i16_, AtomicI16, i16);
int_type!(i32_, AtomicI32, i32);
int_type!(i64_, AtomicI64, i64);
int_type!(isize_, AtomicIsize, isize);
int_type!(u8_, AtomicU8, u8);
int_type!(u16_, AtomicU16, u16);
int_type!(u32_, AtomicU32, u32);
int_type!(u64_, AtomicU64, u64);
int_type!(usize_, AtomicUsize, usize);

mod bool_ {
    use super::*;
    /// Facade atomic bool (std outside model runs, loom/shuttle inside; recorded).
    pub struct AtomicBool(Inner);
    atomic_common!(AtomicBool, bool, fmt_display);
    impl AtomicBool {
        rmw!(
            bool,
            fmt_display,
            fetch_and,
            fetch_nand,
            fetch_or,
            fetch_xor
        );
        /// Logical "not" of the value (std's `fetch_not`: a `fetch_xor(true)`); returns the
        /// previous value.
        #[track_caller]
        pub fn fetch_not(&self, order: Ordering) -> bool {
            let old = dispatch!(self, a => a.fetch_xor(true, order));
            rt::record(
                Op::Rmw("fetch_not", fmt_display(&old), fmt_display(&!old)),
                self.id(),
                Some(order),
                Some(Location::caller()),
            );
            old
        }
        fn apply(op: &str, old: bool, v: bool) -> bool {
            match op {
                "fetch_and" => old & v,
                "fetch_nand" => !(old & v),
                "fetch_or" => old | v,
                _ => old ^ v,
            }
        }
    }
}
pub use bool_::AtomicBool;

mod ptr_ {
    use super::*;
    fn fmt_ptr<T>(p: &*mut T) -> Val {
        Val::Ptr(*p as usize)
    }
    macro_rules! ptr_inner {
        () => {
            enum Inner<T> {
                Std(std::sync::atomic::AtomicPtr<T>, super::super::statics::Site),
                Loom(loom::sync::atomic::AtomicPtr<T>),
                Shuttle(shuttle::sync::atomic::AtomicPtr<T>),
            }
        };
    }
    ptr_inner!();
    /// `p` moved to address `addr`, keeping its provenance (`<*mut T>::with_addr`, which is
    /// newer than this crate's MSRV).
    fn with_addr<T>(p: *mut T, addr: usize) -> *mut T {
        p.wrapping_byte_add(addr.wrapping_sub(p as usize))
    }
    /// Facade atomic pointer (std outside model runs, loom/shuttle inside; recorded).
    pub struct AtomicPtr<T>(Inner<T>);
    impl<T> AtomicPtr<T> {
        /// Creates a new atomic pointer (modelled when created inside a model run).
        #[track_caller]
        pub fn new(p: *mut T) -> Self {
            AtomicPtr(match rt::backend() {
                Backend::Std => {
                    Inner::Std(std::sync::atomic::AtomicPtr::new(p), Location::caller())
                }
                Backend::Loom => Inner::Loom(loom::sync::atomic::AtomicPtr::new(p)),
                Backend::Shuttle => Inner::Shuttle(shuttle::sync::atomic::AtomicPtr::new(p)),
            })
        }
        fn id(&self) -> Option<usize> {
            Some(self as *const Self as usize)
        }
        fn kind(&self) -> &'static str {
            "AtomicPtr"
        }
        /// Loads the pointer.
        #[track_caller]
        pub fn load(&self, order: Ordering) -> *mut T {
            let v = dispatch!(self, a => a.load(order));
            rt::record(
                Op::Load(fmt_ptr(&v)),
                self.id(),
                Some(order),
                Some(Location::caller()),
            );
            v
        }
        /// Stores a pointer.
        #[track_caller]
        pub fn store(&self, p: *mut T, order: Ordering) {
            dispatch!(self, a => a.store(p, order));
            rt::record(
                Op::Store(fmt_ptr(&p)),
                self.id(),
                Some(order),
                Some(Location::caller()),
            );
        }
        /// Swaps the pointer.
        #[track_caller]
        pub fn swap(&self, p: *mut T, order: Ordering) -> *mut T {
            let old = dispatch!(self, a => a.swap(p, order));
            rt::record(
                Op::Rmw("swap", fmt_ptr(&old), fmt_ptr(&p)),
                self.id(),
                Some(order),
                Some(Location::caller()),
            );
            old
        }
        /// Compare-and-exchange.
        #[track_caller]
        pub fn compare_exchange(
            &self,
            current: *mut T,
            new: *mut T,
            success: Ordering,
            failure: Ordering,
        ) -> Result<*mut T, *mut T> {
            let r = dispatch!(self, a => a.compare_exchange(current, new, success, failure));
            self.record_cas(current, new, &r, success, failure);
            r
        }
        /// Weak compare-and-exchange.
        #[track_caller]
        pub fn compare_exchange_weak(
            &self,
            current: *mut T,
            new: *mut T,
            success: Ordering,
            failure: Ordering,
        ) -> Result<*mut T, *mut T> {
            let r = dispatch!(self, a => a.compare_exchange_weak(current, new, success, failure));
            self.record_cas(current, new, &r, success, failure);
            r
        }
        /// Deprecated compare-and-swap (see the integer atomics).
        #[deprecated(note = "Use `compare_exchange` or `compare_exchange_weak` instead")]
        #[track_caller]
        pub fn compare_and_swap(&self, current: *mut T, new: *mut T, order: Ordering) -> *mut T {
            match self.compare_exchange(current, new, order, failure_order(order)) {
                Ok(v) | Err(v) => v,
            }
        }
        /// A raw pointer to the pointer: std objects only (see the integer atomics).
        pub fn as_ptr(&self) -> *mut *mut T {
            match &self.0 {
                Inner::Std(a, _) => a.as_ptr(),
                _ => no_ptr("AtomicPtr"),
            }
        }
        #[track_caller]
        fn record_cas(
            &self,
            current: *mut T,
            new: *mut T,
            r: &Result<*mut T, *mut T>,
            success: Ordering,
            failure: Ordering,
        ) {
            let result = match r {
                Ok(v) => Ok(fmt_ptr(v)),
                Err(v) => Err(fmt_ptr(v)),
            };
            let ord = if r.is_ok() { success } else { failure };
            rt::record(
                Op::Cas {
                    expected: fmt_ptr(&current),
                    new: fmt_ptr(&new),
                    result,
                },
                self.id(),
                Some(ord),
                Some(Location::caller()),
            );
        }
    }
    impl<T> AtomicPtr<T> {
        /// `fetch_update` (see the integer atomics): recorded step by step.
        #[track_caller]
        pub fn fetch_update<F: FnMut(*mut T) -> Option<*mut T>>(
            &self,
            set_order: Ordering,
            fetch_order: Ordering,
            f: F,
        ) -> Result<*mut T, *mut T> {
            self.update_via("fetch_update", set_order, fetch_order, f)
        }
        /// std's `try_update` (see the integer atomics): recorded step by step.
        #[track_caller]
        pub fn try_update(
            &self,
            set_order: Ordering,
            fetch_order: Ordering,
            f: impl FnMut(*mut T) -> Option<*mut T>,
        ) -> Result<*mut T, *mut T> {
            self.update_via("try_update", set_order, fetch_order, f)
        }
        /// std's `update` (see the integer atomics): recorded step by step.
        #[track_caller]
        pub fn update(
            &self,
            set_order: Ordering,
            fetch_order: Ordering,
            mut f: impl FnMut(*mut T) -> *mut T,
        ) -> *mut T {
            match self.update_via("update", set_order, fetch_order, |p| Some(f(p))) {
                Ok(p) | Err(p) => p,
            }
        }
        #[track_caller]
        fn update_via<F: FnMut(*mut T) -> Option<*mut T>>(
            &self,
            via: &'static str,
            set_order: Ordering,
            fetch_order: Ordering,
            mut f: F,
        ) -> Result<*mut T, *mut T> {
            let loc = Location::caller();
            let mut prev = dispatch!(self, a => a.load(fetch_order));
            rt::record_via(
                Op::Load(fmt_ptr(&prev)),
                self.id(),
                Some(fetch_order),
                Some(loc),
                Some(via),
            );
            while let Some(next) = f(prev) {
                let r = dispatch!(self, a => a.compare_exchange_weak(prev, next, set_order, fetch_order));
                let result = match &r {
                    Ok(v) => Ok(fmt_ptr(v)),
                    Err(v) => Err(fmt_ptr(v)),
                };
                let ord = if r.is_ok() { set_order } else { fetch_order };
                rt::record_via(
                    Op::Cas {
                        expected: fmt_ptr(&prev),
                        new: fmt_ptr(&next),
                        result,
                    },
                    self.id(),
                    Some(ord),
                    Some(loc),
                    Some(via),
                );
                match r {
                    Ok(v) => return Ok(v),
                    Err(v) => prev = v,
                }
            }
            Err(prev)
        }
        /// One read-modify-write of the address: shuttle's own operation; loom's `AtomicPtr`
        /// has none, so there it is loom's `fetch_update` (a load and compare-and-exchange
        /// attempts, each a loom operation), and on a std object std's `fetch_update` (std's
        /// own methods are newer than this crate's MSRV). Recorded as one row.
        #[track_caller]
        fn ptr_rmw(
            &self,
            name: &'static str,
            order: Ordering,
            shuttle_op: fn(&shuttle::sync::atomic::AtomicPtr<T>, usize, Ordering) -> *mut T,
            val: usize,
            f: fn(*mut T, usize) -> *mut T,
        ) -> *mut T {
            let old = match &self.0 {
                Inner::Std(a, site) => {
                    std_only(site, "AtomicPtr");
                    match a.fetch_update(order, failure_order(order), |p| Some(f(p, val))) {
                        Ok(p) | Err(p) => p,
                    }
                }
                Inner::Loom(a) => {
                    rt::op_begin(Location::caller());
                    match a.fetch_update(order, failure_order(order), |p| Some(f(p, val))) {
                        Ok(p) | Err(p) => p,
                    }
                }
                Inner::Shuttle(a) => {
                    rt::op_begin(Location::caller());
                    shuttle_op(a, val, order)
                }
            };
            rt::record(
                Op::Rmw(name, fmt_ptr(&old), fmt_ptr(&f(old, val))),
                self.id(),
                Some(order),
                Some(Location::caller()),
            );
            old
        }
        /// Offsets the pointer by `val` elements of `T` (wrapping); returns the previous pointer.
        #[track_caller]
        pub fn fetch_ptr_add(&self, val: usize, order: Ordering) -> *mut T {
            self.ptr_rmw(
                "fetch_ptr_add",
                order,
                shuttle::sync::atomic::AtomicPtr::fetch_ptr_add,
                val,
                |p, v| p.wrapping_add(v),
            )
        }
        /// Offsets the pointer back by `val` elements of `T` (wrapping); returns the previous pointer.
        #[track_caller]
        pub fn fetch_ptr_sub(&self, val: usize, order: Ordering) -> *mut T {
            self.ptr_rmw(
                "fetch_ptr_sub",
                order,
                shuttle::sync::atomic::AtomicPtr::fetch_ptr_sub,
                val,
                |p, v| p.wrapping_sub(v),
            )
        }
        /// Offsets the pointer by `val` bytes (wrapping); returns the previous pointer.
        #[track_caller]
        pub fn fetch_byte_add(&self, val: usize, order: Ordering) -> *mut T {
            self.ptr_rmw(
                "fetch_byte_add",
                order,
                shuttle::sync::atomic::AtomicPtr::fetch_byte_add,
                val,
                |p, v| p.wrapping_byte_add(v),
            )
        }
        /// Offsets the pointer back by `val` bytes (wrapping); returns the previous pointer.
        #[track_caller]
        pub fn fetch_byte_sub(&self, val: usize, order: Ordering) -> *mut T {
            self.ptr_rmw(
                "fetch_byte_sub",
                order,
                shuttle::sync::atomic::AtomicPtr::fetch_byte_sub,
                val,
                |p, v| p.wrapping_byte_sub(v),
            )
        }
        /// Bitwise "or" of the address with `val`, keeping provenance; returns the previous pointer.
        #[track_caller]
        pub fn fetch_or(&self, val: usize, order: Ordering) -> *mut T {
            self.ptr_rmw(
                "fetch_or",
                order,
                shuttle::sync::atomic::AtomicPtr::fetch_or,
                val,
                |p, v| with_addr(p, p as usize | v),
            )
        }
        /// Bitwise "and" of the address with `val`, keeping provenance; returns the previous pointer.
        #[track_caller]
        pub fn fetch_and(&self, val: usize, order: Ordering) -> *mut T {
            self.ptr_rmw(
                "fetch_and",
                order,
                shuttle::sync::atomic::AtomicPtr::fetch_and,
                val,
                |p, v| with_addr(p, p as usize & v),
            )
        }
        /// Bitwise "xor" of the address with `val`, keeping provenance; returns the previous pointer.
        #[track_caller]
        pub fn fetch_xor(&self, val: usize, order: Ordering) -> *mut T {
            self.ptr_rmw(
                "fetch_xor",
                order,
                shuttle::sync::atomic::AtomicPtr::fetch_xor,
                val,
                |p, v| with_addr(p, p as usize ^ v),
            )
        }
        /// Mutable access (not under loom: see the integer atomics' `get_mut`).
        pub fn get_mut(&mut self) -> &mut *mut T {
            match &mut self.0 {
                Inner::Std(a, _) => a.get_mut(),
                Inner::Shuttle(a) => a.get_mut(),
                Inner::Loom(_) => {
                    panic!("heisen: AtomicPtr::get_mut is not available under loom; use load/store")
                }
            }
        }
        /// Consumes the atomic, returning the pointer.
        pub fn into_inner(self) -> *mut T {
            let this = std::mem::ManuallyDrop::new(self);
            // SAFETY: `this` is never used or dropped again.
            match unsafe { std::ptr::read(&this.0) } {
                Inner::Std(a, _) => a.into_inner(),
                Inner::Loom(a) => a.into_inner(),
                Inner::Shuttle(a) => a.into_inner(),
            }
        }
    }
    impl<T> Default for AtomicPtr<T> {
        #[track_caller]
        fn default() -> Self {
            AtomicPtr::new(std::ptr::null_mut())
        }
    }
    impl<T> From<*mut T> for AtomicPtr<T> {
        #[track_caller]
        fn from(p: *mut T) -> Self {
            AtomicPtr::new(p)
        }
    }
    /// std's: the pointer of a `Relaxed` load (a recorded load in model runs).
    impl<T> std::fmt::Pointer for AtomicPtr<T> {
        #[track_caller]
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            std::fmt::Pointer::fmt(&self.debug_load(), f)
        }
    }
    /// std's: the pointer of a `Relaxed` load (see the integer atomics' `Debug`).
    impl<T> std::fmt::Debug for AtomicPtr<T> {
        #[track_caller]
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            std::fmt::Debug::fmt(&self.debug_load(), f)
        }
    }
    impl<T> AtomicPtr<T> {
        #[track_caller]
        fn debug_load(&self) -> *mut T {
            match &self.0 {
                Inner::Std(a, _) => a.load(Ordering::Relaxed),
                _ => self.load(Ordering::Relaxed),
            }
        }
    }
}
pub use ptr_::AtomicPtr;

/// Memory fence (recorded in model runs).
#[track_caller]
pub fn fence(order: Ordering) {
    match rt::backend() {
        Backend::Std => std::sync::atomic::fence(order),
        Backend::Loom => loom::sync::atomic::fence(order),
        Backend::Shuttle => shuttle::sync::atomic::fence(order),
    }
    rt::record(Op::Fence, None, Some(order), Some(Location::caller()));
}

pub use std::sync::atomic::compiler_fence;
