//! Client: chunked response bodies (RFC 9112 §7.1) fed in every split, the
//! hostile chunk framings, the limits and the read timeout, and the header
//! shapes Trustee's KBS (actix-web) sends.

use http1::{ClientConfig, ClientError, ReceivedResponse, ResponseParser, Syntax};

fn cfg() -> ClientConfig {
    ClientConfig {
        max_head_bytes: 1024,
        max_body_bytes: 100,
        max_chunk_bytes: 40,
        timeout_ms: 1_000,
        read_timeout_ms: None,
    }
}

/// Feeds `pieces` in order, polling after each; the final outcome.
fn parse_pieces(
    config: ClientConfig,
    pieces: &[&[u8]],
) -> Result<Option<ReceivedResponse>, ClientError> {
    let mut p = ResponseParser::new(config, false, 0);
    for piece in pieces {
        p.receive(piece);
        match p.poll(0) {
            Ok(None) => {}
            done => return done,
        }
    }
    p.poll(0)
}

fn parse(wire: &[u8]) -> Result<Option<ReceivedResponse>, ClientError> {
    parse_pieces(cfg(), &[wire])
}

fn complete(wire: &[u8]) -> ReceivedResponse {
    parse(wire).expect("valid").expect("complete")
}

const HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut wire = HEAD.to_vec();
    wire.extend_from_slice(body);
    wire
}

/// A body with several chunks, an extension, upper-case hex, leading zeros
/// and a trailer field.
fn rich() -> Vec<u8> {
    chunked(b"7;ext=\"a;b\"\r\n{\"nonce\r\n00A\r\n\":\"abcdef\"\r\n1\r\n}\r\n0\r\nX-Checksum: 1234\r\n\r\n")
}
const RICH_BODY: &[u8] = b"{\"nonce\":\"abcdef\"}";

#[test]
fn decodes_chunks_extensions_and_drops_trailers() {
    let r = complete(&rich());
    assert_eq!(r.status, 200);
    assert_eq!(r.body, RICH_BODY);
    assert!(r.keep_alive);
    // The trailer is not merged into the header fields.
    assert_eq!(r.header("x-checksum"), None);
    assert_eq!(r.header("content-type"), Some(&b"application/json"[..]));
    // The same body sent with Content-Length gives the same bytes.
    let mut plain = b"HTTP/1.1 200 OK\r\ncontent-length: 18\r\n\r\n".to_vec();
    plain.extend_from_slice(RICH_BODY);
    assert_eq!(complete(&plain).body, r.body);
}

#[test]
fn every_split_point_gives_the_same_response() {
    let wire = rich();
    let whole = complete(&wire);
    for i in 0..=wire.len() {
        let got = parse_pieces(cfg(), &[&wire[..i], &wire[i..]]);
        assert_eq!(got.as_ref(), Ok(&Some(whole.clone())), "split at {i}");
    }
    // Every pair of split points, too (three pieces).
    for i in 0..=wire.len() {
        for j in i..=wire.len() {
            let got = parse_pieces(cfg(), &[&wire[..i], &wire[i..j], &wire[j..]]);
            assert_eq!(got.as_ref(), Ok(&Some(whole.clone())), "split at {i}, {j}");
        }
    }
    // And one byte at a time.
    let bytes: Vec<&[u8]> = wire.chunks(1).collect();
    assert_eq!(parse_pieces(cfg(), &bytes), Ok(Some(whole)));
}

#[test]
fn not_complete_until_the_last_chunk_and_trailers() {
    let wire = rich();
    // Everything but the final CRLF of the trailer section: still pending.
    assert_eq!(parse(&wire[..wire.len() - 2]), Ok(None));
    assert_eq!(parse(&wire[..wire.len() - 1]), Ok(None));
    // The peer closing early is a truncated response, at any point.
    for i in HEAD.len()..wire.len() {
        let mut p = ResponseParser::new(cfg(), false, 0);
        p.receive(&wire[..i]);
        p.peer_closed();
        assert_eq!(p.poll(0), Err(ClientError::Truncated), "closed after {i}");
    }
}

#[test]
fn bytes_after_the_last_chunk_forbid_reuse() {
    let mut wire = chunked(b"2\r\nok\r\n0\r\n\r\n");
    wire.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    let r = complete(&wire);
    assert_eq!((r.body.as_slice(), r.keep_alive), (&b"ok"[..], false));
    // Same when they come in a later segment before the poll.
    let mut p = ResponseParser::new(cfg(), false, 0);
    p.receive(&wire[..HEAD.len() + 12]);
    p.receive(b"junk");
    let r = p.poll(0).expect("valid").expect("complete");
    assert!(!r.keep_alive);
}

#[test]
fn hostile_chunk_framing() {
    let cases: &[(&[u8], ClientError)] = &[
        // Overflowing hex: 17 digits do not fit in 64 bits.
        (b"10000000000000001\r\n", ClientError::ChunkTooLarge),
        (b"ffffffffffffffffffff\r\n", ClientError::ChunkTooLarge),
        // Over the 40-byte chunk limit.
        (b"29\r\n", ClientError::ChunkTooLarge),
        // Chunks within the limit that add up past the 100-byte body.
        (
            b"28\r\n0123456789012345678901234567890123456789\r\n28\r\n0123456789012345678901234567890123456789\r\n28\r\n",
            ClientError::BodyTooLarge,
        ),
        // Not hex, signs, prefixes, empty, whitespace without an extension.
        (b"g\r\n", ClientError::Chunk),
        (b"-1\r\n", ClientError::Chunk),
        (b"+1\r\n", ClientError::Chunk),
        (b"0x5\r\n", ClientError::Chunk),
        (b"\r\n", ClientError::Chunk),
        (b" 5\r\n", ClientError::Chunk),
        (b"5 \r\n", ClientError::Chunk),
        // Control bytes inside an extension.
        (b"5;a=\0\r\n", ClientError::Chunk),
        (b"5;a=\x1b\r\n", ClientError::Chunk),
        // Missing CRLF after the data, or only half of it.
        (b"5\r\nhelloX\r\n0\r\n\r\n", ClientError::Chunk),
        (b"5\r\nhello\rX0\r\n\r\n", ClientError::Chunk),
        (b"5\r\nhello\n0\r\n\r\n", ClientError::Chunk),
        // Data longer than declared runs into the next size line.
        (b"3\r\nhello\r\n0\r\n\r\n", ClientError::Chunk),
        // Bare line endings in size lines and trailers.
        (b"5\nhello\r\n", ClientError::Malformed(Syntax::BareLineEnding)),
        (b"5\rhello\r\n", ClientError::Malformed(Syntax::BareLineEnding)),
        (b"0\r\nX: y\n\r\n", ClientError::Malformed(Syntax::BareLineEnding)),
        // Malformed trailers.
        (b"0\r\nno colon\r\n\r\n", ClientError::Malformed(Syntax::HeaderName)),
        (b"0\r\n: empty name\r\n\r\n", ClientError::Malformed(Syntax::HeaderName)),
        (b"0\r\nX: a\x7fb\r\n\r\n", ClientError::Malformed(Syntax::HeaderValue)),
    ];
    for (body, err) in cases {
        let wire = chunked(body);
        let shown = String::from_utf8_lossy(body);
        assert_eq!(parse(&wire), Err(*err), "{shown:?}");
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(
            parse_pieces(cfg(), &bytes),
            Err(*err),
            "byte by byte {shown:?}"
        );
    }
}

#[test]
fn long_size_lines_and_trailer_sections_are_bounded() {
    // A size line (extensions included) of 1024 bytes is the most taken.
    let ext_at_limit = format!("1;{}\r\nx\r\n0\r\n\r\n", "e".repeat(1024 - 2));
    assert_eq!(complete(&chunked(ext_at_limit.as_bytes())).body, b"x");
    let ext_over = format!("1;{}\r\n", "e".repeat(1024 - 1));
    assert_eq!(
        parse(&chunked(ext_over.as_bytes())),
        Err(ClientError::Chunk)
    );
    // Leading zeros count towards the same line limit: no endless size line.
    let zeros = "0".repeat(5000);
    assert_eq!(parse(&chunked(zeros.as_bytes())), Err(ClientError::Chunk));
    // The trailer section is bounded by the head limit (1024 here) ...
    let big_trailer = format!("0\r\nX: {}\r\n\r\n", "v".repeat(1100));
    assert_eq!(
        parse(&chunked(big_trailer.as_bytes())),
        Err(ClientError::HeadTooLarge)
    );
    // ... and by the field count (64).
    let many: String = (0..65).map(|i| format!("X{i}: 1\r\n")).collect();
    let many = format!("0\r\n{many}\r\n");
    assert_eq!(
        parse(&chunked(many.as_bytes())),
        Err(ClientError::HeadTooLarge)
    );
    let ok: String = (0..64).map(|i| format!("X{i}: 1\r\n")).collect();
    let ok = format!("0\r\n{ok}\r\n");
    assert!(complete(&chunked(ok.as_bytes())).body.is_empty());
    // Exactly at the chunk and body limits is fine.
    let forty = "z".repeat(40);
    let at_limits = format!(
        "28\r\n{forty}\r\n28\r\n{forty}\r\n14\r\n{}\r\n0\r\n\r\n",
        "z".repeat(20)
    );
    assert_eq!(complete(&chunked(at_limits.as_bytes())).body.len(), 100);
}

#[test]
fn transfer_encoding_must_be_exactly_chunked() {
    let cases: &[(&[u8], ClientError)] = &[
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            ClientError::TransferEncoding,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            ClientError::TransferEncoding,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
            ClientError::TransferEncoding,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedx\r\n\r\n0\r\n\r\n",
            ClientError::TransferEncoding,
        ),
        (
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            ClientError::TransferEncoding,
        ),
        // Both framings: the smuggling pattern, whichever comes first.
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            ClientError::FramingConflict,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
            ClientError::FramingConflict,
        ),
    ];
    for (wire, err) in cases {
        assert_eq!(
            parse(wire),
            Err(*err),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
    // Case and list whitespace do not matter.
    let r =
        complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding:  ChUnKeD , \r\n\r\n2\r\nok\r\n0\r\n\r\n");
    assert_eq!(r.body, b"ok");
    // No body at all for 204 and HEAD, whatever the framing says.
    assert!(
        complete(b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n")
            .body
            .is_empty()
    );
    let mut p = ResponseParser::new(cfg(), true, 0);
    p.receive(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert!(p.poll(0).expect("valid").expect("complete").body.is_empty());
}

#[test]
fn read_timeout_counts_from_the_last_byte() {
    let config = ClientConfig {
        timeout_ms: 10_000,
        read_timeout_ms: Some(100),
        ..cfg()
    };
    let wire = rich();
    let mut p = ResponseParser::new(config, false, 1_000);
    assert_eq!(p.next_deadline(), Some(1_100));
    p.receive(&wire[..10]);
    assert_eq!(p.poll(1_050), Ok(None));
    assert_eq!(p.next_deadline(), Some(1_150));
    p.receive(&wire[10..40]);
    assert_eq!(p.poll(1_140), Ok(None));
    // Nothing new: the gap since 1140 decides.
    assert_eq!(p.poll(1_239), Ok(None));
    assert_eq!(p.poll(1_240), Err(ClientError::Timeout));

    // A trickle of bytes cannot stretch the whole-response timeout.
    let config = ClientConfig {
        timeout_ms: 500,
        read_timeout_ms: Some(100),
        ..cfg()
    };
    let mut p = ResponseParser::new(config, false, 0);
    let mut now = 0;
    let mut outcome = Ok(None);
    for b in wire.chunks(1) {
        p.receive(b);
        now += 50;
        outcome = p.poll(now);
        if outcome != Ok(None) {
            break;
        }
    }
    assert_eq!(outcome, Err(ClientError::Timeout));
    assert_eq!(now, 500);
    // Without a read timeout only the whole-response timeout applies.
    let mut p = ResponseParser::new(cfg(), false, 0);
    p.receive(&wire[..10]);
    assert_eq!(p.poll(999), Ok(None));
    assert_eq!(p.poll(1_000), Err(ClientError::Timeout));
}

/// Trustee's KBS (actix-web) answers with lower-case field names, a
/// `set-cookie` holding an `Expires` date (with a comma), and JSON bodies
/// framed by `content-length`; a proxy may re-frame the same body chunked
/// and add `Content-Type` parameters.
#[test]
fn trustee_shaped_responses() {
    let body = br#"{"nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","extra-params":""}"#;
    let cookie =
        b"kbs-session-id=0123456789abcdef0123456789abcdef; Expires=Thu, 01 Jan 2026 00:05:00 GMT";
    let mut direct = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nset-cookie: ",
        body.len()
    )
    .into_bytes();
    direct.extend_from_slice(cookie);
    direct.extend_from_slice(
        b"\r\ncontent-type: application/json\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n",
    );
    direct.extend_from_slice(body);
    let r = complete(&direct);
    assert_eq!(r.body, body);
    assert_eq!(r.header("Set-Cookie"), Some(&cookie[..]));

    let mut proxied = b"HTTP/1.1 200 OK\r\nSet-Cookie: ".to_vec();
    proxied.extend_from_slice(cookie);
    proxied.extend_from_slice(b"; Path=/; HttpOnly\r\nContent-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\nVia: 1.1 proxy\r\n\r\n");
    proxied.extend_from_slice(b"25\r\n");
    proxied.extend_from_slice(&body[..37]);
    proxied.extend_from_slice(format!("\r\n{:X}\r\n", body.len() - 37).as_bytes());
    proxied.extend_from_slice(&body[37..]);
    proxied.extend_from_slice(b"\r\n0\r\n\r\n");
    let r = complete(&proxied);
    assert_eq!(r.body, body);
    assert_eq!(
        r.header("content-type"),
        Some(&b"application/json; charset=utf-8"[..])
    );
    // A 401 with Trustee's error body, chunked by the proxy.
    let error = br#"{"type":"https://github.com/confidential-containers/kbs/errors/TokenNotFound","detail":"Attestation Token not found"}"#;
    let mut wire = b"HTTP/1.1 401 Unauthorized\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for piece in error.chunks(40) {
        wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    let config = ClientConfig {
        max_body_bytes: 1024,
        ..cfg()
    };
    let r = parse_pieces(config, &[&wire])
        .expect("valid")
        .expect("complete");
    assert_eq!((r.status, r.body.as_slice()), (401, &error[..]));
}
