//! Monotonic time from the TSC, calibrated once against the PIT.
//!
//! Calibration: PIT channel 2 counts down 11932 ticks of its 1.193182 MHz
//! clock (10 ms) with the speaker gate; the TSC delta over that window gives
//! the frequency. Under SNP the PIT is emulated by the untrusted host, so
//! time is only used for timeouts and benchmarks, never for security.

use crate::arch::rdtsc;
use crate::platform::{HwIo, PlatformIo};
use core::sync::atomic::{AtomicU64, Ordering};

static TSC_HZ: AtomicU64 = AtomicU64::new(0);

const PIT_HZ: u64 = 1_193_182;
const CAL_TICKS: u16 = 11_932;
/// TSC cycles between two reads of the PIT status: about 10-20 us at 1-2 GHz,
/// under 0.2 % of the 10 ms window. Each read is a host exit under SNP, so
/// polling flat out cost tens of thousands of exits at boot; this costs
/// about a thousand.
const POLL_GAP_CYCLES: u64 = 20_000;
/// Reads before giving up on a PIT that never fires.
const MAX_POLLS: u64 = 1_000_000;

pub(crate) fn calibrate() -> u64 {
    let gate = HwIo.inb(0x61);
    HwIo.outb(0x61, (gate & !0x02) | 0x01); // gate on, speaker off
    HwIo.outb(0x43, 0xB0); // channel 2, lo/hi byte, mode 0
    HwIo.outb(0x42, (CAL_TICKS & 0xFF) as u8);
    HwIo.outb(0x42, (CAL_TICKS >> 8) as u8);
    let start = rdtsc();
    let mut polls: u64 = 0;
    while HwIo.inb(0x61) & 0x20 == 0 {
        polls += 1;
        if polls > MAX_POLLS {
            break; // no PIT: keep the fallback below
        }
        let from = rdtsc();
        while rdtsc().wrapping_sub(from) < POLL_GAP_CYCLES {
            core::hint::spin_loop();
        }
    }
    let delta = rdtsc().wrapping_sub(start);
    HwIo.outb(0x61, gate);
    let hz = if delta == 0 || polls > MAX_POLLS {
        2_000_000_000 // assumed, only used for log timestamps
    } else {
        delta.saturating_mul(PIT_HZ) / u64::from(CAL_TICKS)
    };
    TSC_HZ.store(hz, Ordering::Relaxed);
    hz
}

pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed).max(1)
}

/// The time-stamp counter now. Host-controlled (no Secure TSC): for
/// timeouts, statistics and benchmarks, never for security.
pub fn tsc() -> u64 {
    rdtsc()
}

/// Microseconds between two TSC readings.
pub fn tsc_delta_us(from: u64, to: u64) -> u64 {
    let d = u128::from(to.wrapping_sub(from));
    (d * 1_000_000 / u128::from(tsc_hz())) as u64
}

/// Microseconds since `from`.
pub fn us_since(from: u64) -> u64 {
    tsc_delta_us(from, rdtsc())
}

/// Busy-waits `us` microseconds.
pub(crate) fn spin_us(us: u64) {
    let start = rdtsc();
    while us_since(start) < us {
        core::hint::spin_loop();
    }
}
