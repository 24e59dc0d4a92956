//! Feature decoding from CPUID values (pure; no CPU needed).

use int8_kernels::{CpuidValues, Kernel, KernelKind};

const OSXSAVE_AVX: u32 = (1 << 27) | (1 << 28) | (1 << 12); // + FMA
const AVX2: u32 = 1 << 5;
const AVX512_F_BW_VL: u32 = (1 << 16) | (1 << 30) | (1 << 31);
const VNNI: u32 = 1 << 11;

fn values(leaf7_ebx: u32, leaf7_ecx: u32, xcr0: u64) -> CpuidValues {
    CpuidValues {
        max_leaf: 0x10,
        leaf1_ecx: OSXSAVE_AVX,
        leaf7_ebx,
        leaf7_ecx,
        xcr0,
    }
}

#[test]
fn decodes_kernels() {
    use KernelKind::*;
    let all = values(AVX2 | AVX512_F_BW_VL, VNNI, 0xE7);
    assert_eq!(all.kinds(), vec![Scalar, Avx2, Avx512Vnni]);
    // AVX-512 present but the OS did not enable the ZMM state.
    assert_eq!(
        values(AVX2 | AVX512_F_BW_VL, VNNI, 0x7).kinds(),
        vec![Scalar, Avx2]
    );
    // No VNNI, or no BW.
    assert_eq!(
        values(AVX2 | AVX512_F_BW_VL, 0, 0xE7).kinds(),
        vec![Scalar, Avx2]
    );
    assert_eq!(
        values(AVX2 | (1 << 16) | (1 << 31), VNNI, 0xE7).kinds(),
        vec![Scalar, Avx2]
    );
    // AVX2 without the YMM state, or without OSXSAVE, or an old CPUID.
    assert_eq!(values(AVX2, 0, 0x3).kinds(), vec![Scalar]);
    let mut no_osxsave = all;
    no_osxsave.leaf1_ecx = 1 << 28;
    assert_eq!(no_osxsave.kinds(), vec![Scalar]);
    let mut no_fma = all;
    no_fma.leaf1_ecx &= !(1 << 12);
    assert_eq!(no_fma.kinds(), vec![Scalar]);
    let mut old = all;
    old.max_leaf = 6;
    assert_eq!(old.kinds(), vec![Scalar]);
    assert_eq!(CpuidValues::default().kinds(), vec![Scalar]);
}

#[test]
fn names_round_trip() {
    for k in KernelKind::ALL {
        assert_eq!(KernelKind::from_name(k.name()), Some(k));
    }
    assert_eq!(KernelKind::from_name("avx512"), None);
    // Stable names (logs, flags, the e2e test reads them from the guest's output).
    assert_eq!(
        KernelKind::ALL.map(KernelKind::name),
        ["scalar", "avx2", "avx512-vnni"]
    );
    // The probe's named constructor refuses a kind this CPU lacks.
    for k in KernelKind::ALL {
        let got = Kernel::from_name(k.name());
        assert_eq!(got.map(Kernel::kind), k.is_available().then_some(k));
        assert_eq!(got, Kernel::if_supported(k));
    }
    assert_eq!(Kernel::from_name("scalar"), Some(Kernel::SCALAR));
    assert_eq!(Kernel::from_name("avx512"), None);
}

#[test]
fn best_kind_is_the_fastest_allowed() {
    use KernelKind::*;
    let all = values(AVX2 | AVX512_F_BW_VL, VNNI, 0xE7);
    assert_eq!(all.best_kind(), Some(Avx512Vnni));
    assert!(all.allows(Avx2) && all.allows(Scalar));
    assert_eq!(all.missing().to_string(), "");
    let ymm_only = values(AVX2 | AVX512_F_BW_VL, VNNI, 0x7);
    assert_eq!(ymm_only.best_kind(), Some(Avx2));
    assert!(!ymm_only.allows(Avx512Vnni));
    // No SIMD kind: the scalar kernel is the host's alone; `missing` says why.
    assert_eq!(values(AVX2, 0, 0x3).best_kind(), None);
    assert_eq!(values(AVX2, 0, 0x3).missing().to_string(), "AVX");
    let mut no_fma = all;
    no_fma.leaf1_ecx &= !(1 << 12);
    assert_eq!(no_fma.missing().to_string(), "FMA");
    assert_eq!(CpuidValues::default().best_kind(), None);
    assert_eq!(
        CpuidValues::default().missing().to_string(),
        "CPUID leaf 7, XSAVE, AVX, AVX2, FMA"
    );
}

#[test]
fn probe_agrees_with_the_decoder() {
    // The std probe is the decoder applied to this CPU's values.
    let v = int8_kernels::probe_cpuid_values();
    let available: Vec<KernelKind> = Kernel::available().into_iter().map(Kernel::kind).collect();
    assert_eq!(v.kinds(), available);
    assert_eq!(
        v.best_kind().unwrap_or(KernelKind::Scalar),
        Kernel::detect().kind()
    );
    for k in KernelKind::ALL {
        assert_eq!(v.allows(k), k.is_available(), "{}", k.name());
    }
}
