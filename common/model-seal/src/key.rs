//! The 256-bit model key: the secret the broker releases to the guest.

#[cfg(feature = "seal")]
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::SealError;

/// Length of a [`SealKey`] in bytes (also the key file size).
pub const KEY_LEN: usize = 32;

/// An AES-256 key, zeroized on drop. No `Debug`, so no `{:?}` can print it.
#[derive(Clone)]
pub struct SealKey(Zeroizing<[u8; KEY_LEN]>);

impl SealKey {
    /// A fresh random key (host side, feature `seal`).
    #[cfg(feature = "seal")]
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill_bytes(key.as_mut());
        Self(key)
    }

    /// From exactly 32 bytes (the key file / KBS resource).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|_| SealError::KeyLength)?;
        Ok(Self(Zeroizing::new(key)))
    }

    /// The raw key bytes, as written to the broker's key file.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}
