//! Client: request encoding and incremental response parsing, including
//! round trips through the server state machine.

mod common;

use common::Rng;
use http1::{
    encode_request, ClientConfig, ClientError, ClientRequest, EncodeError, Header,
    ReceivedResponse, Response, ResponseParser, ServerConn, ServerEvent, Syntax, Version,
};

fn cfg() -> ClientConfig {
    ClientConfig {
        max_head_bytes: 16 * 1024,
        max_body_bytes: 100,
        max_chunk_bytes: 100,
        timeout_ms: 1_000,
        read_timeout_ms: None,
    }
}

fn request<'a>(
    method: &'a str,
    path: &'a str,
    headers: &'a [Header],
    body: &'a [u8],
) -> ClientRequest<'a> {
    ClientRequest {
        method,
        host: "10.0.2.2:8080",
        path,
        headers,
        body,
        close: false,
    }
}

/// Feeds `wire` in `chunk`-byte pieces, polling after each.
fn parse_chunked(wire: &[u8], chunk: usize) -> Result<Option<ReceivedResponse>, ClientError> {
    let mut p = ResponseParser::new(cfg(), false, 0);
    for c in wire.chunks(chunk) {
        p.receive(c);
        match p.poll(0) {
            Ok(None) => {}
            done => return done,
        }
    }
    p.poll(0)
}

fn parse(wire: &[u8]) -> Result<Option<ReceivedResponse>, ClientError> {
    parse_chunked(wire, wire.len().max(1))
}

#[test]
fn encodes_post_with_length() {
    let headers = [Header::new("Content-Type", b"application/json")];
    let wire = encode_request(&request("POST", "/kbs/v0/auth", &headers, b"{}")).expect("valid");
    assert_eq!(
        wire,
        b"POST /kbs/v0/auth HTTP/1.1\r\nHost: 10.0.2.2:8080\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    );
}

#[test]
fn encodes_get_without_length_and_close() {
    let mut req = request("GET", "/kbs/v0/resource/a/b/c", &[], b"");
    req.close = true;
    assert_eq!(
        encode_request(&req).expect("valid"),
        b"GET /kbs/v0/resource/a/b/c HTTP/1.1\r\nHost: 10.0.2.2:8080\r\nConnection: close\r\n\r\n"
    );
    // An empty POST still says Content-Length: 0.
    let wire = encode_request(&request("POST", "/", &[], b"")).expect("valid");
    assert!(wire.ends_with(b"Content-Length: 0\r\n\r\n"));
}

#[test]
fn encode_rejects_injection() {
    let inj = [Header::new("Cookie", b"a\r\nX: y")];
    assert_eq!(
        encode_request(&request("GET", "/", &inj, b"")),
        Err(EncodeError::HeaderValue)
    );
    let host = [Header::new("host", b"evil")];
    assert_eq!(
        encode_request(&request("GET", "/", &host, b"")),
        Err(EncodeError::ReservedHeader("host"))
    );
    assert_eq!(
        encode_request(&request("GET", "/a b", &[], b"")),
        Err(EncodeError::Path)
    );
    assert_eq!(
        encode_request(&request("GET", "a", &[], b"")),
        Err(EncodeError::Path)
    );
    assert_eq!(
        encode_request(&request("GE T", "/", &[], b"")),
        Err(EncodeError::Method)
    );
    let mut bad_host = request("GET", "/", &[], b"");
    bad_host.host = "a\r\nb";
    assert_eq!(encode_request(&bad_host), Err(EncodeError::Host));
}

#[test]
fn parses_response_whole_and_byte_by_byte() {
    let wire = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: kbs-session-id=abc\r\nContent-Length: 5\r\n\r\nhello";
    let whole = parse(wire).expect("ok").expect("complete");
    assert_eq!(whole.status, 200);
    assert_eq!(whole.version, Version::Http11);
    assert_eq!(whole.body, b"hello");
    assert_eq!(whole.header("set-cookie"), Some(&b"kbs-session-id=abc"[..]));
    assert!(whole.keep_alive);
    assert_eq!(
        parse_chunked(wire, 1).expect("ok").expect("complete"),
        whole
    );
}

#[test]
fn random_chunking_gives_the_same_response() {
    let mut rng = Rng(7);
    let body: Vec<u8> = (0..100u8).collect();
    let mut wire =
        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: x\r\nContent-Length: 100\r\n\r\n".to_vec();
    wire.extend_from_slice(&body);
    let whole = parse(&wire).expect("ok").expect("complete");
    for _ in 0..100 {
        let mut p = ResponseParser::new(cfg(), false, 0);
        let mut off = 0;
        let mut got = None;
        while off < wire.len() {
            let n = (1 + rng.below(20)).min(wire.len() - off);
            assert_eq!(p.receive(&wire[off..off + n]), n);
            off += n;
            if let Some(r) = p.poll(0).expect("ok") {
                got = Some(r);
            }
        }
        assert_eq!(got.as_ref(), Some(&whole));
    }
}

#[test]
fn interim_100_is_skipped() {
    let r = parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        .expect("ok")
        .expect("complete");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
}

#[test]
fn no_body_statuses_and_head() {
    let r = parse(b"HTTP/1.1 204 No Content\r\n\r\n")
        .expect("ok")
        .expect("complete");
    assert!(r.body.is_empty() && r.keep_alive);
    let mut p = ResponseParser::new(cfg(), true, 0);
    p.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n");
    let r = p.poll(0).expect("ok").expect("complete");
    assert!(r.body.is_empty());
}

#[test]
fn body_until_close() {
    let mut p = ResponseParser::new(cfg(), false, 0);
    p.receive(b"HTTP/1.0 200 OK\r\n\r\nuntil the end");
    assert_eq!(p.poll(0), Ok(None));
    p.peer_closed();
    let r = p.poll(0).expect("ok").expect("complete");
    assert_eq!(r.body, b"until the end");
    assert!(!r.keep_alive);
    // Over the body limit without a length.
    let mut p = ResponseParser::new(cfg(), false, 0);
    p.receive(b"HTTP/1.1 200 OK\r\n\r\n");
    p.receive(&[b'x'; 200]);
    assert_eq!(p.poll(0), Err(ClientError::BodyTooLarge));
}

#[test]
fn keep_alive_flags() {
    let r = parse(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        .expect("ok")
        .expect("complete");
    assert!(!r.keep_alive);
    let r = parse(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
        .expect("ok")
        .expect("complete");
    assert!(!r.keep_alive);
    let r = parse(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
        .expect("ok")
        .expect("complete");
    assert!(r.keep_alive);
    // `close` wins over `keep-alive`, as on the server side (the same rule).
    let r = parse(b"HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n")
        .expect("ok")
        .expect("complete");
    assert!(!r.keep_alive);
}

#[test]
fn hostile_responses() {
    let cases: &[(&[u8], ClientError)] = &[
        (b"garbage\r\n\r\n", ClientError::Malformed(Syntax::Version)),
        (
            b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
            ClientError::Malformed(Syntax::BareLineEnding),
        ),
        (
            b"HTTP/1.1 2000 OK\r\n\r\n",
            ClientError::Malformed(Syntax::StartLine),
        ),
        (
            b"HTTP/1.1 200 OK\r\nX: a\0\r\n\r\n",
            ClientError::Malformed(Syntax::HeaderValue),
        ),
        (
            b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
            ClientError::Malformed(Syntax::HeaderName),
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            ClientError::ContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
            ClientError::ContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n",
            ClientError::BodyTooLarge,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            ClientError::BodyTooLarge,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
            ClientError::TransferEncoding,
        ),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
            ClientError::SwitchingProtocols,
        ),
    ];
    for (wire, err) in cases {
        assert_eq!(
            parse(wire),
            Err(*err),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
        assert_eq!(
            parse_chunked(wire, 1),
            Err(*err),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
}

#[test]
fn oversized_response_head() {
    let mut wire = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    wire.extend(std::iter::repeat_n(b'a', 17 * 1024));
    let mut p = ResponseParser::new(cfg(), false, 0);
    assert_eq!(p.receive(&wire), 16 * 1024);
    assert_eq!(p.poll(0), Err(ClientError::HeadTooLarge));
}

#[test]
fn timeout_and_truncation() {
    let mut p = ResponseParser::new(cfg(), false, 5_000);
    p.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    assert_eq!(p.next_deadline(), Some(6_000));
    assert_eq!(p.poll(5_999), Ok(None));
    assert_eq!(p.poll(6_000), Err(ClientError::Timeout));
    assert_eq!(p.next_deadline(), None);

    let mut p = ResponseParser::new(cfg(), false, 0);
    p.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    p.peer_closed();
    assert_eq!(p.poll(0), Err(ClientError::Truncated));
}

#[test]
fn bytes_after_response_forbid_reuse() {
    let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
    let mut p = ResponseParser::new(cfg(), false, 0);
    assert_eq!(p.receive(wire), wire.len());
    let r = p.poll(0).expect("ok").expect("complete");
    assert_eq!((r.body.as_slice(), r.keep_alive), (&b"ok"[..], false));
    // Same when the extra bytes come in a later segment.
    let mut p = ResponseParser::new(cfg(), false, 0);
    p.receive(&wire[..wire.len() - 5]);
    p.receive(b"EXTRA");
    let r = p.poll(0).expect("ok").expect("complete");
    assert!(!r.keep_alive);
}

#[test]
fn round_trip_through_server() {
    let headers = [Header::new("Content-Type", b"application/json")];
    let wire =
        encode_request(&request("POST", "/kbs/v0/attest", &headers, b"{\"a\":1}")).expect("valid");
    let mut server = ServerConn::new(common::config(), 0);
    // The head first (the server stops there for a body), then the body.
    let head = server.receive(&wire, 0);
    assert_eq!(head + server.receive(&wire[head..], 0), wire.len());
    let ServerEvent::Request(req) = server.poll(0) else {
        panic!("no request")
    };
    assert_eq!(req.path, "/kbs/v0/attest");
    assert_eq!(req.header("host"), Some(&b"10.0.2.2:8080"[..]));
    assert_eq!(req.body, b"{\"a\":1}");

    let out = server
        .respond(
            &Response::new(200, b"{}".to_vec()).with_header("Content-Type", b"application/json"),
            0,
        )
        .expect("valid");
    let resp = parse(&out.bytes).expect("ok").expect("complete");
    assert_eq!(
        (resp.status, resp.body.as_slice(), resp.keep_alive),
        (200, &b"{}"[..], true)
    );
}
