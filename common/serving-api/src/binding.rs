//! REPORT_DATA for the serving key: the 64 bytes the appliance asks the
//! secure processor to sign, committing to the OHTTP key configuration the
//! client will encrypt to and to the measured boot log it is shown.
//!
//! ```text
//! REPORT_DATA = SHA-512( LABEL
//!                        || u32be(len(ohttp_keys)) || ohttp_keys
//!                        || u32be(number of events)
//!                        || for each event, in order:
//!                             u32be(len(name)) || name
//!                             || u32be(len(algorithm)) || algorithm
//!                             || u32be(len(digest)) || digest )
//! ```
//!
//! `ohttp_keys` is the `application/ohttp-keys` body exactly as served;
//! `digest` is the raw digest (the document carries it as hex). Every part
//! is length-prefixed, so no two different inputs share an encoding. The
//! label keeps this hash from being confused with the key broker's binding
//! (which hashes a nonce and a JWK).

use alloc::vec::Vec;
use sha2::{Digest, Sha512};

use crate::document::BootEvent;

pub const LABEL: &[u8] = b"confidential-appliance/serving-binding/v1\0";

/// A boot log event whose digest is not hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a boot log digest is not hex")]
pub struct BindingError;

fn put(hash: &mut Sha512, part: &[u8]) {
    // Lengths past u32 cannot occur for this data; saturate instead of wrap.
    let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
    hash.update(len.to_be_bytes());
    hash.update(part);
}

/// The REPORT_DATA for `ohttp_keys` and `boot_log`.
pub fn report_data(ohttp_keys: &[u8], boot_log: &[BootEvent]) -> Result<[u8; 64], BindingError> {
    let mut hash = Sha512::new();
    hash.update(LABEL);
    put(&mut hash, ohttp_keys);
    let count = u32::try_from(boot_log.len()).unwrap_or(u32::MAX);
    hash.update(count.to_be_bytes());
    for event in boot_log {
        let digest: Vec<u8> = hex::decode(&event.digest).map_err(|_| BindingError)?;
        put(&mut hash, event.event.as_bytes());
        put(&mut hash, event.algorithm.as_bytes());
        put(&mut hash, &digest);
    }
    Ok(hash.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn event(name: &str, digest: &str) -> BootEvent {
        BootEvent {
            event: name.to_string(),
            algorithm: "sha384".to_string(),
            digest: digest.to_string(),
        }
    }

    #[test]
    fn every_input_changes_the_binding() {
        let log = [event("model", "00ff"), event("runtime-config", "01")];
        let base = report_data(b"keys", &log).expect("hex");
        assert_ne!(base, report_data(b"keyz", &log).expect("hex"));
        assert_ne!(base, report_data(b"keys", &log[..1]).expect("hex"));
        assert_ne!(
            base,
            report_data(b"keys", &[log[1].clone(), log[0].clone()]).expect("hex")
        );
        let mut other = log.clone();
        other[0].digest = "00fe".to_string();
        assert_ne!(base, report_data(b"keys", &other).expect("hex"));
        // Moving a byte between fields must not collide (length prefixes).
        let shifted = [event("mode", "00ff"), event("lruntime-config", "01")];
        assert_ne!(base, report_data(b"keys", &shifted).expect("hex"));
        // Hex case does not matter: the raw digest is hashed.
        let mut upper = log.clone();
        upper[0].digest = "00FF".to_string();
        assert_eq!(base, report_data(b"keys", &upper).expect("hex"));
    }

    #[test]
    fn known_answer() {
        // Recomputed independently: python3 -c 'import hashlib,struct;
        // L=b"confidential-appliance/serving-binding/v1\0"; p=lambda b: struct.pack(">I",len(b))+b;
        // print(hashlib.sha512(L+p(b"k")+struct.pack(">I",1)+p(b"model")+p(b"sha384")+p(bytes([1,2]))).hexdigest())'
        let got = report_data(b"k", &[event("model", "0102")]).expect("hex");
        assert_eq!(hex::encode(got), KAT);
    }

    const KAT: &str = "e34f8327fc0545869d084fb72d73cf0dff3e3c4ed33a7970e98c396514bcb07c393d478a5e42a967f95a0fd93392e8e41daf6a60a0da88d81a8333dfe420f0e4";

    #[test]
    fn bad_hex_is_an_error() {
        assert_eq!(
            report_data(b"k", &[event("model", "0g")]),
            Err(BindingError)
        );
        assert_eq!(
            report_data(b"k", &[event("model", "012")]),
            Err(BindingError)
        );
    }
}
