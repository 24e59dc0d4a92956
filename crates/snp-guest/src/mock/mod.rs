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

mod config;
mod devices;
mod events;
mod exits;
mod msr_protocol;
mod pvalidate;
mod rmp;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;

use crate::ghcb::{Ghcb, SAVE_AREA_END};
use crate::{PageSize, SnpHardware};

pub use config::MockConfig;
pub use events::Event;
pub use rmp::RmpEntry;

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
