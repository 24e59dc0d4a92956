//! vCPU models whose CPUID(1).EAX signature QEMU puts in RDX at reset.

/// The QEMU `-cpu` models sev-snp-measure 0.0.13 knows (aliases included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VcpuType {
    /// EPYC, EPYC-v1..v4, EPYC-IBPB: family 23, model 1, stepping 2.
    Epyc,
    /// EPYC-Rome, -v1..v3: family 23, model 49, stepping 0.
    EpycRome,
    /// EPYC-Milan, -v1, -v2: family 25, model 1, stepping 1.
    EpycMilan,
    /// EPYC-Genoa, -v1: family 25, model 17, stepping 0.
    EpycGenoa,
    /// EPYC-Turin: family 26, model 0, stepping 0.
    EpycTurin,
}

/// Accepted names, exactly as sev-snp-measure's `--vcpu-type` accepts them.
const NAMES: [(&str, VcpuType); 16] = [
    ("EPYC", VcpuType::Epyc),
    ("EPYC-v1", VcpuType::Epyc),
    ("EPYC-v2", VcpuType::Epyc),
    ("EPYC-IBPB", VcpuType::Epyc),
    ("EPYC-v3", VcpuType::Epyc),
    ("EPYC-v4", VcpuType::Epyc),
    ("EPYC-Rome", VcpuType::EpycRome),
    ("EPYC-Rome-v1", VcpuType::EpycRome),
    ("EPYC-Rome-v2", VcpuType::EpycRome),
    ("EPYC-Rome-v3", VcpuType::EpycRome),
    ("EPYC-Milan", VcpuType::EpycMilan),
    ("EPYC-Milan-v1", VcpuType::EpycMilan),
    ("EPYC-Milan-v2", VcpuType::EpycMilan),
    ("EPYC-Genoa", VcpuType::EpycGenoa),
    ("EPYC-Genoa-v1", VcpuType::EpycGenoa),
    ("EPYC-Turin", VcpuType::EpycTurin),
];

impl VcpuType {
    /// Looks up a QEMU `-cpu` model name (case-sensitive, as QEMU).
    pub fn from_name(name: &str) -> Option<Self> {
        NAMES.iter().find(|(n, _)| *n == name).map(|&(_, t)| t)
    }

    /// Every accepted name, for help and error messages.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|&(n, _)| n)
    }

    /// The canonical QEMU model name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Epyc => "EPYC",
            Self::EpycRome => "EPYC-Rome",
            Self::EpycMilan => "EPYC-Milan",
            Self::EpycGenoa => "EPYC-Genoa",
            Self::EpycTurin => "EPYC-Turin",
        }
    }

    /// CPUID(1).EAX of the model.
    pub fn signature(self) -> u32 {
        match self {
            Self::Epyc => cpu_signature(23, 1, 2),
            Self::EpycRome => cpu_signature(23, 49, 0),
            Self::EpycMilan => cpu_signature(25, 1, 1),
            Self::EpycGenoa => cpu_signature(25, 17, 0),
            Self::EpycTurin => cpu_signature(26, 0, 0),
        }
    }
}

/// CPUID(1).EAX from family/model/stepping (AMD CPUID spec #25481): families
/// above 0xF are split into base 0xF plus an extended family.
pub const fn cpu_signature(family: u32, model: u32, stepping: u32) -> u32 {
    let (base_family, ext_family) = if family > 0xF {
        (0xF, (family - 0xF) & 0xFF)
    } else {
        (family, 0)
    };
    (ext_family << 20)
        | (((model >> 4) & 0xF) << 16)
        | (base_family << 8)
        | ((model & 0xF) << 4)
        | (stepping & 0xF)
}
