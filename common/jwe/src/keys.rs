//! P-256 keys: the guest's TEE key pair and the broker's view of it as a JWK.

use alloc::string::String;
#[cfg(feature = "encrypt")]
use core::fmt;

use p256::elliptic_curve::sec1::{Coordinates, FromEncodedPoint, ToEncodedPoint};
use p256::{EncodedPoint, FieldBytes, PublicKey, SecretKey};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::{b64, JweError};

/// A P-256 private key. The scalar is zeroized on drop (`SecretKey` does it).
/// No `Debug`, so no `{:?}` can print it.
#[derive(Clone)]
pub struct EcPrivateKey(SecretKey);

impl EcPrivateKey {
    /// A fresh key from the caller's CSPRNG (RDRAND/RDSEED in the guest).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self(SecretKey::random(rng))
    }

    /// From the 32-byte big-endian scalar (JWK `d`); rejects 0 and >= n.
    /// Host tools and tests only (feature `encrypt`).
    #[cfg(feature = "encrypt")]
    pub fn from_bytes(d: &[u8]) -> Result<Self, JweError> {
        SecretKey::from_slice(d)
            .map(Self)
            .map_err(|_| JweError::InvalidKey)
    }

    /// The 32-byte big-endian scalar (feature `encrypt`).
    #[cfg(feature = "encrypt")]
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes().into())
    }

    /// The matching public key.
    pub fn public_key(&self) -> EcPublicKey {
        EcPublicKey(self.0.public_key())
    }

    /// ECDH: the x-coordinate of `d * peer` (the `Z` of RFC 7518 4.6).
    pub fn diffie_hellman(&self, peer: &EcPublicKey) -> Zeroizing<[u8; 32]> {
        let shared = p256::ecdh::diffie_hellman(self.0.to_nonzero_scalar(), peer.0.as_affine());
        Zeroizing::new((*shared.raw_secret_bytes()).into())
    }
}

/// A P-256 public key (always a valid point, never the identity).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EcPublicKey(PublicKey);

impl EcPublicKey {
    /// From 32-byte big-endian affine coordinates; checks the point is on
    /// the curve (an invalid-curve point would leak the private key).
    pub fn from_coordinates(x: &[u8], y: &[u8]) -> Result<Self, JweError> {
        let x: &[u8; 32] = x.try_into().map_err(|_| JweError::InvalidKey)?;
        let y: &[u8; 32] = y.try_into().map_err(|_| JweError::InvalidKey)?;
        let point = EncodedPoint::from_affine_coordinates(
            FieldBytes::from_slice(x),
            FieldBytes::from_slice(y),
            false,
        );
        Option::from(PublicKey::from_encoded_point(&point))
            .map(Self)
            .ok_or(JweError::InvalidKey)
    }

    /// From the JWK members `x` and `y` (base64url of 32 bytes each).
    pub fn from_jwk_coordinates(x: &str, y: &str) -> Result<Self, JweError> {
        let x = b64::decode(x, "x").map_err(|_| JweError::InvalidKey)?;
        let y = b64::decode(y, "y").map_err(|_| JweError::InvalidKey)?;
        Self::from_coordinates(&x, &y)
    }

    /// The 32-byte big-endian affine coordinates (x, y).
    pub fn coordinates(&self) -> ([u8; 32], [u8; 32]) {
        let point = self.0.to_encoded_point(false);
        match point.coordinates() {
            Coordinates::Uncompressed { x, y } => ((*x).into(), (*y).into()),
            // A PublicKey encoded uncompressed always has both coordinates.
            _ => ([0; 32], [0; 32]),
        }
    }

    /// JWK `x`: base64url of the x-coordinate.
    pub fn jwk_x(&self) -> String {
        b64::encode(&self.coordinates().0)
    }

    /// JWK `y`: base64url of the y-coordinate.
    pub fn jwk_y(&self) -> String {
        b64::encode(&self.coordinates().1)
    }
}

/// For the broker's logs and tests (feature `encrypt`); the guest prints no keys.
#[cfg(feature = "encrypt")]
impl fmt::Debug for EcPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcPublicKey(x={}, y={})", self.jwk_x(), self.jwk_y())
    }
}
