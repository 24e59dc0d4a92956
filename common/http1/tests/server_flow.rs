//! Well-formed traffic: keep-alive, pipelining, chunked delivery, HTTP/1.0,
//! Expect, HEAD, and the respond() contract.

mod common;

use common::{contains, outcome, Harness, Rng};
use http1::{
    CloseReason, EncodeError, Header, RespondError, Response, ServerConn, ServerEvent, Version,
};

const OK: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

#[test]
fn keep_alive_sequence_then_connection_close() {
    let mut h = Harness::new();
    for i in 1..=3 {
        h.feed(OK);
        h.advance(1_000);
        assert_eq!(h.statuses.len(), i);
        assert_eq!(h.last_close, Some(false));
        assert!(!h.is_closed());
    }
    h.feed(b"GET /bye HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n");
    assert_eq!(h.statuses, [200; 4]);
    assert_eq!(h.last_close, Some(true));
    assert_eq!(h.closed, Some(CloseReason::AfterResponse));
    assert!(h.wire.ends_with(b"Connection: close\r\n\r\nGET /bye 0"));
}

#[test]
fn idle_timer_restarts_after_each_response() {
    let mut h = Harness::new();
    h.advance(4_000);
    h.feed(OK);
    assert_eq!(h.conn.next_deadline(), Some(9_000));
    h.advance(4_999);
    assert!(!h.is_closed());
    h.advance(1);
    assert_eq!(h.closed, Some(CloseReason::Idle));
    assert_eq!(h.statuses, [200]);
}

#[test]
fn http10_closes_by_default_and_keeps_alive_on_request() {
    assert_eq!(outcome(b"GET / HTTP/1.0\r\n\r\n"), (vec![200], true));
    let mut h = Harness::new();
    h.feed(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![200], false));
    assert!(contains(&h.wire, b"\r\nConnection: keep-alive\r\n"));
    assert_eq!(h.requests[0].version, Version::Http10);
}

#[test]
fn pipelined_requests_answered_in_order() {
    let mut input = Vec::new();
    for i in 0..3 {
        input.extend_from_slice(
            format!("POST /{i} HTTP/1.1\r\nHost: a\r\nContent-Length: {i}\r\n\r\n").as_bytes(),
        );
        input.extend(std::iter::repeat_n(b'z', i));
    }
    input.extend_from_slice(OK);
    let mut h = Harness::new();
    h.feed(&input);
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![200; 4], false));
    let paths: Vec<_> = h.requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/0", "/1", "/2", "/"]);
    let text = String::from_utf8(h.wire).expect("ascii");
    let bodies: Vec<_> = text.split("\r\n\r\n").skip(1).collect();
    assert_eq!(
        bodies,
        [
            "POST /0 0HTTP/1.1 200 OK\r\nContent-Length: 9",
            "POST /1 1HTTP/1.1 200 OK\r\nContent-Length: 9",
            "POST /2 2HTTP/1.1 200 OK\r\nContent-Length: 7",
            "GET / 0"
        ]
    );
}

#[test]
fn request_in_one_byte_chunks() {
    let req = b"POST /x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
    let mut h = Harness::new();
    h.feed_chunks(req, 1);
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![200], false));
    let r = &h.requests[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/x?y=1"));
    assert_eq!(r.body, b"hello");
    assert_eq!(r.header("x-a"), Some(&b"b"[..]));
}

#[test]
fn leading_empty_lines_are_ignored() {
    assert_eq!(
        outcome(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        (vec![200], false)
    );
}

#[test]
fn unknown_method_reaches_the_application() {
    let mut h = Harness::new();
    h.feed(b"BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(h.requests[0].method, "BREW");
}

#[test]
fn expect_100_continue() {
    let mut h = Harness::new();
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    assert_eq!(h.continues, 1);
    assert!(h.statuses.is_empty());
    h.feed(b"abc");
    assert_eq!(h.statuses, [200]);
    // Body already sent with the head: no interim response needed.
    let mut h = Harness::new();
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!((h.continues, h.statuses.clone()), (0, vec![200]));
    // HTTP/1.0 ignores Expect.
    let mut h = Harness::new();
    h.feed(b"POST / HTTP/1.0\r\nExpect: x\r\nContent-Length: 1\r\n\r\na");
    assert_eq!((h.continues, h.statuses.clone()), (0, vec![200]));
}

#[test]
fn a_body_is_declared_until_read_and_can_be_refused_busy() {
    let head = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    let mut conn = ServerConn::new(common::config(), 0);
    assert_eq!(conn.body_in_progress(), None);
    assert_eq!(conn.receive(head, 0), head.len());
    assert_eq!(conn.body_in_progress(), Some(5));
    assert_eq!(conn.receive(b"ab", 0), 2);
    assert_eq!(conn.body_in_progress(), Some(5));
    conn.refuse_busy();
    // No `100 Continue` after the refusal: the 503, then the close.
    match conn.poll(0) {
        ServerEvent::Reject { error, response } => {
            assert_eq!(error.status(), 503);
            assert!(response.starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"));
            assert!(contains(&response, b"Retry-After: 1\r\n"));
            assert!(contains(&response, b"Connection: close\r\n"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        conn.poll(0),
        ServerEvent::Close(CloseReason::AfterReject)
    ));
    // The rest of the body is drained, not parsed as a request.
    assert_eq!(conn.receive(b"cde", 0), 3);
    assert_eq!(conn.body_in_progress(), None);

    // Once the body is complete nothing is in progress, and a refusal then
    // changes nothing: the request is served.
    let mut conn = ServerConn::new(common::config(), 0);
    conn.receive(head, 0);
    assert!(matches!(conn.poll(0), ServerEvent::Send(_)));
    conn.receive(b"abcde", 0);
    assert_eq!(conn.body_in_progress(), None);
    conn.refuse_busy();
    assert!(matches!(conn.poll(0), ServerEvent::Request(r) if r.body == b"abcde"));
}

#[test]
fn receive_stops_after_a_head_that_declares_a_body() {
    // Head and body in one piece: the head is taken, the body given back,
    // and no `100 Continue` is owed (the body was on its way).
    let head = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    let wire = [&head[..], b"abcdeGET / HTTP/1.1\r\nHost: a\r\n\r\n"].concat();
    let mut conn = ServerConn::new(common::config(), 0);
    assert_eq!(conn.receive(&wire, 0), head.len());
    assert_eq!(conn.body_in_progress(), Some(5));
    assert!(matches!(conn.poll(0), ServerEvent::Pending));
    let rest = conn.receive(&wire[head.len()..], 0);
    assert_eq!(rest, wire.len() - head.len());
    assert!(matches!(conn.poll(0), ServerEvent::Request(r) if r.body == b"abcde"));

    // A pipelined request whose body is already buffered is in progress
    // once the previous response went, and can still be refused.
    let wire = [OK, &head[..], b"abcde"].concat();
    let mut conn = ServerConn::new(common::config(), 0);
    assert_eq!(conn.receive(&wire, 0), wire.len());
    assert!(matches!(conn.poll(0), ServerEvent::Request(_)));
    conn.respond(&Response::new(204, Vec::new()), 0)
        .expect("valid");
    assert_eq!(conn.body_in_progress(), Some(5));
    conn.refuse_busy();
    assert!(matches!(conn.poll(0), ServerEvent::Reject { error, .. } if error.status() == 503));

    // Without a body nothing stops: two GETs in one piece are both taken.
    let wire = [OK, OK].concat();
    let mut conn = ServerConn::new(common::config(), 0);
    assert_eq!(conn.receive(&wire, 0), wire.len());
    assert_eq!(conn.body_in_progress(), None);
}

#[test]
fn head_response_has_length_but_no_body() {
    let mut h = Harness::new();
    h.feed(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(
        h.wire.ends_with(b"Content-Length: 8\r\n\r\n"),
        "{:?}",
        String::from_utf8_lossy(&h.wire)
    );
}

#[test]
fn pipelined_bytes_are_bounded_while_a_request_waits() {
    let mut conn = ServerConn::new(common::config(), 0);
    let mut input = OK.to_vec();
    input.extend(std::iter::repeat_n(b'A', 20_000));
    let taken = conn.receive(&input, 0);
    assert_eq!(taken, OK.len() + 16 * 1024);
    assert!(matches!(conn.poll(0), ServerEvent::Request(_)));
    // Still nothing more taken until the response is out.
    assert_eq!(conn.receive(&input[taken..], 0), 0);
    let out = conn
        .respond(&Response::new(200, Vec::new()), 0)
        .expect("valid");
    assert!(!out.close);
    // The buffered junk then fails the head limit.
    match conn.poll(0) {
        ServerEvent::Reject { error, .. } => assert_eq!(error.status(), 431),
        other => panic!("{other:?}"),
    }
}

#[test]
fn respond_contract() {
    let mut conn = ServerConn::new(common::config(), 0);
    assert_eq!(
        conn.respond(&Response::new(200, Vec::new()), 0),
        Err(RespondError::NoRequest)
    );
    conn.receive(OK, 0);
    assert!(matches!(conn.poll(0), ServerEvent::Request(_)));
    let bad = Response::new(200, Vec::new()).with_header("X", b"a\r\nSet-Cookie: x");
    assert_eq!(
        conn.respond(&bad, 0),
        Err(RespondError::Invalid(EncodeError::HeaderValue))
    );
    let framing = Response::new(200, Vec::new()).with_header("Content-Length", b"0");
    assert_eq!(
        conn.respond(&framing, 0),
        Err(RespondError::Invalid(EncodeError::ReservedHeader(
            "content-length"
        )))
    );
    assert_eq!(
        conn.respond(&Response::new(204, b"x".to_vec()), 0),
        Err(RespondError::Invalid(EncodeError::BodyNotAllowed(204)))
    );
    assert_eq!(
        conn.respond(&Response::new(100, Vec::new()), 0),
        Err(RespondError::Invalid(EncodeError::Status(100)))
    );
    // The request still waits; a valid response goes through.
    let mut ok = Response::new(404, b"nope".to_vec()).with_header("Content-Type", b"text/plain");
    ok.close = true;
    let out = conn.respond(&ok, 0).expect("valid");
    assert_eq!(
        out.bytes,
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope"
    );
    assert!(out.close);
    assert_eq!(conn.poll(0), ServerEvent::Close(CloseReason::AfterResponse));
}

#[test]
fn no_content_has_no_length() {
    let mut conn = ServerConn::new(common::config(), 0);
    conn.receive(OK, 0);
    assert!(matches!(conn.poll(0), ServerEvent::Request(_)));
    let out = conn
        .respond(&Response::new(204, Vec::new()), 0)
        .expect("valid");
    assert_eq!(out.bytes, b"HTTP/1.1 204 No Content\r\n\r\n");
}

/// A random valid request and what the server must make of it.
fn random_request(rng: &mut Rng) -> (Vec<u8>, String, String, Vec<Header>, Vec<u8>) {
    let method = ["GET", "POST", "PUT", "DELETE", "X-CUSTOM"][rng.below(5)].to_string();
    let path = format!("/p{}?q={}", rng.below(1000), rng.below(1000));
    let mut headers = vec![Header::new("Host", b"10.0.2.2:8080")];
    for i in 0..rng.below(6) {
        let value: Vec<u8> = (0..rng.below(40))
            .map(|_| b'a' + rng.below(26) as u8)
            .collect();
        headers.push(Header::new(&format!("X-H{i}"), &value));
    }
    let body: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
    headers.push(Header::new(
        "Content-Length",
        body.len().to_string().as_bytes(),
    ));
    let mut wire = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
    for h in &headers {
        wire.extend_from_slice(format!("{}: ", h.name).as_bytes());
        wire.extend_from_slice(&h.value);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"\r\n");
    wire.extend_from_slice(&body);
    (wire, method, path, headers, body)
}

#[test]
fn random_chunking_gives_the_same_requests() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..200 {
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let (w, m, p, hs, b) = random_request(&mut rng);
            wire.extend_from_slice(&w);
            expected.push((m, p, hs, b));
        }
        let mut whole = Harness::new();
        whole.feed(&wire);

        let mut split = Harness::new();
        let mut off = 0;
        while off < wire.len() {
            let n = (1 + rng.below(64)).min(wire.len() - off);
            split.feed(&wire[off..off + n]);
            off += n;
        }
        assert_eq!(whole.requests, split.requests, "round {round}");
        assert_eq!(whole.wire, split.wire, "round {round}");
        assert!(!split.is_closed());
        let got: Vec<_> = split
            .requests
            .into_iter()
            .map(|r| (r.method, r.path, r.headers, r.body))
            .collect();
        assert_eq!(got, expected, "round {round}");
    }
}

/// Drives one request to the point where it waits for a response.
fn waiting(input: &[u8], now: u64) -> (ServerConn, http1::Request) {
    let mut conn = ServerConn::new(common::config(), 0);
    assert_eq!(conn.receive(input, now), input.len());
    match conn.poll(now) {
        ServerEvent::Request(req) => (conn, req),
        other => panic!("expected a request, got {other:?}"),
    }
}

#[test]
fn streamed_response_declares_the_length_and_carries_no_body() {
    let (mut conn, _) = waiting(OK, 10);
    let out = conn
        .respond_streamed(
            &Response::new(200, Vec::new()).with_header("Content-Type", b"x/y"),
            5_000_000,
            10,
        )
        .expect("valid streamed head");
    assert_eq!(
        out.bytes,
        b"HTTP/1.1 200 OK\r\nContent-Type: x/y\r\nContent-Length: 5000000\r\n\r\n"
    );
    assert_eq!((out.body_len, out.close), (5_000_000, false));
    // The connection reads the next request as after `respond`.
    assert_eq!(conn.receive(OK, 20), OK.len());
    assert!(matches!(conn.poll(20), ServerEvent::Request(_)));

    let (mut conn, _) = waiting(
        b"HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        0,
    );
    let out = conn
        .respond_streamed(&Response::new(200, Vec::new()), 7, 0)
        .expect("valid streamed head");
    assert!(contains(&out.bytes, b"\r\nContent-Length: 7\r\n"));
    assert!(contains(&out.bytes, b"\r\nConnection: close\r\n"));
    assert_eq!((out.body_len, out.close), (0, true));
    assert!(conn.is_closed());
}

#[test]
fn streamed_response_contract() {
    let (mut conn, _) = waiting(OK, 0);
    assert_eq!(
        conn.respond_streamed(&Response::new(200, b"inline".to_vec()), 6, 0),
        Err(RespondError::Invalid(
            EncodeError::InlineBodyWithStreamedLength
        ))
    );
    assert_eq!(
        conn.respond_streamed(&Response::new(204, Vec::new()), 1, 0),
        Err(RespondError::Invalid(EncodeError::BodyNotAllowed(204)))
    );
    // Nothing was sent: the request still waits, and a valid head goes out.
    assert!(conn
        .respond_streamed(&Response::new(200, Vec::new()), 1, 0)
        .is_ok());
    assert_eq!(
        conn.respond_streamed(&Response::new(200, Vec::new()), 1, 0),
        Err(RespondError::NoRequest)
    );
}

#[test]
fn response_sent_restarts_the_idle_timer() {
    // idle 5 s: a response whose body took 8 s to drain does not make the
    // connection idle the moment it is out.
    let (mut conn, _) = waiting(OK, 1_000);
    conn.respond_streamed(&Response::new(200, Vec::new()), 1 << 30, 1_000)
        .expect("valid streamed head");
    conn.response_sent(9_000);
    assert_eq!(conn.next_deadline(), Some(14_000));
    assert_eq!(conn.poll(13_999), ServerEvent::Pending);
    assert_eq!(conn.poll(14_000), ServerEvent::Close(CloseReason::Idle));

    // A pipelined partial request's read timer (2 s) also restarts.
    let mut input = OK.to_vec();
    input.extend_from_slice(b"GET /next HTTP/1.1\r\n");
    let (mut conn, _) = waiting(&input, 0);
    conn.respond(&Response::new(200, Vec::new()), 100)
        .expect("valid response");
    conn.response_sent(5_000);
    assert_eq!(conn.next_deadline(), Some(7_000));
    assert_eq!(conn.poll(6_999), ServerEvent::Pending);
    assert!(matches!(
        conn.poll(7_000),
        ServerEvent::Reject {
            error: http1::RequestError::Timeout,
            ..
        }
    ));
}

/// A connection that has not completed a head yet gets the (shorter) head
/// timeout; once one request went through, the idle timeout applies.
#[test]
fn connections_without_a_request_head_time_out_sooner() {
    let cfg = http1::ServerConfig {
        head_timeout_ms: 1_000,
        ..common::config()
    };
    // Silent from the start: closed without a byte at 1 s, not 5 s.
    let mut h = Harness::with_config(cfg);
    assert_eq!(h.conn.next_deadline(), Some(1_000));
    h.advance(999);
    assert!(!h.is_closed());
    h.advance(1);
    assert_eq!(h.closed, Some(CloseReason::Idle));
    assert!(h.wire.is_empty());

    // Part of a head: 408 at 1 s after opening (the read timeout is 2 s).
    let mut h = Harness::with_config(cfg);
    h.advance(500);
    h.feed(b"GET / HTTP/1.1\r\nHo");
    assert_eq!(h.conn.next_deadline(), Some(1_000));
    h.advance(499);
    assert!(!h.is_closed());
    h.advance(1);
    assert_eq!(h.rejected, Some(http1::RequestError::Timeout));

    // A kept-alive connection after one request: the 5 s idle timeout.
    let mut h = Harness::with_config(cfg);
    h.feed(OK);
    assert_eq!(h.statuses, [200]);
    h.advance(4_999);
    assert!(!h.is_closed());
    h.advance(1);
    assert_eq!(h.closed, Some(CloseReason::Idle));

    // A head that completes in time leaves a slow body to the read timeout.
    let mut h = Harness::with_config(cfg);
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab");
    h.advance(1_500);
    assert!(!h.is_closed());
    h.feed(b"cd");
    assert_eq!(h.statuses, [200]);
}
