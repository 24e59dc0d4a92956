//! Everything that can be wrong with an image or a launch configuration.

use core::fmt;

/// Why an image cannot be measured. Every malformed case has its own variant,
/// so callers and tests can tell them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeasureError {
    /// Smaller than QEMU's minimum `-bios` size (64 KiB).
    ImageTooSmall { len: usize },
    /// QEMU's `x86_bios_rom_init` wants a non-zero multiple of 64 KiB.
    ImageSizeNotMultiple { len: usize },
    /// The image must fit below 4 GiB, where QEMU maps it.
    ImageTooLarge { len: usize },
    /// No footer GUID at 48 bytes before the image end.
    FooterGuidMissing,
    /// The footer's table length is below 18 or reaches past the image start.
    FooterLengthInvalid { len: u16 },
    /// A table entry's length is below 18 or larger than what is left of the table.
    EntryLengthOutOfRange { offset: usize, len: u16 },
    /// Bytes left at the start of the table that do not form a whole entry.
    FooterTableTrailingBytes { count: usize },
    /// A known entry occurs twice, which makes the image ambiguous.
    DuplicateEntry { name: &'static str },
    /// A known entry carries less data than its fixed layout needs.
    EntryTooShort { name: &'static str, data_len: usize },
    /// No SEV-ES reset block: QEMU refuses to launch an SEV-ES/SNP guest.
    ResetBlockMissing,
    /// The SEV-ES reset block holds address 0: QEMU refuses it.
    ResetAddressZero,
    /// No SEV metadata offset entry: QEMU's SNP launch fails without it.
    MetadataEntryMissing,
    /// The metadata offset (counted from the image end) leaves no room for the header.
    MetadataOffsetOutOfRange { offset: u32 },
    /// The metadata header does not start with "ASEV".
    MetadataSignatureBad { found: [u8; 4] },
    /// Only version 1 exists.
    MetadataVersionBad { version: u32 },
    /// Header length is smaller than the header plus its descriptors, or runs past the image end.
    MetadataLengthBad {
        length: u32,
        num_items: u32,
        available: u32,
    },
    /// More descriptors than `metadata::MAX_SECTIONS`.
    SectionCountTooLarge { num_items: u32 },
    /// Two sections share a page.
    SectionsOverlap { earlier: u32, index: u32 },
    /// A section's GPA or size is not 4 KiB-aligned.
    SectionUnaligned { index: u32, gpa: u32, size: u32 },
    /// A section of size zero.
    SectionEmpty { index: u32 },
    /// A section type other than 1, 2, 3, 4 or 0x10.
    SectionTypeUnknown { index: u32, section_type: u32 },
    /// SECRETS and CPUID sections are exactly one page (QEMU and
    /// sev-snp-measure would otherwise measure them differently).
    SectionSizeInvalid { index: u32, size: u32 },
    /// A section reaches into the image's own range (or past 4 GiB).
    SectionOverlapsImage { index: u32, gpa: u32, size: u32 },
    /// The vCPU count must be in 1..=MAX_VCPUS.
    VcpuCountInvalid { vcpus: u32 },
}

impl fmt::Display for MeasureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use MeasureError::*;
        match self {
            ImageTooSmall { len } => write!(
                f,
                "image is {len} bytes; an SNP firmware image needs at least 65536 (64 KiB)"
            ),
            ImageSizeNotMultiple { len } => write!(
                f,
                "image size {len} is not a multiple of 64 KiB (QEMU rejects such a -bios file)"
            ),
            ImageTooLarge { len } => write!(f, "image is {len} bytes; it must fit below 4 GiB"),
            FooterGuidMissing => write!(
                f,
                "OVMF footer table GUID 96b582de-1fb2-45f7-baea-a366c55a082d not found 48 bytes before the image end"
            ),
            FooterLengthInvalid { len } => write!(
                f,
                "OVMF footer table length {len} is invalid (below 18 or larger than the image)"
            ),
            EntryLengthOutOfRange { offset, len } => write!(
                f,
                "OVMF footer table entry ending at offset {offset:#x} has length {len}, outside 18..=remaining table"
            ),
            FooterTableTrailingBytes { count } => write!(
                f,
                "OVMF footer table has {count} stray bytes before its first entry"
            ),
            DuplicateEntry { name } => write!(f, "OVMF footer table has more than one {name} entry"),
            EntryTooShort { name, data_len } => write!(
                f,
                "OVMF footer table {name} entry carries {data_len} data bytes, needs at least 4"
            ),
            ResetBlockMissing => write!(
                f,
                "SEV-ES reset block (GUID 00f771de-1a7e-4fcb-890e-68c77e2fb44e) missing from the OVMF footer table"
            ),
            ResetAddressZero => write!(f, "SEV-ES reset block address is zero"),
            MetadataEntryMissing => write!(
                f,
                "SEV metadata offset entry (GUID dc886566-984a-4798-a75e-5585a7bf67cc) missing from the OVMF footer table"
            ),
            MetadataOffsetOutOfRange { offset } => write!(
                f,
                "SEV metadata offset {offset:#x} (from the image end) does not leave room for the 16-byte ASEV header"
            ),
            MetadataSignatureBad { found } => write!(
                f,
                "SEV metadata signature is {found:02x?}, expected \"ASEV\""
            ),
            MetadataVersionBad { version } => {
                write!(f, "SEV metadata version is {version}, only version 1 is known")
            }
            MetadataLengthBad {
                length,
                num_items,
                available,
            } => write!(
                f,
                "SEV metadata length {length} is wrong for {num_items} descriptors \
                 (needs at least 16 + 12 * {num_items}, at most the {available} bytes up to the image end)"
            ),
            SectionCountTooLarge { num_items } => write!(
                f,
                "SEV metadata declares {num_items} sections, more than the {} allowed",
                crate::metadata::MAX_SECTIONS
            ),
            SectionsOverlap { earlier, index } => write!(
                f,
                "SEV metadata sections {earlier} and {index} overlap"
            ),
            SectionUnaligned { index, gpa, size } => write!(
                f,
                "SEV metadata section {index} (gpa {gpa:#x}, size {size:#x}) is not 4 KiB-aligned"
            ),
            SectionEmpty { index } => write!(f, "SEV metadata section {index} has size zero"),
            SectionTypeUnknown {
                index,
                section_type,
            } => write!(
                f,
                "SEV metadata section {index} has unknown type {section_type:#x} (known: 1, 2, 3, 4, 0x10)"
            ),
            SectionSizeInvalid { index, size } => write!(
                f,
                "SEV metadata section {index} is a SECRETS or CPUID page but has size {size:#x}, must be 0x1000"
            ),
            SectionOverlapsImage { index, gpa, size } => write!(
                f,
                "SEV metadata section {index} (gpa {gpa:#x}, size {size:#x}) overlaps the image or ends above 4 GiB"
            ),
            VcpuCountInvalid { vcpus } => write!(
                f,
                "vCPU count {vcpus} is invalid; it must be between 1 and {}",
                crate::MAX_VCPUS
            ),
        }
    }
}

impl core::error::Error for MeasureError {}
