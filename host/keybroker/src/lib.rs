//! Key broker for the appliance: a KBS protocol 0.4.0 server (Trustee's
//! wire format) that releases a resource, JWE-wrapped, to a guest whose
//! SEV-SNP evidence verifies, plus the same verifier as an offline command.
//!
//! Flow: `POST /kbs/v0/auth` (version `0.4.0`, tee `snp` or `sample`) gives
//! a challenge nonce and a `kbs-session-id` cookie; `POST /kbs/v0/attest`
//! checks that the nonce is this session's, unused and fresh, that
//! REPORT_DATA binds `{nonce, tee-pubkey}` (kbs-protocol), and verifies the
//! evidence (snp-verify with the manifest's measurements, or the insecure
//! sample form); `GET /kbs/v0/resource/{repo}/{type}/{tag}` then answers the
//! resource as a JWE to the attested TEE key, to the session cookie or, as
//! Trustee, to `Authorization: Bearer <token>` with the token `/attest`
//! returned. Every refusal is logged with a stable [`reason::Reason`] code
//! and answered 401 with one fixed body.

pub mod cli;
pub mod error;
mod handlers;
pub mod log;
pub mod manifest;
pub mod offline;
pub mod policy;
pub mod rate;
pub mod reason;
pub mod resources;
pub mod sample;
pub mod server;
pub mod session;
pub mod token;
pub mod verify;
