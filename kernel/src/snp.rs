//! SEV-SNP glue. The protocol logic lives in the `snp-guest` crate (tested on
//! the host against a specification mock); this module only supplies the real
//! instructions behind `SnpHardware` and the one GHCB channel that `io`
//! routes every port, MSR, CPUID and MMIO access through.
//!
//! Not run on SNP hardware: none exists where this was written. Every path
//! here is exercised only through the mock in `crates/snp-guest`.

use crate::io::{raw_rdmsr, raw_wrmsr, Width};
use core::sync::atomic::{AtomicBool, Ordering};
use snp_guest::cpuid_page::{CpuidPage, CPUID_PAGE_SIZE};
use snp_guest::msr_protocol;
pub use snp_guest::msr_protocol::TerminationReason;
use snp_guest::nae::IoSize;
use snp_guest::sev_status::{SevMode, SevStatus};
use snp_guest::{AcceptedMemory, GhcbChannel, GhcbCopy, PageSize, SnpError, SnpHardware};
use spin::Mutex;

const MSR_GHCB: u32 = 0xC001_0130;

static ACTIVE: AtomicBool = AtomicBool::new(false);
static CHANNEL: Mutex<Option<GhcbChannel<KernelHw>>> = Mutex::new(None);

/// Ranges of the accepted-memory record: launch regions, RAM ranges, and one
/// more per run of shared pages (which cut holes).
const ACCEPTED_CAPACITY: usize = 256;
/// Everything this guest has accepted (private and validated): a page in it
/// is never PVALIDATEd again (see `snp_guest::accepted`). Lock order:
/// ACCEPTED, then CHANNEL.
static ACCEPTED: Mutex<AcceptedMemory<ACCEPTED_CAPACITY>> = Mutex::new(AcceptedMemory::new());

/// The GHCB page: in BSS, i.e. launch-validated memory, shared during init.
#[repr(C, align(4096))]
struct GhcbPage([u8; 4096]);
static mut GHCB_PAGE: GhcbPage = GhcbPage([0; 4096]);

pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// Real instructions behind the protocol logic.
pub struct KernelHw;

#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
fn vmgexit() {
    // SAFETY: VMGEXIT (rep vmmcall) hands control to the hypervisor, which reads and writes only the GHCB MSR and shared pages.
    unsafe { core::arch::asm!("rep vmmcall", options(nostack)) };
}

impl SnpHardware for KernelHw {
    fn msr_protocol(&mut self, value: u64) -> u64 {
        raw_wrmsr(MSR_GHCB, value);
        vmgexit();
        raw_rdmsr(MSR_GHCB)
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
        raw_wrmsr(MSR_GHCB, ghcb_gpa);
        vmgexit();
        for i in copy.back().iter().flatten() {
            if let Some(b) = ghcb.as_bytes_mut().get_mut(i) {
                // SAFETY: as above; volatile because the host wrote it.
                *b = unsafe { core::ptr::read_volatile(shared.add(i)) };
            }
        }
    }

    fn pvalidate(&mut self, vaddr: u64, size: PageSize, validate: bool) -> (u32, bool) {
        let size_bit: u32 = match size {
            PageSize::Size4K => 0,
            PageSize::Size2M => 1,
        };
        let rc: u64;
        let carry: u8;
        // SAFETY: PVALIDATE changes only the RMP validated bit of the page at `vaddr`; the callers in snp-guest follow the acceptance rules.
        unsafe {
            core::arch::asm!(
                ".byte 0xF2, 0x0F, 0x01, 0xFF",
                "setc {cf}",
                cf = out(reg_byte) carry,
                inout("rax") vaddr => rc,
                in("ecx") size_bit,
                in("edx") u32::from(validate),
                options(nostack),
            );
        }
        (rc as u32, carry != 0)
    }

    fn set_page_encrypted(&mut self, vaddr: u64, encrypted: bool) {
        if crate::paging::set_page_encrypted(vaddr, encrypted).is_err() {
            terminate(TerminationReason::APPLIANCE_PSC);
        }
    }
}

/// Bring up the GHCB and switch `io` to it. Called once, first thing in Rust
/// under SNP, before any port I/O (so before the first log line).
pub fn init(sev_status: u64, c_bit_mask: u64) -> Result<(), SnpError> {
    // Refuse SNP features this kernel does not implement (vTOM, ReflectVC, ...).
    SevMode::Snp(SevStatus(sev_status)).supported()?;
    // Cross-check the C-bit the stub took from the CPUID page.
    // SAFETY: the CPUID page is launch-validated memory at a fixed address.
    let page = unsafe { &*(crate::boot::layout::CPUID_PAGE as *const [u8; CPUID_PAGE_SIZE]) };
    let position = CpuidPage::parse(page)?.c_bit_position()?;
    if c_bit_mask != 1u64 << position {
        return Err(SnpError::CBitOutOfRange { position });
    }
    let gpa = (&raw const GHCB_PAGE) as u64;
    let mut accepted = ACCEPTED.lock();
    record_launch_memory(&mut accepted)?;
    let (channel, _info) = snp_guest::init_ghcb(KernelHw, gpa)?;
    // The GHCB page (in the pre-validated image) is shared now.
    accepted.remove(gpa, gpa + 0x1000)?;
    drop(accepted);
    *CHANNEL.lock() = Some(channel);
    ACTIVE.store(true, Ordering::SeqCst);
    crate::io::enable_snp_path();
    Ok(())
}

/// Memory the launch validated: the secrets and CPUID pages, the
/// pre-validated region (kernel, stack, page tables) and the `-bios` image.
/// Accepting any of it again would be refused.
fn record_launch_memory(
    accepted: &mut AcceptedMemory<ACCEPTED_CAPACITY>,
) -> Result<(), SnpError> {
    use crate::boot::layout::{
        CPUID_PAGE, IMAGE_BASE, IMAGE_SIZE, KERNEL_BASE, PREVALIDATED_END, SECRETS_PAGE,
    };
    accepted.insert(SECRETS_PAGE, SECRETS_PAGE + 0x1000)?;
    accepted.insert(CPUID_PAGE, CPUID_PAGE + 0x1000)?;
    accepted.insert(KERNEL_BASE, PREVALIDATED_END)?;
    accepted.insert(IMAGE_BASE, IMAGE_BASE + IMAGE_SIZE)
}

/// Ask the hypervisor to end the guest. Never returns.
pub fn terminate(reason: TerminationReason) -> ! {
    KernelHw.msr_protocol(msr_protocol::termination_request(reason));
    crate::exit::halt_forever()
}

fn with_channel<T>(f: impl FnOnce(&mut GhcbChannel<KernelHw>) -> Result<T, SnpError>) -> T {
    // try_lock: a fault raised inside a GHCB call must not deadlock on the
    // way to printing it; it terminates instead.
    let mut guard = match CHANNEL.try_lock() {
        Some(g) => g,
        None => terminate(TerminationReason::GENERAL),
    };
    let Some(channel) = guard.as_mut() else {
        terminate(TerminationReason::GENERAL)
    };
    match f(channel) {
        Ok(v) => v,
        Err(e) => {
            drop(guard);
            terminate(e.termination_reason())
        }
    }
}

fn io_size(width: Width) -> IoSize {
    match width {
        Width::Byte => IoSize::Byte,
        Width::Word => IoSize::Word,
        Width::Dword => IoSize::Dword,
    }
}

pub fn port_write(port: u16, value: u32, width: Width) {
    with_channel(|c| c.io_out(port, io_size(width), value));
}

pub fn port_read(port: u16, width: Width) -> u32 {
    with_channel(|c| c.io_in(port, io_size(width)))
}

pub fn rdmsr(msr: u32) -> u64 {
    with_channel(|c| c.rdmsr(msr))
}

pub fn wrmsr(msr: u32, value: u64) {
    with_channel(|c| c.wrmsr(msr, value));
}

/// CPUID, answered from the launch-validated CPUID page post-processed with
/// this vCPU's CR4, XCR0 and APIC ID (`CpuidPage::answer`: a leaf the page
/// lacks reads zeros). Never from the hypervisor, and without the GHCB
/// channel (the #VC handler calls this too). A page that cannot answer stops
/// the guest.
pub fn cpuid(leaf: u32, subleaf: u32) -> crate::io::Cpuid {
    // SAFETY: as in `init`.
    let page = unsafe { &*(crate::boot::layout::CPUID_PAGE as *const [u8; CPUID_PAGE_SIZE]) };
    let (cr4_osxsave, cr4_pke) = crate::cpu::cr4_osxsave_pke();
    let ctx = snp_guest::cpuid_page::CpuidContext {
        cr4_osxsave,
        cr4_pke,
        xcr0: crate::cpu::xcr0(),
        // IA32_XSS is never written: no supervisor state components.
        xss: 0,
        // Only the bootstrap vCPU runs, and QEMU gives it APIC ID 0.
        apic_id: 0,
    };
    match CpuidPage::parse(page).and_then(|t| t.answer(leaf, subleaf, &ctx)) {
        Ok(r) => crate::io::Cpuid {
            eax: r.eax,
            ebx: r.ebx,
            ecx: r.ecx,
            edx: r.edx,
        },
        Err(e) => terminate(e.termination_reason()),
    }
}

pub fn mmio_read(gpa: u64, width: Width) -> u64 {
    with_channel(|c| match width {
        Width::Byte => c.mmio_read_u8(gpa).map(u64::from),
        Width::Word => c.mmio_read_u16(gpa).map(u64::from),
        Width::Dword => c.mmio_read_u32(gpa).map(u64::from),
    })
}

pub fn mmio_write(gpa: u64, value: u64, width: Width) {
    with_channel(|c| match width {
        Width::Byte => c.mmio_write_u8(gpa, value as u8),
        Width::Word => c.mmio_write_u16(gpa, value as u16),
        Width::Dword => c.mmio_write_u32(gpa, value as u32),
    });
}

/// XSETBV is not intercepted for SEV-ES/SNP guests (KVM clears the
/// intercept; see `snp_guest::nae`), so it runs natively; the GHCB channel
/// records the value and passes it with every CPUID exit.
pub fn set_xcr0(value: u64) {
    crate::cpu::raw_xsetbv(value);
    with_channel(|c| {
        c.set_xcr0(value);
        Ok(())
    });
}

/// Make a RAM range private and validated (PSC + PVALIDATE). Any page of it
/// already accepted (launch memory, or an earlier call) is refused with
/// `SnpError::AlreadyAccepted` before anything is asked of the hypervisor.
pub fn accept(start: u64, end: u64) -> Result<(), SnpError> {
    let mut accepted = ACCEPTED.lock();
    let mut guard = CHANNEL.lock();
    let channel = guard.as_mut().ok_or(SnpError::InvalidArgument {
        what: "no GHCB",
        value: 0,
    })?;
    snp_guest::accept_range(channel, &mut accepted, start, end)
}

/// Share one private page with the host (it must be accepted memory; it
/// leaves the accepted-memory record).
pub fn share_page(va: u64) -> Result<(), SnpError> {
    let mut accepted = ACCEPTED.lock();
    let mut guard = CHANNEL.lock();
    let channel = guard.as_mut().ok_or(SnpError::InvalidArgument {
        what: "no GHCB",
        value: 0,
    })?;
    snp_guest::share_page(channel, &mut accepted, va)
}

/// One SNP guest request (MSG_REPORT_REQ etc.) with request and response in
/// the given shared pages. BUSY comes back as `SnpError::GuestRequestBusy`.
pub fn guest_request(req_gpa: u64, resp_gpa: u64) -> Result<(), SnpError> {
    let mut guard = CHANNEL.lock();
    let channel = guard.as_mut().ok_or(SnpError::InvalidArgument {
        what: "no GHCB",
        value: 0,
    })?;
    channel.guest_request(req_gpa, resp_gpa)
}

/// CPUID for the #VC handler: the CPUID page only (never the hypervisor, and
/// never the GHCB channel, which the interrupted code may hold).
pub fn cpuid_for_vc(leaf: u32, subleaf: u32) -> crate::io::Cpuid {
    cpuid(leaf, subleaf)
}

/// RDTSC/RDTSCP for the #VC handler, through the GHCB: (TSC, TSC_AUX; 0 for
/// RDTSC). A #VC raised while the channel is held, or before it exists,
/// terminates (`with_channel`), as does an error answer.
pub fn rdtsc_for_vc(rdtscp: bool) -> (u64, u32) {
    if rdtscp {
        with_channel(|c| c.rdtscp())
    } else {
        (with_channel(|c| c.rdtsc()), 0)
    }
}
