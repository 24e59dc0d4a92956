//! SNP attestation reports for the appliance: the message protocol (VMPCK0
//! AES-GCM, sequence numbers, response checks) is guest/snp-attest; the
//! kernel's part (the transport over two shared pages and the GHCB guest
//! request, and taking VMPCK0 out of the secrets page once, wiping VMPCK0..3
//! there) is `transport.rs`, generic over its pages and run by the host unit
//! tests (`tests.rs`) against the mock hypervisor and mock secure processor.
//! This module supplies the shared pages, the secrets page at its fixed
//! address and the one messenger.
//!
//! Not run on SNP hardware: none exists where this was written.

#[cfg(test)]
mod tests;
mod transport;

use crate::boot::layout::SECRETS_PAGE;
use crate::platform::EvidenceError;
use crate::shared::SharedBuffer;
use core::sync::atomic::{AtomicBool, Ordering};
use snp_attest::{AttestError, GuestMessenger, PAGE_SIZE};
use spin::Mutex;
use transport::{take_secrets, GhcbTransport, GuestRequestFn, SecretsMemory};

type KernelTransport = GhcbTransport<SharedBuffer, GuestRequestFn>;

static MESSENGER: Mutex<Option<(GuestMessenger, KernelTransport)>> = Mutex::new(None);
/// Set by the one take of the secrets page: its VMPCKs are wiped then, so a
/// later take (after a failure) is refused instead of keying a messenger
/// with the wipe pattern.
static SECRETS_TAKEN: AtomicBool = AtomicBool::new(false);

/// The launch secrets page at its fixed address. Only `snp_report` makes
/// one, under SNP.
struct LaunchSecrets;

impl SecretsMemory for LaunchSecrets {
    fn read(&self, at: usize) -> u8 {
        if at >= PAGE_SIZE {
            return 0;
        }
        // SAFETY: the secrets page is a launch-validated private page at a fixed, identity-mapped address, touched only by `take_secrets`; `at` is below PAGE_SIZE (checked above).
        unsafe { core::ptr::read_volatile((SECRETS_PAGE as *const u8).add(at)) }
    }

    fn write(&mut self, at: usize, value: u8) {
        if at >= PAGE_SIZE {
            return;
        }
        // SAFETY: as in `read`; the page is private guest memory nothing else refers to.
        unsafe { core::ptr::write_volatile((SECRETS_PAGE as *mut u8).add(at), value) }
    }
}

/// An attestation report (1184 bytes) with `report_data`, signed by the
/// secure processor. The first call takes VMPCK0 from the secrets page (and
/// wipes all four VMPCKs there). Under SEV-SNP only (`platform::evidence`
/// decides).
pub(crate) fn snp_report(report_data: [u8; 64]) -> Result<[u8; 1184], EvidenceError> {
    let mut guard = MESSENGER.lock();
    if guard.is_none() {
        // Everything that can fail for want of memory comes first: once the
        // secrets page is taken its keys are wiped, and a second take would
        // read the wipe pattern, never the key.
        let request = SharedBuffer::allocate(1).map_err(|_| EvidenceError::NoSharedMemory)?;
        let response = SharedBuffer::allocate(1).map_err(|_| EvidenceError::NoSharedMemory)?;
        if SECRETS_TAKEN.swap(true, Ordering::AcqRel) {
            return Err(EvidenceError::Attest(AttestError::KeyWiped));
        }
        let mut copy = [0u8; PAGE_SIZE];
        let secrets = take_secrets(&mut LaunchSecrets, &mut copy).map_err(EvidenceError::Attest)?;
        let transport = GhcbTransport::new(
            request,
            response,
            crate::snp::guest_request as GuestRequestFn,
        );
        *guard = Some((GuestMessenger::new(&secrets), transport));
    }
    let Some((messenger, transport)) = guard.as_mut() else {
        return Err(EvidenceError::NoSharedMemory);
    };
    // BUSY is retried with the same bytes.
    messenger
        .request_report(transport, report_data, transport::BUSY_RETRIES)
        .map_err(EvidenceError::Attest)
}
