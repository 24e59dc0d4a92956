//! SIMD state: SSE is on from the boot stub (compiled code needs it); here
//! AVX and AVX-512 state are enabled in XCR0 where the CPU offers them, so
//! the engine's run-time selected kernels can use them.

use crate::io::cpuid;
use x86_64::registers::control::{Cr4, Cr4Flags};

const XCR0_X87: u64 = 1 << 0;
const XCR0_SSE: u64 = 1 << 1;
const XCR0_AVX: u64 = 1 << 2;
/// Opmask, ZMM_Hi256 and Hi16_ZMM state.
const XCR0_AVX512: u64 = 0b111 << 5;

#[derive(Clone, Copy, Debug, Default)]
pub struct SimdState {
    pub avx: bool,
    pub avx2: bool,
    pub avx512: bool,
    pub xcr0: u64,
}

pub fn enable_simd() -> SimdState {
    let leaf1 = cpuid(1, 0);
    let has_xsave = leaf1.ecx & (1 << 26) != 0;
    let has_avx = leaf1.ecx & (1 << 28) != 0;
    if !has_xsave {
        return SimdState::default();
    }
    // SAFETY: OSXSAVE only makes XGETBV/XSETBV usable; CPUID said XSAVE exists.
    unsafe { Cr4::update(|f| f.insert(Cr4Flags::OSXSAVE)) };

    let leaf_d = cpuid(0xD, 0);
    let supported = (u64::from(leaf_d.edx) << 32) | u64::from(leaf_d.eax);
    let leaf7 = cpuid(7, 0);
    let mut xcr0 = XCR0_X87 | XCR0_SSE;
    let avx = has_avx && supported & XCR0_AVX != 0;
    if avx {
        xcr0 |= XCR0_AVX;
    }
    let avx512f = leaf7.ebx & (1 << 16) != 0;
    let avx512 = avx && avx512f && supported & XCR0_AVX512 == XCR0_AVX512;
    if avx512 {
        xcr0 |= XCR0_AVX512;
    }
    set_xcr0(xcr0);
    SimdState {
        avx,
        avx2: avx && leaf7.ebx & (1 << 5) != 0,
        avx512,
        xcr0,
    }
}

fn set_xcr0(value: u64) {
    if crate::io::snp_active() {
        crate::snp::set_xcr0(value);
    } else {
        raw_xsetbv(value);
    }
}

/// XSETBV. Not intercepted for SEV-ES/SNP guests by KVM (see `snp::set_xcr0`).
pub(crate) fn raw_xsetbv(value: u64) {
    // SAFETY: only bits the CPU reported as supported are set, with x87 and SSE always on, so the instruction cannot fault.
    unsafe {
        core::arch::asm!("xsetbv", in("ecx") 0u32, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nomem, nostack, preserves_flags));
    }
}

/// A random number from RDRAND, where CPUID reports the instruction (it is
/// never intercepted, also not under SNP); `None` without it or when it
/// keeps failing.
pub fn rdrand64() -> Option<u64> {
    if cpuid(1, 0).ecx & (1 << 30) == 0 {
        return None;
    }
    for _ in 0..16 {
        let value: u64;
        let ok: u8;
        // SAFETY: RDRAND only writes the named registers and flags; CPUID reported it.
        unsafe {
            core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack));
        }
        if ok != 0 {
            return Some(value);
        }
    }
    None
}
