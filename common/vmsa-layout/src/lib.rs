//! The VMSA (SEV-ES/SNP save area, one 4 KiB page) as one offset table,
//! shared by the two crates that write one: `snp-measure` (the launch
//! VMSAs QEMU measures, host) and `snp-guest` (the VMSA of an AP the guest
//! creates). Offsets from the AMD APM vol. 2 table B-4 "VMSA layout, state
//! save area for SEV-ES", checked against Linux `struct sev_es_save_area`
//! (arch/x86/include/asm/svm.h) field by field.
#![no_std]
#![forbid(unsafe_code)]

/// One VMSA page.
pub const VMSA_SIZE: usize = 4096;

/// Byte offsets of the fields in the page.
pub mod off {
    pub const ES: usize = 0x000;
    pub const CS: usize = 0x010;
    pub const SS: usize = 0x020;
    pub const DS: usize = 0x030;
    pub const FS: usize = 0x040;
    pub const GS: usize = 0x050;
    pub const GDTR: usize = 0x060;
    pub const LDTR: usize = 0x070;
    pub const IDTR: usize = 0x080;
    pub const TR: usize = 0x090;
    /// u8.
    pub const VMPL: usize = 0x0CA;
    pub const EFER: usize = 0x0D0;
    pub const CR4: usize = 0x148;
    pub const CR3: usize = 0x150;
    pub const CR0: usize = 0x158;
    pub const DR7: usize = 0x160;
    pub const DR6: usize = 0x168;
    pub const RFLAGS: usize = 0x170;
    pub const RIP: usize = 0x178;
    pub const RSP: usize = 0x1D8;
    pub const G_PAT: usize = 0x268;
    pub const RDX: usize = 0x310;
    pub const RDI: usize = 0x338;
    pub const SEV_FEATURES: usize = 0x3B0;
    pub const XCR0: usize = 0x3E8;
    /// u32.
    pub const MXCSR: usize = 0x408;
    /// u16.
    pub const X87_FCW: usize = 0x410;
}

/// A segment register in the VMCB's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub selector: u16,
    /// Descriptor bits 47:40 in attrib[7:0], bits 55:52 in attrib[11:8].
    pub attrib: u16,
    pub limit: u32,
    pub base: u64,
}

/// Writes `bytes` at `at`; offsets are constants inside the page, so an
/// out-of-range write cannot happen and is skipped rather than panicking.
pub fn put(page: &mut [u8; VMSA_SIZE], at: usize, bytes: &[u8]) {
    if let Some(dst) = page.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

pub fn put_u64(page: &mut [u8; VMSA_SIZE], at: usize, value: u64) {
    put(page, at, &value.to_le_bytes());
}

/// Writes a segment (u16 selector, u16 attributes, u32 limit, u64 base).
pub fn put_segment(page: &mut [u8; VMSA_SIZE], at: usize, s: Segment) {
    put(page, at, &s.selector.to_le_bytes());
    put(page, at + 2, &s.attrib.to_le_bytes());
    put(page, at + 4, &s.limit.to_le_bytes());
    put(page, at + 8, &s.base.to_le_bytes());
}
