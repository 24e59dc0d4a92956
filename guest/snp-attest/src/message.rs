//! SNP guest message layout and crypto (spec 56860 "Guest Messages";
//! docs/snp-boot.md §5.2): a 0x60-byte header, then the AES-256-GCM ciphertext.
//! IV = msg_seqno (u64 LE) || 4 zero bytes; AAD = header bytes 0x30..0x60;
//! tag in authtag[0..16].

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use alloc::boxed::Box;
use alloc::vec;

pub const PAGE_SIZE: usize = 4096;
pub type Page = [u8; PAGE_SIZE];

pub const HEADER_LEN: usize = 0x60;
pub const MAX_PAYLOAD: usize = PAGE_SIZE - HEADER_LEN;
pub const AAD: core::ops::Range<usize> = 0x30..HEADER_LEN;
pub const TAG_LEN: usize = 16;

pub const ALGO_AES_256_GCM: u8 = 1;
pub const HDR_VERSION: u8 = 1;
pub const MSG_VERSION: u8 = 1;
pub const MSG_REPORT_REQ: u8 = 5;
pub const MSG_REPORT_RSP: u8 = 6;

/// MSG_REPORT_REQ: report_data[64], u32 vmpl, u32 key_sel, rsvd[24].
pub const REPORT_REQ_LEN: usize = 0x60;
/// MSG_REPORT_RSP: u32 status, u32 report_size, rsvd[24], then the report.
pub const REPORT_RSP_HEADER: usize = 0x20;
pub const REPORT_LEN: usize = 1184;
pub const REPORT_RSP_LEN: usize = REPORT_RSP_HEADER + REPORT_LEN;
/// REPORT_DATA's offset inside the report.
pub const REPORT_DATA_AT: usize = 0x50;

/// The header fields (reserved bytes are written as zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub seqno: u64,
    pub algo: u8,
    pub hdr_version: u8,
    pub hdr_sz: u16,
    pub msg_type: u8,
    pub msg_version: u8,
    pub msg_sz: u16,
    pub msg_vmpck: u8,
}

impl Header {
    /// A well-formed header for VMPCK0.
    pub fn new(msg_type: u8, msg_sz: u16, seqno: u64) -> Self {
        Self {
            seqno,
            algo: ALGO_AES_256_GCM,
            hdr_version: HDR_VERSION,
            hdr_sz: HEADER_LEN as u16,
            msg_type,
            msg_version: MSG_VERSION,
            msg_sz,
            msg_vmpck: 0,
        }
    }

    /// Reads the fields from the first `HEADER_LEN` bytes of a message.
    pub fn read(msg: &[u8; HEADER_LEN]) -> Self {
        let u16_at = |at: usize| u16::from_le_bytes([msg[at], msg[at + 1]]);
        let mut seqno = [0u8; 8];
        seqno.copy_from_slice(&msg[0x20..0x28]);
        Self {
            seqno: u64::from_le_bytes(seqno),
            algo: msg[0x30],
            hdr_version: msg[0x31],
            hdr_sz: u16_at(0x32),
            msg_type: msg[0x34],
            msg_version: msg[0x35],
            msg_sz: u16_at(0x36),
            msg_vmpck: msg[0x3C],
        }
    }

    /// Writes the whole header (authtag and reserved bytes zero).
    pub fn write(&self, msg: &mut [u8; HEADER_LEN]) {
        msg.fill(0);
        msg[0x20..0x28].copy_from_slice(&self.seqno.to_le_bytes());
        msg[0x30] = self.algo;
        msg[0x31] = self.hdr_version;
        msg[0x32..0x34].copy_from_slice(&self.hdr_sz.to_le_bytes());
        msg[0x34] = self.msg_type;
        msg[0x35] = self.msg_version;
        msg[0x36..0x38].copy_from_slice(&self.msg_sz.to_le_bytes());
        msg[0x3C] = self.msg_vmpck;
    }
}

/// A zeroed page on the heap (never a 4 KiB stack temporary).
pub fn zero_page() -> Box<Page> {
    match vec![0u8; PAGE_SIZE].into_boxed_slice().try_into() {
        Ok(page) => page,
        Err(_) => unreachable!("the vector has PAGE_SIZE bytes"),
    }
}

pub fn iv(seqno: u64) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(&seqno.to_le_bytes());
    iv
}

fn header_mut(page: &mut Page) -> &mut [u8; HEADER_LEN] {
    match (&mut page[..HEADER_LEN]).try_into() {
        Ok(h) => h,
        Err(_) => unreachable!("a page is longer than a header"),
    }
}

/// Writes `header` and `plaintext` (encrypted) into a fresh page.
/// `header.msg_sz` must equal `plaintext.len()`, which is at most MAX_PAYLOAD.
pub fn seal(key: &[u8; 32], header: &Header, plaintext: &[u8]) -> Box<Page> {
    debug_assert_eq!(usize::from(header.msg_sz), plaintext.len());
    let mut page = zero_page();
    header.write(header_mut(&mut page));
    let (head, body) = page.split_at_mut(HEADER_LEN);
    let payload = &mut body[..plaintext.len()];
    payload.copy_from_slice(plaintext);
    let cipher = Aes256Gcm::new(key.into());
    let tag = match cipher.encrypt_in_place_detached(
        Nonce::from_slice(&iv(header.seqno)),
        &head[AAD],
        payload,
    ) {
        Ok(tag) => tag,
        // Only refused past 2^36 bytes; payloads here are under 4 KiB.
        Err(_) => unreachable!("AES-GCM length limit"),
    };
    head[..TAG_LEN].copy_from_slice(&tag);
    page
}

/// Authenticates and decrypts `payload` (a private copy of the ciphertext)
/// in place, with the tag and AAD from `head`.
pub fn open(
    key: &[u8; 32],
    head: &[u8; HEADER_LEN],
    seqno: u64,
    payload: &mut [u8],
) -> Result<(), aes_gcm::Error> {
    let cipher = Aes256Gcm::new(key.into());
    cipher.decrypt_in_place_detached(
        Nonce::from_slice(&iv(seqno)),
        &head[AAD],
        payload,
        Tag::from_slice(&head[..TAG_LEN]),
    )
}
