//! The VMSA of an AP that starts directly in 64-bit mode, and the rule for
//! the page that holds it.
//!
//! Under SEV-SNP the hypervisor cannot set a vCPU's registers: the guest
//! writes the AP's whole initial state into a page of its own memory, marks
//! it a VMSA page with RMPADJUST and names it in the AP creation NAE
//! ([`crate::ap_create`]). Linux's `wakeup_cpu_via_vmgexit` starts the AP in
//! real mode at its trampoline; this kernel has no real-mode path under SNP,
//! so the AP starts in long mode on its own stack at a Rust entry, with the
//! boot vCPU's paging, control registers, GDT and IDT (COCONUT-SVSM's AP
//! VMSAs take the same shape). Offsets come from the shared `vmsa_layout`
//! table (AMD APM vol. 2 table B-4), also used for the launch VMSAs.

use crate::{SnpError, PAGE_SIZE_2M, PAGE_SIZE_4K};
use vmsa_layout::{off, put, put_segment, put_u64, Segment, VMSA_SIZE};

/// RMPADJUST attributes: bit 16 marks the page a VMSA page.
pub const RMPADJUST_VMSA: u64 = 1 << 16;
/// RMPADJUST target VMPL 1: a VMPL0 guest may only adjust a less
/// privileged VMPL's permissions, and the VMSA bit is set only at VMPL0
/// (Linux `snp_set_vmsa`); at another VMPL this fails with FAIL_PERMISSION
/// instead of silently leaving the bit alone.
pub const RMPADJUST_TARGET_VMPL1: u64 = 1;

/// Segment attributes in the VMCB's 12-bit form (descriptor bits 47:40 and
/// 55:52): 64-bit code (P, S, execute/read, accessed, L, G).
pub const CODE64_ATTRIB: u16 = 0xA9B;
/// Data (P, S, read/write, accessed, D/B, G).
pub const DATA_ATTRIB: u16 = 0xC93;
/// A busy 64-bit TSS, present (the AP loads its own with LTR).
const TSS_ATTRIB: u16 = 0x8B;
/// An LDT, present, empty.
const LDT_ATTRIB: u16 = 0x82;
/// EFER.SVME: must be set in every VMSA (Linux `wakeup_cpu_via_vmgexit`).
pub const EFER_SVME: u64 = 1 << 12;

/// GDTR or IDTR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableRegister {
    pub base: u64,
    pub limit: u16,
}

/// The state an AP starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApState {
    pub cr0: u64,
    /// The page-table root (the C-bit is in the table entries).
    pub cr3: u64,
    pub cr4: u64,
    /// EFER.SVME is added if missing.
    pub efer: u64,
    pub pat: u64,
    pub xcr0: u64,
    pub gdt: TableRegister,
    pub idt: TableRegister,
    pub code_selector: u16,
    pub data_selector: u16,
    pub rip: u64,
    pub rsp: u64,
    /// First argument of the entry (System V): the AP's index.
    pub rdi: u64,
    /// Must equal the VM's VMSA features (KVM refuses the creation
    /// otherwise): SEV_STATUS >> 2, as Linux sets it.
    pub sev_features: u64,
}

/// The AP runs at VMPL 0, as this guest does: `ap_create` asks for VMPL 0
/// and marks the page with RMPADJUST for VMPL 1, which only VMPL 0 may do.
pub(crate) const AP_VMPL: u8 = 0;

impl ApState {
    /// The 4 KiB VMSA page. Fields not named are zero; DR6/DR7, RFLAGS,
    /// MXCSR and the x87 control word take their reset values (those of
    /// the launch VMSA, `snp-measure`).
    pub fn build(&self) -> [u8; VMSA_SIZE] {
        let mut p = [0u8; VMSA_SIZE];
        let flat = |selector, attrib| Segment {
            selector,
            attrib,
            limit: 0xFFFF_FFFF,
            base: 0,
        };
        put_segment(&mut p, off::CS, flat(self.code_selector, CODE64_ATTRIB));
        for at in [off::DS, off::ES, off::SS, off::FS, off::GS] {
            put_segment(&mut p, at, flat(self.data_selector, DATA_ATTRIB));
        }
        let table = |t: TableRegister| Segment {
            selector: 0,
            attrib: 0,
            limit: u32::from(t.limit),
            base: t.base,
        };
        put_segment(&mut p, off::GDTR, table(self.gdt));
        put_segment(&mut p, off::IDTR, table(self.idt));
        let system = |attrib| Segment {
            selector: 0,
            attrib,
            limit: 0xFFFF,
            base: 0,
        };
        put_segment(&mut p, off::LDTR, system(LDT_ATTRIB));
        put_segment(&mut p, off::TR, system(TSS_ATTRIB));
        put(&mut p, off::VMPL, &[AP_VMPL]);
        let qwords: [(usize, u64); 14] = [
            (off::EFER, self.efer | EFER_SVME),
            (off::CR0, self.cr0),
            (off::CR3, self.cr3),
            (off::CR4, self.cr4),
            (off::DR7, 0x400),
            (off::DR6, 0xFFFF_0FF0),
            (off::RFLAGS, 0x2),
            (off::RIP, self.rip),
            (off::RSP, self.rsp),
            (off::RDI, self.rdi),
            (off::G_PAT, self.pat),
            (off::SEV_FEATURES, self.sev_features),
            (off::XCR0, self.xcr0),
            (off::RDX, 0),
        ];
        for (at, value) in qwords {
            put_u64(&mut p, at, value);
        }
        put(&mut p, off::MXCSR, &0x1F80u32.to_le_bytes());
        put(&mut p, off::X87_FCW, &0x037Fu16.to_le_bytes());
        p
    }
}

/// Whether the page at `gpa` may hold a VMSA: 4 KiB aligned and not 2 MiB
/// aligned (an SNP erratum signals a spurious RMP #PF when a large page
/// collides with a VMSA page's RMP entry: Linux `snp_alloc_vmsa_page`
/// allocates 8 KiB and uses the second half; KVM `sev_snp_ap_creation`
/// refuses a 2 MiB-aligned VMSA).
pub fn check_vmsa_page(gpa: u64) -> Result<(), SnpError> {
    if !gpa.is_multiple_of(PAGE_SIZE_4K) || gpa.is_multiple_of(PAGE_SIZE_2M) {
        return Err(SnpError::VmsaPageUnusable { gpa });
    }
    Ok(())
}
