//! Leases: one session per client, claimed with `/claim`, named by a random token the client sends
//! as `X-Lease-Token` with every request. A lease ends when the client releases it, when no
//! request of any kind arrived within the liveness timeout (a crashed client), or when no user
//! action arrived within the idle timeout (heartbeats prove liveness only).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::lease::LeaseSession;

/// One client's lease: its session and its two clocks.
pub struct Lease {
    /// The session, locked for the whole of each request that uses it (a client's own requests
    /// run one at a time; other clients' run concurrently).
    pub session: Mutex<LeaseSession>,
    clocks: Mutex<Clocks>,
}

struct Clocks {
    /// Any request (liveness).
    seen: Instant,
    /// A user action (idle timeout).
    active: Instant,
}

impl Lease {
    /// Record a request (liveness only: a heartbeat does not postpone the idle timeout).
    pub fn mark_seen(&self) {
        self.clocks.lock().seen = Instant::now();
    }

    /// Record a user action (which also proves liveness).
    pub fn mark_active(&self) {
        let now = Instant::now();
        let mut c = self.clocks.lock();
        c.seen = now;
        c.active = now;
    }
}

/// Why a claim was refused.
#[derive(Debug)]
pub struct AtCapacity;

/// The leases of the server, keyed by token.
pub struct Registry {
    leases: Mutex<HashMap<String, Arc<Lease>>>,
    /// Most leases at once.
    pub max_sessions: usize,
    /// A lease without a user action for this long is reaped.
    pub idle_timeout: Duration,
    /// A lease without any request for this long is reaped.
    pub liveness_timeout: Duration,
}

impl Registry {
    /// An empty registry.
    pub fn new(max_sessions: usize, idle_timeout: Duration, liveness_timeout: Duration) -> Self {
        Registry {
            leases: Mutex::new(HashMap::new()),
            max_sessions,
            idle_timeout,
            liveness_timeout,
        }
    }

    /// Make a lease for a new session (built by `make` only when there is room); its token.
    pub fn claim(&self, make: impl FnOnce() -> LeaseSession) -> Result<String, AtCapacity> {
        let mut leases = self.leases.lock();
        if leases.len() >= self.max_sessions {
            return Err(AtCapacity);
        }
        let token = uuid::Uuid::new_v4().simple().to_string();
        let now = Instant::now();
        let lease = Arc::new(Lease {
            session: Mutex::new(make()),
            clocks: Mutex::new(Clocks {
                seen: now,
                active: now,
            }),
        });
        leases.insert(token.clone(), lease);
        tracing::info!(
            "claimed session {token} ({}/{} active)",
            leases.len(),
            self.max_sessions
        );
        Ok(token)
    }

    /// The lease of `token`, without touching its clocks.
    pub fn peek(&self, token: Option<&str>) -> Result<Arc<Lease>, &'static str> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or("lease token missing")?;
        self.leases
            .lock()
            .get(token)
            .cloned()
            .ok_or("lease expired or unknown")
    }

    /// The lease of `token`, marked seen.
    pub fn get(&self, token: Option<&str>) -> Result<Arc<Lease>, &'static str> {
        let lease = self.peek(token)?;
        lease.mark_seen();
        Ok(lease)
    }

    /// End the lease of `token`; whether there was one. A request under way on it finishes
    /// first: the session is freed when its last user lets go.
    pub fn release(&self, token: Option<&str>) -> bool {
        let Some(token) = token else { return false };
        let mut leases = self.leases.lock();
        let gone = leases.remove(token).is_some();
        if gone {
            tracing::info!(
                "released session {token} ({}/{} active)",
                leases.len(),
                self.max_sessions
            );
        }
        gone
    }

    /// Reap leases past either timeout; how many.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let mut leases = self.leases.lock();
        let before = leases.len();
        leases.retain(|token, lease| {
            let c = lease.clocks.lock();
            let reason = if now.duration_since(c.seen) > self.liveness_timeout {
                "dead"
            } else if now.duration_since(c.active) > self.idle_timeout {
                "idle"
            } else {
                return true;
            };
            tracing::info!("reaped {reason} session {token}");
            false
        });
        before - leases.len()
    }

    /// Seconds left before `lease` is reaped as idle.
    pub fn remaining_seconds(&self, lease: &Lease) -> f64 {
        let idle = lease.clocks.lock().active.elapsed();
        self.idle_timeout.saturating_sub(idle).as_secs_f64()
    }
}
