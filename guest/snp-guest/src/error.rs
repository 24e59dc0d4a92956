//! The crate's single error type. Every value the hypervisor controls ends up
//! here as data; nothing in this crate panics on it.

use crate::PageSize;

/// Errors of the SNP guest logic. The kernel is expected to stop (GHCB
/// termination request, then halt) on all of them except
/// [`SnpError::GuestRequestBusy`], which may be retried with the same message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SnpError {
    /// SEV_STATUS shows plain SEV (no ES, no SNP): not supported by the
    /// product. Only the model of the boot code's detection returns it and
    /// the next one (`reset.s` refuses plain SEV and SEV-ES itself).
    #[cfg(any(test, feature = "mock"))]
    #[error("plain SEV guest detected: only SEV-SNP is supported")]
    UnsupportedSev,
    /// SEV_STATUS shows SEV-ES without SNP: not supported by the product.
    #[cfg(any(test, feature = "mock"))]
    #[error("SEV-ES guest without SNP detected: only SEV-SNP is supported")]
    UnsupportedSevEs,
    /// SNP is active with a feature this crate does not handle (SEV_STATUS bits).
    #[error("SNP feature bits {bits:#x} not supported (SEV_STATUS {status:#x})")]
    UnsupportedSnpFeatures { status: u64, bits: u64 },
    /// The CPUID page header has count 0.
    #[error("SNP CPUID page is empty")]
    CpuidPageEmpty,
    /// The CPUID page header announces more than 64 entries.
    #[error("SNP CPUID page count {count} exceeds 64")]
    CpuidPageCountTooLarge { count: u32 },
    /// The CPUID page has no entry for this leaf/subleaf.
    #[error("CPUID leaf {leaf:#x} subleaf {subleaf:#x} not in the CPUID page")]
    CpuidLeafMissing { leaf: u32, subleaf: u32 },
    /// CPUID 0xD: no XSAVE size for these enabled state components (an entry is
    /// missing from the CPUID page, or the compacted form is not offered).
    #[error("CPUID 0xD: no XSAVE size for state components {xfeatures:#x} in the CPUID page")]
    CpuidXsaveSize { xfeatures: u64 },
    /// The C-bit position is outside 32..=51.
    #[error("C-bit position {position} outside 32..=51")]
    CBitOutOfRange { position: u32 },
    /// An MSR-protocol response carried another response code than expected.
    #[error("GHCB MSR protocol: request {request:#x} got unexpected response {response:#x}")]
    MsrUnexpectedResponse { request: u64, response: u64 },
    /// The hypervisor's GHCB protocol range does not include version 2.
    #[error("hypervisor GHCB protocol range {min}..={max} does not include version 2")]
    GhcbVersionUnsupported { min: u16, max: u16 },
    /// The hypervisor does not report SNP support in its feature bitmap.
    #[error("hypervisor feature bitmap {features:#x} lacks SNP support (bit 0)")]
    HypervisorLacksSnp { features: u64 },
    /// GHCB GPA registration was refused (response GFN 0xF_FFFF_FFFF_FFFF).
    #[error("hypervisor refused GHCB registration at {gpa:#x}")]
    GhcbRegistrationRefused { gpa: u64 },
    /// GHCB GPA registration answered with another GFN than requested.
    #[error("GHCB registration at {gpa:#x} answered with GFN {answered_gfn:#x}")]
    GhcbRegistrationMismatch { gpa: u64, answered_gfn: u64 },
    /// An MSR-protocol page state change returned a non-zero error field.
    #[error("MSR page state change of {gpa:#x} failed with error {error:#x}")]
    MsrPscFailed { gpa: u64, error: u32 },
    /// A NAE exit came back with SW_EXITINFO1[31:0] != 0.
    #[error("GHCB exit {exit_code:#x} failed: SW_EXITINFO1 {exit_info1:#x}, SW_EXITINFO2 {exit_info2:#x}")]
    GhcbExitFailed {
        exit_code: u64,
        exit_info1: u32,
        exit_info2: u64,
    },
    /// A NAE exit response lacks the valid bit of an output field (GHCB offset).
    #[error("GHCB exit {exit_code:#x}: output at offset {offset:#x} not marked valid")]
    GhcbOutputNotValid { exit_code: u64, offset: usize },
    /// A value supplied by the caller is not allowed (alignment, length, ...).
    #[error("invalid argument: {what} ({value:#x})")]
    InvalidArgument { what: &'static str, value: u64 },
    /// Page state change: the hypervisor returned an error in SW_EXITINFO2.
    #[error("page state change failed: SW_EXITINFO2 {error:#x}")]
    PscFailed { error: u64 },
    /// Page state change: the hypervisor did not advance through the entries.
    #[error("page state change made no progress (cur_entry {cur_entry}, end_entry {end_entry})")]
    PscNoProgress { cur_entry: u16, end_entry: u16 },
    /// Page state change: the returned header/entries are inconsistent.
    #[error("page state change returned an inconsistent header (cur_entry {cur_entry}, end_entry {end_entry})")]
    PscBadResponse { cur_entry: u16, end_entry: u16 },
    /// PVALIDATE left the RMP unchanged (CF=1) during first acceptance or when
    /// making a page private again: the page was already validated. This is the
    /// signature of a double-mapping attack, so it is fatal.
    #[error(
        "page {gpa:#x} was already validated during first acceptance (possible double mapping)"
    )]
    DoubleValidation { gpa: u64 },
    /// The guest's accepted-memory record already holds this page: accepting
    /// it again is refused before any page state change.
    #[error("page {gpa:#x} is already accepted: refusing to accept it again")]
    AlreadyAccepted { gpa: u64 },
    /// The page is not in the accepted-memory record (sharing a page the
    /// guest never accepted).
    #[error("page {gpa:#x} is not in the accepted-memory record")]
    NotAccepted { gpa: u64 },
    /// The accepted-memory record has no room for another range.
    #[error("accepted-memory record full ({capacity} ranges)")]
    AcceptedRecordFull { capacity: usize },
    /// PVALIDATE rescind found the page not validated (CF=1).
    #[error("page {gpa:#x} was not validated when rescinding it")]
    RescindNotValidated { gpa: u64 },
    /// PVALIDATE returned a non-zero code.
    #[error("PVALIDATE({}, {size:?}) of {gpa:#x} failed with code {code}", pvalidate_op(.validate))]
    PvalidateFailed {
        gpa: u64,
        size: PageSize,
        validate: bool,
        code: u32,
    },
    /// SNP guest request: the hypervisor reported BUSY; resend the same message.
    #[error("SNP guest request: hypervisor busy")]
    GuestRequestBusy,
    /// SNP guest request: INVALID_LEN (extended requests; EXITINFO2 bits 63:32 = 1).
    #[error("SNP guest request: invalid certificate buffer length")]
    GuestRequestInvalidLen,
    /// SNP guest request: another VMM error in EXITINFO2[63:32].
    #[error("SNP guest request: VMM error {code:#x}")]
    GuestRequestVmmError { code: u32 },
    /// SNP guest request: the firmware error in EXITINFO2[31:0].
    #[error("SNP guest request: firmware error {code:#x}")]
    GuestRequestFirmwareError { code: u32 },
    /// The hypervisor does not offer AP creation (HV features bit 1).
    #[error("hypervisor feature bitmap {features:#x} lacks AP creation (bit 1)")]
    ApCreationUnsupported { features: u64 },
    /// A page that cannot be a VMSA: not 4 KiB aligned, or 2 MiB aligned
    /// (the SNP erratum Linux's `snp_alloc_vmsa_page` avoids; KVM refuses it).
    #[error("page {gpa:#x} cannot be a VMSA (not 4 KiB aligned, or 2 MiB aligned)")]
    VmsaPageUnusable { gpa: u64 },
    /// RMPADJUST setting the VMSA bit failed (EAX code).
    #[error("RMPADJUST of {gpa:#x} failed with code {code}")]
    RmpadjustFailed { gpa: u64, code: u32 },
    /// The AP creation NAE came back with SW_EXITINFO1[31:0] != 0 (KVM: 2 =
    /// malformed input, SW_EXITINFO2 = 5 invalid input).
    #[error("AP creation for APIC ID {apic_id} refused: SW_EXITINFO1 {exit_info1:#x}, SW_EXITINFO2 {exit_info2:#x}")]
    ApCreationRefused {
        apic_id: u32,
        exit_info1: u32,
        exit_info2: u64,
    },
    /// After a refused AP creation the VMSA bit could not be cleared (the
    /// hypervisor may be running a vCPU on it): the page must never be used
    /// as memory again.
    #[error("VMSA bit of {gpa:#x} could not be cleared (code {code}): page leaked")]
    VmsaBitStuck { gpa: u64, code: u32 },
}

/// The PVALIDATE direction as the message names it.
fn pvalidate_op(validate: &bool) -> &'static str {
    if *validate {
        "validate"
    } else {
        "rescind"
    }
}

impl SnpError {
    /// GHCB MSR-protocol termination reason for this error (see
    /// [`crate::msr_protocol::TerminationReason`]).
    pub fn termination_reason(&self) -> crate::msr_protocol::TerminationReason {
        use crate::msr_protocol::TerminationReason as T;
        match self {
            SnpError::GhcbVersionUnsupported { .. } => T::GHCB_PROTOCOL_UNSUPPORTED,
            #[cfg(any(test, feature = "mock"))]
            SnpError::UnsupportedSev | SnpError::UnsupportedSevEs => T::SNP_UNSUPPORTED,
            SnpError::UnsupportedSnpFeatures { .. } | SnpError::HypervisorLacksSnp { .. } => {
                T::SNP_UNSUPPORTED
            }
            SnpError::GhcbRegistrationRefused { .. }
            | SnpError::GhcbRegistrationMismatch { .. } => T::APPLIANCE_GHCB_REGISTER,
            SnpError::MsrPscFailed { .. }
            | SnpError::PscFailed { .. }
            | SnpError::PscNoProgress { .. }
            | SnpError::PscBadResponse { .. } => T::APPLIANCE_PSC,
            SnpError::DoubleValidation { .. }
            | SnpError::AlreadyAccepted { .. }
            | SnpError::NotAccepted { .. }
            | SnpError::AcceptedRecordFull { .. }
            | SnpError::RescindNotValidated { .. }
            | SnpError::PvalidateFailed { .. } => T::APPLIANCE_PVALIDATE,
            SnpError::CpuidPageEmpty
            | SnpError::CpuidPageCountTooLarge { .. }
            | SnpError::CpuidLeafMissing { .. }
            | SnpError::CpuidXsaveSize { .. }
            | SnpError::CBitOutOfRange { .. } => T::APPLIANCE_CPUID,
            _ => T::GENERAL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msr_protocol::TerminationReason;
    use std::string::ToString;

    #[test]
    fn messages_name_the_values() {
        assert_eq!(
            SnpError::DoubleValidation { gpa: 0x20_0000 }.to_string(),
            "page 0x200000 was already validated during first acceptance (possible double mapping)"
        );
        assert_eq!(
            SnpError::PvalidateFailed {
                gpa: 0x1000,
                size: PageSize::Size2M,
                validate: true,
                code: 6
            }
            .to_string(),
            "PVALIDATE(validate, Size2M) of 0x1000 failed with code 6"
        );
        assert_eq!(
            SnpError::PvalidateFailed {
                gpa: 0x2000,
                size: PageSize::Size4K,
                validate: false,
                code: 1
            }
            .to_string(),
            "PVALIDATE(rescind, Size4K) of 0x2000 failed with code 1"
        );
        assert_eq!(
            SnpError::UnsupportedSevEs.to_string(),
            "SEV-ES guest without SNP detected: only SEV-SNP is supported"
        );
        assert!(SnpError::GhcbExitFailed {
            exit_code: 0x7B,
            exit_info1: 2,
            exit_info2: 4
        }
        .to_string()
        .contains("0x7b failed: SW_EXITINFO1 0x2, SW_EXITINFO2 0x4"));
    }

    #[test]
    fn termination_reasons() {
        assert_eq!(
            SnpError::UnsupportedSev.termination_reason(),
            TerminationReason::SNP_UNSUPPORTED
        );
        assert_eq!(
            SnpError::GhcbVersionUnsupported { min: 3, max: 4 }.termination_reason(),
            TerminationReason::GHCB_PROTOCOL_UNSUPPORTED
        );
        assert_eq!(
            SnpError::PscNoProgress {
                cur_entry: 0,
                end_entry: 1
            }
            .termination_reason(),
            TerminationReason { set: 1, code: 1 }
        );
        assert_eq!(
            SnpError::GuestRequestBusy.termination_reason(),
            TerminationReason::GENERAL
        );
    }
}
