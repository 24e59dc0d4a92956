//! The other vCPUs (application processors) as compute workers.
//!
//! Bring-up under plain QEMU: the boot vCPU prepares one stack (with an
//! unmapped guard page below it) per AP the host announces (fw_cfg
//! `FW_CFG_NB_CPUS`), then sends INIT and two start-up IPIs to all other
//! CPUs. Each AP runs `boot/reset.s` (`ap_startup16` -> `ap_entry64`),
//! takes a ticket naming its stack, loads its own GDT and TSS, the shared
//! IDT and the boot vCPU's XCR0, switches its APIC on, and reports in.
//! Bring-up waits a bounded time; an AP that has not reported by then is
//! left out (and one that takes a ticket after that parks for good).
//!
//! Work: `run` gives task `i + 1` to worker `i` (a slot per AP: a task
//! pointer and a state word, no allocation), wakes it with an IPI, runs
//! task 0 itself and spins (PAUSE) until every worker is idle again. An
//! idle AP spins briefly, then halts until the next IPI. APs never touch
//! a device, the network or the GHCB: they compute.
//!
//! Under SEV-SNP the APs are created from guest-made VMSAs instead and
//! spin between tasks (`smp/snp.rs`).

mod snp;
pub(crate) use snp::apic_id;

use crate::apic::LocalApic;
use crate::platform::HwIo;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use spin::Mutex;

/// Most APs the kernel drives (a 16-vCPU appliance).
pub const MAX_APS: usize = 15;
/// Stack of each AP (the engine's tasks run on it).
const AP_STACK_BYTES: usize = 256 * 1024;
/// Stack for double faults, per AP.
const AP_FAULT_STACK_BYTES: usize = 16 * 1024;
/// How long bring-up waits for APs to report in.
const BRING_UP_MS: u64 = 2_000;
/// The start-up IPI's page: 0xFE000 (`ap_startup16`, layout.ld).
const STARTUP_PAGE: u8 = 0xFE;
/// Spins an idle worker makes before it halts.
const SPINS_BEFORE_HALT: u32 = 20_000;

/// Tickets handed out so far (`ap_entry64` takes one with `lock xadd`).
#[no_mangle]
static AP_NEXT: AtomicU64 = AtomicU64::new(0);
/// Tickets with a stack; written before the IPIs, never changed after.
#[no_mangle]
static AP_PREPARED: AtomicU64 = AtomicU64::new(0);
/// Stack top per ticket.
#[no_mangle]
static AP_STACK_TOPS: [AtomicU64; MAX_APS] = [const { AtomicU64::new(0) }; MAX_APS];

/// Test image only: the AP with ticket `HELD_AP - 1` never reports in
/// (fw_cfg `opt/appliance/hold-ap`), as a vCPU that does not come up.
#[cfg(feature = "fault-test")]
pub(crate) static HELD_AP: AtomicU64 = AtomicU64::new(0);

const IDLE: u32 = 0;
const POSTED: u32 = 1;

/// A task lent by `run`, which does not return until the task has.
struct TaskPtr(*mut (dyn FnMut() + Send));
// SAFETY: the pointee is `Send`, and `run` keeps it borrowed (alive and unaliased) until the worker that runs it is idle again.
unsafe impl Send for TaskPtr {}

/// One AP's mailbox.
struct Worker {
    /// Reported in (set by the AP).
    online: AtomicBool,
    /// Reported in before bring-up closed: given work (set by the BSP).
    usable: AtomicBool,
    apic_id: AtomicU32,
    state: AtomicU32,
    task: Mutex<Option<TaskPtr>>,
}

static WORKERS: [Worker; MAX_APS] = [const {
    Worker {
        online: AtomicBool::new(false),
        usable: AtomicBool::new(false),
        apic_id: AtomicU32::new(0),
        state: AtomicU32::new(IDLE),
        task: Mutex::new(None),
    }
}; MAX_APS];
/// APs that reported in during bring-up (the usable workers).
static ONLINE: AtomicUsize = AtomicUsize::new(0);
/// Bring-up is over: a late AP stays out.
static CLOSED: AtomicBool = AtomicBool::new(false);
/// `run` is in progress (a nested call runs its tasks in order).
static BUSY: AtomicBool = AtomicBool::new(false);

/// Starts the APs of a `cpus`-vCPU machine and waits for them to report.
/// Returns how many did. Once, from `start`, with the heap up.
pub(crate) fn start_aps(cpus: u16, apic: Option<&LocalApic<HwIo>>) -> usize {
    let wanted = usize::from(cpus.saturating_sub(1)).min(MAX_APS);
    if wanted == 0 {
        return 0;
    }
    if crate::platform::kind() == crate::platform::Kind::Snp {
        return snp::start_aps(wanted);
    }
    let Some(apic) = apic else {
        log::warn!("smp: {wanted} APs not started: no x2APIC");
        return 0;
    };
    if !prepare_stacks(wanted) {
        return 0;
    }
    // SAFETY: `ap_startup16` is at 0xFE000 (layout.ld, reached through the ISA BIOS alias natively, the only platform that gets here); it takes a ticket and runs on a stack prepared above.
    unsafe { apic.start_all_others(STARTUP_PAGE, crate::time::spin_us) };
    collect(wanted, wanted)
}

/// Waits up to `BRING_UP_MS` for `expected` of the first `wanted` slots to
/// report, then fixes the set of workers; returns its size.
fn collect(wanted: usize, expected: usize) -> usize {
    let started = crate::time::tsc();
    let reported = || {
        WORKERS
            .iter()
            .take(wanted)
            .filter(|w| w.online.load(Ordering::Acquire))
            .count()
    };
    while reported() < expected && crate::time::us_since(started) < BRING_UP_MS * 1000 {
        core::hint::spin_loop();
    }
    CLOSED.store(true, Ordering::Release);
    // From here on the set is fixed: an AP that reports later never gets work.
    let mut online = 0;
    for w in WORKERS.iter().take(wanted) {
        if w.online.load(Ordering::Acquire) {
            w.usable.store(true, Ordering::Release);
            online += 1;
        }
    }
    if online < wanted {
        log::warn!("smp: {online} of {wanted} APs reported within {BRING_UP_MS} ms; the others are left out");
    }
    ONLINE.store(online, Ordering::Release);
    online
}

/// One guarded stack per ticket `0..wanted`, then the tickets opened
/// (`AP_PREPARED`, before any AP is started); false, and nothing opened,
/// when the heap cannot give them.
fn prepare_stacks(wanted: usize) -> bool {
    for top in AP_STACK_TOPS.iter().take(wanted) {
        match guarded_stack(AP_STACK_BYTES) {
            Some(t) => top.store(t, Ordering::Relaxed),
            None => {
                log::warn!("smp: no memory for AP stacks; APs not started");
                return false;
            }
        }
    }
    AP_PREPARED.store(wanted as u64, Ordering::Release);
    true
}

/// A stack of `bytes` above an unmapped guard page, from the heap, kept
/// for the VM's life; its top, 16-byte aligned.
fn guarded_stack(bytes: usize) -> Option<u64> {
    let page = crate::memory::PAGE_SIZE as usize;
    let mut mem: Vec<u8> = Vec::new();
    mem.try_reserve_exact(bytes + 2 * page).ok()?;
    let base = (mem.as_ptr() as u64).next_multiple_of(page as u64);
    core::mem::forget(mem);
    // SAFETY: the page at `base` lies inside the leaked allocation above, which nothing else uses or frees, and holds no Rust object.
    unsafe { crate::paging::unmap_guard(base) }.ok()?;
    Some((base + page as u64 + bytes as u64) & !0xF)
}

/// The AP's Rust entry (`ap_entry64`), on its own stack.
#[no_mangle]
extern "C" fn ap_main(index: u64) -> ! {
    let index = index as usize;
    crate::interrupts::init_ap(AP_FAULT_STACK_BYTES);
    crate::cpu::enable_simd_on_ap();
    // SAFETY: this CPU's own APIC (the boot vCPU found x2APIC before starting APs), with the IDT holding every enabled vector's stub.
    let apic_id = unsafe { crate::apic::switch_on(&HwIo) };
    let Some(me) = WORKERS.get(index) else {
        crate::exit::halt_forever()
    };
    #[cfg(feature = "fault-test")]
    if HELD_AP.load(Ordering::Relaxed) == index as u64 + 1 {
        crate::exit::halt_forever(); // the test image's stuck vCPU
    }
    if CLOSED.load(Ordering::Acquire) {
        crate::exit::halt_forever();
    }
    me.apic_id.store(apic_id, Ordering::Relaxed);
    me.online.store(true, Ordering::Release);
    loop {
        let mut spins = 0;
        while me.state.load(Ordering::Acquire) != POSTED {
            spins += 1;
            if spins < SPINS_BEFORE_HALT {
                core::hint::spin_loop();
                continue;
            }
            // An IPI sent after the check above is held until the `sti`
            // and wakes the `hlt`.
            crate::arch::wait_for_interrupt();
            // The IPI (x2APIC registers are per CPU: this is our EOI).
            if let Some(apic) = crate::idle::apic() {
                apic.end_of_interrupt();
            }
            spins = 0;
        }
        if let Some(TaskPtr(task)) = me.task.lock().take() {
            // SAFETY: `run` lent this task and waits until `state` is IDLE again before its borrow ends; no one else holds it.
            unsafe { (*task)() };
        }
        me.state.store(IDLE, Ordering::Release);
    }
}

/// APs ready for work.
pub fn workers() -> usize {
    ONLINE.load(Ordering::Acquire)
}

/// Runs every task once: task 0 on the calling vCPU and task `i` on AP
/// `i - 1`, all at the same time, returning when all have. At most
/// `1 + workers()` tasks, from one caller at a time: the tasks may wait for
/// each other (`embed_engine::Parallel`'s contract), so running them in
/// turn would hang; a call that breaks this stops the VM instead.
pub fn run(tasks: &mut [&mut (dyn FnMut() + Send)]) {
    if tasks.len() <= 1 {
        return tasks.iter_mut().for_each(|t| t());
    }
    let online = workers();
    // SNP workers spin and need no IPI (`smp/snp.rs`).
    let apic = crate::idle::apic().filter(|_| !snp::spinning());
    if tasks.len() > 1 + online || (apic.is_none() && !snp::spinning()) {
        crate::exit::fail("smp", &"more parallel tasks than working vCPUs");
    }
    if BUSY.swap(true, Ordering::Acquire) {
        crate::exit::fail("smp", &"a parallel run inside another");
    }
    let (first, rest) = tasks.split_at_mut(1);
    let lent = rest.len().min(online);
    let usable = || WORKERS.iter().filter(|w| w.usable.load(Ordering::Acquire));
    for (worker, task) in usable().zip(rest.iter_mut()).take(lent) {
        let ptr: *mut (dyn FnMut() + Send + '_) = &mut **task;
        // SAFETY: only the lifetime is erased; this function waits for the worker to finish with the task before the borrow of `tasks` ends.
        let ptr: *mut (dyn FnMut() + Send + 'static) = unsafe { core::mem::transmute(ptr) };
        *worker.task.lock() = Some(TaskPtr(ptr));
        worker.state.store(POSTED, Ordering::Release);
        if let Some(apic) = apic {
            apic.wake(worker.apic_id.load(Ordering::Relaxed));
        }
    }
    for t in first.iter_mut() {
        t();
    }
    for worker in usable().take(lent) {
        while worker.state.load(Ordering::Acquire) != IDLE {
            core::hint::spin_loop();
        }
    }
    BUSY.store(false, Ordering::Release);
}
