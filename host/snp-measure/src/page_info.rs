//! The SNP launch digest chain: each measured page extends the digest with
//! SHA-384 of a 0x70-byte PAGE_INFO (SNP ABI, SNP_LAUNCH_UPDATE).

use sha2::{Digest, Sha384};

/// Pages are 4 KiB throughout the SNP launch flow.
pub const PAGE_SIZE: usize = 4096;
/// Launch digests and page content hashes are SHA-384.
pub const DIGEST_LEN: usize = 48;
/// GPA recorded for every VMSA page: (u64)-1, page-aligned, bits above 47 cleared.
pub const VMSA_GPA: u64 = 0x0000_FFFF_FFFF_F000;

const PAGE_INFO_LEN: usize = 0x70;

/// PAGE_TYPE field of PAGE_INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PageType {
    Normal = 1,
    Vmsa = 2,
    Zero = 3,
    Unmeasured = 4,
    Secrets = 5,
    Cpuid = 6,
}

/// A running launch digest (sev-snp-measure's "GCTX").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchDigest {
    ld: [u8; DIGEST_LEN],
}

impl Default for LaunchDigest {
    fn default() -> Self {
        Self::new()
    }
}

/// SHA-384 of `data`.
pub fn sha384(data: &[u8]) -> [u8; DIGEST_LEN] {
    Sha384::digest(data).into()
}

impl LaunchDigest {
    /// The digest before any page: 48 zero bytes.
    pub fn new() -> Self {
        Self::from_seed([0; DIGEST_LEN])
    }

    /// Continues from a known intermediate digest (e.g. an `ovmf_hash`).
    pub fn from_seed(ld: [u8; DIGEST_LEN]) -> Self {
        Self { ld }
    }

    /// The digest so far.
    pub fn digest(&self) -> [u8; DIGEST_LEN] {
        self.ld
    }

    /// One LAUNCH_UPDATE step for one page.
    pub fn update(&mut self, page_type: PageType, gpa: u64, contents: &[u8; DIGEST_LEN]) {
        let mut info = [0u8; PAGE_INFO_LEN];
        info[..48].copy_from_slice(&self.ld);
        info[48..96].copy_from_slice(contents);
        info[96..98].copy_from_slice(&(PAGE_INFO_LEN as u16).to_le_bytes());
        info[98] = page_type as u8;
        // 99: IS_IMI = 0; 100..104: VMPL3/2/1 permissions and reserved, all 0.
        info[104..112].copy_from_slice(&gpa.to_le_bytes());
        self.ld = sha384(&info);
    }

    /// NORMAL pages for `data` loaded at `gpa`; a short last page is zero-padded.
    pub fn update_normal_pages(&mut self, gpa: u64, data: &[u8]) {
        let mut page_gpa = gpa;
        for chunk in data.chunks(PAGE_SIZE) {
            let contents = if chunk.len() == PAGE_SIZE {
                sha384(chunk)
            } else {
                let mut page = [0u8; PAGE_SIZE];
                page[..chunk.len()].copy_from_slice(chunk);
                sha384(&page)
            };
            self.update(PageType::Normal, page_gpa, &contents);
            page_gpa = page_gpa.wrapping_add(PAGE_SIZE as u64);
        }
    }

    /// `len` bytes (rounded up to pages) of a contents-less page type at `gpa`.
    pub fn update_empty_pages(&mut self, page_type: PageType, gpa: u64, len: u64) {
        let mut offset = 0;
        while offset < len {
            self.update(page_type, gpa + offset, &[0; DIGEST_LEN]);
            offset += PAGE_SIZE as u64;
        }
    }

    /// One VMSA page (always at `VMSA_GPA`).
    pub fn update_vmsa_page(&mut self, vmsa: &[u8; PAGE_SIZE]) {
        self.update_vmsa_hash(&sha384(vmsa));
    }

    /// One VMSA page given its SHA-384 (saves rehashing identical AP VMSAs).
    pub fn update_vmsa_hash(&mut self, vmsa_hash: &[u8; DIGEST_LEN]) {
        self.update(PageType::Vmsa, VMSA_GPA, vmsa_hash);
    }
}
