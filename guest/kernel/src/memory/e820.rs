//! The E820 map QEMU publishes as fw_cfg file `etc/e820`. This module only
//! reads the bytes; `memory_map` parses them and refuses hostile maps
//! (overlaps, wrap-around, absurd entries) before anything is accepted.

use crate::fw_cfg::{Driver, FwCfgError};
use crate::platform::PlatformIo;
use memory_map::{MapError, MemoryMap, MAX_FILE_LEN};

#[derive(Clone, Copy, Debug, thiserror::Error)]
pub enum E820Error {
    #[error("etc/e820: {0}")]
    FwCfg(FwCfgError),
    #[error("{0}")]
    Map(MapError),
}

/// The map in `etc/e820`, once it passed every check in
/// `memory_map::MemoryMap::from_entries`.
pub(crate) fn read<I: PlatformIo>(fw: &Driver<I>) -> Result<MemoryMap, E820Error> {
    let file = fw.find("etc/e820").map_err(E820Error::FwCfg)?;
    let size = file.size as usize;
    // The size comes from the host: check it before reading.
    memory_map::check_file_len(size).map_err(E820Error::Map)?;
    let mut buf = [0u8; MAX_FILE_LEN];
    let read = fw.read_file(file, &mut buf).map_err(E820Error::FwCfg)?;
    MemoryMap::from_bytes(&buf[..read]).map_err(E820Error::Map)
}

#[cfg(test)]
mod tests;
