//! AP creation and RMPADJUST.
//!
//! * AP creation NAE as KVM's `sev_snp_ap_creation` (arch/x86/kvm/svm/sev.c,
//!   as of the 2025 clean-ups): the target vCPU must exist
//!   (`kvm_get_vcpu_by_id`, APIC ID in SW_EXITINFO1[63:32]); for
//!   CREATE / CREATE_ON_INIT, RAX must equal the VM's VMSA features, the
//!   VMSA GPA must pass `page_address_valid` (4 KiB aligned, below
//!   MAXPHYADDR) and must not be 2 MiB aligned; DESTROY drops the VMSA;
//!   any other request is refused. Every refusal is reported as
//!   `sev_handle_vmgexit` does: SW_EXITINFO1 = 2, SW_EXITINFO2 =
//!   GHCB_ERR_INVALID_INPUT. KVM does not read the VMSA; the hardware does at
//!   the AP's VMRUN, which fails on a page without the VMSA bit: the mock
//!   records whether the AP could run ([`CreatedAp::runnable`]).
//! * RMPADJUST (APM vol. 3): misaligned -> FAIL_INPUT; not at VMPL0, or a
//!   target VMPL not below the caller's -> FAIL_PERMISSION; a page not
//!   assigned and validated -> FAIL_PERMISSION (the mock's choice: the
//!   guest code never relies on this case); clearing the VMSA bit of the
//!   page a created AP runs from -> FAIL_INUSE.
//! * Guest memory: only what tests write with `write_guest_page` (the
//!   guest's own stores to the page, which need no exit).

use alloc::boxed::Box;

use super::exits::{Inputs, Outcome};
use super::layout::*;
use super::MockHypervisor;

/// The VMSA fields the tests check, decoded with the mock's own offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VmsaView {
    pub cs_selector: u16,
    pub cs_attrib: u16,
    pub ds_selector: u16,
    pub ds_attrib: u16,
    pub gdtr_base: u64,
    pub gdtr_limit: u32,
    pub idtr_base: u64,
    pub idtr_limit: u32,
    pub vmpl: u8,
    pub efer: u64,
    pub cr0: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub rflags: u64,
    pub rip: u64,
    pub rsp: u64,
    pub rdi: u64,
    pub pat: u64,
    pub sev_features: u64,
    pub xcr0: u64,
}

impl VmsaView {
    pub fn decode(p: &[u8; PAGE]) -> Self {
        let seg = |off: usize| {
            (
                rd16(p, off),
                rd16(p, off + 2),
                rd32(p, off + 4),
                rd64(p, off + 8),
            )
        };
        let (cs_selector, cs_attrib, _, _) = seg(VMSA_CS);
        let (ds_selector, ds_attrib, _, _) = seg(VMSA_DS);
        let (_, _, gdtr_limit, gdtr_base) = seg(VMSA_GDTR);
        let (_, _, idtr_limit, idtr_base) = seg(VMSA_IDTR);
        Self {
            cs_selector,
            cs_attrib,
            ds_selector,
            ds_attrib,
            gdtr_base,
            gdtr_limit,
            idtr_base,
            idtr_limit,
            vmpl: p.get(VMSA_VMPL).copied().unwrap_or(0),
            efer: rd64(p, VMSA_EFER),
            cr0: rd64(p, VMSA_CR0),
            cr3: rd64(p, VMSA_CR3),
            cr4: rd64(p, VMSA_CR4),
            rflags: rd64(p, VMSA_RFLAGS),
            rip: rd64(p, VMSA_RIP),
            rsp: rd64(p, VMSA_RSP),
            rdi: rd64(p, VMSA_RDI),
            pat: rd64(p, VMSA_G_PAT),
            sev_features: rd64(p, VMSA_SEV_FEATURES),
            xcr0: rd64(p, VMSA_XCR0),
        }
    }
}

/// An AP the hypervisor accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedAp {
    pub vmsa_gpa: u64,
    /// RAX of the request.
    pub sev_features: u64,
    /// The VMSA page as the hardware loads it at the AP's VMRUN.
    pub vmsa: VmsaView,
    /// VMRUN would succeed: the page has the VMSA bit and its SEV features
    /// are the VM's.
    pub runnable: bool,
}

impl MockHypervisor {
    /// The guest stores `bytes` into its private page at `gpa` (no exit).
    pub fn write_guest_page(&mut self, gpa: u64, bytes: &[u8; PAGE]) {
        self.guest_memory.insert(gpa >> 12, Box::new(*bytes));
    }

    /// Whether the RMP marks the page at `gpa` as a VMSA page.
    pub fn is_vmsa_page(&self, gpa: u64) -> bool {
        self.vmsa_pages.contains(&(gpa >> 12))
    }

    /// The AP created for `apic_id`, if any.
    pub fn created_ap(&self, apic_id: u32) -> Option<&CreatedAp> {
        self.created_aps.get(&apic_id)
    }

    pub fn created_ap_count(&self) -> usize {
        self.created_aps.len()
    }

    pub(super) fn exit_ap_creation(&mut self, input: &Inputs, rax: u64) -> Outcome {
        let refuse = Outcome::BadInput(ERR_INVALID_INPUT);
        let request = input.info1 & 0xFFFF_FFFF;
        let apic_id = (input.info1 >> 32) as u32;
        if apic_id >= self.config.vcpus {
            return refuse;
        }
        match request {
            AP_CREATE | AP_CREATE_ON_INIT => {
                let gpa = input.info2;
                let valid = gpa & 0xFFF == 0 && gpa >> self.config.max_phys_bits == 0;
                if rax != self.config.vmsa_features || !valid || gpa & (PMD_SIZE - 1) == 0 {
                    return refuse;
                }
                let page = self
                    .guest_memory
                    .get(&(gpa >> 12))
                    .map_or([0; PAGE], |p| **p);
                let vmsa = VmsaView::decode(&page);
                let runnable =
                    self.is_vmsa_page(gpa) && vmsa.sev_features == self.config.vmsa_features;
                self.created_aps.insert(
                    apic_id,
                    CreatedAp {
                        vmsa_gpa: gpa,
                        sev_features: rax,
                        vmsa,
                        runnable,
                    },
                );
                Outcome::Done
            }
            AP_DESTROY => {
                self.created_aps.remove(&apic_id);
                Outcome::Done
            }
            _ => refuse,
        }
    }

    pub(super) fn rmpadjust_inner(&mut self, vaddr: u64, attrs: u64) -> u32 {
        if vaddr & 0xFFF != 0 {
            return RMPADJUST_FAIL_INPUT;
        }
        let target_vmpl = attrs & 0xFF;
        if self.config.vmpl != 0 || target_vmpl <= u64::from(self.config.vmpl) || target_vmpl > 3 {
            return RMPADJUST_FAIL_PERMISSION;
        }
        let e = self.rmp(vaddr);
        if !e.assigned || !e.validated {
            return RMPADJUST_FAIL_PERMISSION;
        }
        let gfn = vaddr >> 12;
        if attrs & RMPADJUST_VMSA_BIT != 0 {
            self.vmsa_pages.insert(gfn);
        } else {
            if self.created_aps.values().any(|ap| ap.vmsa_gpa >> 12 == gfn) {
                return RMPADJUST_FAIL_INUSE;
            }
            self.vmsa_pages.remove(&gfn);
        }
        RMPADJUST_SUCCESS
    }
}
