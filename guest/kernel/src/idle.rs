//! Sleeping when there is nothing to do. With the boot vCPU's x2APIC
//! enabled (`init`), `sleep` halts until a received frame's interrupt
//! (virtio-net MSI-X) or a one-shot APIC timer, instead of the network loop
//! spinning a host core. Without an APIC it returns at once, and the
//! callers poll as before.

use crate::apic::LocalApic;
use crate::platform::HwIo;
use core::sync::atomic::{AtomicU32, Ordering};
use spin::Once;

/// Vectors delivered during the last halt, one bit each, set by the stubs
/// in boot/exceptions.s (timer 1, network 2).
#[no_mangle]
static IRQ_SEEN: AtomicU32 = AtomicU32::new(0);

/// How long the APIC timer is measured against the TSC at boot.
const CALIBRATION_US: u64 = 5_000;

static APIC: Once<LocalApic<HwIo>> = Once::new();

/// Enables the boot vCPU's x2APIC and calibrates its timer; on failure
/// the kernel never sleeps. Once, from `start`, after `interrupts::init`
/// and `time::calibrate`.
pub(crate) fn init() {
    let x2apic = crate::io::cpuid(1, 0).ecx & (1 << 21) != 0;
    let window = || {
        let start = crate::time::tsc();
        crate::time::spin_us(CALIBRATION_US);
        crate::time::us_since(start)
    };
    // SAFETY: `start` runs once, on the boot vCPU, after `interrupts::init` installed the stubs of the APIC's vectors.
    match unsafe { LocalApic::enable(HwIo, x2apic, window) } {
        Ok(apic) => {
            log::info!(
                "apic: x2APIC id {}, timer {} ticks/ms: idle halts",
                apic.id(),
                apic.ticks_per_ms()
            );
            APIC.call_once(|| apic);
        }
        Err(e) => log::warn!("apic: {e}: idle polls"),
    }
}

/// The boot vCPU's APIC driver, once enabled. Its register accesses act on
/// the APIC of the CPU that makes them (x2APIC MSRs are per CPU).
pub(crate) fn apic() -> Option<&'static LocalApic<HwIo>> {
    APIC.get()
}

/// The APIC ID device interrupts should go to, when the kernel sleeps.
pub(crate) fn interrupt_destination() -> Option<u32> {
    APIC.get().map(LocalApic::id)
}

/// Halts until an interrupt or for at most `us` microseconds. Returns at
/// once (false) when the kernel cannot sleep.
pub(crate) fn sleep(us: u64) -> bool {
    let Some(apic) = APIC.get() else {
        return false;
    };
    apic.arm(us);
    crate::arch::wait_for_interrupt();
    apic.disarm();
    // One EOI per vector taken: each stays in service until its EOI.
    let seen = IRQ_SEEN.swap(0, Ordering::AcqRel);
    for _ in 0..seen.count_ones() {
        apic.end_of_interrupt();
    }
    true
}
