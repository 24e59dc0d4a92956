//! Turns the linked guest ELF into the flat firmware file: every loadable
//! segment is placed at its load (physical) address inside the window
//! [4 GiB - IMAGE_SIZE, 4 GiB) that QEMU maps the file to. Only loaded bytes
//! enter the image, so symbols and debug sections cannot affect the digest.

use object::elf::{FileHeader64, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;

/// Must equal IMAGE_SIZE in guest/kernel/layout.ld.
pub const IMAGE_SIZE: u64 = 2 << 20;
const TOP: u64 = 1 << 32;

pub fn flatten(elf: &[u8]) -> Result<Vec<u8>, String> {
    let header = FileHeader64::<Endianness>::parse(elf).map_err(|e| format!("guest ELF: {e}"))?;
    let endian = header.endian().map_err(|e| format!("guest ELF: {e}"))?;
    let base = TOP - IMAGE_SIZE;
    let mut image = vec![0u8; IMAGE_SIZE as usize];
    let mut placed = 0usize;
    for ph in header
        .program_headers(endian, elf)
        .map_err(|e| format!("guest ELF: {e}"))?
    {
        if ph.p_type(endian) != PT_LOAD || ph.p_filesz(endian) == 0 {
            continue;
        }
        let paddr = ph.p_paddr(endian);
        let size = ph.p_filesz(endian);
        let end = paddr
            .checked_add(size)
            .ok_or("guest ELF: segment wraps around")?;
        if paddr < base || end > TOP {
            return Err(format!(
                "guest ELF: segment at {paddr:#x}..{end:#x} lies outside the {} KiB image window",
                IMAGE_SIZE >> 10
            ));
        }
        let data = ph
            .data(endian, elf)
            .map_err(|_| "guest ELF: segment data out of file".to_string())?;
        let off = (paddr - base) as usize;
        image[off..off + data.len()].copy_from_slice(data);
        placed += data.len();
    }
    if placed == 0 {
        return Err("guest ELF has no loadable bytes".into());
    }
    Ok(image)
}
