//! Which bytes of the GHCB one exit moves between the guest's private copy
//! and the shared page (issue 10 item 9: not 4 KiB each way).
//!
//! Out (guest -> shared page): every field marked valid, the valid bitmap,
//! the protocol version and usage, and the scratch bytes the exit sends.
//! Back (shared page -> guest): the valid bitmap, RAX, RCX, RDX, RBX, the
//! two exit infos, and the scratch bytes the exit returns. Those are all the
//! hypervisor may answer in (KVM `sev_es_sync_to_ghcb` writes RAX..RDX,
//! `svm_vmgexit_success`/`_bad_input` the exit infos); the guest checks each
//! output's valid bit in the copy it brought back.

use core::ops::Range;

use crate::ghcb::{
    Ghcb, GHCB_SIZE, OFF_PROTOCOL_VERSION, OFF_RAX, OFF_RCX, OFF_SW_EXIT_INFO1, OFF_VALID_BITMAP,
    VALID_BITMAP_LEN,
};

/// At most this many disjoint spans per direction; past it the last span
/// grows over the rest (a superset, so still correct).
const MAX_SPANS: usize = 12;

/// Sorted, disjoint, non-adjacent byte spans inside the 4 KiB page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spans {
    spans: [(u16, u16); MAX_SPANS],
    len: usize,
}

impl Default for Spans {
    fn default() -> Self {
        Self::new()
    }
}

impl Spans {
    pub const fn new() -> Self {
        Self {
            spans: [(0, 0); MAX_SPANS],
            len: 0,
        }
    }

    /// Adds [start, end), clipped to the page; merges with touching spans.
    pub fn add(&mut self, start: usize, end: usize) {
        let end = end.min(GHCB_SIZE);
        if start >= end {
            return;
        }
        let (mut s, mut e) = (start as u16, end as u16);
        let mut out = Self::new();
        let mut placed = false;
        for &(a, b) in self.spans.iter().take(self.len) {
            if b < s {
                out.push(a, b);
            } else if a > e {
                if !placed {
                    out.push(s, e);
                    placed = true;
                }
                out.push(a, b);
            } else {
                // Touches [s, e): widen [s, e) over it.
                s = s.min(a);
                e = e.max(b);
            }
        }
        if !placed {
            out.push(s, e);
        }
        *self = out;
    }

    /// Appends [a, b), above every span held; when full, the last span
    /// grows over it instead (a superset, never less than asked for).
    fn push(&mut self, a: u16, b: u16) {
        if let Some(slot) = self.spans.get_mut(self.len) {
            *slot = (a, b);
            self.len += 1;
        } else if let Some(last) = self.spans.last_mut() {
            last.1 = b;
        }
    }

    /// The spans as byte ranges, ascending; each lies inside 0..4096.
    pub fn iter(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.spans
            .iter()
            .take(self.len)
            .map(|&(a, b)| a as usize..b as usize)
    }

    /// Total number of bytes.
    pub fn bytes(&self) -> usize {
        self.iter().map(|r| r.len()).sum()
    }
}

/// The byte ranges one exit copies out to the shared GHCB page and back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GhcbCopy {
    out: Spans,
    back: Spans,
}

impl GhcbCopy {
    /// The whole page both ways (for tests and for a caller that wants it).
    pub fn full() -> Self {
        let mut all = Spans::new();
        all.add(0, GHCB_SIZE);
        Self {
            out: all,
            back: all,
        }
    }

    /// The plan for an exit whose inputs are set in `ghcb` (valid bits), with
    /// `scratch_out` sent from and `scratch_back` returned into the page
    /// (offsets in the page, inside the shared buffer).
    pub fn for_exit(
        ghcb: &Ghcb,
        scratch_out: Option<Range<usize>>,
        scratch_back: Option<Range<usize>>,
    ) -> Self {
        let mut out = Spans::new();
        let bitmap = ghcb.valid_bitmap();
        for bit in 0..128usize {
            if bitmap & (1u128 << bit) != 0 {
                out.add(bit * 8, bit * 8 + 8);
            }
        }
        out.add(OFF_VALID_BITMAP, OFF_VALID_BITMAP + VALID_BITMAP_LEN);
        // Protocol version (u16 at 0xFFA) and usage (u32 at 0xFFC).
        out.add(OFF_PROTOCOL_VERSION, GHCB_SIZE);
        if let Some(r) = scratch_out {
            out.add(r.start, r.end);
        }

        let mut back = Spans::new();
        back.add(OFF_VALID_BITMAP, OFF_VALID_BITMAP + VALID_BITMAP_LEN);
        back.add(OFF_RAX, OFF_RAX + 8);
        // RCX, RDX, RBX are adjacent (0x308, 0x310, 0x318).
        back.add(OFF_RCX, OFF_RCX + 24);
        // SW_EXITINFO1 and SW_EXITINFO2 (0x398, 0x3A0).
        back.add(OFF_SW_EXIT_INFO1, OFF_SW_EXIT_INFO1 + 16);
        if let Some(r) = scratch_back {
            back.add(r.start, r.end);
        }
        Self { out, back }
    }

    /// Ranges to copy from the private copy into the shared page before VMGEXIT.
    pub fn out(&self) -> &Spans {
        &self.out
    }

    /// Ranges to copy from the shared page into the private copy after VMGEXIT.
    pub fn back(&self) -> &Spans {
        &self.back
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn v(s: &Spans) -> Vec<(usize, usize)> {
        s.iter().map(|r| (r.start, r.end)).collect()
    }

    #[test]
    fn spans_merge_and_sort() {
        let mut s = Spans::new();
        s.add(0x20, 0x28);
        s.add(0x08, 0x10);
        s.add(0x10, 0x18); // touches 0x08..0x10
        s.add(0x100, 0x100); // empty
        s.add(0xFF8, 0x2000); // clipped
        assert_eq!(v(&s), [(0x08, 0x18), (0x20, 0x28), (0xFF8, 0x1000)]);
        s.add(0x0, 0x30);
        assert_eq!(v(&s), [(0x0, 0x30), (0xFF8, 0x1000)]);
        assert_eq!(s.bytes(), 0x30 + 8);
    }

    #[test]
    fn spans_overflow_collapses_to_a_superset() {
        let mut s = Spans::new();
        for i in 0..20 {
            s.add(i * 0x40, i * 0x40 + 8);
        }
        for i in 0..20 {
            let off = i * 0x40;
            assert!(
                s.iter().any(|r| r.start <= off && off + 8 <= r.end),
                "{off:#x}"
            );
        }
    }

    #[test]
    fn plan_for_io_out() {
        let mut g = Ghcb::new();
        g.set_rax(0x41);
        g.set_sw_exit_code(0x7B);
        g.set_sw_exit_info1(0x03F8_0090);
        g.set_sw_exit_info2(0);
        let p = GhcbCopy::for_exit(&g, None, None);
        // RAX, exit code + infos, bitmap, version + usage.
        assert_eq!(
            v(p.out()),
            [
                (0x1F8, 0x200),
                (0x390, 0x3A8),
                (0x3F0, 0x400),
                (0xFFA, 0x1000)
            ]
        );
        assert_eq!(
            v(p.back()),
            [
                (0x1F8, 0x200),
                (0x308, 0x320),
                (0x398, 0x3A8),
                (0x3F0, 0x400)
            ]
        );
        assert!(p.out().bytes() + p.back().bytes() < 160);
        let p = GhcbCopy::for_exit(&g, Some(0x800..0x808), Some(0x800..0x810));
        assert!(v(p.out()).contains(&(0x800, 0x808)));
        assert!(v(p.back()).contains(&(0x800, 0x810)));
        assert_eq!(v(GhcbCopy::full().out()), [(0, 0x1000)]);
    }
}
