//! The SNP secrets page (spec 56860 "Secrets Page Format"; docs/snp-boot.md §5.1).

use core::fmt;
use core::ops::Range;
use zeroize::{Zeroize, Zeroizing};

use crate::error::AttestError;
use crate::message::Page;

const VERSION_AT: usize = 0x00;
const VMPCK0_AT: usize = 0x20;
/// OS area: u32 msg_seqno_0, the last sequence number used with VMPCK0.
const MSG_SEQNO_0_AT: usize = 0xA0;

/// VMPCK0..VMPCK3, 32 bytes each at 0x20, 0x40, 0x60, 0x80: the bytes to
/// overwrite in the launch secrets page once VMPCK0 is copied out, so that
/// nothing loaded later can use any of the keys (Oak fills them with 0xFF).
pub const VMPCKS: Range<usize> = 0x20..0xA0;

/// Overwrites all four VMPCKs of `page` with 0xFF (the kernel does the same
/// with volatile writes on the real page).
pub fn wipe_vmpcks(page: &mut Page) {
    page[VMPCKS].fill(0xFF);
}

/// What the guest needs from the secrets page. The key is zeroized on drop.
pub struct SecretsPage {
    version: u32,
    vmpck0: Zeroizing<[u8; 32]>,
    msg_seqno_0: u32,
}

fn u32_at(page: &Page, at: usize) -> u32 {
    u32::from_le_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]])
}

impl SecretsPage {
    /// Parses a copy of the page. Refuses versions below 2 (older layouts
    /// differ) and an all-zero VMPCK0 (Linux does too: a zero key means it
    /// is not there, and would let anyone forge responses), and the all-0xFF
    /// pattern a previous take leaves.
    pub fn parse(page: &Page) -> Result<Self, AttestError> {
        let version = u32_at(page, VERSION_AT);
        if version < 2 {
            return Err(AttestError::SecretsVersion(version));
        }
        let mut vmpck0 = Zeroizing::new([0u8; 32]);
        vmpck0.copy_from_slice(&page[VMPCK0_AT..VMPCK0_AT + 32]);
        if vmpck0.iter().all(|&b| b == 0) {
            return Err(AttestError::ZeroVmpck);
        }
        // The pattern a take leaves behind (VMPCKs overwritten with 0xFF): a
        // second take would key the messenger with a value everyone knows.
        if vmpck0.iter().all(|&b| b == 0xFF) {
            return Err(AttestError::WipedVmpck);
        }
        Ok(Self {
            version,
            vmpck0,
            msg_seqno_0: u32_at(page, MSG_SEQNO_0_AT),
        })
    }

    /// [`Self::parse`] on a private copy of the page, which is zeroized
    /// afterwards whatever the result.
    pub fn take(copy: &mut Page) -> Result<Self, AttestError> {
        let parsed = Self::parse(copy);
        copy.zeroize();
        parsed
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn msg_seqno_0(&self) -> u32 {
        self.msg_seqno_0
    }

    pub(crate) fn vmpck0(&self) -> &[u8; 32] {
        &self.vmpck0
    }
}

impl fmt::Debug for SecretsPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsPage")
            .field("version", &self.version)
            .field("msg_seqno_0", &self.msg_seqno_0)
            .finish_non_exhaustive()
    }
}
