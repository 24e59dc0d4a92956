//! Ending the VM: QEMU's isa-debug-exit when present (tests), otherwise an
//! ACPI power-off; under SNP a failure is a GHCB termination request.

use crate::platform::{HwIo, PlatformIo};

/// isa-debug-exit port used by the launchers (`iobase=0xf4`). QEMU exits
/// with status `(value << 1) | 1`: 0x10 -> 33 (success), 0x11 -> 35 (failure).
const DEBUG_EXIT_PORT: u16 = 0xF4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0x10,
    Failure = 0x11,
}

/// Power the VM off. Never returns.
pub fn exit(code: ExitCode) -> ! {
    if crate::platform::kind() == crate::platform::Kind::Snp && !crate::interrupts::on_boot_cpu() {
        // An SNP AP has no GHCB for the port write: ask to end the VM.
        crate::snp::terminate(reason::AP_EXIT);
    }
    // Harmless when the device is absent: the write goes nowhere.
    HwIo.outb(DEBUG_EXIT_PORT, code as u8);
    if code == ExitCode::Failure && crate::platform::kind() == crate::platform::Kind::Snp {
        crate::snp::terminate(crate::snp::TerminationReason::GENERAL);
    }
    acpi_power_off();
    halt_forever()
}

/// Stops the appliance on an error it cannot recover from: prints
/// "`what`: FAILED: `err`" on the console and exits with a failure (a
/// termination request under SNP). `err` must not carry secrets.
pub fn fail(what: &str, err: &dyn core::fmt::Display) -> ! {
    crate::println!("{what}: FAILED: {err}");
    exit(ExitCode::Failure)
}

/// q35 (ICH9): without firmware nobody programmed the PM block, so do it:
/// PMBASE in the LPC bridge (00:1f.0, reg 0x40), ACPI enable (reg 0x44 bit 7),
/// then SLP_EN with sleep type 0, which QEMU treats as soft power-off.
fn acpi_power_off() {
    const PM_BASE: u16 = 0x600;
    let lpc = crate::pci::Function::new(HwIo, 0, 0x1F, 0);
    if lpc.read32(0) == 0x2918_8086 {
        lpc.write32(0x40, u32::from(PM_BASE) | 1);
        lpc.write32(0x44, lpc.read32(0x44) | 0x80);
        HwIo.outw(PM_BASE + 4, 1 << 13);
    }
}

/// Termination reasons this appliance sends (GHCB MSR protocol termination
/// request, reason set 1 = guest-defined). Codes 0..=3 are in
/// `snp_guest::msr_protocol::TerminationReason`. The 32-bit boot stub
/// (boot/reset.s) sends two more, which no code here may reuse: 5
/// (`TERM_CPUID_DENIED_SEV`: SEV-ES/SNP is active in SEV_STATUS but the
/// hypervisor's CPUID denied SEV) and 6 (`TERM_VC_WITHOUT_SEV_ES`: a #VC was
/// taken but SEV_STATUS shows neither SEV-ES nor SNP).
pub(crate) mod reason {
    use crate::snp::TerminationReason;

    /// A #VC the 64-bit handler does not resolve (not CPUID/RDTSC/RDTSCP, or
    /// not at the instruction its exit code names).
    pub(crate) const VC_UNSUPPORTED: TerminationReason = TerminationReason { set: 1, code: 4 };

    /// A #VC on an AP (SNP APs have no GHCB and must never exit).
    pub(crate) const AP_VC: TerminationReason = TerminationReason { set: 1, code: 7 };

    /// An AP reached the GHCB channel (a log line, port or MMIO access):
    /// the channel is the boot vCPU's alone.
    pub(crate) const AP_GHCB: TerminationReason = TerminationReason { set: 1, code: 8 };

    /// A panic, out-of-memory or exit on an SNP AP (it cannot print).
    pub(crate) const AP_EXIT: TerminationReason = TerminationReason { set: 1, code: 9 };
    /// CPU exception `vector` (0..=31): code 0x80 | vector.
    pub(crate) const fn exception(vector: u64) -> TerminationReason {
        TerminationReason {
            set: 1,
            code: 0x80 | (vector as u8 & 0x1F),
        }
    }
}

/// Parks the CPU for good (interrupts off, halted).
pub fn halt_forever() -> ! {
    crate::arch::halt_forever()
}
