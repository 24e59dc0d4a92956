//! Initial VMSA (SEV-ES save area) of a vCPU as QEMU + KVM (host >= 6.10)
//! set it up, per sev-snp-measure's `build_save_area` for VMM type QEMU.

use crate::bytes::put;
use crate::page_info::PAGE_SIZE;

/// Where the BSP starts: the reset vector 16 bytes below 4 GiB.
pub const BSP_EIP: u32 = 0xFFFF_FFF0;

/// Field offsets in the save area (AMD APM vol. 2, table B-4).
mod off {
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
    pub const EFER: usize = 0x0D0;
    pub const CR4: usize = 0x148;
    pub const CR0: usize = 0x158;
    pub const DR7: usize = 0x160;
    pub const DR6: usize = 0x168;
    pub const RFLAGS: usize = 0x170;
    pub const RIP: usize = 0x178;
    pub const G_PAT: usize = 0x268;
    pub const RDX: usize = 0x310;
    pub const SEV_FEATURES: usize = 0x3B0;
    pub const XCR0: usize = 0x3E8;
    pub const MXCSR: usize = 0x408;
    pub const X87_FCW: usize = 0x410;
}

/// Writes a VMCB segment: u16 selector, u16 attributes, u32 limit, u64 base.
fn put_segment(page: &mut [u8], at: usize, selector: u16, attrib: u16, base: u64) {
    put(page, at, &selector.to_le_bytes());
    put(page, at + 2, &attrib.to_le_bytes());
    put(page, at + 4, &0xFFFFu32.to_le_bytes());
    put(page, at + 8, &base.to_le_bytes());
}

/// The 4 KiB VMSA of a vCPU that starts at `eip` in real mode
/// (CS.base = eip & 0xFFFF0000, IP = eip & 0xFFFF, as QEMU sets for APs).
pub fn build(eip: u32, vcpu_signature: u32, sev_features: u64) -> [u8; PAGE_SIZE] {
    let mut p = [0u8; PAGE_SIZE];
    let data = 0x93; // present, writable, accessed data segment
    put_segment(&mut p, off::ES, 0, data, 0);
    put_segment(&mut p, off::CS, 0xF000, 0x9B, u64::from(eip & 0xFFFF_0000));
    for at in [off::SS, off::DS, off::FS, off::GS] {
        put_segment(&mut p, at, 0, data, 0);
    }
    put_segment(&mut p, off::GDTR, 0, 0, 0);
    put_segment(&mut p, off::LDTR, 0, 0x82, 0);
    put_segment(&mut p, off::IDTR, 0, 0, 0);
    put_segment(&mut p, off::TR, 0, 0x8B, 0);
    let qwords: [(usize, u64); 11] = [
        (off::EFER, 0x1000), // KVM sets EFER.SVME
        (off::CR4, 0x40),    // KVM sets CR4.MCE
        (off::CR0, 0x10),
        (off::DR7, 0x400),
        (off::DR6, 0xFFFF_0FF0),
        (off::RFLAGS, 0x2),
        (off::RIP, u64::from(eip & 0xFFFF)),
        (off::G_PAT, 0x0007_0406_0007_0406),
        // QEMU puts CPUID(1).EAX of the -cpu model in RDX at reset.
        (off::RDX, u64::from(vcpu_signature)),
        (off::SEV_FEATURES, sev_features),
        (off::XCR0, 0x1),
    ];
    for (at, value) in qwords {
        put(&mut p, at, &value.to_le_bytes());
    }
    put(&mut p, off::MXCSR, &0x1F80u32.to_le_bytes());
    put(&mut p, off::X87_FCW, &0x037Fu16.to_le_bytes());
    p
}
