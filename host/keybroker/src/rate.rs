//! The `/auth` rate per peer address: a token bucket per IP (refill
//! `per_sec`, capacity twice that), so one flooding address cannot take the
//! session table from the others. The table of peers is bounded too: beyond
//! [`MAX_PEERS`] the least recently seen addresses are forgotten (a
//! forgotten address starts again with a full bucket, which is no more than
//! a new address gets).
//!
//! A refused `/auth` is answered 429 with `Retry-After: 1` (the guest
//! retries it like an unreachable broker) and logged at most once per
//! [`LOG_EVERY`] with the number refused since the last line, so a flood
//! cannot flood the log either.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Peer addresses remembered at most.
pub const MAX_PEERS: usize = 4096;
/// Default `/auth` requests per second per peer address.
pub const DEFAULT_PER_SEC: u32 = 20;
/// At most one log line about rate refusals per this long.
pub const LOG_EVERY: Duration = Duration::from_secs(5);

struct Bucket {
    tokens: f64,
    seen: Instant,
}

pub struct AuthRate {
    /// 0: no limit.
    per_sec: u32,
    peers: Mutex<HashMap<IpAddr, Bucket>>,
    /// Refusals not logged yet, and when the last line was written.
    unlogged: Mutex<(u64, Option<Instant>)>,
}

impl AuthRate {
    pub fn new(per_sec: u32) -> Self {
        Self {
            per_sec,
            peers: Mutex::new(HashMap::new()),
            unlogged: Mutex::new((0, None)),
        }
    }

    /// Counts a refusal; `Some(n)` when a line should be logged now, for the
    /// `n` refusals since the last one.
    pub fn note_refusal(&self, now: Instant) -> Option<u64> {
        let mut state = self.unlogged.lock().unwrap_or_else(|e| e.into_inner());
        state.0 += 1;
        let due = state
            .1
            .is_none_or(|last| now.saturating_duration_since(last) >= LOG_EVERY);
        if !due {
            return None;
        }
        let n = state.0;
        *state = (0, Some(now));
        Some(n)
    }

    pub fn per_sec(&self) -> u32 {
        self.per_sec
    }

    /// Whether `peer` may start a session at `now` (and takes a token if so).
    pub fn allow(&self, peer: IpAddr, now: Instant) -> bool {
        if self.per_sec == 0 {
            return true;
        }
        let rate = f64::from(self.per_sec);
        let capacity = 2.0 * rate;
        // Every update is a single assignment: a poisoned lock is usable.
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        if peers.len() >= MAX_PEERS && !peers.contains_key(&peer) {
            let oldest = peers.iter().min_by_key(|(_, b)| b.seen).map(|(ip, _)| *ip);
            if let Some(ip) = oldest {
                peers.remove(&ip);
            }
        }
        let bucket = peers.entry(peer).or_insert(Bucket {
            tokens: capacity,
            seen: now,
        });
        let elapsed = now.saturating_duration_since(bucket.seen).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.seen = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn burst_then_refill_per_peer() {
        let r = AuthRate::new(10);
        let t0 = Instant::now();
        let a = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let b = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
        let allowed = (0..100).filter(|_| r.allow(a, t0)).count();
        assert_eq!(allowed, 20, "a burst of twice the rate");
        // Another peer is not affected.
        assert!(r.allow(b, t0));
        // Half a second refills five.
        let later = t0 + Duration::from_millis(500);
        assert_eq!((0..100).filter(|_| r.allow(a, later)).count(), 5);
        // Unlimited.
        let free = AuthRate::new(0);
        assert!((0..1000).all(|_| free.allow(a, t0)));
    }

    #[test]
    fn refusals_are_logged_in_batches() {
        let r = AuthRate::new(1);
        let t0 = Instant::now();
        assert_eq!(r.note_refusal(t0), Some(1));
        for i in 1..100 {
            assert_eq!(r.note_refusal(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(r.note_refusal(t0 + LOG_EVERY), Some(100));
    }

    #[test]
    fn the_peer_table_is_bounded() {
        let r = AuthRate::new(1);
        let t0 = Instant::now();
        for i in 0..(MAX_PEERS as u32 + 10) {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            assert!(r.allow(ip, t0 + Duration::from_micros(u64::from(i))));
        }
        assert_eq!(r.peers.lock().expect("lock").len(), MAX_PEERS);
    }
}
