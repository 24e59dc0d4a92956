//! The page state change NAE as KVM's `snp_begin_psc` and
//! `__snp_complete_one_psc` process it (GHCB spec §4.1.6 for the layout:
//! header u16 cur_entry, u16 end_entry (inclusive), u32 reserved; entries
//! [11:0] cur_page, [51:12] GFN, [55:52] operation, [56] page size).

use super::layout::*;
use super::{MockHypervisor, PageOp};
use crate::PageSize;

impl MockHypervisor {
    /// Processes the PSC buffer at page offset `off`, end_entry below
    /// `max_entries` ([`super::PscScratchLen`]); returns SW_EXITINFO2.
    pub(super) fn psc(&mut self, page: &mut [u8; PAGE], off: usize, max_entries: usize) -> u64 {
        if let Some(e) = self.config.psc_error {
            return e;
        }
        if max_entries > PSC_MAX_COUNT {
            return PSC_ERROR_GENERIC;
        }
        let entry_at = |idx: usize| off + PSC_HEADER_LEN + idx * PSC_ENTRY_LEN;
        let mut budget = self.config.psc_max_per_exit;
        loop {
            let idx_start = rd16(page, off) as usize;
            let idx_end = rd16(page, off + 2) as usize;
            if idx_end >= max_entries {
                return PSC_ERROR_INVALID_HDR;
            }
            // Released KVM checks end_entry against 253 only: with the
            // buffer starting late in the shared buffer it would read past
            // the one GHCB page it mapped. Undefined; not modelled.
            assert!(
                entry_at(idx_end) + PSC_ENTRY_LEN <= PAGE,
                "KVM would read PSC entry {idx_end} past the GHCB page (buffer at {off:#x})"
            );
            if self.config.psc_stall || budget == 0 {
                return 0;
            }
            // Find the start of the next range that needs processing.
            let mut idx = idx_start;
            let mut start = None;
            while idx <= idx_end {
                let e = rd64(page, entry_at(idx));
                let mut gfn = (e >> 12) & 0xFF_FFFF_FFFF;
                let mut huge = e >> 56 & 1 != 0;
                let mut npages: u64 = if huge { 512 } else { 1 };
                let cur_page = e & 0xFFF;
                if cur_page > npages || !gfn.is_multiple_of(npages) {
                    return PSC_ERROR_INVALID_ENTRY;
                }
                if cur_page != 0 {
                    // A partly done 2 MiB entry continues as 4 KiB pages.
                    npages -= cur_page;
                    gfn += cur_page;
                    huge = false;
                }
                if npages != 0 {
                    start = Some((e, gfn, huge, npages));
                    break;
                }
                let cur = rd16(page, off);
                wr16(page, off, cur.wrapping_add(1));
                idx += 1;
            }
            let Some((first, gfn, huge, mut npages)) = start else {
                return 0;
            };
            let op = (first >> 52) & 0xF;
            // Adjacent entries with the same operation and page size join
            // the batch (one KVM_HC_MAP_GPA_RANGE exit to userspace).
            let mut batch = 1;
            while idx + batch <= idx_end && batch < budget {
                let e = rd64(page, entry_at(idx + batch));
                if (e >> 52) & 0xF != op
                    || (e >> 12) & 0xFF_FFFF_FFFF != gfn + npages
                    || e & 0xFFF != 0
                    || (e >> 56 & 1 != 0) != huge
                {
                    break;
                }
                batch += 1;
                npages += if huge { 512 } else { 1 };
            }
            let op = match op {
                PSC_OP_PRIVATE => Some(PageOp::Private),
                PSC_OP_SHARED => Some(PageOp::Shared),
                // Other operations (PSMASH/UNSMASH) are completed untouched.
                _ => None,
            };
            if let Some(op) = op {
                if !self.config.psc_pretend {
                    let (step, size) = if huge {
                        (512, PageSize::Size2M)
                    } else {
                        (1, PageSize::Size4K)
                    };
                    let mut g = gfn;
                    while g < gfn + npages {
                        self.apply_psc(g << 12, op, size);
                        g += step;
                    }
                }
            }
            // __snp_complete_one_psc: mark the batch done, advance cur_entry.
            for i in idx..idx + batch {
                let e = rd64(page, entry_at(i));
                let full = if e >> 56 & 1 != 0 { 512 } else { 1 };
                wr64(page, entry_at(i), e & !0xFFF | full);
            }
            wr16(page, off, (idx + batch) as u16);
            budget = budget.saturating_sub(batch);
        }
    }
}
