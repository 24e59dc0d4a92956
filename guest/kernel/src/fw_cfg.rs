//! QEMU fw_cfg. The directory and small files (the memory map, the
//! configuration, the VCEK) are read through the I/O ports (selector 0x510,
//! data 0x511), one string read per directory entry or file: under SNP a
//! GHCB exit per shared buffer's worth. Large files (the sealed model) are
//! streamed through the DMA interface (address register 0x514), control
//! block and data in shared pages, 64 KiB per transfer at two host exits
//! each, or through the ports when the device has no DMA.
//!
//! Every port access goes through a `PlatformIo` (`HwIo` in the guest, a
//! mock host in the unit tests, `fw_cfg/tests.rs`).

use crate::platform::{HwIo, PlatformIo};
use crate::shared::SharedBuffer;
use alloc::vec::Vec;
use spin::Mutex;

const SELECTOR: u16 = 0x510;
const DATA: u16 = 0x511;
const KEY_SIGNATURE: u16 = 0x0000;
const KEY_FILE_DIR: u16 = 0x0019;
const KEY_ID: u16 = 0x0001;
/// FW_CFG_NB_CPUS: vCPUs present at boot (le16).
const KEY_NB_CPUS: u16 = 0x0005;
const DMA_ADDRESS_HIGH: u16 = 0x514;
const DMA_ADDRESS_LOW: u16 = 0x518;
/// Feature bit in the ID item: the DMA interface exists.
const ID_DMA: u32 = 1 << 1;
const DMA_CTL_ERROR: u32 = 0x01;
const DMA_CTL_READ: u32 = 0x02;
const DMA_CTL_SELECT: u32 = 0x08;
/// Bytes moved per DMA request: 16 shared pages.
const DMA_CHUNK_PAGES: usize = 16;
/// Entry in the file directory: u32 size, u16 select, u16 reserved, name[56].
const DIR_ENTRY_LEN: usize = 64;
const NAME_LEN: usize = 56;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FwCfgError {
    /// No "QEMU" signature: not running under QEMU, or fw_cfg disabled.
    #[error("QEMU fw_cfg device not found")]
    NotPresent,
    /// No file of that name in the directory.
    #[error("fw_cfg file not found")]
    NotFound,
    /// The file is larger than the buffer offered for it.
    #[error("fw_cfg file too large ({size} bytes)")]
    TooLarge { size: u32 },
    /// The device reported a DMA error, or never completed.
    #[error("fw_cfg DMA transfer failed")]
    Dma,
    /// The directory claims more entries than any QEMU builds.
    #[error("fw_cfg directory claims {count} entries")]
    DirectoryTooLarge { count: u32 },
    /// Two directory entries carry the name asked for (QEMU refuses to
    /// build such a directory, so the host is lying).
    #[error("fw_cfg directory names a file twice")]
    DuplicateName,
}

#[derive(Clone, Copy, Debug)]
pub struct FileRef {
    pub select: u16,
    pub size: u32,
}

/// The device as the rest of the guest sees it: the driver on `HwIo`.
pub struct FwCfg(Driver<HwIo>);

/// The driver on any platform (host tests run it on a mock).
pub(crate) struct Driver<I: PlatformIo> {
    io: I,
    dma_supported: bool,
    /// Makes the DMA pages; only the guest's constructor names the real
    /// allocator, so host tests never link the shared-page code.
    dma_pages: fn() -> Option<Dma>,
    /// Control block page and data pages, allocated on first DMA use (the
    /// device is detected before any frame allocator exists).
    dma: Mutex<Option<Dma>>,
}

pub(crate) struct Dma {
    control: SharedBuffer,
    data: SharedBuffer,
}

impl FwCfg {
    pub fn detect() -> Result<Self, FwCfgError> {
        Driver::detect_on(HwIo, Dma::new).map(FwCfg)
    }

    /// Stream a file through bounded pieces to `sink`.
    pub fn stream_file(&self, file: FileRef, sink: impl FnMut(&[u8])) -> Result<(), FwCfgError> {
        self.0.stream_file(file, sink)
    }

    pub fn find(&self, name: &str) -> Result<FileRef, FwCfgError> {
        self.0.find(name)
    }

    /// Read a whole file into a new buffer, refusing files over `max` bytes.
    pub fn read_file_vec(&self, file: FileRef, max: usize) -> Result<Vec<u8>, FwCfgError> {
        self.0.read_file_vec(file, max)
    }

    pub(crate) fn driver(&self) -> &Driver<HwIo> {
        &self.0
    }

    /// vCPUs the host says the VM has (the host's word: under SNP the
    /// launch digest, which counts one VMSA per vCPU, binds it).
    pub(crate) fn boot_cpus(&self) -> u16 {
        let mut n = [0u8; 2];
        read_item(&self.0.io, KEY_NB_CPUS, &mut n);
        u16::from_le_bytes(n)
    }
}

impl<I: PlatformIo> Driver<I> {
    /// `dma_pages` makes the DMA pages when the device offers DMA.
    pub(crate) fn detect_on(io: I, dma_pages: fn() -> Option<Dma>) -> Result<Self, FwCfgError> {
        let mut sig = [0u8; 4];
        read_item(&io, KEY_SIGNATURE, &mut sig);
        if &sig != b"QEMU" {
            return Err(FwCfgError::NotPresent);
        }
        let mut id = [0u8; 4];
        read_item(&io, KEY_ID, &mut id);
        Ok(Driver {
            io,
            dma_supported: u32::from_le_bytes(id) & ID_DMA != 0,
            dma_pages,
            dma: Mutex::new(None),
        })
    }

    /// Stream a file through `chunk`-sized pieces to `sink`, with bounded
    /// memory whatever the file size. DMA when available, ports otherwise.
    pub(crate) fn stream_file(
        &self,
        file: FileRef,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<(), FwCfgError> {
        let mut remaining = file.size as usize;
        let mut chunk = alloc::vec![0u8; DMA_CHUNK_PAGES * crate::memory::PAGE_SIZE as usize];
        let mut guard = self.dma.lock();
        if self.dma_supported && guard.is_none() {
            *guard = (self.dma_pages)();
        }
        let mut first = true;
        while remaining > 0 {
            let n = remaining.min(chunk.len());
            let piece = &mut chunk[..n];
            match guard.as_ref() {
                Some(dma) => dma.read(&self.io, first.then_some(file.select), piece)?,
                None => {
                    if first {
                        self.io.outw(SELECTOR, file.select);
                    }
                    self.io.port_read_bytes(DATA, piece);
                }
            }
            first = false;
            sink(piece);
            remaining -= n;
        }
        Ok(())
    }

    /// The directory entry named `name`, through the ports: one string
    /// read per 64-byte entry (under SNP one GHCB exit each; QEMU's
    /// directory has a few dozen). DMA pays only for the model's stream.
    pub(crate) fn find(&self, name: &str) -> Result<FileRef, FwCfgError> {
        let mut count = [0u8; 4];
        read_item(&self.io, KEY_FILE_DIR, &mut count);
        let count = u32::from_be_bytes(count);
        if count > MAX_DIR_ENTRIES {
            return Err(FwCfgError::DirectoryTooLarge { count });
        }
        // Every entry is looked at, so a second entry of the same name is seen.
        let mut found = None;
        for _ in 0..count {
            let mut entry = [0u8; DIR_ENTRY_LEN];
            self.io.port_read_bytes(DATA, &mut entry);
            if let Some(file) = match_entry(&entry, name) {
                if found.replace(file).is_some() {
                    return Err(FwCfgError::DuplicateName);
                }
            }
        }
        found.ok_or(FwCfgError::NotFound)
    }

    /// Read a whole file into `buf`; returns its length.
    pub(crate) fn read_file(&self, file: FileRef, buf: &mut [u8]) -> Result<usize, FwCfgError> {
        let size = file.size as usize;
        let dst = buf
            .get_mut(..size)
            .ok_or(FwCfgError::TooLarge { size: file.size })?;
        read_item(&self.io, file.select, dst);
        Ok(size)
    }

    /// Read a whole file into a new buffer, refusing files over `max` bytes
    /// (the host chooses the size).
    pub(crate) fn read_file_vec(&self, file: FileRef, max: usize) -> Result<Vec<u8>, FwCfgError> {
        let size = file.size as usize;
        if size > max {
            return Err(FwCfgError::TooLarge { size: file.size });
        }
        let mut buf = Vec::new();
        buf.try_reserve_exact(size)
            .map_err(|_| FwCfgError::TooLarge { size: file.size })?;
        buf.resize(size, 0);
        read_item(&self.io, file.select, &mut buf);
        Ok(buf)
    }
}

/// Directory entries examined at most (the host chooses the count).
const MAX_DIR_ENTRIES: u32 = 4096;

/// The entry named `name`, if `entry` (one raw directory entry) is it. The
/// name must end in a NUL inside its 56 bytes (QEMU always writes one): an
/// unterminated name matches nothing. Names are compared as bytes, so one
/// that is not UTF-8 matches nothing either.
fn match_entry(entry: &[u8; DIR_ENTRY_LEN], name: &str) -> Option<FileRef> {
    let entry_name = &entry[8..8 + NAME_LEN];
    let len = entry_name.iter().position(|&b| b == 0)?;
    (&entry_name[..len] == name.as_bytes()).then(|| FileRef {
        size: u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]),
        select: u16::from_be_bytes([entry[4], entry[5]]),
    })
}

impl Dma {
    fn new() -> Option<Self> {
        Some(Dma {
            control: SharedBuffer::allocate(1).ok()?,
            data: SharedBuffer::allocate(DMA_CHUNK_PAGES).ok()?,
        })
    }

    /// One DMA read of `out.len()` bytes (at most the data area) into the
    /// shared data pages, then a copy into private memory. `select` starts
    /// a new item at offset 0.
    fn read(
        &self,
        io: &impl PlatformIo,
        select: Option<u16>,
        out: &mut [u8],
    ) -> Result<(), FwCfgError> {
        let len = out.len();
        if len > self.data.size() {
            return Err(FwCfgError::Dma);
        }
        let mut control = DMA_CTL_READ;
        if let Some(key) = select {
            control |= DMA_CTL_SELECT | (u32::from(key) << 16);
        }
        // FWCfgDmaAccess: be32 control, be32 length, be64 address.
        let mut block = [0u8; 16];
        block[0..4].copy_from_slice(&control.to_be_bytes());
        block[4..8].copy_from_slice(&(len as u32).to_be_bytes());
        block[8..16].copy_from_slice(&self.data.gpa().to_be_bytes());
        self.control.write(0, &block).map_err(|_| FwCfgError::Dma)?;
        let gpa = self.control.gpa();
        // The address register is big-endian; writing its low half starts the transfer.
        io.outl(DMA_ADDRESS_HIGH, ((gpa >> 32) as u32).swap_bytes());
        io.outl(DMA_ADDRESS_LOW, (gpa as u32).swap_bytes());
        // QEMU completes port-triggered DMA before the OUT returns; poll a
        // bounded number of times anyway.
        for _ in 0..1_000_000 {
            let mut ctl = [0u8; 4];
            self.control
                .read(0, &mut ctl)
                .map_err(|_| FwCfgError::Dma)?;
            let ctl = u32::from_be_bytes(ctl);
            if ctl & DMA_CTL_ERROR != 0 {
                return Err(FwCfgError::Dma);
            }
            if ctl == 0 {
                return self.data.read(0, out).map_err(|_| FwCfgError::Dma);
            }
        }
        Err(FwCfgError::Dma)
    }
}

/// Item `key` from offset 0 through the ports.
fn read_item(io: &impl PlatformIo, key: u16, buf: &mut [u8]) {
    io.outw(SELECTOR, key);
    io.port_read_bytes(DATA, buf);
}

#[cfg(test)]
mod tests;
