//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Deterministic test bytes (xorshift), so failures reproduce.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn array<const N: usize>(seed: u64) -> [u8; N] {
    bytes(seed, N).try_into().unwrap()
}

/// A BHTTP request built with the `bhttp` crate.
pub fn bhttp_request(
    mode: bhttp::Mode,
    method: &str,
    path: &str,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Vec<u8> {
    let mut msg = bhttp::Message::request(
        method.as_bytes().to_vec(),
        b"https".to_vec(),
        b"appliance.example".to_vec(),
        path.as_bytes().to_vec(),
    );
    for (n, v) in headers {
        msg.put_header(n.as_bytes().to_vec(), v.to_vec());
    }
    msg.write_content(body);
    let mut out = Vec::new();
    msg.write_bhttp(mode, &mut out).unwrap();
    out
}
