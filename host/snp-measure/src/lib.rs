//! SEV-SNP launch digest of an OVMF-compatible firmware image, computed the
//! way `sev-snp-measure --mode snp --vmm-type QEMU` (0.0.13) does.
//!
//! Order: the image as NORMAL pages from 4 GiB - len upwards, the ASEV
//! sections in table order, then one VMSA per vCPU (BSP first).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

mod bytes;
mod error;
pub mod footer;
pub mod guid;
mod layout;
pub mod metadata;
pub mod page_info;
mod vcpu;
pub mod vmsa;

#[cfg(test)]
mod tests;

pub use error::MeasureError;
pub use layout::{image_gpa, parse_image, ImageLayout, IMAGE_ALIGN, IMAGE_END_GPA};
pub use metadata::{Section, SectionKind, Sections};
pub use page_info::{LaunchDigest, PageType, DIGEST_LEN, PAGE_SIZE};
pub use vcpu::{cpu_signature, VcpuType};

/// A launch digest (SHA-384).
pub type Digest = [u8; DIGEST_LEN];

/// VMSA SEV_FEATURES QEMU uses with default properties (SNPActive only).
pub const DEFAULT_GUEST_FEATURES: u64 = 0x1;
/// Upper bound on vCPUs; far above what QEMU's x86 machines allow, and it
/// keeps hostile input from making us hash for hours.
pub const MAX_VCPUS: u32 = 4096;

/// The launch parameters that enter the digest besides the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchConfig {
    /// `-smp` count; each vCPU adds a VMSA page.
    pub vcpus: u32,
    /// `-cpu` model; its signature is in every VMSA's RDX.
    pub vcpu_type: VcpuType,
    /// VMSA SEV_FEATURES.
    pub guest_features: u64,
}

impl LaunchConfig {
    /// `vcpus` of `vcpu_type` with default guest features.
    pub fn new(vcpus: u32, vcpu_type: VcpuType) -> Self {
        Self {
            vcpus,
            vcpu_type,
            guest_features: DEFAULT_GUEST_FEATURES,
        }
    }
}

/// The sample launch configuration: 1 vCPU of QEMU's `EPYC-v4`, default
/// guest features. A guest without SNP cannot observe how it was launched, so
/// its sample evidence carries the digest under this configuration (which
/// `qemu/run.sh` computes with `image-builder measure --vcpus 1 --vcpu-type
/// EPYC-v4` and passes in fw_cfg); it is also the first configuration of
/// every manifest and `qemu/run-snp.sh`'s default.
pub const SAMPLE_VCPUS: u32 = 1;
/// QEMU's name of the sample configuration's vCPU model (see [`SAMPLE_VCPUS`]).
pub const SAMPLE_VCPU_TYPE: &str = "EPYC-v4";

/// The sample launch configuration (see [`SAMPLE_VCPUS`]).
pub fn sample_launch_config() -> LaunchConfig {
    LaunchConfig::new(SAMPLE_VCPUS, VcpuType::Epyc)
}

/// The digest after the image pages only (`--mode snp:ovmf-hash`).
/// Checks only the size rule, not the footer.
pub fn ovmf_hash(image: &[u8]) -> Result<Digest, MeasureError> {
    let gpa = image_gpa(image)?;
    let mut ld = LaunchDigest::new();
    ld.update_normal_pages(gpa, image);
    Ok(ld.digest())
}

/// The SNP launch digest (MEASUREMENT of the attestation report).
pub fn launch_digest(image: &[u8], config: &LaunchConfig) -> Result<Digest, MeasureError> {
    if config.vcpus == 0 || config.vcpus > MAX_VCPUS {
        return Err(MeasureError::VcpuCountInvalid {
            vcpus: config.vcpus,
        });
    }
    let layout = parse_image(image)?;
    let mut ld = LaunchDigest::new();
    ld.update_normal_pages(layout.gpa(), image);
    measure_sections(&mut ld, &layout);
    measure_vmsas(&mut ld, &layout, config);
    Ok(ld.digest())
}

/// Step 2: the ASEV sections, one update per page.
fn measure_sections(ld: &mut LaunchDigest, layout: &ImageLayout<'_>) {
    for section in layout.sections() {
        let page_type = section.kind.page_type();
        // sev-snp-measure measures one SECRETS/CPUID page; parse_image made
        // sure those sections are exactly one page, so both agree.
        ld.update_empty_pages(page_type, section.gpa.into(), section.size.into());
    }
}

/// Step 3: BSP VMSA, then identical AP VMSAs starting at the reset address.
fn measure_vmsas(ld: &mut LaunchDigest, layout: &ImageLayout<'_>, config: &LaunchConfig) {
    let signature = config.vcpu_type.signature();
    let bsp = vmsa::build(vmsa::BSP_EIP, signature, config.guest_features);
    ld.update_vmsa_page(&bsp);
    if config.vcpus > 1 {
        let ap = vmsa::build(layout.reset_address(), signature, config.guest_features);
        let ap_hash = page_info::sha384(&ap);
        for _ in 1..config.vcpus {
            ld.update_vmsa_hash(&ap_hash);
        }
    }
}
