//! SEV-SNP glue. The protocol logic lives in the `snp-guest` crate (tested on
//! the host against a specification mock); the kernel's own logic around it
//! is [`SnpGlue`] (`glue.rs`), generic over `SnpHardware` and run by the
//! host unit tests (`tests.rs`) against that mock. This module only supplies
//! the real instructions ([`KernelHw`]), the fixed addresses (CPUID page,
//! launch-validated memory, the GHCB page), the one static [`SnpGlue`] that
//! `io` routes every port, CPUID and MMIO access through under
//! `platform::Kind::Snp`, and the termination request any error ends in.
//!
//! Not run on SNP hardware: none exists where this was written.

mod glue;
#[cfg(test)]
pub(crate) mod tests;

pub(crate) use glue::SnpGlue;

use crate::arch;
use crate::io::Width;
use snp_guest::cpuid_page::{CpuidContext, CPUID_PAGE_SIZE};
use snp_guest::msr_protocol;
pub(crate) use snp_guest::msr_protocol::TerminationReason;
use snp_guest::{GhcbCopy, PageSize, SnpError, SnpHardware};
use spin::Mutex;

const MSR_GHCB: u32 = 0xC001_0130;

/// Ranges of the accepted-memory record: launch regions, RAM ranges, and one
/// more per run of shared pages (which cut holes).
const ACCEPTED_CAPACITY: usize = 256;

/// The GHCB channel and the accepted-memory record, once `init` succeeded.
static GLUE: Mutex<Option<SnpGlue<KernelHw, ACCEPTED_CAPACITY>>> = Mutex::new(None);

/// The GHCB page: in BSS, i.e. launch-validated memory, shared during init.
#[repr(C, align(4096))]
struct GhcbPage([u8; 4096]);
static mut GHCB_PAGE: GhcbPage = GhcbPage([0; 4096]);

/// The GHCB channel is in use (a fault inside a GHCB call): printing would
/// need it, so a fault handler terminates with its reason instead.
pub(crate) fn channel_busy() -> bool {
    GLUE.is_locked()
}

/// Real instructions behind the protocol logic.
struct KernelHw;

/// The GHCB MSR protocol's register write, exit and read back.
fn msr_exchange(value: u64) -> u64 {
    // SAFETY: the GHCB MSR only selects what the hypervisor reads on the next VMGEXIT; it maps or shares nothing.
    unsafe { arch::wrmsr(MSR_GHCB, value) };
    // SAFETY: an MSR-protocol request lives entirely in the GHCB MSR; the hypervisor touches no guest memory for it.
    unsafe { arch::vmgexit() };
    arch::rdmsr(MSR_GHCB)
}

impl SnpHardware for KernelHw {
    fn msr_protocol(&mut self, value: u64) -> u64 {
        msr_exchange(value)
    }

    /// Copies only the bytes the exit uses (its input fields, the valid
    /// bitmap, version/usage and scratch out; the outputs back), not 4 KiB
    /// each way.
    fn ghcb_exit(&mut self, ghcb_gpa: u64, ghcb: &mut snp_guest::Ghcb, copy: &GhcbCopy) {
        let shared = ghcb_gpa as *mut u8;
        for i in copy.out().iter().flatten() {
            if let Some(b) = ghcb.as_bytes().get(i) {
                // SAFETY: `ghcb_gpa` is the registered, shared GHCB page (4 KiB) and `i` is below 4096 (`get` on the 4 KiB private copy succeeded).
                unsafe { core::ptr::write_volatile(shared.add(i), *b) };
            }
        }
        // SAFETY: `ghcb_gpa` is the registered, shared GHCB page (snp-guest passes only that one).
        unsafe { arch::wrmsr(MSR_GHCB, ghcb_gpa) };
        // SAFETY: the GHCB holds the complete request copied above, and every address it names is a shared page (snp-guest's exits name only the GHCB and shared buffers).
        unsafe { arch::vmgexit() };
        for i in copy.back().iter().flatten() {
            if let Some(b) = ghcb.as_bytes_mut().get_mut(i) {
                // SAFETY: as above; volatile because the host wrote it.
                *b = unsafe { core::ptr::read_volatile(shared.add(i)) };
            }
        }
    }

    fn pvalidate(&mut self, vaddr: u64, size: PageSize, validate: bool) -> (u32, bool) {
        let huge = match size {
            PageSize::Size4K => false,
            PageSize::Size2M => true,
        };
        // SAFETY: the callers in snp-guest follow the acceptance rules (validate once, after the page-state change; a rescinded page leaves the accepted record).
        unsafe { arch::pvalidate(vaddr, huge, validate) }
    }

    fn set_page_encrypted(&mut self, vaddr: u64, encrypted: bool) {
        // SAFETY: snp-guest calls this only for the page whose state it just changed (GHCB set-up, `share_page`, `unshare_page`), and those are reached only from `shared` (pages it owns) and `init` (the GHCB page).
        if unsafe { crate::paging::set_page_encrypted(vaddr, encrypted) }.is_err() {
            terminate(TerminationReason::APPLIANCE_PSC);
        }
    }

    /// Linux `sev_evict_cache`: a read of the first and of the last byte of
    /// each 4 KiB page with the guest key evicts all of that page's cache
    /// lines (CVE-2025-38560), cheaper than CLFLUSH over the page.
    fn evict_cache(&mut self, vaddr: u64, size: PageSize) {
        for page in (vaddr..vaddr + size.bytes()).step_by(snp_guest::PAGE_SIZE_4K as usize) {
            let first = page as *const u8;
            let last = (page + snp_guest::PAGE_SIZE_4K - 1) as *const u8;
            // SAFETY: snp-guest calls this only right after PVALIDATE validated [vaddr, vaddr + size): RAM identity-mapped with the C-bit (mapped before acceptance), private and validated, so reading a byte of it neither faults nor has side effects; volatile so the reads are not dropped.
            unsafe {
                core::ptr::read_volatile(first);
                core::ptr::read_volatile(last);
            }
        }
    }

    fn rmpadjust(&mut self, vaddr: u64, attrs: u64) -> u32 {
        // SAFETY: snp-guest calls this only from `create_ap`, on the VMSA page the caller of `snp::create_ap` owns and vouches for (no Rust object in it, never written again while marked).
        unsafe { arch::rmpadjust(vaddr, attrs) }
    }
}

/// The launch-validated CPUID page.
fn cpuid_page() -> &'static [u8; CPUID_PAGE_SIZE] {
    // SAFETY: under SNP the CPUID page is launch-validated private memory at a fixed, identity-mapped address, 4 KiB, never written after launch; only called with SNP active.
    unsafe { &*(crate::boot::layout::CPUID_PAGE as *const [u8; CPUID_PAGE_SIZE]) }
}

/// Memory the launch validated: the secrets and CPUID pages, the
/// pre-validated region (kernel, stack, page tables) and the `-bios` image.
fn launch_memory() -> [(u64, u64); 4] {
    use crate::boot::layout::{
        CPUID_PAGE, IMAGE_BASE, IMAGE_SIZE, KERNEL_BASE, PREVALIDATED_END, SECRETS_PAGE,
    };
    [
        (SECRETS_PAGE, SECRETS_PAGE + 0x1000),
        (CPUID_PAGE, CPUID_PAGE + 0x1000),
        (KERNEL_BASE, PREVALIDATED_END),
        (IMAGE_BASE, IMAGE_BASE + IMAGE_SIZE),
    ]
}

/// Bring up the GHCB. Called once, first thing in Rust under SNP, before any
/// port I/O (so before the first log line); `start` then records
/// `platform::Kind::Snp`, which switches `io` to the GHCB.
pub(crate) fn init(sev_status: u64, c_bit_mask: u64) -> Result<(), SnpError> {
    let gpa = (&raw const GHCB_PAGE) as u64;
    let glue = SnpGlue::init(
        KernelHw,
        sev_status,
        c_bit_mask,
        cpuid_page(),
        &launch_memory(),
        gpa,
    )?;
    *GLUE.lock() = Some(glue);
    Ok(())
}

/// Ask the hypervisor to end the guest. Never returns.
pub(crate) fn terminate(reason: TerminationReason) -> ! {
    msr_exchange(msr_protocol::termination_request(reason));
    crate::arch::halt_forever()
}

/// The GHCB is the boot vCPU's: the page is registered for it alone (KVM
/// keeps the registered GPA per vCPU and stops the VM on an exit through an
/// unregistered one), and one page cannot serve two vCPUs at once. An AP
/// that gets here (a log line, a port or MMIO access) terminates with its
/// own reason instead; the GHCB MSR protocol needs no registration.
fn boot_cpu_only() {
    if !crate::interrupts::on_boot_cpu() {
        terminate(crate::exit::reason::AP_GHCB);
    }
}

/// Runs `f` on the glue; no glue yet, a glue already held, or an error from
/// `f` ends the guest with a termination request.
fn with_glue<T>(
    f: impl FnOnce(&mut SnpGlue<KernelHw, ACCEPTED_CAPACITY>) -> Result<T, SnpError>,
) -> T {
    boot_cpu_only();
    // try_lock: a fault raised inside a GHCB call must not deadlock on the
    // way to printing it; it terminates instead.
    let mut guard = match GLUE.try_lock() {
        Some(g) => g,
        None => terminate(TerminationReason::GENERAL),
    };
    let Some(glue) = guard.as_mut() else {
        terminate(TerminationReason::GENERAL)
    };
    match f(glue) {
        Ok(v) => v,
        Err(e) => {
            drop(guard);
            terminate(e.termination_reason())
        }
    }
}

/// Runs `f` on the glue, returning its errors (waits for the lock).
fn try_with_glue<T>(
    f: impl FnOnce(&mut SnpGlue<KernelHw, ACCEPTED_CAPACITY>) -> Result<T, SnpError>,
) -> Result<T, SnpError> {
    boot_cpu_only();
    let mut guard = GLUE.lock();
    let glue = guard.as_mut().ok_or(SnpError::InvalidArgument {
        what: "no GHCB",
        value: 0,
    })?;
    f(glue)
}

pub(crate) fn port_write(port: u16, value: u32, width: Width) {
    with_glue(|g| g.channel.io_out(port, glue::io_size(width), value));
}

pub(crate) fn port_read(port: u16, width: Width) -> u32 {
    with_glue(|g| g.channel.io_in(port, glue::io_size(width)))
}

/// `rep outsb` through the GHCB scratch area (a shared buffer per exit).
pub(crate) fn port_write_bytes(port: u16, bytes: &[u8]) {
    with_glue(|g| g.channel.outs_bytes(port, bytes));
}

/// `rep insb` through the GHCB scratch area (a shared buffer per exit).
pub(crate) fn port_read_bytes(port: u16, buf: &mut [u8]) {
    with_glue(|g| g.channel.ins_bytes(port, buf));
}

/// CPUID, answered from the launch-validated CPUID page post-processed with
/// this vCPU's CR4, XCR0 and APIC ID (`glue::cpuid`). Never from the
/// hypervisor, and without the GHCB channel (the #VC handler calls this
/// too, while the interrupted code may hold the channel). A page that
/// cannot answer stops the guest.
pub(crate) fn cpuid(leaf: u32, subleaf: u32) -> crate::arch::Cpuid {
    let (cr4_osxsave, cr4_pke) = arch::cr4_osxsave_pke();
    let ctx = CpuidContext {
        cr4_osxsave,
        cr4_pke,
        xcr0: crate::cpu::xcr0(),
        // IA32_XSS is never written: no supervisor state components.
        xss: 0,
        // This vCPU's (`smp::apic_id`: 0 for the boot vCPU, as QEMU numbers it).
        apic_id: crate::smp::apic_id(),
    };
    match glue::cpuid(cpuid_page(), &ctx, leaf, subleaf) {
        Ok(r) => r,
        Err(e) => terminate(e.termination_reason()),
    }
}

pub(crate) fn mmio_read(gpa: u64, width: Width) -> u64 {
    with_glue(|g| g.mmio_read(gpa, width))
}

pub(crate) fn mmio_write(gpa: u64, value: u64, width: Width) {
    with_glue(|g| g.mmio_write(gpa, value, width));
}

/// RDMSR through the GHCB (an MSR exit the hypervisor answers).
pub(crate) fn rdmsr(msr: u32) -> u64 {
    with_glue(|g| g.channel.rdmsr(msr))
}

/// WRMSR through the GHCB.
pub(crate) fn wrmsr(msr: u32, value: u64) {
    with_glue(|g| g.channel.wrmsr(msr, value));
}

/// Make a RAM range private and validated (PSC + PVALIDATE). Any page of it
/// already accepted (launch memory, or an earlier call) is refused with
/// `SnpError::AlreadyAccepted` before anything is asked of the hypervisor.
///
/// # Safety
/// `[start, end)` is RAM from the checked memory map, identity-mapped, that
/// no Rust object lives in yet (acceptance may change its contents).
pub(crate) unsafe fn accept(start: u64, end: u64) -> Result<(), SnpError> {
    try_with_glue(|g| g.accept(start, end))
}

/// Share one private page with the host (it must be accepted memory; it
/// leaves the accepted-memory record).
///
/// # Safety
/// The page is owned by the caller, and no reference into it exists or is
/// made while it is shared: the host may read and write it at any time.
pub(crate) unsafe fn share_page(va: u64) -> Result<(), SnpError> {
    try_with_glue(|g| g.share_page(va))
}

/// Take a shared page back: private, validated, back in the record.
///
/// # Safety
/// The page is owned by the caller and was shared by `share_page`; its
/// contents are the host's until the caller overwrites them.
pub(crate) unsafe fn unshare_page(va: u64) -> Result<(), SnpError> {
    try_with_glue(|g| g.unshare_page(va))
}

/// One SNP guest request (MSG_REPORT_REQ etc.) with request and response in
/// the given shared pages. BUSY comes back as `SnpError::GuestRequestBusy`.
pub(crate) fn guest_request(req_gpa: u64, resp_gpa: u64) -> Result<(), SnpError> {
    try_with_glue(|g| g.channel.guest_request(req_gpa, resp_gpa))
}

/// Starts the AP with `apic_id` from the VMSA page at `vmsa_gpa` (AP
/// creation NAE; the page is marked a VMSA page first and unmarked again
/// on a refusal). `SnpError::VmsaBitStuck` means the page stays a VMSA.
///
/// # Safety
/// The page is the caller's, identity-mapped accepted memory holding the
/// VMSA it wrote and no Rust object. After `Ok` or `VmsaBitStuck` the
/// caller never touches or frees it again: it is the AP's save area.
pub(crate) unsafe fn create_ap(
    apic_id: u32,
    vmsa_gpa: u64,
    sev_features: u64,
) -> Result<(), SnpError> {
    try_with_glue(|g| g.create_ap(apic_id, vmsa_gpa, sev_features))
}

/// RDTSC/RDTSCP for the #VC handler, through the GHCB: (TSC, TSC_AUX; 0 for
/// RDTSC). A #VC raised while the glue is held, or before it exists,
/// terminates (`with_glue`), as does an error answer.
pub(crate) fn rdtsc_for_vc(rdtscp: bool) -> (u64, u32) {
    with_glue(|g| g.rdtsc_for_vc(rdtscp))
}
