//! What the 64-bit #VC handler may resolve, decided from the exit code the
//! CPU pushed as the error code and the instruction bytes at RIP.
//!
//! Under SEV-ES/SNP an intercepted instruction raises #VC (vector 29) with
//! the SVM exit code as error code (GHCB spec 56421 §4.1). This appliance
//! routes every port, MSR, CPUID and MMIO access through explicit GHCB calls,
//! so a #VC is never expected; the handler is defence in depth. It resolves
//! only what it can answer without trusting the hypervisor's word on
//! anything that matters:
//! * CPUID (exit 0x72): from the launch-checked CPUID page, as Linux's
//!   `vc_handle_cpuid` does with its CPUID table;
//! * RDTSC (0x6E) and RDTSCP (0x87): through the GHCB, as Linux's
//!   `vc_handle_rdtsc` (the TSC is the hypervisor's to give anyway).
//!
//! Everything else ends the guest with a termination reason. The exit code
//! and the opcode must agree (Linux decodes the instruction too): a #VC whose
//! bytes at RIP are not the instruction the exit code names is refused.

use crate::nae::{EXIT_CPUID, EXIT_RDTSC, EXIT_RDTSCP};

/// An instruction the #VC handler emulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VcInstruction {
    /// `0F A2`: EAX/ECX in, EAX..EDX out.
    Cpuid,
    /// `0F 31`: EDX:EAX out.
    Rdtsc,
    /// `0F 01 F9`: EDX:EAX and ECX (TSC_AUX) out.
    Rdtscp,
}

impl VcInstruction {
    /// Bytes to skip after emulating it.
    pub const fn length(self) -> u64 {
        match self {
            VcInstruction::Cpuid | VcInstruction::Rdtsc => 2,
            VcInstruction::Rdtscp => 3,
        }
    }

    const fn opcode(self) -> &'static [u8] {
        match self {
            VcInstruction::Cpuid => &[0x0F, 0xA2],
            VcInstruction::Rdtsc => &[0x0F, 0x31],
            VcInstruction::Rdtscp => &[0x0F, 0x01, 0xF9],
        }
    }
}

/// Why a #VC is not resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VcRefusal {
    /// An exit code this handler does not emulate.
    UnsupportedExit { exit_code: u64 },
    /// The bytes at RIP are not the instruction the exit code names.
    OpcodeMismatch { exit_code: u64 },
}

/// Decide what to do with a #VC: `exit_code` is the error code the CPU
/// pushed, `insn` the bytes at RIP (at least 3 where readable; fewer only
/// at the end of readable memory).
pub fn decode(exit_code: u64, insn: &[u8]) -> Result<VcInstruction, VcRefusal> {
    let which = match exit_code {
        EXIT_CPUID => VcInstruction::Cpuid,
        EXIT_RDTSC => VcInstruction::Rdtsc,
        EXIT_RDTSCP => VcInstruction::Rdtscp,
        _ => return Err(VcRefusal::UnsupportedExit { exit_code }),
    };
    if insn.starts_with(which.opcode()) {
        Ok(which)
    } else {
        Err(VcRefusal::OpcodeMismatch { exit_code })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_cpuid_rdtsc_rdtscp_with_their_opcodes() {
        assert_eq!(decode(0x72, &[0x0F, 0xA2, 0x90]), Ok(VcInstruction::Cpuid));
        assert_eq!(decode(0x6E, &[0x0F, 0x31, 0x90]), Ok(VcInstruction::Rdtsc));
        assert_eq!(decode(0x87, &[0x0F, 0x01, 0xF9]), Ok(VcInstruction::Rdtscp));
        assert_eq!(VcInstruction::Cpuid.length(), 2);
        assert_eq!(VcInstruction::Rdtsc.length(), 2);
        assert_eq!(VcInstruction::Rdtscp.length(), 3);
    }

    #[test]
    fn refuses_a_mismatched_opcode() {
        // CPUID exit code over RDTSC bytes, RDTSCP over RDTSC, truncated bytes.
        for (code, bytes) in [
            (0x72u64, &[0x0F, 0x31, 0x90][..]),
            (0x87, &[0x0F, 0x31, 0x90]),
            (0x87, &[0x0F, 0x01]),
            (0x72, &[]),
            (0x6E, &[0x0F, 0xA2, 0x90]),
        ] {
            assert_eq!(
                decode(code, bytes),
                Err(VcRefusal::OpcodeMismatch { exit_code: code }),
                "{code:#x} {bytes:x?}"
            );
        }
    }

    #[test]
    fn refuses_every_other_exit() {
        // IOIO, MSR, MMIO (NPF), VMMCALL, XSETBV, WBINVD, RDPMC, DR7 writes, INVD.
        for code in [0x7Bu64, 0x7C, 0x400, 0x81, 0x8D, 0x89, 0x6F, 0x37, 0x76] {
            assert_eq!(
                decode(code, &[0x0F, 0xA2, 0x90]),
                Err(VcRefusal::UnsupportedExit { exit_code: code })
            );
        }
    }
}
