//! RFC 9458 §3 key configurations (`application/ohttp-keys`): read here to
//! pick the one this client encrypts to and to show it in the summary. The
//! `ohttp` crate would take the first suite a configuration lists, so the
//! chosen configuration is re-encoded with exactly the required suite.

/// DHKEM(X25519, HKDF-SHA256).
pub const KEM_X25519_SHA256: u16 = 0x0020;
pub const KDF_HKDF_SHA256: u16 = 0x0001;
pub const AEAD_AES_128_GCM: u16 = 0x0001;
const X25519_PUBLIC_KEY_LEN: usize = 32;

/// One configuration with an X25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyConfig {
    pub key_id: u8,
    pub public_key: [u8; X25519_PUBLIC_KEY_LEN],
    /// (KDF, AEAD) pairs as listed.
    pub suites: Vec<(u16, u16)>,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

/// One encoded configuration; `Ok(None)` for a KEM other than X25519.
fn parse_config(bytes: &[u8]) -> Result<Option<KeyConfig>, String> {
    let mut r = Reader(bytes);
    let truncated = || "a key configuration is truncated".to_string();
    let key_id = r.take(1).ok_or_else(truncated)?[0];
    if r.u16().ok_or_else(truncated)? != KEM_X25519_SHA256 {
        return Ok(None);
    }
    let mut public_key = [0u8; X25519_PUBLIC_KEY_LEN];
    public_key.copy_from_slice(r.take(X25519_PUBLIC_KEY_LEN).ok_or_else(truncated)?);
    let len = usize::from(r.u16().ok_or_else(truncated)?);
    let list = r.take(len).ok_or_else(truncated)?;
    if list.is_empty() || len % 4 != 0 || !r.0.is_empty() {
        return Err("a key configuration has a malformed suite list".into());
    }
    let suites = list
        .chunks_exact(4)
        .map(|s| {
            (
                u16::from_be_bytes([s[0], s[1]]),
                u16::from_be_bytes([s[2], s[3]]),
            )
        })
        .collect();
    Ok(Some(KeyConfig {
        key_id,
        public_key,
        suites,
    }))
}

/// Every X25519 configuration of an `application/ohttp-keys` body (each one
/// prefixed by its 2-byte length).
pub fn parse_list(body: &[u8]) -> Result<Vec<KeyConfig>, String> {
    let mut r = Reader(body);
    let mut out = Vec::new();
    while !r.0.is_empty() {
        let len = usize::from(r.u16().ok_or("the key list is truncated")?);
        let config = r.take(len).ok_or("the key list is truncated")?;
        if let Some(c) = parse_config(config)? {
            out.push(c);
        }
    }
    Ok(out)
}

/// The first configuration offering X25519 / HKDF-SHA256 / AES-128-GCM.
pub fn select(body: &[u8]) -> Result<KeyConfig, String> {
    parse_list(body)?
        .into_iter()
        .find(|c| c.suites.contains(&(KDF_HKDF_SHA256, AEAD_AES_128_GCM)))
        .ok_or_else(|| "no X25519 / HKDF-SHA256 / AES-128-GCM key configuration".into())
}

impl KeyConfig {
    /// This configuration with only the required suite, as `ohttp` reads it.
    pub fn encode_required_suite(&self) -> Vec<u8> {
        let mut out = vec![self.key_id];
        out.extend_from_slice(&KEM_X25519_SHA256.to_be_bytes());
        out.extend_from_slice(&self.public_key);
        out.extend_from_slice(&4u16.to_be_bytes());
        out.extend_from_slice(&KDF_HKDF_SHA256.to_be_bytes());
        out.extend_from_slice(&AEAD_AES_128_GCM.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(key_id: u8, kem: u16, suites: &[(u16, u16)]) -> Vec<u8> {
        let mut c = vec![key_id];
        c.extend_from_slice(&kem.to_be_bytes());
        c.extend_from_slice(&[7; 32]);
        c.extend_from_slice(
            &u16::try_from(suites.len() * 4)
                .expect("small")
                .to_be_bytes(),
        );
        for (kdf, aead) in suites {
            c.extend_from_slice(&kdf.to_be_bytes());
            c.extend_from_slice(&aead.to_be_bytes());
        }
        let mut framed = u16::try_from(c.len())
            .expect("small")
            .to_be_bytes()
            .to_vec();
        framed.extend_from_slice(&c);
        framed
    }

    #[test]
    fn selects_the_required_suite() {
        let mut body = config(1, 0x0010, &[(1, 1)]);
        body.extend(config(2, KEM_X25519_SHA256, &[(1, 3)]));
        body.extend(config(3, KEM_X25519_SHA256, &[(1, 3), (1, 1)]));
        let chosen = select(&body).expect("one fits");
        assert_eq!(chosen.key_id, 3);
        let encoded = chosen.encode_required_suite();
        let mut framed = u16::try_from(encoded.len())
            .expect("small")
            .to_be_bytes()
            .to_vec();
        framed.extend_from_slice(&encoded);
        assert_eq!(framed, config(3, KEM_X25519_SHA256, &[(1, 1)]));
        // The ohttp crate reads the re-encoded form.
        ohttp::ClientRequest::from_encoded_config(&encoded).expect("ohttp reads it");
    }

    #[test]
    fn malformed_lists_are_errors() {
        assert!(select(&config(2, KEM_X25519_SHA256, &[(1, 3)])).is_err());
        assert!(select(&[]).is_err());
        let good = config(1, KEM_X25519_SHA256, &[(1, 1)]);
        assert!(parse_list(&good[..good.len() - 1]).is_err());
        let mut short = good.clone();
        short[1] -= 1; // length one short: the suite list no longer fits
        assert!(parse_list(&short).is_err());
        let mut odd = config(1, KEM_X25519_SHA256, &[(1, 1)]);
        odd.push(0);
        assert!(parse_list(&odd).is_err());
    }
}
