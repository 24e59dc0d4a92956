//! The kernel's SNP logic, generic over [`SnpHardware`]: the guest runs it
//! with `KernelHw` (the real instructions, in `snp/mod.rs`), the host unit
//! tests with `snp_guest::mock::MockHypervisor`. Nothing here reads a fixed
//! address or terminates: inputs (the CPUID page bytes, the launch-validated
//! ranges, the GHCB page) are passed in, and every failure comes back as an
//! [`SnpError`] for the thin layer in `snp/mod.rs` to turn into a
//! termination request.

use crate::arch::Cpuid;
use crate::platform::Width;
use snp_guest::cpuid_page::{CpuidContext, CpuidPage, CPUID_PAGE_SIZE};
use snp_guest::nae::IoSize;
use snp_guest::sev_status::SevStatus;
use snp_guest::{AcceptedMemory, GhcbChannel, SnpError, SnpHardware, PAGE_SIZE_4K};

/// The GHCB channel and the accepted-memory record, which every page-state
/// operation needs together. Exists only once the GHCB is registered.
pub struct SnpGlue<H: SnpHardware, const N: usize> {
    pub(super) channel: GhcbChannel<H>,
    /// Everything this guest has accepted (private and validated): a page in
    /// it is never PVALIDATEd again (see `snp_guest::accepted`).
    pub(super) accepted: AcceptedMemory<N>,
    /// The hypervisor's feature bitmap from GHCB registration (AP creation
    /// is bit 1).
    hv_features: u64,
}

/// The C-bit the boot stub took from the CPUID page, checked against the
/// page's own answer (leaf 0x8000_001F EBX[5:0]).
fn check_c_bit(cpuid_page: &[u8; CPUID_PAGE_SIZE], c_bit_mask: u64) -> Result<(), SnpError> {
    let position = CpuidPage::parse(cpuid_page)?.c_bit_position()?;
    if c_bit_mask != 1u64 << position {
        return Err(SnpError::CBitOutOfRange { position });
    }
    Ok(())
}

impl<H: SnpHardware, const N: usize> SnpGlue<H, N> {
    /// SNP bring-up, in this order, each step refusing before the next acts:
    /// SEV features this kernel does not implement (vTOM, ReflectVC, ...);
    /// the C-bit cross-check; the record of `launch` (memory the launch
    /// validated: accepting any of it again is refused), which must hold the
    /// GHCB page; then the GHCB page is shared, registered and leaves the
    /// record. The channel learns COHERENCY_SFW_NO from the CPUID page
    /// (0x8000_001F `EBX[31]`): without it every page validated later has its
    /// cache lines evicted (CVE-2025-38560).
    pub fn init(
        hw: H,
        sev_status: u64,
        c_bit_mask: u64,
        cpuid_page: &[u8; CPUID_PAGE_SIZE],
        launch: &[(u64, u64)],
        ghcb_gpa: u64,
    ) -> Result<Self, SnpError> {
        SevStatus(sev_status).check_supported()?;
        check_c_bit(cpuid_page, c_bit_mask)?;
        let coherency_sfw_no = CpuidPage::parse(cpuid_page)?.coherency_sfw_no();
        let mut accepted = AcceptedMemory::new();
        for &(start, end) in launch {
            accepted.insert(start, end)?;
        }
        accepted.check_remove(ghcb_gpa, ghcb_gpa + PAGE_SIZE_4K)?;
        let (mut channel, info) = snp_guest::init_ghcb(hw, ghcb_gpa)?;
        accepted.remove(ghcb_gpa, ghcb_gpa + PAGE_SIZE_4K)?;
        channel.set_coherency_sfw_no(coherency_sfw_no);
        Ok(Self {
            channel,
            accepted,
            hv_features: info.hv_features,
        })
    }

    /// The accepted-memory record, for reading.
    #[cfg(test)]
    pub fn accepted(&self) -> &AcceptedMemory<N> {
        &self.accepted
    }

    /// The hardware behind the channel (the mock, in tests).
    #[cfg(test)]
    pub fn hw(&self) -> &H {
        self.channel.hw()
    }

    #[cfg(test)]
    pub fn hw_mut(&mut self) -> &mut H {
        self.channel.hw_mut()
    }

    /// One guest request, for the attestation transport's tests (the
    /// channel itself stays private to `snp`).
    #[cfg(test)]
    pub fn guest_request(&mut self, req_gpa: u64, resp_gpa: u64) -> Result<(), SnpError> {
        self.channel.guest_request(req_gpa, resp_gpa)
    }

    /// Reads `width` bytes (one MMIO exit of that length), zero-extended.
    pub fn mmio_read(&mut self, gpa: u64, width: Width) -> Result<u64, SnpError> {
        let mut bytes = [0u8; 8];
        self.channel.mmio_read(gpa, &mut bytes[..width as usize])?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// Writes the low `width` bytes of `value`.
    pub fn mmio_write(&mut self, gpa: u64, value: u64, width: Width) -> Result<(), SnpError> {
        self.channel
            .mmio_write(gpa, &value.to_le_bytes()[..width as usize])
    }

    /// Make the RAM range [start, end) private and validated (PSC +
    /// PVALIDATE). Any page of it already accepted (launch memory, or an
    /// earlier call) is refused with `SnpError::AlreadyAccepted` before
    /// anything is asked of the hypervisor.
    pub fn accept(&mut self, start: u64, end: u64) -> Result<(), SnpError> {
        snp_guest::accept_range(&mut self.channel, &mut self.accepted, start, end)
    }

    /// Share one accepted 4 KiB page with the host (it leaves the record).
    pub fn share_page(&mut self, va: u64) -> Result<(), SnpError> {
        snp_guest::share_page(&mut self.channel, &mut self.accepted, va)
    }

    /// Take a shared page back (it rejoins the record).
    pub fn unshare_page(&mut self, va: u64) -> Result<(), SnpError> {
        snp_guest::unshare_page(&mut self.channel, &mut self.accepted, va)
    }

    /// Starts the AP with `apic_id` from the VMSA at `vmsa_gpa`
    /// (`snp_guest::create_ap`: the HV features checked, the page marked
    /// before the exit and unmarked after a refusal).
    pub fn create_ap(
        &mut self,
        apic_id: u32,
        vmsa_gpa: u64,
        sev_features: u64,
    ) -> Result<(), SnpError> {
        let hv = self.hv_features;
        snp_guest::create_ap(&mut self.channel, hv, apic_id, vmsa_gpa, sev_features)
    }

    /// RDTSC/RDTSCP for the #VC handler, through the GHCB: (TSC, TSC_AUX;
    /// 0 for RDTSC).
    pub fn rdtsc_for_vc(&mut self, rdtscp: bool) -> Result<(u64, u32), SnpError> {
        if rdtscp {
            self.channel.rdtscp()
        } else {
            Ok((self.channel.rdtsc()?, 0))
        }
    }
}

/// The GHCB IOIO operand size of a port access of `width`.
pub(super) fn io_size(width: Width) -> IoSize {
    match width {
        Width::Byte => IoSize::Byte,
        Width::Word => IoSize::Word,
        Width::Dword => IoSize::Dword,
    }
}

/// CPUID from the launch-validated CPUID page, post-processed with this
/// vCPU's state in `ctx` (`CpuidPage::answer`: a leaf the page lacks reads
/// zeros). Takes no hardware and no channel: it can never ask the
/// hypervisor, and the #VC handler may call it while the channel is held.
pub fn cpuid(
    cpuid_page: &[u8; CPUID_PAGE_SIZE],
    ctx: &CpuidContext,
    leaf: u32,
    subleaf: u32,
) -> Result<Cpuid, SnpError> {
    let r = CpuidPage::parse(cpuid_page)?.answer(leaf, subleaf, ctx)?;
    Ok(Cpuid {
        eax: r.eax,
        ebx: r.ebx,
        ecx: r.ecx,
        edx: r.edx,
    })
}
