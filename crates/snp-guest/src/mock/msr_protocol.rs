//! The GHCB MSR protocol (GHCB spec §2.3.1) as the hypervisor answers it.

use super::{Event, MockHypervisor};
use crate::msr_protocol as msrp;
use crate::msr_protocol::PscOp;
use crate::PageSize;

impl MockHypervisor {
    pub(super) fn msr_protocol_response(&mut self, v: u64) -> u64 {
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
}
