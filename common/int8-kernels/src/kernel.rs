//! Which implementation runs: [`KernelKind`] names one, a [`Kernel`] is the proof
//! that it may run on the CPU executing this code.
//!
//! The entry points dispatch on a [`Kernel`] and run its SIMD code without asking
//! the CPU (a guest build has no probe: CPUID raises #VC under SEV-SNP). A SIMD
//! instruction the CPU lacks, or whose register state XCR0 leaves disabled, is
//! undefined behaviour, so safe code must not be able to name a SIMD kernel on its
//! own. `Kernel` therefore has a private field, and its SIMD values come only from
//!
//! - the run-time probe (feature `std`, host tools and tests): [`Kernel::detect`],
//!   [`Kernel::available`], [`Kernel::if_supported`], [`Kernel::from_name`]; or
//! - [`Kernel::assume_supported`], an `unsafe fn` whose caller states that the CPU
//!   runs the kind (the guest kernel, from the CPUID values it trusts and the XCR0
//!   it just loaded).
//!
//! `Kernel::SCALAR` (feature `scalar`: host tools and tests, never the guest) is
//! always safe. [`CpuidValues`](crate::CpuidValues) and
//! [`SimdPlan`](crate::SimdPlan) stay plain data and answer with a [`KernelKind`], not
//! a `Kernel`: they are computed by pure code from CPUID answers anyone can write
//! down (the SNP CPUID-page tests in `snp-guest` build them from literals), so they
//! prove nothing about the CPU they run on. Turning their answer into a `Kernel` is
//! the one step that needs a trusted source, and that step is `unsafe`.

/// The name of an implementation, for choosing, matching and logs. All give identical
/// results. Carries no promise about the CPU; see [`Kernel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelKind {
    /// Portable Rust, the reference; runs everywhere. Feature `scalar` (host tools and
    /// tests): the guest has no scalar kernel and requires AVX2 + FMA.
    #[cfg(feature = "scalar")]
    Scalar,
    /// AVX2 (+ FMA for the f32 helpers), exact int16 products (no `vpmaddubsw` saturation).
    Avx2,
    /// AVX-512 F/BW/VL + VNNI (`vpdpbusd`), and everything `Avx2` needs (its softmax,
    /// LayerNorm, slice exp/GELU and activation quantization are the AVX2 code).
    Avx512Vnni,
}

impl KernelKind {
    /// Every kind, slowest first.
    #[cfg(feature = "scalar")]
    pub const ALL: [KernelKind; 3] = [KernelKind::Scalar, KernelKind::Avx2, KernelKind::Avx512Vnni];
    /// Every kind, slowest first.
    #[cfg(not(feature = "scalar"))]
    pub const ALL: [KernelKind; 2] = [KernelKind::Avx2, KernelKind::Avx512Vnni];

    /// Short stable name, for logs, benchmarks and command-line flags.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "scalar")]
            KernelKind::Scalar => "scalar",
            KernelKind::Avx2 => "avx2",
            KernelKind::Avx512Vnni => "avx512-vnni",
        }
    }

    /// The kind with this [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<KernelKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// An implementation the CPU executing this code supports (see the module docs for
/// how one is obtained). Copy it freely; it cannot be built from a [`KernelKind`] in
/// safe code except through the `std` probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kernel(KernelKind);

impl Kernel {
    /// The portable scalar kernel: runs on every CPU (feature `scalar`).
    #[cfg(feature = "scalar")]
    pub const SCALAR: Kernel = Kernel(KernelKind::Scalar);

    /// A kernel of `kind`, on the caller's word that this CPU runs it.
    ///
    /// # Safety
    /// The CPU executing every later call with the returned value supports the
    /// instructions of `kind` (AVX2 and FMA for [`KernelKind::Avx2`]; in addition
    /// AVX-512 F, BW, VL and VNNI for [`KernelKind::Avx512Vnni`]), and the OS has
    /// enabled their register state in XCR0 (YMM; for AVX-512 also opmask, ZMM_Hi256
    /// and Hi16_ZMM). [`CpuidValues::best_kind`](crate::CpuidValues::best_kind) on
    /// values read from that CPU after enabling that state names such a kind. Always
    /// sound for `KernelKind::Scalar`. Builds with the `std` feature re-check with the
    /// probe and refuse an unsupported kind with
    /// [`KernelError::Unavailable`](crate::KernelError::Unavailable); that is a
    /// diagnostic for host tools, not part of this contract.
    pub const unsafe fn assume_supported(kind: KernelKind) -> Kernel {
        Kernel(kind)
    }

    /// Which implementation this is (for `match` and logs).
    pub const fn kind(self) -> KernelKind {
        self.0
    }

    /// Short stable name, as [`KernelKind::name`].
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

/// The probe's constructors (`std`): the only safe way to a SIMD [`Kernel`].
#[cfg(any(test, feature = "std"))]
mod probed {
    use super::{Kernel, KernelKind};
    use alloc::vec::Vec;

    impl KernelKind {
        /// Whether this CPU (and the OS-enabled register state) runs this kind
        /// (executes CPUID/XGETBV once; `std` only).
        pub fn is_available(self) -> bool {
            crate::detect::probed_allows(self)
        }
    }

    impl Kernel {
        /// The fastest kernel this CPU runs (`std` only).
        pub fn detect() -> Kernel {
            Self::available().pop().unwrap_or(Kernel::SCALAR)
        }

        /// The kernels this CPU runs, slowest first; always starts with
        /// [`Kernel::SCALAR`] (`std` only).
        pub fn available() -> Vec<Kernel> {
            KernelKind::ALL
                .into_iter()
                .filter_map(Self::if_supported)
                .collect()
        }

        /// The kernel of `kind` if this CPU runs it (`std` only).
        pub fn if_supported(kind: KernelKind) -> Option<Kernel> {
            kind.is_available().then_some(Kernel(kind))
        }

        /// The kernel with this name if this CPU runs it, e.g. from a command-line
        /// flag; `None` for an unknown name or a kind this CPU lacks (`std` only).
        pub fn from_name(name: &str) -> Option<Kernel> {
            KernelKind::from_name(name).and_then(Self::if_supported)
        }

        /// [`available`](Self::available) for a test or benchmark named `label`: says on
        /// stderr which kinds run and which this CPU lacks (so a run that skipped
        /// AVX-512 says so), and panics if the environment variable
        /// `INT8_REQUIRE_KERNELS` (comma-separated names, or `all`) names a kind this
        /// CPU lacks: set it where the coverage is promised (`std` only).
        pub fn available_reported(label: &str) -> Vec<Kernel> {
            let run = Self::available();
            let missing: Vec<KernelKind> = KernelKind::ALL
                .into_iter()
                .filter(|k| !run.iter().any(|r| r.kind() == *k))
                .collect();
            std::eprintln!(
                "{label}: kernels run: {}; not run (this CPU lacks them): {}",
                names(run.iter().map(|k| k.kind())),
                names(missing.iter().copied()),
            );
            let required = std::env::var("INT8_REQUIRE_KERNELS").unwrap_or_default();
            for name in required.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                if name == "all" {
                    assert!(
                        missing.is_empty(),
                        "{label}: INT8_REQUIRE_KERNELS=all but this CPU lacks {}",
                        names(missing.iter().copied())
                    );
                    continue;
                }
                let Some(kind) = KernelKind::from_name(name) else {
                    panic!("INT8_REQUIRE_KERNELS: unknown kernel {name:?}");
                };
                assert!(
                    !missing.contains(&kind),
                    "{label}: INT8_REQUIRE_KERNELS requires {name}, which this CPU lacks"
                );
            }
            run
        }
    }

    fn names(kinds: impl Iterator<Item = KernelKind>) -> std::string::String {
        let v: Vec<&str> = kinds.map(KernelKind::name).collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    }
}
