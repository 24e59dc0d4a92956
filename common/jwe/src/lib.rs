//! JWE (RFC 7516) with `alg` = `ECDH-ES+A256KW` on P-256 and `enc` =
//! `A256GCM` (RFC 7518): what the Trustee KBS uses to wrap a resource to the
//! attested TEE key. The broker encrypts, the guest decrypts.
//!
//! Flattened JSON is the KBS wire form (`docs/kbs.md` 1.9); the
//! compact form is also supported. Randomness comes from the caller.
//!
//! The guest build has only the decrypting half. Feature `encrypt` adds the
//! broker's: `encrypt`, the JSON and compact writers, the compact parser
//! and private-key import/export (host tools, tests, fuzzing).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod b64;
mod crypt;
mod error;
mod header;
mod kdf;
mod keys;
mod serialization;

pub use crypt::decrypt;
#[cfg(feature = "encrypt")]
pub use crypt::encrypt;
pub use error::JweError;
pub use header::{ALG, ENC};
pub use kdf::concat_kdf;
pub use keys::{EcPrivateKey, EcPublicKey};
pub use serialization::Jwe;
pub use zeroize::Zeroizing;
