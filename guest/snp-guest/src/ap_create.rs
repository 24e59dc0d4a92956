//! Starting an AP under SEV-SNP: the AP creation NAE with a guest-made VMSA
//! (GHCB spec §4.1.9), in Linux's order (`wakeup_cpu_via_vmgexit`):
//!
//! 1. the hypervisor must offer AP creation (HV features bit 1, learnt at
//!    GHCB registration; Linux returns -EOPNOTSUPP without it);
//! 2. the page must be usable as a VMSA ([`check_vmsa_page`]);
//! 3. RMPADJUST marks it a VMSA page (target VMPL 1, VMSA bit) *before*
//!    the exit: the hypervisor then runs the vCPU from a page the guest
//!    can no longer write, and the hardware refuses VMRUN on an unmarked
//!    page;
//! 4. the NAE; on any failure the VMSA bit is cleared again before the
//!    caller frees or reuses the page (Linux `snp_cleanup_vmsa`). If the
//!    bit cannot be cleared (a hypervisor that reports failure but runs a
//!    vCPU on the page makes RMPADJUST fail), the page is lost for good:
//!    [`SnpError::VmsaBitStuck`] tells the caller never to touch it again.

use crate::msr_protocol::HV_FEATURE_AP_CREATION;
use crate::vmsa::{check_vmsa_page, RMPADJUST_TARGET_VMPL1, RMPADJUST_VMSA};
use crate::{GhcbChannel, SnpError, SnpHardware};

/// Starts the vCPU with `apic_id` from the VMSA the caller wrote at
/// `vmsa_gpa` (identity-mapped, private, validated, not touched again once
/// this returns `Ok`). `hv_features` is the bitmap the hypervisor reported
/// at GHCB registration; `sev_features` the value the VMSA holds, passed
/// in RAX. Guests at VMPL0 only (VMPL 0 in the request).
pub fn create_ap<H: SnpHardware>(
    channel: &mut GhcbChannel<H>,
    hv_features: u64,
    apic_id: u32,
    vmsa_gpa: u64,
    sev_features: u64,
) -> Result<(), SnpError> {
    if hv_features & HV_FEATURE_AP_CREATION == 0 {
        return Err(SnpError::ApCreationUnsupported {
            features: hv_features,
        });
    }
    check_vmsa_page(vmsa_gpa)?;
    let code = channel
        .hw_mut()
        .rmpadjust(vmsa_gpa, RMPADJUST_TARGET_VMPL1 | RMPADJUST_VMSA);
    if code != 0 {
        return Err(SnpError::RmpadjustFailed {
            gpa: vmsa_gpa,
            code,
        });
    }
    let Err(err) = channel.ap_create(apic_id, crate::vmsa::AP_VMPL, vmsa_gpa, sev_features) else {
        return Ok(());
    };
    let code = channel.hw_mut().rmpadjust(vmsa_gpa, RMPADJUST_TARGET_VMPL1);
    if code != 0 {
        return Err(SnpError::VmsaBitStuck {
            gpa: vmsa_gpa,
            code,
        });
    }
    Err(match err {
        SnpError::GhcbExitFailed {
            exit_info1,
            exit_info2,
            ..
        } => SnpError::ApCreationRefused {
            apic_id,
            exit_info1,
            exit_info2,
        },
        other => other,
    })
}
