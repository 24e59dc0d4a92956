//! The RMP page-state model and the hypervisor's RMP operations (PSMASH, PSC).

use super::{Event, MockHypervisor};
use crate::msr_protocol::PscOp;
use crate::{PageSize, PAGE_SIZE_2M, PAGE_SIZE_4K};

/// RMP state of one 4 KiB page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RmpEntry {
    /// Assigned to the guest (private). False = hypervisor-owned/shared.
    pub assigned: bool,
    pub validated: bool,
    /// Part of a 2 MiB RMP entry.
    pub size_2m: bool,
}

impl MockHypervisor {
    /// Marks [start, end) private and validated with 4 KiB RMP entries, as the
    /// launch does for the image and ASEV sections.
    pub fn prevalidate(&mut self, start: u64, end: u64) {
        for gfn in start >> 12..end.div_ceil(PAGE_SIZE_4K) {
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

    // ---- RMP operations (hypervisor side) ----

    pub(super) fn psmash(&mut self, gpa: u64) {
        let base = gpa & !(PAGE_SIZE_2M - 1);
        for gfn in base >> 12..(base + PAGE_SIZE_2M) >> 12 {
            if let Some(e) = self.rmp.get_mut(&gfn) {
                e.size_2m = false;
            }
        }
        self.events.push(Event::Psmash { gpa: base });
    }

    /// RMPUPDATE for a PSC request. Private on an already assigned page is a
    /// no-op (the page stays as it is, validated or not: KVM leaves an
    /// already-private guest_memfd page alone); shared makes it
    /// hypervisor-owned, which clears the validated bit.
    pub(super) fn apply_psc(&mut self, gpa: u64, op: PscOp, size: PageSize) {
        let pages = size.bytes() >> 12;
        let first = gpa >> 12;
        if size == PageSize::Size4K && self.rmp(gpa).size_2m {
            self.psmash(gpa);
        }
        match op {
            PscOp::Private => {
                let fresh =
                    (first..first + pages).all(|g| !self.rmp.get(&g).is_some_and(|e| e.assigned));
                let as_2m = size == PageSize::Size2M && fresh && !self.config.psc_2m_as_4k;
                for g in first..first + pages {
                    let e = self.rmp.entry(g).or_default();
                    if !e.assigned {
                        *e = RmpEntry {
                            assigned: true,
                            validated: false,
                            size_2m: as_2m,
                        };
                    }
                }
            }
            PscOp::Shared => {
                for g in first..first + pages {
                    self.rmp.insert(g, RmpEntry::default());
                }
            }
        }
        self.events.push(Event::Psc { gpa, op, size });
    }
}
