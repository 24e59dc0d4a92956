//! Non-automatic exits (NAE) through the GHCB page (GHCB spec 56421 §4;
//! exit codes from Linux arch/x86/include/uapi/asm/svm.h).
//!
//! Every call: reset the private GHCB copy, set inputs (which marks them
//! valid), VMGEXIT through [`SnpHardware::ghcb_exit`] with a [`GhcbCopy`]
//! naming the bytes to move each way, require SW_EXITINFO1[31:0] == 0, then
//! read back only the documented outputs, each checked for its valid bit and
//! masked to its width.
//!
//! # RDTSC and RDTSCP
//!
//! Both are NAE events in the GHCB spec (exit codes 0x6E and 0x87). KVM does
//! not set their intercepts for SEV-ES/SNP guests by default, so they run
//! natively, but a hypervisor may intercept them; the #VC handler then serves
//! them with [`GhcbChannel::rdtsc`] / [`GhcbChannel::rdtscp`] (no inputs;
//! outputs RAX, RDX and, for RDTSCP, RCX = TSC_AUX), as Linux's
//! `vc_handle_rdtsc` does.
//!
//! # XCR0 under SEV-ES/SNP
//!
//! Finding from Linux KVM `arch/x86/kvm/svm/sev.c` (read in gregkh/linux at
//! b5725213 and in the mailing-list patches touching the same lines):
//! * `sev_es_init_vmcb()` clears `INTERCEPT_XSETBV` for every SEV-ES/SNP vCPU
//!   ("Can't intercept XSETBV, HV can't modify XCR0 directly"). XSETBV
//!   therefore runs natively in the guest: it raises no #VC and needs no GHCB
//!   call.
//! * `sev_es_validate_vmgexit()` has no case for `SVM_EXIT_XSETBV` (0x8D, APM
//!   vol. 2 appendix C "SVM Intercept Exit Codes"; 0x55 would be the
//!   exception intercept for vector 21); a GHCB exit with that code is refused
//!   with SW_EXITINFO1 = 2, SW_EXITINFO2 = GHCB_ERR_INVALID_EVENT (6). So this
//!   crate offers no XSETBV exit.
//! * The GHCB XCR0 field (0x3E8) is read in `sev_es_sync_from_ghcb()`: when
//!   marked valid, KVM copies it into `vcpu->arch.xcr0` and recomputes its
//!   CPUID answers (`kvm_update_cpuid_runtime`), which is how the XSAVE sizes
//!   of CPUID 0xD follow the guest's XCR0. The CPUID exit (0x72) is refused
//!   when RAX = 0xD and XCR0 is not valid.
//!
//! What the kernel does: set CR4.OSXSAVE and execute XSETBV itself. It makes
//! no CPUID NAE: CPUID is answered from the launch-checked CPUID page
//! (`CpuidPage::answer`, XSAVE sizes recomputed for the XCR0 the kernel
//! loaded). (The boot code's two MSR-protocol CPUID requests, leaves
//! 0x8000_0000 and 0x8000_001F, have no XCR0 field and need none.) The
//! CPUID exit below, with its XCR0 field, is built only for the tests and
//! the mock hypervisor (`cfg(any(test, feature = "mock"))`), which model
//! KVM's rule.

use core::ops::Range;

use crate::ghcb::{Ghcb, OFF_RAX, OFF_RCX, OFF_RDX, OFF_SHARED_BUFFER};
use crate::ghcb_copy::GhcbCopy;
use crate::{SnpError, SnpHardware, PAGE_SIZE_4K};

pub mod psc;
mod string_io;
pub use psc::PscEntry;
pub use string_io::{string_exit_info1, string_io_exits, STRING_IO_MAX_BYTES};

/// SVM exit code of XSETBV. Not a NAE this crate issues (see the module
/// docs); kept so the value is written down once, checked by a test.
#[cfg(any(test, feature = "mock"))]
pub const EXIT_XSETBV: u64 = 0x8D;
pub const EXIT_RDTSC: u64 = 0x6E;
pub const EXIT_RDTSCP: u64 = 0x87;
pub const EXIT_CPUID: u64 = 0x72;
pub const EXIT_IOIO: u64 = 0x7B;
pub const EXIT_MSR: u64 = 0x7C;
pub const EXIT_MMIO_READ: u64 = 0x8000_0001;
pub const EXIT_MMIO_WRITE: u64 = 0x8000_0002;
pub const EXIT_PSC: u64 = 0x8000_0010;
pub const EXIT_GUEST_REQUEST: u64 = 0x8000_0011;
#[cfg(any(test, feature = "mock"))]
pub const EXIT_EXT_GUEST_REQUEST: u64 = 0x8000_0012;
pub const EXIT_AP_CREATION: u64 = 0x8000_0013;
#[cfg(any(test, feature = "mock"))]
pub const EXIT_HV_FEATURES: u64 = 0x8000_FFFD;
#[cfg(any(test, feature = "mock"))]
pub const EXIT_TERMINATION: u64 = 0x8000_FFFE;

/// IOIO SW_EXITINFO1 bits (APM vol. 2 §15.10.2 "IOIO intercept information").
pub mod ioio {
    pub const TYPE_IN: u64 = 1 << 0;
    pub const STR: u64 = 1 << 2;
    pub const REP: u64 = 1 << 3;
    pub const SZ8: u64 = 1 << 4;
    pub const SZ16: u64 = 1 << 5;
    pub const SZ32: u64 = 1 << 6;
    pub const A16: u64 = 1 << 7;
    #[cfg(any(test, feature = "mock"))]
    pub const A32: u64 = 1 << 8;
    pub const A64: u64 = 1 << 9;
    pub const PORT_SHIFT: u32 = 16;
}

/// GHCB error reasons in SW_EXITINFO2 when SW_EXITINFO1 = 2 (GHCB spec;
/// Linux sev-common.h `GHCB_ERR_*`).
#[cfg(any(test, feature = "mock"))]
pub mod ghcb_err {
    pub const NOT_REGISTERED: u64 = 1;
    pub const INVALID_USAGE: u64 = 2;
    pub const INVALID_SCRATCH_AREA: u64 = 3;
    pub const MISSING_INPUT: u64 = 4;
    pub const INVALID_INPUT: u64 = 5;
    pub const INVALID_EVENT: u64 = 6;
}

/// SNP guest request VMM errors, SW_EXITINFO2[63:32] (GHCB spec §4.1.8).
pub mod guest_request_err {
    pub const INVALID_LEN: u32 = 1;
    pub const BUSY: u32 = 2;
}

/// AP creation requests, SW_EXITINFO1[31:0] (GHCB spec §4.1.9; Linux
/// `SVM_VMGEXIT_AP_CREATE*`).
pub mod ap_creation {
    #[cfg(any(test, feature = "mock"))]
    pub const CREATE_ON_INIT: u64 = 0;
    pub const CREATE: u64 = 1;
    #[cfg(any(test, feature = "mock"))]
    pub const DESTROY: u64 = 2;
}

/// IOIO operand size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoSize {
    Byte,
    Word,
    Dword,
}

impl IoSize {
    fn info_bit(self) -> u64 {
        match self {
            IoSize::Byte => ioio::SZ8,
            IoSize::Word => ioio::SZ16,
            IoSize::Dword => ioio::SZ32,
        }
    }
    fn mask(self) -> u64 {
        match self {
            IoSize::Byte => 0xFF,
            IoSize::Word => 0xFFFF,
            IoSize::Dword => 0xFFFF_FFFF,
        }
    }
}

/// SW_EXITINFO1 for a non-string, non-REP IN/OUT with 16-bit addressing.
pub fn ioio_exit_info1(port: u16, size: IoSize, is_in: bool) -> u64 {
    (port as u64) << ioio::PORT_SHIFT
        | ioio::A16
        | size.info_bit()
        | if is_in { ioio::TYPE_IN } else { 0 }
}

/// Decodes SW_EXITINFO2 of an SNP guest request.
pub fn decode_guest_request_result(info2: u64) -> Result<(), SnpError> {
    let vmm = (info2 >> 32) as u32;
    let fw = info2 as u32;
    match vmm {
        0 if fw == 0 => Ok(()),
        0 => Err(SnpError::GuestRequestFirmwareError { code: fw }),
        guest_request_err::INVALID_LEN => Err(SnpError::GuestRequestInvalidLen),
        guest_request_err::BUSY => Err(SnpError::GuestRequestBusy),
        code => Err(SnpError::GuestRequestVmmError { code }),
    }
}

/// The hardware, the registered GHCB GPA and the private GHCB copy, plus
/// the vCPU facts the exits and page validation depend on.
pub struct GhcbChannel<H: SnpHardware> {
    hw: H,
    ghcb_gpa: u64,
    ghcb: Ghcb,
    #[cfg(any(test, feature = "mock"))]
    xcr0: u64,
    /// CPUID 0x8000_001F `EBX[31]` (COHERENCY_SFW_NO) from the CPUID page:
    /// the CPU needs no cache eviction after validating a page.
    coherency_sfw_no: bool,
}

impl<H: SnpHardware> GhcbChannel<H> {
    /// `ghcb_gpa` must already be shared and registered (see
    /// [`crate::setup::init_ghcb`]). The cache eviction after PVALIDATE
    /// starts on (see
    /// [`Self::set_coherency_sfw_no`]).
    pub fn new(hw: H, ghcb_gpa: u64) -> Self {
        Self {
            hw,
            ghcb_gpa,
            ghcb: Ghcb::new(),
            // The reset value (x87); only the tests' CPUID exits carry it.
            #[cfg(any(test, feature = "mock"))]
            xcr0: 1,
            coherency_sfw_no: false,
        }
    }

    pub fn hw_mut(&mut self) -> &mut H {
        &mut self.hw
    }

    #[cfg(test)]
    pub fn into_hardware(self) -> H {
        self.hw
    }

    /// Records CPUID 0x8000_001F `EBX[31]` (COHERENCY_SFW_NO) as the CPUID
    /// page reports it ([`crate::cpuid_page::CpuidPage::coherency_sfw_no`]).
    /// While it is false (the default), every successful validating
    /// PVALIDATE in [`crate::accept`] is followed by
    /// [`SnpHardware::evict_cache`], as Linux does (CVE-2025-38560).
    pub fn set_coherency_sfw_no(&mut self, set: bool) {
        self.coherency_sfw_no = set;
    }

    pub fn coherency_sfw_no(&self) -> bool {
        self.coherency_sfw_no
    }

    /// Sets the exit fields, exits, checks SW_EXITINFO1[31:0].
    fn exit(&mut self, exit_code: u64, info1: u64, info2: u64) -> Result<(), SnpError> {
        self.exit_scratch(exit_code, info1, info2, None, None)
    }

    /// [`Self::exit`] with scratch bytes (page offsets) sent and returned.
    fn exit_scratch(
        &mut self,
        exit_code: u64,
        info1: u64,
        info2: u64,
        scratch_out: Option<Range<usize>>,
        scratch_back: Option<Range<usize>>,
    ) -> Result<(), SnpError> {
        self.ghcb.set_sw_exit_code(exit_code);
        self.ghcb.set_sw_exit_info1(info1);
        self.ghcb.set_sw_exit_info2(info2);
        let copy = GhcbCopy::for_exit(&self.ghcb, scratch_out, scratch_back);
        self.hw.ghcb_exit(self.ghcb_gpa, &mut self.ghcb, &copy);
        let result = self.ghcb.sw_exit_info1() as u32;
        if result != 0 {
            return Err(SnpError::GhcbExitFailed {
                exit_code,
                exit_info1: result,
                exit_info2: self.ghcb.sw_exit_info2(),
            });
        }
        Ok(())
    }

    fn output(&self, exit_code: u64, off: usize) -> Result<u64, SnpError> {
        self.ghcb
            .field_if_valid(off)
            .ok_or(SnpError::GhcbOutputNotValid {
                exit_code,
                offset: off,
            })
    }

    // ---- IOIO ----

    pub fn io_out(&mut self, port: u16, size: IoSize, value: u32) -> Result<(), SnpError> {
        self.ghcb.reset();
        self.ghcb.set_rax(value as u64 & size.mask());
        self.exit(EXIT_IOIO, ioio_exit_info1(port, size, false), 0)
    }

    pub fn io_in(&mut self, port: u16, size: IoSize) -> Result<u32, SnpError> {
        self.ghcb.reset();
        self.exit(EXIT_IOIO, ioio_exit_info1(port, size, true), 0)?;
        Ok((self.output(EXIT_IOIO, OFF_RAX)? & size.mask()) as u32)
    }

    // ---- MSR ----

    pub fn rdmsr(&mut self, msr: u32) -> Result<u64, SnpError> {
        self.ghcb.reset();
        self.ghcb.set_rcx(msr as u64);
        self.exit(EXIT_MSR, 0, 0)?;
        let lo = self.output(EXIT_MSR, OFF_RAX)? & 0xFFFF_FFFF;
        let hi = self.output(EXIT_MSR, OFF_RDX)? & 0xFFFF_FFFF;
        Ok(hi << 32 | lo)
    }

    pub fn wrmsr(&mut self, msr: u32, value: u64) -> Result<(), SnpError> {
        self.ghcb.reset();
        self.ghcb.set_rcx(msr as u64);
        self.ghcb.set_rax(value & 0xFFFF_FFFF);
        self.ghcb.set_rdx(value >> 32);
        self.exit(EXIT_MSR, 1, 0)
    }

    // ---- RDTSC / RDTSCP (see the module docs) ----

    /// The TSC as the hypervisor reports it for an intercepted RDTSC.
    pub fn rdtsc(&mut self) -> Result<u64, SnpError> {
        self.ghcb.reset();
        self.exit(EXIT_RDTSC, 0, 0)?;
        let lo = self.output(EXIT_RDTSC, OFF_RAX)? & 0xFFFF_FFFF;
        let hi = self.output(EXIT_RDTSC, OFF_RDX)? & 0xFFFF_FFFF;
        Ok(hi << 32 | lo)
    }

    /// (TSC, TSC_AUX) as the hypervisor reports them for an intercepted RDTSCP.
    pub fn rdtscp(&mut self) -> Result<(u64, u32), SnpError> {
        self.ghcb.reset();
        self.exit(EXIT_RDTSCP, 0, 0)?;
        let lo = self.output(EXIT_RDTSCP, OFF_RAX)? & 0xFFFF_FFFF;
        let hi = self.output(EXIT_RDTSCP, OFF_RDX)? & 0xFFFF_FFFF;
        let aux = self.output(EXIT_RDTSCP, OFF_RCX)? as u32;
        Ok((hi << 32 | lo, aux))
    }

    // ---- MMIO ----

    fn check_mmio_len(len: usize) -> Result<(), SnpError> {
        if matches!(len, 1 | 2 | 4 | 8) {
            Ok(())
        } else {
            Err(SnpError::InvalidArgument {
                what: "MMIO length must be 1, 2, 4 or 8",
                value: len as u64,
            })
        }
    }

    fn scratch_gpa(&self) -> u64 {
        self.ghcb_gpa + OFF_SHARED_BUFFER as u64
    }

    /// Reads `buf.len()` (1/2/4/8) bytes of MMIO at `gpa` (mapped shared).
    pub fn mmio_read(&mut self, gpa: u64, buf: &mut [u8]) -> Result<(), SnpError> {
        Self::check_mmio_len(buf.len())?;
        self.ghcb.reset();
        self.ghcb.set_sw_scratch(self.scratch_gpa());
        let scratch = OFF_SHARED_BUFFER..OFF_SHARED_BUFFER + buf.len();
        self.exit_scratch(EXIT_MMIO_READ, gpa, buf.len() as u64, None, Some(scratch))?;
        let src = self
            .ghcb
            .shared_buffer()
            .get(..buf.len())
            .ok_or(SnpError::InvalidArgument {
                what: "MMIO length",
                value: buf.len() as u64,
            })?;
        buf.copy_from_slice(src);
        Ok(())
    }

    /// Writes `data` (1/2/4/8 bytes) to MMIO at `gpa` (mapped shared).
    pub fn mmio_write(&mut self, gpa: u64, data: &[u8]) -> Result<(), SnpError> {
        Self::check_mmio_len(data.len())?;
        self.ghcb.reset();
        if let Some(dst) = self.ghcb.shared_buffer_mut().get_mut(..data.len()) {
            dst.copy_from_slice(data);
        }
        self.ghcb.set_sw_scratch(self.scratch_gpa());
        let scratch = OFF_SHARED_BUFFER..OFF_SHARED_BUFFER + data.len();
        self.exit_scratch(EXIT_MMIO_WRITE, gpa, data.len() as u64, Some(scratch), None)
    }

    // ---- hypervisor features ----

    /// Hypervisor feature bitmap from SW_EXITINFO2. The guest reads it with
    /// the MSR protocol (`setup`); the tests use this NAE as a plain exit.
    #[cfg(test)]
    pub fn hv_features(&mut self) -> Result<u64, SnpError> {
        self.ghcb.reset();
        self.exit(EXIT_HV_FEATURES, 0, 0)?;
        Ok(self.ghcb.sw_exit_info2())
    }

    // ---- AP creation ----

    /// AP creation NAE (request CREATE): SW_EXITINFO1 = APIC ID << 32 |
    /// VMPL << 16 | 1, SW_EXITINFO2 = the VMSA's GPA, RAX = SEV features
    /// (Linux `vmgexit_ap_control`). Success is SW_EXITINFO1[31:0] == 0; a
    /// hypervisor that leaves the field alone leaves the request's 1 there,
    /// which reads as a refusal. Use [`crate::create_ap`], which marks the
    /// page first and unmarks it on failure.
    pub fn ap_create(
        &mut self,
        apic_id: u32,
        vmpl: u8,
        vmsa_gpa: u64,
        sev_features: u64,
    ) -> Result<(), SnpError> {
        self.ghcb.reset();
        self.ghcb.set_rax(sev_features);
        let info1 = u64::from(apic_id) << 32 | u64::from(vmpl) << 16 | ap_creation::CREATE;
        self.exit(EXIT_AP_CREATION, info1, vmsa_gpa)
    }

    // ---- SNP guest request ----

    /// One SNP guest request: `req_gpa`/`resp_gpa` are distinct, 4 KiB
    /// aligned, shared pages. On [`SnpError::GuestRequestBusy`] resend the
    /// same encrypted message (never re-encrypt with a new sequence number).
    pub fn guest_request(&mut self, req_gpa: u64, resp_gpa: u64) -> Result<(), SnpError> {
        for gpa in [req_gpa, resp_gpa] {
            if gpa % PAGE_SIZE_4K != 0 {
                return Err(SnpError::InvalidArgument {
                    what: "guest request page not 4 KiB aligned",
                    value: gpa,
                });
            }
        }
        if req_gpa == resp_gpa {
            return Err(SnpError::InvalidArgument {
                what: "guest request and response pages must differ",
                value: req_gpa,
            });
        }
        self.ghcb.reset();
        self.exit(EXIT_GUEST_REQUEST, req_gpa, resp_gpa)?;
        decode_guest_request_result(self.ghcb.sw_exit_info2())
    }
}

/// What only the tests and the mock's users call: accessors, the CPUID exit
/// (the guest answers CPUID from the CPUID page) with the XCR0 it carries,
/// and typed port and MMIO helpers over [`GhcbChannel::io_in`] /
/// [`GhcbChannel::io_out`] and [`GhcbChannel::mmio_read`] /
/// [`GhcbChannel::mmio_write`] (the kernel passes its own widths).
#[cfg(any(test, feature = "mock"))]
impl<H: SnpHardware> GhcbChannel<H> {
    pub fn ghcb_gpa(&self) -> u64 {
        self.ghcb_gpa
    }

    pub fn hw(&self) -> &H {
        &self.hw
    }

    /// The XCR0 that CPUID exits pass to the hypervisor (tests and mock only;
    /// see the module docs).
    pub fn set_xcr0(&mut self, xcr0: u64) {
        self.xcr0 = xcr0;
    }

    pub fn xcr0(&self) -> u64 {
        self.xcr0
    }

    /// CPUID answered by the hypervisor (untrusted: use the CPUID page for
    /// anything security-relevant). Returns [EAX, EBX, ECX, EDX].
    pub fn cpuid(&mut self, leaf: u32, subleaf: u32) -> Result<[u32; 4], SnpError> {
        self.ghcb.reset();
        self.ghcb.set_rax(leaf as u64);
        self.ghcb.set_rcx(subleaf as u64);
        self.ghcb.set_xcr0(self.xcr0);
        self.exit(EXIT_CPUID, 0, 0)?;
        let mut out = [0u32; 4];
        for (slot, off) in out
            .iter_mut()
            .zip([OFF_RAX, crate::ghcb::OFF_RBX, OFF_RCX, OFF_RDX])
        {
            *slot = self.output(EXIT_CPUID, off)? as u32;
        }
        Ok(out)
    }

    pub fn outb(&mut self, port: u16, v: u8) -> Result<(), SnpError> {
        self.io_out(port, IoSize::Byte, v as u32)
    }
    pub fn outw(&mut self, port: u16, v: u16) -> Result<(), SnpError> {
        self.io_out(port, IoSize::Word, v as u32)
    }
    pub fn outl(&mut self, port: u16, v: u32) -> Result<(), SnpError> {
        self.io_out(port, IoSize::Dword, v)
    }
    pub fn inb(&mut self, port: u16) -> Result<u8, SnpError> {
        self.io_in(port, IoSize::Byte).map(|v| v as u8)
    }
    pub fn inw(&mut self, port: u16) -> Result<u16, SnpError> {
        self.io_in(port, IoSize::Word).map(|v| v as u16)
    }
    pub fn inl(&mut self, port: u16) -> Result<u32, SnpError> {
        self.io_in(port, IoSize::Dword)
    }

    pub fn mmio_read_u8(&mut self, gpa: u64) -> Result<u8, SnpError> {
        let mut b = [0u8; 1];
        self.mmio_read(gpa, &mut b)?;
        Ok(b[0])
    }
    pub fn mmio_read_u16(&mut self, gpa: u64) -> Result<u16, SnpError> {
        let mut b = [0u8; 2];
        self.mmio_read(gpa, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }
    pub fn mmio_read_u32(&mut self, gpa: u64) -> Result<u32, SnpError> {
        let mut b = [0u8; 4];
        self.mmio_read(gpa, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    pub fn mmio_write_u8(&mut self, gpa: u64, v: u8) -> Result<(), SnpError> {
        self.mmio_write(gpa, &[v])
    }
    pub fn mmio_write_u16(&mut self, gpa: u64, v: u16) -> Result<(), SnpError> {
        self.mmio_write(gpa, &v.to_le_bytes())
    }
    pub fn mmio_write_u32(&mut self, gpa: u64, v: u32) -> Result<(), SnpError> {
        self.mmio_write(gpa, &v.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioio_encoding() {
        // OUT to COM1 0x3F8, byte: port<<16 | A16 | SZ8.
        assert_eq!(ioio_exit_info1(0x3F8, IoSize::Byte, false), 0x03F8_0090);
        // IN word from 0x510 (fw_cfg): | TYPE_IN.
        assert_eq!(ioio_exit_info1(0x510, IoSize::Word, true), 0x0510_00A1);
        assert_eq!(ioio_exit_info1(0xCFC, IoSize::Dword, true), 0x0CFC_00C1);
    }

    #[test]
    fn guest_request_result_decoding() {
        assert_eq!(decode_guest_request_result(0), Ok(()));
        assert_eq!(
            decode_guest_request_result(2 << 32),
            Err(SnpError::GuestRequestBusy)
        );
        assert_eq!(
            decode_guest_request_result(1 << 32),
            Err(SnpError::GuestRequestInvalidLen)
        );
        assert_eq!(
            decode_guest_request_result(0x16),
            Err(SnpError::GuestRequestFirmwareError { code: 0x16 })
        );
        assert_eq!(
            decode_guest_request_result(7 << 32 | 3),
            Err(SnpError::GuestRequestVmmError { code: 7 })
        );
    }
}
