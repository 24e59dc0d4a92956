//! The E820 map QEMU publishes as fw_cfg file `etc/e820`
//! (entries of u64 address, u64 length, u32 type; little-endian).

use crate::fw_cfg::{FwCfg, FwCfgError};

pub const MAX_ENTRIES: usize = 64;
const ENTRY_LEN: usize = 20;
const TYPE_RAM: u32 = 1;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

#[derive(Clone, Copy, Debug)]
pub enum E820Error {
    FwCfg(FwCfgError),
    /// The file is not a whole number of entries, or has too many.
    Malformed {
        size: u32,
    },
    /// No RAM at all above the kernel region.
    NoRam,
}

impl core::fmt::Display for E820Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            E820Error::FwCfg(e) => write!(f, "etc/e820: {e}"),
            E820Error::Malformed { size } => {
                write!(f, "etc/e820 has a malformed size of {size} bytes")
            }
            E820Error::NoRam => write!(f, "etc/e820 lists no usable RAM"),
        }
    }
}

/// RAM ranges, sorted, page-aligned inwards.
pub struct MemoryMap {
    ram: [Range; MAX_ENTRIES],
    len: usize,
}

impl MemoryMap {
    pub fn from_fw_cfg(fw: &FwCfg) -> Result<Self, E820Error> {
        let file = fw.find("etc/e820").map_err(E820Error::FwCfg)?;
        let size = file.size as usize;
        if !size.is_multiple_of(ENTRY_LEN) || size / ENTRY_LEN > MAX_ENTRIES {
            return Err(E820Error::Malformed { size: file.size });
        }
        let mut buf = [0u8; MAX_ENTRIES * ENTRY_LEN];
        fw.read_file(file, &mut buf).map_err(E820Error::FwCfg)?;
        let mut map = MemoryMap {
            ram: [Range::default(); MAX_ENTRIES],
            len: 0,
        };
        for entry in buf[..size].chunks_exact(ENTRY_LEN) {
            let mut a = [0u8; 8];
            a.copy_from_slice(&entry[0..8]);
            let addr = u64::from_le_bytes(a);
            a.copy_from_slice(&entry[8..16]);
            let len = u64::from_le_bytes(a);
            let kind = u32::from_le_bytes([entry[16], entry[17], entry[18], entry[19]]);
            if kind != TYPE_RAM {
                continue;
            }
            let start = super::align_up(addr, super::PAGE_SIZE);
            let end = super::align_down(addr.saturating_add(len), super::PAGE_SIZE);
            if end > start {
                map.ram[map.len] = Range { start, end };
                map.len += 1;
            }
        }
        map.ram[..map.len].sort_unstable_by_key(|r| r.start);
        Ok(map)
    }

    pub fn ram(&self) -> &[Range] {
        &self.ram[..self.len]
    }

    pub fn total_ram(&self) -> u64 {
        self.ram().iter().map(Range::len).sum()
    }

    /// RAM the kernel may hand out: everything at or above `floor`.
    pub fn usable_above(&self, floor: u64) -> impl Iterator<Item = Range> + '_ {
        self.ram().iter().filter_map(move |r| {
            let start = r.start.max(floor);
            (r.end > start).then_some(Range { start, end: r.end })
        })
    }
}
