//! Every x86-64 instruction the kernel's Rust code issues by hand: nothing
//! else in the crate (or any guest crate) writes `asm!`, calls a CPUID or
//! RDTSC intrinsic, or touches control registers and the TLB directly
//! (`tests/check_no_raw_io.sh` checks the sources, `tests/check_guest_binary.py`
//! the linked image).
//!
//! These are the bare instructions. Which of them may run is decided above:
//! under SEV-SNP the intercepted ones (port I/O, most MSRs, CPUID) go through
//! the GHCB instead (`io`, `snp`), so only the platform code calls them.
//! A function is `unsafe` when the instruction can break memory safety
//! (device or hypervisor access, page state, CPU state the compiled code
//! relies on); safe when it cannot.
//!
//! Functions holding an instruction `tests/check_guest_binary.py` forbids
//! elsewhere are `#[inline(never)]`: it allowlists them by demangled name.

use crate::platform::Width;
use core::arch::asm;

/// Port output.
///
/// # Safety
/// The caller owns the device protocol on `port`: the write cannot make a
/// device (PCI configuration, DMA engines, fw_cfg) touch memory Rust uses.
#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub(crate) unsafe fn port_write(port: u16, value: u32, width: Width) {
    // SAFETY: `out` has no effect on Rust-visible memory by itself; the caller vouches for the device's reaction.
    unsafe {
        match width {
            Width::Byte => {
                asm!("out dx, al", in("dx") port, in("al") value as u8, options(nomem, nostack, preserves_flags))
            }
            Width::Word => {
                asm!("out dx, ax", in("dx") port, in("ax") value as u16, options(nomem, nostack, preserves_flags))
            }
            Width::Dword => {
                asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
            }
        }
    }
}

/// Port input.
///
/// # Safety
/// As [`port_write`] (a read can have device side effects too).
#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub(crate) unsafe fn port_read(port: u16, width: Width) -> u32 {
    // SAFETY: `in` writes only the named register; the caller vouches for the device's reaction.
    unsafe {
        match width {
            Width::Byte => {
                let v: u8;
                asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack, preserves_flags));
                u32::from(v)
            }
            Width::Word => {
                let v: u16;
                asm!("in ax, dx", in("dx") port, out("ax") v, options(nomem, nostack, preserves_flags));
                u32::from(v)
            }
            Width::Dword => {
                let v: u32;
                asm!("in eax, dx", in("dx") port, out("eax") v, options(nomem, nostack, preserves_flags));
                v
            }
        }
    }
}

/// `rep insb`: `buf.len()` bytes from one port.
///
/// # Safety
/// As [`port_write`].
#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub(crate) unsafe fn rep_insb(port: u16, buf: &mut [u8]) {
    // SAFETY: `rep insb` writes exactly `buf.len()` bytes from `buf`, borrowed mutably; the direction flag is clear (Rust ABI).
    unsafe {
        asm!("rep insb", in("dx") port, inout("rdi") buf.as_mut_ptr() => _, inout("rcx") buf.len() => _, options(nostack, preserves_flags));
    }
}

/// `rep outsb`: `bytes` to one port.
///
/// # Safety
/// As [`port_write`].
#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub(crate) unsafe fn rep_outsb(port: u16, bytes: &[u8]) {
    // SAFETY: `rep outsb` reads exactly `bytes.len()` bytes from `bytes`, borrowed; the direction flag is clear (Rust ABI).
    unsafe {
        asm!("rep outsb", in("dx") port, inout("rsi") bytes.as_ptr() => _, inout("rcx") bytes.len() => _, options(nostack, preserves_flags, readonly));
    }
}

/// RDMSR. Safe: it writes only registers, and an MSR that does not exist
/// (or, under SEV-ES/SNP, one that is intercepted) faults into the
/// exception handler, which ends the VM.
#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub(crate) fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: RDMSR writes only EAX/EDX; a fault ends the VM (see above).
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// WRMSR.
///
/// # Safety
/// The value is one Rust's execution survives: EFER, PAT, the GHCB MSR and
/// the like change how memory is mapped or shared, so the caller vouches
/// for the new state.
#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub(crate) unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: the caller vouches for the new MSR state; the instruction itself touches no memory.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nomem, nostack, preserves_flags));
    }
}

/// CPUID result registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cpuid {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// The CPUID instruction (native mode only: under SEV-SNP it would ask the
/// hypervisor, so `io::cpuid` answers from the CPUID page instead).
#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub(crate) fn cpuid(leaf: u32, subleaf: u32) -> Cpuid {
    let r = core::arch::x86_64::__cpuid_count(leaf, subleaf);
    Cpuid {
        eax: r.eax,
        ebx: r.ebx,
        ecx: r.ecx,
        edx: r.edx,
    }
}

/// VMGEXIT (`rep vmmcall`): hands control to the hypervisor.
///
/// # Safety
/// The GHCB MSR names a registered, shared GHCB page holding a complete
/// request, and every address the request names is shared memory the
/// hypervisor may write.
#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub(crate) unsafe fn vmgexit() {
    // SAFETY: the hypervisor reads and writes only the GHCB MSR and shared pages, as the caller arranged.
    unsafe { asm!("rep vmmcall", options(nostack)) };
}

/// PVALIDATE of the page at `vaddr` (`huge`: 2 MiB): (return code, CF).
///
/// # Safety
/// Follows the acceptance rules (`snp_guest::accept`): a page is validated
/// once, only after its page-state change, and a rescinded page is not
/// used as private memory again.
pub(crate) unsafe fn pvalidate(vaddr: u64, huge: bool, validate: bool) -> (u32, bool) {
    let rc: u64;
    let carry: u8;
    // SAFETY: PVALIDATE changes only the RMP validated bit of the page at `vaddr`; the caller follows the acceptance rules.
    unsafe {
        asm!(
            ".byte 0xF2, 0x0F, 0x01, 0xFF",
            "setc {cf}",
            cf = out(reg_byte) carry,
            inout("rax") vaddr => rc,
            in("ecx") u32::from(huge),
            in("edx") u32::from(validate),
            options(nostack),
        );
    }
    (rc as u32, carry != 0)
}

/// RMPADJUST of the 4 KiB page at `vaddr` with `attrs` in RDX (target VMPL
/// 7:0, permissions 15:8, VMSA bit 16): EAX, 0 on success. Not intercepted
/// (it acts on the RMP, not through the hypervisor), so not on
/// tests/check_guest_binary.py's list; its own symbol all the same.
///
/// # Safety
/// The page is owned by the caller. Setting the VMSA bit hands it to the
/// hardware as a vCPU's save area: no Rust object may live in it, and the
/// guest must not write it again unless the bit is cleared first.
#[inline(never)]
pub(crate) unsafe fn rmpadjust(vaddr: u64, attrs: u64) -> u32 {
    let rc: u64;
    // SAFETY: RMPADJUST changes only the RMP attributes of the page at `vaddr`, which the caller owns and keeps free of Rust objects.
    unsafe {
        asm!(
            ".byte 0xF3, 0x0F, 0x01, 0xFE",
            inout("rax") vaddr => rc,
            in("rcx") 0u64,
            in("rdx") attrs,
            options(nostack),
        );
    }
    rc as u32
}

/// The stack pointer (which CPU runs is told by the stack it runs on:
/// `interrupts::on_boot_cpu`).
pub(crate) fn stack_pointer() -> u64 {
    let sp: u64;
    // SAFETY: reads RSP into a register; no memory access, no side effect.
    unsafe { asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}

/// CR0, CR3 and CR4 as loaded (reads are not intercepted for SEV-ES/SNP).
pub(crate) fn control_registers() -> (u64, u64, u64) {
    use x86_64::registers::control::{Cr0, Cr3, Cr4};
    let (frame, flags) = Cr3::read_raw();
    (
        Cr0::read_raw(),
        frame.start_address().as_u64() | u64::from(flags),
        Cr4::read_raw(),
    )
}

/// XSETBV of XCR0.
///
/// # Safety
/// Only components the CPU reports are set, x87 and SSE stay on, and no
/// state the running code uses is switched off.
pub(crate) unsafe fn xsetbv(xcr0: u64) {
    // SAFETY: as the caller vouches; the instruction touches no memory.
    unsafe {
        asm!("xsetbv", in("ecx") 0u32, in("eax") xcr0 as u32, in("edx") (xcr0 >> 32) as u32, options(nomem, nostack, preserves_flags));
    }
}

/// One RDRAND: (value, CF). Never intercepted; the caller checks CPUID.
pub(crate) fn rdrand64() -> (u64, bool) {
    let value: u64;
    let ok: u8;
    // SAFETY: RDRAND writes only the named registers and flags.
    unsafe {
        asm!("rdrand {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack));
    }
    (value, ok != 0)
}

/// The time-stamp counter. KVM does not intercept RDTSC for SEV-ES/SNP guests
/// by default; a hypervisor that does makes it a #VC, served through the GHCB
/// (`snp::rdtsc_for_vc`). The value is host-controlled either way (no Secure
/// TSC): for timeouts and statistics only.
pub(crate) fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Halts until an interrupt arrives, with interrupts enabled for the halt
/// only: `sti` delays recognition by one instruction, so an interrupt
/// already pending wakes the `hlt` instead of being lost before it. The
/// interrupt stubs (`boot/exceptions.s`) only record their vector, so no
/// other code ever runs with interrupts on.
#[inline(never)] // own symbol: tests/check_guest_binary.py allowlists it by name
pub(crate) fn wait_for_interrupt() {
    // SAFETY: the IDT has an entry for every vector the kernel enables (`interrupts::init`), and each of those stubs only sets a bit in `IRQ_SEEN` and returns.
    unsafe { asm!("sti", "hlt", "cli", options(nostack)) };
}

/// Interrupts off and the CPU halted, for good.
pub(crate) fn halt_forever() -> ! {
    loop {
        // SAFETY: disabling interrupts and halting has no memory effects.
        unsafe { asm!("cli; hlt", options(nomem, nostack)) };
    }
}

/// Drops the TLB entry of `va`.
pub(crate) fn invlpg(va: u64) {
    x86_64::instructions::tlb::flush(x86_64::VirtAddr::new_truncate(va));
}

/// Drops every non-global TLB entry (reloads CR3).
pub(crate) fn flush_tlb() {
    x86_64::instructions::tlb::flush_all();
}

/// CR2: the address of the last page fault.
pub(crate) fn cr2() -> u64 {
    x86_64::registers::control::Cr2::read_raw()
}

/// CR4.OSXSAVE and CR4.PKE.
pub(crate) fn cr4_osxsave_pke() -> (bool, bool) {
    use x86_64::registers::control::{Cr4, Cr4Flags};
    let cr4 = Cr4::read();
    (
        cr4.contains(Cr4Flags::OSXSAVE),
        cr4.contains(Cr4Flags::PROTECTION_KEY_USER),
    )
}

/// Sets CR4.OSXSAVE (makes XGETBV/XSETBV usable).
///
/// # Safety
/// CPUID reports XSAVE.
pub(crate) unsafe fn enable_osxsave() {
    use x86_64::registers::control::{Cr4, Cr4Flags};
    // SAFETY: OSXSAVE only makes XGETBV/XSETBV usable; the caller checked CPUID.
    unsafe { Cr4::update(|f| f.insert(Cr4Flags::OSXSAVE)) };
}

/// Loads the GDT, the segment registers (code, data) and the task register.
///
/// # Safety
/// `code`, `data` and `tss` index descriptors of `gdt` of those kinds.
pub(crate) unsafe fn load_gdt(
    gdt: &'static x86_64::structures::gdt::GlobalDescriptorTable,
    code: x86_64::structures::gdt::SegmentSelector,
    data: x86_64::structures::gdt::SegmentSelector,
    tss: x86_64::structures::gdt::SegmentSelector,
) {
    use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
    gdt.load();
    // SAFETY: the selectors index the GDT just loaded (caller), which lives forever.
    unsafe {
        CS::set_reg(code);
        DS::set_reg(data);
        ES::set_reg(data);
        SS::set_reg(data);
        x86_64::instructions::tables::load_tss(tss);
    }
}

/// Loads the IDT (LIDT). Safe: building the table was the unsafe part
/// (`set_handler_addr`), and it lives forever.
pub(crate) fn load_idt(idt: &'static x86_64::structures::idt::InterruptDescriptorTable) {
    idt.load();
}
