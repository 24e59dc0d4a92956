//! APs under SEV-SNP: created from guest-made VMSAs, pure compute workers.
//!
//! **Method.** Each AP gets a VMSA written by the boot vCPU and the AP
//! creation NAE (`snp_guest::create_ap`), as Linux's
//! `wakeup_cpu_via_vmgexit` and COCONUT-SVSM do, not INIT-SIPI into the
//! launch VMSA and an AP jump table (OVMF's SEV-ES way): that needs a
//! real-mode path under SNP and a GHCB on the AP to park it (AP reset hold),
//! while a VMSA lets the AP start in long mode at `ap_main_snp`, on its
//! stack, with the boot vCPU's CR0/CR3/CR4, EFER, PAT, XCR0, GDT and IDT,
//! and never exit. The launch digest is unchanged: it covers the launch
//! VMSA of every vCPU whatever the guest does later.
//!
//! **APIC IDs.** 1..N-1 for an N-vCPU VM: QEMU numbers the vCPUs of a plain
//! `-smp N` (`qemu/run-snp.sh`) 0..N-1 and KVM's vCPU id is the APIC ID. The
//! CPUID page cannot list them (it holds the boot vCPU's view; leaf 0xB
//! only gives field widths), and a wrong guess costs nothing: KVM refuses
//! an unknown APIC ID, which comes back as a typed error and leaves that AP
//! out.
//!
//! **VMSA page.** The second 4 KiB of an 8 KiB-aligned heap block (accepted,
//! private memory): never 2 MiB aligned (Linux `snp_alloc_vmsa_page`). On
//! success it is the AP's for good; after a refusal its VMSA bit is cleared
//! and the block freed, unless clearing failed (then it is leaked).
//!
//! **No exits on an AP.** An SNP AP has no GHCB, and the boot vCPU's is
//! registered for that vCPU only. So the AP never touches its APIC (x2APIC
//! MSRs raise #VC), never logs, and any #VC or GHCB use on it terminates the
//! guest with its own reason (`exit::reason::AP_VC`, `AP_GHCB`): which CPU
//! runs is told by the stack it runs on (`interrupts::on_boot_cpu`, and
//! [`apic_id`] for the CPUID page's per-vCPU answers).
//!
//! **Idle: spin, never halt.** HLT itself is an automatic exit, but waking
//! a halted AP needs an interrupt it can acknowledge: the EOI is an x2APIC
//! MSR write (a #VC needing a GHCB), and without it the wake-up vector stays
//! in service and blocks the next one; an NMI needs NMI_COMPLETE, also a
//! GHCB exit. So an idle SNP AP spins with PAUSE. Cost, plainly: every
//! started AP keeps one host CPU busy for the VM's whole life, idle or not
//! (KVM's pause-loop exiting may yield the core to others, but the vCPU
//! thread stays runnable). Re-creating a parked AP with a fresh VMSA when
//! work arrives, as Linux's CPU hotplug does, would avoid that; not done.

use super::{
    prepare_stacks, TaskPtr, AP_FAULT_STACK_BYTES, AP_PREPARED, AP_STACK_BYTES, AP_STACK_TOPS,
    CLOSED, IDLE, POSTED, WORKERS,
};
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use core::sync::atomic::Ordering;
use snp_guest::vmsa::ApState;
use snp_guest::SnpError;

const MSR_EFER: u32 = 0xC000_0080;
const MSR_PAT: u32 = 0x277;
const PAGE: usize = 4096;

/// SNP workers spin between tasks: `run` sends them no IPI.
pub(super) fn spinning() -> bool {
    crate::platform::kind() == crate::platform::Kind::Snp
}

/// The APIC ID of the vCPU running this: an AP's from its slot, found by
/// the stack it runs on; 0 (the boot vCPU's, as QEMU numbers it) otherwise.
pub(crate) fn apic_id() -> u32 {
    let sp = crate::arch::stack_pointer();
    let prepared = AP_PREPARED.load(Ordering::Acquire) as usize;
    for (top, worker) in AP_STACK_TOPS.iter().zip(WORKERS.iter()).take(prepared) {
        let top = top.load(Ordering::Relaxed);
        if (top.saturating_sub(AP_STACK_BYTES as u64)..=top).contains(&sp) {
            return worker.apic_id.load(Ordering::Relaxed);
        }
    }
    0
}

/// Creates `wanted` APs and waits for them to report; returns how many did.
pub(super) fn start_aps(wanted: usize) -> usize {
    let Some((gdt, idt, code_selector, data_selector)) = crate::interrupts::boot_tables() else {
        return 0;
    };
    if !prepare_stacks(wanted) {
        return 0;
    }
    let (cr0, cr3, cr4) = crate::arch::control_registers();
    let entry: extern "C" fn(u64) -> ! = ap_main_snp;
    let base = ApState {
        cr0,
        cr3,
        cr4,
        // Read from the CPU, not through the GHCB: EFER and PAT are not
        // intercepted for SEV-ES/SNP, and the host cannot know them.
        efer: crate::arch::rdmsr(MSR_EFER),
        pat: crate::arch::rdmsr(MSR_PAT),
        xcr0: crate::cpu::xcr0(),
        gdt,
        idt,
        code_selector,
        data_selector,
        rip: entry as usize as u64,
        rsp: 0,
        rdi: 0,
        // SEV_STATUS[63:2] are the VMSA's SEV features (Linux
        // `wakeup_cpu_via_vmgexit`); KVM refuses any other value.
        sev_features: crate::boot::handover().sev_status >> 2,
    };
    let mut started = 0;
    for (index, (top, worker)) in AP_STACK_TOPS
        .iter()
        .zip(WORKERS.iter())
        .take(wanted)
        .enumerate()
    {
        let apic_id = index as u32 + 1;
        worker.apic_id.store(apic_id, Ordering::Relaxed);
        // At entry RSP + 8 is 16-byte aligned, as after a call.
        let state = ApState {
            rsp: top.load(Ordering::Relaxed) - 8,
            rdi: index as u64,
            ..base
        };
        match create(apic_id, &state) {
            Some(Ok(())) => started += 1,
            Some(Err(e)) => log::warn!("smp: AP {apic_id} not created: {e}"),
            None => {
                log::warn!("smp: no memory for a VMSA; APs from {apic_id} on not started");
                break;
            }
        }
    }
    super::collect(wanted, started)
}

/// Writes the VMSA into a fresh page and creates the AP; `None` without
/// memory for the page.
fn create(apic_id: u32, state: &ApState) -> Option<Result<(), SnpError>> {
    let layout = Layout::from_size_align(2 * PAGE, 2 * PAGE).ok()?;
    // SAFETY: the layout's size is not zero.
    let block = unsafe { alloc_zeroed(layout) };
    if block.is_null() {
        return None;
    }
    // The second page of an 8 KiB-aligned block is never 2 MiB aligned.
    let vmsa = block as u64 + PAGE as u64;
    let bytes = state.build();
    // SAFETY: [vmsa, vmsa + 4096) is the second half of the block just allocated, which nothing else references.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), vmsa as *mut u8, bytes.len()) };
    // SAFETY: the page is ours (allocated above, identity-mapped heap memory, accepted and private) and holds only the VMSA; on `Ok` and `VmsaBitStuck` the block is leaked below and never touched again.
    let result = unsafe { crate::snp::create_ap(apic_id, vmsa, state.sev_features) };
    if !matches!(result, Ok(()) | Err(SnpError::VmsaBitStuck { .. })) {
        // SAFETY: `block` came from `alloc_zeroed` with `layout`, and its VMSA page is unmarked again (any other error leaves the bit clear).
        unsafe { dealloc(block, layout) };
    }
    Some(result)
}

/// The SNP AP's Rust entry, straight from its VMSA: long mode, its stack,
/// its index in RDI, interrupts off. Spins between tasks and never exits.
extern "C" fn ap_main_snp(index: u64) -> ! {
    crate::interrupts::init_ap(AP_FAULT_STACK_BYTES);
    let Some(me) = WORKERS.get(index as usize) else {
        crate::exit::halt_forever()
    };
    if CLOSED.load(Ordering::Acquire) {
        crate::exit::halt_forever();
    }
    me.online.store(true, Ordering::Release);
    loop {
        while me.state.load(Ordering::Acquire) != POSTED {
            core::hint::spin_loop();
        }
        if let Some(TaskPtr(task)) = me.task.lock().take() {
            // SAFETY: `run` lent this task and waits until `state` is IDLE again before its borrow ends; no one else holds it.
            unsafe { (*task)() };
        }
        me.state.store(IDLE, Ordering::Release);
    }
}
