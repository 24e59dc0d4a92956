//! The boot vCPU's local APIC in x2APIC mode: a one-shot timer to end an
//! idle halt, and end-of-interrupt. Every register is an MSR reached
//! through `PlatformIo` (native RDMSR/WRMSR, GHCB MSR exits under SNP,
//! the mock in host tests).
//!
//! x2APIC only: it is what KVM offers every SNP guest, and its MSRs go
//! through the one GHCB path the kernel already has; the xAPIC page would
//! need MMIO to a fixed address. Without x2APIC the kernel does not sleep
//! (`idle` polls as before) and says so once at boot.
//!
//! Interrupts are taken only inside `arch::wait_for_interrupt`, whose
//! stubs record the vector; `end_of_interrupt` runs afterwards, in normal
//! code, so a GHCB call never runs in interrupt context.

use crate::platform::PlatformIo;

const IA32_APIC_BASE: u32 = 0x1B;
const BASE_ENABLE: u64 = 1 << 11;
const BASE_X2APIC: u64 = 1 << 10;
const ID: u32 = 0x802;
const TPR: u32 = 0x808;
const EOI: u32 = 0x80B;
const SVR: u32 = 0x80F;
const LVT_TIMER: u32 = 0x832;
const LVT_LINT0: u32 = 0x835;
const LVT_LINT1: u32 = 0x836;
const TIMER_INITIAL: u32 = 0x838;
const TIMER_CURRENT: u32 = 0x839;
const TIMER_DIVIDE: u32 = 0x83E;
const ICR: u32 = 0x830;

const SVR_ENABLE: u64 = 1 << 8;
const LVT_MASKED: u64 = 1 << 16;
/// Divide configuration 0b0011: the timer counts at bus clock / 16, so a
/// 32-bit count spans over a minute at KVM's 1 GHz.
const DIVIDE_BY_16: u64 = 0b0011;

/// Vectors the kernel enables; `interrupts::init` gives each a stub.
pub(crate) const TIMER_VECTOR: u8 = 0x40;
pub(crate) const NET_VECTOR: u8 = 0x41;
pub(crate) const SPURIOUS_VECTOR: u8 = 0xFF;
/// The IPI that wakes a halted AP (its stub only returns).
pub(crate) const WAKE_VECTOR: u8 = 0x42;

// Interrupt command (SDM 11.6.1, x2APIC: one 64-bit write, destination in
// bits 63:32): delivery mode INIT or start-up, level assert, and the
// "all excluding self" shorthand.
const ICR_INIT: u64 = 0b101 << 8;
const ICR_STARTUP: u64 = 0b110 << 8;
const ICR_ASSERT: u64 = 1 << 14;
const ICR_ALL_BUT_SELF: u64 = 0b11 << 18;

/// Timer ticks counted during calibration below this mean the clock
/// cannot time a millisecond: the APIC is not used.
const MIN_TICKS_PER_MS: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ApicError {
    #[error("no x2APIC")]
    NoX2apic,
    /// The timer counted implausibly during calibration (the host's
    /// answer, or a timer that does not run).
    #[error("APIC timer counted {ticks} ticks in {window_us} us")]
    Calibration { ticks: u64, window_us: u64 },
}

/// The local APIC of the CPU that enabled it.
pub(crate) struct LocalApic<I: PlatformIo> {
    io: I,
    id: u32,
    ticks_per_ms: u64,
}

impl<I: PlatformIo> LocalApic<I> {
    /// Switches this CPU's APIC to x2APIC mode, software-enables it (all
    /// priorities accepted, LINT0/LINT1 masked so no legacy PIC interrupt
    /// reaches an unprepared vector) and calibrates its timer:
    /// `wait_window()` busy-waits a known time and returns it in
    /// microseconds.
    ///
    /// # Safety
    /// Called once, on the CPU whose APIC this is, with the IDT holding
    /// the stubs for the vectors above.
    pub(crate) unsafe fn enable(
        io: I,
        x2apic_offered: bool,
        wait_window: impl FnOnce() -> u64,
    ) -> Result<Self, ApicError> {
        if !x2apic_offered {
            return Err(ApicError::NoX2apic);
        }
        // SAFETY: the caller's promise.
        let id = unsafe { switch_on(&io) };
        // SAFETY: the timer registers of this CPU's APIC, enabled just above.
        unsafe {
            io.msr_write(TIMER_DIVIDE, DIVIDE_BY_16);
            io.msr_write(LVT_TIMER, LVT_MASKED | u64::from(TIMER_VECTOR));
            io.msr_write(TIMER_INITIAL, u64::from(u32::MAX));
        }
        let window_us = wait_window();
        // SAFETY: as above.
        let left = unsafe {
            let left = io.msr_read(TIMER_CURRENT) & 0xFFFF_FFFF;
            io.msr_write(TIMER_INITIAL, 0);
            io.msr_write(LVT_TIMER, u64::from(TIMER_VECTOR)); // one-shot, unmasked
            left
        };
        let ticks = u64::from(u32::MAX) - left;
        let ticks_per_ms = ticks.saturating_mul(1000) / window_us.max(1);
        if ticks_per_ms < MIN_TICKS_PER_MS || left == 0 {
            return Err(ApicError::Calibration { ticks, window_us });
        }
        Ok(LocalApic {
            io,
            id,
            ticks_per_ms,
        })
    }

    /// This CPU's x2APIC ID (the destination of its MSI messages).
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// Timer ticks per millisecond, as calibrated.
    pub(crate) fn ticks_per_ms(&self) -> u64 {
        self.ticks_per_ms
    }

    /// Fires `TIMER_VECTOR` once, `us` microseconds from now (at least one
    /// tick, at most the counter's range).
    pub(crate) fn arm(&self, us: u64) {
        let ticks = (u128::from(us) * u128::from(self.ticks_per_ms) / 1000)
            .clamp(1, u128::from(u32::MAX)) as u64;
        // SAFETY: the timer's own count register (see `enable`).
        unsafe { self.io.msr_write(TIMER_INITIAL, ticks) };
    }

    /// Stops the timer (a count of 0). An expiry already pending is still
    /// delivered at the next halt, which then returns at once.
    pub(crate) fn disarm(&self) {
        // SAFETY: as in `arm`.
        unsafe { self.io.msr_write(TIMER_INITIAL, 0) };
    }

    /// INIT, then two start-up IPIs (SDM 9.4.4.1) at real-mode page
    /// `vector` (address `vector << 12`), to every other CPU; `delay_us`
    /// busy-waits.
    ///
    /// # Safety
    /// Every CPU that answers starts executing at that page in real mode:
    /// the caller has put its start-up code there.
    pub(crate) unsafe fn start_all_others(&self, vector: u8, delay_us: impl Fn(u64)) {
        // SAFETY: the caller's promise; the ICR belongs to this driver.
        unsafe {
            self.io
                .msr_write(ICR, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
            delay_us(10_000);
            for _ in 0..2 {
                self.io.msr_write(
                    ICR,
                    ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP | u64::from(vector),
                );
                delay_us(200);
            }
        }
    }

    /// A fixed IPI with `WAKE_VECTOR` to the CPU with x2APIC ID `to`.
    pub(crate) fn wake(&self, to: u32) {
        // SAFETY: a fixed interrupt whose vector's stub only returns.
        unsafe {
            self.io.msr_write(
                ICR,
                (u64::from(to) << 32) | ICR_ASSERT | u64::from(WAKE_VECTOR),
            )
        };
    }

    /// Ends the highest-priority interrupt in service.
    pub(crate) fn end_of_interrupt(&self) {
        // SAFETY: EOI takes only 0; it ends the interrupt the stubs recorded.
        unsafe { self.io.msr_write(EOI, 0) };
    }
}

/// Switches the calling CPU's APIC to x2APIC mode and enables it, with
/// every priority accepted and LINT0/LINT1 masked (so no legacy PIC
/// interrupt reaches an unprepared vector). Returns its x2APIC ID.
///
/// # Safety
/// On the CPU whose APIC this is, which offers x2APIC, with the IDT
/// holding the stubs for the vectors above.
pub(crate) unsafe fn switch_on<I: PlatformIo>(io: &I) -> u32 {
    // SAFETY: the local APIC's own registers, per the caller's promise; enabling first and then x2APIC is the order the SDM requires (disabled -> x2APIC directly faults).
    unsafe {
        let base = io.msr_read(IA32_APIC_BASE);
        if base & BASE_ENABLE == 0 {
            io.msr_write(IA32_APIC_BASE, base | BASE_ENABLE);
        }
        io.msr_write(IA32_APIC_BASE, base | BASE_ENABLE | BASE_X2APIC);
        io.msr_write(LVT_LINT0, LVT_MASKED);
        io.msr_write(LVT_LINT1, LVT_MASKED);
        io.msr_write(TPR, 0);
        io.msr_write(SVR, SVR_ENABLE | u64::from(SPURIOUS_VECTOR));
        io.msr_read(ID) as u32
    }
}

#[cfg(test)]
mod tests;
