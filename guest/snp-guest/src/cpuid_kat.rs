//! Known-answer tests: CPUID pages as QEMU builds them for an SNP launch, run through
//! parse -> [`CpuidPage::answer`] -> XCR0 plan -> `CpuidValues` -> the engine's kernel.
//!
//! Page bytes: QEMU target/i386/sev.c `sev_snp_cpuid_info_fill` copies each
//! KVM_GET_CPUID2 entry in order (eax_in = function; ecx_in = index only when the
//! entry's flags equal KVM_CPUID_FLAG_SIGNIFCANT_INDEX; the four registers), then for
//! leaf 0xD subleaves 0 and 1 forces EBX = 0x240, xcr0_in = 1, xss_in = 0, and sets
//! count = number of entries. `qemu_fill` below writes exactly that, field by field
//! at the `SnpCpuidFunc` offsets, independently of `build_page`.
//!
//! Register values: what QEMU gives KVM for one vCPU (APIC ID 0) of the named model,
//! written from the feature words in target/i386/cpu.c (`builtin_x86_defs`: EPYC with
//! its v3/v4 properties, EPYC-Milan, EPYC-Genoa) on a host that supports all of them,
//! with QEMU's KVM defaults applied (leaf 1 ECX: +hypervisor, +x2apic, -monitor;
//! 0x8000_0001 ECX: -svm), CR4 = 0 at launch (leaf 1 ECX OSXSAVE = 0), the SEV
//! minimum extended level 0x8000_001F, and `sev-snp-guest,cbitpos=51,
//! reduced-phys-bits=1` as in qemu/run-snp.sh (0x8000_001F: EAX = SEV|SEV-ES|SNP =
//! 0x1A, EBX = 51 | 1 << 6). Leaf 0xD: subleaf 0 EAX = the model's XCR0 components
//! (x87, SSE, +AVX, +AVX-512 opmask/ZMM_Hi256/Hi16_ZMM, +PKRU with PKU), ECX = EBX =
//! the standard-form size of all of them; subleaf 1 EAX = XSAVEOPT|XSAVEC|XGETBV1|
//! XSAVES; subleaves >= 2 = size and standard offset of each component (SDM vol. 1
//! table 13-1: AVX 0x100@0x240, opmask 0x40@0x440, ZMM_Hi256 0x200@0x480, Hi16_ZMM
//! 0x400@0x680, PKRU 8@0xA80). Reconstructed, not captured on an SNP host: the
//! cache, topology and brand-string leaves QEMU also writes are left out (they read
//! as zeros here), which does not touch any bit the kernel choice uses.

use crate::cpuid_page::{CpuidContext, CpuidPage, CPUID_PAGE_SIZE};
use int8_kernels::{CpuidValues, KernelKind, SimdPlan};

/// One `struct kvm_cpuid_entry2` as KVM_GET_CPUID2 returns it.
struct KvmEntry {
    function: u32,
    index: u32,
    flags: u32,
    regs: [u32; 4],
}

/// KVM_CPUID_FLAG_SIGNIFCANT_INDEX (linux/kvm.h).
const SIGNIFICANT_INDEX: u32 = 1;

const fn plain(function: u32, regs: [u32; 4]) -> KvmEntry {
    KvmEntry {
        function,
        index: 0,
        flags: 0,
        regs,
    }
}

const fn indexed(function: u32, index: u32, regs: [u32; 4]) -> KvmEntry {
    KvmEntry {
        function,
        index,
        flags: SIGNIFICANT_INDEX,
        regs,
    }
}

/// QEMU `sev_snp_cpuid_info_fill`, into the 4 KiB page image.
fn qemu_fill(entries: &[KvmEntry]) -> [u8; CPUID_PAGE_SIZE] {
    let mut page = [0u8; CPUID_PAGE_SIZE];
    let put32 = |p: &mut [u8; CPUID_PAGE_SIZE], at: usize, v: u32| {
        p[at..at + 4].copy_from_slice(&v.to_le_bytes())
    };
    let put64 = |p: &mut [u8; CPUID_PAGE_SIZE], at: usize, v: u64| {
        p[at..at + 8].copy_from_slice(&v.to_le_bytes())
    };
    for (i, e) in entries.iter().enumerate() {
        let at = 16 + 48 * i;
        let ecx_in = if e.flags == SIGNIFICANT_INDEX {
            e.index
        } else {
            0
        };
        let [eax, mut ebx, ecx, edx] = e.regs;
        let (mut xcr0_in, xss_in) = (0u64, 0u64);
        if e.function == 0xD && (ecx_in == 0 || ecx_in == 1) {
            ebx = 0x240;
            xcr0_in = 1;
        }
        put32(&mut page, at, e.function);
        put32(&mut page, at + 4, ecx_in);
        put64(&mut page, at + 8, xcr0_in);
        put64(&mut page, at + 16, xss_in);
        put32(&mut page, at + 24, eax);
        put32(&mut page, at + 28, ebx);
        put32(&mut page, at + 32, ecx);
        put32(&mut page, at + 36, edx);
    }
    put32(&mut page, 0, entries.len() as u32);
    page
}

/// "AuthenticAMD" in EBX, EDX, ECX order.
const AMD: [u32; 3] = [0x6874_7541, 0x6974_6E65, 0x444D_4163];
const fn vendor(eax: u32) -> [u32; 4] {
    [eax, AMD[0], AMD[2], AMD[1]]
}
/// 0x8000_001F under sev-snp-guest,cbitpos=51,reduced-phys-bits=1.
const SNP_8000_001F: [u32; 4] = [0x1A, 51 | (1 << 6), 0, 0];
/// Leaf 1 EDX of all three models (FPU..SSE2, no HTT with one vCPU).
const LEAF1_EDX: u32 = 0x078B_FBFF;
/// 0x8000_0001 EDX: the model's EXT2 word plus the AMD aliases of leaf 1 EDX.
const EXT_EDX: u32 = 0x2FD3_FBFF;
/// 0x8000_0001 ECX: LAHF_LM CR8LEG ABM SSE4A MISALIGNSSE 3DNOWPREFETCH OSVW TOPOEXT
/// PERFCORE (SVM off under KVM).
const EXT_ECX: u32 = 0x00C0_03F1;

/// EPYC-v4 (EPYC + v3 props: ibpb, perfctr-core, clzero, xsaveerptr, xsaves).
fn epyc_v4() -> [KvmEntry; 9] {
    [
        plain(0x0, vendor(0xD)),
        // family 23 model 1 stepping 2; CLFLUSH size 8; ECX: SSE3 PCLMULQDQ SSSE3 FMA
        // CX16 SSE4.1 SSE4.2 x2APIC MOVBE POPCNT AES XSAVE AVX F16C RDRAND hypervisor.
        plain(0x1, [0x0080_0F12, 0x0000_0800, 0xF6F8_3203, LEAF1_EDX]),
        // FSGSBASE BMI1 AVX2 SMEP BMI2 RDSEED ADX SMAP CLFLUSHOPT SHA.
        indexed(0x7, 0, [0, 0x209C_01A9, 0, 0]),
        indexed(0xD, 0, [0x7, 0x340, 0x340, 0]),
        indexed(0xD, 1, [0xF, 0x340, 0, 0]),
        indexed(0xD, 2, [0x100, 0x240, 0, 0]),
        plain(0x8000_0000, vendor(0x8000_001F)),
        plain(0x8000_0001, [0x0080_0F12, 0, EXT_ECX, EXT_EDX]),
        plain(0x8000_001F, SNP_8000_001F),
    ]
}

/// EPYC-Milan (v1).
fn epyc_milan() -> [KvmEntry; 10] {
    [
        plain(0x0, vendor(0xD)),
        // family 25 model 1 stepping 1; ECX as EPYC + PCID.
        plain(0x1, [0x00A0_0F11, 0x0000_0800, 0xF6FA_3203, LEAF1_EDX]),
        // EPYC's + ERMS INVPCID CLWB; ECX UMIP PKU RDPID; EDX FSRM.
        indexed(0x7, 0, [0, 0x219C_07A9, 0x0040_000C, 0x10]),
        // x87 SSE AVX PKRU.
        indexed(0xD, 0, [0x207, 0xA88, 0xA88, 0]),
        indexed(0xD, 1, [0xF, 0x348, 0, 0]),
        indexed(0xD, 2, [0x100, 0x240, 0, 0]),
        indexed(0xD, 9, [0x8, 0xA80, 0, 0]),
        plain(0x8000_0000, vendor(0x8000_001F)),
        plain(0x8000_0001, [0x00A0_0F11, 0, EXT_ECX, EXT_EDX]),
        plain(0x8000_001F, SNP_8000_001F),
    ]
}

/// EPYC-Genoa (v1).
fn epyc_genoa() -> [KvmEntry; 15] {
    [
        plain(0x0, vendor(0xD)),
        // family 25 model 17 stepping 0; ECX as Milan.
        plain(0x1, [0x00A1_0F10, 0x0000_0800, 0xF6FA_3203, LEAF1_EDX]),
        // EAX = 1 (subleaf 1 present for AVX512_BF16); EBX: Milan's + AVX512 F DQ IFMA
        // CD BW VL; ECX: AVX512_VBMI UMIP PKU VBMI2 GFNI VAES VPCLMULQDQ AVX512_VNNI
        // BITALG VPOPCNTDQ LA57 RDPID; EDX FSRM.
        indexed(0x7, 0, [1, 0xF1BF_07A9, 0x0041_5F4E, 0x10]),
        indexed(0x7, 1, [0x20, 0, 0, 0]),
        // x87 SSE AVX opmask ZMM_Hi256 Hi16_ZMM PKRU.
        indexed(0xD, 0, [0x2E7, 0xA88, 0xA88, 0]),
        indexed(0xD, 1, [0xF, 0x988, 0, 0]),
        indexed(0xD, 2, [0x100, 0x240, 0, 0]),
        indexed(0xD, 5, [0x40, 0x440, 0, 0]),
        indexed(0xD, 6, [0x200, 0x480, 0, 0]),
        indexed(0xD, 7, [0x400, 0x680, 0, 0]),
        indexed(0xD, 9, [0x8, 0xA80, 0, 0]),
        plain(0x8000_0000, vendor(0x8000_0022)),
        plain(0x8000_0001, [0x00A1_0F10, 0, EXT_ECX, EXT_EDX]),
        plain(0x8000_001F, SNP_8000_001F),
        // NO_NESTED_DATA_BP LFENCE_ALWAYS_SERIALIZING NULL_SEL_CLR_BASE AUTO_IBRS.
        plain(0x8000_0021, [0x0000_0145, 0, 0, 0]),
    ]
}

/// What the guest kernel does at boot, on the page: plan from the launch-state
/// answers, then read the values back with CR4.OSXSAVE and XCR0 as enabled.
fn boot_choice(page: &CpuidPage<'_>) -> (SimdPlan, CpuidValues) {
    let launch = CpuidContext {
        xcr0: 1,
        ..CpuidContext::default()
    };
    let ask = |ctx: CpuidContext| {
        move |leaf, sub| page.answer(leaf, sub, &ctx).expect("answer").to_array()
    };
    let plan = SimdPlan::from_cpuid(ask(launch));
    let enabled = CpuidContext {
        cr4_osxsave: plan.xsave,
        xcr0: plan.xcr0,
        ..launch
    };
    let cpuid = ask(enabled);
    let read_back = CpuidValues {
        max_leaf: cpuid(0, 0)[0],
        leaf1_ecx: cpuid(1, 0)[2],
        leaf7_ebx: cpuid(7, 0)[1],
        leaf7_ecx: cpuid(7, 0)[2],
        xcr0: plan.xcr0,
    };
    (plan, read_back)
}

/// The values an engine fed raw page entries would see (no post-processing).
fn unprocessed(page: &CpuidPage<'_>, xcr0: u64) -> CpuidValues {
    let raw = |leaf: u32| {
        page.entries()
            .find(|e| e.eax_in == leaf && e.ecx_in == 0)
            .expect("entry")
    };
    CpuidValues {
        max_leaf: raw(0).eax,
        leaf1_ecx: raw(1).ecx,
        leaf7_ebx: raw(7).ebx,
        leaf7_ecx: raw(7).ecx,
        xcr0,
    }
}

fn check_model(entries: &[KvmEntry], want_xcr0: u64, want: KernelKind, want_xsave_size: u32) {
    let bytes = qemu_fill(entries);
    let page = CpuidPage::parse(&bytes).expect("parse");
    assert_eq!(page.count() as usize, entries.len());
    assert_eq!(page.c_bit_position(), Ok(51));

    let (plan, read_back) = boot_choice(&page);
    assert!(plan.xsave);
    assert_eq!(plan.xcr0, want_xcr0);
    // The kernel's prediction is what the post-processed CPUID says after enabling.
    assert_eq!(read_back, plan.values);
    assert_eq!(plan.kind(), Some(want));
    assert_eq!(read_back.best_kind(), Some(want));

    let ctx = CpuidContext {
        cr4_osxsave: true,
        xcr0: plan.xcr0,
        ..CpuidContext::default()
    };
    assert_eq!(page.answer(0xD, 0, &ctx).unwrap().ebx, want_xsave_size);

    // Without post-processing the page still says OSXSAVE = 0 (CR4 at launch), so
    // the same values would allow no kernel: the guest would refuse to run.
    let raw = unprocessed(&page, plan.xcr0);
    assert_eq!(raw.leaf1_ecx & (1 << 27), 0);
    assert_eq!(raw.best_kind(), None);
    // And leaf 0xD subleaf 0 in the page describes XCR0 = 1 only.
    let d0 = page
        .entries()
        .find(|e| e.eax_in == 0xD && e.ecx_in == 0)
        .unwrap();
    assert_eq!((d0.ebx, d0.xcr0_in), (0x240, 1));
}

#[test]
fn epyc_v4_picks_avx2() {
    check_model(&epyc_v4(), 0x7, KernelKind::Avx2, 0x340);
}

#[test]
fn epyc_milan_picks_avx2() {
    // PKRU is offered but not enabled: the plan asks for x87/SSE/AVX only.
    check_model(&epyc_milan(), 0x7, KernelKind::Avx2, 0x340);
}

#[test]
fn epyc_genoa_picks_avx512_vnni() {
    check_model(&epyc_genoa(), 0xE7, KernelKind::Avx512Vnni, 0xA80);
}

#[test]
fn fill_layout_matches_qemu_struct_offsets() {
    let bytes = qemu_fill(&epyc_genoa());
    // Header: count 15, reserved zero.
    assert_eq!(
        &bytes[0..16],
        &[15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    // Entry 4 (0xD subleaf 0) at 0x10 + 4 * 48 = 0xD0: eax_in, ecx_in, xcr0_in = 1,
    // xss_in = 0, eax = 0x2E7, ebx forced to 0x240, ecx = 0xA88, edx, reserved.
    let e = &bytes[0xD0..0xD0 + 48];
    assert_eq!(&e[0..8], &[0x0D, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&e[8..24], &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&e[24..32], &[0xE7, 0x02, 0, 0, 0x40, 0x02, 0, 0]);
    assert_eq!(
        &e[32..48],
        &[0x88, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    // A non-indexed leaf keeps ecx_in = 0 whatever KVM's index field says.
    let mut odd = epyc_v4();
    odd[1].index = 5;
    let b = qemu_fill(&odd);
    assert_eq!(&b[0x40 + 4..0x40 + 8], &[0, 0, 0, 0]);
}
