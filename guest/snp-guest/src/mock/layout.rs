//! Every number the mock hypervisor uses, written down here from the
//! specifications and from KVM, never taken from the code under test (a test
//! reads the mock's sources to keep it that way).
//!
//! Sources: GHCB spec (AMD 56421 rev. 2.03) §2.3.1 "GHCB MSR protocol",
//! table 3 "GHCB layout", §4.1 "Non-automatic exit events" and table 6;
//! AMD APM vol. 2 appendix C "SVM intercept exit codes"; Linux
//! `arch/x86/include/uapi/asm/svm.h`, `arch/x86/include/asm/sev-common.h`
//! and `arch/x86/kvm/svm/sev.c`.

// ---- GHCB page layout (GHCB spec table 3) ----

pub const PAGE: usize = 0x1000;
/// CPL is a byte at 0x0CB; its valid bit is that of quadword 0x0C8.
pub const CPL: usize = 0x0CB;
pub const RAX: usize = 0x1F8;
pub const RCX: usize = 0x308;
pub const RDX: usize = 0x310;
pub const RBX: usize = 0x318;
pub const SW_EXIT_CODE: usize = 0x390;
pub const SW_EXIT_INFO1: usize = 0x398;
pub const SW_EXIT_INFO2: usize = 0x3A0;
pub const SW_SCRATCH: usize = 0x3A8;
pub const XCR0: usize = 0x3E8;
/// 128 bits, bit n = quadword at offset 8 n.
pub const VALID_BITMAP: usize = 0x3F0;
/// Shared buffer 0x800..0xFF0 (KVM: `offsetof(shared_buffer)` ..
/// `offsetof(reserved_0xff0)` in `setup_vmgexit_scratch`).
pub const SHARED_BUFFER: usize = 0x800;
pub const SHARED_BUFFER_END: usize = 0xFF0;
pub const USAGE: usize = 0xFFC;

// ---- exit codes (APM vol. 2 appendix C; GHCB spec table 6) ----

pub const EXIT_READ_DR7: u64 = 0x27;
pub const EXIT_WRITE_DR7: u64 = 0x37;
pub const EXIT_RDTSC: u64 = 0x6E;
pub const EXIT_RDPMC: u64 = 0x6F;
pub const EXIT_CPUID: u64 = 0x72;
pub const EXIT_INVD: u64 = 0x76;
pub const EXIT_IOIO: u64 = 0x7B;
pub const EXIT_MSR: u64 = 0x7C;
pub const EXIT_VMMCALL: u64 = 0x81;
pub const EXIT_RDTSCP: u64 = 0x87;
pub const EXIT_WBINVD: u64 = 0x89;
pub const EXIT_MONITOR: u64 = 0x8A;
pub const EXIT_MWAIT: u64 = 0x8B;
pub const EXIT_MMIO_READ: u64 = 0x8000_0001;
pub const EXIT_MMIO_WRITE: u64 = 0x8000_0002;
pub const EXIT_NMI_COMPLETE: u64 = 0x8000_0003;
pub const EXIT_AP_HLT_LOOP: u64 = 0x8000_0004;
pub const EXIT_AP_JUMP_TABLE: u64 = 0x8000_0005;
pub const EXIT_PSC: u64 = 0x8000_0010;
pub const EXIT_GUEST_REQUEST: u64 = 0x8000_0011;
pub const EXIT_EXT_GUEST_REQUEST: u64 = 0x8000_0012;
pub const EXIT_AP_CREATION: u64 = 0x8000_0013;
pub const EXIT_HV_FEATURES: u64 = 0x8000_FFFD;
pub const EXIT_TERM_REQUEST: u64 = 0x8000_FFFE;
pub const EXIT_UNSUPPORTED_EVENT: u64 = 0x8000_FFFF;
/// AP creation requests in SW_EXITINFO1[31:0] (Linux svm.h
/// `SVM_VMGEXIT_AP_CREATE_ON_INIT` / `_CREATE` / `_DESTROY`).
pub const AP_CREATE_ON_INIT: u64 = 0;
pub const AP_CREATE: u64 = 1;
pub const AP_DESTROY: u64 = 2;
/// KVM's 2 MiB check on the VMSA GPA (`PMD_SIZE`).
pub const PMD_SIZE: u64 = 0x20_0000;

// ---- IOIO SW_EXITINFO1 (APM vol. 2 §15.10.2) ----

pub const IOIO_TYPE_IN: u64 = 1 << 0;
pub const IOIO_STR: u64 = 1 << 2;
pub const IOIO_SZ8: u64 = 1 << 4;
pub const IOIO_SZ16: u64 = 1 << 5;
pub const IOIO_SZ32: u64 = 1 << 6;

// ---- SW_EXITINFO1 results and GHCB_ERR_* reasons (GHCB spec §4.1;
// sev-common.h) ----

pub const RESP_ISSUE_EXCEPTION: u64 = 1;
pub const RESP_MALFORMED_INPUT: u64 = 2;
pub const ERR_MISSING_INPUT: u64 = 4;
pub const ERR_INVALID_INPUT: u64 = 5;
pub const ERR_INVALID_USAGE: u64 = 2;
pub const ERR_INVALID_SCRATCH_AREA: u64 = 3;
pub const ERR_INVALID_EVENT: u64 = 6;
/// Event injection of #GP(0): valid (31), error code valid (11), type
/// exception (3 << 8), vector 13 (APM vol. 2 §15.20 EVENTINJ).
pub const INJECT_GP: u64 = 0x8000_0B0D;

// ---- page state change NAE (GHCB spec §4.1.6; sev-common.h) ----

pub const PSC_HEADER_LEN: usize = 8;
pub const PSC_ENTRY_LEN: usize = 8;
/// `VMGEXIT_PSC_MAX_COUNT`: (0xFF0 - 0x800 - 8) / 8.
pub const PSC_MAX_COUNT: usize = 253;
pub const PSC_OP_PRIVATE: u64 = 1;
pub const PSC_OP_SHARED: u64 = 2;
pub const PSC_ERROR_GENERIC: u64 = 0x100 << 32;
pub const PSC_ERROR_INVALID_HDR: u64 = (1 << 32) | 1;
pub const PSC_ERROR_INVALID_ENTRY: u64 = (1 << 32) | 2;

// ---- GHCB MSR protocol (GHCB spec §2.3.1; sev-common.h) ----

pub const MSR_INFO_MASK: u64 = 0xFFF;
pub const MSR_SEV_INFO_REQ: u64 = 0x002;
pub const MSR_SEV_INFO_RESP: u64 = 0x001;
pub const MSR_CPUID_REQ: u64 = 0x004;
pub const MSR_CPUID_RESP: u64 = 0x005;
pub const MSR_AP_RESET_HOLD_REQ: u64 = 0x006;
pub const MSR_AP_RESET_HOLD_RESP: u64 = 0x007;
pub const MSR_PREF_GPA_REQ: u64 = 0x010;
pub const MSR_PREF_GPA_RESP: u64 = 0x011;
pub const MSR_REG_GPA_REQ: u64 = 0x012;
pub const MSR_REG_GPA_RESP: u64 = 0x013;
pub const MSR_PSC_REQ: u64 = 0x014;
pub const MSR_PSC_RESP: u64 = 0x015;
/// `GHCB_MSR_PSC_RESP_ERROR`: bit 63 set as a generic error.
pub const MSR_PSC_RESP_ERROR: u64 = 1 << 63 | 0x015;
pub const MSR_HV_FT_REQ: u64 = 0x080;
pub const MSR_HV_FT_RESP: u64 = 0x081;
pub const MSR_TERM_REQ: u64 = 0x100;
/// `GHCB_MSR_PREF_GPA_NONE`: 52 bits of ones.
pub const MSR_PREF_GPA_NONE: u64 = 0xF_FFFF_FFFF_FFFF;
/// KVM `GHCB_HV_FT_SUPPORTED`: SNP (bit 0) | AP creation (bit 1).
pub const HV_FT_KVM: u64 = 0b11;

// ---- VMSA fields the mock decodes (APM vol. 2 table B-4; Linux
// `struct sev_es_save_area`), written out again here on purpose ----

pub const VMSA_CS: usize = 0x010;
pub const VMSA_DS: usize = 0x030;
pub const VMSA_GDTR: usize = 0x060;
pub const VMSA_IDTR: usize = 0x080;
pub const VMSA_VMPL: usize = 0x0CA;
pub const VMSA_EFER: usize = 0x0D0;
pub const VMSA_CR4: usize = 0x148;
pub const VMSA_CR3: usize = 0x150;
pub const VMSA_CR0: usize = 0x158;
pub const VMSA_RFLAGS: usize = 0x170;
pub const VMSA_RIP: usize = 0x178;
pub const VMSA_RSP: usize = 0x1D8;
pub const VMSA_G_PAT: usize = 0x268;
pub const VMSA_RDI: usize = 0x338;
pub const VMSA_SEV_FEATURES: usize = 0x3B0;
pub const VMSA_XCR0: usize = 0x3E8;

// ---- RMPADJUST (APM vol. 3 "RMPADJUST"; Linux sev.h) ----

/// RDX bit 16: the page becomes (or stops being) a VMSA page.
pub const RMPADJUST_VMSA_BIT: u64 = 1 << 16;
pub const RMPADJUST_SUCCESS: u32 = 0;
pub const RMPADJUST_FAIL_INPUT: u32 = 1;
pub const RMPADJUST_FAIL_PERMISSION: u32 = 2;
/// The page is the VMSA of a running vCPU.
pub const RMPADJUST_FAIL_INUSE: u32 = 3;

// ---- PVALIDATE (APM vol. 3 "PVALIDATE") ----

pub const PVALIDATE_SUCCESS: u32 = 0;
pub const PVALIDATE_FAIL_INPUT: u32 = 1;
pub const PVALIDATE_FAIL_PERMISSION: u32 = 2;
pub const PVALIDATE_FAIL_SIZEMISMATCH: u32 = 6;

// ---- raw little-endian access to a page image ----

pub fn rd64(p: &[u8; PAGE], off: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = p.get(off..off + 8) {
        b.copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

pub fn rd32(p: &[u8; PAGE], off: usize) -> u32 {
    rd64_partial(p, off, 4) as u32
}

pub fn rd16(p: &[u8; PAGE], off: usize) -> u16 {
    rd64_partial(p, off, 2) as u16
}

fn rd64_partial(p: &[u8; PAGE], off: usize, n: usize) -> u64 {
    let mut b = [0u8; 8];
    if let (Some(d), Some(s)) = (b.get_mut(..n), p.get(off..off + n)) {
        d.copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

pub fn wr64(p: &mut [u8; PAGE], off: usize, v: u64) {
    if let Some(d) = p.get_mut(off..off + 8) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

pub fn wr16(p: &mut [u8; PAGE], off: usize, v: u16) {
    if let Some(d) = p.get_mut(off..off + 2) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

/// Whether the quadword at `off` is marked in the valid bitmap.
pub fn is_valid(p: &[u8; PAGE], off: usize) -> bool {
    let bit = off / 8;
    p.get(VALID_BITMAP + bit / 8)
        .is_some_and(|b| b & (1 << (bit % 8)) != 0)
}

pub fn mark_valid(p: &mut [u8; PAGE], off: usize) {
    let bit = off / 8;
    if let Some(b) = p.get_mut(VALID_BITMAP + bit / 8) {
        *b |= 1 << (bit % 8);
    }
}

pub fn clear_valid(p: &mut [u8; PAGE], off: usize) {
    let bit = off / 8;
    if let Some(b) = p.get_mut(VALID_BITMAP + bit / 8) {
        *b &= !(1 << (bit % 8));
    }
}

pub fn clear_bitmap(p: &mut [u8; PAGE]) {
    if let Some(d) = p.get_mut(VALID_BITMAP..VALID_BITMAP + 16) {
        d.fill(0);
    }
}

/// Writes a quadword and marks it valid (Linux `ghcb_set_*`).
pub fn set_field(p: &mut [u8; PAGE], off: usize, v: u64) {
    wr64(p, off, v);
    mark_valid(p, off);
}
