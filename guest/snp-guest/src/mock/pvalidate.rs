//! PVALIDATE as the hardware executes it (APM vol. 3 "PVALIDATE"), with the
//! nested page faults it raises resolved the way KVM does.
//!
//! * Not VMPL0: FAIL_PERMISSION (that is all FAIL_PERMISSION means).
//! * Misaligned address: FAIL_INPUT.
//! * Page not assigned to the guest: the RMP check fails and the hypervisor
//!   gets a nested page fault; the guest sees nothing. KVM + QEMU convert the
//!   GPA to private (guest_memfd assigns a page, validated = 0) and resume,
//!   so PVALIDATE then runs on a fresh page ([`super::NpfPolicy`]).
//! * 2 MiB over 4 KiB RMP entries: FAIL_SIZEMISMATCH (what guest_memfd's
//!   4 KiB backing gives every 2 MiB PVALIDATE).
//! * 4 KiB inside a 2 MiB RMP entry: nested page fault, KVM PSMASHes, retry.
//! * Validated bit already as requested: CF=1, no change.

use super::layout::{
    PVALIDATE_FAIL_INPUT, PVALIDATE_FAIL_PERMISSION, PVALIDATE_FAIL_SIZEMISMATCH, PVALIDATE_SUCCESS,
};
use super::rmp::bytes;
use super::{Event, MockHypervisor, NpfCause, NpfPolicy, PageOp};
use crate::PageSize;

impl MockHypervisor {
    pub(super) fn pvalidate_inner(
        &mut self,
        vaddr: u64,
        size: PageSize,
        validate: bool,
    ) -> (u32, bool) {
        if self.config.vmpl != 0 {
            return (PVALIDATE_FAIL_PERMISSION, false);
        }
        if !vaddr.is_multiple_of(bytes(size)) {
            return (PVALIDATE_FAIL_INPUT, false);
        }
        let first = vaddr >> 12;
        let range = first..first + (bytes(size) >> 12);
        if let Some(gfn) = range
            .clone()
            .find(|g| !self.rmp.get(g).is_some_and(|e| e.assigned))
        {
            self.events.push(Event::NestedPageFault {
                gpa: gfn << 12,
                cause: NpfCause::NotAssigned,
            });
            match self.config.npf {
                NpfPolicy::Hang => {
                    self.stuck = Some(gfn << 12);
                    return (PVALIDATE_SUCCESS, false);
                }
                NpfPolicy::ConvertAndRetry => {
                    // QEMU converts the faulting 4 KiB pages; guest_memfd
                    // backs them with 4 KiB entries.
                    for g in range.clone() {
                        if !self.rmp(g << 12).assigned {
                            self.apply_psc(g << 12, PageOp::Private, PageSize::Size4K);
                        }
                    }
                }
            }
        }
        match size {
            PageSize::Size2M => {
                if range
                    .clone()
                    .any(|g| !self.rmp.get(&g).is_some_and(|e| e.size_2m))
                {
                    return (PVALIDATE_FAIL_SIZEMISMATCH, false);
                }
            }
            PageSize::Size4K => {
                if self.rmp(vaddr).size_2m {
                    self.events.push(Event::NestedPageFault {
                        gpa: vaddr,
                        cause: NpfCause::SizeMismatch,
                    });
                    self.psmash(vaddr);
                }
            }
        }
        if range
            .clone()
            .all(|g| self.rmp.get(&g).is_some_and(|e| e.validated == validate))
        {
            return (PVALIDATE_SUCCESS, true);
        }
        for g in range {
            if let Some(e) = self.rmp.get_mut(&g) {
                e.validated = validate;
            }
        }
        (PVALIDATE_SUCCESS, false)
    }
}
