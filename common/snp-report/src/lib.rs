//! The SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP ABI spec 56860, 1184 bytes),
//! shared by the guest (which requests and sends it) and the host (which
//! verifies it).
//!
//! - [`AttestationReport::from_bytes`] parses versions 2, 3, 4 and 5 strictly
//!   (see "Strictness" below); `AttestationReport::to_bytes` (feature
//!   `verify`) writes the same 1184 bytes back.
//! - TCB values are decoded per layout: Milan/Genoa (CPUID family 0x19, and
//!   every version-2 report) or Turin (family 0x1A, with an FMC byte).
//! - With the `serialize` feature the report serialises in the JSON shape of
//!   `sev::firmware::guest::AttestationReport` (serde feature), which is what
//!   Trustee's SNP verifier reads as `SnpEvidence.attestation_report`: all
//!   the guest needs. The `serde` feature also deserialises it (host).
//! - The `verify` feature adds what only the host verifier uses: the byte
//!   encoder (`to_bytes`, `signed_bytes`, `is_canonical`), the processor
//!   generation, TCB comparison and the bit-field accessors.
//!
//! # Strictness
//! Reserved bytes must be zero (the spec marks them reserved, firmware writes
//! zero, all real vectors comply). The reason is the JSON form: it has no
//! place for reserved bytes, and Trustee re-encodes the report from JSON with
//! zeros before checking the signature. Requiring zero keeps bytes <-> struct
//! <-> JSON a bijection, so a report that parses here also verifies through
//! the JSON path. Unknown versions (0, 1, > 5) are refused: their layout is not
//! known. The signature area's reserved tail (0x330..0x4A0) is checked too.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod bits;
mod error;
#[cfg(feature = "serialize")]
pub mod evidence;
mod generation;
pub mod layout;
mod report;
#[cfg(feature = "serialize")]
mod serde_array;
mod tcb;

#[cfg(test)]
mod tests;

#[cfg(feature = "verify")]
pub use bits::SigningKey;
pub use bits::{GuestPolicy, KeyInfo, PlatformInfo};
pub use error::ParseError;
#[cfg(feature = "verify")]
pub use generation::Generation;
pub use generation::TcbLayout;
pub use layout::{REPORT_LEN, SIGNED_LEN};
pub use report::{AttestationReport, FirmwareVersion, Signature, SUPPORTED_VERSIONS};
pub use tcb::TcbVersion;
