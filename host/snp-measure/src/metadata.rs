//! The SEV metadata ("ASEV") table: pages QEMU pre-validates and measures
//! after the image, in table order.

use crate::bytes::{array_at, u32_at};
use crate::page_info::{PageType, PAGE_SIZE};
use crate::MeasureError;

const HEADER_LEN: usize = 16;
const DESCRIPTOR_LEN: usize = 12;
const SIGNATURE: [u8; 4] = *b"ASEV";
const VERSION: u32 = 1;
/// edk2 declares about ten sections; the cap keeps the pairwise overlap
/// check cheap and the measurement bounded on hostile input.
pub const MAX_SECTIONS: u32 = 256;

/// Section types of edk2's OvmfSevMetadata.asm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectionKind {
    /// Type 1: memory the guest uses before it can validate (stack etc.).
    SnpSecMem,
    /// Type 2: the secrets page (VMPCKs) the PSP fills in.
    Secrets,
    /// Type 3: the CPUID page QEMU fills in and the PSP checks.
    Cpuid,
    /// Type 4: the SVSM calling area.
    SvsmCaa,
    /// Type 0x10: kernel hashes page (measured as zero without `-kernel`).
    KernelHashes,
}

impl SectionKind {
    /// The kind for a descriptor's type field, if known.
    pub fn from_u32(value: u32) -> Option<Self> {
        match value {
            1 => Some(Self::SnpSecMem),
            2 => Some(Self::Secrets),
            3 => Some(Self::Cpuid),
            4 => Some(Self::SvsmCaa),
            0x10 => Some(Self::KernelHashes),
            _ => None,
        }
    }

    /// The descriptor's type field.
    pub fn as_u32(self) -> u32 {
        match self {
            Self::SnpSecMem => 1,
            Self::Secrets => 2,
            Self::Cpuid => 3,
            Self::SvsmCaa => 4,
            Self::KernelHashes => 0x10,
        }
    }

    /// How QEMU launches it (no kernel hashes: type 0x10 is a ZERO range).
    pub fn page_type(self) -> PageType {
        match self {
            Self::Secrets => PageType::Secrets,
            Self::Cpuid => PageType::Cpuid,
            Self::SnpSecMem | Self::SvsmCaa | Self::KernelHashes => PageType::Zero,
        }
    }
}

/// One validated ASEV descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub gpa: u32,
    pub size: u32,
    pub kind: SectionKind,
}

impl Section {
    /// First GPA after the section.
    pub fn end(&self) -> u64 {
        u64::from(self.gpa) + u64::from(self.size)
    }
}

/// Iterator over the validated sections in table order.
#[derive(Debug, Clone)]
pub struct Sections<'a> {
    descriptors: core::slice::ChunksExact<'a, u8>,
    image_gpa: u64,
}

impl Iterator for Sections<'_> {
    type Item = Section;

    fn next(&mut self) -> Option<Section> {
        // Every descriptor was checked by `parse`, so `decode` cannot fail here.
        let chunk = self.descriptors.next()?;
        decode(0, chunk, self.image_gpa).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.descriptors.size_hint()
    }
}

impl ExactSizeIterator for Sections<'_> {}

/// Parses and checks the table at `offset_from_end` bytes before the image end.
/// `image_gpa` is where the image is mapped; no section may reach into it.
pub(crate) fn parse(
    image: &[u8],
    offset_from_end: u32,
    image_gpa: u64,
) -> Result<Sections<'_>, MeasureError> {
    let out_of_range = MeasureError::MetadataOffsetOutOfRange {
        offset: offset_from_end,
    };
    let available = usize::try_from(offset_from_end).map_err(|_| out_of_range.clone())?;
    let start = image
        .len()
        .checked_sub(available)
        .filter(|_| available >= HEADER_LEN)
        .ok_or(out_of_range.clone())?;
    let header: [u8; HEADER_LEN] = array_at(image, start).ok_or(out_of_range)?;
    let word = |i: usize| u32_at(&header, i).unwrap_or_default();

    let signature: [u8; 4] = array_at(&header, 0).unwrap_or_default();
    if signature != SIGNATURE {
        return Err(MeasureError::MetadataSignatureBad { found: signature });
    }
    let (length, version, num_items) = (word(4), word(8), word(12));
    if version != VERSION {
        return Err(MeasureError::MetadataVersionBad { version });
    }
    let needed = (num_items as u64) * DESCRIPTOR_LEN as u64 + HEADER_LEN as u64;
    if u64::from(length) < needed || u64::from(length) > u64::from(offset_from_end) {
        return Err(MeasureError::MetadataLengthBad {
            length,
            num_items,
            available: offset_from_end,
        });
    }
    if num_items > MAX_SECTIONS {
        return Err(MeasureError::SectionCountTooLarge { num_items });
    }
    // `needed <= length <= offset_from_end`, so these casts and the slice fit.
    let descriptors = image
        .get(start + HEADER_LEN..start + needed as usize)
        .ok_or(MeasureError::MetadataLengthBad {
            length,
            num_items,
            available: offset_from_end,
        })?
        .chunks_exact(DESCRIPTOR_LEN);
    for (index, chunk) in (0u32..).zip(descriptors.clone()) {
        let section = decode(index, chunk, image_gpa)?;
        // Pre-validating a page twice makes the launch fail, and disjoint
        // sections bound the measured pages to less than 4 GiB.
        for (earlier, other) in (0u32..).zip(descriptors.clone()).take(index as usize) {
            let other = decode(earlier, other, image_gpa)?;
            if u64::from(section.gpa) < other.end() && u64::from(other.gpa) < section.end() {
                return Err(MeasureError::SectionsOverlap { earlier, index });
            }
        }
    }
    Ok(Sections {
        descriptors,
        image_gpa,
    })
}

/// Decodes and checks one 12-byte descriptor (`u32 gpa, u32 size, u32 type`).
fn decode(index: u32, chunk: &[u8], image_gpa: u64) -> Result<Section, MeasureError> {
    let word = |i: usize| u32_at(chunk, i).unwrap_or_default();
    let (gpa, size, section_type) = (word(0), word(4), word(8));
    let kind = SectionKind::from_u32(section_type).ok_or(MeasureError::SectionTypeUnknown {
        index,
        section_type,
    })?;
    let page = PAGE_SIZE as u32;
    if !gpa.is_multiple_of(page) || !size.is_multiple_of(page) {
        return Err(MeasureError::SectionUnaligned { index, gpa, size });
    }
    if size == 0 {
        return Err(MeasureError::SectionEmpty { index });
    }
    // sev-snp-measure counts one page for these whatever the size; QEMU counts size/4K.
    if matches!(kind, SectionKind::Secrets | SectionKind::Cpuid) && size != page {
        return Err(MeasureError::SectionSizeInvalid { index, size });
    }
    let section = Section { gpa, size, kind };
    if section.end() > image_gpa {
        return Err(MeasureError::SectionOverlapsImage { index, gpa, size });
    }
    Ok(section)
}
