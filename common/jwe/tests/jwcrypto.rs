//! Cross-check against an independent implementation: Python `jwcrypto`
//! decrypts what we encrypt and encrypts what we decrypt.
//!
//! Needs `python3 -m pip install jwcrypto==1.5.6` (1.5.6 works with the
//! `cryptography` already installed here; 1.6 wants cryptography >= 49).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::b64;
use jwe::{decrypt, encrypt, EcPrivateKey, Jwe, JweError};
use rand_core::OsRng;
use serde_json::{json, Value};

const PIP_LINE: &str = "python3 -m pip install jwcrypto==1.5.6";

const SCRIPT: &str = r#"
import sys, json
from jwcrypto import jwk, jwe
req = json.load(sys.stdin)
key = jwk.JWK(**req["jwk"])
pub = jwk.JWK(**{k: v for k, v in req["jwk"].items() if k != "d"})
pt = bytes.fromhex(req["plaintext"])
out = {}
for name in ("flattened", "compact"):
    t = jwe.JWE()
    t.deserialize(req[name], key=key)
    out["dec_" + name] = t.payload.hex()
for name, prot in (("plain", {"alg": "ECDH-ES+A256KW", "enc": "A256GCM"}),
                   ("apu", {"alg": "ECDH-ES+A256KW", "enc": "A256GCM",
                            "apu": "QWxpY2U", "apv": "Qm9i"})):
    t = jwe.JWE(pt, protected=json.dumps(prot))
    t.add_recipient(pub)
    out[name + "_epk_unprotected"] = t.serialize()
    out[name + "_compact"] = t.serialize(compact=True)
    # After compact serialisation jwcrypto has moved epk into the protected
    # header (and re-encrypted): the form the KBS sends.
    out[name + "_flattened"] = t.serialize()
print(json.dumps(out))
"#;

fn jwcrypto_available() -> bool {
    Command::new("python3")
        .args(["-c", "import jwcrypto"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run_python(request: &Value) -> Value {
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write request");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(
        out.status.success(),
        "jwcrypto script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("script prints JSON")
}

#[test]
fn jwcrypto_interoperates_both_ways() {
    assert!(
        jwcrypto_available(),
        "Python jwcrypto is not importable; install it with: {PIP_LINE}"
    );
    let key = EcPrivateKey::generate(&mut OsRng);
    let public = key.public_key();
    let plaintext: Vec<u8> = (0u8..=255).chain(0..44).collect();

    // We encrypt (the broker's role) ...
    let ours = encrypt(&public, &plaintext, &mut OsRng).expect("encrypts");
    let request = json!({
        "jwk": {
            "kty": "EC", "crv": "P-256",
            "x": public.jwk_x(), "y": public.jwk_y(),
            "d": b64(key.to_bytes().as_slice()),
        },
        "plaintext": hex(&plaintext),
        "flattened": ours.to_json(),
        "compact": ours.to_compact().expect("no aad"),
    });
    let answer = run_python(&request);

    // ... jwcrypto decrypts it, in both serialisations.
    assert_eq!(answer["dec_flattened"], hex(&plaintext));
    assert_eq!(answer["dec_compact"], hex(&plaintext));

    // jwcrypto encrypts, we decrypt (the guest's role), with and without
    // apu/apv in the key derivation.
    for name in ["plain", "apu"] {
        let compact = answer[format!("{name}_compact")].as_str().expect("string");
        let jwe = Jwe::from_compact(compact).expect("compact parses");
        assert_eq!(decrypt(&jwe, &key).expect("decrypts").as_slice(), plaintext);

        let flat = answer[format!("{name}_flattened")]
            .as_str()
            .expect("string");
        let jwe = Jwe::from_json(flat.as_bytes()).expect("flattened parses");
        assert_eq!(decrypt(&jwe, &key).expect("decrypts").as_slice(), plaintext);

        // We deliberately take no unprotected header (the KBS sends none).
        let unprot = answer[format!("{name}_epk_unprotected")]
            .as_str()
            .expect("string");
        assert_eq!(
            Jwe::from_json(unprot.as_bytes()),
            Err(JweError::Unsupported("unprotected header"))
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
