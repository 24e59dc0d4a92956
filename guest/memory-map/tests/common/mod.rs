//! Helpers shared by the integration tests. Constants are literals from
//! QEMU's `struct e820_entry` and `guest/kernel/layout.ld`, not the crate's own.
#![allow(dead_code)]

use memory_map::{MapError, MemoryMap, Plan};

pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;
pub const RAM: u32 = 1;
pub const RESERVED: u32 = 2;
/// End of the ASEV pre-validated region (layout.ld PREVALIDATED_END).
pub const PREVALIDATED_END: u64 = 0x50_0000;
/// Device space below 4 GiB: q35 ECAM at 0xB000_0000 up to 4 GiB.
pub const HOLE_START: u64 = 0xB000_0000;
pub const FIRMWARE_START: u64 = 0xFFE0_0000;
pub const FOUR_GIB: u64 = 0x1_0000_0000;
pub const MAPPABLE_END: u64 = 512 * GIB;

/// QEMU's etc/e820 encoding: u64 address, u64 length, u32 type, little-endian.
pub fn e820(entries: &[(u64, u64, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(addr, len, kind) in entries {
        out.extend_from_slice(&addr.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
    }
    out
}

pub fn map(entries: &[(u64, u64, u32)]) -> Result<MemoryMap, MapError> {
    MemoryMap::from_bytes(&e820(entries))
}

/// Usable ranges as (start, end) pairs.
pub fn usable(entries: &[(u64, u64, u32)]) -> Result<Vec<(u64, u64)>, MapError> {
    let m = map(entries)?;
    Ok(m.usable()?
        .as_slice()
        .iter()
        .map(|r| (r.start, r.end))
        .collect())
}

/// The whole path the kernel takes, plan checked.
pub fn plan(entries: &[(u64, u64, u32)]) -> Result<(MemoryMap, Plan), MapError> {
    let m = map(entries)?;
    let p = Plan::new(m.usable()?.as_slice())?;
    p.check(&m)?;
    Ok((m, p))
}
