//! SEV-SNP launch digest of an OVMF-compatible firmware image.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
