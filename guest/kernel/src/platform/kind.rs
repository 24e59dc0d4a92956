//! The one answer to "which machine is this?", set once at boot.
//!
//! `start` records it after SEV-SNP bring-up (so "SNP" means "the GHCB
//! channel exists and every intercepted operation must use it"). Nothing
//! else stores the answer; code that must act differently asks the
//! platform to do the thing (`io`, `shared`, `evidence`) instead of asking
//! this question itself.

use core::sync::atomic::{AtomicU8, Ordering};

/// What the guest runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// No memory encryption: plain QEMU/KVM, instructions run natively.
    Native = 1,
    /// AMD SEV-SNP with the GHCB registered.
    Snp = 2,
}

impl Kind {
    /// For the boot log line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Native => "plain QEMU (no SEV)",
            Kind::Snp => "AMD SEV-SNP",
        }
    }
}

const UNSET: u8 = 0;

/// A platform kind written at most once.
pub(crate) struct KindCell(AtomicU8);

/// A second `set` (a bug): the kind stays what it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AlreadySet(pub(crate) Kind);

impl KindCell {
    pub(crate) const fn new() -> Self {
        KindCell(AtomicU8::new(UNSET))
    }

    /// Records the kind; refused (the first one stays) if one is recorded.
    pub(crate) fn set(&self, kind: Kind) -> Result<(), AlreadySet> {
        match self
            .0
            .compare_exchange(UNSET, kind as u8, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => Ok(()),
            Err(old) => Err(AlreadySet(decode(old))),
        }
    }

    /// Native until `set`: before SNP bring-up nothing may take the GHCB path.
    pub(crate) fn get(&self) -> Kind {
        decode(self.0.load(Ordering::Relaxed))
    }
}

fn decode(v: u8) -> Kind {
    if v == Kind::Snp as u8 {
        Kind::Snp
    } else {
        Kind::Native
    }
}

#[cfg(test)]
mod tests {
    use super::{AlreadySet, Kind, KindCell};

    #[test]
    fn native_until_set_then_fixed() {
        let cell = KindCell::new();
        assert_eq!(cell.get(), Kind::Native);
        assert_eq!(cell.set(Kind::Snp), Ok(()));
        assert_eq!(cell.get(), Kind::Snp);
        // A second set, even of the other kind or the same one, is refused
        // and changes nothing.
        assert_eq!(cell.set(Kind::Native), Err(AlreadySet(Kind::Snp)));
        assert_eq!(cell.set(Kind::Snp), Err(AlreadySet(Kind::Snp)));
        assert_eq!(cell.get(), Kind::Snp);
    }

    #[test]
    fn native_recorded_is_native() {
        let cell = KindCell::new();
        assert_eq!(cell.set(Kind::Native), Ok(()));
        assert_eq!(cell.set(Kind::Snp), Err(AlreadySet(Kind::Native)));
        assert_eq!(cell.get(), Kind::Native);
        assert_eq!(Kind::Snp.name(), "AMD SEV-SNP");
    }
}
