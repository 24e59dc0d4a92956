//! Turns a complete, CRLF-checked request head into owned parts and applies
//! the framing rules (RFC 9112 §6) before any body byte is read.

use alloc::string::String;
use alloc::vec::Vec;

use super::error::RequestError;
use crate::error::Syntax;
use crate::fields::{
    content_length, header_value, header_values, keeps_alive, Header, LengthError,
};
use crate::message::Version;
use crate::MAX_HEADERS;

pub(crate) struct RequestHead {
    pub method: String,
    pub path: String,
    pub version: Version,
    pub headers: Vec<Header>,
    pub body_len: usize,
    pub keep_alive: bool,
    /// Client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
}

pub(crate) fn parse_request_head(
    head: &[u8],
    max_body: usize,
) -> Result<RequestHead, RequestError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    Syntax::check(req.parse(head))
        .map_err(|e| e.map_or(RequestError::HeadTooLarge, RequestError::Malformed))?;
    let (Some(method), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(RequestError::Malformed(Syntax::StartLine));
    };
    let version = Version::from_minor(minor).ok_or(RequestError::Malformed(Syntax::Version))?;
    if !(path.starts_with('/') || (path == "*" && method == "OPTIONS")) {
        return Err(RequestError::Target);
    }
    let headers = Header::from_parsed(req.headers);

    let hosts = header_values(&headers, "host").count();
    if hosts > 1 || (hosts == 0 && version == Version::Http11) {
        return Err(RequestError::Host);
    }

    let declared = content_length(&headers, max_body);
    if header_value(&headers, "transfer-encoding").is_some() {
        if version == Version::Http10 || !matches!(declared, Ok(None)) {
            return Err(RequestError::ConflictingFraming);
        }
        return Err(RequestError::TransferEncoding);
    }
    let body_len = match declared {
        Ok(None) => 0,
        Ok(Some(n)) => n,
        Err(LengthError::Invalid) => return Err(RequestError::ContentLength),
        Err(LengthError::Duplicate) => return Err(RequestError::DuplicateContentLength),
        // All digits but over the limit (or past u64): a size, just too large.
        Err(LengthError::TooLarge) => return Err(RequestError::BodyTooLarge),
    };

    // RFC 9110 §10.1.1: HTTP/1.0 recipients ignore Expect.
    let mut expect_continue = false;
    if version == Version::Http11 {
        for v in header_values(&headers, "expect") {
            if !v.eq_ignore_ascii_case(b"100-continue") {
                return Err(RequestError::Expectation);
            }
            expect_continue = body_len > 0;
        }
    }

    let keep_alive = keeps_alive(version, &headers);

    Ok(RequestHead {
        method: String::from(method),
        path: String::from(path),
        version,
        headers,
        body_len,
        keep_alive,
        expect_continue,
    })
}
