use crate::generation::TcbLayout;

/// A decoded TCB_VERSION: security version numbers of the firmware parts.
/// Field names and order are the `sev` crate's `TcbVersion` (JSON shape).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
pub struct TcbVersion {
    /// Turin and later only; `None` in the legacy layout.
    pub fmc: Option<u8>,
    pub bootloader: u8,
    pub tee: u8,
    pub snp: u8,
    pub microcode: u8,
}

impl TcbVersion {
    /// Decodes 8 raw bytes; `Err(i)` if reserved byte `i` is nonzero.
    pub fn decode(raw: [u8; 8], layout: TcbLayout) -> Result<Self, usize> {
        if let Some(i) = layout.reserved().find(|&i| raw[i] != 0) {
            return Err(i);
        }
        Ok(match layout {
            TcbLayout::Legacy => Self {
                fmc: None,
                bootloader: raw[0],
                tee: raw[1],
                snp: raw[6],
                microcode: raw[7],
            },
            TcbLayout::Turin => Self {
                fmc: Some(raw[0]),
                bootloader: raw[1],
                tee: raw[2],
                snp: raw[3],
                microcode: raw[7],
            },
        })
    }

    /// Encodes in `layout`; `fmc` is written only in the Turin layout (as 0
    /// when `None`), like the `sev` crate's encoder.
    #[cfg(feature = "verify")]
    pub fn encode(&self, layout: TcbLayout) -> [u8; 8] {
        match layout {
            TcbLayout::Legacy => [
                self.bootloader,
                self.tee,
                0,
                0,
                0,
                0,
                self.snp,
                self.microcode,
            ],
            TcbLayout::Turin => [
                self.fmc.unwrap_or(0),
                self.bootloader,
                self.tee,
                self.snp,
                0,
                0,
                0,
                self.microcode,
            ],
        }
    }

    /// True if every component is at least the one in `min` (`fmc` is
    /// compared only when both carry one).
    #[cfg(feature = "verify")]
    pub fn meets(&self, min: &TcbVersion) -> bool {
        let fmc_ok = match (self.fmc, min.fmc) {
            (Some(have), Some(need)) => have >= need,
            _ => true,
        };
        fmc_ok
            && self.bootloader >= min.bootloader
            && self.tee >= min.tee
            && self.snp >= min.snp
            && self.microcode >= min.microcode
    }
}
