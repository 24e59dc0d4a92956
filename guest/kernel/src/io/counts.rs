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

/// Operations that are host exits under SEV-SNP, by kind, since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitCounts {
    pub port_in: u64,
    pub port_out: u64,
    pub mmio_read: u64,
    pub mmio_write: u64,
    pub msr_read: u64,
    pub msr_write: u64,
    pub cpuid: u64,
}

/// The counts so far.
pub fn exit_counts() -> ExitCounts {
    let get = |k: Kind| COUNTS[k as usize].load(Ordering::Relaxed);
    ExitCounts {
        port_in: get(Kind::PortIn),
        port_out: get(Kind::PortOut),
        mmio_read: get(Kind::MmioRead),
        mmio_write: get(Kind::MmioWrite),
        msr_read: get(Kind::MsrRead),
        msr_write: get(Kind::MsrWrite),
        cpuid: get(Kind::Cpuid),
    }
}

impl ExitCounts {
    pub fn port(&self) -> u64 {
        self.port_in + self.port_out
    }

    pub fn mmio(&self) -> u64 {
        self.mmio_read + self.mmio_write
    }

    pub fn msr(&self) -> u64 {
        self.msr_read + self.msr_write
    }

    pub fn total(&self) -> u64 {
        self.port() + self.mmio() + self.msr() + self.cpuid
    }

    /// Kind by kind `self + other`.
    pub fn plus(&self, other: &ExitCounts) -> ExitCounts {
        ExitCounts {
            port_in: self.port_in.saturating_add(other.port_in),
            port_out: self.port_out.saturating_add(other.port_out),
            mmio_read: self.mmio_read.saturating_add(other.mmio_read),
            mmio_write: self.mmio_write.saturating_add(other.mmio_write),
            msr_read: self.msr_read.saturating_add(other.msr_read),
            msr_write: self.msr_write.saturating_add(other.msr_write),
            cpuid: self.cpuid.saturating_add(other.cpuid),
        }
    }

    /// Kind by kind `self - earlier` (zero where `earlier` is larger).
    pub fn since(&self, earlier: &ExitCounts) -> ExitCounts {
        ExitCounts {
            port_in: self.port_in.saturating_sub(earlier.port_in),
            port_out: self.port_out.saturating_sub(earlier.port_out),
            mmio_read: self.mmio_read.saturating_sub(earlier.mmio_read),
            mmio_write: self.mmio_write.saturating_sub(earlier.mmio_write),
            msr_read: self.msr_read.saturating_sub(earlier.msr_read),
            msr_write: self.msr_write.saturating_sub(earlier.msr_write),
            cpuid: self.cpuid.saturating_sub(earlier.cpuid),
        }
    }
}

/// `port N mmio N msr N cpuid N total N (port in N out N, mmio read N write
/// N, msr read N write N)`: the summary, then the split by direction.
impl core::fmt::Display for ExitCounts {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "port {} mmio {} msr {} cpuid {} total {} (port in {} out {}, mmio read {} write {}, msr read {} write {})",
            self.port(),
            self.mmio(),
            self.msr(),
            self.cpuid,
            self.total(),
            self.port_in,
            self.port_out,
            self.mmio_read,
            self.mmio_write,
            self.msr_read,
            self.msr_write
        )
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCounts;

    #[test]
    fn sums_differences_and_the_console_form() {
        let a = ExitCounts {
            port_in: 10,
            port_out: 20,
            mmio_read: 3,
            mmio_write: 4,
            msr_read: 1,
            msr_write: 2,
            cpuid: 5,
        };
        let b = a.plus(&a);
        assert_eq!(b.since(&a), a);
        assert_eq!(a.since(&b), ExitCounts::default());
        assert_eq!((b.port(), b.mmio(), b.msr(), b.total()), (60, 14, 6, 90));
        assert_eq!(
            std::format!("{a}"),
            "port 30 mmio 7 msr 3 cpuid 5 total 45 (port in 10 out 20, mmio read 3 write 4, msr read 1 write 2)"
        );
    }
}
