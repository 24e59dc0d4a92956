//! Page visibility: whether the host may read and write a page. Only
//! `shared` (SharedBuffer, SharedBox) changes it, through this trait, so
//! that its rollback and drop logic runs on the host against the mock
//! hypervisor (`shared::tests`) exactly as the guest runs it on `HwPages`.

/// Turning owned 4 KiB pages shared and private again.
pub(crate) trait PageVisibility {
    /// The host may read and write the page from now on.
    ///
    /// # Safety
    /// The caller owns the accepted, identity-mapped page at `page` and makes
    /// no reference into it while it is shared.
    unsafe fn make_shared(&self, page: u64) -> Result<(), snp_guest::SnpError>;

    /// The page is private (and validated) again; its bytes are whatever the
    /// host left there.
    ///
    /// # Safety
    /// The page was made shared by `make_shared` and is still owned by the
    /// caller.
    unsafe fn make_private(&self, page: u64) -> Result<(), snp_guest::SnpError>;
}

/// The machine: GHCB page-state changes under SEV-SNP; natively all memory
/// is visible to the host already, so both are no-ops.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HwPages;

impl PageVisibility for HwPages {
    unsafe fn make_shared(&self, page: u64) -> Result<(), snp_guest::SnpError> {
        match super::kind() {
            super::Kind::Native => Ok(()),
            // SAFETY: forwarded from the caller.
            super::Kind::Snp => stop_on_validation_fault(unsafe { crate::snp::share_page(page) }),
        }
    }

    unsafe fn make_private(&self, page: u64) -> Result<(), snp_guest::SnpError> {
        match super::kind() {
            super::Kind::Native => Ok(()),
            // SAFETY: forwarded from the caller.
            super::Kind::Snp => stop_on_validation_fault(unsafe { crate::snp::unshare_page(page) }),
        }
    }
}

/// A host that refuses a page-state change only costs the guest the page
/// (the caller leaks it). A PVALIDATE that finds the RMP in an impossible
/// state (already validated when made private again, not validated when
/// rescinded, or an error code) means the host remapped or replayed the
/// page: the guest stops rather than go on with memory it cannot trust.
fn stop_on_validation_fault(
    result: Result<(), snp_guest::SnpError>,
) -> Result<(), snp_guest::SnpError> {
    match result {
        Err(
            e @ (snp_guest::SnpError::DoubleValidation { .. }
            | snp_guest::SnpError::RescindNotValidated { .. }
            | snp_guest::SnpError::PvalidateFailed { .. }),
        ) => crate::snp::terminate(e.termination_reason()),
        other => other,
    }
}
