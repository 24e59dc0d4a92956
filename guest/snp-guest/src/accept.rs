//! Memory acceptance and page sharing.
//!
//! Rules (AMD APM vol. 2 §15.36 "SEV-SNP"; GHCB spec; same order as Linux
//! arch/x86/coco/sev and Oak stage0 accept_memory/paging):
//! * RAM not validated at launch must be assigned to the guest (PSC private)
//!   and then PVALIDATEd before first access.
//! * PVALIDATE with CF=1 means "RMP unchanged": during first acceptance the
//!   page was already validated, which a hypervisor can use to alias two GPAs
//!   onto one validated page. It is fatal ([`SnpError::DoubleValidation`]).
//! * Sharing: rescind validation, PSC shared, then clear the C-bit.
//!   Unsharing: PSC private, set the C-bit, then validate.
//! * The guest's [`AcceptedMemory`] record is consulted first: a page it
//!   already accepted is refused ([`SnpError::AlreadyAccepted`]) before any
//!   page state change, because a hypervisor can clear the Validated bit
//!   with RMPUPDATE and make the second PVALIDATE succeed (CF=0). Sharing
//!   removes pages from the record, unsharing puts them back.
//! * After every successful validating PVALIDATE (a 2 MiB page, each 4 KiB
//!   page of the fallback, an unshared page) the page's cache lines are
//!   evicted ([`SnpHardware::evict_cache`]) unless the CPUID page reports
//!   COHERENCY_SFW_NO (Linux commit 7b306dfa326f, CVE-2025-38560; Oak does
//!   the same). Rescinding needs no eviction.

use crate::accepted::AcceptedMemory;
use crate::msr_protocol::PscOp;
use crate::nae::{psc, PscEntry};
use crate::pvalidate_rc::{FAIL_SIZEMISMATCH, SUCCESS};
use crate::{GhcbChannel, PageSize, SnpError, SnpHardware, PAGE_SIZE_2M, PAGE_SIZE_4K};

/// Splits [start, end) into 2 MiB chunks where 2 MiB aligned and fully inside,
/// 4 KiB chunks elsewhere.
#[derive(Debug, Clone)]
pub struct Chunks {
    next: u64,
    end: u64,
}

impl Chunks {
    pub fn new(start: u64, end: u64) -> Self {
        Self { next: start, end }
    }
}

impl Iterator for Chunks {
    type Item = (u64, PageSize);
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let a = self.next;
        let size = if a.is_multiple_of(PAGE_SIZE_2M) && self.end - a >= PAGE_SIZE_2M {
            PageSize::Size2M
        } else {
            PageSize::Size4K
        };
        self.next = a + size.bytes();
        Some((a, size))
    }
}

/// The one range rule the accepted-memory record does not check itself
/// (alignment and order are [`AcceptedMemory::check_insert`]'s, which
/// `accept_range` asks next, also before any exit).
fn check_range(end: u64) -> Result<(), SnpError> {
    if end >> 52 != 0 {
        return Err(SnpError::InvalidArgument {
            what: "range end above 52-bit GPA space",
            value: end,
        });
    }
    Ok(())
}

/// PVALIDATE (validate) and what must follow it.
struct Validator<'a, H: SnpHardware + ?Sized> {
    hw: &'a mut H,
    /// Evict the cache lines of each page just validated (the CPU does not
    /// report COHERENCY_SFW_NO).
    evict: bool,
}

impl<'a, H: SnpHardware> Validator<'a, H> {
    fn new(channel: &'a mut GhcbChannel<H>) -> Self {
        let evict = !channel.coherency_sfw_no();
        Self {
            hw: channel.hw_mut(),
            evict,
        }
    }
}

impl<H: SnpHardware + ?Sized> Validator<'_, H> {
    /// A validating PVALIDATE succeeded (CF=0): the page is private, now
    /// evict its stale cache lines.
    fn validated(&mut self, gpa: u64, size: PageSize) {
        if self.evict {
            self.hw.evict_cache(gpa, size);
        }
    }

    /// Validates one page during first acceptance: CF=1 is fatal.
    fn new_page(&mut self, gpa: u64, size: PageSize) -> Result<(), SnpError> {
        let (rc, cf) = self.hw.pvalidate(gpa, size, true);
        if rc != SUCCESS {
            return Err(SnpError::PvalidateFailed {
                gpa,
                size,
                validate: true,
                code: rc,
            });
        }
        if cf {
            return Err(SnpError::DoubleValidation { gpa });
        }
        self.validated(gpa, size);
        Ok(())
    }

    /// PVALIDATE a chunk, 2 MiB falling back to 512 × 4 KiB on
    /// FAIL_SIZEMISMATCH (the hypervisor backed the range with 4 KiB RMP
    /// entries).
    fn chunk(&mut self, gpa: u64, size: PageSize) -> Result<(), SnpError> {
        if size != PageSize::Size2M {
            return self.new_page(gpa, size);
        }
        let (rc, cf) = self.hw.pvalidate(gpa, PageSize::Size2M, true);
        match rc {
            SUCCESS if cf => Err(SnpError::DoubleValidation { gpa }),
            SUCCESS => {
                self.validated(gpa, PageSize::Size2M);
                Ok(())
            }
            FAIL_SIZEMISMATCH => {
                for page in (gpa..gpa + PAGE_SIZE_2M).step_by(PAGE_SIZE_4K as usize) {
                    self.new_page(page, PageSize::Size4K)?;
                }
                Ok(())
            }
            code => Err(SnpError::PvalidateFailed {
                gpa,
                size,
                validate: true,
                code,
            }),
        }
    }
}

/// Makes the RAM range [start, end) private and validated (both 4 KiB
/// aligned; any 2 MiB aligned part uses 2 MiB entries). Batches of up to 253
/// chunks: one PSC NAE (private) per batch, then PVALIDATE of each chunk.
///
/// Every page must be new to `accepted` (else [`SnpError::AlreadyAccepted`]
/// before anything is asked of the hypervisor); each batch is recorded once
/// validated. Never call it on MMIO, on the `-bios` image or on ASEV
/// sections: record those as accepted at start-up instead.
pub fn accept_range<H: SnpHardware, const N: usize>(
    channel: &mut GhcbChannel<H>,
    accepted: &mut AcceptedMemory<N>,
    start: u64,
    end: u64,
) -> Result<(), SnpError> {
    check_range(end)?;
    accepted.check_insert(start, end)?;
    let mut chunks = Chunks::new(start, end);
    let mut batch = [PscEntry {
        gpa: 0,
        op: PscOp::Private,
        size: PageSize::Size4K,
    }; psc::MAX_ENTRIES];
    loop {
        let mut n = 0;
        for slot in batch.iter_mut() {
            let Some((gpa, size)) = chunks.next() else {
                break;
            };
            *slot = PscEntry {
                gpa,
                op: PscOp::Private,
                size,
            };
            n += 1;
        }
        let Some(entries) = batch.get(..n) else {
            break;
        };
        if entries.is_empty() {
            break;
        }
        channel.page_state_change(entries)?;
        let mut v = Validator::new(channel);
        for e in entries {
            v.chunk(e.gpa, e.size)?;
        }
        // Contiguous with the previous batch: merges, needs no new slot.
        if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
            accepted.insert(first.gpa, last.gpa + last.size.bytes())?;
        }
    }
    Ok(())
}

fn check_page(va: u64) -> Result<(), SnpError> {
    if !va.is_multiple_of(PAGE_SIZE_4K) || va >> 52 != 0 {
        return Err(SnpError::InvalidArgument {
            what: "page address not 4 KiB aligned or above 52 bits",
            value: va,
        });
    }
    Ok(())
}

/// Rescinds validation of a private 4 KiB page (first step of sharing).
pub(crate) fn rescind<H: SnpHardware + ?Sized>(hw: &mut H, va: u64) -> Result<(), SnpError> {
    let (rc, cf) = hw.pvalidate(va, PageSize::Size4K, false);
    if rc != SUCCESS {
        return Err(SnpError::PvalidateFailed {
            gpa: va,
            size: PageSize::Size4K,
            validate: false,
            code: rc,
        });
    }
    if cf {
        return Err(SnpError::RescindNotValidated { gpa: va });
    }
    Ok(())
}

/// Private -> shared for the 4 KiB page at `va` (identity mapped):
/// PVALIDATE rescind, PSC shared, clear the C-bit. The page's old contents
/// are lost to the guest; write the data after sharing. The page must be in
/// `accepted`; it leaves the record.
pub fn share_page<H: SnpHardware, const N: usize>(
    channel: &mut GhcbChannel<H>,
    accepted: &mut AcceptedMemory<N>,
    va: u64,
) -> Result<(), SnpError> {
    check_page(va)?;
    accepted.check_remove(va, va + PAGE_SIZE_4K)?;
    rescind(channel.hw_mut(), va)?;
    // Not validated from here on, so out of the record at once: a failed
    // page-state change below must not leave a rescinded page listed as
    // accepted.
    accepted.remove(va, va + PAGE_SIZE_4K)?;
    channel.page_state_change(&[PscEntry {
        gpa: va,
        op: PscOp::Shared,
        size: PageSize::Size4K,
    }])?;
    channel.hw_mut().set_page_encrypted(va, false);
    Ok(())
}

/// Shared -> private for the 4 KiB page at `va`: PSC private, set the
/// C-bit, PVALIDATE. CF=1 (already validated) is fatal. The page must not be
/// in `accepted`; it joins the record.
pub fn unshare_page<H: SnpHardware, const N: usize>(
    channel: &mut GhcbChannel<H>,
    accepted: &mut AcceptedMemory<N>,
    va: u64,
) -> Result<(), SnpError> {
    check_page(va)?;
    accepted.check_insert(va, va + PAGE_SIZE_4K)?;
    channel.page_state_change(&[PscEntry {
        gpa: va,
        op: PscOp::Private,
        size: PageSize::Size4K,
    }])?;
    channel.hw_mut().set_page_encrypted(va, true);
    Validator::new(channel).new_page(va, PageSize::Size4K)?;
    accepted.insert(va, va + PAGE_SIZE_4K)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunking_mixes_4k_and_2m() {
        // 0x1F_F000 .. 0x60_1000: one 4K, two 2M, one 4K.
        let v: std::vec::Vec<_> = Chunks::new(0x1F_F000, 0x60_1000).collect();
        assert_eq!(
            v,
            [
                (0x1F_F000, PageSize::Size4K),
                (0x20_0000, PageSize::Size2M),
                (0x40_0000, PageSize::Size2M),
                (0x60_0000, PageSize::Size4K),
            ]
        );
        // Aligned start but too short for 2M.
        assert_eq!(Chunks::new(0x20_0000, 0x20_3000).count(), 3);
        assert_eq!(Chunks::new(0x1000, 0x1000).count(), 0);
    }

    #[test]
    fn range_checks() {
        // Alignment and order: the record's check, which `accept_range` asks.
        let record = AcceptedMemory::<1>::new();
        assert!(record.check_insert(0x1001, 0x2000).is_err());
        assert!(record.check_insert(0x1000, 0x2001).is_err());
        assert!(record.check_insert(0x3000, 0x2000).is_err());
        assert!(record.check_insert(0x1000, 0x1000).is_ok());
        assert!(check_range(1 << 52).is_err());
        assert!(check_range((1 << 52) - 0x1000).is_ok());
    }
}
