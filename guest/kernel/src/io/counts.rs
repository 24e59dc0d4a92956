//! How many host exits the guest makes: every operation of `crate::io` that
//! is an explicit GHCB exit under SEV-SNP is counted here, natively too, so
//! a plain-QEMU run shows what an SNP run would cost. Relaxed atomics: the
//! counts are statistics, ordered with nothing.

use core::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Copy)]
pub(super) enum Kind {
    PortIn,
    PortOut,
    MmioRead,
    MmioWrite,
    Cpuid,
    MsrRead,
    MsrWrite,
}

static COUNTS: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];

pub(super) fn count(kind: Kind, exits: u64) {
    COUNTS[kind as usize].fetch_add(exits, Ordering::Relaxed);
}

/// Exits of one string port operation of `bytes` bytes under SNP: one per
/// GHCB shared buffer's worth (`snp_guest::nae::string_io_exits`).
pub(super) fn string_exits(bytes: usize) -> u64 {
    snp_guest::nae::string_io_exits(bytes) as u64
}

/// Operations that are host exits under SEV-SNP, by kind (in `Kind`'s
/// order), since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitCounts([u64; 7]);

/// The counts so far.
pub fn exit_counts() -> ExitCounts {
    ExitCounts(core::array::from_fn(|i| COUNTS[i].load(Ordering::Relaxed)))
}

impl ExitCounts {
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Kind by kind `self + other`.
    pub fn plus(&self, other: &ExitCounts) -> ExitCounts {
        ExitCounts(core::array::from_fn(|i| {
            self.0[i].saturating_add(other.0[i])
        }))
    }

    /// Kind by kind `self - earlier` (zero where `earlier` is larger).
    pub fn since(&self, earlier: &ExitCounts) -> ExitCounts {
        ExitCounts(core::array::from_fn(|i| {
            self.0[i].saturating_sub(earlier.0[i])
        }))
    }
}

/// `port N mmio N msr N cpuid N total N (port in N out N, mmio read N write
/// N, msr read N write N)`: the summary, then the split by direction.
impl core::fmt::Display for ExitCounts {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [port_in, port_out, mmio_read, mmio_write, cpuid, msr_read, msr_write] = self.0;
        write!(
            f,
            "port {} mmio {} msr {} cpuid {cpuid} total {} (port in {port_in} out {port_out}, mmio read {mmio_read} write {mmio_write}, msr read {msr_read} write {msr_write})",
            port_in + port_out,
            mmio_read + mmio_write,
            msr_read + msr_write,
            self.total(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCounts;

    #[test]
    fn sums_differences_and_the_console_form() {
        // port in, out, MMIO read, write, CPUID, MSR read, write (`Kind`).
        let a = ExitCounts([10, 20, 3, 4, 5, 1, 2]);
        let b = a.plus(&a);
        assert_eq!(b.since(&a), a);
        assert_eq!(a.since(&b), ExitCounts::default());
        assert_eq!(b.total(), 90);
        assert_eq!(
            std::format!("{b}"),
            "port 60 mmio 14 msr 6 cpuid 10 total 90 (port in 20 out 40, mmio read 6 write 8, msr read 2 write 4)"
        );
        assert_eq!(
            std::format!("{a}"),
            "port 30 mmio 7 msr 3 cpuid 5 total 45 (port in 10 out 20, mmio read 3 write 4, msr read 1 write 2)"
        );
    }
}
