//! Initial VMSA (SEV-ES save area) of a vCPU as QEMU + KVM (host >= 6.10)
//! set it up, per sev-snp-measure's `build_save_area` for VMM type QEMU.
//! Offsets from the shared table (`vmsa_layout`, AMD APM vol. 2 table B-4).

use crate::page_info::PAGE_SIZE;
use vmsa_layout::{off, put, put_segment, put_u64, Segment};

/// Where the BSP starts: the reset vector 16 bytes below 4 GiB.
pub const BSP_EIP: u32 = 0xFFFF_FFF0;

/// A real-mode segment with QEMU's reset limit.
fn segment(selector: u16, attrib: u16, base: u64) -> Segment {
    Segment {
        selector,
        attrib,
        limit: 0xFFFF,
        base,
    }
}

/// The 4 KiB VMSA of a vCPU that starts at `eip` in real mode
/// (CS.base = eip & 0xFFFF0000, IP = eip & 0xFFFF, as QEMU sets for APs).
pub fn build(eip: u32, vcpu_signature: u32, sev_features: u64) -> [u8; PAGE_SIZE] {
    let mut p = [0u8; PAGE_SIZE];
    let data = 0x93; // present, writable, accessed data segment
    put_segment(&mut p, off::ES, segment(0, data, 0));
    put_segment(
        &mut p,
        off::CS,
        segment(0xF000, 0x9B, u64::from(eip & 0xFFFF_0000)),
    );
    for at in [off::SS, off::DS, off::FS, off::GS] {
        put_segment(&mut p, at, segment(0, data, 0));
    }
    put_segment(&mut p, off::GDTR, segment(0, 0, 0));
    put_segment(&mut p, off::LDTR, segment(0, 0x82, 0));
    put_segment(&mut p, off::IDTR, segment(0, 0, 0));
    put_segment(&mut p, off::TR, segment(0, 0x8B, 0));
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
        put_u64(&mut p, at, value);
    }
    put(&mut p, off::MXCSR, &0x1F80u32.to_le_bytes());
    put(&mut p, off::X87_FCW, &0x037Fu16.to_le_bytes());
    p
}
