//! The GHCB MSR protocol as KVM's `sev_handle_vmgexit_msr_protocol` answers
//! it. Stateless: every answer depends only on the request (and on the VM's
//! configuration); only a GHCB registration is remembered, as in KVM.

use super::layout::*;
use super::{MockHypervisor, PageOp, Stop};
use crate::PageSize;

impl MockHypervisor {
    pub(super) fn msr_protocol_response(&mut self, v: u64) -> u64 {
        let c = &self.config;
        match v & MSR_INFO_MASK {
            MSR_SEV_INFO_REQ => {
                (c.ghcb_max_version as u64) << 48
                    | (c.ghcb_min_version as u64) << 32
                    | (c.c_bit as u64) << 24
                    | MSR_SEV_INFO_RESP
            }
            MSR_CPUID_REQ => {
                // Leaf in [63:32], register in [31:30]; subleaf 0. KVM
                // replaces [63:32] and [11:0] and keeps the rest.
                let leaf = (v >> 32) as u32;
                let reg = ((v >> 30) & 3) as usize;
                let regs = self.cpuid_answer(leaf, 0);
                let val = regs.get(reg).copied().unwrap_or_default();
                (val as u64) << 32 | (v & 0xFFFF_F000) | MSR_CPUID_RESP
            }
            // The mock has no SIPI to wait for: answer "woken".
            MSR_AP_RESET_HOLD_REQ => 1 << 12 | MSR_AP_RESET_HOLD_RESP,
            MSR_PREF_GPA_REQ => MSR_PREF_GPA_NONE << 12 | MSR_PREF_GPA_RESP,
            MSR_REG_GPA_REQ => {
                let gfn = v >> 12;
                if c.refuse_registration {
                    MSR_PREF_GPA_NONE << 12 | MSR_REG_GPA_RESP
                } else if let Some(other) = c.registration_answer_gfn {
                    other << 12 | MSR_REG_GPA_RESP
                } else {
                    self.registered_ghcb = Some(gfn << 12);
                    gfn << 12 | MSR_REG_GPA_RESP
                }
            }
            MSR_PSC_REQ => {
                // GFN [51:12], operation [55:52] (snp_begin_psc_msr).
                let gpa = ((v >> 12) & 0xFF_FFFF_FFFF) << 12;
                let op = match (v >> 52) & 0xF {
                    PSC_OP_PRIVATE => PageOp::Private,
                    PSC_OP_SHARED => PageOp::Shared,
                    _ => return MSR_PSC_RESP_ERROR,
                };
                if self.config.msr_psc_fail {
                    return MSR_PSC_RESP_ERROR;
                }
                if !self.config.psc_pretend {
                    self.apply_psc(gpa, op, PageSize::Size4K);
                }
                MSR_PSC_RESP
            }
            MSR_HV_FT_REQ => c.hv_features << 12 | MSR_HV_FT_RESP,
            MSR_TERM_REQ => {
                self.stop(Stop::Terminated {
                    set: ((v >> 12) & 0xF) as u8,
                    code: ((v >> 16) & 0xFF) as u8,
                });
                v
            }
            // Unknown request: KVM keeps the GHCB MSR value as it is.
            _ => v,
        }
    }
}
