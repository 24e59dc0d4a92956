//! GHCB bootstrap: before a GHCB exists only the MSR protocol works, so the
//! GHCB page is made shared with an MSR-protocol PSC and then registered
//! (GHCB spec §2.3.1; registration is mandatory under SNP before any NAE).

use crate::accept::rescind;
use crate::msr_protocol::{self, PscOp, SevInfo, GHCB_PROTOCOL_VERSION, HV_FEATURE_SNP};
use crate::{GhcbChannel, SnpError, SnpHardware, PAGE_SIZE_4K};

/// What registration learned from the hypervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GhcbInfo {
    pub sev_info: SevInfo,
    pub hv_features: u64,
}

/// Private -> shared for one 4 KiB page using only the MSR protocol:
/// PVALIDATE rescind, MSR PSC shared, clear the C-bit. Used for the GHCB page
/// itself (no GHCB exists yet).
pub fn share_page_msr<H: SnpHardware + ?Sized>(hw: &mut H, va: u64) -> Result<(), SnpError> {
    if !va.is_multiple_of(PAGE_SIZE_4K) {
        return Err(SnpError::InvalidArgument {
            what: "page address not 4 KiB aligned",
            value: va,
        });
    }
    rescind(hw, va)?;
    msr_protocol::page_state_change(hw, va, PscOp::Shared)?;
    hw.set_page_encrypted(va, false);
    Ok(())
}

/// Checks that the hypervisor speaks GHCB version 2 and supports SNP, then
/// registers `gpa` as the GHCB. Refusal and a mismatching answer are errors.
/// The page must already be shared ([`share_page_msr`]).
pub fn register_ghcb<H: SnpHardware + ?Sized>(hw: &mut H, gpa: u64) -> Result<GhcbInfo, SnpError> {
    let sev_info = msr_protocol::sev_info(hw)?;
    if !sev_info.supports(GHCB_PROTOCOL_VERSION) {
        return Err(SnpError::GhcbVersionUnsupported {
            min: sev_info.min_version,
            max: sev_info.max_version,
        });
    }
    // GHCB v2: an SNP guest must see the SNP feature bit.
    let hv_features = msr_protocol::hv_features(hw)?;
    if hv_features & HV_FEATURE_SNP == 0 {
        return Err(SnpError::HypervisorLacksSnp {
            features: hv_features,
        });
    }
    msr_protocol::register_ghcb_gpa(hw, gpa)?;
    Ok(GhcbInfo {
        sev_info,
        hv_features,
    })
}

/// The whole bootstrap for the page at `gpa` (identity mapped, private and
/// validated, e.g. a page of the image's BSS): share it, register it, return
/// the channel.
pub fn init_ghcb<H: SnpHardware>(
    mut hw: H,
    gpa: u64,
) -> Result<(GhcbChannel<H>, GhcbInfo), SnpError> {
    share_page_msr(&mut hw, gpa)?;
    let info = register_ghcb(&mut hw, gpa)?;
    Ok((GhcbChannel::new(hw, gpa), info))
}
