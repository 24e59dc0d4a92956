//! Guest platform of the confidential appliance: boot, CPU, memory, SEV-SNP
//! and devices. All of the guest's `unsafe` lives in this crate.
//!
//! The public surface is a small facade, sound to call from safe code:
//! [`BootInfo`] and [`entry_point!`], ending the VM ([`exit`]), time
//! ([`time`]), the console (`println!`, [`logger`]), fw_cfg reads
//! ([`fw_cfg`]), the network ([`net`]), evidence ([`evidence`]), CPU
//! features ([`cpu`]) and counters for the stats line ([`stats`]). Nothing
//! in it writes an arbitrary address or shares an arbitrary page: paging,
//! frames, page sharing, SNP and raw I/O are private to the crate.
#![cfg_attr(not(test), no_std)] // host unit tests (`cargo test -p kernel --lib`) use std
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;
#[cfg(all(feature = "fuzz", not(test)))]
extern crate std; // the mock platform of `fuzzing`

mod apic;
mod arch;
mod attest;
mod boot;
pub mod cpu;
pub mod exit;
/// Host-only libFuzzer entry points (fuzz/ and the regression tests).
#[cfg(any(test, feature = "fuzz"))]
pub mod fuzzing;
pub mod fw_cfg;
mod idle;
mod interrupts;
mod io;
pub mod logger;
mod memory;
pub mod net;
mod paging;
mod panic;
mod pci;
mod platform;
pub mod serial;
mod shared;
pub mod smp;
mod snp;
pub mod time;
mod virtio;

pub use cpu::CpuFeatures;
pub use exit::{exit, fail, ExitCode};
#[cfg(feature = "test-api")]
pub use memory::init::MemoryInfo;
pub use platform::{evidence, evidence_kind, Evidence, EvidenceError, EvidenceKind, REPORT_LEN};

/// Counters for the appliance's periodic statistics line (and, for the
/// test image's self-tests, heap and shared-memory totals).
pub mod stats {
    pub use crate::io::{exit_counts, ExitCounts};
    #[cfg(feature = "test-api")]
    pub use crate::memory::heap::free as heap_free;
    /// Heap bytes in use now and their high-water mark since boot (read-only).
    pub use crate::memory::heap::{peak as heap_peak, used as heap_used};
    #[cfg(feature = "test-api")]
    pub use crate::virtio::hal::shared_bytes;
}

/// What the kernel hands the appliance after boot.
pub struct BootInfo {
    /// RAM, heap and frame pool sizes (logged at boot; the test image's
    /// self-tests read them).
    #[cfg(feature = "test-api")]
    pub memory: MemoryInfo,
    /// CPU features found and enabled at boot, with the int8 kernel to run.
    pub cpu: CpuFeatures,
    /// TSC at the reset vector (for the boot benchmark).
    pub reset_tsc: u64,
    pub fw_cfg: Option<fw_cfg::FwCfg>,
}

/// Defines the symbol the boot stub jumps to, calling `$main(&BootInfo) -> !`.
#[macro_export]
macro_rules! entry_point {
    ($main:path) => {
        #[no_mangle]
        extern "C" fn kernel_entry() -> ! {
            $crate::start($main)
        }
    };
}

/// A failure before the console is known to work: a termination request
/// under SEV-ES/SNP, a failure exit otherwise.
fn early_stop() -> ! {
    if boot::sev_es_active() {
        snp::terminate(snp::TerminationReason::GENERAL);
    }
    exit(ExitCode::Failure)
}

/// Test builds only: fault on purpose at the earliest point (right after the
/// IDT is loaded, before any SNP set-up) when the host passes fw_cfg
/// `opt/appliance/fault-early`, by reading the boot stack's guard page; or
/// later, when the test image's self-test asks (`late_fault`).
#[cfg(feature = "fault-test")]
pub mod fault_test {
    /// A page fault on an unmapped address; the exception handler reports
    /// it and ends the VM.
    pub fn late_fault() -> ! {
        crate::println!("fault test: touching an unmapped address");
        // The first address the kernel never maps: RAM is mapped only below
        // MAPPABLE_LIMIT (512 GiB), whatever the host's E820 says.
        const NEVER_MAPPED: u64 = memory_map::layout::MAPPABLE_LIMIT;
        // SAFETY: none needed for memory: nothing is ever mapped at or above MAPPABLE_LIMIT (boot PML4 entry 1 stays absent), so the write faults and the page-fault handler ends the VM before anything is stored.
        unsafe { core::ptr::write_volatile(NEVER_MAPPED as usize as *mut u64, 1) };
        crate::exit::halt_forever()
    }

    /// fw_cfg `opt/appliance/hold-ap` (a decimal AP ticket): that AP stops
    /// before reporting in, as a vCPU that never comes up.
    pub(super) fn hold_ap_if_asked(fw: &crate::fw_cfg::FwCfg) {
        let Ok(file) = fw.find("opt/appliance/hold-ap") else {
            return;
        };
        let held = fw
            .read_file_vec(file, 8)
            .ok()
            .and_then(|v| core::str::from_utf8(&v).ok()?.trim().parse::<u64>().ok());
        if let Some(ticket) = held {
            crate::println!("fault test: AP {ticket} will not report in");
            crate::smp::HELD_AP.store(ticket + 1, core::sync::atomic::Ordering::Relaxed);
        }
    }

    pub(super) fn early_fault_if_asked() {
        if crate::boot::sev_es_active() {
            return;
        }
        let asked = crate::fw_cfg::FwCfg::detect()
            .is_ok_and(|fw| fw.find("opt/appliance/fault-early").is_ok());
        if asked {
            extern "C" {
                static _stack_guard: u8;
            }
            // SAFETY: the guard page is unmapped on purpose, so the read faults and the page-fault handler ends the VM; no value is ever produced.
            let _ = unsafe { core::ptr::read_volatile(&raw const _stack_guard) };
        }
    }
}

/// Platform bring-up, in the order the hardware allows.
#[doc(hidden)] // called by `entry_point!` only
pub fn start(main: fn(&BootInfo) -> !) -> ! {
    // Public only for `entry_point!`: a second call (from the app) ends the VM.
    static STARTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if STARTED.swap(true, core::sync::atomic::Ordering::SeqCst) {
        exit(ExitCode::Failure);
    }
    let handover = boot::handover();
    paging::set_c_bit_mask(handover.c_bit_mask);
    // Before anything can fault: from here on every exception is reported
    // (printed, or a termination reason while the console is out of reach).
    interrupts::init();
    if paging::unmap_stack_guard().is_err() {
        // Only the early table pool can be exhausted here; never expected.
        early_stop();
    }
    #[cfg(feature = "fault-test")]
    fault_test::early_fault_if_asked();
    let kind = if handover.sev_status & (1 << 2) != 0 {
        // No console before the GHCB exists: a failure here can only be a
        // termination request.
        if let Err(e) = snp::init(handover.sev_status, handover.c_bit_mask) {
            snp::terminate(e.termination_reason());
        }
        platform::Kind::Snp
    } else {
        platform::Kind::Native
    };
    // The one record of the platform: from here on `io` takes the GHCB path
    // under SNP. `start` runs once, so the cell is empty.
    if platform::set_kind(kind).is_err() {
        early_stop();
    }
    logger::init(log::LevelFilter::Info);
    println!(
        "appliance: kernel {} on {}",
        env!("CARGO_PKG_VERSION"),
        platform::kind().name()
    );
    let cpu = cpu::enable_simd();
    let tsc_hz = time::calibrate();
    idle::init();
    let fw = match fw_cfg::FwCfg::detect() {
        Ok(fw) => fw,
        Err(e) => fail("fw_cfg", &e),
    };
    let map = match memory::e820::read(fw.driver()) {
        Ok(m) => m,
        Err(e) => fail("memory map", &e),
    };
    let mem = match memory::init::init_memory(&map) {
        Ok(m) => m,
        Err(e) => fail("memory", &e),
    };
    log::info!(
        "memory: {} MiB RAM, heap {} MiB at {:#x}, {} MiB for frames",
        mem.ram_total >> 20,
        mem.heap_size >> 20,
        mem.heap_start,
        mem.frame_pool >> 20
    );
    #[cfg(feature = "fault-test")]
    fault_test::hold_ap_if_asked(&fw);
    let cpus = fw.boot_cpus();
    let workers = smp::start_aps(cpus, idle::apic());
    log::info!("smp: {cpus} vCPUs, {workers} APs working");
    log::info!(
        "cpu: TSC {} MHz, xcr0 {:#x}, int8 kernel {}",
        tsc_hz / 1_000_000,
        cpu.xcr0,
        cpu.kernel.name()
    );
    let info = BootInfo {
        #[cfg(feature = "test-api")]
        memory: mem,
        cpu,
        reset_tsc: handover.reset_tsc,
        fw_cfg: Some(fw),
    };
    main(&info)
}
