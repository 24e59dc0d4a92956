//! One NAE exit as KVM's `sev_handle_vmgexit` runs it, on the host's image
//! of the GHCB page.

use super::layout::*;
use super::{Event, MockHypervisor, PscScratchLen, Stop, JUNK};

/// What an exit handler decided.
pub(super) enum Outcome {
    /// SW_EXITINFO1/2 are already set (success or a handler's own answer).
    Done,
    /// `svm_vmgexit_bad_input`: SW_EXITINFO1 = 2, SW_EXITINFO2 = reason.
    BadInput(u64),
    /// KVM returned an error to userspace: the VM stops.
    Stop(Stop),
}

/// The exit's inputs as `sev_es_sync_from_ghcb` took them.
pub(super) struct Inputs {
    pub page: [u8; PAGE],
    pub exit_code: u64,
    pub info1: u64,
    pub info2: u64,
    /// SW_SCRATCH if valid, else 0.
    pub scratch: u64,
}

impl Inputs {
    pub fn valid(&self, off: usize) -> bool {
        is_valid(&self.page, off)
    }
}

/// RAX, RBX, RCX, RDX as KVM holds them during the exit.
#[derive(Default)]
pub(super) struct Regs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
}

impl MockHypervisor {
    /// Runs one exit on `page`; false if the VM stopped (the guest is not
    /// resumed, so it reads nothing back).
    pub(super) fn handle_ghcb_exit(&mut self, gpa: u64, page: &mut [u8; PAGE]) -> bool {
        // sev_es_sync_from_ghcb: registers only from valid fields, exit
        // fields as they are, then the valid bitmap is cleared.
        let input = Inputs {
            page: *page,
            exit_code: rd64(page, SW_EXIT_CODE),
            info1: rd64(page, SW_EXIT_INFO1),
            info2: rd64(page, SW_EXIT_INFO2),
            scratch: if is_valid(page, SW_SCRATCH) {
                rd64(page, SW_SCRATCH)
            } else {
                0
            },
        };
        let take = |off| {
            if is_valid(page, off) {
                rd64(page, off)
            } else {
                0
            }
        };
        let mut regs = Regs {
            rax: take(RAX),
            rbx: take(RBX),
            rcx: take(RCX),
            rdx: take(RDX),
        };
        if is_valid(page, XCR0) {
            self.xcr0 = rd64(page, XCR0);
        }
        clear_bitmap(page);

        let outcome = if self.registered_ghcb != Some(gpa) {
            // "SEV-SNP guest requires that the GHCB GPA must be registered".
            Outcome::Stop(Stop::GhcbNotRegistered { gpa })
        } else {
            match validate(&input, regs.rax) {
                Err(reason) => Outcome::BadInput(reason),
                Ok(()) => {
                    // svm_vmgexit_success(svm, 0) before dispatch.
                    set_field(page, SW_EXIT_INFO1, 0);
                    set_field(page, SW_EXIT_INFO2, 0);
                    self.dispatch(gpa, &input, &mut regs, page)
                }
            }
        };
        match outcome {
            Outcome::Stop(why) => {
                self.stop(why);
                self.record_exit(&input, page);
                return false;
            }
            Outcome::BadInput(reason) => {
                set_field(page, SW_EXIT_INFO1, RESP_MALFORMED_INPUT);
                set_field(page, SW_EXIT_INFO2, reason);
            }
            Outcome::Done => {}
        }
        if let Some((r1, r2)) = self.config.fail_next_exit.take() {
            set_field(page, SW_EXIT_INFO1, r1);
            set_field(page, SW_EXIT_INFO2, r2);
        }
        // The answer as decided, before any junk below.
        self.record_exit(&input, page);
        if self.config.garbage {
            // Junk in fields that are not outputs, and in the bits of the
            // registers above what the exit defines.
            for off in (0..RAX).step_by(8) {
                wr64(page, off, JUNK);
            }
            regs.rax |= JUNK & 0xFFFF_FFFF_0000_0000;
            regs.rbx |= JUNK & 0xFFFF_FFFF_0000_0000;
            regs.rcx |= JUNK & 0xFFFF_FFFF_0000_0000;
            regs.rdx |= JUNK & 0xFFFF_FFFF_0000_0000;
            // Only SW_EXITINFO1[31:0] carries the result.
            let r1 = rd64(page, SW_EXIT_INFO1);
            if r1 as u32 == 0 {
                wr64(page, SW_EXIT_INFO1, r1 | 0xFFFF_FFFF_0000_0000);
            }
        }
        // sev_es_sync_to_ghcb: RAX..RDX, written and marked valid.
        set_field(page, RAX, regs.rax);
        set_field(page, RBX, regs.rbx);
        set_field(page, RCX, regs.rcx);
        set_field(page, RDX, regs.rdx);
        if let Some(off) = self.config.omit_output_valid {
            if rd64(page, SW_EXIT_INFO1) as u32 == 0 {
                clear_valid(page, off);
            }
        }
        true
    }

    fn record_exit(&mut self, input: &Inputs, page: &[u8; PAGE]) {
        self.events.push(Event::GhcbExit {
            exit_code: input.exit_code,
            info1: input.info1,
            info2: input.info2,
            result_info1: rd64(page, SW_EXIT_INFO1),
            result_info2: rd64(page, SW_EXIT_INFO2),
        });
    }

    fn dispatch(
        &mut self,
        gpa: u64,
        input: &Inputs,
        regs: &mut Regs,
        page: &mut [u8; PAGE],
    ) -> Outcome {
        match input.exit_code {
            EXIT_MMIO_READ | EXIT_MMIO_WRITE => self.exit_mmio(gpa, input, page),
            EXIT_NMI_COMPLETE | EXIT_AP_HLT_LOOP => Outcome::Done,
            EXIT_AP_JUMP_TABLE => match input.info1 {
                0 => {
                    self.ap_jump_table = input.info2;
                    Outcome::Done
                }
                1 => {
                    set_field(page, SW_EXIT_INFO2, self.ap_jump_table);
                    Outcome::Done
                }
                _ => Outcome::BadInput(ERR_INVALID_INPUT),
            },
            EXIT_HV_FEATURES => {
                set_field(page, SW_EXIT_INFO2, self.config.hv_features);
                Outcome::Done
            }
            EXIT_TERM_REQUEST => Outcome::Stop(Stop::Terminated {
                // GHCB spec §4.1.13: SW_EXITINFO1[3:0] set, [11:4] code.
                set: (input.info1 & 0xF) as u8,
                code: ((input.info1 >> 4) & 0xFF) as u8,
            }),
            EXIT_PSC => match self.psc_area(gpa, input) {
                Err(reason) => Outcome::BadInput(reason),
                Ok((off, max_entries)) => {
                    let info2 = self.psc(page, off, max_entries);
                    set_field(page, SW_EXIT_INFO2, info2);
                    Outcome::Done
                }
            },
            EXIT_AP_CREATION => self.exit_ap_creation(input, regs.rax),
            EXIT_GUEST_REQUEST | EXIT_EXT_GUEST_REQUEST => {
                let result = self.exit_guest_request(input.info1, input.info2);
                set_field(page, SW_EXIT_INFO2, result);
                Outcome::Done
            }
            EXIT_UNSUPPORTED_EVENT => Outcome::Stop(Stop::UnsupportedEvent),
            EXIT_IOIO => self.exit_ioio(gpa, input, regs, page),
            EXIT_CPUID => self.exit_cpuid(regs),
            EXIT_MSR => self.exit_msr(input, regs, page),
            EXIT_RDTSC | EXIT_RDTSCP => self.exit_rdtsc(input.exit_code == EXIT_RDTSCP, regs),
            EXIT_READ_DR7 => {
                regs.rax = self.dr7;
                Outcome::Done
            }
            EXIT_WRITE_DR7 => {
                self.dr7 = regs.rax;
                Outcome::Done
            }
            // RDPMC, INVD, WBINVD, VMMCALL, MONITOR, MWAIT: nothing to model.
            _ => Outcome::Done,
        }
    }
}

/// `sev_es_validate_vmgexit`: Err(GHCB_ERR_*) for SW_EXITINFO2.
fn validate(input: &Inputs, rax: u64) -> Result<(), u64> {
    // Only GHCB usage 0 is supported. (KVM does not check the protocol
    // version field.)
    if rd32(&input.page, USAGE) != 0 {
        return Err(ERR_INVALID_USAGE);
    }
    let missing = Err(ERR_MISSING_INPUT);
    let v = |off| input.valid(off);
    if !v(SW_EXIT_CODE) || !v(SW_EXIT_INFO1) || !v(SW_EXIT_INFO2) {
        return missing;
    }
    let ok = match input.exit_code {
        EXIT_READ_DR7 | EXIT_RDTSC | EXIT_INVD | EXIT_RDTSCP | EXIT_WBINVD => true,
        EXIT_WRITE_DR7 => v(RAX),
        EXIT_RDPMC => v(RCX),
        EXIT_CPUID => v(RAX) && v(RCX) && (rax != 0xD || v(XCR0)),
        EXIT_IOIO => {
            if input.info1 & IOIO_STR != 0 {
                v(SW_SCRATCH)
            } else {
                input.info1 & IOIO_TYPE_IN != 0 || v(RAX)
            }
        }
        EXIT_MSR => v(RCX) && (input.info1 == 0 || (v(RAX) && v(RDX))),
        EXIT_VMMCALL => v(RAX) && v(CPL),
        EXIT_MONITOR => v(RAX) && v(RCX) && v(RDX),
        EXIT_MWAIT => v(RAX) && v(RCX),
        EXIT_MMIO_READ | EXIT_MMIO_WRITE => v(SW_SCRATCH),
        EXIT_AP_CREATION => input.info1 & 0xFFFF_FFFF == AP_DESTROY || v(RAX),
        EXIT_NMI_COMPLETE
        | EXIT_AP_HLT_LOOP
        | EXIT_AP_JUMP_TABLE
        | EXIT_UNSUPPORTED_EVENT
        | EXIT_HV_FEATURES
        | EXIT_TERM_REQUEST => true,
        EXIT_PSC => v(SW_SCRATCH),
        EXIT_GUEST_REQUEST | EXIT_EXT_GUEST_REQUEST => {
            input.info1.is_multiple_of(0x1000)
                && input.info2.is_multiple_of(0x1000)
                && input.info1 != input.info2
        }
        _ => return Err(ERR_INVALID_EVENT),
    };
    if ok {
        Ok(())
    } else {
        missing
    }
}

impl MockHypervisor {
    /// The PSC buffer: (offset in the page, entry limit), or the
    /// GHCB_ERR_* reason the scratch area is refused with.
    fn psc_area(&self, gpa: u64, input: &Inputs) -> Result<(usize, usize), u64> {
        match self.config.psc_scratch_len {
            // setup_vmgexit_scratch(svm, true, exit_info_2), which has no
            // zero-length check; end_entry < VMGEXIT_PSC_MAX_COUNT.
            PscScratchLen::ExitInfo2 => scratch_in_ghcb(gpa, input.scratch, input.info2)
                .map(|(off, _)| (off, PSC_MAX_COUNT)),
            // setup_vmgexit_scratch(svm, true, sizeof(struct psc_hdr));
            // max_nr_entries = (ghcb_sa_len - 8) / 8.
            PscScratchLen::Header => scratch_area(gpa, input.scratch, PSC_HEADER_LEN as u64)
                .map(|(off, room)| (off, (room - PSC_HEADER_LEN) / PSC_ENTRY_LEN)),
        }
    }
}

/// `setup_vmgexit_scratch` for GHCB v2 (KVM since the 2026 fixes): a zero
/// length is refused (WARN_ON_ONCE), the scratch area must begin in the
/// GHCB page and lie inside its shared buffer (0x800..0xFF0); a scratch area
/// elsewhere is refused. Returns (offset in the page, usable length up to
/// the end of the shared buffer).
pub(super) fn scratch_area(gpa: u64, scratch: u64, min_len: u64) -> Result<(usize, usize), u64> {
    if min_len == 0 {
        return Err(ERR_INVALID_SCRATCH_AREA);
    }
    scratch_in_ghcb(gpa, scratch, min_len)
}

/// The checks of `setup_vmgexit_scratch` both KVM versions make (released
/// KVM accepts a zero length: the area is then just its start address).
fn scratch_in_ghcb(gpa: u64, scratch: u64, len: u64) -> Result<(usize, usize), u64> {
    let bad = Err(ERR_INVALID_SCRATCH_AREA);
    if scratch == 0 {
        return bad;
    }
    let Some(end) = scratch.checked_add(len) else {
        return bad;
    };
    if scratch & !0xFFF != gpa {
        return bad;
    }
    let begin = gpa + SHARED_BUFFER as u64;
    let limit = gpa + SHARED_BUFFER_END as u64;
    if scratch < begin || end > limit {
        return bad;
    }
    Ok(((scratch - gpa) as usize, (limit - scratch) as usize))
}
