//! A mock hypervisor + SNP hardware implementing [`SnpHardware`] from the
//! specifications, for host tests (here and in the kernel crate, feature
//! `mock`). Uses `alloc`, not `std`.
//!
//! Modelled:
//! * RMP per 4 KiB page: hypervisor-owned (shared) or guest-assigned
//!   (private), validated bit, 2 MiB page size (APM vol. 2 §15.36).
//! * PVALIDATE (APM vol. 3): misaligned -> FAIL_INPUT; 2 MiB over 4 KiB RMP
//!   entries -> FAIL_SIZEMISMATCH; unchanged state -> CF=1 with no change;
//!   4 KiB inside a 2 MiB RMP entry -> the hypervisor PSMASHes (real
//!   hardware raises #NPF with the size-mismatch bit and KVM smashes), then it
//!   proceeds. Not-assigned pages raise an RMP #NPF on hardware, which the
//!   guest never sees; the mock returns FAIL_PERMISSION as a visible stand-in.
//! * GHCB MSR protocol (GHCB spec §2.3.1) and NAE exits checked like Linux KVM
//!   `sev_es_validate_vmgexit`: registered GHCB GPA, page shared and mapped
//!   without C-bit, version 2, usage 0, valid bits of the inputs. Errors come
//!   back as SW_EXITINFO1 = 2, SW_EXITINFO2 = GHCB_ERR_*. On success the
//!   valid bitmap is cleared and only outputs are marked valid.
//! * PSC NAE with cur_entry/end_entry progress (end inclusive, as KVM).
//! * Devices: IOIO (writes recorded, reads scripted), MSRs, MMIO, and a
//!   pluggable guest-request responder.
//!
//! Knobs in [`MockConfig`] make it misbehave (refuse registration, stall or
//! fail PSC, garbage in non-output fields, failed exits, missing valid bits).

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;

use crate::ghcb::{
    Ghcb, OFF_RAX, OFF_RCX, OFF_RDX, OFF_SHARED_BUFFER, OFF_XCR0, SAVE_AREA_END, SHARED_BUFFER_LEN,
};
use crate::msr_protocol as msrp;
use crate::msr_protocol::PscOp;
use crate::nae::{self, ghcb_err, ioio, psc};
use crate::pvalidate_rc::{FAIL_INPUT, FAIL_PERMISSION, FAIL_SIZEMISMATCH, SUCCESS};
use crate::{PageSize, SnpHardware, PAGE_SIZE_2M, PAGE_SIZE_4K};

/// RMP state of one 4 KiB page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RmpEntry {
    /// Assigned to the guest (private). False = hypervisor-owned/shared.
    pub assigned: bool,
    pub validated: bool,
    /// Part of a 2 MiB RMP entry.
    pub size_2m: bool,
}

/// Everything the mock saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Msr {
        request: u64,
        response: u64,
    },
    GhcbExit {
        exit_code: u64,
        info1: u64,
        info2: u64,
        result_info1: u64,
        result_info2: u64,
    },
    Pvalidate {
        vaddr: u64,
        size: PageSize,
        validate: bool,
        rc: u32,
        cf: bool,
    },
    /// The hypervisor split a 2 MiB RMP entry into 4 KiB entries.
    Psmash {
        gpa: u64,
    },
    SetEncrypted {
        vaddr: u64,
        encrypted: bool,
    },
    /// A page state change applied (MSR protocol or NAE entry).
    Psc {
        gpa: u64,
        op: PscOp,
        size: PageSize,
    },
    Terminate {
        set: u8,
        code: u8,
    },
    IoOut {
        port: u16,
        value: u32,
    },
    IoIn {
        port: u16,
        value: u32,
    },
    MsrWrite {
        msr: u32,
        value: u64,
    },
    MsrRead {
        msr: u32,
    },
    Cpuid {
        leaf: u32,
        subleaf: u32,
        xcr0: Option<u64>,
    },
    MmioWrite {
        gpa: u64,
        len: usize,
        value: u64,
    },
    MmioRead {
        gpa: u64,
        len: usize,
    },
    GuestRequest {
        req_gpa: u64,
        resp_gpa: u64,
        result: u64,
    },
}

/// Behaviour switches.
#[derive(Debug, Clone)]
pub struct MockConfig {
    pub ghcb_min_version: u16,
    pub ghcb_max_version: u16,
    /// C-bit reported in the SEV-info response.
    pub c_bit: u8,
    pub refuse_registration: bool,
    /// Answer registration with this GFN instead of the requested one.
    pub registration_answer_gfn: Option<u64>,
    pub hv_features: u64,
    pub preferred_ghcb_gfn: u64,
    /// Error field of MSR-protocol PSC responses.
    pub msr_psc_error: u32,
    /// PSC NAE entries processed per exit.
    pub psc_max_per_exit: usize,
    /// PSC NAE returns success without processing anything.
    pub psc_stall: bool,
    /// PSC NAE returns this SW_EXITINFO2 error.
    pub psc_error: Option<u64>,
    /// Back 2 MiB private PSC entries with 4 KiB RMP entries.
    pub psc_2m_as_4k: bool,
    /// PSC NAE reports every entry done without changing the RMP (a lying
    /// hypervisor; PVALIDATE then catches it).
    pub psc_pretend: bool,
    /// The next NAE exit (only) fails with this (SW_EXITINFO1, SW_EXITINFO2).
    pub fail_next_exit: Option<(u64, u64)>,
    /// Clear the valid bit of this GHCB offset in successful responses.
    pub omit_output_valid: Option<usize>,
    /// Write junk into non-output fields and unused register bits.
    pub garbage: bool,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            ghcb_min_version: 1,
            ghcb_max_version: 2,
            c_bit: 51,
            refuse_registration: false,
            registration_answer_gfn: None,
            hv_features: msrp::HV_FEATURE_SNP | msrp::HV_FEATURE_AP_CREATION,
            preferred_ghcb_gfn: msrp::GHCB_REGISTRATION_REFUSED_GFN,
            msr_psc_error: 0,
            psc_max_per_exit: usize::MAX,
            psc_stall: false,
            psc_error: None,
            psc_2m_as_4k: false,
            psc_pretend: false,
            fail_next_exit: None,
            omit_output_valid: None,
            garbage: false,
        }
    }
}

type Responder = Box<dyn FnMut(u64, u64) -> u64>;

/// The mock. Pages absent from the RMP map are hypervisor-owned; pages are
/// mapped with the C-bit unless the guest cleared it.
pub struct MockHypervisor {
    pub config: MockConfig,
    rmp: BTreeMap<u64, RmpEntry>,
    unencrypted: BTreeSet<u64>,
    registered_ghcb: Option<u64>,
    events: Vec<Event>,
    cpuid: BTreeMap<(u32, u32), [u32; 4]>,
    io_in_script: BTreeMap<u16, VecDeque<u32>>,
    msrs: BTreeMap<u32, u64>,
    mmio: BTreeMap<u64, u64>,
    guest_request: Option<Responder>,
    terminated: Option<(u8, u8)>,
    exit_count: usize,
}

impl Default for MockHypervisor {
    fn default() -> Self {
        Self::new(MockConfig::default())
    }
}

/// See the guard in `ghcb_exit`.
const MAX_EXITS: usize = 10_000;

const JUNK: u64 = 0xDEAD_BEEF_A5A5_5A5A;

impl MockHypervisor {
    pub fn new(config: MockConfig) -> Self {
        let mut cpuid = BTreeMap::new();
        cpuid.insert((0x8000_001F, 0), [0x0001_019F, 0x173, 0x1FD, 1]);
        Self {
            config,
            rmp: BTreeMap::new(),
            unencrypted: BTreeSet::new(),
            registered_ghcb: None,
            events: Vec::new(),
            cpuid,
            io_in_script: BTreeMap::new(),
            msrs: BTreeMap::new(),
            mmio: BTreeMap::new(),
            guest_request: None,
            terminated: None,
            exit_count: 0,
        }
    }

    // ---- setup and inspection ----

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

    /// Whether the guest maps the page with the C-bit.
    pub fn is_mapped_encrypted(&self, gpa: u64) -> bool {
        !self.unencrypted.contains(&(gpa >> 12))
    }

    pub fn registered_ghcb(&self) -> Option<u64> {
        self.registered_ghcb
    }

    pub fn terminated(&self) -> Option<(u8, u8)> {
        self.terminated
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        core::mem::take(&mut self.events)
    }

    pub fn set_cpuid(&mut self, leaf: u32, subleaf: u32, regs: [u32; 4]) {
        self.cpuid.insert((leaf, subleaf), regs);
    }

    /// Values returned by successive IN from `port` (0xFFFF_FFFF when empty,
    /// like a floating bus).
    pub fn script_io_in(&mut self, port: u16, values: &[u32]) {
        self.io_in_script
            .entry(port)
            .or_default()
            .extend(values.iter().copied());
    }

    pub fn msr(&self, msr: u32) -> Option<u64> {
        self.msrs.get(&msr).copied()
    }

    pub fn set_msr(&mut self, msr: u32, value: u64) {
        self.msrs.insert(msr, value);
    }

    pub fn mmio(&self, gpa: u64) -> Option<u64> {
        self.mmio.get(&gpa).copied()
    }

    pub fn set_mmio(&mut self, gpa: u64, value: u64) {
        self.mmio.insert(gpa, value);
    }

    /// `f(req_gpa, resp_gpa)` returns SW_EXITINFO2.
    pub fn set_guest_request_responder(&mut self, f: impl FnMut(u64, u64) -> u64 + 'static) {
        self.guest_request = Some(Box::new(f));
    }

    // ---- RMP operations (hypervisor side) ----

    fn psmash(&mut self, gpa: u64) {
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
    fn apply_psc(&mut self, gpa: u64, op: PscOp, size: PageSize) {
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

    // ---- MSR protocol ----

    fn msr_protocol_response(&mut self, v: u64) -> u64 {
        let c = &self.config;
        match v & 0xFFF {
            msrp::SEV_INFO_REQ => {
                (c.ghcb_max_version as u64) << 48
                    | (c.ghcb_min_version as u64) << 32
                    | (c.c_bit as u64) << 24
                    | msrp::SEV_INFO_RESP
            }
            msrp::CPUID_REQ => {
                let leaf = (v >> 32) as u32;
                let reg = ((v >> 30) & 3) as usize;
                let regs = self.cpuid.get(&(leaf, 0)).copied().unwrap_or_default();
                let val = regs.get(reg).copied().unwrap_or_default();
                (val as u64) << 32 | (reg as u64) << 30 | msrp::CPUID_RESP
            }
            msrp::AP_RESET_HOLD_REQ => 1 << 12 | msrp::AP_RESET_HOLD_RESP,
            msrp::PREFERRED_GHCB_REQ => c.preferred_ghcb_gfn << 12 | msrp::PREFERRED_GHCB_RESP,
            msrp::REGISTER_GHCB_REQ => {
                let gfn = v >> 12;
                if c.refuse_registration {
                    msrp::GHCB_REGISTRATION_REFUSED_GFN << 12 | msrp::REGISTER_GHCB_RESP
                } else if let Some(other) = c.registration_answer_gfn {
                    other << 12 | msrp::REGISTER_GHCB_RESP
                } else {
                    self.registered_ghcb = Some(gfn << 12);
                    gfn << 12 | msrp::REGISTER_GHCB_RESP
                }
            }
            msrp::PSC_REQ => {
                let gpa = ((v >> 12) & 0xFF_FFFF_FFFF) << 12;
                let op = match (v >> 52) & 0xF {
                    1 => Some(PscOp::Private),
                    2 => Some(PscOp::Shared),
                    _ => None,
                };
                let err = self.config.msr_psc_error;
                match op {
                    Some(op) if err == 0 => {
                        self.apply_psc(gpa, op, PageSize::Size4K);
                        msrp::PSC_RESP
                    }
                    // Linux KVM answers a bad op with a generic error.
                    None => 0x100 << 32 | msrp::PSC_RESP,
                    Some(_) => (err as u64) << 32 | msrp::PSC_RESP,
                }
            }
            msrp::HV_FEATURES_REQ => c.hv_features << 12 | msrp::HV_FEATURES_RESP,
            msrp::TERMINATION_REQ => {
                let set = ((v >> 12) & 0xF) as u8;
                let code = ((v >> 16) & 0xFF) as u8;
                self.terminated = Some((set, code));
                self.events.push(Event::Terminate { set, code });
                0
            }
            // Unknown request: KVM answers with an unchanged/zero response code.
            _ => 0,
        }
    }

    // ---- NAE exits ----

    /// Validates the GHCB page and dispatches; Err = GHCB_ERR_* reason.
    fn handle_exit(&mut self, gpa: u64, g: &mut Ghcb) -> Result<u64, u64> {
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
        let need = |g: &Ghcb, off: usize| g.field_if_valid(off).ok_or(ghcb_err::MISSING_INPUT);
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
            nae::EXIT_CPUID => {
                let leaf = need(&inputs, OFF_RAX)? as u32;
                let subleaf = need(&inputs, OFF_RCX)? as u32;
                let xcr0 = inputs.field_if_valid(OFF_XCR0);
                self.events.push(Event::Cpuid {
                    leaf,
                    subleaf,
                    xcr0,
                });
                if leaf == 0xD && xcr0.is_none() {
                    return Err(ghcb_err::MISSING_INPUT);
                }
                let mut regs = self
                    .cpuid
                    .get(&(leaf, subleaf))
                    .copied()
                    .unwrap_or_default();
                if leaf == 0xD && subleaf == 0 {
                    // XSAVE size for the enabled features: legacy+header 0x240,
                    // AVX state 0x100 more.
                    regs[1] = if xcr0.unwrap_or(1) & 0x4 != 0 {
                        0x340
                    } else {
                        0x240
                    };
                }
                let hi = if junk { 0xFFFF_FFFF_0000_0000 } else { 0 };
                g.set_rax(hi | regs[0] as u64);
                g.set_rbx(hi | regs[1] as u64);
                g.set_rcx(hi | regs[2] as u64);
                g.set_rdx(hi | regs[3] as u64);
                Ok(0)
            }
            nae::EXIT_IOIO => {
                if info1 & (ioio::STR | ioio::REP) != 0 {
                    return Err(ghcb_err::INVALID_INPUT);
                }
                let port = (info1 >> ioio::PORT_SHIFT) as u16;
                let mask = if info1 & ioio::SZ8 != 0 {
                    0xFF
                } else if info1 & ioio::SZ16 != 0 {
                    0xFFFF
                } else if info1 & ioio::SZ32 != 0 {
                    0xFFFF_FFFF
                } else {
                    return Err(ghcb_err::INVALID_INPUT);
                };
                if info1 & ioio::TYPE_IN != 0 {
                    let value = self
                        .io_in_script
                        .get_mut(&port)
                        .and_then(|q| q.pop_front())
                        .unwrap_or(0xFFFF_FFFF) as u64
                        & mask;
                    self.events.push(Event::IoIn {
                        port,
                        value: value as u32,
                    });
                    let rax = if junk { JUNK & !mask | value } else { value };
                    g.set_rax(rax);
                } else {
                    let value = need(&inputs, OFF_RAX)? & mask;
                    self.events.push(Event::IoOut {
                        port,
                        value: value as u32,
                    });
                }
                Ok(0)
            }
            nae::EXIT_MSR => {
                let msr = need(&inputs, OFF_RCX)? as u32;
                if info1 == 1 {
                    let lo = need(&inputs, OFF_RAX)? & 0xFFFF_FFFF;
                    let hi = need(&inputs, OFF_RDX)? & 0xFFFF_FFFF;
                    let value = hi << 32 | lo;
                    self.msrs.insert(msr, value);
                    self.events.push(Event::MsrWrite { msr, value });
                } else if info1 == 0 {
                    let value = self.msrs.get(&msr).copied().unwrap_or(0);
                    self.events.push(Event::MsrRead { msr });
                    let hi = if junk { 0xBAD0_0000_0000_0000 } else { 0 };
                    g.set_rax(hi | (value & 0xFFFF_FFFF));
                    g.set_rdx(hi | value >> 32);
                } else {
                    return Err(ghcb_err::INVALID_INPUT);
                }
                Ok(0)
            }
            nae::EXIT_MMIO_READ | nae::EXIT_MMIO_WRITE => {
                let len = info2 as usize;
                let scratch = need(&inputs, crate::ghcb::OFF_SW_SCRATCH)?;
                let buf_off = self.scratch_offset(gpa, scratch, len)?;
                if !matches!(len, 1 | 2 | 4 | 8) {
                    return Err(ghcb_err::INVALID_INPUT);
                }
                let mask = if len == 8 {
                    u64::MAX
                } else {
                    (1u64 << (len * 8)) - 1
                };
                if exit_code == nae::EXIT_MMIO_WRITE {
                    let mut b = [0u8; 8];
                    for (i, d) in b.iter_mut().enumerate().take(len) {
                        *d = inputs.as_bytes().get(buf_off + i).copied().unwrap_or(0);
                    }
                    let value = u64::from_le_bytes(b);
                    self.mmio.insert(info1, value);
                    self.events.push(Event::MmioWrite {
                        gpa: info1,
                        len,
                        value,
                    });
                } else {
                    let value = self.mmio.get(&info1).copied().unwrap_or(u64::MAX) & mask;
                    self.events.push(Event::MmioRead { gpa: info1, len });
                    if junk {
                        g.shared_buffer_mut().fill(0xEE);
                    }
                    let bytes = value.to_le_bytes();
                    if let Some(dst) = g.as_bytes_mut().get_mut(buf_off..buf_off + len) {
                        dst.copy_from_slice(&bytes[..len]);
                    }
                }
                Ok(0)
            }
            nae::EXIT_PSC => {
                let scratch = need(&inputs, crate::ghcb::OFF_SW_SCRATCH)?;
                let off = self.scratch_offset(gpa, scratch, psc::HEADER_LEN)?;
                Ok(self.handle_psc(g, off))
            }
            nae::EXIT_GUEST_REQUEST => {
                let ok = |m: &Self, a: u64| a.is_multiple_of(PAGE_SIZE_4K) && !m.rmp(a).assigned;
                if info1 == info2 || !ok(self, info1) || !ok(self, info2) {
                    return Err(ghcb_err::INVALID_INPUT);
                }
                let result = match self.guest_request.as_mut() {
                    Some(f) => f(info1, info2),
                    None => 0,
                };
                self.events.push(Event::GuestRequest {
                    req_gpa: info1,
                    resp_gpa: info2,
                    result,
                });
                Ok(result)
            }
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
    fn scratch_offset(&self, gpa: u64, scratch: u64, len: usize) -> Result<usize, u64> {
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

impl SnpHardware for MockHypervisor {
    fn msr_protocol(&mut self, value: u64) -> u64 {
        let response = self.msr_protocol_response(value);
        self.events.push(Event::Msr {
            request: value,
            response,
        });
        response
    }

    fn ghcb_exit(&mut self, ghcb_gpa: u64, ghcb: &mut Ghcb) {
        // Test harness guard: a guest loop that never gives up would hang the
        // test instead of failing it.
        self.exit_count += 1;
        assert!(
            self.exit_count <= MAX_EXITS,
            "guest made {} GHCB exits: runaway loop",
            self.exit_count
        );
        let exit_code = ghcb.sw_exit_code();
        let info1 = ghcb.sw_exit_info1();
        let info2 = ghcb.sw_exit_info2();
        let (r1, r2) = if let Some(forced) = self.config.fail_next_exit.take() {
            forced
        } else {
            match self.handle_exit(ghcb_gpa, ghcb) {
                Ok(r2) => (0, r2),
                Err(reason) => (2, reason),
            }
        };
        if self.config.garbage {
            // Junk in the reserved part of the save area.
            ghcb.write_u64(SAVE_AREA_END - 8, JUNK);
        }
        if r1 != 0 {
            ghcb.clear_valid_bitmap();
        }
        ghcb.set_sw_exit_info1(if self.config.garbage && r1 == 0 {
            // Only bits 31:0 carry the result.
            0xFFFF_FFFF_0000_0000
        } else {
            r1
        });
        ghcb.set_sw_exit_info2(r2);
        if r1 == 0 {
            if let Some(off) = self.config.omit_output_valid {
                let bm = ghcb.valid_bitmap() & !(1u128 << (off / 8));
                ghcb.set_valid_bitmap(bm);
            }
        }
        self.events.push(Event::GhcbExit {
            exit_code,
            info1,
            info2,
            result_info1: r1,
            result_info2: r2,
        });
    }

    fn pvalidate(&mut self, vaddr: u64, size: PageSize, validate: bool) -> (u32, bool) {
        let (rc, cf) = self.pvalidate_inner(vaddr, size, validate);
        self.events.push(Event::Pvalidate {
            vaddr,
            size,
            validate,
            rc,
            cf,
        });
        (rc, cf)
    }

    fn set_page_encrypted(&mut self, vaddr: u64, encrypted: bool) {
        if encrypted {
            self.unencrypted.remove(&(vaddr >> 12));
        } else {
            self.unencrypted.insert(vaddr >> 12);
        }
        self.events.push(Event::SetEncrypted { vaddr, encrypted });
    }
}

impl MockHypervisor {
    fn pvalidate_inner(&mut self, vaddr: u64, size: PageSize, validate: bool) -> (u32, bool) {
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
