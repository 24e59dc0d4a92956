//! Bounds-checked little-endian reads: hostile images must never make us panic.

/// `N` bytes at `offset`, or `None` if they are not all inside `buf`.
pub(crate) fn array_at<const N: usize>(buf: &[u8], offset: usize) -> Option<[u8; N]> {
    let end = offset.checked_add(N)?;
    buf.get(offset..end)?.try_into().ok()
}

pub(crate) fn u16_at(buf: &[u8], offset: usize) -> Option<u16> {
    array_at(buf, offset).map(u16::from_le_bytes)
}

pub(crate) fn u32_at(buf: &[u8], offset: usize) -> Option<u32> {
    array_at(buf, offset).map(u32::from_le_bytes)
}
