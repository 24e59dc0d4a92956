//! SNP attestation reports for the appliance: the message protocol (VMPCK0
//! AES-GCM, sequence numbers, response checks) is crates/snp-attest; this
//! module supplies the transport (two shared pages and the GHCB guest
//! request) and takes VMPCK0 out of the secrets page once, wiping VMPCK0..3
//! there.
//!
//! Not run on SNP hardware: none exists where this was written. The
//! protocol logic is tested against the mock secure processor in
//! crates/snp-attest; this glue is only compile-checked.

use crate::boot::layout::SECRETS_PAGE;
use crate::shared::SharedBuffer;
use snp_attest::{
    AttestError, GuestMessenger, GuestRequestTransport, Page, SecretsPage, TransportError,
    PAGE_SIZE, VMPCKS,
};
use spin::Mutex;

/// How often a BUSY answer is retried (the same bytes each time).
const BUSY_RETRIES: u32 = 1000;

static MESSENGER: Mutex<Option<(GuestMessenger, GhcbTransport)>> = Mutex::new(None);

#[derive(Debug)]
pub enum ReportError {
    /// Not running under SEV-SNP: there is no secure processor to ask.
    NotSnp,
    /// No shared pages for the request and response.
    NoSharedMemory,
    Attest(AttestError),
}

impl core::fmt::Display for ReportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ReportError::NotSnp => write!(f, "not an SEV-SNP guest"),
            ReportError::NoSharedMemory => write!(f, "no shared pages for the guest request"),
            ReportError::Attest(e) => write!(f, "attestation report: {e}"),
        }
    }
}

struct GhcbTransport {
    request: SharedBuffer,
    response: SharedBuffer,
}

impl GuestRequestTransport for GhcbTransport {
    fn exchange(&mut self, request: &Page, response: &mut Page) -> Result<(), TransportError> {
        self.request
            .write(0, request)
            .map_err(|_| TransportError::Failed { code: 0 })?;
        self.response.fill(0);
        match crate::snp::guest_request(self.request.gpa(), self.response.gpa()) {
            Ok(()) => self
                .response
                .read(0, response)
                .map_err(|_| TransportError::Failed { code: 0 }),
            Err(snp_guest::SnpError::GuestRequestBusy) => Err(TransportError::Busy),
            Err(snp_guest::SnpError::GuestRequestFirmwareError { code }) => {
                Err(TransportError::Failed {
                    code: u64::from(code),
                })
            }
            Err(_) => Err(TransportError::Failed { code: u64::MAX }),
        }
    }
}

/// Copy the secrets page into private memory, overwrite all four VMPCKs
/// (VMPCK0..3, `snp_attest::VMPCKS`) in place so nothing loaded later can use
/// any of them to forge reports, then parse the copy, which is zeroized.
fn take_secrets() -> Result<SecretsPage, ReportError> {
    let mut page = [0u8; PAGE_SIZE];
    // SAFETY: the secrets page is a launch-validated private page at a fixed address, identity-mapped, and only this function touches it; every index is below PAGE_SIZE (`VMPCKS` ends at 0xA0).
    unsafe {
        let src = SECRETS_PAGE as *mut u8;
        for (i, b) in page.iter_mut().enumerate() {
            *b = core::ptr::read_volatile(src.add(i));
        }
        for i in VMPCKS {
            core::ptr::write_volatile(src.add(i), 0xFF);
        }
    }
    SecretsPage::take(&mut page).map_err(ReportError::Attest)
}

/// An attestation report (1184 bytes) with `report_data`, signed by the
/// secure processor. The first call takes VMPCK0 from the secrets page (and
/// wipes all four VMPCKs there).
pub fn snp_report(report_data: [u8; 64]) -> Result<[u8; 1184], ReportError> {
    if !crate::snp::active() {
        return Err(ReportError::NotSnp);
    }
    let mut guard = MESSENGER.lock();
    if guard.is_none() {
        let secrets = take_secrets()?;
        let transport = GhcbTransport {
            request: SharedBuffer::allocate(1).map_err(|_| ReportError::NoSharedMemory)?,
            response: SharedBuffer::allocate(1).map_err(|_| ReportError::NoSharedMemory)?,
        };
        *guard = Some((GuestMessenger::new(&secrets), transport));
    }
    let Some((messenger, transport)) = guard.as_mut() else {
        return Err(ReportError::NotSnp);
    };
    messenger
        .request_report(transport, report_data, BUSY_RETRIES)
        .map_err(ReportError::Attest)
}
