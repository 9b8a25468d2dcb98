//! Model-build statics: per-execution storage behind `heisen::sync::{LazyLock, OnceLock}`,
//! `heisen::lazy_static!` and `heisen::thread_local!`, and the guard that refuses a plain std
//! object (built outside a model run) inside one.
//!
//! A `static` lives for the whole process, but every explored execution must start from the
//! same state. So inside a model run these types keep their value in a per-execution slot keyed
//! by the object's address (and, for thread-locals, the model thread's lane): the first access
//! of an execution initialises it (creating modelled objects, since it runs inside the run), and
//! the slots are dropped when the execution's body returns (thread-locals of a spawned thread
//! when that thread's closure returns), as loom's `lazy_static!` / `thread_local!` do. Outside a
//! model run they are std's (`std::sync::OnceLock`, `std::thread::LocalKey`) inside.
//!
//! Like loom's `lazy_static`, a slot's initialisation is not a scheduling point and two threads
//! racing to initialise it may both run the initialiser (the first value stored wins, the other
//! is dropped).

use super::rt::{self, Backend};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;

/// Construction site of a facade object (kept by the std variant, for the guard below).
pub(crate) type Site = &'static Location<'static>;

/// Refuses a std object inside a model run: the model cannot explore it, so using it would be
/// a silent pass of everything it does.
#[inline]
#[track_caller]
pub(crate) fn std_only(site: Site, what: &'static str) {
    if rt::backend() != Backend::Std {
        outside_object(site, what);
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn outside_object(site: Site, what: &'static str) -> ! {
    panic!(
        "heisen: this {what} was created outside the model run (at {site}), so it is a plain \
         std object the model cannot explore; create it inside the #[heisen::model] body, or \
         make the static a heisen::sync::LazyLock / heisen::lazy_static! (initialised anew in \
         every execution)"
    )
}

/// Whether a model object's drop may call into loom (tracked frees, the modelled `Arc`
/// count): inside a loom run, not while unwinding and not once the execution failed (loom may
/// be tearing it down, where a backend call would abort the process).
#[inline]
pub(crate) fn tracking_frees() -> bool {
    rt::backend() == Backend::Loom && !std::thread::panicking() && !rt::execution_failed()
}

/// One type-erased per-execution value.
struct Value {
    ptr: *mut (),
    drop: unsafe fn(*mut ()),
    /// Creation order (values are destroyed in it, as std's thread-locals).
    seq: u64,
}

unsafe fn drop_box<T>(p: *mut ()) {
    drop(Box::from_raw(p.cast::<T>()));
}

/// Lane key of process-wide (non thread-local) slots.
const GLOBAL: usize = usize::MAX;

#[derive(Default)]
struct Slots {
    map: HashMap<(usize, usize), Value>,
    /// Spawned model threads of this execution whose closure has not returned.
    running: usize,
    next_seq: u64,
    /// Thread-local slots already destroyed on their thread (`try_with` fails for them).
    destroyed: Vec<(usize, usize)>,
}

thread_local! {
    static SLOTS: RefCell<Slots> = RefCell::new(Slots::default());
}

fn find(key: (usize, usize)) -> Option<*mut ()> {
    SLOTS.with(|s| s.borrow().map.get(&key).map(|v| v.ptr))
}

/// The slot `key` of this execution, initialised by `init` on first use.
fn get_or_init<T>(key: (usize, usize), init: impl FnOnce() -> T) -> *const T {
    if let Some(p) = get_global_or_local(key) {
        return p.cast::<T>();
    }
    // Initialise outside the borrow: `init` may use other statics.
    let fresh = Box::into_raw(Box::new(init())).cast::<()>();
    let raced = SLOTS.with(|s| {
        let mut s = s.borrow_mut();
        if let Some(v) = s.map.get(&key) {
            return Some(v.ptr);
        }
        let seq = s.next_seq;
        s.next_seq += 1;
        s.map.insert(
            key,
            Value {
                ptr: fresh,
                drop: drop_box::<T>,
                seq,
            },
        );
        None
    });
    // The first value stored is published (a release under loom) before anyone else sees it.
    loom_sync(key);
    match raced {
        Some(p) => {
            // Another thread initialised it while `init` ran (it yielded): keep the first.
            drop(unsafe { Box::from_raw(fresh.cast::<T>()) });
            p.cast::<T>()
        }
        None => fresh.cast::<T>(),
    }
}

fn get_global_or_local(key: (usize, usize)) -> Option<*mut ()> {
    if key.1 == GLOBAL {
        get_global(key)
    } else {
        find(key)
    }
}

/// Under loom, orders a process-wide slot's initialisation before every other thread's use of
/// it (as loom's `lazy_static` does: a release by the initialising thread, an acquire by each
/// reader, neither a scheduling point); without it loom calls the objects created by the
/// initialiser racy. Each slot address gets one leaked loom `Lazy<()>` for the process.
fn loom_sync(key: (usize, usize)) {
    if key.1 != GLOBAL || rt::backend() != Backend::Loom {
        return;
    }
    type Lazies = HashMap<usize, &'static loom::lazy_static::Lazy<()>>;
    static LAZIES: std::sync::OnceLock<std::sync::Mutex<Lazies>> = std::sync::OnceLock::new();
    let lazy = *LAZIES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key.0)
        .or_insert_with(|| {
            Box::leak(Box::new(loom::lazy_static::Lazy {
                init: || (),
                _p: std::marker::PhantomData,
            }))
        });
    lazy.get();
}

/// A process-wide slot's value, if initialised in this execution (synchronized under loom).
fn get_global(key: (usize, usize)) -> Option<*mut ()> {
    let p = find(key)?;
    loom_sync(key);
    Some(p)
}

fn set<T>(key: (usize, usize), v: T) -> Result<(), T> {
    if find(key).is_some() {
        return Err(v);
    }
    get_or_init(key, || v);
    Ok(())
}

fn remove<T>(key: (usize, usize)) -> Option<T> {
    let v = SLOTS.with(|s| s.borrow_mut().map.remove(&key))?;
    Some(*unsafe { Box::from_raw(v.ptr.cast::<T>()) })
}

/// Destroys, oldest first, the slots `pick` selects, one at a time outside the borrow: a
/// destructor may use other slots (a destroyed thread-local then fails `try_with`, a live or
/// new one works and is destroyed in turn), as std's thread-local destructors.
fn destroy_where(pick: impl Fn(&(usize, usize)) -> bool) {
    loop {
        let next = SLOTS.with(|s| {
            let mut s = s.borrow_mut();
            let key = s
                .map
                .iter()
                .filter(|(k, _)| pick(k))
                .min_by_key(|(_, v)| v.seq)
                .map(|(k, _)| *k)?;
            if key.1 != GLOBAL {
                s.destroyed.push(key);
            }
            s.map.remove(&key).map(|v| (key, v))
        });
        let Some((key, v)) = next else { break };
        let what = if key.1 == GLOBAL {
            "a static's destructor"
        } else {
            "a thread-local's destructor"
        };
        let outer = DESTROYING.with(|d| d.replace(Some(what)));
        unsafe { (v.drop)(v.ptr) };
        DESTROYING.with(|d| d.set(outer));
    }
}

thread_local! {
    /// What the calling thread is destroying now (a failure raised meanwhile says so).
    static DESTROYING: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// `Some("a static's destructor")` / `Some("a thread-local's destructor")` while the calling
/// thread runs such a destructor of a per-execution slot (see [`destroy_where`]).
pub(crate) fn destroying() -> Option<&'static str> {
    DESTROYING.try_with(|d| d.get()).ok().flatten()
}

/// Start of an execution: forget what a failed previous one left (leaked: its model objects
/// belong to a finished execution and must not be touched).
pub(crate) fn begin_execution() {
    super::alloc::begin_execution();
    SLOTS.with(|s| {
        let mut s = s.borrow_mut();
        // `Value` has no `Drop`: clearing leaks the boxes, which is the point.
        s.map.clear();
        s.destroyed.clear();
        s.running = 0;
    });
}

/// The execution's body returned: drop the main thread's thread-locals, then every other slot
/// if no spawned thread is still running (else they are leaked, as a detached thread may still
/// use them).
pub(crate) fn end_execution() {
    destroy_where(|k| k.1 == 0);
    if SLOTS.with(|s| s.borrow().running == 0) {
        destroy_where(|_| true);
    }
}

/// A model thread is about to start (its thread-locals are dropped by [`thread_exit`]).
pub(crate) fn thread_start() {
    SLOTS.with(|s| s.borrow_mut().running += 1);
}

/// A model thread's closure returned: drop its thread-locals.
pub(crate) fn thread_exit(lane: usize) {
    destroy_where(|k| k.1 == lane);
    SLOTS.with(|s| {
        let mut s = s.borrow_mut();
        s.running = s.running.saturating_sub(1);
    });
}

fn destroyed(key: (usize, usize)) -> bool {
    SLOTS.with(|s| s.borrow().destroyed.contains(&key))
}

fn in_model() -> bool {
    rt::backend() != Backend::Std
}

/// The identity of a `Once`/`OnceLock` in the per-execution slots: assigned on first use and
/// moved with the object (an address would lose the state when the object moves, e.g. out of a
/// `Box`, and could hand a dead object's state to a new one at the same address). `const`, so
/// statics can hold it.
struct ObjectId(std::sync::atomic::AtomicUsize);

impl ObjectId {
    const fn new() -> Self {
        ObjectId(std::sync::atomic::AtomicUsize::new(0))
    }
    fn get(&self) -> usize {
        use std::sync::atomic::Ordering::Relaxed;
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        match self.0.load(Relaxed) {
            0 => {
                let id = NEXT.fetch_add(1, Relaxed);
                match self.0.compare_exchange(0, id, Relaxed, Relaxed) {
                    Ok(_) => id,
                    Err(other) => other,
                }
            }
            id => id,
        }
    }
}

/// `std::sync::OnceLock`; inside a model run its value is per execution (see the module docs).
pub struct OnceLock<T> {
    std: std::sync::OnceLock<T>,
    id: ObjectId,
}

impl<T> OnceLock<T> {
    /// An empty cell.
    pub const fn new() -> Self {
        OnceLock {
            std: std::sync::OnceLock::new(),
            id: ObjectId::new(),
        }
    }
    fn key(&self) -> (usize, usize) {
        (self.id.get(), GLOBAL)
    }
    /// The value, if initialised (in this execution, inside a model run).
    pub fn get(&self) -> Option<&T> {
        if in_model() {
            return get_global(self.key()).map(|p| unsafe { &*p.cast::<T>() });
        }
        self.std.get()
    }
    /// Mutable access to the value, if initialised.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if in_model() {
            return get_global(self.key()).map(|p| unsafe { &mut *p.cast::<T>() });
        }
        self.std.get_mut()
    }
    /// Initialises the cell with `value`; `Err(value)` if it was initialised.
    pub fn set(&self, value: T) -> Result<(), T> {
        if in_model() {
            return set(self.key(), value);
        }
        self.std.set(value)
    }
    /// The value, initialising it with `f` first if needed.
    pub fn get_or_init<F: FnOnce() -> T>(&self, f: F) -> &T {
        if in_model() {
            return unsafe { &*get_or_init(self.key(), f) };
        }
        self.std.get_or_init(f)
    }
    /// Consumes the cell, returning its value.
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }
    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        if in_model() {
            return remove(self.key());
        }
        self.std.take()
    }
}

impl<T> Drop for OnceLock<T> {
    fn drop(&mut self) {
        // A cell dropped inside a run frees its slot (another may be built at this address).
        if in_model() {
            drop(remove::<T>(self.key()));
        }
    }
}

impl<T> Default for OnceLock<T> {
    fn default() -> Self {
        OnceLock::new()
    }
}

impl<T> From<T> for OnceLock<T> {
    fn from(v: T) -> Self {
        let c = OnceLock::new();
        let _ = c.set(v);
        c
    }
}

impl<T: Clone> Clone for OnceLock<T> {
    fn clone(&self) -> Self {
        match self.get() {
            Some(v) => OnceLock::from(v.clone()),
            None => OnceLock::new(),
        }
    }
}

impl<T: PartialEq> PartialEq for OnceLock<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceLock<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("OnceLock");
        match self.get() {
            Some(v) => d.field(v),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}

/// `std::sync::LazyLock`, with std's bounds (`F: FnOnce() -> T`); inside a model run its value
/// is initialised anew in every execution (see the module docs).
///
/// A `static` is the one place a `LazyLock` outlives an execution, and a `static`'s
/// initialiser cannot own data (a `static` holds a `fn` pointer or a closure without
/// captures): such an initialiser has no drop glue, and each initialisation calls a bitwise
/// copy of it, so it can run once per execution. An initialiser that owns data (a `move`
/// closure capturing a `String`, a `Box<dyn FnOnce>`) runs once, as std's: such a
/// `LazyLock` lives in one execution (it is created inside the body), so one initialisation
/// is all it gets; one that is shared into a later execution and forced again there panics
/// with an explanation.
pub struct LazyLock<T, F = fn() -> T> {
    cell: OnceLock<T>,
    init: std::cell::UnsafeCell<std::mem::ManuallyDrop<F>>,
    /// The initialiser was moved out and called (only one with drop glue is).
    taken: std::sync::atomic::AtomicBool,
}

// SAFETY: as std's `LazyLock`: the value is shared (`T: Sync + Send`), and the initialiser is
// only moved out (by one thread: `taken` is swapped) or bitwise-copied by value (no drop glue)
// into the one thread that runs it (`F: Send`).
unsafe impl<T: Sync + Send, F: Send> Sync for LazyLock<T, F> {}
impl<T: std::panic::RefUnwindSafe + std::panic::UnwindSafe, F: std::panic::UnwindSafe>
    std::panic::RefUnwindSafe for LazyLock<T, F>
{
}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// A lazy value initialised by `f` on first access.
    pub const fn new(f: F) -> Self {
        LazyLock {
            cell: OnceLock::new(),
            init: std::cell::UnsafeCell::new(std::mem::ManuallyDrop::new(f)),
            taken: std::sync::atomic::AtomicBool::new(false),
        }
    }
    /// Forces the initialisation and returns the value.
    pub fn force(this: &Self) -> &T {
        this.cell.get_or_init(|| this.call_init())
    }
    /// Runs the initialiser: a copy of it when it has no drop glue (it stays for the next
    /// execution), else the initialiser itself, once.
    fn call_init(&self) -> T {
        use std::sync::atomic::Ordering::SeqCst;
        if !std::mem::needs_drop::<F>() {
            // SAFETY: `F` has no drop glue, so a bitwise copy owns nothing the original does
            // not; the original is never dropped (ManuallyDrop) nor moved out (`taken` stays
            // false for such an `F`), so it stays valid for the next copy.
            let f: F = unsafe { std::ptr::read(&**self.init.get()) };
            return f();
        }
        if self.taken.swap(true, SeqCst) {
            panic!(
                "heisen: a LazyLock whose initialiser owns data (a `move` closure) was forced \
                 again in a later execution; its initialiser ran in an earlier one and can run \
                 only once. Create the LazyLock inside the model body (one per execution), or \
                 give it an initialiser that owns nothing (a `fn` or a closure without captures)"
            );
        }
        // SAFETY: `taken` was false and is now true: this is the one move out of `init`, and
        // `Drop` will not drop it again.
        let f: F = unsafe { std::mem::ManuallyDrop::take(&mut *self.init.get()) };
        f()
    }
}

impl<T, F> Drop for LazyLock<T, F> {
    fn drop(&mut self) {
        if !*self.taken.get_mut() {
            // SAFETY: never moved out (`taken` is false) and never dropped before.
            unsafe { std::mem::ManuallyDrop::drop(self.init.get_mut()) }
        }
    }
}

impl<T, F: FnOnce() -> T> std::ops::Deref for LazyLock<T, F> {
    type Target = T;
    fn deref(&self) -> &T {
        LazyLock::force(self)
    }
}

impl<T: Default> Default for LazyLock<T> {
    fn default() -> Self {
        LazyLock::new(T::default as fn() -> T)
    }
}

impl<T: fmt::Debug, F> fmt::Debug for LazyLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("LazyLock");
        match self.cell.get() {
            Some(v) => d.field(v),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}

/// `std::thread::LocalKey`: a thread-local declared with [`heisen::thread_local!`](crate::thread_local);
/// inside a model run each model thread has its own value, per execution.
pub struct LocalKey<T: 'static> {
    std: &'static std::thread::LocalKey<T>,
    init: fn() -> T,
}

/// `std::thread::AccessError`: the thread-local was accessed while being destroyed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError;

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessError").finish()
    }
}
impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt("already destroyed", f)
    }
}
impl std::error::Error for AccessError {}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn __new(std: &'static std::thread::LocalKey<T>, init: fn() -> T) -> Self {
        LocalKey { std, init }
    }
    /// Runs `f` with this thread's value (initialising it on first use).
    pub fn with<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        self.try_with(f).expect(
            "cannot access a Thread Local Storage value during or after destruction: AccessError",
        )
    }
    /// Like [`LocalKey::with`], but an error while the thread's values are being destroyed.
    pub fn try_with<F, R>(&'static self, f: F) -> Result<R, AccessError>
    where
        F: FnOnce(&T) -> R,
    {
        if !in_model() {
            return self.std.try_with(f).map_err(|_| AccessError);
        }
        let key = (self as *const Self as usize, rt::current_lane());
        if destroyed(key) {
            return Err(AccessError);
        }
        let p = get_or_init(key, self.init);
        Ok(f(unsafe { &*p }))
    }
}

impl<T: 'static> LocalKey<Cell<T>> {
    /// Sets the value.
    pub fn set(&'static self, value: T) {
        self.with(|c| c.set(value))
    }
    /// A copy of the value.
    pub fn get(&'static self) -> T
    where
        T: Copy,
    {
        self.with(Cell::get)
    }
    /// Takes the value, leaving `Default::default()`.
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(Cell::take)
    }
    /// Replaces the value, returning the old one.
    pub fn replace(&'static self, value: T) -> T {
        self.with(|c| c.replace(value))
    }
}

impl<T: 'static> LocalKey<RefCell<T>> {
    /// Runs `f` with a shared borrow of the value.
    pub fn with_borrow<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        self.with(|c| f(&c.borrow()))
    }
    /// Runs `f` with a mutable borrow of the value.
    pub fn with_borrow_mut<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&mut T) -> R,
    {
        self.with(|c| f(&mut c.borrow_mut()))
    }
    /// Sets the value.
    pub fn set(&'static self, value: T) {
        self.with(|c| *c.borrow_mut() = value)
    }
    /// Takes the value, leaving `Default::default()`.
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(RefCell::take)
    }
    /// Replaces the value, returning the old one.
    pub fn replace(&'static self, value: T) -> T {
        self.with(|c| c.replace(value))
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}

/// `std::sync::Once`; inside a model run its state is per execution (see the module docs),
/// kept under a modelled mutex: concurrent callers block until the initialiser returns, and a
/// panicking initialiser poisons it, as std's.
pub struct Once {
    std: std::sync::Once,
    id: ObjectId,
}

/// State passed to [`Once::call_once_force`]'s closure (as `std::sync::OnceState`).
#[derive(Debug)]
pub struct OnceState {
    poisoned: bool,
}

impl OnceState {
    /// Whether an earlier initialiser panicked.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }
}

const ONCE_NEW: u8 = 0;
const ONCE_DONE: u8 = 1;
const ONCE_POISONED: u8 = 2;

impl Once {
    /// A new `Once`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Once {
        Once {
            std: std::sync::Once::new(),
            id: ObjectId::new(),
        }
    }
    fn key(&self) -> (usize, usize) {
        (self.id.get(), GLOBAL)
    }
    /// This execution's state, under its modelled mutex.
    fn state(&self) -> &super::sync::Mutex<u8> {
        unsafe { &*get_or_init(self.key(), || super::sync::Mutex::new(ONCE_NEW)) }
    }
    fn run(&self, force: bool, f: impl FnOnce(&OnceState)) {
        let mut g = self.state().lock().unwrap_or_else(|e| e.into_inner());
        match *g {
            ONCE_DONE => return,
            ONCE_POISONED if !force => {
                drop(g);
                panic!("Once instance has previously been poisoned");
            }
            _ => {}
        }
        let state = OnceState {
            poisoned: *g == ONCE_POISONED,
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&state))) {
            Ok(()) => *g = ONCE_DONE,
            Err(p) => {
                // The guard is released by the unwinding (so the panic is not seen as caught).
                *g = ONCE_POISONED;
                std::panic::resume_unwind(p);
            }
        }
    }
    /// Runs `f` once (per execution inside a model run); other callers wait for it.
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if !in_model() {
            return self.std.call_once(f);
        }
        self.run(false, |_| f());
    }
    /// As [`Once::call_once`], also after a panicking initialiser (told by the state).
    #[track_caller]
    pub fn call_once_force<F: FnOnce(&OnceState)>(&self, f: F) {
        if !in_model() {
            return self.std.call_once_force(|s| {
                f(&OnceState {
                    poisoned: s.is_poisoned(),
                })
            });
        }
        self.run(true, f);
    }
    /// Whether an initialiser completed (in this execution, inside a model run).
    pub fn is_completed(&self) -> bool {
        if !in_model() {
            return self.std.is_completed();
        }
        let done = get_global(self.key()).map(|p| {
            let m = unsafe { &*p.cast::<super::sync::Mutex<u8>>() };
            *m.lock().unwrap_or_else(|e| e.into_inner()) == ONCE_DONE
        });
        done.unwrap_or(false)
    }
}

impl Drop for Once {
    fn drop(&mut self) {
        if in_model() {
            drop(remove::<super::sync::Mutex<u8>>(self.key()));
        }
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").finish_non_exhaustive()
    }
}
