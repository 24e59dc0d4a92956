//! [`MockConfig`]: KVM's behaviour by default, plus knobs that make the
//! hypervisor misbehave or differ from KVM.

use super::layout::{HV_FT_KVM, MSR_PREF_GPA_NONE};

/// What happens on a nested page fault the guest's access raised (an RMP
/// check failed on a page the hypervisor has not assigned to the guest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpfPolicy {
    /// KVM + QEMU: a private access to a GPA that is not private exits to
    /// userspace (KVM_EXIT_MEMORY_FAULT), QEMU converts it to private,
    /// guest_memfd assigns a page (validated = 0) and the instruction is
    /// retried.
    ConvertAndRetry,
    /// The hypervisor never resolves the fault: the vCPU re-faults forever.
    /// The mock records it ([`super::MockHypervisor::stuck`]) and lets the
    /// instruction "return" with the RMP unchanged; nothing after that point
    /// would run on hardware.
    Hang,
}

/// How KVM sizes the scratch area of a page state change NAE
/// (arch/x86/kvm/svm/sev.c, `sev_handle_vmgexit` case SVM_VMGEXIT_PSC and
/// `snp_begin_psc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PscScratchLen {
    /// Released KVM since 9b54e248d264 (v6.11): `setup_vmgexit_scratch(svm,
    /// true, exit_info_2)`, i.e. SW_EXITINFO2 is the length (0 is accepted,
    /// a scratch area running past the shared buffer is refused with
    /// GHCB_ERR_INVALID_SCRATCH_AREA), and end_entry is checked against the
    /// fixed VMGEXIT_PSC_MAX_COUNT (253) only.
    ExitInfo2,
    /// KVM with "KVM: SEV: Use the size of the PSC header as the minimum
    /// size for PSC requests" (2026, Cc: stable): the length is the 8-byte
    /// header, SW_EXITINFO2 is ignored, and the entry limit is what fits
    /// between the scratch address and the end of the shared buffer.
    Header,
}

/// Behaviour switches. `Default` is upstream KVM (arch/x86/kvm/svm/sev.c)
/// with QEMU and guest_memfd (4 KiB RMP entries).
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// SEV-info response: KVM answers min 1, max = the VM's GHCB version (2).
    pub ghcb_min_version: u16,
    pub ghcb_max_version: u16,
    /// C-bit reported in the SEV-info response.
    pub c_bit: u8,
    /// Not KVM (which always accepts): answer with the refused GFN.
    pub refuse_registration: bool,
    /// Not KVM: answer registration with this GFN instead of the requested one.
    pub registration_answer_gfn: Option<u64>,
    /// HV features bitmap (MSR protocol and NAE).
    pub hv_features: u64,
    /// Userspace fails every MSR-protocol page state change.
    pub msr_psc_fail: bool,
    /// PSC NAE scratch length and entry limit (default: released KVM).
    pub psc_scratch_len: PscScratchLen,
    /// PSC NAE entries processed per exit (KVM: all of them).
    pub psc_max_per_exit: usize,
    /// PSC NAE returns success without processing anything.
    pub psc_stall: bool,
    /// PSC NAE returns this SW_EXITINFO2 error.
    pub psc_error: Option<u64>,
    /// Back 2 MiB private PSC entries with one 2 MiB RMP entry (not KVM with
    /// guest_memfd, which backs everything with 4 KiB entries).
    pub backing_2m: bool,
    /// PSC (NAE and MSR) reports success without changing the RMP.
    pub psc_pretend: bool,
    /// A PSC to private on a page that is already assigned does RMPUPDATE
    /// again, clearing its Validated bit (an attack: the guest's next
    /// PVALIDATE then succeeds with CF=0 on memory it already uses).
    pub reset_validated_on_private: bool,
    /// How nested page faults are resolved.
    pub npf: NpfPolicy,
    /// VMPL the guest runs at; PVALIDATE needs VMPL0.
    pub vmpl: u8,
    /// The next NAE exit (only) returns this (SW_EXITINFO1, SW_EXITINFO2).
    pub fail_next_exit: Option<(u64, u64)>,
    /// Clear the valid bit of this GHCB offset in successful responses.
    pub omit_output_valid: Option<usize>,
    /// Scribble junk over the shared GHCB page before each exit and into
    /// unused register bits and non-output fields of responses.
    pub garbage: bool,
    /// TSC_AUX returned for RDTSCP exits.
    pub tsc_aux: u32,
    /// vCPUs of the VM, APIC IDs 0..vcpus (QEMU `-smp N`: KVM's vCPU id is
    /// the APIC ID); AP creation for another APIC ID is refused.
    pub vcpus: u32,
    /// The VM's VMSA features (KVM `sev->vmsa_features`; SNPActive with
    /// QEMU 10.0): AP creation with another RAX is refused.
    pub vmsa_features: u64,
    /// Guest MAXPHYADDR: a VMSA GPA at or above 2^bits is refused
    /// (`page_address_valid`).
    pub max_phys_bits: u32,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            ghcb_min_version: 1,
            ghcb_max_version: 2,
            c_bit: 51,
            refuse_registration: false,
            registration_answer_gfn: None,
            hv_features: HV_FT_KVM,
            msr_psc_fail: false,
            psc_scratch_len: PscScratchLen::ExitInfo2,
            psc_max_per_exit: usize::MAX,
            psc_stall: false,
            psc_error: None,
            backing_2m: false,
            psc_pretend: false,
            reset_validated_on_private: false,
            npf: NpfPolicy::ConvertAndRetry,
            vmpl: 0,
            fail_next_exit: None,
            omit_output_valid: None,
            garbage: false,
            tsc_aux: 0,
            vcpus: 1,
            vmsa_features: 1,
            max_phys_bits: 48,
        }
    }
}

/// KVM's preferred-GHCB answer: none.
pub const PREFERRED_GHCB_NONE: u64 = MSR_PREF_GPA_NONE;
