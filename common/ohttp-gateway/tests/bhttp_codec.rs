//! Our BHTTP codec against the `bhttp` crate, and RFC 9292 edge cases.
#![allow(clippy::unwrap_used)]

mod common;
use std::io::Cursor;

use bhttp::{Message, Mode};
use common::{bhttp_request, bytes};
use ohttp_gateway::bhttp::{
    decode_request, decode_request_with_limits, encode_response, BhttpError, Limits,
};

const SIZES: [usize; 7] = [0, 1, 15, 16, 17, 1000, 100_000];
const MODES: [Mode; 2] = [Mode::KnownLength, Mode::IndeterminateLength];

#[test]
fn decodes_bhttp_crate_requests_of_all_sizes_and_framings() {
    for mode in MODES {
        for size in SIZES {
            let body = bytes(size as u64, size);
            let headers: [(&str, &[u8]); 3] = [
                ("accept", b"*/*"),
                ("x-empty", b""),
                ("x-bin", b"\x80\xff\t ok"),
            ];
            let wire = bhttp_request(mode, "PUT", "/a?b=c", &headers, &body);
            let req = decode_request(&wire).unwrap();
            assert_eq!((req.method.as_str(), req.path.as_str()), ("PUT", "/a?b=c"));
            let got: Vec<(&str, &[u8])> = req
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_slice()))
                .collect();
            assert_eq!(got, headers);
            assert_eq!(&req.body[..], &body[..], "{mode:?} {size}");
        }
    }
}

#[test]
fn trailers_are_parsed_and_dropped() {
    for mode in MODES {
        let mut msg = Message::request(
            b"POST".to_vec(),
            b"https".to_vec(),
            b"h".to_vec(),
            b"/".to_vec(),
        );
        msg.put_header("a", "1");
        msg.write_content(b"body");
        msg.put_trailer("t", "2");
        let mut wire = Vec::new();
        msg.write_bhttp(mode, &mut wire).unwrap();
        let req = decode_request(&wire).unwrap();
        assert_eq!(req.headers, vec![("a".to_string(), b"1".to_vec())]);
        assert_eq!(&req.body[..], b"body");
    }
}

#[test]
fn our_responses_decode_with_the_bhttp_crate() {
    for status in [200u16, 204, 404, 500, 599] {
        for size in SIZES {
            let body = bytes(size as u64, size);
            let wire = encode_response(
                status,
                &[("Content-Type", b"text/plain"), ("x-n", b"1")],
                &body,
            );
            let msg = Message::read_bhttp(&mut Cursor::new(&wire[..])).unwrap();
            assert_eq!(msg.control().status().unwrap().code(), status);
            assert_eq!(msg.header().get(b"content-type"), Some(&b"text/plain"[..]));
            assert_eq!(msg.header().get(b"x-n"), Some(&b"1"[..]));
            assert_eq!(msg.content(), &body[..]);
            assert_eq!(wire.capacity(), wire.len(), "sized exactly, no realloc");
        }
    }
}

#[test]
fn encoder_keeps_output_valid_whatever_it_is_given() {
    // Informational / out-of-range status becomes 500; bad field lines go.
    let wire = encode_response(
        101,
        &[
            ("", b"x"),
            ("bad name", b"x"),
            ("x-crlf", b"a\r\nb"),
            ("ok", b"v"),
        ],
        b"",
    );
    let msg = Message::read_bhttp(&mut Cursor::new(&wire[..])).unwrap();
    assert_eq!(msg.control().status().unwrap().code(), 500);
    assert_eq!(msg.header().fields().len(), 1);
    assert_eq!(msg.header().get(b"ok"), Some(&b"v"[..]));
}

/// Hand-built request pieces.
fn v(n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    ohttp_gateway::varint::encode(n, &mut out).unwrap();
    out
}
fn lp(b: &[u8]) -> Vec<u8> {
    [v(b.len() as u64), b.to_vec()].concat()
}
fn control(method: &[u8], path: &[u8]) -> Vec<u8> {
    [lp(method), lp(b"https"), lp(b"h"), lp(path)].concat()
}
fn known(fields: &[(&[u8], &[u8])], body: &[u8]) -> Vec<u8> {
    let lines: Vec<u8> = fields
        .iter()
        .flat_map(|(n, val)| [lp(n), lp(val)].concat())
        .collect();
    [v(0), control(b"GET", b"/"), lp(&lines), lp(body), v(0)].concat()
}

#[test]
fn truncation_at_section_boundaries_is_accepted() {
    let ctl = [v(0), control(b"GET", b"/")].concat();
    let hdr = [ctl.clone(), lp(&[lp(b"a"), lp(b"1")].concat())].concat();
    let content = [hdr.clone(), lp(b"xy")].concat();
    for wire in [&ctl, &hdr, &content] {
        decode_request(wire).unwrap();
    }
    assert_eq!(&decode_request(&content).unwrap().body[..], b"xy");
}

#[test]
fn every_prefix_is_ok_or_error_never_a_panic() {
    for mode in MODES {
        let wire = bhttp_request(mode, "POST", "/p", &[("a", b"1"), ("bb", b"22")], b"hello");
        for cut in 0..wire.len() {
            let _ = decode_request(&wire[..cut]);
        }
        // Cuts inside the control data are always errors.
        for cut in 0..6 {
            assert!(decode_request(&wire[..cut]).is_err(), "{mode:?} cut {cut}");
        }
    }
}

#[test]
fn padding_zeros_ok_nonzero_refused() {
    let wire = known(&[], b"x");
    let padded = [wire.clone(), vec![0; 100]].concat();
    assert_eq!(&decode_request(&padded).unwrap().body[..], b"x");
    let bad = [wire, vec![0, 0, 1]].concat();
    assert_eq!(
        decode_request(&bad).err().expect("refused"),
        BhttpError::NonZeroPadding
    );
}

#[test]
fn malformed_requests_are_refused_with_the_right_error() {
    use BhttpError::*;
    let cases: Vec<(Vec<u8>, BhttpError)> = vec![
        (vec![], Truncated),
        (v(1), BadFraming(1)),
        (v(3), BadFraming(3)),
        (v(4), BadFraming(4)),
        ([v(0), control(b"G T", b"/")].concat(), BadMethod),
        ([v(0), control(b"", b"/")].concat(), BadMethod),
        ([v(0), control(b"GET", b"/a b")].concat(), BadControlData),
        (
            [v(0), control(b"GET", "/é".as_bytes())].concat(),
            BadControlData,
        ),
        (known(&[(b"Host", b"x")], b""), UppercaseFieldName),
        (known(&[(b":path", b"/")], b""), BadFieldName),
        (known(&[(b"a b", b"x")], b""), BadFieldName),
        (known(&[(b"", b"x")], b""), BadFieldName),
        (known(&[(b"x", b"a\r\nb: c")], b""), BadFieldValue),
        (known(&[(b"x", b"\0")], b""), BadFieldValue),
        (known(&[(b"x", &[0x7f])], b""), BadFieldValue),
    ];
    for (wire, want) in cases {
        assert_eq!(
            decode_request(&wire).err().expect("refused"),
            want,
            "{wire:02x?}"
        );
    }
}

#[test]
fn hostile_lengths_fail_fast_without_allocating() {
    let max = ohttp_gateway::varint::MAX;
    let ctl = [v(0), control(b"GET", b"/")].concat();
    let cases: Vec<(Vec<u8>, BhttpError)> = vec![
        ([v(0), v(max)].concat(), BhttpError::FieldTooLarge),
        ([ctl.clone(), v(max)].concat(), BhttpError::Truncated),
        ([ctl.clone(), v(0), v(max)].concat(), BhttpError::Truncated),
        (
            [ctl.clone(), v(0), v(0), v(max)].concat(),
            BhttpError::Truncated,
        ),
        (
            [ctl.clone(), lp(&[v(max)].concat())].concat(),
            BhttpError::FieldTooLarge,
        ),
        (
            [v(2), control(b"GET", b"/"), v(max)].concat(),
            BhttpError::FieldTooLarge,
        ),
        (
            [v(2), control(b"GET", b"/"), v(0), v(max)].concat(),
            BhttpError::Truncated,
        ),
        (
            [v(0), lp(b"GET"), vec![0xc0]].concat(),
            BhttpError::Truncated,
        ),
    ];
    for (wire, want) in cases {
        assert_eq!(
            decode_request(&wire).err().expect("refused"),
            want,
            "{wire:02x?}"
        );
    }
}

#[test]
fn field_limits() {
    let big = vec![b'a'; 8 * 1024];
    let fields: Vec<(&[u8], &[u8])> = vec![(&big[..], &big[..])];
    assert!(decode_request(&known(&fields, b"")).is_ok());
    let bigger = vec![b'a'; 8 * 1024 + 1];
    for f in [
        vec![(&bigger[..], &b"x"[..])],
        vec![(&b"x"[..], &bigger[..])],
    ] {
        assert_eq!(
            decode_request(&known(&f, b"")).err().expect("refused"),
            BhttpError::FieldTooLarge
        );
    }
    let long_path = vec![b'/'; 8 * 1024 + 1];
    let wire = [v(0), control(b"GET", &long_path)].concat();
    assert_eq!(
        decode_request(&wire).err().expect("refused"),
        BhttpError::FieldTooLarge
    );

    let names: Vec<String> = (0..65).map(|i| format!("x-{i}")).collect();
    let lines: Vec<(&[u8], &[u8])> = names.iter().map(|n| (n.as_bytes(), &b"v"[..])).collect();
    assert!(decode_request(&known(&lines[..64], b"")).is_ok());
    assert_eq!(
        decode_request(&known(&lines, b"")).err().expect("refused"),
        BhttpError::TooManyFields
    );
    let tight = Limits {
        max_fields: 2,
        max_field_bytes: 16,
    };
    assert_eq!(
        decode_request_with_limits(&known(&lines[..3], b""), &tight)
            .err()
            .expect("refused"),
        BhttpError::TooManyFields
    );
    // Trailers count against the same budget.
    let mut msg = Message::request(
        b"GET".to_vec(),
        b"https".to_vec(),
        b"h".to_vec(),
        b"/".to_vec(),
    );
    for n in &names[..40] {
        msg.put_header(n.as_str(), "v");
    }
    for n in &names[40..] {
        msg.put_trailer(n.as_str(), "v");
    }
    for mode in MODES {
        let mut wire = Vec::new();
        msg.write_bhttp(mode, &mut wire).unwrap();
        assert_eq!(
            decode_request(&wire).err().expect("refused"),
            BhttpError::TooManyFields
        );
    }
}

#[test]
fn many_tiny_chunks_and_many_fields_decode_in_linear_time() {
    // 1 MiB of one-byte chunks, then a field flood: bounded and quick.
    let mut wire = [v(2), control(b"POST", b"/"), v(0)].concat();
    for _ in 0..(1 << 19) {
        wire.extend_from_slice(&[1, b'z']);
    }
    wire.push(0);
    let start = std::time::Instant::now();
    assert_eq!(decode_request(&wire).unwrap().body.len(), 1 << 19);

    let mut flood = [v(2), control(b"GET", b"/")].concat();
    for _ in 0..(1 << 19) {
        flood.extend_from_slice(&[1, b'a', 0]);
    }
    assert_eq!(
        decode_request(&flood).err().expect("refused"),
        BhttpError::TooManyFields
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}
