//! A mock AMD secure processor for MSG_REPORT_REQ, written from the spec
//! (56860 "Guest Messages", "MSG_REPORT_REQ"; snp-boot.md §5), with fault
//! injection. It keeps its own expected sequence number like the firmware:
//! a request must carry it, the response carries it + 1, and it then
//! expects + 2.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use zeroize::Zeroizing;

use crate::error::TransportError;
use crate::message::{
    self, Header, Page, HEADER_LEN, MSG_REPORT_REQ, MSG_REPORT_RSP, REPORT_DATA_AT, REPORT_LEN,
    REPORT_REQ_LEN, REPORT_RSP_HEADER, REPORT_RSP_LEN,
};
use crate::messenger::GuestRequestTransport;

/// SW_EXITINFO2 the mock returns for a refused request (firmware
/// INVALID_PARAM in the low 32 bits).
pub const FW_ERR_INVALID_PARAM: u64 = 0x16;
/// MSG_REPORT_RSP status values.
pub const STATUS_INVALID_PARAMS: u32 = 0x16;
pub const STATUS_INVALID_KEY_SEL: u32 = 0x27;

/// The MEASUREMENT the mock reports.
pub const MOCK_MEASUREMENT: [u8; 48] = [0xA5; 48];

/// One-shot faults, applied to the next exchanges in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Corrupt the response's authentication tag.
    WrongTag,
    /// Answer (validly encrypted) with sequence number request + 3.
    WrongSeqno,
    /// Answer (validly encrypted) with message type 4 (KEY_RSP).
    WrongMsgType,
    /// Answer with msg_sz = 0x20 + 100: a truncated report.
    ShortMsgSz,
    /// MSG_REPORT_RSP status.
    BadStatus(u32),
    /// MSG_REPORT_RSP report_size.
    BadReportSize(u32),
    /// REPORT_DATA in the report differs from the request.
    WrongReportData,
    /// Flip one byte of the finished response page.
    FlipByte(usize),
    /// Return BUSY without looking at the request.
    Busy,
    /// Process the request, but return the previous response's bytes.
    Replay,
    /// Return a transport failure without looking at the request.
    Fail,
}

pub struct MockSecureProcessor {
    key: Zeroizing<[u8; 32]>,
    expected_seqno: u64,
    faults: VecDeque<Fault>,
    received: Vec<Box<Page>>,
    last_response: Option<Box<Page>>,
}

impl MockSecureProcessor {
    /// Same inputs as the guest: VMPCK0 and the secrets page's msg_seqno_0.
    pub fn new(vmpck0: [u8; 32], msg_seqno_0: u32) -> Self {
        Self {
            key: Zeroizing::new(vmpck0),
            expected_seqno: u64::from(msg_seqno_0) + 1,
            faults: VecDeque::new(),
            received: Vec::new(),
            last_response: None,
        }
    }

    pub fn inject(&mut self, fault: Fault) {
        self.faults.push_back(fault);
    }

    /// Every request page seen, BUSY ones included.
    pub fn received(&self) -> &[Box<Page>] {
        &self.received
    }

    /// The sequence number the next request must carry.
    pub fn expected_seqno(&self) -> u64 {
        self.expected_seqno
    }

    /// A version-3 report: REPORT_DATA from the request, fixed MEASUREMENT,
    /// VCEK, zero signature.
    pub fn build_report(report_data: &[u8; 64]) -> [u8; REPORT_LEN] {
        let mut r = [0u8; REPORT_LEN];
        r[0x00..0x04].copy_from_slice(&3u32.to_le_bytes());
        // Policy: bit 17 (must be one) and SMT allowed; ABI 0.0.
        r[0x08..0x10].copy_from_slice(&0x3_0000u64.to_le_bytes());
        r[0x34..0x38].copy_from_slice(&1u32.to_le_bytes()); // ECDSA P-384 with SHA-384
        r[REPORT_DATA_AT..REPORT_DATA_AT + 64].copy_from_slice(report_data);
        r[0x90..0xC0].copy_from_slice(&MOCK_MEASUREMENT);
        r[0x188] = 0x19; // Genoa family/model/stepping
        r[0x189] = 0x11;
        r[0x18A] = 0x01;
        r
    }

    fn refuse() -> Result<(), TransportError> {
        Err(TransportError::Failed {
            code: FW_ERR_INVALID_PARAM,
        })
    }

    /// Handles one SNP_GUEST_REQUEST.
    pub fn respond(&mut self, request: &Page, response: &mut Page) -> Result<(), TransportError> {
        self.received.push(Box::new(*request));
        let fault = self.faults.pop_front();
        match fault {
            Some(Fault::Busy) => return Err(TransportError::Busy),
            Some(Fault::Fail) => return Self::refuse(),
            _ => {}
        }
        let mut head = [0u8; HEADER_LEN];
        head.copy_from_slice(&request[..HEADER_LEN]);
        let h = Header::read(&head);
        if h != Header::new(MSG_REPORT_REQ, REPORT_REQ_LEN as u16, self.expected_seqno) {
            return Self::refuse();
        }
        let mut req = [0u8; REPORT_REQ_LEN];
        req.copy_from_slice(&request[HEADER_LEN..HEADER_LEN + REPORT_REQ_LEN]);
        if message::open(&self.key, &head, h.seqno, &mut req).is_err() {
            return Self::refuse();
        }
        // The firmware has consumed this number whatever the status.
        self.expected_seqno += 2;

        let mut report_data = [0u8; 64];
        report_data.copy_from_slice(&req[..64]);
        let vmpl = u32::from_le_bytes([req[0x40], req[0x41], req[0x42], req[0x43]]);
        let key_sel = u32::from_le_bytes([req[0x44], req[0x45], req[0x46], req[0x47]]);
        let mut status = 0;
        if vmpl > 3 || req[0x48..].iter().any(|&b| b != 0) {
            status = STATUS_INVALID_PARAMS;
        } else if key_sel & 3 == 3 || key_sel >> 2 != 0 {
            status = STATUS_INVALID_KEY_SEL;
        }
        if fault == Some(Fault::WrongReportData) {
            report_data[0] ^= 1;
        }
        let mut rsp = [0u8; REPORT_RSP_LEN];
        let mut report_size = REPORT_LEN as u32;
        let mut msg_sz = REPORT_RSP_LEN;
        match fault {
            Some(Fault::BadStatus(s)) => status = s,
            Some(Fault::BadReportSize(n)) => report_size = n,
            Some(Fault::ShortMsgSz) => msg_sz = REPORT_RSP_HEADER + 100,
            _ => {}
        }
        rsp[0..4].copy_from_slice(&status.to_le_bytes());
        if status == 0 {
            rsp[4..8].copy_from_slice(&report_size.to_le_bytes());
            rsp[REPORT_RSP_HEADER..].copy_from_slice(&Self::build_report(&report_data));
        }
        let mut header = Header::new(MSG_REPORT_RSP, msg_sz as u16, h.seqno + 1);
        match fault {
            Some(Fault::WrongSeqno) => header.seqno += 2,
            Some(Fault::WrongMsgType) => header.msg_type = 4,
            _ => {}
        }
        let mut page = message::seal(&self.key, &header, &rsp[..msg_sz]);
        match fault {
            Some(Fault::WrongTag) => page[3] ^= 0x80,
            Some(Fault::FlipByte(at)) => page[at] ^= 0x01,
            _ => {}
        }
        let out = match (fault, self.last_response.as_ref()) {
            (Some(Fault::Replay), Some(old)) => old.clone(),
            _ => page.clone(),
        };
        response.copy_from_slice(&out[..]);
        self.last_response = Some(page);
        Ok(())
    }
}

impl GuestRequestTransport for MockSecureProcessor {
    fn exchange(&mut self, request: &Page, response: &mut Page) -> Result<(), TransportError> {
        self.respond(request, response)
    }
}
