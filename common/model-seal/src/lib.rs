//! Sealed model blobs: the model encrypted with AES-256-GCM in fixed-size
//! chunks under a random 256-bit key that the key broker releases only to
//! an attested guest.
//!
//! Every chunk is authenticated with its index, the header and a last-chunk
//! flag bound in, so tampering, reordering, truncation and extension fail;
//! the SHA-384 of the plaintext, pinned in the measured image, is checked at
//! the end. See [`format`] for the layout.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod error;
pub mod format;
mod key;
#[cfg(feature = "seal")]
mod seal;
mod unseal;

pub use error::SealError;
pub use format::{Header, DEFAULT_CHUNK_SIZE, HEADER_LEN, MAX_CHUNK_SIZE, TAG_LEN};
pub use key::{SealKey, KEY_LEN};
#[cfg(feature = "seal")]
pub use seal::{seal, seal_with_chunk_size};
#[cfg(feature = "seal")]
pub use unseal::unseal;
pub use unseal::Unsealer;
pub use zeroize::Zeroizing;
