//! Encoding server responses, including the fixed error responses.

use alloc::string::ToString;
use alloc::vec::Vec;

use super::error::RequestError;
use crate::encode::{check_headers, push_header};
use crate::error::EncodeError;
use crate::message::{Response, Version};
use crate::status::reason_phrase;

/// How the connection continues after this response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persistence {
    Close,
    KeepAlive(Version),
}

/// Serialises `resp`. For HEAD (`head_only`) the `Content-Length` of the body
/// is sent but not the body (RFC 9110 §9.3.2).
pub(crate) fn encode_response(
    resp: &Response,
    head_only: bool,
    persistence: Persistence,
) -> Result<Vec<u8>, EncodeError> {
    let mut out = encode_head(resp, resp.body.len(), persistence)?;
    if !head_only {
        out.extend_from_slice(&resp.body);
    }
    Ok(out)
}

/// The head of a response whose `body_len` body bytes the caller sends
/// itself; `resp.body` must be empty.
#[cfg(feature = "streamed-response")]
pub(crate) fn encode_streamed_head(
    resp: &Response,
    body_len: usize,
    persistence: Persistence,
) -> Result<Vec<u8>, EncodeError> {
    if !resp.body.is_empty() {
        return Err(EncodeError::InlineBodyWithStreamedLength);
    }
    encode_head(resp, body_len, persistence)
}

/// Status line, fields, `Content-Length: body_len` (except 204/304) and the
/// blank line.
fn encode_head(
    resp: &Response,
    body_len: usize,
    persistence: Persistence,
) -> Result<Vec<u8>, EncodeError> {
    if !(200..=599).contains(&resp.status) {
        return Err(EncodeError::Status(resp.status));
    }
    let no_body_status = resp.status == 204 || resp.status == 304;
    if no_body_status && body_len != 0 {
        return Err(EncodeError::BodyNotAllowed(resp.status));
    }
    check_headers(&resp.headers)?;

    let mut out = Vec::with_capacity(128 + resp.body.len());
    status_line(&mut out, resp.status);
    for h in &resp.headers {
        push_header(&mut out, &h.name, &h.value);
    }
    if !no_body_status {
        push_header(&mut out, "Content-Length", body_len.to_string().as_bytes());
    }
    match persistence {
        Persistence::Close => push_header(&mut out, "Connection", b"close"),
        // HTTP/1.0 clients only keep the connection when told so.
        Persistence::KeepAlive(Version::Http10) => {
            push_header(&mut out, "Connection", b"keep-alive")
        }
        Persistence::KeepAlive(Version::Http11) => {}
    }
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// The response for a rejected request: its status, a fixed plain-text
/// reason, `Connection: close`; a 503 also says when to retry (clients
/// tell a busy server from a dead one by it).
/// Encoded like any response (fields, then `Content-Length` and
/// `Connection: close`); it cannot fail (a 4xx/5xx status, valid fields).
pub(crate) fn error_response(err: &RequestError) -> Vec<u8> {
    let mut body = err.to_string().into_bytes();
    body.push(b'\n');
    let mut resp = Response::new(err.status(), body).with_header("Content-Type", b"text/plain");
    if err.status() == 503 {
        resp = resp.with_header("Retry-After", b"1");
    }
    encode_response(&resp, false, Persistence::Close).unwrap_or_default()
}

/// The interim response that releases a client waiting on `Expect`.
pub(crate) fn continue_response() -> Vec<u8> {
    b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()
}

fn status_line(out: &mut Vec<u8>, status: u16) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Syntax;
    use alloc::format;

    /// Every rejection, one of each (the match below stops compiling when a
    /// variant is added, so the list cannot fall behind).
    fn every_error() -> Vec<RequestError> {
        let all = alloc::vec![
            RequestError::Malformed(Syntax::BareLineEnding),
            RequestError::Malformed(Syntax::StartLine),
            RequestError::Malformed(Syntax::Version),
            RequestError::Malformed(Syntax::HeaderName),
            RequestError::Malformed(Syntax::HeaderValue),
            RequestError::Malformed(Syntax::Line),
            RequestError::Target,
            RequestError::Host,
            RequestError::ContentLength,
            RequestError::DuplicateContentLength,
            RequestError::ConflictingFraming,
            RequestError::TransferEncoding,
            RequestError::Expectation,
            RequestError::BodyTooLarge,
            RequestError::HeadTooLarge,
            RequestError::Timeout,
            RequestError::Truncated,
            RequestError::Busy,
        ];
        for e in &all {
            match e {
                RequestError::Malformed(_)
                | RequestError::Target
                | RequestError::Host
                | RequestError::ContentLength
                | RequestError::DuplicateContentLength
                | RequestError::ConflictingFraming
                | RequestError::TransferEncoding
                | RequestError::Expectation
                | RequestError::BodyTooLarge
                | RequestError::HeadTooLarge
                | RequestError::Timeout
                | RequestError::Truncated
                | RequestError::Busy => {}
            }
        }
        all
    }

    /// The fixed layout the error responses have always had, written out
    /// by hand: status line, `Content-Type`, `Retry-After` on 503 only,
    /// `Content-Length`, `Connection: close`, the reason and a newline. An
    /// encoding failure (an empty answer) fails here too.
    #[test]
    fn error_responses_keep_their_layout() {
        for e in every_error() {
            let status = e.status();
            let body = format!("{e}\n");
            let retry = if status == 503 {
                "Retry-After: 1\r\n"
            } else {
                ""
            };
            let want = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: text/plain\r\n{retry}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                reason_phrase(status),
                body.len()
            );
            assert_eq!(
                core::str::from_utf8(&error_response(&e)).expect("ASCII response"),
                want,
                "{e:?}"
            );
        }
    }
}
