//! The message types a caller sees: received requests, responses to send.

use alloc::string::String;
use alloc::vec::Vec;

use crate::fields::{header_value, Header};

/// HTTP version of a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

impl Version {
    pub(crate) fn from_minor(minor: u8) -> Option<Self> {
        match minor {
            0 => Some(Version::Http10),
            1 => Some(Version::Http11),
            _ => None,
        }
    }
}

/// A complete request received by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method token as sent (methods are case-sensitive).
    pub method: String,
    /// Origin-form target (`/path?query`), or `*` for `OPTIONS *`.
    pub path: String,
    pub version: Version,
    pub headers: Vec<Header>,
    /// Exactly `Content-Length` bytes; empty without that field.
    pub body: Vec<u8>,
}

impl Request {
    /// Value of the first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        header_value(&self.headers, name)
    }
}

/// A response for [`crate::ServerConn::respond`]. `Content-Length` and
/// `Connection` are written by the server from the body and the connection
/// state; setting them here is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
    /// Close the connection after this response even if the client asked
    /// for keep-alive.
    pub close: bool,
}

impl Response {
    pub fn new(status: u16, body: Vec<u8>) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body,
            close: false,
        }
    }

    /// Adds a header (builder style).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &[u8]) -> Self {
        self.headers.push(Header::new(name, value));
        self
    }
}
