//! A mock hypervisor + SNP hardware implementing [`SnpHardware`], for host
//! tests (here and in other crates, feature `mock`). Uses `alloc`, not `std`.
//!
//! It behaves like upstream KVM (arch/x86/kvm/svm/sev.c) with QEMU and
//! guest_memfd, and is independent of the code it tests: from this crate it
//! uses only the [`SnpHardware`] trait, [`Ghcb`] as raw bytes, [`GhcbCopy`]
//! (the ranges the trait hands it) and [`PageSize`]. Every offset, exit code
//! and error code is a literal in [`layout`] (a test enforces this), so a
//! mistake in the guest code cannot be mirrored here.
//!
//! Modelled:
//! * The shared GHCB page as the host sees it: only the bytes the guest
//!   copies out reach it, only the bytes the guest copies back leave it, and
//!   a page the guest still maps encrypted (or that is private) is not seen
//!   at all: the host reads its own stale copy, the guest reads its own bytes.
//! * NAE exits as KVM handles them: `sev_es_sync_from_ghcb` (inputs taken
//!   only if valid, valid bitmap cleared), the registered-GPA check (an
//!   unregistered GHCB stops the VM), `sev_es_validate_vmgexit` (usage 0,
//!   required fields per exit code, unknown codes refused with
//!   GHCB_ERR_INVALID_EVENT), `setup_vmgexit_scratch` (scratch inside the
//!   GHCB shared buffer for GHCB v2), `snp_begin_psc` /
//!   `__snp_complete_one_psc` (scratch length and entry limit as released
//!   KVM or as fixed in 2026, [`PscScratchLen`]), guest requests (result
//!   in SW_EXITINFO2), and on return `sev_es_sync_to_ghcb` (RAX..RDX marked
//!   valid) with SW_EXITINFO1/2 set.
//! * The GHCB MSR protocol, stateless as in KVM (only the registered GHCB
//!   GPA is remembered, as KVM does).
//! * The RMP per 4 KiB page and PVALIDATE as the hardware executes it
//!   ([`pvalidate`](self) module docs), nested page faults recorded as
//!   [`Event::NestedPageFault`].
//! * Devices: IOIO (writes recorded, reads scripted), MSRs, MMIO, CPUID
//!   answers, TSC, and a pluggable guest-request responder.
//! * The guest's cache eviction reads after PVALIDATE, recorded as
//!   [`Event::EvictCache`].
//! * AP creation as KVM's `sev_snp_ap_creation` checks it, RMPADJUST's VMSA
//!   bit, and the guest memory the VMSA is read from ([`ap`](self) module
//!   docs); created APs are kept as [`CreatedAp`].
//!
//! [`MockConfig`] switches on misbehaviour (stalled or failed PSC, junk in
//! non-output fields, missing valid bits, a Validated-bit reset on a second
//! private PSC, nested page faults never resolved).

mod ap;
mod config;
mod devices;
mod events;
mod exits;
mod layout;
mod msr_protocol;
mod psc;
mod pvalidate;
mod rmp;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;

use crate::{Ghcb, GhcbCopy, PageSize, SnpHardware};
use layout::PAGE;

pub use ap::{CreatedAp, VmsaView};
pub use config::{MockConfig, NpfPolicy, PscScratchLen, PREFERRED_GHCB_NONE};
pub use events::{Event, NpfCause, PageOp, Stop};
pub use rmp::RmpEntry;

type Responder = Box<dyn FnMut(u64, u64) -> u64>;

/// The mock. Pages absent from the RMP map are hypervisor-owned; pages are
/// mapped with the C-bit unless the guest cleared it.
pub struct MockHypervisor {
    pub config: MockConfig,
    rmp: BTreeMap<u64, RmpEntry>,
    unencrypted: BTreeSet<u64>,
    registered_ghcb: Option<u64>,
    /// The host's view of GHCB pages, by GFN.
    host_pages: BTreeMap<u64, Box<[u8; PAGE]>>,
    events: Vec<Event>,
    cpuid: BTreeMap<(u32, u32), [u32; 4]>,
    io_in_script: BTreeMap<u16, VecDeque<u32>>,
    msrs: BTreeMap<u32, u64>,
    mmio: BTreeMap<u64, u64>,
    guest_request: Option<Responder>,
    stopped: Option<Stop>,
    stuck: Option<u64>,
    exit_count: usize,
    copied_out: usize,
    copied_back: usize,
    /// vCPU state KVM keeps between exits.
    xcr0: u64,
    dr7: u64,
    tsc: u64,
    ap_jump_table: u64,
    /// Pages the guest wrote (`write_guest_page`), by GFN.
    guest_memory: BTreeMap<u64, Box<[u8; PAGE]>>,
    /// GFNs with the RMP VMSA bit set.
    vmsa_pages: BTreeSet<u64>,
    /// APs created, by APIC ID (the VMSA each runs from).
    created_aps: BTreeMap<u32, CreatedAp>,
}

impl Default for MockHypervisor {
    fn default() -> Self {
        Self::new(MockConfig::default())
    }
}

/// Test harness guard against a guest loop that never gives up.
const MAX_EXITS: usize = 10_000;

const JUNK: u64 = 0xDEAD_BEEF_A5A5_5A5A;

impl MockHypervisor {
    pub fn new(config: MockConfig) -> Self {
        let mut cpuid = BTreeMap::new();
        // CPUID 0x8000_001F on a Genoa host: SME/SEV/ES/SNP, C-bit 51.
        cpuid.insert((0x8000_001F, 0), [0x0001_019F, 0x173, 0x1FD, 1]);
        Self {
            config,
            rmp: BTreeMap::new(),
            unencrypted: BTreeSet::new(),
            registered_ghcb: None,
            host_pages: BTreeMap::new(),
            events: Vec::new(),
            cpuid,
            io_in_script: BTreeMap::new(),
            msrs: BTreeMap::new(),
            mmio: BTreeMap::new(),
            guest_request: None,
            stopped: None,
            stuck: None,
            exit_count: 0,
            copied_out: 0,
            copied_back: 0,
            xcr0: 1,
            dr7: 0x400,
            tsc: 0x1_0000_0000,
            ap_jump_table: 0,
            guest_memory: BTreeMap::new(),
            vmsa_pages: BTreeSet::new(),
            created_aps: BTreeMap::new(),
        }
    }

    /// Whether the guest maps the page with the C-bit.
    pub fn is_mapped_encrypted(&self, gpa: u64) -> bool {
        !self.unencrypted.contains(&(gpa >> 12))
    }

    pub fn registered_ghcb(&self) -> Option<u64> {
        self.registered_ghcb
    }

    /// Why the VM stopped, if it did (the guest never runs again).
    pub fn stopped(&self) -> Option<Stop> {
        self.stopped
    }

    /// The termination reason (set, code) if the guest asked to terminate.
    pub fn terminated(&self) -> Option<(u8, u8)> {
        match self.stopped {
            Some(Stop::Terminated { set, code }) => Some((set, code)),
            _ => None,
        }
    }

    /// The GPA of a nested page fault the hypervisor never resolved
    /// ([`NpfPolicy::Hang`]): the vCPU is stuck there.
    pub fn stuck(&self) -> Option<u64> {
        self.stuck
    }

    /// Bytes the guest copied to and from shared GHCB pages so far.
    pub fn ghcb_bytes_copied(&self) -> (usize, usize) {
        (self.copied_out, self.copied_back)
    }

    /// The host's view of the GHCB page at `gpa` (zeros if never used).
    pub fn host_ghcb(&self, gpa: u64) -> [u8; PAGE] {
        self.host_pages.get(&(gpa >> 12)).map_or([0; PAGE], |p| **p)
    }

    fn halted(&mut self) -> bool {
        let halted = self.stopped.is_some() || self.stuck.is_some();
        if halted && self.events.last() != Some(&Event::RanAfterStop) {
            self.events.push(Event::RanAfterStop);
        }
        halted
    }

    pub(super) fn stop(&mut self, why: Stop) {
        self.stopped = Some(why);
        self.events.push(Event::Stopped(why));
    }

    /// The guest's writes and reads reach the host's page only if the page
    /// is shared in the RMP and mapped without the C-bit.
    fn host_visible(&self, gpa: u64) -> bool {
        !self.rmp(gpa).assigned && !self.is_mapped_encrypted(gpa)
    }
}

impl SnpHardware for MockHypervisor {
    fn msr_protocol(&mut self, value: u64) -> u64 {
        if self.halted() {
            return value;
        }
        let response = self.msr_protocol_response(value);
        self.events.push(Event::Msr {
            request: value,
            response,
        });
        response
    }

    fn ghcb_exit(&mut self, ghcb_gpa: u64, ghcb: &mut Ghcb, copy: &GhcbCopy) {
        self.exit_count += 1;
        assert!(
            self.exit_count <= MAX_EXITS,
            "guest made {} GHCB exits: runaway loop",
            self.exit_count
        );
        if self.halted() {
            return;
        }
        let visible = self.host_visible(ghcb_gpa);
        let junk = self.config.garbage;
        let mut page = self
            .host_pages
            .remove(&(ghcb_gpa >> 12))
            .unwrap_or_else(|| Box::new([0; PAGE]));
        if junk {
            // The page is shared: the host may have written anything since.
            for chunk in page.chunks_exact_mut(8) {
                chunk.copy_from_slice(&JUNK.to_le_bytes());
            }
        }
        if visible {
            for r in copy.out().iter() {
                if let (Some(d), Some(s)) = (page.get_mut(r.clone()), ghcb.as_bytes().get(r)) {
                    self.copied_out += s.len();
                    d.copy_from_slice(s);
                }
            }
        }
        let resumed = self.handle_ghcb_exit(ghcb_gpa, &mut page);
        if resumed && visible {
            for r in copy.back().iter() {
                if let (Some(d), Some(s)) = (ghcb.as_bytes_mut().get_mut(r.clone()), page.get(r)) {
                    self.copied_back += s.len();
                    d.copy_from_slice(s);
                }
            }
        }
        self.host_pages.insert(ghcb_gpa >> 12, page);
    }

    fn pvalidate(&mut self, vaddr: u64, size: PageSize, validate: bool) -> (u32, bool) {
        if self.halted() {
            return (0, false);
        }
        let (rc, cf) = self.pvalidate_inner(vaddr, size, validate);
        if self.stuck.is_some() {
            // Faulted and never resumed: the instruction produced nothing.
            return (rc, cf);
        }
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
        if self.halted() {
            return;
        }
        if encrypted {
            self.unencrypted.remove(&(vaddr >> 12));
        } else {
            self.unencrypted.insert(vaddr >> 12);
        }
        self.events.push(Event::SetEncrypted { vaddr, encrypted });
    }

    /// Plain guest reads, no exit: only recorded, so tests can check that
    /// they follow each validating PVALIDATE.
    fn evict_cache(&mut self, vaddr: u64, size: PageSize) {
        if self.halted() {
            return;
        }
        self.events.push(Event::EvictCache { vaddr, size });
    }

    fn rmpadjust(&mut self, vaddr: u64, attrs: u64) -> u32 {
        if self.halted() {
            return 0;
        }
        let rc = self.rmpadjust_inner(vaddr, attrs);
        self.events.push(Event::Rmpadjust { vaddr, attrs, rc });
        rc
    }
}
