//! The attestation token `/attest` returns: a JWT signed ES256 with a P-256
//! key the broker generates at start (like Trustee's default, whose EAR
//! token also carries the public key as `jwk` in its header).
//!
//! Header: `{"alg":"ES256","typ":"JWT","jwk":{"kty":"EC","crv":"P-256","x":..,"y":..}}`.
//! Claims: `{"iss":"keybroker","iat":N,"exp":N,"tee":"snp"|"sample",
//! "measurement":"<96 hex>","tee-pubkey":{<the guest's JWK>}}`; `exp` is the
//! end of the session. The token is informational: resources are released
//! on the session cookie, and a new broker process has a new key.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use rand_core::OsRng;
use serde_json::{json, Value};

use crate::verify::Verdict;

pub const ISSUER: &str = "keybroker";

pub struct TokenSigner {
    key: SigningKey,
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn jwk(key: &VerifyingKey) -> Value {
    let point = key.to_encoded_point(false);
    let coord =
        |c: Option<&p256::FieldBytes>| c.map(|b| URL_SAFE_NO_PAD.encode(b)).unwrap_or_default();
    json!({"kty": "EC", "crv": "P-256", "x": coord(point.x()), "y": coord(point.y())})
}

impl TokenSigner {
    /// A fresh signing key (never written anywhere).
    pub fn generate() -> Self {
        Self {
            key: SigningKey::random(&mut OsRng),
        }
    }

    /// The public key as a JWK (logged at start so tokens can be checked).
    pub fn public_jwk(&self) -> Value {
        jwk(self.key.verifying_key())
    }

    /// A signed token for `verdict`, valid until `exp`.
    pub fn issue(&self, verdict: &Verdict, exp: SystemTime) -> String {
        let header = json!({"alg": "ES256", "typ": "JWT", "jwk": self.public_jwk()});
        let claims = json!({
            "iss": ISSUER,
            "iat": unix(SystemTime::now()),
            "exp": unix(exp),
            "tee": verdict.tee.to_string(),
            "measurement": crate::hex::encode(&verdict.measurement),
            "tee-pubkey": {
                "kty": "EC",
                "crv": kbs_protocol::EC_P256_CRV,
                "alg": kbs_protocol::ECDH_ES_A256KW,
                "x": verdict.tee_key.jwk_x(),
                "y": verdict.tee_key.jwk_y(),
            },
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }
}

/// Checks an ES256 token against the public key in its own header and
/// returns (header jwk, claims). Only for tests and tools: trusting a key a
/// token names itself proves nothing unless that key is pinned elsewhere.
pub fn decode_self_signed(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    if header.get("alg")?.as_str()? != "ES256" {
        return None;
    }
    let jwk = header.get("jwk")?.clone();
    let coord =
        |name: &str| -> Option<Vec<u8>> { URL_SAFE_NO_PAD.decode(jwk.get(name)?.as_str()?).ok() };
    let (x, y) = (coord("x")?, coord("y")?);
    let point = p256::EncodedPoint::from_affine_coordinates(
        p256::FieldBytes::from_slice(x.get(..32)?),
        p256::FieldBytes::from_slice(y.get(..32)?),
        false,
    );
    let key = VerifyingKey::from_encoded_point(&point).ok()?;
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()?;
    key.verify(format!("{h}.{c}").as_bytes(), &signature).ok()?;
    Some((jwk, claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbs_protocol::Tee;

    #[test]
    fn token_verifies_and_carries_the_claims() {
        let signer = TokenSigner::generate();
        let tee_key = jwe::EcPrivateKey::generate(&mut OsRng).public_key();
        let verdict = Verdict {
            tee: Tee::Sample,
            measurement: [0xab; 48],
            tee_key,
        };
        let exp = SystemTime::now() + std::time::Duration::from_secs(300);
        let token = signer.issue(&verdict, exp);
        let (jwk, claims) = decode_self_signed(&token).expect("verifies");
        assert_eq!(jwk, signer.public_jwk());
        assert_eq!(claims["tee"], "sample");
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["exp"], unix(exp));
        assert_eq!(claims["measurement"], "ab".repeat(48));
        assert_eq!(claims["tee-pubkey"]["x"], tee_key.jwk_x());
        // A changed claim no longer verifies.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"tee":"snp"}"#);
        parts[1] = &forged;
        assert!(decode_self_signed(&parts.join(".")).is_none());
    }
}
