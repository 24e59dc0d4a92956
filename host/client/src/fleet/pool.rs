//! The proxy's fleet upstream: every listed node with its own state, and
//! the choice of node per request.
//!
//! - Only a node whose own evidence verified is ever sent a request, and
//!   only to the key from that evidence. A refused node stays unused until a
//!   later verification passes; a node the listing points elsewhere is
//!   verified afresh at its new URL before it is used.
//! - Each request goes to the verified node with the fewest requests in
//!   flight; ties go to the one picked longest ago (round robin when idle).
//! - Embeddings requests are idempotent (the same input gives the same
//!   vectors, nothing is stored), so a request whose node failed
//!   (connection error, timeout, or the balancer's 502/503/504) is sent once
//!   more, to another verified node, and the failed node is marked down. A
//!   node that says it is busy (503 with `Retry-After`: its body budget or
//!   sockets are full) is not down: the request goes once to another node
//!   and the busy one stays in use. On a key rejection (the node rebooted) the node is verified again and the
//!   request retried once on it, or on another node if that fails.
//! - [`Pool::refresh`] (every `--refresh-secs` from a background thread)
//!   takes a fresh listing: nodes no longer listed are dropped, new and down
//!   nodes are verified (again), refused ones only every
//!   [`REFUSED_RETRY_EVERY`]th refresh (their evidence rarely changes, and
//!   each verification costs both sides). At most
//!   [`super::MAX_CONCURRENT_VERIFICATIONS`] run at once; one that panics
//!   leaves its node down, and the refresh thread goes on.
//!
//! Every state change prints one `proxy: NAME ...` line (control characters
//! replaced); never a text.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::listing::{FleetError, Node};
use super::{bounded, FleetVerdicts, PANICKED};
use crate::error::{ClientError, Refusal};
use crate::exchange::InnerResponse;
use crate::http::printable;
use crate::proxy::{key_rejection, Failure, Forwarded, Relay};
use crate::verify::VerifiedAppliance;

/// Verifies one node (the proxy passes its manifest and options).
pub type Verifier = Box<dyn Fn(&Node) -> Result<VerifiedAppliance, Refusal> + Send + Sync>;
/// Fetches the listing again.
pub type Lister = Box<dyn Fn() -> Result<Vec<Node>, FleetError> + Send + Sync>;

/// A refused node is verified again at every this many refreshes (down and
/// new nodes at every one).
pub const REFUSED_RETRY_EVERY: u32 = 6;

enum State {
    Verified(Arc<VerifiedAppliance>),
    /// A verification is running; nothing is sent meanwhile.
    Verifying,
    /// Unreachable, failed a request, or its verification panicked:
    /// verified again at the next refresh.
    Down(String),
    /// Its evidence was refused: never used unless a later verification passes.
    Refused(Refusal),
}

/// A node's state as tests and callers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeStatus {
    Verified { key_id: u8 },
    Verifying,
    Down(String),
    Refused(String),
}

struct Member {
    /// Unique per pool, so a node dropped and listed again is a new member.
    id: u64,
    node: Node,
    state: State,
    in_flight: usize,
    /// When it was last picked (a pool-wide counter).
    last_pick: u64,
    /// The last state line printed, so a repeated verdict is not printed again.
    shown: String,
    /// Refreshes to skip before verifying a refused node again.
    skip: u32,
}

struct Inner {
    members: Vec<Member>,
    next_id: u64,
    ticket: u64,
    /// The last listing error printed (printed again only when it changes).
    listing_error: Option<String>,
}

pub struct Pool {
    inner: Mutex<Inner>,
    verifier: Verifier,
}

/// One request's hold on a node: counted in flight until dropped.
struct Picked<'a> {
    pool: &'a Pool,
    id: u64,
    name: String,
    appliance: Arc<VerifiedAppliance>,
}

impl Drop for Picked<'_> {
    fn drop(&mut self) {
        let mut inner = self.pool.lock();
        if let Some(m) = inner.members.iter_mut().find(|m| m.id == self.id) {
            m.in_flight = m.in_flight.saturating_sub(1);
        }
    }
}

/// What one attempt on one node came to.
enum Attempt {
    Done(Result<InnerResponse, Failure>),
    /// The node was verified again after a key rejection: try it once more.
    RetrySame(Arc<VerifiedAppliance>, Failure),
    /// The node failed (and is marked down): try another once.
    RetryOther(Failure),
}

/// The candidate with the fewest requests in flight, then the one picked
/// longest ago: `(in_flight, last_pick)` per candidate.
pub(crate) fn choose(candidates: impl Iterator<Item = (usize, (usize, u64))>) -> Option<usize> {
    candidates.min_by_key(|(_, key)| *key).map(|(i, _)| i)
}

fn state_line(name: &str, state: &State) -> String {
    // Reasons quote the balancer's and the nodes' answers.
    printable(&match state {
        State::Verified(a) => format!("proxy: {name} verified (key id {})", a.key_id()),
        State::Verifying => format!("proxy: {name} verifying"),
        State::Down(reason) => format!("proxy: {name} down: {reason}"),
        State::Refused(r) => format!("proxy: {name} refused: {r}"),
    })
}

/// A verification's result as a state: unreachable is down, not refused.
fn verdict_state(verdict: Result<VerifiedAppliance, Refusal>) -> State {
    match verdict {
        Ok(a) => State::Verified(Arc::new(a)),
        Err(r) if r.is_connection() => State::Down(r.to_string()),
        Err(r) => State::Refused(r),
    }
}

/// Runs `verifier` on `node`; a panic in it is a down node, not a dead
/// thread (nor a member stuck in `Verifying`).
fn run_verifier(verifier: &Verifier, node: &Node) -> State {
    // The verifier shares nothing mutable with the pool: unwind safety holds.
    catch_unwind(AssertUnwindSafe(|| verifier(node)))
        .map_or_else(|_| State::Down(PANICKED.into()), verdict_state)
}

/// Errors after which the node is presumed dead (not the request's fault).
fn node_failed(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Connection(_)
            | ClientError::Gateway {
                status: 502..=504,
                ..
            }
    )
}

impl Member {
    /// Sets the state; prints its line when it differs from the last one.
    fn set(&mut self, state: State) {
        if matches!(state, State::Refused(_)) {
            self.skip = REFUSED_RETRY_EVERY - 1;
        }
        self.state = state;
        if matches!(self.state, State::Verifying) {
            return;
        }
        let line = state_line(&self.node.name, &self.state);
        if line != self.shown {
            println!("{line}");
            self.shown = line;
        }
    }
}

impl Pool {
    /// A pool of the nodes `verify_fleet` judged (their lines already printed).
    pub fn new(verdicts: FleetVerdicts, verifier: Verifier) -> Self {
        let mut inner = Inner {
            members: Vec::new(),
            next_id: 0,
            ticket: 0,
            listing_error: None,
        };
        for (node, verdict) in verdicts {
            let state = verdict_state(verdict);
            let shown = state_line(&node.name, &state);
            let skip = match state {
                State::Refused(_) => REFUSED_RETRY_EVERY - 1,
                _ => 0,
            };
            inner.add(node, state, shown, skip);
        }
        Self {
            inner: Mutex::new(inner),
            verifier,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change is a few assignments under the lock: a panic elsewhere
        // leaves a usable pool.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Each node's name and state, in listing order.
    pub fn statuses(&self) -> Vec<(String, NodeStatus)> {
        self.lock()
            .members
            .iter()
            .map(|m| {
                let status = match &m.state {
                    State::Verified(a) => NodeStatus::Verified { key_id: a.key_id() },
                    State::Verifying => NodeStatus::Verifying,
                    State::Down(d) => NodeStatus::Down(d.clone()),
                    State::Refused(r) => NodeStatus::Refused(r.to_string()),
                };
                (m.node.name.clone(), status)
            })
            .collect()
    }

    /// Takes the least busy verified node other than `except`.
    fn pick(&self, except: Option<u64>) -> Option<Picked<'_>> {
        let mut inner = self.lock();
        let candidates = inner.members.iter().enumerate().filter_map(|(i, m)| {
            let usable = matches!(m.state, State::Verified(_)) && Some(m.id) != except;
            usable.then_some((i, (m.in_flight, m.last_pick)))
        });
        let index = choose(candidates)?;
        inner.ticket += 1;
        let ticket = inner.ticket;
        let m = inner.members.get_mut(index)?;
        let State::Verified(appliance) = &m.state else {
            return None;
        };
        let appliance = Arc::clone(appliance);
        m.in_flight += 1;
        m.last_pick = ticket;
        let (id, name) = (m.id, m.node.name.clone());
        drop(inner);
        Some(Picked {
            pool: self,
            id,
            name,
            appliance,
        })
    }

    /// Holds member `id` again with `appliance` (its fresh verification).
    fn hold(&self, id: u64, name: String, appliance: Arc<VerifiedAppliance>) -> Picked<'_> {
        if let Some(m) = self.lock().members.iter_mut().find(|m| m.id == id) {
            m.in_flight += 1;
        }
        Picked {
            pool: self,
            id,
            name,
            appliance,
        }
    }

    /// Marks `id` down, unless its state moved on since `used` was taken.
    fn mark_down(&self, id: u64, used: &Arc<VerifiedAppliance>, reason: String) {
        let mut inner = self.lock();
        if let Some(m) = inner.members.iter_mut().find(|m| m.id == id) {
            if matches!(&m.state, State::Verified(a) if Arc::ptr_eq(a, used)) {
                m.set(State::Down(reason));
            }
        }
    }

    /// `used`'s key was rejected: verifies member `id` again (unless another
    /// request already did) and returns its fresh verification.
    fn replace(&self, id: u64, used: &Arc<VerifiedAppliance>) -> Option<Arc<VerifiedAppliance>> {
        let node = {
            let mut inner = self.lock();
            let m = inner.members.iter_mut().find(|m| m.id == id)?;
            match &m.state {
                State::Verified(a) if Arc::ptr_eq(a, used) => {}
                State::Verified(a) => return Some(Arc::clone(a)),
                _ => return None,
            }
            println!(
                "proxy: {}: its key changed; verifying it again",
                m.node.name
            );
            m.set(State::Verifying);
            m.node.clone()
        };
        let state = run_verifier(&self.verifier, &node);
        let fresh = match &state {
            State::Verified(a) => Some(Arc::clone(a)),
            _ => None,
        };
        self.settle(id, state);
        fresh
    }

    /// Ends member `id`'s verification with `state` (if it is still listed).
    fn settle(&self, id: u64, state: State) {
        let mut inner = self.lock();
        if let Some(m) = inner.members.iter_mut().find(|m| m.id == id) {
            if matches!(m.state, State::Verifying) {
                m.set(state);
            }
        }
    }

    fn attempt(&self, picked: &Picked<'_>, json: &[u8]) -> Attempt {
        let appliance = &picked.appliance;
        match appliance
            .forward(json)
            .map_err(|e| key_rejection(appliance, e))
        {
            Ok(inner) => Attempt::Done(Ok(inner)),
            Err(ClientError::KeyRejected) => match self.replace(picked.id, appliance) {
                Some(fresh) => Attempt::RetrySame(fresh, Failure::Client(ClientError::KeyRejected)),
                None => Attempt::RetryOther(Failure::Client(ClientError::KeyRejected)),
            },
            Err(e) if node_failed(&e) => {
                self.mark_down(picked.id, appliance, e.to_string());
                Attempt::RetryOther(Failure::Client(e))
            }
            // Up but full: another node may take it; this one stays in use.
            Err(e @ ClientError::Busy(_)) => Attempt::RetryOther(Failure::Client(e)),
            Err(e) => Attempt::Done(Err(Failure::Client(e))),
        }
    }

    /// Forwards one embeddings request body (see the module doc for the
    /// choice of node and the one retry).
    pub fn forward(&self, json: &[u8]) -> Forwarded {
        let Some(first) = self.pick(None) else {
            return Forwarded {
                result: Err(Failure::Unavailable(
                    "no node of the fleet is verified and up".into(),
                )),
                via: None,
            };
        };
        let second = match self.attempt(&first, json) {
            Attempt::Done(result) => {
                return Forwarded {
                    result,
                    via: Some(first.name.clone()),
                }
            }
            Attempt::RetrySame(fresh, _) => self.hold(first.id, first.name.clone(), fresh),
            Attempt::RetryOther(failure) => match self.pick(Some(first.id)) {
                Some(other) => other,
                None => {
                    return Forwarded {
                        result: Err(failure),
                        via: Some(first.name.clone()),
                    }
                }
            },
        };
        drop(first);
        let result = match self.attempt(&second, json) {
            Attempt::Done(result) => result,
            Attempt::RetrySame(_, failure) | Attempt::RetryOther(failure) => Err(failure),
        };
        Forwarded {
            result,
            via: Some(second.name.clone()),
        }
    }

    /// Applies a fresh listing (or keeps the nodes on a listing error), then
    /// verifies new and down nodes, and refused ones when their turn comes
    /// (at most [`super::MAX_CONCURRENT_VERIFICATIONS`] at once).
    pub fn refresh(&self, listed: Result<Vec<Node>, FleetError>) {
        let due = {
            let mut inner = self.lock();
            match listed {
                Ok(nodes) => {
                    if inner.listing_error.take().is_some() {
                        println!("proxy: fleet listing: fetched again");
                    }
                    inner.apply(nodes);
                }
                Err(e) => {
                    let e = printable(&e.to_string());
                    if inner.listing_error.as_ref() != Some(&e) {
                        println!("proxy: {e}; keeping the nodes we have");
                        inner.listing_error = Some(e);
                    }
                }
            }
            inner.due()
        };
        // Settled as each ends, so a slow node does not hold back the others.
        let settled = bounded(
            &due,
            |(id, node)| {
                self.settle(*id, run_verifier(&self.verifier, node));
                true
            },
            || false,
        );
        // A panic past the verifier (printing, say) must not leave a member
        // `Verifying` for good.
        for ((id, _), settled) in due.iter().zip(settled) {
            if !settled {
                self.settle(*id, State::Down(PANICKED.into()));
            }
        }
    }

    /// Refreshes every `every` from a background thread, for good: a panic
    /// in one refresh (the lister's, say) is reported and the next one runs.
    pub fn spawn_refresh(self: &Arc<Self>, lister: Lister, every: Duration) {
        let pool = Arc::clone(self);
        std::thread::spawn(move || loop {
            std::thread::sleep(every);
            // Every pool change is made under its lock in a few assignments,
            // so a refresh cut short leaves it consistent.
            if catch_unwind(AssertUnwindSafe(|| pool.refresh(lister()))).is_err() {
                println!("proxy: fleet refresh panicked; trying again next time");
            }
        });
    }
}

impl Inner {
    fn add(&mut self, node: Node, state: State, shown: String, skip: u32) {
        self.next_id += 1;
        self.members.push(Member {
            id: self.next_id,
            node,
            state,
            in_flight: 0,
            last_pick: 0,
            shown,
            skip,
        });
    }

    /// Drops nodes no longer listed (or listed at another URL, which is a
    /// new node to verify) and adds new ones, in listing order.
    fn apply(&mut self, nodes: Vec<Node>) {
        self.members.retain(|m| {
            let kept = nodes.contains(&m.node);
            if !kept {
                println!(
                    "proxy: {} removed (no longer listed at {})",
                    m.node.name,
                    printable(&m.node.url)
                );
            }
            kept
        });
        for node in nodes {
            if !self.members.iter().any(|m| m.node == node) {
                println!(
                    "proxy: {} listed at {}; verifying it",
                    node.name,
                    printable(&node.url)
                );
                // Down until verified: the next `due` verifies it.
                self.add(
                    node,
                    State::Down("not verified yet".into()),
                    String::new(),
                    0,
                );
            }
        }
    }

    /// Members to verify now (new, down, or refused and not skipped this
    /// time), marked as verifying.
    fn due(&mut self) -> Vec<(u64, Node)> {
        let mut due = Vec::new();
        for m in &mut self.members {
            let now = match m.state {
                State::Down(_) => true,
                State::Refused(_) if m.skip > 0 => {
                    m.skip -= 1;
                    false
                }
                State::Refused(_) => true,
                State::Verified(_) | State::Verifying => false,
            };
            if now {
                m.state = State::Verifying;
                due.push((m.id, m.node.clone()));
            }
        }
        due
    }
}

impl Relay for Pool {
    fn relay(&self, json: &[u8]) -> Forwarded {
        self.forward(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fewest_in_flight_then_longest_ago() {
        let pick = |c: &[(usize, u64)]| choose(c.iter().copied().enumerate());
        assert_eq!(pick(&[]), None);
        assert_eq!(pick(&[(3, 1), (1, 9), (2, 0)]), Some(1));
        assert_eq!(pick(&[(1, 7), (1, 4), (1, 5)]), Some(1));
        assert_eq!(pick(&[(0, 0), (0, 0)]), Some(0));
    }
}
