//! QUIC variable-length integers (RFC 9000 §16), as Binary HTTP uses them:
//! the two high bits of the first byte give the length (1, 2, 4 or 8
//! bytes), the rest is the value, big-endian.

use alloc::vec::Vec;
/// Largest encodable value, 2^62 - 1.
pub const MAX: u64 = (1 << 62) - 1;

/// Why a varint could not be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VarintError {
    /// The input ends inside the integer.
    #[error("varint truncated")]
    Truncated,
    /// The value is above [`MAX`].
    #[error("varint value above 2^62 - 1")]
    TooLarge,
}

/// Reads one varint from the start of `buf`: the value and the bytes used.
/// Non-minimal encodings are accepted, as RFC 9000 allows.
pub fn decode(buf: &[u8]) -> Result<(u64, usize), VarintError> {
    let first = *buf.first().ok_or(VarintError::Truncated)?;
    let len = 1usize << (first >> 6);
    let bytes = buf.get(1..len).ok_or(VarintError::Truncated)?;
    let value = bytes
        .iter()
        .fold(u64::from(first & 0x3f), |v, b| (v << 8) | u64::from(*b));
    Ok((value, len))
}

/// Bytes the shortest encoding of `value` takes (values above [`MAX`]
/// report 8, the size they would have had).
pub fn encoded_len(value: u64) -> usize {
    match value {
        0..=0x3f => 1,
        0x40..=0x3fff => 2,
        0x4000..=0x3fff_ffff => 4,
        _ => 8,
    }
}

/// Appends the shortest encoding of `value`.
pub fn encode(value: u64, out: &mut Vec<u8>) -> Result<(), VarintError> {
    if value > MAX {
        return Err(VarintError::TooLarge);
    }
    let len = encoded_len(value);
    // The two high bits of the first byte: log2 of the length.
    let tagged = value | (u64::from(len.trailing_zeros()) << (8 * len - 2));
    out.extend_from_slice(tagged.to_be_bytes().get(8 - len..).unwrap_or(&[]));
    Ok(())
}

/// Appends the length of an in-memory buffer. Such lengths are far below
/// 2^62 on every target this crate builds for, so this cannot fail; the
/// clamp only keeps the function total.
pub(crate) fn encode_len(len: usize, out: &mut Vec<u8>) {
    let value = u64::try_from(len).unwrap_or(MAX).min(MAX);
    if encode(value, out).is_err() {
        // Unreachable: `value` <= MAX.
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc9000_appendix_a_examples() {
        // RFC 9000 §A.1 sample encodings.
        let cases: [(&[u8], u64); 4] = [
            (
                &[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c],
                151_288_809_941_952_652,
            ),
            (&[0x9d, 0x7f, 0x3e, 0x7d], 494_878_333),
            (&[0x7b, 0xbd], 15_293),
            (&[0x25], 37),
        ];
        for (bytes, value) in cases {
            assert_eq!(decode(bytes).unwrap(), (value, bytes.len()));
            let mut out = Vec::new();
            encode(value, &mut out).unwrap();
            assert_eq!(out, bytes);
        }
        // Non-minimal two-byte 37.
        assert_eq!(decode(&[0x40, 0x25]).unwrap(), (37, 2));
    }

    #[test]
    fn boundaries_round_trip() {
        for v in [0, 63, 64, 16_383, 16_384, (1 << 30) - 1, 1 << 30, MAX] {
            let mut out = Vec::new();
            encode(v, &mut out).unwrap();
            assert_eq!(out.len(), encoded_len(v));
            assert_eq!(decode(&out).unwrap(), (v, out.len()));
            for cut in 0..out.len() {
                assert_eq!(decode(&out[..cut]), Err(VarintError::Truncated));
            }
        }
        assert_eq!(encode(MAX + 1, &mut Vec::new()), Err(VarintError::TooLarge));
    }
}
