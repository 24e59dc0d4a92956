//! A mock AMD secure processor for MSG_REPORT_REQ, written from the spec
//! (56860 "Guest Messages", "MSG_REPORT_REQ"; docs/snp-boot.md §5), with fault
//! injection. It keeps its own expected sequence number like the firmware:
//! a request must carry it, the response carries it + 1, and it then
//! expects + 2.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use zeroize::Zeroizing;

use crate::error::TransportError;
use crate::message::Page;
use crate::messenger::GuestRequestTransport;

// Message header (56860 table "Message Header Format"), written here from
// the spec, not taken from the guest code under test.
const AUTHTAG: core::ops::Range<usize> = 0x00..0x10;
const MSG_SEQNO: core::ops::Range<usize> = 0x20..0x28;
const ALGO: usize = 0x30;
const HDR_VERSION: usize = 0x31;
const HDR_SZ: usize = 0x32;
const MSG_TYPE: usize = 0x34;
const MSG_VERSION: usize = 0x35;
const MSG_SZ: usize = 0x36;
const MSG_VMPCK: usize = 0x3C;
/// Authenticated additional data: header bytes 0x30..0x60.
const AAD: core::ops::Range<usize> = 0x30..0x60;
const HEADER: usize = 0x60;
const ALGO_AES_256_GCM: u8 = 1;
const MSG_REPORT_REQ: u8 = 5;
const MSG_REPORT_RSP: u8 = 6;
/// MSG_REPORT_REQ (table "MSG_REPORT_REQ"): REPORT_DATA[64], VMPL u32 at
/// 0x40, KEY_SEL u32 at 0x44, reserved to 0x60.
const REPORT_REQ_LEN: usize = 0x60;
/// MSG_REPORT_RSP: STATUS u32, REPORT_SIZE u32, reserved to 0x20, report.
const REPORT_RSP_HEADER: usize = 0x20;
/// ATTESTATION_REPORT is 0x4A0 bytes; REPORT_DATA at 0x50.
const REPORT_LEN: usize = 0x4A0;
const REPORT_DATA: usize = 0x50;
const PAGE: usize = 0x1000;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn iv(seqno: u64) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(&seqno.to_le_bytes());
    iv
}

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

    /// A response page: header for VMPCK0 and AES-256-GCM over `payload`.
    fn seal(&self, seqno: u64, msg_type: u8, payload: &[u8]) -> Box<Page> {
        let mut page: Box<Page> = match vec![0u8; PAGE].into_boxed_slice().try_into() {
            Ok(p) => p,
            Err(_) => unreachable!("the vector has PAGE bytes"),
        };
        page[MSG_SEQNO].copy_from_slice(&seqno.to_le_bytes());
        page[ALGO] = ALGO_AES_256_GCM;
        page[HDR_VERSION] = 1;
        page[HDR_SZ..HDR_SZ + 2].copy_from_slice(&(HEADER as u16).to_le_bytes());
        page[MSG_TYPE] = msg_type;
        page[MSG_VERSION] = 1;
        page[MSG_SZ..MSG_SZ + 2].copy_from_slice(&(payload.len() as u16).to_le_bytes());
        page[MSG_VMPCK] = 0;
        let (head, body) = page.split_at_mut(HEADER);
        let data = &mut body[..payload.len()];
        data.copy_from_slice(payload);
        let cipher = Aes256Gcm::new((&*self.key).into());
        let tag =
            match cipher.encrypt_in_place_detached(Nonce::from_slice(&iv(seqno)), &head[AAD], data)
            {
                Ok(tag) => tag,
                Err(_) => unreachable!("AES-GCM length limit"),
            };
        head[AUTHTAG].copy_from_slice(&tag);
        page
    }

    /// A version-3 report: REPORT_DATA from the request, fixed MEASUREMENT,
    /// VCEK, zero signature.
    pub fn build_report(report_data: &[u8; 64]) -> [u8; REPORT_LEN] {
        let mut r = [0u8; REPORT_LEN];
        r[0x00..0x04].copy_from_slice(&3u32.to_le_bytes());
        // Policy: bit 17 (must be one) and SMT allowed; ABI 0.0.
        r[0x08..0x10].copy_from_slice(&0x3_0000u64.to_le_bytes());
        r[0x34..0x38].copy_from_slice(&1u32.to_le_bytes()); // ECDSA P-384 with SHA-384
        r[REPORT_DATA..REPORT_DATA + 64].copy_from_slice(report_data);
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
        let head = &request[..HEADER];
        let seqno = u64::from_le_bytes([
            head[0x20], head[0x21], head[0x22], head[0x23], head[0x24], head[0x25], head[0x26],
            head[0x27],
        ]);
        let well_formed = head[ALGO] == ALGO_AES_256_GCM
            && head[HDR_VERSION] == 1
            && usize::from(u16_at(head, HDR_SZ)) == HEADER
            && head[MSG_TYPE] == MSG_REPORT_REQ
            && head[MSG_VERSION] == 1
            && usize::from(u16_at(head, MSG_SZ)) == REPORT_REQ_LEN
            && head[MSG_VMPCK] == 0
            && seqno == self.expected_seqno;
        if !well_formed {
            return Self::refuse();
        }
        let mut req = [0u8; REPORT_REQ_LEN];
        req.copy_from_slice(&request[HEADER..HEADER + REPORT_REQ_LEN]);
        let cipher = Aes256Gcm::new((&*self.key).into());
        if cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&iv(seqno)),
                &head[AAD],
                &mut req,
                Tag::from_slice(&head[AUTHTAG]),
            )
            .is_err()
        {
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
        let mut rsp = [0u8; REPORT_RSP_HEADER + REPORT_LEN];
        let mut report_size = REPORT_LEN as u32;
        let mut msg_sz = rsp.len();
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
        let mut out_seqno = seqno + 1;
        let mut msg_type = MSG_REPORT_RSP;
        match fault {
            Some(Fault::WrongSeqno) => out_seqno += 2,
            Some(Fault::WrongMsgType) => msg_type = 4,
            _ => {}
        }
        let mut page = self.seal(out_seqno, msg_type, &rsp[..msg_sz]);
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
