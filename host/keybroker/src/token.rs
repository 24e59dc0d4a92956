//! The attestation token `/attest` returns: a JWT signed ES256 with a P-256
//! key the broker generates at start (like Trustee's default, whose EAR
//! token also carries the public key as `jwk` in its header).
//!
//! Header: `{"alg":"ES256","typ":"JWT","jwk":{"kty":"EC","crv":"P-256","x":..,"y":..}}`.
//! Claims: `{"iss":"keybroker","iat":N,"exp":N,"tee":"snp"|"sample",
//! "measurement":"<96 hex>","tee-pubkey":{<the guest's JWK>}}`; `exp` is the
//! end of the session. `tee-pubkey` sits where Trustee's token verifier
//! also looks (`/tee-pubkey`).
//!
//! Resources are released on the session cookie or, as Trustee does, on
//! `Authorization: Bearer <token>` ([`TokenSigner::verify`]): the token must
//! be signed by this very process's key (the `jwk` in the header is never
//! trusted), unexpired, and the JWE is made to the TEE key it binds, so a
//! stolen token releases nothing readable. A new broker process has a new
//! key: older tokens are foreign to it.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jwe::EcPublicKey;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use rand_core::OsRng;
use serde_json::{json, Value};

use crate::reason::{Reason, Refused};
use crate::verify::Verdict;

pub const ISSUER: &str = "keybroker";
/// Longest token looked at (ours are well under 1 KiB).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

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
            "measurement": hex::encode(verdict.measurement),
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

impl TokenSigner {
    /// Verifies a bearer token this signer issued: exactly three base64url
    /// parts, `alg` ES256, the signature by this signer's key, `iss`, and
    /// `now` before `exp`; returns the TEE key and the measurement the token
    /// binds. Claims are read only after the signature has verified.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<Grant, Refused> {
        let bad = |why: &str| Refused::new(Reason::Token, why);
        if token.len() > MAX_TOKEN_LEN {
            return Err(bad("token too long"));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("not a three-part JWS"));
        };
        let header: Value = URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| bad("header is not base64url JSON"))?;
        if header.get("alg").and_then(Value::as_str) != Some("ES256") {
            return Err(bad("alg is not ES256"));
        }
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or_else(|| bad("signature is not a base64url P-256 signature"))?;
        self.key
            .verifying_key()
            .verify(format!("{h}.{c}").as_bytes(), &signature)
            .map_err(|_| bad("not signed by this broker"))?;
        let claims: Value = URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| bad("claims are not base64url JSON"))?;
        if claims.get("iss").and_then(Value::as_str) != Some(ISSUER) {
            return Err(bad("issuer"));
        }
        let exp = claims
            .get("exp")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("no exp"))?;
        if unix(now) >= exp {
            return Err(Refused::new(Reason::TokenExpired, "token expired"));
        }
        let tee_key = tee_key_claim(&claims).ok_or_else(|| bad("tee-pubkey"))?;
        let measurement = claims
            .get("measurement")
            .and_then(Value::as_str)
            .and_then(|m| snp_verify::parse_measurement(m).ok())
            .ok_or_else(|| bad("measurement"))?;
        Ok(Grant {
            tee_key,
            measurement,
        })
    }
}

/// What a valid token grants: JWEs to its TEE key, for resources its
/// measurement may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub tee_key: EcPublicKey,
    pub measurement: [u8; 48],
}

/// The `tee-pubkey` claim as the key the JWE is made to.
fn tee_key_claim(claims: &Value) -> Option<EcPublicKey> {
    let key = claims.get("tee-pubkey")?;
    let member = |name: &str| key.get(name).and_then(Value::as_str);
    let usable = member("kty") == Some("EC")
        && member("crv") == Some(kbs_protocol::EC_P256_CRV)
        && member("alg") == Some(kbs_protocol::ECDH_ES_A256KW);
    if !usable {
        return None;
    }
    EcPublicKey::from_jwk_coordinates(member("x")?, member("y")?).ok()
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

    fn verdict() -> (Verdict, jwe::EcPrivateKey) {
        let private = jwe::EcPrivateKey::generate(&mut OsRng);
        let verdict = Verdict {
            tee: Tee::Snp,
            measurement: [0x5a; 48],
            tee_key: private.public_key(),
        };
        (verdict, private)
    }

    fn b64(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text)
    }

    #[test]
    fn bearer_tokens_verify_only_when_ours_and_unexpired() {
        let signer = TokenSigner::generate();
        let (verdict, _) = verdict();
        let now = SystemTime::now();
        let exp = now + std::time::Duration::from_secs(300);
        let token = signer.issue(&verdict, exp);
        assert_eq!(
            signer
                .verify(&token, now)
                .map(|g| (g.tee_key, g.measurement)),
            Ok((verdict.tee_key, verdict.measurement))
        );
        // Expired at exp exactly, and after.
        let reason = |t: &str, at| signer.verify(t, at).expect_err("refused").reason;
        assert_eq!(reason(&token, exp), Reason::TokenExpired);
        assert_eq!(
            reason(&token, exp + std::time::Duration::from_secs(1)),
            Reason::TokenExpired
        );
        // Foreign: another broker process's key (its header names that key).
        let other = TokenSigner::generate().issue(&verdict, exp);
        assert_eq!(reason(&other, now), Reason::Token);
        // Forged: our signature over other claims (another TEE key).
        let (forged_verdict, _) = super::tests::verdict();
        let parts: Vec<&str> = token.split('.').collect();
        let forged_claims = signer.issue(&forged_verdict, exp);
        let forged_claims: Vec<&str> = forged_claims.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], forged_claims[1], parts[2]);
        assert_eq!(reason(&forged, now), Reason::Token);
        // alg none / HS256 with the same claims.
        for header in [r#"{"alg":"none"}"#, r#"{"alg":"HS256","typ":"JWT"}"#] {
            let t = format!("{}.{}.{}", b64(header), parts[1], parts[2]);
            assert_eq!(reason(&t, now), Reason::Token, "{header}");
            let t = format!("{}.{}.", b64(header), parts[1]);
            assert_eq!(reason(&t, now), Reason::Token, "{header} unsigned");
        }
        // Malformed shapes.
        for t in [
            String::new(),
            "a.b".into(),
            format!("{token}.x"),
            format!("{}.{}", parts[0], parts[1]),
            "!!.!!.!!".into(),
            "a".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert_eq!(reason(&t, now), Reason::Token, "{t:.40}");
        }
    }

    #[test]
    fn signed_claims_must_name_a_usable_tee_key() {
        let signer = TokenSigner::generate();
        let now = SystemTime::now();
        let exp = unix(now) + 300;
        let sign = |claims: Value| {
            let input = format!(
                "{}.{}",
                b64(&json!({"alg": "ES256", "typ": "JWT"}).to_string()),
                b64(&claims.to_string())
            );
            let sig: Signature = signer.key.sign(input.as_bytes());
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
        };
        let (v, _) = verdict();
        let good = json!({"kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A256KW",
                          "x": v.tee_key.jwk_x(), "y": v.tee_key.jwk_y()});
        let m = "ab".repeat(48);
        let ok = sign(json!({"iss": ISSUER, "exp": exp, "tee-pubkey": good, "measurement": m}));
        assert_eq!(
            signer.verify(&ok, now).map(|g| (g.tee_key, g.measurement)),
            Ok((v.tee_key, [0xab; 48]))
        );
        // A token without a measurement grants nothing.
        let no_measurement = sign(json!({"iss": ISSUER, "exp": exp, "tee-pubkey": good}));
        assert_eq!(
            signer.verify(&no_measurement, now).map(|_| ()),
            Err(Refused::new(Reason::Token, "measurement"))
        );
        let mut off_curve = good.clone();
        off_curve["y"] = json!(v.tee_key.jwk_x());
        let mut rsa = good.clone();
        rsa["alg"] = json!("RSA-OAEP-256");
        for claims in [
            json!({"iss": ISSUER, "exp": exp}),
            json!({"iss": ISSUER, "exp": exp, "tee-pubkey": off_curve}),
            json!({"iss": ISSUER, "exp": exp, "tee-pubkey": rsa}),
            json!({"iss": "trustee", "exp": exp, "tee-pubkey": good}),
            json!({"iss": ISSUER, "tee-pubkey": good}),
            json!({"iss": ISSUER, "exp": "soon", "tee-pubkey": good}),
        ] {
            let refused = signer
                .verify(&sign(claims.clone()), now)
                .expect_err("refused");
            assert_eq!(refused.reason, Reason::Token, "{claims}");
        }
    }

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
