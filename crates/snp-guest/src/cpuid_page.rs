//! The SNP CPUID page (ASEV section type 3), filled by QEMU and checked by
//! the AMD-SP at launch, so its values are trusted unlike hypervisor CPUID.
//!
//! Layout (SNP ABI "CPUID page"; QEMU target/i386/sev.c `SnpCpuidInfo`):
//! header `u32 count, u32 rsvd, u64 rsvd`, then up to 64 entries of 48 bytes
//! at 0x10: `u32 eax_in, u32 ecx_in, u64 xcr0_in, u64 xss_in, u32 eax, ebx,
//! ecx, edx, u64 rsvd`.

use crate::SnpError;

pub const CPUID_PAGE_SIZE: usize = 4096;
pub const MAX_ENTRIES: u32 = 64;
const HEADER_SIZE: usize = 0x10;
const ENTRY_SIZE: usize = 48;

/// Lowest acceptable C-bit: it must lie above the 4 GiB the early code maps.
pub const C_BIT_MIN: u32 = 32;
/// Highest acceptable C-bit: bits 52+ are not physical-address bits.
pub const C_BIT_MAX: u32 = 51;

/// One entry of the CPUID page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuidEntry {
    pub eax_in: u32,
    pub ecx_in: u32,
    pub xcr0_in: u64,
    pub xss_in: u64,
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

impl CpuidEntry {
    fn parse(b: &[u8]) -> Option<Self> {
        Some(Self {
            eax_in: u32_at(b, 0)?,
            ecx_in: u32_at(b, 4)?,
            xcr0_in: u64_at(b, 8)?,
            xss_in: u64_at(b, 16)?,
            eax: u32_at(b, 24)?,
            ebx: u32_at(b, 28)?,
            ecx: u32_at(b, 32)?,
            edx: u32_at(b, 36)?,
        })
    }
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// A parsed view of the CPUID page.
#[derive(Debug, Clone, Copy)]
pub struct CpuidPage<'a> {
    page: &'a [u8; CPUID_PAGE_SIZE],
    count: u32,
}

impl<'a> CpuidPage<'a> {
    /// Checks the header: 1..=64 entries.
    pub fn parse(page: &'a [u8; CPUID_PAGE_SIZE]) -> Result<Self, SnpError> {
        let count = u32_at(page, 0).unwrap_or(0);
        if count == 0 {
            return Err(SnpError::CpuidPageEmpty);
        }
        if count > MAX_ENTRIES {
            return Err(SnpError::CpuidPageCountTooLarge { count });
        }
        Ok(Self { page, count })
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// The valid entries, in page order.
    pub fn entries(&self) -> impl Iterator<Item = CpuidEntry> + 'a {
        let page = self.page;
        (0..self.count as usize).filter_map(move |i| {
            let off = HEADER_SIZE + i * ENTRY_SIZE;
            CpuidEntry::parse(page.get(off..off + ENTRY_SIZE)?)
        })
    }

    /// Entry for (leaf, subleaf), matching both exactly. For leaf 0xD
    /// subleaves 0 and 1 use [`Self::lookup_xsave`], whose answers depend on
    /// XCR0/XSS; this function refuses them so no wrong XSAVE size is used.
    pub fn lookup(&self, leaf: u32, subleaf: u32) -> Result<CpuidEntry, SnpError> {
        if leaf == 0xD && subleaf <= 1 {
            return Err(SnpError::InvalidArgument {
                what: "CPUID 0xD subleaf 0/1 needs lookup_xsave",
                value: subleaf as u64,
            });
        }
        self.entries()
            .find(|e| e.eax_in == leaf && e.ecx_in == subleaf)
            .ok_or(SnpError::CpuidLeafMissing { leaf, subleaf })
    }

    /// Leaf 0xD lookup. Subleaves 0 and 1 report XSAVE area sizes for the
    /// features enabled in XCR0 (and XSS), so they also match `xcr0_in`/`xss_in`
    /// (QEMU writes xcr0_in = 1 for them); other subleaves match like `lookup`.
    pub fn lookup_xsave(&self, subleaf: u32, xcr0: u64, xss: u64) -> Result<CpuidEntry, SnpError> {
        self.entries()
            .find(|e| {
                e.eax_in == 0xD
                    && e.ecx_in == subleaf
                    && (subleaf > 1 || (e.xcr0_in == xcr0 && e.xss_in == xss))
            })
            .ok_or(SnpError::CpuidLeafMissing { leaf: 0xD, subleaf })
    }

    /// C-bit position from leaf 0x8000_001F EBX[5:0], required in 32..=51.
    pub fn c_bit_position(&self) -> Result<u32, SnpError> {
        let e = self.lookup(crate::sev_status::CPUID_LEAF_MEM_ENCRYPT, 0)?;
        check_c_bit(e.ebx & 0x3F)
    }
}

/// Range check for a C-bit position from any source.
pub fn check_c_bit(position: u32) -> Result<u32, SnpError> {
    if (C_BIT_MIN..=C_BIT_MAX).contains(&position) {
        Ok(position)
    } else {
        Err(SnpError::CBitOutOfRange { position })
    }
}

/// Builds a CPUID page image (tests, mock and tools).
pub fn build_page(entries: &[CpuidEntry]) -> [u8; CPUID_PAGE_SIZE] {
    let mut page = [0u8; CPUID_PAGE_SIZE];
    let n = entries.len().min(MAX_ENTRIES as usize);
    page[0..4].copy_from_slice(&(n as u32).to_le_bytes());
    for (i, e) in entries.iter().take(n).enumerate() {
        let off = HEADER_SIZE + i * ENTRY_SIZE;
        let b = &mut page[off..off + ENTRY_SIZE];
        b[0..4].copy_from_slice(&e.eax_in.to_le_bytes());
        b[4..8].copy_from_slice(&e.ecx_in.to_le_bytes());
        b[8..16].copy_from_slice(&e.xcr0_in.to_le_bytes());
        b[16..24].copy_from_slice(&e.xss_in.to_le_bytes());
        b[24..28].copy_from_slice(&e.eax.to_le_bytes());
        b[28..32].copy_from_slice(&e.ebx.to_le_bytes());
        b[32..36].copy_from_slice(&e.ecx.to_le_bytes());
        b[36..40].copy_from_slice(&e.edx.to_le_bytes());
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(leaf: u32, sub: u32, ebx: u32) -> CpuidEntry {
        CpuidEntry {
            eax_in: leaf,
            ecx_in: sub,
            xcr0_in: 0,
            xss_in: 0,
            eax: 0x1000 + leaf,
            ebx,
            ecx: 0x3,
            edx: 0x4,
        }
    }

    fn page_with_cbit(ebx: u32) -> [u8; CPUID_PAGE_SIZE] {
        build_page(&[entry(0, 0, 0x6874_7541), entry(0x8000_001F, 0, ebx)])
    }

    #[test]
    fn parse_layout_offsets() {
        let mut page = [0u8; CPUID_PAGE_SIZE];
        page[0] = 2;
        // Entry 1 at 0x10 + 48 = 0x40: eax_in, ecx_in, ..., ebx at +28.
        page[0x40..0x44].copy_from_slice(&0x8000_001Fu32.to_le_bytes());
        page[0x40 + 28..0x40 + 32].copy_from_slice(&0x0000_0173u32.to_le_bytes());
        let p = CpuidPage::parse(&page).unwrap();
        assert_eq!(p.count(), 2);
        let e = p.lookup(0x8000_001F, 0).unwrap();
        assert_eq!(e.ebx, 0x173);
        assert_eq!(p.c_bit_position(), Ok(51)); // 0x173 & 0x3f = 0x33 = 51
    }

    #[test]
    fn empty_and_too_large() {
        let page = [0u8; CPUID_PAGE_SIZE];
        assert_eq!(
            CpuidPage::parse(&page).unwrap_err(),
            SnpError::CpuidPageEmpty
        );
        let mut page = [0u8; CPUID_PAGE_SIZE];
        page[0..4].copy_from_slice(&65u32.to_le_bytes());
        assert_eq!(
            CpuidPage::parse(&page).unwrap_err(),
            SnpError::CpuidPageCountTooLarge { count: 65 }
        );
        page[0..4].copy_from_slice(&64u32.to_le_bytes());
        assert!(CpuidPage::parse(&page).is_ok());
    }

    #[test]
    fn entries_beyond_count_are_ignored() {
        let mut page = build_page(&[entry(1, 0, 0), entry(0x8000_001F, 0, 51)]);
        page[0..4].copy_from_slice(&1u32.to_le_bytes());
        let p = CpuidPage::parse(&page).unwrap();
        assert_eq!(
            p.c_bit_position(),
            Err(SnpError::CpuidLeafMissing {
                leaf: 0x8000_001F,
                subleaf: 0
            })
        );
    }

    #[test]
    fn c_bit_edges() {
        for (ebx, want) in [
            (31, Err(SnpError::CBitOutOfRange { position: 31 })),
            (32, Ok(32)),
            (47, Ok(47)),
            (51, Ok(51)),
            (52, Err(SnpError::CBitOutOfRange { position: 52 })),
            // Only EBX[5:0] counts: 0x40 | 51 is still 51.
            (0xFFFF_FF40 | 51, Ok(51)),
            (0, Err(SnpError::CBitOutOfRange { position: 0 })),
        ] {
            let page = page_with_cbit(ebx);
            let p = CpuidPage::parse(&page).unwrap();
            assert_eq!(p.c_bit_position(), want, "ebx {ebx:#x}");
        }
    }

    #[test]
    fn subleaf_and_xsave_matching() {
        let mut d0 = entry(0xD, 0, 0x240);
        d0.xcr0_in = 1;
        let mut d0_avx = entry(0xD, 0, 0x340);
        d0_avx.xcr0_in = 0x7;
        let e7_1 = entry(7, 1, 0x77);
        let page = build_page(&[entry(7, 0, 0x70), e7_1, d0, d0_avx, entry(0xD, 2, 0x100)]);
        let p = CpuidPage::parse(&page).unwrap();
        assert_eq!(p.lookup(7, 1).unwrap().ebx, 0x77);
        assert_eq!(p.lookup(7, 0).unwrap().ebx, 0x70);
        assert!(matches!(
            p.lookup(7, 2),
            Err(SnpError::CpuidLeafMissing {
                leaf: 7,
                subleaf: 2
            })
        ));
        assert!(matches!(
            p.lookup(0xD, 0),
            Err(SnpError::InvalidArgument { .. })
        ));
        assert_eq!(p.lookup_xsave(0, 1, 0).unwrap().ebx, 0x240);
        assert_eq!(p.lookup_xsave(0, 7, 0).unwrap().ebx, 0x340);
        assert!(p.lookup_xsave(0, 3, 0).is_err());
        assert!(p.lookup_xsave(0, 1, 0x100).is_err());
        assert_eq!(p.lookup_xsave(2, 0x7, 0).unwrap().ebx, 0x100);
        assert_eq!(p.lookup(0xD, 2).unwrap().ebx, 0x100);
    }
}
