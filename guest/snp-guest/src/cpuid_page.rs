//! The SNP CPUID page (ASEV section type 3), filled by QEMU and checked by
//! the AMD-SP at launch, so its values are trusted unlike hypervisor CPUID.
//!
//! Layout (SNP ABI "CPUID page"; QEMU target/i386/sev.c `SnpCpuidInfo`):
//! header `u32 count, u32 rsvd, u64 rsvd`, then up to 64 entries of 48 bytes
//! at 0x10: `u32 eax_in, u32 ecx_in, u64 xcr0_in, u64 xss_in, u32 eax, ebx,
//! ecx, edx, u64 rsvd`.
//!
//! # Answering CPUID: [`CpuidPage::answer`]
//!
//! The page is a template taken at launch (QEMU fills it from KVM_GET_CPUID2 with
//! CR4 = 0 and XCR0 = 1), so some values describe the vCPU's state then, not now.
//! `answer` fixes them up the way Linux's `snp_cpuid_postprocess` does, from state
//! the guest itself holds ([`CpuidContext`]), and never asks the hypervisor:
//!
//! - lookup: leaf and subleaf must match for indexed leaves (4, 7, 0xB, 0xD, 0xF,
//!   0x10, 0x12, 0x14, 0x17, 0x18, 0x1D, 0x1E, 0x1F, 0x24, 0x8000_001D, as Linux's
//!   `cpuid_function_is_indexed`), the leaf alone otherwise; for 0xD subleaves 0/1
//!   only the base entry (xcr0_in 1 or 3, xss_in 0) is used;
//! - a leaf the page lacks reads as zeros. Inside a valid range (standard up to leaf
//!   0 EAX, hypervisor 0x4000_0000 up to its EAX, extended 0x8000_0000 up to its EAX)
//!   the zeros are then post-processed like a present entry; outside every range
//!   they are returned as they are. Hypervisors leave all-zero leaves out of the
//!   page, and a leaf the AMD-SP did not check must not be taken from the host;
//! - leaf 1: ECX bit 27 (OSXSAVE) = CR4.OSXSAVE; `EBX[31:24]` = the APIC ID;
//! - leaf 7, every subleaf (Linux's `case 0x7`): ECX bit 4 (OSPKE) = CR4.PKE;
//! - leaf 0xD subleaves 0 and 1: EBX = the XSAVE area size for the XCR0 in use
//!   (XCR0 = 1 while CR4.OSXSAVE is clear) and, for subleaf 1 (compacted form),
//!   XCR0 | XSS; computed from the page's subleaf >= 2 entries as Linux's
//!   `snp_cpuid_calc_xsave_size` does (base 0x240; standard form: the largest
//!   offset + size, compacted: the sum of sizes). A state component enabled but
//!   absent from the page, or subleaf 1 without XSAVEC/XSAVES, is an error;
//! - leaves 0xB and 0x1F: EDX = the x2APIC ID; 0x8000_001E: EAX = the APIC ID.
//!
//! Where this deliberately differs from Linux: Linux asks the hypervisor for
//! the per-vCPU values (leaf 1 `EBX[31:24]` and EDX bit 9 "APIC enabled", 0xB
//! EDX, 0x8000_001E EAX, `EBX[7:0]` compute-unit ID and `ECX[7:0]` node ID),
//! because one page serves every vCPU. This kernel runs one vCPU (APIC ID 0,
//! the one QEMU built the page for) and never asks the hypervisor: the APIC
//! IDs come from [`CpuidContext::apic_id`]; leaf 1 EDX bit 9 keeps the page's
//! launch value (IA32_APIC_BASE.EN is set at reset and the kernel never
//! writes that MSR); 0x8000_001E EBX and ECX keep the page's values, which
//! describe the boot vCPU's compute unit and node. Linux only sets OSXSAVE
//! when CR4 has it; here a page claiming it while CR4 does not is also
//! corrected. Linux fixes EDX of 0xB only; 0x1F EDX is the same x2APIC ID
//! field and is fixed here too.

use crate::sev_status::CPUID_LEAF_MEM_ENCRYPT;
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

    #[cfg(any(test, feature = "mock"))]
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

    /// Entry for (leaf, subleaf), matching both exactly.
    fn exact(&self, leaf: u32, subleaf: u32) -> Result<CpuidEntry, SnpError> {
        self.entries()
            .find(|e| e.eax_in == leaf && e.ecx_in == subleaf)
            .ok_or(SnpError::CpuidLeafMissing { leaf, subleaf })
    }

    /// Entry for (leaf, subleaf), matching both exactly (the tests' view;
    /// the guest reads leaf 0x8000_001F only). Leaf 0xD subleaves 0 and 1
    /// report XSAVE sizes that depend on XCR0/XSS, which [`Self::answer`]
    /// computes; this function refuses them so no wrong XSAVE size is used.
    #[cfg(test)]
    pub fn lookup(&self, leaf: u32, subleaf: u32) -> Result<CpuidEntry, SnpError> {
        if leaf == 0xD && subleaf <= 1 {
            return Err(SnpError::InvalidArgument {
                what: "CPUID 0xD subleaf 0/1 is computed from XCR0, not looked up",
                value: subleaf as u64,
            });
        }
        self.exact(leaf, subleaf)
    }

    /// Leaf 0xD lookup. Subleaves 0 and 1 report XSAVE area sizes for the
    /// features enabled in XCR0 (and XSS), so they also match `xcr0_in`/`xss_in`
    /// (QEMU writes xcr0_in = 1 for them); other subleaves match like `lookup`.
    #[cfg(any(test, feature = "mock"))]
    pub fn lookup_xsave(&self, subleaf: u32, xcr0: u64, xss: u64) -> Result<CpuidEntry, SnpError> {
        self.entries()
            .find(|e| {
                e.eax_in == 0xD
                    && e.ecx_in == subleaf
                    && (subleaf > 1 || (e.xcr0_in == xcr0 && e.xss_in == xss))
            })
            .ok_or(SnpError::CpuidLeafMissing { leaf: 0xD, subleaf })
    }

    /// C-bit position from leaf 0x8000_001F `EBX[5:0]`, required in 32..=51.
    pub fn c_bit_position(&self) -> Result<u32, SnpError> {
        check_c_bit(self.exact(CPUID_LEAF_MEM_ENCRYPT, 0)?.ebx & 0x3F)
    }

    /// Leaf 0x8000_001F `EBX[31]`, COHERENCY_SFW_NO: the CPU needs no cache
    /// eviction after PVALIDATE (Linux `X86_FEATURE_COHERENCY_SFW_NO`, read
    /// the same way in arch/x86/boot/cpuflags.c). A page without the leaf
    /// reads false, so the mitigation stays on.
    pub fn coherency_sfw_no(&self) -> bool {
        self.exact(CPUID_LEAF_MEM_ENCRYPT, 0)
            .is_ok_and(|e| e.ebx & LEAF_8000001F_EBX_COHERENCY_SFW_NO != 0)
    }
}

/// The guest state CPUID answers depend on, as the guest itself holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuidContext {
    /// CR4.OSXSAVE (bit 18).
    pub cr4_osxsave: bool,
    /// CR4.PKE (bit 22).
    pub cr4_pke: bool,
    /// XCR0 as loaded (used only while `cr4_osxsave`; XCR0 reads 1 before).
    pub xcr0: u64,
    /// IA32_XSS as loaded (leaf 0xD subleaf 1 only).
    pub xss: u64,
    /// This vCPU's (x2)APIC ID.
    pub apic_id: u32,
}

/// The four output registers of CPUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuidRegs {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

#[cfg(test)]
impl CpuidRegs {
    /// `[eax, ebx, ecx, edx]`.
    pub fn to_array(self) -> [u32; 4] {
        [self.eax, self.ebx, self.ecx, self.edx]
    }
}

/// Leaves whose answer depends on ECX (Linux `cpuid_function_is_indexed`).
fn is_indexed(leaf: u32) -> bool {
    matches!(
        leaf,
        0x4 | 0x7 | 0xB | 0xD | 0xF | 0x10 | 0x12 | 0x14 | 0x17 | 0x18 | 0x1D | 0x1E | 0x1F | 0x24
    ) || leaf == 0x8000_001D
}

const XSAVE_LEGACY_SIZE: u32 = 0x240;
const LEAF1_ECX_OSXSAVE: u32 = 1 << 27;
const LEAF7_ECX_OSPKE: u32 = 1 << 4;
const LEAF_8000001F_EBX_COHERENCY_SFW_NO: u32 = 1 << 31;
/// Leaf 0xD subleaf 1 EAX: XSAVEC (bit 1) or XSAVES (bit 3), the compacted forms.
const XSAVE_COMPACTING: u32 = (1 << 1) | (1 << 3);

impl CpuidPage<'_> {
    /// CPUID(`leaf`, `subleaf`) as this vCPU would answer it now: the page's entry
    /// (or zeros), post-processed with `ctx` (rules in the module doc). The
    /// hypervisor is never consulted.
    pub fn answer(
        &self,
        leaf: u32,
        subleaf: u32,
        ctx: &CpuidContext,
    ) -> Result<CpuidRegs, SnpError> {
        let mut r = match self.find(leaf, subleaf) {
            Some(e) => CpuidRegs {
                eax: e.eax,
                ebx: e.ebx,
                ecx: e.ecx,
                edx: e.edx,
            },
            None if self.in_range(leaf) => CpuidRegs::default(),
            None => return Ok(CpuidRegs::default()),
        };
        match leaf {
            0x1 => {
                r.ebx = (r.ebx & 0x00FF_FFFF) | ((ctx.apic_id & 0xFF) << 24);
                r.ecx &= !LEAF1_ECX_OSXSAVE;
                if ctx.cr4_osxsave {
                    r.ecx |= LEAF1_ECX_OSXSAVE;
                }
            }
            // Every subleaf, as Linux's `case 0x7` (subleaves above 0 have
            // no OSPKE; Linux sets the bit there too when CR4.PKE is set).
            0x7 => {
                r.ecx &= !LEAF7_ECX_OSPKE;
                if ctx.cr4_pke {
                    r.ecx |= LEAF7_ECX_OSPKE;
                }
            }
            0xB | 0x1F => r.edx = ctx.apic_id,
            0xD if subleaf <= 1 => {
                let xcr0 = if ctx.cr4_osxsave { ctx.xcr0 } else { 1 };
                r.ebx = if subleaf == 0 {
                    self.xsave_size(xcr0, false)?
                } else {
                    if r.eax & XSAVE_COMPACTING == 0 {
                        return Err(SnpError::CpuidXsaveSize {
                            xfeatures: xcr0 | ctx.xss,
                        });
                    }
                    self.xsave_size(xcr0 | ctx.xss, true)?
                };
            }
            0x8000_001E => r.eax = ctx.apic_id,
            _ => {}
        }
        Ok(r)
    }

    /// The entry `answer` starts from (see the lookup rule in the module doc).
    fn find(&self, leaf: u32, subleaf: u32) -> Option<CpuidEntry> {
        self.entries().find(|e| {
            e.eax_in == leaf
                && (!is_indexed(leaf) || e.ecx_in == subleaf)
                && (leaf != 0xD
                    || subleaf > 1
                    || ((e.xcr0_in == 1 || e.xcr0_in == 3) && e.xss_in == 0))
        })
    }

    /// Whether `leaf` lies in the standard, hypervisor or extended range the page declares.
    fn in_range(&self, leaf: u32) -> bool {
        let max = |base: u32| self.find(base, 0).map(|e| e.eax);
        let within = |base: u32| max(base).is_some_and(|m| leaf >= base && leaf <= m);
        within(0) || within(0x4000_0000) || within(0x8000_0000)
    }

    /// XSAVE area size for the state components in `xfeatures` (Linux
    /// `snp_cpuid_calc_xsave_size`).
    fn xsave_size(&self, xfeatures: u64, compacted: bool) -> Result<u32, SnpError> {
        let err = SnpError::CpuidXsaveSize { xfeatures };
        let mut found = 0u64;
        let mut size = XSAVE_LEGACY_SIZE;
        for e in self.entries() {
            if e.eax_in != 0xD || e.ecx_in <= 1 || e.ecx_in >= 64 {
                continue;
            }
            let bit = 1u64 << e.ecx_in;
            if xfeatures & bit == 0 || found & bit != 0 {
                continue;
            }
            found |= bit;
            size = if compacted {
                size.checked_add(e.eax).ok_or(err)?
            } else {
                size.max(e.eax.checked_add(e.ebx).ok_or(err)?)
            };
        }
        // Every enabled component beyond x87/SSE must have its entry.
        if found != xfeatures & !0b11 {
            return Err(err);
        }
        Ok(size)
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

/// Builds a CPUID page image (the known-answer tests).
#[cfg(test)]
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

    // Post-processing rules ([`CpuidPage::answer`]). Sizes and offsets are the SDM
    // vol. 1 table 13-1 values: AVX 0x100 at 0x240, opmask 0x40 at 0x440,
    // ZMM_Hi256 0x200 at 0x480, Hi16_ZMM 0x400 at 0x680.

    fn regs(leaf: u32, sub: u32, r: [u32; 4]) -> CpuidEntry {
        CpuidEntry {
            eax_in: leaf,
            ecx_in: sub,
            xcr0_in: 0,
            xss_in: 0,
            eax: r[0],
            ebx: r[1],
            ecx: r[2],
            edx: r[3],
        }
    }

    /// A page shaped like QEMU's: 0xD subleaves 0/1 at xcr0_in = 1 with EBX 0x240.
    fn avx512_page() -> [u8; CPUID_PAGE_SIZE] {
        let mut d0 = regs(0xD, 0, [0xE7, 0x240, 0xA80, 0]);
        d0.xcr0_in = 1;
        let mut d1 = regs(0xD, 1, [0xF, 0x240, 0, 0]);
        d1.xcr0_in = 1;
        build_page(&[
            regs(0, 0, [0xD, 0x6874_7541, 0x444D_4163, 0x6974_6E65]),
            regs(1, 0, [0x00A1_0F10, 0x0000_0800, 0x1600_1000, 0x078B_FBFF]),
            regs(7, 0, [1, 0xF1BF_07A9, 0x0041_5F5E, 0x10]),
            d0,
            d1,
            regs(0xD, 2, [0x100, 0x240, 0, 0]),
            regs(0xD, 5, [0x40, 0x440, 0, 0]),
            regs(0xD, 6, [0x200, 0x480, 0, 0]),
            regs(0xD, 7, [0x400, 0x680, 0, 0]),
            regs(0x8000_0000, 0, [0x8000_001F, 0, 0, 0]),
            regs(0x8000_001E, 0, [0xAA, 0x0101, 0x0202, 0]),
            regs(0x8000_001F, 0, [0x1A, 0x73, 0, 0]),
        ])
    }

    fn ctx(osxsave: bool, xcr0: u64) -> CpuidContext {
        CpuidContext {
            cr4_osxsave: osxsave,
            xcr0,
            ..CpuidContext::default()
        }
    }

    #[test]
    fn xsave_sizes_follow_xcr0() {
        let page = avx512_page();
        let p = CpuidPage::parse(&page).unwrap();
        let d = |sub, c: &CpuidContext| p.answer(0xD, sub, c).unwrap();
        // CR4.OSXSAVE clear: XCR0 reads 1 whatever the context says.
        assert_eq!(d(0, &ctx(false, 0xE7)).ebx, 0x240);
        // XCR0 = 0x7: standard 0x240 + 0x100; compacted the same.
        assert_eq!(d(0, &ctx(true, 0x7)).ebx, 0x340);
        assert_eq!(d(1, &ctx(true, 0x7)).ebx, 0x340);
        // XCR0 = 0xE7: standard = end of Hi16_ZMM 0x680 + 0x400; compacted =
        // 0x240 + 0x100 + 0x40 + 0x200 + 0x400.
        assert_eq!(d(0, &ctx(true, 0xE7)).ebx, 0xA80);
        assert_eq!(d(1, &ctx(true, 0xE7)).ebx, 0x980);
        // Only EBX changes; the supported mask stays the page's.
        assert_eq!(d(0, &ctx(true, 0xE7)).eax, 0xE7);
        assert_eq!(d(0, &ctx(true, 0xE7)).ecx, 0xA80);
        // Subleaves >= 2 come from the page as they are.
        assert_eq!(p.answer(0xD, 6, &ctx(true, 0x7)).unwrap().ebx, 0x480);
    }

    #[test]
    fn xsave_component_without_entry_is_an_error() {
        let page = avx512_page();
        let p = CpuidPage::parse(&page).unwrap();
        // PKRU (bit 9) has no subleaf in this page.
        assert_eq!(
            p.answer(0xD, 0, &ctx(true, 0x207)),
            Err(SnpError::CpuidXsaveSize { xfeatures: 0x207 })
        );
        // XSS bits count for subleaf 1 only.
        let mut c = ctx(true, 0x7);
        c.xss = 1 << 11;
        assert_eq!(p.answer(0xD, 0, &c).unwrap().ebx, 0x340);
        assert_eq!(
            p.answer(0xD, 1, &c),
            Err(SnpError::CpuidXsaveSize { xfeatures: 0x807 })
        );
    }

    #[test]
    fn xsave_compacted_size_needs_xsavec_or_xsaves() {
        let mut d1 = regs(0xD, 1, [0x1, 0x240, 0, 0]); // XSAVEOPT only
        d1.xcr0_in = 1;
        let page = build_page(&[regs(0, 0, [0xD, 0, 0, 0]), d1]);
        let p = CpuidPage::parse(&page).unwrap();
        assert!(p.answer(0xD, 1, &ctx(true, 0x3)).is_err());
    }

    #[test]
    fn xsave_base_entry_is_the_xcr0_1_one() {
        // A hypervisor-supplied variant for XCR0 = 7 with a wrong size is ignored;
        // the size is computed, not looked up.
        let mut d0 = regs(0xD, 0, [0x7, 0x240, 0x340, 0]);
        d0.xcr0_in = 1;
        let mut d0_wrong = regs(0xD, 0, [0x7, 0x9999, 0x340, 0]);
        d0_wrong.xcr0_in = 7;
        let page = build_page(&[
            regs(0, 0, [0xD, 0, 0, 0]),
            d0_wrong,
            d0,
            regs(0xD, 2, [0x100, 0x240, 0, 0]),
        ]);
        let p = CpuidPage::parse(&page).unwrap();
        assert_eq!(p.answer(0xD, 0, &ctx(true, 0x7)).unwrap().ebx, 0x340);
        assert_eq!(p.answer(0xD, 0, &ctx(true, 0x7)).unwrap().ecx, 0x340);
    }

    #[test]
    fn osxsave_follows_cr4() {
        let page = avx512_page();
        let p = CpuidPage::parse(&page).unwrap();
        let ecx = |c: &CpuidContext| p.answer(1, 0, c).unwrap().ecx;
        assert_eq!(ecx(&ctx(false, 1)) & (1 << 27), 0);
        assert_eq!(ecx(&ctx(true, 0x7)) & (1 << 27), 1 << 27);
        // Other bits untouched (AVX 28, XSAVE 26, FMA 12).
        assert_eq!(ecx(&ctx(true, 0x7)), 0x1600_1000 | (1 << 27));
        // A page claiming OSXSAVE while CR4 has it clear is corrected too.
        let page = build_page(&[regs(0, 0, [1, 0, 0, 0]), regs(1, 0, [0, 0, 1 << 27, 0])]);
        let p = CpuidPage::parse(&page).unwrap();
        assert_eq!(p.answer(1, 0, &ctx(false, 1)).unwrap().ecx, 0);
    }

    #[test]
    fn ospke_follows_cr4() {
        let page = avx512_page();
        let p = CpuidPage::parse(&page).unwrap();
        let mut c = ctx(true, 0x7);
        assert_eq!(p.answer(7, 0, &c).unwrap().ecx, 0x0041_5F4E);
        c.cr4_pke = true;
        assert_eq!(p.answer(7, 0, &c).unwrap().ecx, 0x0041_5F5E);
    }

    #[test]
    fn ospke_follows_cr4_in_every_subleaf() {
        // Linux `snp_cpuid_postprocess` case 0x7: no subleaf test.
        let page = build_page(&[
            regs(0, 0, [0xD, 0, 0, 0]),
            regs(7, 0, [1, 0, 0x0041_5F5E, 0]),
            regs(7, 1, [0, 0, 0x30, 0]),
        ]);
        let p = CpuidPage::parse(&page).unwrap();
        let mut c = ctx(true, 0x7);
        let ecx = |sub, c: &CpuidContext| p.answer(7, sub, c).unwrap().ecx;
        assert_eq!(ecx(0, &c), 0x0041_5F4E);
        assert_eq!(ecx(1, &c), 0x20);
        assert_eq!(ecx(2, &c), 0);
        c.cr4_pke = true;
        assert_eq!(ecx(0, &c), 0x0041_5F5E);
        assert_eq!(ecx(1, &c), 0x30);
        // Absent but inside the standard range: zeros, then post-processed.
        assert_eq!(ecx(2, &c), 0x10);
    }

    #[test]
    fn coherency_sfw_no_is_leaf_8000001f_ebx_bit_31() {
        let with = |ebx| build_page(&[entry(0x8000_001F, 0, ebx)]);
        let page = with(0x73);
        assert!(!CpuidPage::parse(&page).unwrap().coherency_sfw_no());
        let page = with(0x8000_0073);
        assert!(CpuidPage::parse(&page).unwrap().coherency_sfw_no());
        // No leaf: the mitigation stays on.
        let page = build_page(&[entry(0, 0, 0x6874_7541)]);
        assert!(!CpuidPage::parse(&page).unwrap().coherency_sfw_no());
    }

    #[test]
    fn apic_ids_come_from_the_context() {
        let page = avx512_page();
        let p = CpuidPage::parse(&page).unwrap();
        let mut c = ctx(false, 1);
        c.apic_id = 0x1_0203;
        let l1 = p.answer(1, 0, &c).unwrap();
        // EBX[31:24] = low 8 bits of the APIC ID; CLFLUSH size etc. kept.
        assert_eq!(l1.ebx, 0x0300_0800);
        // 0xB and 0x1F are absent but inside the standard range (max 0xD for 0xB):
        // zeros, then EDX = x2APIC ID.
        assert_eq!(
            p.answer(0xB, 0, &c).unwrap(),
            CpuidRegs {
                eax: 0,
                ebx: 0,
                ecx: 0,
                edx: 0x1_0203
            }
        );
        let e = p.answer(0x8000_001E, 0, &c).unwrap();
        assert_eq!((e.eax, e.ebx, e.ecx), (0x1_0203, 0x0101, 0x0202));
    }

    #[test]
    fn absent_leaves_read_zero_and_never_reach_the_host() {
        let page = avx512_page();
        let p = CpuidPage::parse(&page).unwrap();
        let c = ctx(true, 0x7);
        let zero = CpuidRegs::default();
        // In range, absent: zeros (leaf 5, extended 0x8000_0008).
        assert_eq!(p.answer(5, 0, &c), Ok(zero));
        assert_eq!(p.answer(0x8000_0008, 0, &c), Ok(zero));
        // Out of every range: zeros, and no post-processing (0x1F above max 0xD).
        assert_eq!(p.answer(0x1F, 0, &c), Ok(zero));
        assert_eq!(p.answer(0x8000_0020, 0, &c), Ok(zero));
        assert_eq!(p.answer(0x4000_0000, 0, &c), Ok(zero));
        assert_eq!(p.answer(0xC000_0000, 0, &c), Ok(zero));
        // An indexed leaf with a subleaf the page lacks.
        assert_eq!(p.answer(7, 3, &c), Ok(zero));
        // A non-indexed leaf answers whatever ECX says.
        assert_eq!(p.answer(0x8000_001F, 9, &c).unwrap().ebx, 0x73);
    }
}
