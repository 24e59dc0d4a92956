//! String port I/O (`rep insb` / `rep outsb`) in one IOIO exit per shared
//! buffer's worth of bytes, instead of one exit per byte.
//!
//! GHCB spec 56421 §4 (IOIO, 0x7B) with the string bit set in
//! SW_EXITINFO1: SW_EXITINFO2 holds the repeat count and SW_SCRATCH the GPA
//! of the data, which must lie inside the GHCB's shared buffer. KVM's
//! `sev_es_string_io` checks count x size against the scratch area
//! (`setup_vmgexit_scratch`), reads OUT data from it, and writes IN data back
//! into it. Each exit here moves at most [`STRING_IO_MAX_BYTES`] bytes, as
//! Linux's #VC handler does.

use super::{ioio, GhcbChannel, IoSize, EXIT_IOIO};
use crate::ghcb::{OFF_SHARED_BUFFER, SHARED_BUFFER_LEN};
use crate::{SnpError, SnpHardware};

/// Bytes one string exit moves at most: the GHCB shared buffer.
pub const STRING_IO_MAX_BYTES: usize = SHARED_BUFFER_LEN;

/// Exits [`GhcbChannel::outs_bytes`] / [`GhcbChannel::ins_bytes`] make for
/// `bytes` bytes.
pub fn string_io_exits(bytes: usize) -> usize {
    bytes.div_ceil(STRING_IO_MAX_BYTES)
}

/// SW_EXITINFO1 of a byte-sized `rep outsb`/`rep insb` in 64-bit code.
pub fn string_exit_info1(port: u16, is_in: bool) -> u64 {
    (port as u64) << ioio::PORT_SHIFT
        | ioio::A64
        | IoSize::Byte.info_bit()
        | ioio::REP
        | ioio::STR
        | if is_in { ioio::TYPE_IN } else { 0 }
}

impl<H: SnpHardware> GhcbChannel<H> {
    /// Writes `data` to `port` byte by byte (as `rep outsb`), a shared
    /// buffer's worth per exit.
    pub fn outs_bytes(&mut self, port: u16, data: &[u8]) -> Result<(), SnpError> {
        for piece in data.chunks(STRING_IO_MAX_BYTES) {
            self.ghcb.reset();
            if let Some(dst) = self.ghcb.shared_buffer_mut().get_mut(..piece.len()) {
                dst.copy_from_slice(piece);
            }
            self.ghcb.set_sw_scratch(self.scratch_gpa());
            let sent = OFF_SHARED_BUFFER..OFF_SHARED_BUFFER + piece.len();
            self.exit_scratch(
                EXIT_IOIO,
                string_exit_info1(port, false),
                piece.len() as u64,
                Some(sent),
                None,
            )?;
        }
        Ok(())
    }

    /// Fills `buf` from `port` byte by byte (as `rep insb`), a shared
    /// buffer's worth per exit.
    pub fn ins_bytes(&mut self, port: u16, buf: &mut [u8]) -> Result<(), SnpError> {
        for piece in buf.chunks_mut(STRING_IO_MAX_BYTES) {
            self.ghcb.reset();
            self.ghcb.set_sw_scratch(self.scratch_gpa());
            let back = OFF_SHARED_BUFFER..OFF_SHARED_BUFFER + piece.len();
            self.exit_scratch(
                EXIT_IOIO,
                string_exit_info1(port, true),
                piece.len() as u64,
                None,
                Some(back),
            )?;
            let src =
                self.ghcb
                    .shared_buffer()
                    .get(..piece.len())
                    .ok_or(SnpError::InvalidArgument {
                        what: "string I/O length",
                        value: piece.len() as u64,
                    })?;
            piece.copy_from_slice(src);
        }
        Ok(())
    }
}
