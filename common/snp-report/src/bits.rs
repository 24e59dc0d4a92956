//! Bit fields of POLICY, PLATFORM_INFO and KEY_INFO (ABI spec 56860; bit
//! names as in the `sev` crate). Serialised as plain integers, as `sev` does.
//! The accessors are the verifier's (feature `verify`); the guest only
//! carries the raw values.

#[cfg(feature = "verify")]
const fn bit(v: u64, n: u32) -> bool {
    (v >> n) & 1 == 1
}

/// Guest policy (report offset 0x008), fixed at launch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serialize", serde(transparent))]
pub struct GuestPolicy(pub u64);

#[cfg(feature = "verify")]
impl GuestPolicy {
    pub fn abi_minor(self) -> u8 {
        self.0 as u8
    }
    pub fn abi_major(self) -> u8 {
        (self.0 >> 8) as u8
    }
    /// Bit 16: host SMT allowed.
    pub fn smt_allowed(self) -> bool {
        bit(self.0, 16)
    }
    /// Bit 17: reserved, must be one.
    pub fn reserved_must_be_one(self) -> bool {
        bit(self.0, 17)
    }
    /// Bit 18: association with a migration agent allowed.
    pub fn migrate_ma_allowed(self) -> bool {
        bit(self.0, 18)
    }
    /// Bit 19: debugging allowed (the hypervisor can read guest memory).
    pub fn debug_allowed(self) -> bool {
        bit(self.0, 19)
    }
    /// Bit 20: guest may only run on one socket.
    pub fn single_socket_required(self) -> bool {
        bit(self.0, 20)
    }
    /// Bit 21: CXL may be populated.
    pub fn cxl_allowed(self) -> bool {
        bit(self.0, 21)
    }
    /// Bit 22: AES-256-XTS memory encryption required.
    pub fn mem_aes_256_xts(self) -> bool {
        bit(self.0, 22)
    }
    /// Bit 23: RAPL must be disabled.
    pub fn rapl_dis(self) -> bool {
        bit(self.0, 23)
    }
    /// Bit 24: ciphertext hiding must be enabled.
    pub fn ciphertext_hiding(self) -> bool {
        bit(self.0, 24)
    }
    /// Bit 25: page move/swap commands disabled.
    pub fn page_swap_disabled(self) -> bool {
        bit(self.0, 25)
    }
}

/// Platform information (report offset 0x040).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serialize", serde(transparent))]
pub struct PlatformInfo(pub u64);

#[cfg(feature = "verify")]
impl PlatformInfo {
    pub fn smt_enabled(self) -> bool {
        bit(self.0, 0)
    }
    pub fn tsme_enabled(self) -> bool {
        bit(self.0, 1)
    }
    pub fn ecc_enabled(self) -> bool {
        bit(self.0, 2)
    }
    pub fn rapl_disabled(self) -> bool {
        bit(self.0, 3)
    }
    pub fn ciphertext_hiding_enabled(self) -> bool {
        bit(self.0, 4)
    }
    /// Version 3+.
    pub fn alias_check_complete(self) -> bool {
        bit(self.0, 5)
    }
    /// Version 5+.
    pub fn tio_enabled(self) -> bool {
        bit(self.0, 7)
    }
}

/// Which key signed the report (KEY_INFO bits 4:2).
#[cfg(feature = "verify")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKey {
    Vcek,
    Vlek,
    /// 7: the report is not signed.
    None,
    Reserved(u8),
}

/// Key information (report offset 0x048).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serialize", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", derive(serde::Deserialize))]
#[cfg_attr(feature = "serialize", serde(transparent))]
pub struct KeyInfo(pub u32);

#[cfg(feature = "verify")]
impl KeyInfo {
    /// Bit 0: AUTHOR_KEY_DIGEST is present.
    pub fn author_key_en(self) -> bool {
        self.0 & 1 == 1
    }
    /// Bit 1: MASK_CHIP_KEY (firmware writes a zero signature).
    pub fn mask_chip_key(self) -> bool {
        (self.0 >> 1) & 1 == 1
    }
    pub fn signing_key(self) -> SigningKey {
        match (self.0 >> 2) & 7 {
            0 => SigningKey::Vcek,
            1 => SigningKey::Vlek,
            7 => SigningKey::None,
            n => SigningKey::Reserved(n as u8),
        }
    }
}
