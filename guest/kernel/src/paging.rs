//! Edits of the identity map built by the boot stub: clearing or setting the
//! C-bit of single 4 KiB pages (shared pages under SNP), mapping RAM above
//! 4 GiB, and uncached device windows.

use crate::memory::PAGE_SIZE;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

#[cfg(not(any(test, feature = "fuzz")))]
extern "C" {
    static mut boot_pdpt: [u64; 512];
    static mut boot_pd: [u64; 2048];
}

// Host builds (unit tests, fuzzing) link without the boot stub. Code that can reach a page
// table edit (a `SharedBuffer`'s drop under SNP) must still link there;
// no test runs it, and these empty tables stand in for the stub's.
#[cfg(any(test, feature = "fuzz"))]
#[allow(non_upper_case_globals)]
static mut boot_pdpt: [u64; 512] = [0; 512];
#[cfg(any(test, feature = "fuzz"))]
#[allow(non_upper_case_globals)]
static mut boot_pd: [u64; 2048] = [0; 2048];

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const HUGE: u64 = 1 << 7;
const PHYS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
const FOUR_GIB: u64 = 1 << 32;

static C_BIT: AtomicU64 = AtomicU64::new(0);

/// Page-table pages for splitting 2 MiB mappings before the frame allocator
/// exists (the GHCB page is shared that early). They are in BSS, which lies
/// in launch-validated memory.
#[repr(C, align(4096))]
struct TablePool([[u64; 512]; 4]);
static mut EARLY_TABLES: TablePool = TablePool([[0; 512]; 4]);
static EARLY_USED: Mutex<usize> = Mutex::new(0);

#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum PagingError {
    /// No frame left for a page table.
    #[error("out of memory for page tables")]
    OutOfTables,
    /// Address outside what this module maps.
    #[error("address {va:#x} is not identity-mapped")]
    Unmapped { va: u64 },
    /// A device window that overlaps 4 KiB-mapped (shared RAM) pages.
    #[error("address {va:#x} is mapped as RAM pages, not a device window")]
    NotDeviceWindow { va: u64 },
}

pub(crate) fn set_c_bit_mask(mask: u64) {
    C_BIT.store(mask, Ordering::Relaxed);
}

pub(crate) fn c_bit_mask() -> u64 {
    C_BIT.load(Ordering::Relaxed)
}

fn new_table() -> Result<u64, PagingError> {
    {
        let mut used = EARLY_USED.lock();
        if *used < 4 {
            // SAFETY: each pool slot is handed out once, under the lock.
            let table = unsafe { (&raw mut EARLY_TABLES.0[*used]) as u64 };
            *used += 1;
            return Ok(table);
        }
    }
    crate::memory::init::allocate_frame().ok_or(PagingError::OutOfTables)
}

/// The 4 KiB page-table entry that maps `va` (< 4 GiB), splitting its
/// 2 MiB mapping into 512 4 KiB entries with the same flags first.
///
/// # Safety
/// Single CPU, no concurrent edits of the boot tables; the returned pointer
/// is only used before the next call that could free or move the table
/// (tables are never freed).
unsafe fn split_pte(va: u64) -> Result<*mut u64, PagingError> {
    if va >= FOUR_GIB {
        return Err(PagingError::Unmapped { va });
    }
    let c_bit = c_bit_mask();
    let pd_index = (va >> 21) as usize;
    // SAFETY: the caller guarantees exclusive access to the boot tables; the identity map keeps every other address unchanged while the 2 MiB entry is replaced by an equivalent table.
    unsafe {
        let pde = &raw mut boot_pd[pd_index];
        if *pde & HUGE != 0 {
            let table = new_table()?;
            let base = *pde & PHYS_MASK & !c_bit;
            let flags = *pde & (c_bit | PRESENT | WRITABLE);
            let entries = table as *mut u64;
            for i in 0..512u64 {
                *entries.add(i as usize) = (base + i * PAGE_SIZE) | flags;
            }
            *pde = table | PRESENT | WRITABLE | c_bit;
            crate::arch::flush_tlb();
        }
        let table = (*pde & PHYS_MASK & !c_bit) as *mut u64;
        Ok(table.add(((va >> 12) & 511) as usize))
    }
}

/// Set or clear the C-bit on the 4 KiB page at `va` (< 4 GiB), splitting its
/// 2 MiB mapping first if needed, and flush the TLB entry.
///
/// # Safety
/// The page's state changed to match (shared without, private with the
/// C-bit), it is owned by the caller, and no reference into it is used
/// across the change: the same address now reads other bytes.
pub(crate) unsafe fn set_page_encrypted(va: u64, encrypted: bool) -> Result<(), PagingError> {
    let c_bit = c_bit_mask();
    // SAFETY: single CPU and no interrupts; the boot tables are only edited in this module; the caller owns the page.
    unsafe {
        let pte = split_pte(va)?;
        if encrypted {
            *pte |= c_bit;
        } else {
            *pte &= !c_bit;
        }
    }
    crate::arch::invlpg(va);
    Ok(())
}

extern "C" {
    /// The page below the boot stack (guest/kernel/layout.ld).
    static _stack_guard: u8;
}

/// Unmap the guard page below the boot stack, so that an overflow faults
/// (and the double-fault handler reports it on its own stack) instead of
/// silently overwriting BSS. Returns the guard page's address.
pub(crate) fn unmap_stack_guard() -> Result<u64, PagingError> {
    let va = (&raw const _stack_guard) as u64;
    // SAFETY: nothing lives in the guard page (the linker script reserves it).
    unsafe { unmap_guard(va) }?;
    Ok(va)
}

/// Unmaps the 4 KiB page at `va` (a guard page below a stack): a touch
/// faults.
///
/// # Safety
/// The page is the caller's, identity-mapped, and holds no Rust object.
pub(crate) unsafe fn unmap_guard(va: u64) -> Result<(), PagingError> {
    // SAFETY: as in `set_page_encrypted`; the caller owns the page.
    unsafe {
        let pte = split_pte(va)?;
        *pte &= !PRESENT;
    }
    crate::arch::invlpg(va);
    Ok(())
}

/// Identity-map [start, end) above 4 GiB with 2 MiB pages (C-bit set).
pub(crate) fn map_high(start: u64, end: u64) -> Result<(), PagingError> {
    let c_bit = c_bit_mask();
    let mut addr = start & !0x1F_FFFF;
    while addr < end {
        let pdpt_index = (addr >> 30) as usize;
        if pdpt_index >= 512 {
            return Err(PagingError::Unmapped { va: addr });
        }
        // SAFETY: as in `set_page_encrypted`; new tables are zeroed frames.
        unsafe {
            let pdpte = &raw mut boot_pdpt[pdpt_index];
            if *pdpte & PRESENT == 0 {
                let table =
                    crate::memory::init::allocate_frame().ok_or(PagingError::OutOfTables)?;
                *pdpte = table | PRESENT | WRITABLE | c_bit;
            }
            let pd = (*pdpte & PHYS_MASK & !c_bit) as *mut u64;
            *pd.add(((addr >> 21) & 511) as usize) = addr | PRESENT | WRITABLE | HUGE | c_bit;
        }
        addr += 0x20_0000;
    }
    crate::arch::flush_tlb();
    Ok(())
}

const WRITE_THROUGH: u64 = 1 << 3;
const CACHE_DISABLE: u64 = 1 << 4;

/// Make the identity map of [start, end) (below 4 GiB) uncacheable: PCD|PWT
/// on each 2 MiB page (PAT index 3, UC with the reset PAT). For device
/// registers in native mode; under SNP MMIO goes through the GHCB instead
/// and never uses this mapping.
pub(crate) fn set_uncached(start: u64, end: u64) -> Result<(), PagingError> {
    if end > FOUR_GIB {
        return Err(PagingError::Unmapped { va: end });
    }
    let mut addr = start & !0x1F_FFFF;
    while addr < end {
        // SAFETY: as in `set_page_encrypted`; only the cache bits of a 2 MiB entry change.
        unsafe {
            let pde = &raw mut boot_pd[(addr >> 21) as usize];
            if *pde & HUGE == 0 {
                // Split for shared pages: RAM, never a device window.
                return Err(PagingError::NotDeviceWindow { va: addr });
            }
            *pde |= WRITE_THROUGH | CACHE_DISABLE;
        }
        addr += 0x20_0000;
    }
    crate::arch::flush_tlb();
    Ok(())
}
