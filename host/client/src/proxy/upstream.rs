//! The proxy's view of the appliance: verified (with its key), stale (the
//! key was rejected and re-verification could not reach the appliance:
//! verify before the next request), or refused (re-verification failed: every
//! request is answered 502 until the proxy is restarted, never forwarded).
//!
//! A key is rejected when the gateway answers RFC 9458's `ohttp-key`
//! problem, or any other 400 while it serves another key configuration than
//! the verified one: a rebooted appliance that drew the same key id cannot
//! decrypt for the old key and answers a plain 400.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{ClientError, Refusal};
use crate::exchange::InnerResponse;
use crate::verify::VerifiedAppliance;

/// Verifies the appliance again (the proxy passes its URL, manifest and
/// options; tests pass anything).
pub type Reverify = Box<dyn Fn() -> Result<VerifiedAppliance, Refusal> + Send + Sync>;

enum State {
    Verified(Arc<VerifiedAppliance>),
    Stale,
    Refused(Refusal),
}

/// Why a request was not forwarded or got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The evidence failed re-verification.
    Refused(Refusal),
    /// Re-verification could not reach the appliance.
    Unreachable(String),
    /// The encrypted request failed.
    Client(ClientError),
    /// No node of a fleet is verified and up.
    Unavailable(String),
}

pub struct Upstream {
    state: Mutex<State>,
    reverify: Reverify,
}

impl Upstream {
    pub fn new(verified: VerifiedAppliance, reverify: Reverify) -> Self {
        Self {
            state: Mutex::new(State::Verified(Arc::new(verified))),
            reverify,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere leaves a usable state: every transition is one
        // assignment.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs with the lock held, so concurrent requests wait for one
    /// re-verification instead of starting their own.
    fn reverify(&self, state: &mut State) -> Result<Arc<VerifiedAppliance>, Failure> {
        println!("proxy: the appliance's key changed; verifying its evidence again");
        match (self.reverify)() {
            Ok(fresh) => {
                println!(
                    "proxy: re-verified ({} evidence, key id {})",
                    fresh.summary().tee,
                    fresh.key_id()
                );
                let fresh = Arc::new(fresh);
                *state = State::Verified(Arc::clone(&fresh));
                Ok(fresh)
            }
            Err(r) if r.is_connection() => {
                println!("proxy: re-verification could not reach the appliance: {r}");
                *state = State::Stale;
                Err(Failure::Unreachable(r.detail))
            }
            Err(r) => {
                println!("proxy: refused: {r}; answering 502 until restarted");
                *state = State::Refused(r.clone());
                Err(Failure::Refused(r))
            }
        }
    }

    fn current(&self) -> Result<Arc<VerifiedAppliance>, Failure> {
        let mut state = self.lock();
        match &*state {
            State::Verified(a) => Ok(Arc::clone(a)),
            State::Refused(r) => Err(Failure::Refused(r.clone())),
            State::Stale => self.reverify(&mut state),
        }
    }

    /// `rejected`'s key was refused by the appliance: verify again, unless
    /// another request already replaced it.
    fn replace(
        &self,
        rejected: &Arc<VerifiedAppliance>,
    ) -> Result<Arc<VerifiedAppliance>, Failure> {
        let mut state = self.lock();
        match &*state {
            State::Verified(a) if !Arc::ptr_eq(a, rejected) => Ok(Arc::clone(a)),
            State::Refused(r) => Err(Failure::Refused(r.clone())),
            _ => self.reverify(&mut state),
        }
    }

    /// Forwards `json`; on a key rejection, re-verifies and retries once.
    pub fn forward(&self, json: &[u8]) -> Result<InnerResponse, Failure> {
        let appliance = self.current()?;
        match appliance
            .forward(json)
            .map_err(|e| key_rejection(&appliance, e))
        {
            Err(ClientError::KeyRejected) => {
                let fresh = self.replace(&appliance)?;
                fresh
                    .forward(json)
                    .map_err(|e| key_rejection(&fresh, e))
                    .map_err(|e| {
                        if e == ClientError::KeyRejected {
                            // Rejected right after verifying: verify again next time.
                            let mut state = self.lock();
                            if matches!(&*state, State::Verified(a) if Arc::ptr_eq(a, &fresh)) {
                                *state = State::Stale;
                            }
                        }
                        Failure::Client(e)
                    })
            }
            other => other.map_err(Failure::Client),
        }
    }
}

/// A gateway 400 while the appliance serves another key configuration than
/// `appliance`'s is a key rejection too; any other error stays as it is.
pub(crate) fn key_rejection(appliance: &VerifiedAppliance, e: ClientError) -> ClientError {
    match e {
        ClientError::Gateway { status: 400, .. } => match appliance.key_configuration_changed() {
            Ok(true) => ClientError::KeyRejected,
            _ => e,
        },
        other => other,
    }
}

impl super::Relay for Upstream {
    fn relay(&self, json: &[u8]) -> super::Forwarded {
        super::Forwarded {
            result: self.forward(json),
            via: None,
        }
    }
}
