//! The kernel's attestation logic, generic over where its pages live: the
//! guest runs it on `SharedBuffer`s, the launch secrets page and
//! `snp::guest_request`; the host unit tests (`tests.rs`) on pages in host
//! memory, a fake secrets page and an `SnpGlue` over the mock hypervisor
//! with `snp_attest`'s mock secure processor behind its guest-request
//! responder.

use crate::shared::{SharedBuffer, SharedError};
use snp_attest::{AttestError, GuestRequestTransport, Page, SecretsPage, TransportError, VMPCKS};
use snp_guest::SnpError;

/// How often a BUSY answer is retried (the same bytes each time).
pub const BUSY_RETRIES: u32 = 1000;

/// A page the host may read and write at any time: data moves in and out by
/// copies only (a `SharedBuffer` in the guest).
pub trait HostPage {
    /// Guest-physical address to give the hypervisor.
    fn gpa(&self) -> u64;
    fn write(&self, offset: usize, data: &[u8]) -> Result<(), SharedError>;
    fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), SharedError>;
    fn fill(&self, value: u8);
}

impl HostPage for SharedBuffer {
    fn gpa(&self) -> u64 {
        SharedBuffer::gpa(self)
    }
    fn write(&self, offset: usize, data: &[u8]) -> Result<(), SharedError> {
        SharedBuffer::write(self, offset, data)
    }
    fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), SharedError> {
        SharedBuffer::read(self, offset, out)
    }
    fn fill(&self, value: u8) {
        SharedBuffer::fill(self, value)
    }
}

/// The SNP guest request exit: `(request GPA, response GPA)`.
pub type GuestRequestFn = fn(u64, u64) -> Result<(), SnpError>;

/// [`GuestRequestTransport`] over two host pages and the guest request exit
/// `E` (`snp::guest_request` in the guest).
pub struct GhcbTransport<P: HostPage, E: FnMut(u64, u64) -> Result<(), SnpError>> {
    request: P,
    response: P,
    guest_request: E,
}

impl<P: HostPage, E: FnMut(u64, u64) -> Result<(), SnpError>> GhcbTransport<P, E> {
    pub fn new(request: P, response: P, guest_request: E) -> Self {
        Self {
            request,
            response,
            guest_request,
        }
    }
}

impl<P: HostPage, E: FnMut(u64, u64) -> Result<(), SnpError>> GuestRequestTransport
    for GhcbTransport<P, E>
{
    /// Writes the request, zeroes the response page (so a host that answers
    /// "done" without writing one leaves zeros, not stale bytes), makes the
    /// exit, and maps its result: BUSY to `Busy`, a firmware error to
    /// `Failed` with its code, anything else to `Failed { code: u64::MAX }`.
    fn exchange(&mut self, request: &Page, response: &mut Page) -> Result<(), TransportError> {
        self.request
            .write(0, request)
            .map_err(|_| TransportError::Failed { code: 0 })?;
        self.response.fill(0);
        match (self.guest_request)(self.request.gpa(), self.response.gpa()) {
            Ok(()) => self
                .response
                .read(0, response)
                .map_err(|_| TransportError::Failed { code: 0 }),
            Err(SnpError::GuestRequestBusy) => Err(TransportError::Busy),
            Err(SnpError::GuestRequestFirmwareError { code }) => Err(TransportError::Failed {
                code: u64::from(code),
            }),
            Err(_) => Err(TransportError::Failed { code: u64::MAX }),
        }
    }
}

/// The launch secrets page, byte by byte (volatile in the guest). Indices
/// are below `PAGE_SIZE`.
pub trait SecretsMemory {
    fn read(&self, at: usize) -> u8;
    fn write(&mut self, at: usize, value: u8);
}

/// Copies the secrets page into `copy` (private memory), overwrites all four
/// VMPCKs (VMPCK0..3, `snp_attest::VMPCKS`) in the page with 0xFF so nothing
/// loaded later can use any of them to forge reports, then parses the copy,
/// which is zeroized whatever the result.
pub fn take_secrets<S: SecretsMemory + ?Sized>(
    page: &mut S,
    copy: &mut Page,
) -> Result<SecretsPage, AttestError> {
    for (i, b) in copy.iter_mut().enumerate() {
        *b = page.read(i);
    }
    for i in VMPCKS {
        page.write(i, 0xFF);
    }
    SecretsPage::take(copy)
}
