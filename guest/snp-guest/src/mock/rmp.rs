//! The RMP page-state model and the hypervisor's RMP operations (PSMASH,
//! RMPUPDATE for page state changes), APM vol. 2 §15.36.

use super::{Event, MockHypervisor, PageOp};
use crate::PageSize;

/// RMP state of one 4 KiB page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RmpEntry {
    /// Assigned to the guest (private). False = hypervisor-owned/shared.
    pub assigned: bool,
    pub validated: bool,
    /// Part of a 2 MiB RMP entry.
    pub size_2m: bool,
}

const PAGE_4K: u64 = 0x1000;
const PAGE_2M: u64 = 0x20_0000;

pub(super) fn bytes(size: PageSize) -> u64 {
    match size {
        PageSize::Size4K => PAGE_4K,
        PageSize::Size2M => PAGE_2M,
    }
}

impl MockHypervisor {
    /// Marks [start, end) private and validated with 4 KiB RMP entries, as the
    /// launch does for the image and the pre-validated ASEV sections.
    pub fn prevalidate(&mut self, start: u64, end: u64) {
        for gfn in start >> 12..end.div_ceil(PAGE_4K) {
            self.rmp.insert(
                gfn,
                RmpEntry {
                    assigned: true,
                    validated: true,
                    size_2m: false,
                },
            );
        }
    }

    pub fn rmp(&self, gpa: u64) -> RmpEntry {
        self.rmp.get(&(gpa >> 12)).copied().unwrap_or_default()
    }

    pub fn set_rmp(&mut self, gpa: u64, entry: RmpEntry) {
        self.rmp.insert(gpa >> 12, entry);
    }

    /// PSMASH of the 2 MiB entry holding `gpa` (KVM `snp_rmptable_psmash`).
    pub(super) fn psmash(&mut self, gpa: u64) {
        let base = gpa & !(PAGE_2M - 1);
        for gfn in base >> 12..(base + PAGE_2M) >> 12 {
            if let Some(e) = self.rmp.get_mut(&gfn) {
                e.size_2m = false;
            }
        }
        self.events.push(Event::Psmash { gpa: base });
    }

    /// RMPUPDATE for a page state change. Private on a page that is not
    /// assigned assigns it (validated = 0; guest_memfd allocates it); on an
    /// assigned page KVM changes nothing unless the mock is configured to
    /// reset the Validated bit. Shared makes it hypervisor-owned (QEMU
    /// discards the guest_memfd range), which clears the Validated bit.
    pub(super) fn apply_psc(&mut self, gpa: u64, op: PageOp, size: PageSize) {
        let first = gpa >> 12;
        let pages = bytes(size) >> 12;
        if size == PageSize::Size4K && self.rmp(gpa).size_2m {
            self.psmash(gpa);
        }
        match op {
            PageOp::Private => {
                let fresh =
                    (first..first + pages).all(|g| !self.rmp.get(&g).is_some_and(|e| e.assigned));
                let as_2m = size == PageSize::Size2M && fresh && self.config.backing_2m;
                let reset = self.config.reset_validated_on_private;
                for g in first..first + pages {
                    let e = self.rmp.entry(g).or_default();
                    if !e.assigned {
                        *e = RmpEntry {
                            assigned: true,
                            validated: false,
                            size_2m: as_2m,
                        };
                    } else if reset {
                        e.validated = false;
                    }
                }
            }
            PageOp::Shared => {
                for g in first..first + pages {
                    self.rmp.insert(g, RmpEntry::default());
                }
            }
        }
        self.events.push(Event::Psc { gpa, op, size });
    }
}
