//! A simulated network whose message delivery is explored like thread interleavings.
//!
//! ```
//! use heisen::net::Network;
//! use std::time::Duration;
//!
//! #[derive(Clone, Debug, PartialEq)]
//! enum Msg { Ping(u32), Pong(u32) }
//!
//! #[heisen::model]
//! fn ping_pong() {
//!     let net = Network::<Msg>::new();
//!     let client = net.node("client");
//!     let server = net.node("server");
//!     let t = heisen::thread::spawn(move || {
//!         let (from, msg) = server.recv();
//!         if let Msg::Ping(n) = msg {
//!             server.send(&from, Msg::Pong(n));
//!         }
//!     });
//!     client.send("server", Msg::Ping(7));
//!     // A healthy network may still be slow: the reply can arrive after the timeout.
//!     match client.recv_timeout(Duration::from_millis(100)) {
//!         Some((_, reply)) => assert_eq!(reply, Msg::Pong(7)),
//!         None => {} // timed out; the pong is still in flight
//!     }
//!     t.join().unwrap();
//! }
//! ```
//!
//! * **Nodes** are named endpoints: [`Network::node`] registers a name (a second call with the
//!   same name returns another handle to the same node) and returns a [`Node`], which is
//!   `Clone + Send` (move it into the thread or task playing that machine).
//! * [`Node::send`] **never blocks**: the message is in flight until the receiver takes it. An
//!   unknown destination is a programming error: `send` panics with a message naming the node
//!   and the registered ones (register every node before the first send).
//! * [`Node::recv`] blocks until a message is delivered and returns `(sender, message)`;
//!   [`Node::recv_timeout`] returns `None` when the timeout fires first. The async forms
//!   [`Node::recv_async`] and [`Node::recv_timeout_async`] work under any executor
//!   ([`heisen::future::block_on`](crate::future::block_on), tokio): they register the task's
//!   waker and never block a thread.
//! * [`Network::partition`]`(&["a"], &["b", "c"])` cuts the network between two groups:
//!   messages across the cut (in either direction) are dropped, those in flight at the cut
//!   included, until [`Network::heal`]. Partitions accumulate; `heal` ends them all.
//!
//! ## What the model explores
//!
//! Without faults, delivery is **reliable and FIFO per (sender, receiver) pair**, and **delay
//! is arbitrary**. So in a model run (`#[heisen::model]`):
//! * when messages from several senders are pending for a receiver, **which one it gets
//!   next** is a choice;
//! * when a `recv_timeout` finds a message in flight, **whether the timeout fires first** is a
//!   choice (the message stays in flight and may arrive at a later receive — this is how a
//!   response gets lost on a healthy network). When nothing is in flight, the receiver first
//!   yields to the other threads (the time passes); if still nothing arrived, it times out.
//!   A timeout advances the model's clock ([`heisen::time::Instant`](crate::time::Instant)) by
//!   its duration.
//!
//! Choices are made only where there is more than one option, so a test pays only for the
//! uncertainty it has. **loom explores every option** of every choice (combined with its
//! interleavings within the preemption bound); **shuttle samples** one per schedule from the
//! schedule's seeded randomness, so its replay line reproduces the deliveries.
//!
//! Faults are model arguments, validated at compile time:
//! `#[heisen::model(net_faults = "drop, duplicate, reorder", max_net_faults = 2)]` (any
//! non-empty subset; `max_net_faults` defaults to 2). A `drop` loses a message at its send, a
//! `duplicate` delivers it twice, a `reorder` delivers a message before an earlier one of the
//! same sender to the same receiver. Each kind strikes at most `max_net_faults` times per
//! network and execution (one network per test is the normal case), so loom stays tractable;
//! every send is then a choice of (deliver, drop, duplicate) while budget is left. Without
//! `net_faults` no message is ever lost, duplicated or reordered. Note that `recv` on a
//! message that was dropped blocks forever: the model reports the deadlock (its timeline ends
//! with `net recv … BLOCKED`); use `recv_timeout` where messages can be lost.
//!
//! **loom cost**: loom has no choice primitive and allows five threads per execution, the test
//! body included. A network under loom starts one short-lived *oracle* thread when it is
//! created (so user code gets three spawned threads besides it), whose relaxed stores loom's
//! weak-memory exploration turns into binary choices. Each binary choice doubles what follows
//! and explores nothing twice; the oracle's start is explored three ways, so a network
//! multiplies a loom run's executions by at most 3 (`model/choice.rs` says why; `tests/net_model.rs`
//! pins both). Create the network before spawning the threads that use it.
//!
//! ## In the report
//!
//! Every send, delivery, drop, duplicate, timeout and partition is a row of the failure
//! timeline, in the lane of the thread that did it:
//!
//! ```text
//!     5  T0 │ net send client→server Charge { key: 7, cents: 100 }
//!     6  T1 │     net deliver client→server Charge { key: 7, cents: 100 }
//!     8  T1 │     net send server→client Receipt { key: 7 }
//!     9  T0 │ net timeout client after 100ms (1 in flight to client, delayed)
//!    11  T1 │     net drop server→client Receipt { key: 7 } (fault: drop 1 of 2)
//! ```
//!
//! and the report ends with the network's state at the failure: the messages still in flight,
//! the partitions, the faults used.
//!
//! ## Normal builds
//!
//! In a normal build (and outside model runs) the network is in-process: a mutex-protected
//! mailbox per node, delivery in send order, real timeouts, no faults. The same test then runs
//! as a smoke test.

mod sys;

use std::fmt::{self, Debug};
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use sys::{Chooser, Cond, Guard, Kind, Lock};

/// Which network faults a model run may inject, and how often (see the [module](self) docs).
/// Built by `#[heisen::model(net_faults = "..", max_net_faults = N)]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Lose a message at its send.
    pub drop: bool,
    /// Deliver a message twice.
    pub duplicate: bool,
    /// Deliver a message before an earlier one of the same sender to the same receiver.
    pub reorder: bool,
    /// How many times each enabled kind may strike per network and execution.
    pub max: u32,
}

impl Faults {
    /// No faults (the default).
    pub const NONE: Faults = Faults {
        drop: false,
        duplicate: false,
        reorder: false,
        max: 0,
    };
    /// `max_net_faults` when not given.
    pub const DEFAULT_MAX: u32 = 2;
    /// The faults `drop`, `duplicate`, `reorder` (each enabled or not), each at most `max` times.
    pub const fn new(drop: bool, duplicate: bool, reorder: bool, max: u32) -> Faults {
        Faults {
            drop,
            duplicate,
            reorder,
            max,
        }
    }
    /// Whether any fault may strike.
    pub fn any(&self) -> bool {
        self.max > 0 && (self.drop || self.duplicate || self.reorder)
    }
    fn names(&self) -> Vec<&'static str> {
        [
            (self.drop, "drop"),
            (self.duplicate, "duplicate"),
            (self.reorder, "reorder"),
        ]
        .into_iter()
        .filter_map(|(on, n)| on.then_some(n))
        .collect()
    }
}

/// The summary-line note of a run with faults (`, net faults: drop, duplicate ≤ 2 each`).
#[cfg(feature = "model")]
pub(crate) fn exploration_note(f: Faults) -> String {
    if !f.any() {
        return String::new();
    }
    format!(", net faults: {} ≤ {} each", f.names().join(", "), f.max)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    Drop,
    Duplicate,
    Reorder,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Drop => "drop",
            Fault::Duplicate => "duplicate",
            Fault::Reorder => "reorder",
        }
    }
}

/// The model-run side: the trace rows and the run's settings (no-ops in normal builds).
mod hooks {
    use super::Faults;
    use std::panic::Location;
    use std::time::Duration;

    #[cfg(feature = "model")]
    use crate::model::rt::{self, Op};

    #[cfg(feature = "model")]
    pub(super) fn recording() -> bool {
        rt::recording()
    }
    #[cfg(not(feature = "model"))]
    pub(super) fn recording() -> bool {
        false
    }

    /// Records a row (`text` is only built while recording).
    pub(super) fn row(loc: &'static Location<'static>, text: impl FnOnce() -> String) {
        #[cfg(feature = "model")]
        if rt::recording() {
            rt::record(Op::Net(text()), None, None, Some(loc));
        }
        #[cfg(not(feature = "model"))]
        let _ = (loc, text);
    }

    pub(super) fn wait_begin(loc: &'static Location<'static>, text: String) -> Option<u64> {
        #[cfg(feature = "model")]
        {
            rt::wait_begin(Op::NetBlocked(text), loc)
        }
        #[cfg(not(feature = "model"))]
        {
            let _ = (loc, text);
            None
        }
    }

    pub(super) fn wait_end(token: Option<u64>) {
        #[cfg(feature = "model")]
        rt::wait_end(token);
        #[cfg(not(feature = "model"))]
        let _ = token;
    }

    pub(super) fn state(id: usize, text: impl FnOnce() -> String) {
        #[cfg(feature = "model")]
        if rt::recording() {
            rt::set_net_state(id, text());
        }
        #[cfg(not(feature = "model"))]
        let _ = (id, text);
    }

    /// The faults of the current model run (none outside one).
    pub(super) fn faults() -> Faults {
        #[cfg(feature = "model")]
        if rt::recording() {
            return rt::net_faults();
        }
        Faults::NONE
    }

    /// A timeout fired: the model's clock moves on by `d`.
    pub(super) fn advance(d: Duration) {
        #[cfg(feature = "model")]
        crate::model::time::advance(d);
        #[cfg(not(feature = "model"))]
        let _ = d;
    }

    /// Whether a model execution is failing or unwinding (then no drop may call into loom).
    pub(super) fn failing() -> bool {
        #[cfg(feature = "model")]
        if std::thread::panicking() || crate::model::rt::execution_failed() {
            return true;
        }
        std::thread::panicking()
    }

    /// A std network used inside a model run is an error naming its construction site.
    #[track_caller]
    pub(super) fn std_only(site: &'static Location<'static>) {
        #[cfg(feature = "model")]
        crate::model::statics::std_only(site, "heisen::net::Network");
        #[cfg(not(feature = "model"))]
        let _ = site;
    }
}

/// One message in flight.
struct Flight<M> {
    from: usize,
    to: usize,
    msg: M,
}

struct State<M> {
    names: Vec<String>,
    /// In send order.
    flights: Vec<Flight<M>>,
    /// Partitions: (side a, side b) node indices.
    cuts: Vec<(Vec<usize>, Vec<usize>)>,
    faults: Faults,
    /// Faults used so far: drop, duplicate, reorder.
    used: [u32; 3],
    /// Async receivers waiting: (future id, node, waker).
    wakers: Vec<(u64, usize, Waker)>,
    next_future: u64,
}

impl<M: Debug> State<M> {
    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
    fn unknown(&self, what: &str, name: &str) -> String {
        format!(
            "heisen::net: {what} unknown node `{name}` (nodes: {}); register every node with \
             Network::node before sending",
            if self.names.is_empty() {
                "none".to_string()
            } else {
                self.names.join(", ")
            }
        )
    }
    fn cut(&self, a: usize, b: usize) -> bool {
        self.cuts
            .iter()
            .any(|(x, y)| (x.contains(&a) && y.contains(&b)) || (x.contains(&b) && y.contains(&a)))
    }
    fn slot(f: Fault) -> usize {
        f as usize
    }
    fn allows(&self, f: Fault) -> bool {
        let on = match f {
            Fault::Drop => self.faults.drop,
            Fault::Duplicate => self.faults.duplicate,
            Fault::Reorder => self.faults.reorder,
        };
        on && self.used[Self::slot(f)] < self.faults.max
    }
    /// Uses one fault of kind `f`; returns the note for its row.
    fn strike(&mut self, f: Fault) -> String {
        self.used[Self::slot(f)] += 1;
        format!(
            "(fault: {} {} of {})",
            f.name(),
            self.used[Self::slot(f)],
            self.faults.max
        )
    }
    fn route(&self, f: &Flight<M>) -> String {
        format!("{}→{}", self.names[f.from], self.names[f.to])
    }
    fn group(&self, g: &[usize]) -> String {
        let names: Vec<&str> = g.iter().map(|&i| self.names[i].as_str()).collect();
        format!("{{{}}}", names.join(", "))
    }
    fn in_flight_to(&self, me: usize) -> usize {
        self.flights.iter().filter(|f| f.to == me).count()
    }
    /// The state printed by the failure report.
    fn render(&self) -> String {
        let mut s = format!(
            "in flight: {} message{}\n",
            self.flights.len(),
            if self.flights.len() == 1 { "" } else { "s" }
        );
        for f in &self.flights {
            s.push_str(&format!("  {}  {:?}\n", self.route(f), f.msg));
        }
        for (a, b) in &self.cuts {
            s.push_str(&format!(
                "partition: {} | {}\n",
                self.group(a),
                self.group(b)
            ));
        }
        if self.faults.any() {
            let used: Vec<String> = [Fault::Drop, Fault::Duplicate, Fault::Reorder]
                .into_iter()
                .filter(|&f| self.faults.names().contains(&f.name()))
                .map(|f| {
                    format!(
                        "{} {}/{}",
                        f.name(),
                        self.used[Self::slot(f)],
                        self.faults.max
                    )
                })
                .collect();
            s.push_str(&format!("faults used: {}\n", used.join(", ")));
        }
        s
    }
}

struct Shared<M> {
    kind: Kind,
    site: &'static Location<'static>,
    state: Lock<State<M>>,
    cond: Cond,
    chooser: Chooser,
}

/// What a receive attempt found.
enum Take<M> {
    Got(String, M),
    /// The timeout fired with messages in flight to the receiver.
    TimedOut,
    /// Nothing in flight to the receiver.
    Nothing,
}

impl<M: Clone + Debug + Send + 'static> Shared<M> {
    fn id(&self) -> usize {
        self as *const Self as usize
    }
    #[track_caller]
    fn lock(&self) -> Guard<'_, State<M>> {
        if self.kind == Kind::Std {
            hooks::std_only(self.site);
        }
        self.state.lock()
    }
    fn snapshot(&self, st: &State<M>) {
        hooks::state(self.id(), || st.render());
    }

    /// Takes the next message for `me`, choosing among the senders' oldest messages (and, with
    /// the `reorder` fault, later ones), and with `may_time_out` also the timeout.
    fn take(
        &self,
        st: &mut State<M>,
        me: usize,
        may_time_out: bool,
        loc: &'static Location<'static>,
    ) -> Take<M> {
        let mut heads = Vec::new();
        let mut later = Vec::new();
        let mut senders = Vec::new();
        for (i, f) in st.flights.iter().enumerate() {
            if f.to != me {
                continue;
            }
            if senders.contains(&f.from) {
                later.push(i);
            } else {
                senders.push(f.from);
                heads.push(i);
            }
        }
        if heads.is_empty() {
            return Take::Nothing;
        }
        if !st.allows(Fault::Reorder) {
            later.clear();
        }
        let deliveries = heads.len() + later.len();
        let n = deliveries + usize::from(may_time_out);
        let c = if n > 1 { self.chooser.choose(n) } else { 0 };
        if c >= deliveries {
            return Take::TimedOut;
        }
        let (i, note) = if c < heads.len() {
            (heads[c], String::new())
        } else {
            let i = later[c - heads.len()];
            let from = st.flights[i].from;
            let overtaken = st.flights[..i]
                .iter()
                .filter(|f| f.to == me && f.from == from)
                .count();
            let note = st.strike(Fault::Reorder);
            (
                i,
                format!(
                    " {note}, ahead of {overtaken} earlier message{}",
                    if overtaken == 1 { "" } else { "s" }
                ),
            )
        };
        let f = st.flights.remove(i);
        hooks::row(loc, || {
            format!("net deliver {} {:?}{note}", st.route(&f), f.msg)
        });
        self.snapshot(st);
        Take::Got(st.names[f.from].clone(), f.msg)
    }

    fn timeout_row(&self, st: &State<M>, me: usize, d: Duration, loc: &'static Location<'static>) {
        hooks::row(loc, || {
            let n = st.in_flight_to(me);
            format!(
                "net timeout {} after {d:?} ({})",
                st.names[me],
                if n == 0 {
                    "nothing in flight to it".to_string()
                } else {
                    format!("{n} in flight to {}, delayed", st.names[me])
                }
            )
        });
        hooks::advance(d);
    }

    /// Wakes the async receivers of node `to`.
    fn wake(&self, st: &mut State<M>, to: usize) -> Vec<Waker> {
        let mut woken = Vec::new();
        st.wakers.retain(|(_, n, w)| {
            if *n == to {
                woken.push(w.clone());
                false
            } else {
                true
            }
        });
        woken
    }
}

/// A simulated network of named nodes exchanging messages of type `M` (see the
/// [module](self) docs). Create it inside the model body; clone it to share it.
pub struct Network<M> {
    shared: Arc<Shared<M>>,
}

/// A node of a [`Network`]: sends to other nodes by name and receives what is delivered to
/// it. `Clone + Send`: clones are handles to the same node (they share its mailbox).
pub struct Node<M> {
    shared: Arc<Shared<M>>,
    me: usize,
    name: Arc<str>,
}

impl<M> Clone for Network<M> {
    fn clone(&self) -> Self {
        Network {
            shared: self.shared.clone(),
        }
    }
}

impl<M> Clone for Node<M> {
    fn clone(&self) -> Self {
        Node {
            shared: self.shared.clone(),
            me: self.me,
            name: self.name.clone(),
        }
    }
}

impl<M> Debug for Network<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network").finish_non_exhaustive()
    }
}

impl<M> Debug for Node<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node").field("name", &self.name).finish()
    }
}

impl<M: Clone + Debug + Send + 'static> Default for Network<M> {
    #[track_caller]
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Clone + Debug + Send + 'static> Network<M> {
    /// Creates a network (modelled when created inside a model run, with the run's faults).
    #[track_caller]
    pub fn new() -> Self {
        let kind = Kind::current();
        Network {
            shared: Arc::new(Shared {
                kind,
                site: Location::caller(),
                state: Lock::new(
                    kind,
                    State {
                        names: Vec::new(),
                        flights: Vec::new(),
                        cuts: Vec::new(),
                        faults: hooks::faults(),
                        used: [0; 3],
                        wakers: Vec::new(),
                        next_future: 0,
                    },
                ),
                cond: Cond::new(kind),
                chooser: Chooser::new(kind),
            }),
        }
    }

    /// The node named `name`, registering it if it is new.
    #[track_caller]
    pub fn node(&self, name: &str) -> Node<M> {
        let mut st = self.shared.lock();
        let me = st.index(name).unwrap_or_else(|| {
            st.names.push(name.to_string());
            st.names.len() - 1
        });
        Node {
            shared: self.shared.clone(),
            me,
            name: name.into(),
        }
    }

    /// Cuts the network between the nodes of `a` and those of `b`: messages between the two
    /// groups, in either direction, are dropped (those in flight now included) until
    /// [`heal`](Network::heal). Panics on an unregistered name.
    #[track_caller]
    pub fn partition(&self, a: &[&str], b: &[&str]) {
        let loc = Location::caller();
        let sh = &self.shared;
        let mut st = sh.lock();
        let mut groups = [Vec::new(), Vec::new()];
        let mut unknown = None;
        for (g, names) in groups.iter_mut().zip([a, b]) {
            for n in names {
                match st.index(n) {
                    Some(i) => g.push(i),
                    None => unknown = unknown.or(Some(*n)),
                }
            }
        }
        if let Some(n) = unknown {
            let text = st.unknown("partition of", n);
            drop(st);
            panic!("{text}");
        }
        let [a, b] = groups;
        hooks::row(loc, || {
            format!("net partition {} | {}", st.group(&a), st.group(&b))
        });
        st.cuts.push((a, b));
        let mut i = 0;
        while i < st.flights.len() {
            if st.cut(st.flights[i].from, st.flights[i].to) {
                let f = st.flights.remove(i);
                hooks::row(loc, || {
                    format!("net drop {} {:?} (partitioned)", st.route(&f), f.msg)
                });
            } else {
                i += 1;
            }
        }
        sh.snapshot(&st);
    }

    /// Ends every partition.
    #[track_caller]
    pub fn heal(&self) {
        let loc = Location::caller();
        let mut st = self.shared.lock();
        st.cuts.clear();
        hooks::row(loc, || "net heal".to_string());
        self.shared.snapshot(&st);
    }
}

impl<M: Clone + Debug + Send + 'static> Node<M> {
    /// This node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `msg` to the node named `to`. Never blocks. In a model run with `net_faults`, the
    /// message may be dropped or duplicated (a choice the model explores); across a
    /// [partition](Network::partition) it is dropped.
    ///
    /// # Panics
    /// When no node named `to` is registered (the message names it and the known nodes).
    #[track_caller]
    pub fn send(&self, to: &str, msg: M) {
        let loc = Location::caller();
        let sh = &self.shared;
        let mut st = sh.lock();
        let Some(to) = st.index(to) else {
            let text = st.unknown(&format!("send from `{}` to", self.name), to);
            drop(st);
            panic!("{text}");
        };
        let f = Flight {
            from: self.me,
            to,
            msg,
        };
        hooks::row(loc, || format!("net send {} {:?}", st.route(&f), f.msg));
        if st.cut(self.me, to) {
            hooks::row(loc, || {
                format!("net drop {} {:?} (partitioned)", st.route(&f), f.msg)
            });
            sh.snapshot(&st);
            return;
        }
        let mut options = vec![None];
        for fault in [Fault::Drop, Fault::Duplicate] {
            if st.allows(fault) {
                options.push(Some(fault));
            }
        }
        let c = if options.len() > 1 {
            sh.chooser.choose(options.len())
        } else {
            0
        };
        match options[c] {
            Some(Fault::Drop) => {
                let note = st.strike(Fault::Drop);
                hooks::row(loc, || {
                    format!("net drop {} {:?} {note}", st.route(&f), f.msg)
                });
                sh.snapshot(&st);
                return;
            }
            Some(fault) => {
                let note = st.strike(fault);
                hooks::row(loc, || {
                    format!("net duplicate {} {:?} {note}", st.route(&f), f.msg)
                });
                let copy = Flight {
                    from: f.from,
                    to: f.to,
                    msg: f.msg.clone(),
                };
                st.flights.push(copy);
            }
            None => {}
        }
        st.flights.push(f);
        sh.snapshot(&st);
        let woken = sh.wake(&mut st, to);
        sh.cond.notify_all();
        drop(st);
        woken.into_iter().for_each(Waker::wake);
    }

    /// Blocks until a message is delivered to this node; returns `(sender, message)`.
    #[track_caller]
    pub fn recv(&self) -> (String, M) {
        let loc = Location::caller();
        let sh = &self.shared;
        let mut st = sh.lock();
        let mut waiting = None;
        loop {
            if let Take::Got(from, msg) = sh.take(&mut st, self.me, false, loc) {
                hooks::wait_end(waiting);
                return (from, msg);
            }
            if waiting.is_none() && hooks::recording() {
                waiting = hooks::wait_begin(loc, format!("net recv {}", self.name));
            }
            st = sh.cond.wait(st);
        }
    }

    /// Waits at most `timeout` for a message; `None` when the timeout fired first. In a model
    /// run the timeout fires when nothing arrives after the other threads had their turn, and
    /// it may fire while a message is in flight (arbitrary delay; the message stays in flight).
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Option<(String, M)> {
        let loc = Location::caller();
        let sh = &self.shared;
        if sh.kind.is_model() {
            let mut st = sh.lock();
            if st.in_flight_to(self.me) == 0 {
                drop(st);
                sys::yield_now(sh.kind);
                st = sh.lock();
            }
            return match sh.take(&mut st, self.me, true, loc) {
                Take::Got(from, msg) => Some((from, msg)),
                Take::TimedOut | Take::Nothing => {
                    sh.timeout_row(&st, self.me, timeout, loc);
                    None
                }
            };
        }
        let deadline = Instant::now().checked_add(timeout);
        let mut st = sh.lock();
        loop {
            if let Take::Got(from, msg) = sh.take(&mut st, self.me, false, loc) {
                return Some((from, msg));
            }
            let left = match deadline {
                Some(d) => d
                    .checked_duration_since(Instant::now())
                    .filter(|l| !l.is_zero()),
                None => Some(Duration::from_secs(3600)),
            };
            let left = left?;
            st = sh.cond.wait_timeout(st, left);
        }
    }

    /// [`recv`](Node::recv) as a future: resolves to `(sender, message)` when a message is
    /// delivered (registers the task's waker; never blocks a thread).
    #[track_caller]
    pub fn recv_async(&self) -> Recv<'_, M> {
        Recv(RecvInner::new(self, None, Location::caller()))
    }

    /// [`recv_timeout`](Node::recv_timeout) as a future: resolves to `None` when the timeout
    /// fires first. In normal builds the timeout is a timer thread that wakes the task.
    #[track_caller]
    pub fn recv_timeout_async(&self, timeout: Duration) -> RecvTimeout<'_, M> {
        RecvTimeout(RecvInner::new(self, Some(timeout), Location::caller()))
    }
}

/// The timer of a std [`RecvTimeout`]: fired flag and the waker to call.
type Timer = Arc<(
    std::sync::atomic::AtomicBool,
    std::sync::Mutex<Option<Waker>>,
)>;

struct RecvInner<'a, M> {
    node: &'a Node<M>,
    timeout: Option<Duration>,
    loc: &'static Location<'static>,
    /// This future's id among the node's waiting wakers.
    id: Option<u64>,
    /// The pending `BLOCKED` row while waiting (model runs).
    waiting: Option<u64>,
    timer: Option<Timer>,
    done: bool,
}

impl<'a, M: Clone + Debug + Send + 'static> RecvInner<'a, M> {
    fn new(node: &'a Node<M>, timeout: Option<Duration>, loc: &'static Location<'static>) -> Self {
        RecvInner {
            node,
            timeout,
            loc,
            id: None,
            waiting: None,
            timer: None,
            done: false,
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<(String, M)>> {
        assert!(
            !self.done,
            "heisen::net: receive future polled after it completed"
        );
        let sh = &self.node.shared;
        let me = self.node.me;
        let loc = self.loc;
        let mut st = sh.lock();
        if let Some(id) = self.id {
            st.wakers.retain(|(i, _, _)| *i != id);
        }
        if let (Some(d), true) = (self.timeout, sh.kind.is_model()) {
            // As `recv_timeout`: yield once when nothing is in flight, then decide.
            if st.in_flight_to(me) == 0 {
                drop(st);
                sys::yield_now(sh.kind);
                st = sh.lock();
            }
            self.done = true;
            return Poll::Ready(match sh.take(&mut st, me, true, loc) {
                Take::Got(from, msg) => Some((from, msg)),
                Take::TimedOut | Take::Nothing => {
                    sh.timeout_row(&st, me, d, loc);
                    None
                }
            });
        }
        if let Take::Got(from, msg) = sh.take(&mut st, me, false, loc) {
            self.finish();
            return Poll::Ready(Some((from, msg)));
        }
        if let Some(t) = &self.timer {
            if t.0.load(std::sync::atomic::Ordering::SeqCst) {
                self.finish();
                return Poll::Ready(None);
            }
        }
        let id = *self.id.get_or_insert_with(|| {
            st.next_future += 1;
            st.next_future
        });
        st.wakers.push((id, me, cx.waker().clone()));
        if self.waiting.is_none() && hooks::recording() {
            self.waiting = hooks::wait_begin(loc, format!("net recv {}", self.node.name));
        }
        drop(st);
        if let Some(d) = self.timeout {
            let timer = self.timer.get_or_insert_with(|| {
                let t: Timer = Arc::default();
                let t2 = t.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(d);
                    t2.0.store(true, std::sync::atomic::Ordering::SeqCst);
                    let w = t2.1.lock().unwrap_or_else(|p| p.into_inner()).take();
                    if let Some(w) = w {
                        w.wake();
                    }
                });
                t
            });
            *timer.1.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
            if timer.0.load(std::sync::atomic::Ordering::SeqCst) {
                cx.waker().wake_by_ref();
            }
        }
        Poll::Pending
    }

    fn finish(&mut self) {
        self.done = true;
        hooks::wait_end(self.waiting.take());
    }
}

impl<M> Drop for RecvInner<'_, M> {
    fn drop(&mut self) {
        hooks::wait_end(self.waiting.take());
        if let Some(id) = self.id {
            if !(self.node.shared.kind.is_model() && hooks::failing()) {
                let mut st = self.node.shared.state.lock();
                st.wakers.retain(|(i, _, _)| *i != id);
            }
        }
    }
}

/// The future of [`Node::recv_async`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, M>(RecvInner<'a, M>);

/// The future of [`Node::recv_timeout_async`].
#[must_use = "futures do nothing unless awaited"]
pub struct RecvTimeout<'a, M>(RecvInner<'a, M>);

impl<M: Clone + Debug + Send + 'static> Future for Recv<'_, M> {
    type Output = (String, M);
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut().0.poll(cx) {
            Poll::Ready(Some(got)) => Poll::Ready(got),
            Poll::Ready(None) => unreachable!("a receive without timeout never times out"),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<M: Clone + Debug + Send + 'static> Future for RecvTimeout<'_, M> {
    type Output = Option<(String, M)>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().0.poll(cx)
    }
}

impl<M> Debug for Recv<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv")
            .field("node", &self.0.node.name)
            .finish()
    }
}

impl<M> Debug for RecvTimeout<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvTimeout")
            .field("node", &self.0.node.name)
            .finish()
    }
}
