//! What the guest parses from the key broker: the `/auth` challenge, the
//! `/attest` token, error bodies, the `Set-Cookie` value, the resource path
//! of its configuration, and the canonical JSON it hashes into REPORT_DATA.
//! Each accepted value re-serialises to JSON that parses to the same value.
#![no_main]

use kbs_protocol::{
    session_cookie_pair, to_canonical_string, AttestationToken, Challenge, ErrorInformation,
    ResourcePath, KBS_PREFIX, SESSION_COOKIE,
};
use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

/// `parse(serialise(x))` serialises to the same JSON as `x`.
fn round_trip<T: Serialize + DeserializeOwned>(data: &[u8]) {
    let Ok(x) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let v = serde_json::to_value(&x).expect("serialises");
    let again: T = serde_json::from_value(v.clone()).expect("own JSON parses");
    assert_eq!(serde_json::to_value(&again).expect("serialises"), v);
}

fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(a) => a.iter().any(has_float),
        Value::Object(o) => o.values().any(has_float),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<Challenge>(data);
    round_trip::<AttestationToken>(data);
    round_trip::<ErrorInformation>(data);
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let text = to_canonical_string(&value);
        assert_eq!(to_canonical_string(&value), text, "not deterministic");
        // Canonical form is a fixed point. Not checked with non-integer
        // numbers: the crate's serde_json has no `float_roundtrip` (only its
        // tests do; the runtime data it hashes holds no numbers), so a
        // shortest form can read back one ULP off (seen by this target).
        if let (Ok(text), false) = (text, has_float(&value)) {
            let reparsed: Value = serde_json::from_str(&text).expect("canonical JSON parses");
            assert_eq!(to_canonical_string(&reparsed).as_deref(), Ok(text.as_str()));
        }
    }
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Some(pair) = session_cookie_pair(text) {
        assert!(pair.starts_with(SESSION_COOKIE) && pair.len() <= SESSION_COOKIE.len() + 1 + 128);
        assert_eq!(session_cookie_pair(&pair).as_deref(), Some(pair.as_str()));
    }
    if let Ok(path) = ResourcePath::parse(text) {
        // No traversal: no segment is empty or starts with a dot.
        assert!(text
            .split('/')
            .all(|s| !s.is_empty() && !s.starts_with('.')));
        assert_eq!(ResourcePath::parse(&path.to_string()), Ok(path.clone()));
        assert!(path.url_path().starts_with(KBS_PREFIX));
    }
});
