//! The OVMF-compatible GUIDed table at the end of the image, walked
//! backwards from its footer the way QEMU's `pc_system_parse_ovmf_flash` does.

use crate::bytes::{array_at, u16_at, u32_at};
use crate::guid::{self, Guid};
use crate::MeasureError;

/// Every entry ends with `u16 len` + GUID; `len` counts them too.
const ENTRY_HEADER_LEN: usize = 18;
/// The footer GUID sits 48 bytes before the end (reset vector + 16 free bytes after it).
const FOOTER_GUID_FROM_END: usize = 48;
/// The footer's u16 length sits just below its GUID.
const FOOTER_LEN_FROM_END: usize = FOOTER_GUID_FROM_END + 2;

/// One table entry: its GUID and the data bytes before its length field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub guid: Guid,
    pub data: &'a [u8],
}

/// Iterator over the entries, from the footer towards the image start.
/// Yields one error and then stops on a malformed entry.
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    /// Not yet walked part of the table; entries are taken from its end.
    rest: &'a [u8],
    /// Image offset of `rest[0]`, for error messages.
    base: usize,
    failed: bool,
}

/// Locates the table via the footer and returns an iterator over its entries.
pub fn entries(image: &[u8]) -> Result<Entries<'_>, MeasureError> {
    let len_at = image
        .len()
        .checked_sub(FOOTER_LEN_FROM_END)
        .ok_or(MeasureError::FooterGuidMissing)?;
    let found: Option<Guid> = array_at(image, image.len() - FOOTER_GUID_FROM_END);
    if found != Some(guid::FOOTER_TABLE) {
        return Err(MeasureError::FooterGuidMissing);
    }
    let total = u16_at(image, len_at).ok_or(MeasureError::FooterGuidMissing)?;
    // `total` includes the footer's own length field and GUID.
    let table_len = usize::from(total)
        .checked_sub(ENTRY_HEADER_LEN)
        .filter(|&t| t <= len_at)
        .ok_or(MeasureError::FooterLengthInvalid { len: total })?;
    let base = len_at - table_len;
    let rest = image
        .get(base..len_at)
        .ok_or(MeasureError::FooterLengthInvalid { len: total })?;
    Ok(Entries {
        rest,
        base,
        failed: false,
    })
}

/// Data of the entry with `wanted` GUID, if present exactly once.
pub fn find<'a>(
    image: &'a [u8],
    wanted: &Guid,
    name: &'static str,
) -> Result<Option<&'a [u8]>, MeasureError> {
    let mut hit = None;
    for entry in entries(image)? {
        let entry = entry?;
        if entry.guid == *wanted {
            if hit.is_some() {
                return Err(MeasureError::DuplicateEntry { name });
            }
            hit = Some(entry.data);
        }
    }
    Ok(hit)
}

/// The leading u32 of a known entry (reset address, metadata offset).
pub(crate) fn find_u32(
    image: &[u8],
    wanted: &Guid,
    name: &'static str,
) -> Result<Option<u32>, MeasureError> {
    match find(image, wanted, name)? {
        None => Ok(None),
        Some(data) => u32_at(data, 0)
            .map(Some)
            .ok_or(MeasureError::EntryTooShort {
                name,
                data_len: data.len(),
            }),
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, MeasureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let result = self.take_last();
        self.failed = result.is_err();
        Some(result)
    }
}

impl<'a> Entries<'a> {
    fn take_last(&mut self) -> Result<Entry<'a>, MeasureError> {
        let end = self.rest.len();
        let header_at = end
            .checked_sub(ENTRY_HEADER_LEN)
            .ok_or(MeasureError::FooterTableTrailingBytes { count: end })?;
        let len = u16_at(self.rest, header_at)
            .ok_or(MeasureError::FooterTableTrailingBytes { count: end })?;
        let out_of_range = MeasureError::EntryLengthOutOfRange {
            offset: self.base + end,
            len,
        };
        let start = end
            .checked_sub(usize::from(len))
            .filter(|_| usize::from(len) >= ENTRY_HEADER_LEN)
            .ok_or(out_of_range.clone())?;
        let guid = array_at(self.rest, header_at + 2).ok_or(out_of_range.clone())?;
        let data = self
            .rest
            .get(start..header_at)
            .ok_or(out_of_range.clone())?;
        self.rest = self.rest.get(..start).ok_or(out_of_range)?;
        Ok(Entry { guid, data })
    }
}
