//! SEV-SNP guest-side protocol logic, free of `unsafe` and testable on the host.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
