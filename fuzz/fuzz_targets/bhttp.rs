//! Binary HTTP (RFC 9292) as the gateway reads requests and writes
//! responses. A decoded request, re-encoded by the independent `bhttp`
//! crate, decodes to the same request; a response encoded from fuzz bytes
//! is read back by the `bhttp` crate with the same status and content.
#![no_main]

use std::io::Cursor;

use bhttp::{Message, Mode};
use libfuzzer_sys::fuzz_target;
use ohttp_gateway::bhttp::{decode_request, encode_response, Limits};

fn reencode(req: &ohttp_gateway::bhttp::Request) -> Vec<u8> {
    let mut msg = Message::request(
        req.method.as_bytes().to_vec(),
        req.scheme.as_bytes().to_vec(),
        req.authority.as_bytes().to_vec(),
        req.path.as_bytes().to_vec(),
    );
    for (name, value) in &req.headers {
        msg.put_header(name.as_bytes().to_vec(), value.clone());
    }
    msg.write_content(&req.body[..]);
    let mut out = Vec::new();
    msg.write_bhttp(Mode::KnownLength, &mut out)
        .expect("writes to a Vec");
    out
}

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = decode_request(data) {
        assert!(req.body.len() <= data.len());
        assert!(req.headers.len() <= Limits::DEFAULT.max_fields);
        let again = decode_request(&reencode(&req)).expect("re-encoded request decodes");
        assert_eq!(
            (&again.method, &again.scheme, &again.authority, &again.path),
            (&req.method, &req.scheme, &req.authority, &req.path)
        );
        assert_eq!(again.headers, req.headers);
        assert_eq!(again.body, req.body);
    }

    // Response: status from two bytes, then NUL-separated name/value pairs,
    // the last piece being the body.
    let (status, rest) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => return,
    };
    let mut pieces: Vec<&[u8]> = rest.split(|&b| b == 0).collect();
    let body = pieces.pop().unwrap_or_default();
    let names: Vec<String> = pieces
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p[0]).into_owned())
        .collect();
    let headers: Vec<(&str, &[u8])> = pieces
        .chunks(2)
        .zip(&names)
        .map(|(p, n)| (n.as_str(), p.get(1).copied().unwrap_or_default()))
        .collect();
    let wire = encode_response(status, &headers, body);
    let msg = Message::read_bhttp(&mut Cursor::new(&wire[..])).expect("bhttp reads our response");
    let want = if (200..=599).contains(&status) {
        status
    } else {
        500
    };
    assert_eq!(msg.control().status().map(|s| s.code()), Some(want));
    assert_eq!(msg.content(), body);
    assert!(msg.header().fields().len() <= headers.len());
});
