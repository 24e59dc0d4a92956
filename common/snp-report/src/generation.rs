#[cfg(feature = "verify")]
use core::fmt;

/// EPYC processor generations with SEV-SNP that AMD publishes a root key for
/// (the verifier's, feature `verify`).
#[cfg(feature = "verify")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Generation {
    Milan,
    Genoa,
    Turin,
}

#[cfg(feature = "verify")]
impl Generation {
    /// All generations, oldest first.
    pub const ALL: [Generation; 3] = [Self::Milan, Self::Genoa, Self::Turin];

    /// Generation from the report's CPUID family and model (version 3+).
    /// Model ranges as in Trustee `get_processor_generation` and the `sev`
    /// crate's `Generation::identify_cpu`; anything else is `None`.
    pub fn from_cpuid(family: u8, model: u8) -> Option<Self> {
        match (family, model) {
            (0x19, 0x00..=0x0F) => Some(Self::Milan),
            (0x19, 0x10..=0x1F | 0xA0..=0xAF) => Some(Self::Genoa),
            (0x1A, 0x00..=0x11) => Some(Self::Turin),
            _ => None,
        }
    }

    /// How this generation lays out a TCB_VERSION.
    pub fn tcb_layout(self) -> TcbLayout {
        match self {
            Self::Milan | Self::Genoa => TcbLayout::Legacy,
            Self::Turin => TcbLayout::Turin,
        }
    }

    /// Bytes of CHIP_ID that a VCEK's hwID extension carries (Turin: 8).
    pub fn hwid_len(self) -> usize {
        match self {
            Self::Milan | Self::Genoa => 64,
            Self::Turin => 8,
        }
    }

    /// The name AMD's KDS and certificates use ("Milan", ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Milan => "Milan",
            Self::Genoa => "Genoa",
            Self::Turin => "Turin",
        }
    }
}

#[cfg(feature = "verify")]
impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Byte layout of a 64-bit TCB_VERSION.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcbLayout {
    /// Milan and Genoa: [bootloader, tee, 0, 0, 0, 0, snp, microcode].
    Legacy,
    /// Turin (family 0x1A): [fmc, bootloader, tee, snp, 0, 0, 0, microcode].
    Turin,
}

impl TcbLayout {
    /// Layout for a CPUID family: 0x19 (Zen 3/4) legacy, 0x1A (Zen 5, also
    /// Venice in the `sev` crate) with FMC. Other families: unknown.
    pub fn for_family(family: u8) -> Option<Self> {
        match family {
            0x19 => Some(Self::Legacy),
            0x1A => Some(Self::Turin),
            _ => None,
        }
    }

    /// The bytes of a TCB_VERSION this layout reserves (must be zero).
    pub fn reserved(self) -> core::ops::Range<usize> {
        match self {
            Self::Legacy => 2..6,
            Self::Turin => 4..7,
        }
    }
}
