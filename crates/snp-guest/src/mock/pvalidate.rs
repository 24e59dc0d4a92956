//! PVALIDATE semantics (APM vol. 3) against the RMP model.

use super::MockHypervisor;
use crate::pvalidate_rc::{FAIL_INPUT, FAIL_PERMISSION, FAIL_SIZEMISMATCH, SUCCESS};
use crate::PageSize;

impl MockHypervisor {
    pub(super) fn pvalidate_inner(
        &mut self,
        vaddr: u64,
        size: PageSize,
        validate: bool,
    ) -> (u32, bool) {
        if !vaddr.is_multiple_of(size.bytes()) {
            return (FAIL_INPUT, false);
        }
        let first = vaddr >> 12;
        let pages = size.bytes() >> 12;
        let range = first..first + pages;
        if range
            .clone()
            .any(|g| !self.rmp.get(&g).is_some_and(|e| e.assigned))
        {
            return (FAIL_PERMISSION, false);
        }
        match size {
            PageSize::Size2M => {
                if range
                    .clone()
                    .any(|g| !self.rmp.get(&g).is_some_and(|e| e.size_2m))
                {
                    return (FAIL_SIZEMISMATCH, false);
                }
            }
            PageSize::Size4K => {
                if self.rmp(vaddr).size_2m {
                    self.psmash(vaddr);
                }
            }
        }
        if range
            .clone()
            .all(|g| self.rmp.get(&g).is_some_and(|e| e.validated == validate))
        {
            return (SUCCESS, true);
        }
        for g in range {
            if let Some(e) = self.rmp.get_mut(&g) {
                e.validated = validate;
            }
        }
        (SUCCESS, false)
    }
}
