//! Hostile and malformed requests: each asserts the exact status written and
//! whether the connection is closed.

mod common;

use common::{config, contains, outcome, Harness};
use http1::{CloseReason, RequestError, ServerConfig, Syntax};

const OK: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

/// Asserts one rejection with `status` and a closed connection, whether the
/// input arrives whole or one byte at a time.
fn rejected(input: &[u8], status: u16) {
    let shown = String::from_utf8_lossy(input);
    assert_eq!(outcome(input), (vec![status], true), "{shown:?}");
    let mut h = Harness::new();
    h.feed_chunks(input, 1);
    assert_eq!(
        (h.statuses.clone(), h.is_closed()),
        (vec![status], true),
        "1-byte chunks: {shown:?}"
    );
}

#[test]
fn valid_request_is_served_and_kept_open() {
    assert_eq!(outcome(OK), (vec![200], false));
}

#[test]
fn garbage_text() {
    rejected(b"HELLO WORLD\r\n\r\n", 400);
    rejected(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400); // TLS hello
    rejected(b"GET\r\n\r\n", 400);
    rejected(b"GET /\r\n\r\n", 400); // HTTP/0.9
}

#[test]
fn binary_garbage() {
    let bytes: Vec<u8> = (0u8..=255).collect();
    rejected(&bytes, 400);
}

#[test]
fn binary_garbage_without_line_breaks_hits_head_limit() {
    let mut h = Harness::new();
    h.feed(&vec![0x01u8; 20_000]);
    assert_eq!(h.statuses, [431]);
    assert_eq!(h.rejected, Some(RequestError::HeadTooLarge));
    assert_eq!(h.closed, Some(CloseReason::AfterReject));
}

#[test]
fn nul_in_header_value() {
    rejected(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 400);
}

#[test]
fn nul_in_header_name() {
    rejected(b"GET / HTTP/1.1\r\nHost: a\r\nX\0Y: b\r\n\r\n", 400);
}

#[test]
fn nul_and_space_in_target() {
    rejected(b"GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    rejected(b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

#[test]
fn control_byte_in_header_value() {
    rejected(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x07b\r\n\r\n", 400);
}

#[test]
fn oversized_single_header() {
    let mut req = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
    req.extend(std::iter::repeat_n(b'a', 17 * 1024));
    req.extend_from_slice(b"\r\n\r\n");
    let mut h = Harness::new();
    h.feed(&req);
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![431], true));
    assert_eq!(h.rejected, Some(RequestError::HeadTooLarge));
}

#[test]
fn head_exactly_at_limit_is_accepted_one_more_byte_is_not() {
    let build = |total: usize| {
        let mut req = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
        let pad = total - req.len() - 4;
        req.extend(std::iter::repeat_n(b'a', pad));
        req.extend_from_slice(b"\r\n\r\n");
        assert_eq!(req.len(), total);
        req
    };
    assert_eq!(outcome(&build(16 * 1024)), (vec![200], false));
    assert_eq!(outcome(&build(16 * 1024 + 1)), (vec![431], true));
}

#[test]
fn too_many_headers() {
    let mut req = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..64 {
        req.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    rejected(&req, 431);
}

#[test]
fn many_empty_lines_hit_head_limit() {
    rejected(&b"\r\n".repeat(9000), 431);
}

#[test]
fn huge_content_length() {
    rejected(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        413,
    );
    rejected(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n",
        413,
    );
}

#[test]
fn body_limit_boundary() {
    // Limit is 1000 in the harness config.
    let mut ok = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n".to_vec();
    ok.extend(std::iter::repeat_n(b'x', 1000));
    assert_eq!(outcome(&ok), (vec![200], false));
    // 413 comes from the declared length, before any body byte.
    rejected(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n",
        413,
    );
}

#[test]
fn negative_content_length() {
    rejected(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        400,
    );
}

#[test]
fn non_numeric_content_length() {
    for v in ["abc", "0x10", "1e3", "+5", "5 5", "5, 5", "", "５"] {
        let req = format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {v}\r\n\r\n");
        rejected(req.as_bytes(), 400);
    }
}

#[test]
fn duplicate_content_length_even_if_equal() {
    rejected(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        400,
    );
}

#[test]
fn conflicting_content_length() {
    let mut h = Harness::new();
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\nxy");
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![400], true));
    assert_eq!(h.rejected, Some(RequestError::DuplicateContentLength));
}

#[test]
fn transfer_encoding_chunked_is_not_implemented() {
    let mut h = Harness::new();
    h.feed(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![501], true));
    assert_eq!(h.rejected, Some(RequestError::TransferEncoding));
}

#[test]
fn transfer_encoding_with_content_length_is_bad_request() {
    rejected(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
        400,
    );
}

#[test]
fn transfer_encoding_in_http10_is_bad_request() {
    rejected(
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    );
}

#[test]
fn lying_content_length_short_makes_rest_a_bad_request() {
    // Declares 2 bytes, sends 5: "llo" then starts the next "request".
    let mut h = Harness::new();
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhello\r\n\r\n");
    assert_eq!(h.requests.len(), 1);
    assert_eq!(h.requests[0].body, b"he");
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![200, 400], true));
}

#[test]
fn lying_content_length_long_stalls_then_408() {
    let mut h = Harness::new();
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    h.advance(1_999);
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![], false));
    h.advance(1);
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![408], true));
    assert_eq!(h.rejected, Some(RequestError::Timeout));
}

#[test]
fn bare_lf_line_endings_rejected() {
    let mut h = Harness::new();
    h.feed(b"GET / HTTP/1.1\nHost: a\n\n");
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![400], true));
    assert_eq!(
        h.rejected,
        Some(RequestError::Malformed(Syntax::BareLineEnding))
    );
    // Mixed: one header line with bare LF.
    rejected(b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400);
}

#[test]
fn bare_cr_rejected() {
    rejected(b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400);
}

#[test]
fn header_without_colon() {
    rejected(b"GET / HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n", 400);
}

#[test]
fn whitespace_before_colon() {
    rejected(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);
}

#[test]
fn obs_fold_continuation() {
    rejected(b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 400);
}

#[test]
fn host_rules() {
    rejected(b"GET / HTTP/1.1\r\n\r\n", 400);
    rejected(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    // HTTP/1.0 does not require Host; it closes after the response.
    assert_eq!(outcome(b"GET / HTTP/1.0\r\n\r\n"), (vec![200], true));
}

#[test]
fn targets() {
    rejected(b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    rejected(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    assert_eq!(
        outcome(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
        (vec![200], false)
    );
}

#[test]
fn unsupported_versions() {
    rejected(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400);
    rejected(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400);
    rejected(b"GET / http/1.1\r\nHost: a\r\n\r\n", 400);
    rejected(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400);
}

#[test]
fn expect_other_than_continue() {
    rejected(
        b"POST / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx",
        417,
    );
}

#[test]
fn stall_mid_headers_is_408_from_first_byte() {
    let mut h = Harness::new();
    h.feed(b"GET / HTTP/1.1\r\nHo");
    h.advance(1_000);
    h.feed(b"st: a\r\n"); // more bytes do not extend the deadline
    h.advance(999);
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![], false));
    assert_eq!(h.conn.next_deadline(), Some(2_000));
    h.advance(1);
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![408], true));
}

#[test]
fn slowloris_one_byte_at_a_time_is_cut_off() {
    let mut h = Harness::new();
    for &b in OK.iter().take(OK.len() - 1) {
        h.feed(&[b]);
        h.advance(100);
        if h.is_closed() {
            break;
        }
    }
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![408], true));
    assert!(h.now <= 2_000);
}

#[test]
fn stall_mid_body() {
    let mut h = Harness::new();
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab");
    h.advance(2_000);
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![408], true));
}

#[test]
fn idle_connection_closes_silently() {
    let mut h = Harness::new();
    h.advance(4_999);
    assert!(!h.is_closed());
    h.advance(1);
    assert_eq!(h.closed, Some(CloseReason::Idle));
    assert!(h.wire.is_empty());
}

#[test]
fn peer_close_mid_request_is_400() {
    let mut h = Harness::new();
    h.feed(b"GET / HTTP/1.1\r\nHost:");
    h.peer_closed();
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![400], true));
    assert_eq!(h.rejected, Some(RequestError::Truncated));
}

#[test]
fn peer_half_close_after_request_is_served_then_closed() {
    let mut h = Harness::new();
    h.feed(OK);
    h.peer_closed();
    assert_eq!(h.statuses, [200]);
    assert_eq!(h.closed, Some(CloseReason::PeerClosed));
}

#[test]
fn bytes_after_rejection_are_dropped() {
    let mut h = Harness::new();
    h.feed(b"BAD\r\n\r\n");
    h.feed(OK);
    h.feed(OK);
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![400], true));
    assert!(h.requests.is_empty());
}

#[test]
fn rejection_after_good_requests_keeps_their_responses() {
    let mut input = OK.repeat(2);
    input.extend_from_slice(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n");
    input.extend_from_slice(OK);
    assert_eq!(outcome(&input), (vec![200, 200, 400], true));
}

#[test]
fn error_response_is_fixed_text_with_length() {
    let mut h = Harness::new();
    h.feed(b"GET /<script> HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n");
    let wire = String::from_utf8(h.wire.clone()).expect("ascii");
    assert!(wire.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{wire}");
    assert!(wire.contains("Content-Length: 36\r\n"), "{wire}");
    assert!(
        wire.ends_with("\r\n\r\nbad request: invalid Content-Length\n"),
        "{wire}"
    );
    assert!(!contains(&h.wire, b"script"));
}

#[test]
fn custom_head_limit() {
    let cfg = ServerConfig {
        max_head_bytes: 64,
        ..config()
    };
    let mut h = Harness::with_config(cfg);
    h.feed(
        b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert_eq!((h.statuses.clone(), h.is_closed()), (vec![431], true));
}
