//! Feature decoding from CPUID values (pure; no CPU needed).

use int8_kernels::{CpuidValues, Kernel};

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
    use Kernel::*;
    let all = values(AVX2 | AVX512_F_BW_VL, VNNI, 0xE7);
    assert_eq!(all.kernels(), vec![Scalar, Avx2, Avx512Vnni]);
    // AVX-512 present but the OS did not enable the ZMM state.
    assert_eq!(
        values(AVX2 | AVX512_F_BW_VL, VNNI, 0x7).kernels(),
        vec![Scalar, Avx2]
    );
    // No VNNI, or no BW.
    assert_eq!(
        values(AVX2 | AVX512_F_BW_VL, 0, 0xE7).kernels(),
        vec![Scalar, Avx2]
    );
    assert_eq!(
        values(AVX2 | (1 << 16) | (1 << 31), VNNI, 0xE7).kernels(),
        vec![Scalar, Avx2]
    );
    // AVX2 without the YMM state, or without OSXSAVE, or an old CPUID.
    assert_eq!(values(AVX2, 0, 0x3).kernels(), vec![Scalar]);
    let mut no_osxsave = all;
    no_osxsave.leaf1_ecx = 1 << 28;
    assert_eq!(no_osxsave.kernels(), vec![Scalar]);
    let mut no_fma = all;
    no_fma.leaf1_ecx &= !(1 << 12);
    assert_eq!(no_fma.kernels(), vec![Scalar]);
    let mut old = all;
    old.max_leaf = 6;
    assert_eq!(old.kernels(), vec![Scalar]);
    assert_eq!(CpuidValues::default().kernels(), vec![Scalar]);
}

#[test]
fn names_round_trip() {
    for k in Kernel::ALL {
        assert_eq!(Kernel::from_name(k.name()), Some(k));
    }
    assert_eq!(Kernel::from_name("avx512"), None);
}

#[test]
fn best_kernel_is_the_fastest_allowed() {
    use Kernel::*;
    let all = values(AVX2 | AVX512_F_BW_VL, VNNI, 0xE7);
    assert_eq!(all.best_kernel(), Avx512Vnni);
    assert!(all.allows(Avx2) && all.allows(Scalar));
    let ymm_only = values(AVX2 | AVX512_F_BW_VL, VNNI, 0x7);
    assert_eq!(ymm_only.best_kernel(), Avx2);
    assert!(!ymm_only.allows(Avx512Vnni));
    assert_eq!(values(AVX2, 0, 0x3).best_kernel(), Scalar);
    assert_eq!(CpuidValues::default().best_kernel(), Scalar);
}

#[test]
fn probe_agrees_with_the_decoder() {
    // The std probe is the decoder applied to this CPU's values.
    let v = int8_kernels::probe_cpuid_values();
    assert_eq!(v.kernels(), Kernel::available());
    assert_eq!(v.best_kernel(), Kernel::detect());
}
