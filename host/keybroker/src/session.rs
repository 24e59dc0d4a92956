//! Sessions between `/auth`, `/attest` and resource requests.
//!
//! A session is created by `/auth` with a fresh nonce. Its nonce can be
//! presented to `/attest` once: the first attempt uses it up whatever the
//! outcome, so evidence cannot be retried or replayed, and it must arrive
//! within the nonce TTL. The whole session (and its attested state) ends
//! after the session TTL. Session ids are 128-bit random bearer values and
//! are never logged; logs use a per-process session number instead.
//!
//! Memory is bounded against unauthenticated floods: sessions that have not
//! attested are capped at [`Limits::unattested`], and a new one evicts the
//! oldest unattested session of the peer address that holds the most of
//! them (among its sessions, those still waiting for `/attest` go first).
//! A flood from some addresses therefore evicts its own sessions, never the
//! single session of a guest on another address; attested sessions are
//! capped at [`MAX_SESSIONS`] and beyond that `/auth` is refused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use jwe::EcPublicKey;
use kbs_protocol::Tee;
use rand_core::{OsRng, RngCore};

use crate::reason::{Reason, Refused};

/// Attested sessions kept at most; `/auth` is refused beyond this.
pub const MAX_SESSIONS: usize = 4096;
/// Default cap of sessions that have not attested (oldest evicted first).
pub const MAX_UNATTESTED: usize = 1024;
const NONCE_LEN: usize = 32;
const ID_LEN: usize = 16;

#[derive(Debug, Clone, Copy)]
pub struct Ttls {
    pub nonce: Duration,
    pub session: Duration,
}

/// Session caps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Sessions that have not attested; the oldest is evicted beyond this.
    pub unattested: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            unattested: MAX_UNATTESTED,
        }
    }
}

/// What an attested session holds.
#[derive(Debug, Clone)]
pub struct Attested {
    pub tee_key: EcPublicKey,
    /// The verified measurement: resources bound to others are refused.
    pub measurement: [u8; 48],
    pub token: String,
}

struct Session {
    number: u64,
    /// The address that asked for it (eviction is per address).
    peer: IpAddr,
    tee: Tee,
    nonce: String,
    created: Instant,
    /// Wall-clock end of the session (the token's `exp`).
    expires: SystemTime,
    nonce_used: bool,
    attested: Option<Attested>,
}

/// A nonce just taken for one attest attempt.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub number: u64,
    pub tee: Tee,
    pub nonce: String,
    pub expires: SystemTime,
}

/// A new session as `/auth` answers it.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub number: u64,
    pub nonce: String,
}

pub struct Sessions {
    ttls: Ttls,
    limits: Limits,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, Session>,
    next_number: u64,
    /// Unattested sessions evicted since start.
    evicted: u64,
}

impl Sessions {
    pub fn new(ttls: Ttls) -> Self {
        Self::with_limits(ttls, Limits::default())
    }

    pub fn with_limits(ttls: Ttls, limits: Limits) -> Self {
        Self {
            ttls,
            limits,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn ttls(&self) -> Ttls {
        self.ttls
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave a session half-updated (every
        // update is a single assignment), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a session with a fresh 32-byte nonce (standard base64, as
    /// Trustee) and a 128-bit id (32 hex digits).
    pub fn create(&self, tee: Tee, peer: IpAddr) -> Result<NewSession, Refused> {
        let mut id = [0u8; ID_LEN];
        OsRng.fill_bytes(&mut id);
        let id = hex::encode(id);
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let nonce = base64::engine::general_purpose::STANDARD.encode(nonce);

        let now = Instant::now();
        let session_ttl = self.ttls.session;
        let mut inner = self.lock();
        inner
            .map
            .retain(|_, s| now.duration_since(s.created) < session_ttl);
        let attested = inner.map.values().filter(|s| s.attested.is_some()).count();
        if attested >= MAX_SESSIONS {
            return Err(Refused::new(
                Reason::SessionLimit,
                format!("{MAX_SESSIONS} attested sessions"),
            ));
        }
        while inner.map.len() - attested >= self.limits.unattested.max(1) {
            match victim(&inner.map) {
                Some(id) => {
                    inner.map.remove(&id);
                    inner.evicted += 1;
                }
                None => break,
            }
        }
        inner.next_number += 1;
        let number = inner.next_number;
        inner.map.insert(
            id.clone(),
            Session {
                number,
                peer,
                tee,
                nonce: nonce.clone(),
                created: now,
                expires: SystemTime::now() + session_ttl,
                nonce_used: false,
                attested: None,
            },
        );
        Ok(NewSession { id, number, nonce })
    }

    /// Looks a session up, dropping it if it has expired.
    fn live<'a>(&self, inner: &'a mut Inner, id: Option<&str>) -> Result<&'a mut Session, Refused> {
        let id = id.ok_or_else(|| Refused::new(Reason::NoSession, "no session cookie"))?;
        let Some(session) = inner.map.get(id) else {
            return Err(Refused::new(Reason::NoSession, "unknown session id"));
        };
        if session.created.elapsed() >= self.ttls.session {
            let number = session.number;
            inner.map.remove(id);
            return Err(Refused::new(Reason::SessionExpired, "session expired").in_session(number));
        }
        inner
            .map
            .get_mut(id)
            .ok_or_else(|| Refused::new(Reason::NoSession, "unknown session id"))
    }

    /// Uses up the session's nonce for one attest attempt.
    pub fn take_nonce(&self, id: Option<&str>) -> Result<Challenge, Refused> {
        let nonce_ttl = self.ttls.nonce;
        let mut inner = self.lock();
        let session = self.live(&mut inner, id)?;
        let number = session.number;
        if session.nonce_used {
            return Err(
                Refused::new(Reason::NonceReplayed, "nonce already used").in_session(number)
            );
        }
        session.nonce_used = true;
        let age = session.created.elapsed();
        if age >= nonce_ttl {
            return Err(Refused::new(
                Reason::NonceExpired,
                format!("nonce is {} ms old", age.as_millis()),
            )
            .in_session(number));
        }
        Ok(Challenge {
            number,
            tee: session.tee,
            nonce: session.nonce.clone(),
            expires: session.expires,
        })
    }

    /// Records a successful attestation of session `number`.
    pub fn set_attested(&self, id: &str, number: u64, attested: Attested) -> Result<(), Refused> {
        let mut inner = self.lock();
        let session = self.live(&mut inner, Some(id))?;
        if session.number != number {
            return Err(Refused::new(Reason::NoSession, "session replaced").in_session(number));
        }
        session.attested = Some(attested);
        Ok(())
    }

    /// Unattested sessions evicted since start.
    pub fn evicted(&self) -> u64 {
        self.lock().evicted
    }

    /// The TEE key and measurement of an attested session.
    pub fn attested_key(&self, id: Option<&str>) -> Result<(u64, EcPublicKey, [u8; 48]), Refused> {
        let mut inner = self.lock();
        let session = self.live(&mut inner, id)?;
        match &session.attested {
            Some(a) => Ok((session.number, a.tee_key, a.measurement)),
            None => Err(
                Refused::new(Reason::NotAttested, "session has not attested")
                    .in_session(session.number),
            ),
        }
    }
}

/// The unattested session to evict: of the address holding the most
/// unattested sessions, the one still waiting for `/attest` (else any)
/// with the lowest number (numbers only grow, so the oldest).
fn victim(map: &HashMap<String, Session>) -> Option<String> {
    let mut per_peer: HashMap<IpAddr, usize> = HashMap::new();
    for s in map.values().filter(|s| s.attested.is_none()) {
        *per_peer.entry(s.peer).or_default() += 1;
    }
    let most = per_peer.values().copied().max()?;
    map.iter()
        .filter(|(_, s)| s.attested.is_none() && per_peer.get(&s.peer) == Some(&most))
        .min_by_key(|(_, s)| (s.nonce_used, s.number))
        .map(|(id, _)| id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn sessions(nonce_ms: u64, session_ms: u64) -> Sessions {
        Sessions::new(Ttls {
            nonce: Duration::from_millis(nonce_ms),
            session: Duration::from_millis(session_ms),
        })
    }

    #[test]
    fn nonce_is_single_use() {
        let s = sessions(60_000, 60_000);
        let new = s.create(Tee::Sample, PEER).expect("created");
        assert_eq!(new.id.len(), 32);
        assert_eq!(new.nonce.len(), 44);
        let c = s.take_nonce(Some(&new.id)).expect("first use");
        assert_eq!(c.nonce, new.nonce);
        let r = s.take_nonce(Some(&new.id)).expect_err("second use");
        assert_eq!(
            (r.reason, r.session),
            (Reason::NonceReplayed, Some(new.number))
        );
        assert_eq!(
            s.take_nonce(None).expect_err("no id").reason,
            Reason::NoSession
        );
        assert_eq!(
            s.take_nonce(Some("x")).expect_err("unknown").reason,
            Reason::NoSession
        );
    }

    #[test]
    fn nonce_and_session_expire() {
        let s = sessions(0, 60_000);
        let new = s.create(Tee::Snp, PEER).expect("created");
        assert_eq!(
            s.take_nonce(Some(&new.id)).expect_err("expired").reason,
            Reason::NonceExpired
        );
        let s = sessions(60_000, 0);
        let new = s.create(Tee::Snp, PEER).expect("created");
        assert_eq!(
            s.take_nonce(Some(&new.id)).expect_err("expired").reason,
            Reason::SessionExpired
        );
        // Expired sessions are gone afterwards.
        assert_eq!(
            s.take_nonce(Some(&new.id)).expect_err("gone").reason,
            Reason::NoSession
        );
    }

    #[test]
    fn resource_needs_attestation() {
        let s = sessions(60_000, 60_000);
        let new = s.create(Tee::Sample, PEER).expect("created");
        assert_eq!(
            s.attested_key(Some(&new.id)).expect_err("not yet").reason,
            Reason::NotAttested
        );
        let key = jwe::EcPrivateKey::generate(&mut OsRng).public_key();
        let attested = Attested {
            tee_key: key,
            measurement: [3; 48],
            token: String::new(),
        };
        s.set_attested(&new.id, new.number, attested).expect("set");
        assert_eq!(
            s.attested_key(Some(&new.id)).expect("attested"),
            (new.number, key, [3; 48])
        );
    }

    #[test]
    fn unattested_sessions_are_capped_oldest_first() {
        let s = Sessions::with_limits(
            Ttls {
                nonce: Duration::from_secs(60),
                session: Duration::from_secs(60),
            },
            Limits { unattested: 3 },
        );
        let key = jwe::EcPrivateKey::generate(&mut OsRng).public_key();
        // One attested session is never evicted by unattested ones.
        let kept = s.create(Tee::Sample, PEER).expect("created");
        let attested = Attested {
            tee_key: key,
            measurement: [1; 48],
            token: String::new(),
        };
        s.set_attested(&kept.id, kept.number, attested)
            .expect("set");
        let first: Vec<NewSession> = (0..3)
            .map(|_| s.create(Tee::Snp, PEER).expect("created"))
            .collect();
        assert_eq!(s.evicted(), 0);
        let newest = s.create(Tee::Snp, PEER).expect("created");
        assert_eq!(s.evicted(), 1);
        // The oldest unattested one went; the others and the newest remain.
        assert_eq!(
            s.take_nonce(Some(&first[0].id))
                .expect_err("evicted")
                .reason,
            Reason::NoSession
        );
        for live in [&first[1], &first[2], &newest] {
            s.take_nonce(Some(&live.id)).expect("still there");
        }
        assert!(s.attested_key(Some(&kept.id)).is_ok());
        // A flood far past the cap leaves exactly the cap.
        for _ in 0..50 {
            s.create(Tee::Snp, PEER).expect("created");
        }
        assert_eq!(s.evicted(), 51);
        assert_eq!(s.lock().map.len(), 1 + 3);
    }

    #[test]
    fn a_flooding_address_evicts_its_own_sessions() {
        let s = Sessions::with_limits(
            Ttls {
                nonce: Duration::from_secs(60),
                session: Duration::from_secs(60),
            },
            Limits { unattested: 8 },
        );
        let flooder = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let other = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
        for _ in 0..4 {
            s.create(Tee::Snp, flooder).expect("created");
        }
        // A guest's session, older than most of the flood.
        let guest = s.create(Tee::Snp, PEER).expect("created");
        let second = s.create(Tee::Snp, other).expect("created");
        for _ in 0..500 {
            s.create(Tee::Snp, flooder).expect("created");
        }
        s.take_nonce(Some(&guest.id))
            .expect("the guest's session survives");
        s.take_nonce(Some(&second.id))
            .expect("so does another address's");
        assert_eq!(s.lock().map.len(), 8);
        // Among one address's sessions, those waiting for /attest go first:
        // the guest's (nonce taken, evidence being checked) outlives newer
        // ones of the same address.
        let s = Sessions::with_limits(
            Ttls {
                nonce: Duration::from_secs(60),
                session: Duration::from_secs(60),
            },
            Limits { unattested: 2 },
        );
        let busy = s.create(Tee::Snp, PEER).expect("created");
        s.take_nonce(Some(&busy.id)).expect("taken");
        let idle = s.create(Tee::Snp, PEER).expect("created");
        s.create(Tee::Snp, PEER).expect("created");
        let key = jwe::EcPrivateKey::generate(&mut OsRng).public_key();
        let attested = Attested {
            tee_key: key,
            measurement: [1; 48],
            token: String::new(),
        };
        s.set_attested(&busy.id, busy.number, attested)
            .expect("still there");
        assert_eq!(
            s.take_nonce(Some(&idle.id)).expect_err("evicted").reason,
            Reason::NoSession
        );
    }
}
