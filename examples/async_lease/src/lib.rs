//! Leases on tokio: a lock service grants a lease with a fencing token; a follower that hears
//! no heartbeat for a lease's lifetime (`timeout`) takes over. See README.md; `buggy` and
//! `fixed` differ in whether the storage checks the token.
pub mod buggy;
pub mod fixed;

use heisen::sync::atomic::{AtomicU64, Ordering::SeqCst};
use heisen::tokio::sync::mpsc;
use heisen::tokio::time::{sleep, timeout, Duration, Instant};
use std::future::Future;

/// How long a lease lasts.
pub const LEASE_TTL: Duration = Duration::from_secs(10);

/// A lease: valid until `expires`; `token` grows with every lease granted.
#[derive(Debug, Clone, Copy)]
pub struct Lease {
    /// The fencing token.
    pub token: u64,
    /// When the lease runs out.
    pub expires: Instant,
}

/// The write was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejected {
    /// The writer's lease had run out when it checked.
    Expired,
    /// The storage has seen a newer token.
    Stale {
        /// The refused token.
        token: u64,
        /// The newest token seen.
        high_water: u64,
    },
}

/// Grants leases with increasing tokens.
pub struct LockService {
    next: AtomicU64,
}

impl LockService {
    /// A service whose first lease has token `first`.
    pub fn new(first: u64) -> LockService {
        LockService {
            next: AtomicU64::new(first),
        }
    }
    /// A new lease, valid for [`LEASE_TTL`] from now.
    pub fn grant(&self) -> Lease {
        Lease {
            token: self.next.fetch_add(1, SeqCst),
            expires: Instant::now() + LEASE_TTL,
        }
    }
}

/// Waits until the leader's heartbeats stop for a whole lease lifetime.
pub async fn await_leader_silence(heartbeats: &mut mpsc::Receiver<()>) {
    while let Ok(Some(())) = timeout(LEASE_TTL, heartbeats.recv()).await {}
}

/// The storage leaders write to.
pub trait Storage: Send + Sync + 'static {
    /// Stores `value`, written under the lease with `token`.
    fn put(&self, token: u64, value: &'static str)
        -> impl Future<Output = Result<(), Rejected>> + Send;
    /// The stored value and its token.
    fn value(&self) -> impl Future<Output = Option<(u64, &'static str)>> + Send;
}

/// A leader's write: it checks its lease on the clock, then the process stalls for `pause`
/// (a GC pause, a slow network) before the write reaches the storage. The check is stale by
/// the time the write lands: only the storage can refuse it.
pub async fn leader_write(
    storage: &impl Storage,
    lease: &Lease,
    value: &'static str,
    pause: Duration,
) -> Result<(), Rejected> {
    if Instant::now() >= lease.expires {
        return Err(Rejected::Expired);
    }
    sleep(pause).await;
    storage.put(lease.token, value).await
}
