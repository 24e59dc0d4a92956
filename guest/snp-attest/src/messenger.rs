//! VMPCK0 guest messages for attestation reports, with the sequence number
//! rules of docs/snp-boot.md §5.2: request seqno = last + 1, response = request + 1,
//! advance by 2 per round trip, never reuse, wipe the key on any failure
//! other than BUSY (Linux `snp_disable_vmpck`): after a failed exchange the
//! firmware may or may not have consumed the number, and guessing could
//! reuse an IV.

use core::fmt;
use zeroize::Zeroizing;

use crate::error::{AttestError, HeaderField, TransportError};
use crate::message::{
    self, Header, Page, ALGO_AES_256_GCM, HDR_VERSION, HEADER_LEN, MAX_PAYLOAD, MSG_REPORT_REQ,
    MSG_REPORT_RSP, MSG_VERSION, REPORT_DATA_AT, REPORT_LEN, REPORT_REQ_LEN, REPORT_RSP_HEADER,
    REPORT_RSP_LEN,
};
use crate::secrets::SecretsPage;

/// One SNP_GUEST_REQUEST: send `request`, fill `response`. The kernel
/// implements it with two shared pages and `GhcbChannel::guest_request`,
/// mapping `SnpError::GuestRequestBusy` to [`TransportError::Busy`].
pub trait GuestRequestTransport {
    fn exchange(&mut self, request: &Page, response: &mut Page) -> Result<(), TransportError>;
}

/// Holds VMPCK0 (zeroized on drop and on any fatal error) and the sequence
/// number of the next request.
pub struct GuestMessenger {
    key: Option<Zeroizing<[u8; 32]>>,
    next_seqno: u64,
}

impl GuestMessenger {
    pub fn new(secrets: &SecretsPage) -> Self {
        Self {
            key: Some(Zeroizing::new(*secrets.vmpck0())),
            next_seqno: u64::from(secrets.msg_seqno_0()) + 1,
        }
    }

    /// The sequence number the next new request will use.
    pub fn next_seqno(&self) -> u64 {
        self.next_seqno
    }

    pub fn is_wiped(&self) -> bool {
        self.key.is_none()
    }

    /// Zeroizes the key; every later call fails with [`AttestError::KeyWiped`].
    pub fn wipe(&mut self) {
        self.key = None;
    }

    fn key(&self) -> Result<&[u8; 32], AttestError> {
        self.key.as_deref().ok_or(AttestError::KeyWiped)
    }

    /// Checks and decrypts `response` (a private copy of the shared page),
    /// the answer to the request with `seqno` and `report_data`, and returns
    /// the 1184-byte report.
    pub(crate) fn check_response(
        &self,
        seqno: u64,
        report_data: &[u8; 64],
        response: &[u8],
    ) -> Result<[u8; REPORT_LEN], AttestError> {
        let truncated = AttestError::Truncated {
            len: response.len(),
        };
        let head: &[u8; HEADER_LEN] = response
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(truncated)?;
        let h = Header::read(head);
        let bad = |field, value: u32| Err(AttestError::BadHeader { field, value });
        if h.algo != ALGO_AES_256_GCM {
            return bad(HeaderField::Algo, h.algo.into());
        }
        if h.hdr_version != HDR_VERSION {
            return bad(HeaderField::HeaderVersion, h.hdr_version.into());
        }
        if usize::from(h.hdr_sz) != HEADER_LEN {
            return bad(HeaderField::HeaderSize, h.hdr_sz.into());
        }
        if h.msg_type != MSG_REPORT_RSP {
            return bad(HeaderField::MessageType, h.msg_type.into());
        }
        if h.msg_version != MSG_VERSION {
            return bad(HeaderField::MessageVersion, h.msg_version.into());
        }
        if h.msg_vmpck != 0 {
            return bad(HeaderField::Vmpck, h.msg_vmpck.into());
        }
        let expected = seqno + 1;
        if h.seqno != expected {
            return Err(AttestError::BadSequence {
                expected,
                got: h.seqno,
            });
        }
        let msg_sz = usize::from(h.msg_sz);
        if !(REPORT_RSP_LEN..=MAX_PAYLOAD).contains(&msg_sz) {
            return bad(HeaderField::MessageSize, h.msg_sz.into());
        }
        let ciphertext = response
            .get(HEADER_LEN..HEADER_LEN + msg_sz)
            .ok_or(truncated)?;
        let mut payload = [0u8; MAX_PAYLOAD];
        let payload = &mut payload[..msg_sz];
        payload.copy_from_slice(ciphertext);
        message::open(self.key()?, head, h.seqno, payload).map_err(|_| AttestError::BadTag)?;

        let u32_at = |at: usize| {
            u32::from_le_bytes([
                payload[at],
                payload[at + 1],
                payload[at + 2],
                payload[at + 3],
            ])
        };
        let status = u32_at(0);
        if status != 0 {
            return Err(AttestError::FirmwareStatus(status));
        }
        let report_size = u32_at(4);
        if report_size as usize != REPORT_LEN {
            return Err(AttestError::BadReportSize(report_size));
        }
        let mut report = [0u8; REPORT_LEN];
        report.copy_from_slice(&payload[REPORT_RSP_HEADER..REPORT_RSP_LEN]);
        if report[REPORT_DATA_AT..REPORT_DATA_AT + 64] != *report_data {
            return Err(AttestError::ReportDataMismatch);
        }
        Ok(report)
    }

    /// One report round trip over `transport`: builds the encrypted
    /// MSG_REPORT_REQ page (VMPL 0, key_sel 0), resends exactly those bytes
    /// up to `busy_retries` times on BUSY, then checks and decrypts the
    /// response. The sequence number advances (by 2) only after a response
    /// that checked good; every other outcome once the request is built
    /// wipes the key, running out of BUSY retries too (as in Linux), so no
    /// sequence number is ever used for a second plaintext. The request
    /// lives only inside this call (`&mut self`), so no second one can be
    /// built while it is outstanding.
    pub fn request_report<T: GuestRequestTransport>(
        &mut self,
        transport: &mut T,
        report_data: [u8; 64],
        busy_retries: u32,
    ) -> Result<[u8; REPORT_LEN], AttestError> {
        let key = self.key()?;
        let seqno = self.next_seqno;
        // The OS area keeps 32 bits; Linux stops at the same bound.
        if seqno >= u64::from(u32::MAX) {
            return Err(AttestError::SequenceExhausted);
        }
        let mut plaintext = [0u8; REPORT_REQ_LEN];
        plaintext[..64].copy_from_slice(&report_data);
        // vmpl (0x40) and key_sel (0x44) stay 0: VMPL0, VLEK if installed else VCEK.
        let header = Header::new(MSG_REPORT_REQ, REPORT_REQ_LEN as u16, seqno);
        let request = message::seal(key, &header, &plaintext);
        let mut response = message::zero_page();
        let mut busy = 0;
        let result = loop {
            match transport.exchange(&request, &mut response) {
                Ok(()) => break self.check_response(seqno, &report_data, &response[..]),
                Err(TransportError::Busy) if busy < busy_retries => busy += 1,
                Err(e) => break Err(AttestError::Transport(e)),
            }
        };
        match result {
            Ok(_) => self.next_seqno = seqno + 2,
            Err(_) => self.wipe(),
        }
        result
    }
}

impl fmt::Debug for GuestMessenger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestMessenger")
            .field("wiped", &self.is_wiped())
            .field("next_seqno", &self.next_seqno)
            .finish()
    }
}
