//! What QEMU reads from an SNP firmware image before launch: where it is
//! mapped, the AP reset address and the ASEV sections.

use crate::guid;
use crate::metadata::{self, Section, SectionKind, Sections};
use crate::{footer, MeasureError};

/// QEMU's `-bios` granularity (`x86_bios_rom_init`).
pub const IMAGE_ALIGN: usize = 64 * 1024;
/// The image is mapped so that it ends here.
pub const IMAGE_END_GPA: u64 = 0x1_0000_0000;

/// A checked image: every accessor is valid, sections included.
#[derive(Debug, Clone)]
pub struct ImageLayout<'a> {
    image: &'a [u8],
    gpa: u64,
    reset_address: u32,
    metadata_offset: u32,
    sections: Sections<'a>,
}

impl<'a> ImageLayout<'a> {
    /// The image bytes.
    pub fn image(&self) -> &'a [u8] {
        self.image
    }

    /// GPA of the first image byte: 4 GiB - image length.
    pub fn gpa(&self) -> u64 {
        self.gpa
    }

    /// AP start address from the SEV-ES reset block (non-zero).
    pub fn reset_address(&self) -> u32 {
        self.reset_address
    }

    /// Offset of the "ASEV" header, counted back from the image end.
    pub fn metadata_offset(&self) -> u32 {
        self.metadata_offset
    }

    /// ASEV sections in table order (the measurement order).
    pub fn sections(&self) -> Sections<'a> {
        self.sections.clone()
    }

    /// The first section of `kind`, e.g. the secrets or CPUID page.
    pub fn section(&self, kind: SectionKind) -> Option<Section> {
        self.sections().find(|s| s.kind == kind)
    }
}

/// Checks QEMU's `-bios` size rule and returns the load GPA.
pub fn image_gpa(image: &[u8]) -> Result<u64, MeasureError> {
    let len = image.len();
    if len < IMAGE_ALIGN {
        return Err(MeasureError::ImageTooSmall { len });
    }
    if !len.is_multiple_of(IMAGE_ALIGN) {
        return Err(MeasureError::ImageSizeNotMultiple { len });
    }
    u64::try_from(len)
        .ok()
        .and_then(|l| IMAGE_END_GPA.checked_sub(l))
        .ok_or(MeasureError::ImageTooLarge { len })
}

/// Parses and checks everything the launch measurement depends on.
pub fn parse_image(image: &[u8]) -> Result<ImageLayout<'_>, MeasureError> {
    let gpa = image_gpa(image)?;
    let reset_address = footer::find_u32(image, &guid::SEV_ES_RESET_BLOCK, "SEV-ES reset block")?
        .ok_or(MeasureError::ResetBlockMissing)?;
    if reset_address == 0 {
        return Err(MeasureError::ResetAddressZero);
    }
    let metadata_offset =
        footer::find_u32(image, &guid::SEV_METADATA_OFFSET, "SEV metadata offset")?
            .ok_or(MeasureError::MetadataEntryMissing)?;
    let sections = metadata::parse(image, metadata_offset, gpa)?;
    Ok(ImageLayout {
        image,
        gpa,
        reset_address,
        metadata_offset,
        sections,
    })
}
