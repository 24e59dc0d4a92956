//! Guest side of Oblivious HTTP (RFC 9458) with Binary HTTP (RFC 9292).
//!
//! The appliance is the Oblivious Gateway and the target resource at once:
//! [`Gateway::decapsulate`] turns a `message/ohttp-req` body into a BHTTP
//! request ([`bhttp::decode_request`]), and the answer goes back through
//! [`bhttp::encode_response`] and [`ResponseContext::encapsulate`].
//!
//! One suite only: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM.
//! HPKE itself is the `hpke` crate; the OHTTP framing, the BHTTP codec and
//! QUIC varints are here. Randomness (key material, response nonces) is
//! passed in as bytes, so the crate needs no RNG. Sans-I/O, `no_std` +
//! `alloc`, no panics on any input.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod bhttp;
mod error;
mod key;
mod request;
mod response;
pub mod varint;

pub use error::GatewayError;
pub use key::Gateway;
pub use response::ResponseContext;

/// HPKE KEM: DHKEM(X25519, HKDF-SHA256) (RFC 9180 §7.1).
pub const KEM_X25519_HKDF_SHA256: u16 = 0x0020;
/// HPKE KDF: HKDF-SHA256 (RFC 9180 §7.2).
pub const KDF_HKDF_SHA256: u16 = 0x0001;
/// HPKE AEAD: AES-128-GCM (RFC 9180 §7.3).
pub const AEAD_AES_128_GCM: u16 = 0x0001;

/// Media type of an Encapsulated Request body (RFC 9458 §9.2).
pub const REQUEST_MEDIA_TYPE: &str = "message/ohttp-req";
/// Media type of an Encapsulated Response body (RFC 9458 §9.3).
pub const RESPONSE_MEDIA_TYPE: &str = "message/ohttp-res";
/// Media type of the key configuration list (RFC 9458 §9.1).
pub const KEYS_MEDIA_TYPE: &str = "application/ohttp-keys";
