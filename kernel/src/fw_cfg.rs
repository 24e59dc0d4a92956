//! QEMU fw_cfg through its I/O ports (selector 0x510, data 0x511).

use crate::io::{insb, outw};
use alloc::vec::Vec;

const SELECTOR: u16 = 0x510;
const DATA: u16 = 0x511;
const KEY_SIGNATURE: u16 = 0x0000;
const KEY_FILE_DIR: u16 = 0x0019;
/// Entry in the file directory: u32 size, u16 select, u16 reserved, name[56].
const DIR_ENTRY_LEN: usize = 64;
const NAME_LEN: usize = 56;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FwCfgError {
    /// No "QEMU" signature: not running under QEMU, or fw_cfg disabled.
    NotPresent,
    /// No file of that name in the directory.
    NotFound,
    /// The file is larger than the buffer offered for it.
    TooLarge { size: u32 },
}

impl core::fmt::Display for FwCfgError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FwCfgError::NotPresent => write!(f, "QEMU fw_cfg device not found"),
            FwCfgError::NotFound => write!(f, "fw_cfg file not found"),
            FwCfgError::TooLarge { size } => write!(f, "fw_cfg file too large ({size} bytes)"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct FileRef {
    pub select: u16,
    pub size: u32,
}

pub struct FwCfg(());

impl FwCfg {
    pub fn detect() -> Result<Self, FwCfgError> {
        let mut sig = [0u8; 4];
        select(KEY_SIGNATURE);
        read_bytes(&mut sig);
        if &sig == b"QEMU" {
            Ok(FwCfg(()))
        } else {
            Err(FwCfgError::NotPresent)
        }
    }

    pub fn find(&self, name: &str) -> Result<FileRef, FwCfgError> {
        select(KEY_FILE_DIR);
        let mut count = [0u8; 4];
        read_bytes(&mut count);
        let count = u32::from_be_bytes(count);
        for _ in 0..count.min(4096) {
            let mut entry = [0u8; DIR_ENTRY_LEN];
            read_bytes(&mut entry);
            let entry_name = &entry[8..8 + NAME_LEN];
            let len = entry_name.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
            if &entry_name[..len] == name.as_bytes() {
                return Ok(FileRef {
                    size: u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]),
                    select: u16::from_be_bytes([entry[4], entry[5]]),
                });
            }
        }
        Err(FwCfgError::NotFound)
    }

    /// Read a whole file into `buf`; returns its length.
    pub fn read_file(&self, file: FileRef, buf: &mut [u8]) -> Result<usize, FwCfgError> {
        let size = file.size as usize;
        let dst = buf
            .get_mut(..size)
            .ok_or(FwCfgError::TooLarge { size: file.size })?;
        select(file.select);
        read_bytes(dst);
        Ok(size)
    }
}

impl FwCfg {
    /// Read a whole file into a new buffer, refusing files over `max` bytes
    /// (the host chooses the size).
    pub fn read_file_vec(&self, file: FileRef, max: usize) -> Result<Vec<u8>, FwCfgError> {
        let size = file.size as usize;
        if size > max {
            return Err(FwCfgError::TooLarge { size: file.size });
        }
        let mut buf = Vec::new();
        buf.try_reserve_exact(size)
            .map_err(|_| FwCfgError::TooLarge { size: file.size })?;
        buf.resize(size, 0);
        select(file.select);
        read_bytes(&mut buf);
        Ok(buf)
    }
}

fn select(key: u16) {
    outw(SELECTOR, key);
}

fn read_bytes(buf: &mut [u8]) {
    insb(DATA, buf);
}
