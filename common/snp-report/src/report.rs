use crate::bits::{GuestPolicy, KeyInfo, PlatformInfo};
use crate::error::ParseError;
#[cfg(feature = "verify")]
use crate::generation::Generation;
use crate::generation::TcbLayout;
#[cfg(feature = "verify")]
use crate::layout::SIGNED_LEN;
use crate::layout::{self as off, REPORT_LEN, SIG_COMPONENT_LEN};
use crate::tcb::TcbVersion;

/// Report versions this crate can lay out. 4 has the version-3 layout.
pub const SUPPORTED_VERSIONS: core::ops::RangeInclusive<u32> = 2..=5;

/// A firmware version (build, minor, major in the report bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
pub struct FirmwareVersion {
    pub major: u8,
    pub minor: u8,
    pub build: u8,
}

/// ECDSA P-384 signature: r and s as 72-byte little-endian fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
pub struct Signature {
    #[cfg_attr(feature = "serialize", serde(with = "crate::serde_array"))]
    pub r: [u8; SIG_COMPONENT_LEN],
    #[cfg_attr(feature = "serialize", serde(with = "crate::serde_array"))]
    pub s: [u8; SIG_COMPONENT_LEN],
}

/// Every field of the attestation report. Names, order and `Option`s follow
/// `sev::firmware::guest::AttestationReport` so that the serde form is the
/// JSON Trustee reads. `cpuid_*` are `Some` from version 3, the mitigation
/// vectors from version 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
pub struct AttestationReport {
    pub version: u32,
    pub guest_svn: u32,
    pub policy: GuestPolicy,
    pub family_id: [u8; 16],
    pub image_id: [u8; 16],
    pub vmpl: u32,
    pub sig_algo: u32,
    pub current_tcb: TcbVersion,
    pub plat_info: PlatformInfo,
    pub key_info: KeyInfo,
    #[cfg_attr(feature = "serialize", serde(with = "crate::serde_array"))]
    pub report_data: [u8; 64],
    #[cfg_attr(feature = "serialize", serde(with = "crate::serde_array"))]
    pub measurement: [u8; 48],
    pub host_data: [u8; 32],
    #[cfg_attr(feature = "serialize", serde(with = "crate::serde_array"))]
    pub id_key_digest: [u8; 48],
    #[cfg_attr(feature = "serialize", serde(with = "crate::serde_array"))]
    pub author_key_digest: [u8; 48],
    pub report_id: [u8; 32],
    pub report_id_ma: [u8; 32],
    pub reported_tcb: TcbVersion,
    pub cpuid_fam_id: Option<u8>,
    pub cpuid_mod_id: Option<u8>,
    pub cpuid_step: Option<u8>,
    #[cfg_attr(feature = "serialize", serde(with = "crate::serde_array"))]
    pub chip_id: [u8; 64],
    pub committed_tcb: TcbVersion,
    pub current: FirmwareVersion,
    pub committed: FirmwareVersion,
    pub launch_tcb: TcbVersion,
    pub launch_mit_vector: Option<u64>,
    pub current_mit_vector: Option<u64>,
    pub signature: Signature,
}

fn arr<const N: usize>(b: &[u8; REPORT_LEN], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&b[at..at + N]);
    out
}

fn u32_at(b: &[u8; REPORT_LEN], at: usize) -> u32 {
    u32::from_le_bytes(arr(b, at))
}

fn u64_at(b: &[u8; REPORT_LEN], at: usize) -> u64 {
    u64::from_le_bytes(arr(b, at))
}

fn fw_version(b: &[u8; REPORT_LEN], at: usize) -> FirmwareVersion {
    FirmwareVersion {
        build: b[at],
        minor: b[at + 1],
        major: b[at + 2],
    }
}

impl AttestationReport {
    /// Parses exactly 1184 bytes. See the crate docs for the strictness rules.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        let b: &[u8; REPORT_LEN] = bytes
            .try_into()
            .map_err(|_| ParseError::Length(bytes.len()))?;
        let version = u32_at(b, off::VERSION);
        if !SUPPORTED_VERSIONS.contains(&version) {
            return Err(ParseError::UnsupportedVersion(version));
        }
        for (start, end) in off::reserved_ranges(version) {
            if let Some(i) = b[start..end].iter().position(|&x| x != 0) {
                return Err(ParseError::ReservedNonZero(start + i));
            }
        }
        let cpuid =
            (version >= 3).then(|| (b[off::CPUID_FAM], b[off::CPUID_MOD], b[off::CPUID_STEP]));
        let layout = match cpuid {
            // Version 2 predates Turin firmware: always the Milan/Genoa layout.
            None => TcbLayout::Legacy,
            Some((fam, _, _)) => {
                TcbLayout::for_family(fam).ok_or(ParseError::UnknownCpuFamily(fam))?
            }
        };
        let tcb = |at: usize| {
            TcbVersion::decode(arr(b, at), layout).map_err(|i| ParseError::ReservedNonZero(at + i))
        };
        let mit = |at: usize| (version >= 5).then(|| u64_at(b, at));
        Ok(Self {
            version,
            guest_svn: u32_at(b, off::GUEST_SVN),
            policy: GuestPolicy(u64_at(b, off::POLICY)),
            family_id: arr(b, off::FAMILY_ID),
            image_id: arr(b, off::IMAGE_ID),
            vmpl: u32_at(b, off::VMPL),
            sig_algo: u32_at(b, off::SIG_ALGO),
            current_tcb: tcb(off::CURRENT_TCB)?,
            plat_info: PlatformInfo(u64_at(b, off::PLATFORM_INFO)),
            key_info: KeyInfo(u32_at(b, off::KEY_INFO)),
            report_data: arr(b, off::REPORT_DATA),
            measurement: arr(b, off::MEASUREMENT),
            host_data: arr(b, off::HOST_DATA),
            id_key_digest: arr(b, off::ID_KEY_DIGEST),
            author_key_digest: arr(b, off::AUTHOR_KEY_DIGEST),
            report_id: arr(b, off::REPORT_ID),
            report_id_ma: arr(b, off::REPORT_ID_MA),
            reported_tcb: tcb(off::REPORTED_TCB)?,
            cpuid_fam_id: cpuid.map(|c| c.0),
            cpuid_mod_id: cpuid.map(|c| c.1),
            cpuid_step: cpuid.map(|c| c.2),
            chip_id: arr(b, off::CHIP_ID),
            committed_tcb: tcb(off::COMMITTED_TCB)?,
            current: fw_version(b, off::CURRENT_VERSION),
            committed: fw_version(b, off::COMMITTED_VERSION),
            launch_tcb: tcb(off::LAUNCH_TCB)?,
            launch_mit_vector: mit(off::LAUNCH_MIT_VECTOR),
            current_mit_vector: mit(off::CURRENT_MIT_VECTOR),
            signature: Signature {
                r: arr(b, off::SIGNATURE_R),
                s: arr(b, off::SIGNATURE_S),
            },
        })
    }

    /// TCB layout this report uses: by CPUID family from version 3, legacy
    /// for version 2; `None` for an unknown family.
    #[cfg(feature = "verify")]
    pub fn tcb_layout(&self) -> Option<TcbLayout> {
        if self.version < 3 {
            return Some(TcbLayout::Legacy);
        }
        TcbLayout::for_family(self.cpuid_fam_id?)
    }

    /// Processor generation named by the CPUID fields (version 3+ only).
    #[cfg(feature = "verify")]
    pub fn generation(&self) -> Option<Generation> {
        if self.version < 3 {
            return None;
        }
        Generation::from_cpuid(self.cpuid_fam_id?, self.cpuid_mod_id?)
    }

    /// The 1184 bytes. Byte-identical to the input for a parsed report.
    /// Fields the version has no room for are not written (cpuid before 3,
    /// mitigation vectors before 5, `fmc` in the legacy layout); `None`
    /// where the version has room writes 0 — the `sev` crate's rule. Use
    /// [`Self::is_canonical`] to check a report built another way (JSON).
    #[cfg(feature = "verify")]
    pub fn to_bytes(&self) -> [u8; REPORT_LEN] {
        let mut b = [0u8; REPORT_LEN];
        let layout = self.tcb_layout().unwrap_or(TcbLayout::Legacy);
        let mut put = |at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
        put(off::VERSION, &self.version.to_le_bytes());
        put(off::GUEST_SVN, &self.guest_svn.to_le_bytes());
        put(off::POLICY, &self.policy.0.to_le_bytes());
        put(off::FAMILY_ID, &self.family_id);
        put(off::IMAGE_ID, &self.image_id);
        put(off::VMPL, &self.vmpl.to_le_bytes());
        put(off::SIG_ALGO, &self.sig_algo.to_le_bytes());
        put(off::CURRENT_TCB, &self.current_tcb.encode(layout));
        put(off::PLATFORM_INFO, &self.plat_info.0.to_le_bytes());
        put(off::KEY_INFO, &self.key_info.0.to_le_bytes());
        put(off::REPORT_DATA, &self.report_data);
        put(off::MEASUREMENT, &self.measurement);
        put(off::HOST_DATA, &self.host_data);
        put(off::ID_KEY_DIGEST, &self.id_key_digest);
        put(off::AUTHOR_KEY_DIGEST, &self.author_key_digest);
        put(off::REPORT_ID, &self.report_id);
        put(off::REPORT_ID_MA, &self.report_id_ma);
        put(off::REPORTED_TCB, &self.reported_tcb.encode(layout));
        if self.version >= 3 {
            put(
                off::CPUID_FAM,
                &[
                    self.cpuid_fam_id.unwrap_or(0),
                    self.cpuid_mod_id.unwrap_or(0),
                    self.cpuid_step.unwrap_or(0),
                ],
            );
        }
        put(off::CHIP_ID, &self.chip_id);
        put(off::COMMITTED_TCB, &self.committed_tcb.encode(layout));
        let v = |v: &FirmwareVersion| [v.build, v.minor, v.major];
        put(off::CURRENT_VERSION, &v(&self.current));
        put(off::COMMITTED_VERSION, &v(&self.committed));
        put(off::LAUNCH_TCB, &self.launch_tcb.encode(layout));
        if self.version >= 5 {
            put(
                off::LAUNCH_MIT_VECTOR,
                &self.launch_mit_vector.unwrap_or(0).to_le_bytes(),
            );
            put(
                off::CURRENT_MIT_VECTOR,
                &self.current_mit_vector.unwrap_or(0).to_le_bytes(),
            );
        }
        put(off::SIGNATURE_R, &self.signature.r);
        put(off::SIGNATURE_S, &self.signature.s);
        b
    }

    /// The bytes the signature covers (0x000..=0x29F).
    #[cfg(feature = "verify")]
    pub fn signed_bytes(&self) -> [u8; SIGNED_LEN] {
        let mut out = [0u8; SIGNED_LEN];
        out.copy_from_slice(&self.to_bytes()[..SIGNED_LEN]);
        out
    }

    /// True if [`Self::to_bytes`] parses back to exactly `self`: the version
    /// is supported and no field holds a value its bytes cannot carry.
    #[cfg(feature = "verify")]
    pub fn is_canonical(&self) -> bool {
        Self::from_bytes(&self.to_bytes()).as_ref() == Ok(self)
    }
}
