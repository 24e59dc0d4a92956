//! Page state change (the GHCB spec's Page State Change NAE; Linux `vmgexit_psc`): up to
//! 253 entries per exit through the GHCB shared buffer, repeated while the
//! hypervisor makes progress. Limits and errors from Linux sev-common.h.

use super::{GhcbChannel, EXIT_PSC};
use crate::ghcb::OFF_SHARED_BUFFER;
use crate::msr_protocol::PscOp;
use crate::{PageSize, SnpError, SnpHardware};

/// Header (8 bytes) + 253 entries (8 bytes) = 2032 = the shared buffer.
pub const MAX_ENTRIES: usize = 253;
pub const HEADER_LEN: usize = 8;
pub const ENTRY_LEN: usize = 8;
#[cfg(any(test, feature = "mock"))]
pub const ERROR_GENERIC: u64 = 0x100 << 32;
#[cfg(any(test, feature = "mock"))]
pub const ERROR_INVALID_HDR: u64 = (1 << 32) | 1;
#[cfg(any(test, feature = "mock"))]
pub const ERROR_INVALID_ENTRY: u64 = (1 << 32) | 2;

/// One entry of a page state change request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PscEntry {
    pub gpa: u64,
    pub op: PscOp,
    pub size: PageSize,
}

impl PscEntry {
    /// [11:0] cur_page, [51:12] GFN, [55:52] operation, [56] page size.
    pub fn encode(&self, cur_page: u16) -> u64 {
        (cur_page as u64 & 0xFFF)
            | ((self.gpa >> 12) & 0xFF_FFFF_FFFF) << 12
            | (self.op as u64) << 52
            | match self.size {
                PageSize::Size4K => 0,
                PageSize::Size2M => 1 << 56,
            }
    }

    /// Number of 4 KiB pages (the unit of cur_page).
    pub fn pages(&self) -> u16 {
        match self.size {
            PageSize::Size4K => 1,
            PageSize::Size2M => 512,
        }
    }

    fn check(&self) -> Result<(), SnpError> {
        if !self.gpa.is_multiple_of(self.size.bytes()) || self.gpa >> 52 != 0 {
            return Err(SnpError::InvalidArgument {
                what: "PSC entry GPA not aligned to its page size or above 52 bits",
                value: self.gpa,
            });
        }
        Ok(())
    }
}

impl<H: SnpHardware> GhcbChannel<H> {
    fn write_psc(&mut self, entries: &[PscEntry], cur: u16, cur_page: u16, end: u16) {
        let buf = self.ghcb.shared_buffer_mut();
        if let Some(h) = buf.get_mut(0..HEADER_LEN) {
            h[0..2].copy_from_slice(&cur.to_le_bytes());
            h[2..4].copy_from_slice(&end.to_le_bytes());
            h[4..8].copy_from_slice(&0u32.to_le_bytes());
        }
        for (i, e) in entries.iter().enumerate() {
            // Entries before cur_entry are done; the current one keeps the
            // hypervisor's progress; later ones start at 0.
            let page = match (i as u16).cmp(&cur) {
                core::cmp::Ordering::Less => e.pages(),
                core::cmp::Ordering::Equal => cur_page,
                core::cmp::Ordering::Greater => 0,
            };
            let off = HEADER_LEN + i * ENTRY_LEN;
            if let Some(d) = buf.get_mut(off..off + ENTRY_LEN) {
                d.copy_from_slice(&e.encode(page).to_le_bytes());
            }
        }
    }

    /// Page state change of up to 253 entries. Repeats the exit while the
    /// hypervisor makes progress (cur_entry, or cur_page of the current
    /// entry, advances); fails if it makes none, reports an error in
    /// SW_EXITINFO2, or returns an inconsistent header. The entries are
    /// rewritten from the caller's slice each round, so the hypervisor can't
    /// change what is requested. The RMP is the real check: PVALIDATE fails on
    /// pages the hypervisor did not really assign.
    pub fn page_state_change(&mut self, entries: &[PscEntry]) -> Result<(), SnpError> {
        if entries.is_empty() {
            return Ok(());
        }
        if entries.len() > MAX_ENTRIES {
            return Err(SnpError::InvalidArgument {
                what: "more than 253 PSC entries",
                value: entries.len() as u64,
            });
        }
        for e in entries {
            e.check()?;
        }
        let end = (entries.len() - 1) as u16;
        let (mut cur, mut cur_page) = (0u16, 0u16);
        self.ghcb.reset();
        loop {
            self.ghcb.reset_save_area();
            self.write_psc(entries, cur, cur_page, end);
            self.ghcb.set_sw_scratch(self.scratch_gpa());
            let used =
                OFF_SHARED_BUFFER..OFF_SHARED_BUFFER + HEADER_LEN + entries.len() * ENTRY_LEN;
            // SW_EXITINFO1 = SW_EXITINFO2 = 0 (GHCB spec; Linux `vmgexit_psc`).
            // Released KVM (v6.11 on) takes SW_EXITINFO2 as the scratch length,
            // and 0 passes its check since the buffer lies in the shared buffer;
            // KVM with the 2026 fix ignores it (header length, entries up to
            // the end of the shared buffer). The mock models both.
            self.exit_scratch(EXIT_PSC, 0, 0, Some(used.clone()), Some(used))?;
            let info2 = self.ghcb.sw_exit_info2();
            if info2 != 0 {
                return Err(SnpError::PscFailed { error: info2 });
            }
            let buf = self.ghcb.shared_buffer();
            let rd16 = |o: usize| {
                buf.get(o..o + 2)
                    .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
            };
            let new_cur = rd16(0);
            let new_end = rd16(2);
            let reserved = buf
                .get(4..8)
                .map_or(1, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
            let bad = SnpError::PscBadResponse {
                cur_entry: new_cur,
                end_entry: new_end,
            };
            if new_end != end || reserved != 0 || new_cur < cur || new_cur > end + 1 {
                return Err(bad);
            }
            if new_cur > end {
                return Ok(());
            }
            let off = HEADER_LEN + new_cur as usize * ENTRY_LEN;
            let raw = buf
                .get(off..off + ENTRY_LEN)
                .and_then(|s| s.try_into().ok())
                .map_or(0, u64::from_le_bytes);
            let new_page = (raw & 0xFFF) as u16;
            let pages = entries.get(new_cur as usize).map_or(0, |e| e.pages());
            if new_page > pages {
                return Err(bad);
            }
            let progressed = new_cur > cur || new_page > cur_page;
            if !progressed {
                return Err(SnpError::PscNoProgress {
                    cur_entry: new_cur,
                    end_entry: new_end,
                });
            }
            cur = new_cur;
            cur_page = new_page;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psc_entry_encoding() {
        let e = PscEntry {
            gpa: 0x20_0000,
            op: PscOp::Private,
            size: PageSize::Size2M,
        };
        assert_eq!(e.encode(0), 1 << 56 | 1 << 52 | 0x200 << 12);
        let e = PscEntry {
            gpa: 0xFFFF_F000,
            op: PscOp::Shared,
            size: PageSize::Size4K,
        };
        assert_eq!(e.encode(1), 2 << 52 | 0xF_FFFF << 12 | 1);
    }
}
