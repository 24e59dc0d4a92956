//! SEV-SNP guest attestation (AMD SEV-SNP ABI spec 56860, guest message
//! format as Linux, Oak and the SVSM implement it; see
//! `docs/snp-boot.md` §5).
//!
//! - [`SecretsPage`] reads VMPCK0 and `msg_seqno_0` from the launch secrets page.
//! - [`GuestMessenger`] builds the AES-256-GCM encrypted MSG_REPORT_REQ page
//!   and checks/decrypts the MSG_REPORT_RSP page, enforcing the sequence
//!   number rules: a sequence number is never used for two plaintexts, a
//!   BUSY request is resent byte for byte, and any other failure wipes the
//!   key for good (as Linux does), since the firmware's counter state is then
//!   unknown.
//! - [`GuestRequestTransport`] is the one thing the kernel supplies: copy the
//!   page into a shared page, SNP_GUEST_REQUEST VMGEXIT, copy the answer out.
//! - [`sample_evidence`] is the unsigned evidence used without SNP.
//! - `mock` (feature `mock`): a secure processor written from the spec, with
//!   fault injection.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod error;
mod evidence;
pub mod message;
mod messenger;
#[cfg(any(test, feature = "mock"))]
pub mod mock;
mod secrets;

#[cfg(test)]
mod tests;

pub use error::{AttestError, HeaderField, TransportError};
pub use evidence::sample_evidence;
pub use message::{Page, PAGE_SIZE, REPORT_LEN};
pub use messenger::{GuestMessenger, GuestRequestTransport};
pub use secrets::{wipe_vmpcks, SecretsPage, VMPCKS};
