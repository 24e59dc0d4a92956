//! GHCB NAE exit handling: GHCB page checks, exit dispatch, and the PSC NAE.

use super::{Event, MockHypervisor, JUNK};
use crate::ghcb::{Ghcb, OFF_RAX, OFF_SHARED_BUFFER, SHARED_BUFFER_LEN};
use crate::msr_protocol as msrp;
use crate::msr_protocol::PscOp;
use crate::nae::{self, ghcb_err, psc};
use crate::PageSize;

/// An input field of the exit, or `GHCB_ERR_MISSING_INPUT` if its valid bit is clear.
pub(super) fn need(g: &Ghcb, off: usize) -> Result<u64, u64> {
    g.field_if_valid(off).ok_or(ghcb_err::MISSING_INPUT)
}

impl MockHypervisor {
    /// Validates the GHCB page and dispatches; Err = GHCB_ERR_* reason.
    pub(super) fn handle_exit(&mut self, gpa: u64, g: &mut Ghcb) -> Result<u64, u64> {
        if self.registered_ghcb != Some(gpa) {
            return Err(ghcb_err::NOT_REGISTERED);
        }
        if self.rmp(gpa).assigned || self.is_mapped_encrypted(gpa) {
            // The hypervisor would read ciphertext: garbage usage/version.
            return Err(ghcb_err::INVALID_USAGE);
        }
        if g.usage() != 0 || g.protocol_version() != msrp::GHCB_PROTOCOL_VERSION {
            return Err(ghcb_err::INVALID_USAGE);
        }
        let exit_code = need(g, crate::ghcb::OFF_SW_EXIT_CODE)?;
        let info1 = need(g, crate::ghcb::OFF_SW_EXIT_INFO1)?;
        let info2 = need(g, crate::ghcb::OFF_SW_EXIT_INFO2)?;
        let junk = self.config.garbage;

        // Inputs read; from now on the bitmap describes outputs only.
        let inputs = g.clone();
        g.clear_valid_bitmap();
        if junk {
            for off in (0..OFF_RAX).step_by(8) {
                g.write_u64(off, JUNK);
            }
            g.set_rbx(JUNK);
            g.set_rcx(JUNK);
            g.set_rdx(JUNK);
        }

        match exit_code {
            nae::EXIT_CPUID => self.exit_cpuid(&inputs, g),
            nae::EXIT_IOIO => self.exit_ioio(info1, &inputs, g),
            nae::EXIT_MSR => self.exit_msr(info1, &inputs, g),
            nae::EXIT_MMIO_READ | nae::EXIT_MMIO_WRITE => {
                self.exit_mmio(gpa, exit_code, info1, info2, &inputs, g)
            }
            nae::EXIT_PSC => {
                let scratch = need(&inputs, crate::ghcb::OFF_SW_SCRATCH)?;
                let off = self.scratch_offset(gpa, scratch, psc::HEADER_LEN)?;
                Ok(self.handle_psc(g, off))
            }
            nae::EXIT_GUEST_REQUEST => self.exit_guest_request(info1, info2),
            nae::EXIT_HV_FEATURES => Ok(self.config.hv_features),
            nae::EXIT_TERMINATION => {
                let set = (info1 & 0xF) as u8;
                let code = ((info1 >> 8) & 0xFF) as u8;
                self.terminated = Some((set, code));
                self.events.push(Event::Terminate { set, code });
                Ok(0)
            }
            _ => Err(ghcb_err::INVALID_EVENT),
        }
    }

    /// Scratch area must lie in the GHCB shared buffer (KVM
    /// `setup_vmgexit_scratch`); returns its offset in the page.
    pub(super) fn scratch_offset(&self, gpa: u64, scratch: u64, len: usize) -> Result<usize, u64> {
        let begin = gpa + OFF_SHARED_BUFFER as u64;
        let end = begin + SHARED_BUFFER_LEN as u64;
        match scratch.checked_add(len as u64) {
            Some(e) if scratch >= begin && e <= end => Ok((scratch - gpa) as usize),
            _ => Err(ghcb_err::INVALID_SCRATCH_AREA),
        }
    }

    /// PSC NAE on the buffer at page offset `off`; returns SW_EXITINFO2.
    fn handle_psc(&mut self, g: &mut Ghcb, off: usize) -> u64 {
        if let Some(e) = self.config.psc_error {
            return e;
        }
        let mut cur = g.read_u16(off);
        let end = g.read_u16(off + 2);
        if end as usize >= psc::MAX_ENTRIES || cur > end.saturating_add(1) {
            return psc::ERROR_INVALID_HDR;
        }
        if self.config.psc_stall {
            return 0;
        }
        let mut budget = self.config.psc_max_per_exit;
        while cur <= end && budget > 0 {
            let eoff = off + psc::HEADER_LEN + cur as usize * psc::ENTRY_LEN;
            let raw = g.read_u64(eoff);
            let cur_page = raw & 0xFFF;
            let gpa = ((raw >> 12) & 0xFF_FFFF_FFFF) << 12;
            let size = if raw >> 56 & 1 != 0 {
                PageSize::Size2M
            } else {
                PageSize::Size4K
            };
            let op = match (raw >> 52) & 0xF {
                1 => PscOp::Private,
                2 => PscOp::Shared,
                _ => return psc::ERROR_INVALID_ENTRY,
            };
            let pages = size.bytes() >> 12;
            if cur_page > pages || !gpa.is_multiple_of(size.bytes()) {
                return psc::ERROR_INVALID_ENTRY;
            }
            if !self.config.psc_pretend {
                self.apply_psc(gpa, op, size);
            }
            g.write_u64(eoff, raw & !0xFFF | pages);
            cur += 1;
            budget -= 1;
            g.write_u16(off, cur);
        }
        0
    }
}
