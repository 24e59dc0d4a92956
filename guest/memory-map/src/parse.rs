//! The bytes of fw_cfg `etc/e820`: packed little-endian entries of
//! u64 address, u64 length, u32 type (QEMU `struct e820_entry`, 20 bytes).

use crate::error::MapError;
use crate::range::{Bounded, List};

pub const ENTRY_LEN: usize = 20;
/// More entries than QEMU ever publishes (it writes a handful) yet a bound
/// on everything sized from the map.
pub const MAX_ENTRIES: usize = 64;
pub const MAX_FILE_LEN: usize = ENTRY_LEN * MAX_ENTRIES;
/// E820 type 1, "usable RAM"; every other type is treated as reserved.
pub const TYPE_RAM: u32 = 1;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub addr: u64,
    pub len: u64,
    pub kind: u32,
}

impl Entry {
    pub const fn is_ram(&self) -> bool {
        self.kind == TYPE_RAM
    }
}

/// Up to [`MAX_ENTRIES`] entries in file order.
pub type Entries = List<Entry, MAX_ENTRIES>;

/// Checks the size fw_cfg reports before anything is read, so the caller can
/// read into a fixed buffer of [`MAX_FILE_LEN`] bytes.
pub fn check_file_len(len: usize) -> Result<(), MapError> {
    if !len.is_multiple_of(ENTRY_LEN) {
        return Err(MapError::Truncated { len });
    }
    if len / ENTRY_LEN > MAX_ENTRIES {
        return Err(MapError::TooManyEntries {
            count: len / ENTRY_LEN,
        });
    }
    Ok(())
}

/// Whole entries only: a trailing partial entry is refused, not dropped.
pub fn parse(bytes: &[u8]) -> Result<Entries, MapError> {
    check_file_len(bytes.len())?;
    let mut out = Entries::new();
    for raw in bytes.chunks_exact(ENTRY_LEN) {
        let (addr, rest) = raw.split_at(8);
        let (len, kind) = rest.split_at(8);
        // At most MAX_ENTRIES (checked above), so this never runs out of room.
        out.push_bounded(Entry {
            addr: u64::from_le_bytes(array(addr)),
            len: u64::from_le_bytes(array(len)),
            kind: u32::from_le_bytes(array(kind)),
        })?;
    }
    Ok(out)
}

/// The split points above give exactly `N` bytes.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(bytes);
    a
}
