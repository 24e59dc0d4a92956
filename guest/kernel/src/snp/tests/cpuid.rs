//! CPUID answered from the post-processed CPUID page, never the hypervisor.

use super::*;

fn ctx(cr4_osxsave: bool, cr4_pke: bool, xcr0: u64) -> CpuidContext {
    CpuidContext {
        cr4_osxsave,
        cr4_pke,
        xcr0,
        xss: 0,
        apic_id: 0,
    }
}

fn regs(eax: u32, ebx: u32, ecx: u32, edx: u32) -> Cpuid {
    Cpuid { eax, ebx, ecx, edx }
}

#[test]
fn cpuid_answers_from_the_page_post_processed() {
    let page = milan_page();
    let on = ctx(true, true, 0x7);
    // As launched: OSXSAVE and OSPKE clear, XSAVE area for x87 + SSE.
    let off = ctx(false, false, 0x1);
    assert_eq!(
        glue::cpuid(&page, &off, 1, 0),
        Ok(regs(0x00A0_0F11, 0x800, MILAN_LEAF1_ECX, 0x078B_FBFF))
    );
    // CR4.OSXSAVE set: leaf 1 ECX bit 27 follows it.
    assert_eq!(
        glue::cpuid(&page, &on, 1, 0),
        Ok(regs(
            0x00A0_0F11,
            0x800,
            MILAN_LEAF1_ECX | 1 << 27,
            0x078B_FBFF
        ))
    );
    // CR4.PKE set: leaf 7 ECX bit 4 (OSPKE) follows it.
    assert_eq!(
        glue::cpuid(&page, &on, 7, 0).unwrap().ecx,
        MILAN_LEAF7_ECX | 1 << 4
    );
    assert_eq!(glue::cpuid(&page, &off, 7, 0).unwrap().ecx, MILAN_LEAF7_ECX);
    // Leaf 0xD: EBX is the XSAVE size for the XCR0 in use (QEMU wrote
    // 0x240 for XCR0 = 1): standard form 0x240 + AVX 0x100 = 0x340.
    assert_eq!(
        glue::cpuid(&page, &off, 0xD, 0),
        Ok(regs(0x7, 0x240, 0x340, 0))
    );
    assert_eq!(
        glue::cpuid(&page, &on, 0xD, 0),
        Ok(regs(0x7, 0x340, 0x340, 0))
    );
    // Compacted form (subleaf 1): 0x240 + the sizes of the enabled states.
    assert_eq!(glue::cpuid(&page, &on, 0xD, 1).unwrap().ebx, 0x340);
    // Leaves the page lacks read zeros, inside or outside its ranges.
    assert_eq!(glue::cpuid(&page, &on, 0x5, 0), Ok(Cpuid::default()));
    assert_eq!(
        glue::cpuid(&page, &on, 0x8000_0008, 0),
        Ok(Cpuid::default())
    );
    assert_eq!(
        glue::cpuid(&page, &on, 0x4000_0000, 0),
        Ok(Cpuid::default())
    );
    assert_eq!(
        glue::cpuid(&page, &on, 0x8000_001F, 0),
        Ok(regs(0x1A, 0x73, 0, 0))
    );
}

/// `glue::cpuid` takes no hardware or channel, so by its signature it cannot
/// ask the hypervisor; this checks that the answers are the page's
/// (post-processed), not the hypervisor's, which differ here.
#[test]
fn cpuid_answers_from_the_page_not_the_hypervisor() {
    let mut m = launched(MockConfig::default());
    m.set_cpuid(1, 0, [0x1, 0x2, 0x3, 0x4]);
    m.set_cpuid(0xD, 0, [0x5, 0x6, 0x7, 0x8]);
    let page = milan_page();
    let on = ctx(true, false, 0x7);
    for (leaf, subleaf) in [
        (0, 0),
        (1, 0),
        (7, 0),
        (0xD, 0),
        (0xD, 1),
        (0x8000_001F, 0),
        (0x6, 0),
    ] {
        glue::cpuid(&page, &on, leaf, subleaf).unwrap();
    }
    assert_eq!(glue::cpuid(&page, &on, 1, 0).unwrap().eax, 0x00A0_0F11);
    // XSAVE area for XCR0 = x87|SSE|AVX, recomputed from the page: 0x340.
    assert_eq!(glue::cpuid(&page, &on, 0xD, 0).unwrap().ebx, 0x340);
}

#[test]
fn cpuid_page_that_cannot_answer_is_an_error() {
    // XCR0 enables AVX but the page has no leaf 0xD subleaf 2 to size it.
    let page = qemu_page(&milan_entries(false));
    let err = glue::cpuid(&page, &ctx(true, false, 0x7), 0xD, 0).unwrap_err();
    assert_eq!(err, SnpError::CpuidXsaveSize { xfeatures: 0x7 });
    assert_eq!(
        err.termination_reason(),
        TerminationReason { set: 1, code: 3 }
    );
    // An empty page (count 0) answers nothing.
    let empty = [0u8; CPUID_PAGE_SIZE];
    assert_eq!(
        glue::cpuid(&empty, &ctx(false, false, 1), 1, 0),
        Err(SnpError::CpuidPageEmpty)
    );
}
