//! GDT with a TSS (a separate stack for double faults) and an IDT whose
//! every exception entry reports vector, error code and RIP, then ends the
//! VM with a failure exit. Three interrupt vectors (the APIC timer, the
//! network device, the APIC's spurious vector) have stubs that only record
//! that they fired: interrupts are enabled for the idle `hlt` alone
//! (`arch::wait_for_interrupt`, `idle`).
//!
//! Loaded first thing in Rust, before any SNP set-up, so no fault is ever a
//! silent triple fault. Where the console cannot be reached (SEV-ES/SNP
//! before the GHCB exists: port I/O would raise #VC) a fault ends the guest
//! with a GHCB MSR-protocol termination request whose reason code names the
//! vector (`exit::reason::exception`).
//!
//! #VC (vector 29) has its own entry (`vc_entry` in boot/exceptions.s) and
//! handler: CPUID is answered from the CPUID page, RDTSC/RDTSCP through the
//! GHCB; anything else terminates (guest/snp-guest `vc`).

use spin::Once;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::idt::InterruptDescriptorTable;
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

const FAULT_STACK_SIZE: usize = 16 * 1024;

/// Only ever used through its address (the TSS's IST entry).
#[repr(align(16))]
#[allow(dead_code)]
struct FaultStack([u8; FAULT_STACK_SIZE]);

static mut DOUBLE_FAULT_STACK: FaultStack = FaultStack([0; FAULT_STACK_SIZE]);

static TSS: Once<TaskStateSegment> = Once::new();
/// A GDT and the selectors of its kernel code, kernel data and TSS
/// descriptors (`gdt_with`).
type Gdt = (
    GlobalDescriptorTable,
    SegmentSelector,
    SegmentSelector,
    SegmentSelector,
);
static GDT: Once<Gdt> = Once::new();
static IDT: Once<InterruptDescriptorTable> = Once::new();

extern "C" {
    static exception_stubs: [u64; 32];
    /// The #VC entry in boot/exceptions.s (saves state, calls `vc_handler`, returns).
    fn vc_entry();
    /// Interrupt stubs in boot/exceptions.s: record the vector, return.
    fn irq_timer_entry();
    fn irq_net_entry();
    fn irq_spurious_entry();
}

/// Stack layout pushed by the stubs in `boot/exceptions.s` and the CPU.
#[repr(C)]
pub(crate) struct ExceptionFrame {
    vector: u64,
    error_code: u64,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

const NAMES: [&str; 32] = [
    "divide error",
    "debug",
    "NMI",
    "breakpoint",
    "overflow",
    "bound range",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor overrun",
    "invalid TSS",
    "segment not present",
    "stack fault",
    "general protection",
    "page fault",
    "reserved",
    "x87 floating point",
    "alignment check",
    "machine check",
    "SIMD floating point",
    "virtualization",
    "control protection",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "hypervisor injection",
    "VMM communication (#VC)",
    "security",
    "reserved",
];

#[no_mangle]
extern "C" fn exception_handler(frame: &ExceptionFrame) -> ! {
    let reason = crate::exit::reason::exception(frame.vector);
    let snp = crate::platform::kind() == crate::platform::Kind::Snp;
    if crate::boot::sev_es_active() && (!snp || crate::snp::channel_busy() || !on_boot_cpu()) {
        // No GHCB yet, the fault hit inside a GHCB call, or it hit an AP
        // (which has no GHCB): the console is out of reach. Say why to the
        // host.
        crate::snp::terminate(reason);
    }
    crate::serial::ending();
    let name = NAMES
        .get(frame.vector as usize)
        .copied()
        .unwrap_or("unknown");
    crate::println!(
        "EXCEPTION vector={} ({}) error_code={:#x} rip={:#x} rsp={:#x}",
        frame.vector,
        name,
        frame.error_code,
        frame.rip,
        frame.rsp
    );
    if frame.vector == 14 {
        let cr2 = crate::arch::cr2();
        crate::println!("EXCEPTION page fault address={cr2:#x}");
    }
    if snp {
        crate::snp::terminate(reason);
    }
    crate::exit::exit(crate::exit::ExitCode::Failure)
}

/// Registers saved by `vc_entry`, lowest address first, then the frame the
/// CPU pushed (error code = SVM exit code). Fields the handler does not
/// touch are there for the layout.
#[repr(C)]
#[allow(dead_code)]
pub(crate) struct VcFrame {
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    r11: u64,
    r10: u64,
    r9: u64,
    r8: u64,
    rdi: u64,
    rsi: u64,
    rbp: u64,
    rbx: u64,
    rdx: u64,
    rcx: u64,
    rax: u64,
    exit_code: u64,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

extern "C" {
    static _kernel_start: u8;
    static _kernel_load_end: u8;
}
#[cfg(not(any(test, feature = "fuzz")))]
extern "C" {
    static _stack_bottom: u8;
    static _stack_top: u8;
}
// Host builds (unit tests, fuzzing) link without layout.ld; no test runs `on_boot_cpu`, but
// the GHCB paths that call it must link.
#[cfg(any(test, feature = "fuzz"))]
#[allow(non_upper_case_globals)]
static _stack_bottom: u8 = 0;
#[cfg(any(test, feature = "fuzz"))]
#[allow(non_upper_case_globals)]
static _stack_top: u8 = 0;

/// Whether the boot vCPU runs this: its stack pointer lies in the boot
/// stack or the boot vCPU's double-fault stack. APs run on heap stacks
/// (`smp`) and their own fault stacks, never on these. It executes nothing
/// that could exit, so the #VC handler may ask it first.
pub(crate) fn on_boot_cpu() -> bool {
    let sp = crate::arch::stack_pointer();
    let boot = (&raw const _stack_bottom) as u64..=(&raw const _stack_top) as u64;
    let fault = (&raw const DOUBLE_FAULT_STACK) as u64;
    boot.contains(&sp) || (fault..=fault + FAULT_STACK_SIZE as u64).contains(&sp)
}

/// The boot vCPU's GDT and IDT (base and limit) and its code and data
/// selectors, for an SNP AP's VMSA; `None` before `init`.
pub(crate) fn boot_tables() -> Option<(
    snp_guest::vmsa::TableRegister,
    snp_guest::vmsa::TableRegister,
    u16,
    u16,
)> {
    use snp_guest::vmsa::TableRegister;
    let (gdt, code, data, _) = GDT.get()?;
    let idt = IDT.get()?;
    let entries = gdt.entries();
    let gdtr = TableRegister {
        base: entries.as_ptr() as u64,
        limit: (core::mem::size_of_val(entries) - 1) as u16,
    };
    let idtr = TableRegister {
        base: core::ptr::from_ref(idt) as u64,
        limit: (core::mem::size_of::<InterruptDescriptorTable>() - 1) as u16,
    };
    Some((gdtr, idtr, code.0, data.0))
}

/// The bytes at `rip` when it lies in the kernel's own code (the only code
/// this guest runs in long mode); `None` anywhere else.
fn kernel_code_at(rip: u64) -> Option<[u8; 3]> {
    let start = (&raw const _kernel_start) as u64;
    let end = (&raw const _kernel_load_end) as u64;
    if rip < start || rip.checked_add(3)? > end {
        return None;
    }
    let mut bytes = [0u8; 3];
    for (i, b) in bytes.iter_mut().enumerate() {
        // SAFETY: [rip, rip + 3) lies inside the kernel's loaded image, which is identity-mapped, private and readable for the VM's life.
        *b = unsafe { core::ptr::read_volatile((rip + i as u64) as *const u8) };
    }
    Some(bytes)
}

#[no_mangle]
extern "C" fn vc_handler(frame: &mut VcFrame) {
    use snp_guest::vc::{decode, VcInstruction};
    if !on_boot_cpu() {
        // SNP APs compute and never exit: no GHCB of their own, and the
        // boot vCPU's is not theirs to use (`snp::boot_cpu_only`).
        crate::snp::terminate(crate::exit::reason::AP_VC)
    }
    let Some(insn) = kernel_code_at(frame.rip) else {
        crate::snp::terminate(crate::exit::reason::VC_UNSUPPORTED)
    };
    let Ok(which) = decode(frame.exit_code, &insn) else {
        crate::snp::terminate(crate::exit::reason::VC_UNSUPPORTED)
    };
    match which {
        VcInstruction::Cpuid => {
            let r = crate::snp::cpuid(frame.rax as u32, frame.rcx as u32);
            frame.rax = u64::from(r.eax);
            frame.rbx = u64::from(r.ebx);
            frame.rcx = u64::from(r.ecx);
            frame.rdx = u64::from(r.edx);
        }
        VcInstruction::Rdtsc | VcInstruction::Rdtscp => {
            let (tsc, aux) = crate::snp::rdtsc_for_vc(which == VcInstruction::Rdtscp);
            frame.rax = tsc & 0xFFFF_FFFF;
            frame.rdx = tsc >> 32;
            if which == VcInstruction::Rdtscp {
                frame.rcx = u64::from(aux);
            }
        }
    }
    frame.rip += which.length();
}

/// A GDT of a kernel code segment, a kernel data segment and `tss`.
fn gdt_with(tss: &'static TaskStateSegment) -> Gdt {
    let mut gdt = GlobalDescriptorTable::new();
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    let tss = gdt.append(Descriptor::tss_segment(tss));
    (gdt, code, data, tss)
}

pub(crate) fn init() {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        let stack_start = VirtAddr::from_ptr(&raw const DOUBLE_FAULT_STACK);
        tss.interrupt_stack_table[0] = stack_start + FAULT_STACK_SIZE as u64;
        tss
    });
    let gdt = GDT.call_once(|| gdt_with(tss));
    // SAFETY: `code`, `data` and the TSS selector were appended to this GDT as those kinds (`gdt_with`). Before the IDT is built: its entries take the code selector from CS.
    unsafe { crate::arch::load_gdt(&gdt.0, gdt.1, gdt.2, gdt.3) };
    let idt = IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        // SAFETY: the stub table is emitted by `exceptions.s` and every address in it is an entry stub that never returns.
        let stubs: [u64; 32] = unsafe { exception_stubs };
        let addr = |v: usize| VirtAddr::new(stubs[v]);
        // SAFETY: each stub follows the exception frame ABI of its vector (error code pushed by the CPU or by the stub) and never returns.
        unsafe {
            idt.divide_error.set_handler_addr(addr(0));
            idt.debug.set_handler_addr(addr(1));
            idt.non_maskable_interrupt.set_handler_addr(addr(2));
            idt.breakpoint.set_handler_addr(addr(3));
            idt.overflow.set_handler_addr(addr(4));
            idt.bound_range_exceeded.set_handler_addr(addr(5));
            idt.invalid_opcode.set_handler_addr(addr(6));
            idt.device_not_available.set_handler_addr(addr(7));
            idt.double_fault
                .set_handler_addr(addr(8))
                .set_stack_index(0);
            idt.invalid_tss.set_handler_addr(addr(10));
            idt.segment_not_present.set_handler_addr(addr(11));
            idt.stack_segment_fault.set_handler_addr(addr(12));
            idt.general_protection_fault.set_handler_addr(addr(13));
            idt.page_fault.set_handler_addr(addr(14));
            idt.x87_floating_point.set_handler_addr(addr(16));
            idt.alignment_check.set_handler_addr(addr(17));
            idt.machine_check.set_handler_addr(addr(18));
            idt.simd_floating_point.set_handler_addr(addr(19));
            idt.virtualization.set_handler_addr(addr(20));
            idt.cp_protection_exception.set_handler_addr(addr(21));
            idt.hv_injection_exception.set_handler_addr(addr(28));
            idt.vmm_communication_exception
                .set_handler_addr(VirtAddr::new(vc_entry as *const () as u64));
            idt.security_exception.set_handler_addr(addr(30));
        }
        let stub = |f: unsafe extern "C" fn()| VirtAddr::new(f as *const () as u64);
        // SAFETY: each stub records its vector and returns with `iretq`, touching no register (boot/exceptions.s).
        unsafe {
            idt[crate::apic::TIMER_VECTOR].set_handler_addr(stub(irq_timer_entry));
            idt[crate::apic::NET_VECTOR].set_handler_addr(stub(irq_net_entry));
            idt[crate::apic::SPURIOUS_VECTOR].set_handler_addr(stub(irq_spurious_entry));
            // The wake-up IPI of a halted AP needs no record either.
            idt[crate::apic::WAKE_VECTOR].set_handler_addr(stub(irq_spurious_entry));
        }
        idt
    });
    crate::arch::load_idt(idt);
}

/// An AP's own GDT and TSS (a double-fault stack of `fault_stack` bytes,
/// leaked with them: APs run for the VM's life) and the shared IDT.
pub(crate) fn init_ap(fault_stack: usize) {
    let stack: &'static mut [u8] = alloc::vec![0u8; fault_stack].leak();
    let mut tss = TaskStateSegment::new();
    tss.interrupt_stack_table[0] = VirtAddr::from_ptr(stack.as_ptr_range().end);
    let tss: &'static TaskStateSegment = alloc::boxed::Box::leak(alloc::boxed::Box::new(tss));
    let gdt: &'static Gdt = alloc::boxed::Box::leak(alloc::boxed::Box::new(gdt_with(tss)));
    // SAFETY: the selectors name this GDT's own code, data and TSS entries (`gdt_with`); the TSS is this AP's alone.
    unsafe { crate::arch::load_gdt(&gdt.0, gdt.1, gdt.2, gdt.3) };
    if let Some(idt) = IDT.get() {
        crate::arch::load_idt(idt);
    }
}
