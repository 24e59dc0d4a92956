//! The fleet listing, `GET /.well-known/appliance-fleet` on the balancer:
//! `{"version": 1, "nodes": [{"name": "node-1", "url": "/node/node-1"}, ...]}`.
//!
//! The listing is public, unauthenticated and untrusted: it only says where
//! to look for appliances. Every node is verified on its own, and a node's
//! key is only ever the one from its own verified evidence, so the worst a
//! hostile listing can do is deny service. It is parsed strictly anyway
//! (unknown fields, bad names, duplicates and odd URLs are refused) so that
//! a broken balancer configuration is reported rather than guessed around.

use std::fmt;

use serde_json::{Map, Value};

use crate::http::{excerpt, parse_url, Endpoint, Limits};

/// Where the listing is served when `--fleet` names only the balancer.
pub const LISTING_PATH: &str = "/.well-known/appliance-fleet";
/// The listing format this client reads.
pub const LISTING_VERSION: u64 = 1;
/// Key ids are 8 bits; the spec caps a fleet at 256 nodes.
pub const MAX_NODES: usize = 256;
const MAX_LISTING_BYTES: usize = 1 << 20;
const MAX_NAME_LEN: usize = 32;

/// One listed node: its name and its resolved `http://HOST[:PORT][/PATH]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub url: String,
    /// Whether `url` is on the listing's origin (listed as `/PATH`, or as an
    /// absolute URL with that same origin). Other nodes are verified only
    /// with `--allow-absolute-node-urls` (see [`super::verify_node`]).
    pub on_balancer: bool,
}

/// Why a listing body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListingError {
    /// Not JSON at all.
    Json(String),
    /// JSON, but not an object.
    NotObject,
    /// A member other than `version` and `nodes` (top level or in a node).
    UnknownField { at: String, field: String },
    /// `version` missing or not [`LISTING_VERSION`].
    Version(String),
    /// `nodes` missing or not an array.
    Nodes,
    /// Fewer than one or more than [`MAX_NODES`] nodes.
    NodeCount(usize),
    /// A node is not an object, or lacks `name` or `url` as a string.
    Node { index: usize, detail: String },
    /// A name outside `[a-z0-9][a-z0-9-]{0,31}`.
    Name { index: usize },
    /// Two nodes with one name.
    DuplicateName(String),
    /// A `url` that is not `/PATH` or `http://HOST[:PORT][/PATH]`.
    Url { name: String, detail: String },
    /// Two nodes at one URL.
    DuplicateUrl { name: String, url: String },
}

impl fmt::Display for ListingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(e) => write!(f, "not JSON: {e}"),
            Self::NotObject => f.write_str("not a JSON object"),
            Self::UnknownField { at, field } => {
                let field: String = field.chars().take(40).collect();
                write!(f, "{at}: unknown member {field:?}")
            }
            Self::Version(v) => write!(
                f,
                "version {v} (this client reads version {LISTING_VERSION})"
            ),
            Self::Nodes => f.write_str("\"nodes\" is missing or not an array"),
            Self::NodeCount(n) => write!(f, "{n} nodes (1 to {MAX_NODES} allowed)"),
            Self::Node { index, detail } => write!(f, "nodes[{index}]: {detail}"),
            Self::Name { index } => {
                write!(f, "nodes[{index}]: name is not [a-z0-9][a-z0-9-]{{0,31}}")
            }
            Self::DuplicateName(n) => write!(f, "node name {n:?} is listed twice"),
            Self::Url { name, detail } => write!(f, "node {name}: url: {detail}"),
            Self::DuplicateUrl { name, url } => {
                write!(f, "node {name}: url {url} is another node's too")
            }
        }
    }
}

impl std::error::Error for ListingError {}

/// Why the listing could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetError {
    /// `--fleet` is not an `http://HOST[:PORT][/PATH]` URL.
    ListingUrl(String),
    /// The balancer could not be reached (or its answer was cut off or too big).
    Connection(String),
    /// It answered another status than 200.
    Status { status: u16, detail: String },
    /// The body is not a valid listing.
    Listing(ListingError),
}

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ListingUrl(d) => write!(f, "fleet listing url: {d}"),
            Self::Connection(d) => write!(f, "fleet listing: connection: {d}"),
            Self::Status { status, detail } => {
                write!(f, "fleet listing: answered {status}: {detail}")
            }
            Self::Listing(e) => write!(f, "fleet listing: {e}"),
        }
    }
}

impl std::error::Error for FleetError {}

/// The listing's own URL: `url` itself, or [`LISTING_PATH`] on it when it
/// names only the balancer (`http://HOST[:PORT][/]`).
pub fn listing_url(url: &str) -> Result<String, FleetError> {
    let parsed = parse_url(url).map_err(FleetError::ListingUrl)?;
    Ok(if parsed.path.is_empty() {
        format!("{}{LISTING_PATH}", parsed.origin())
    } else {
        url.to_string()
    })
}

/// Fetches and parses the listing at `url` (see [`listing_url`]).
pub fn fetch(url: &str, timeout: std::time::Duration) -> Result<Vec<Node>, FleetError> {
    let url = listing_url(url)?;
    let origin = parse_url(&url).map_err(FleetError::ListingUrl)?.origin();
    let endpoint = Endpoint::new(&url).map_err(FleetError::Connection)?;
    let limits = Limits {
        timeout,
        max_body_bytes: MAX_LISTING_BYTES,
    };
    // The path is all in the endpoint's base.
    let response = endpoint.get("", limits).map_err(FleetError::Connection)?;
    if response.status != 200 {
        return Err(FleetError::Status {
            status: response.status,
            detail: excerpt(&response.body),
        });
    }
    parse(&response.body, &origin).map_err(FleetError::Listing)
}

fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_NAME_LEN
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Members other than `allowed` are refused.
fn only(object: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<(), ListingError> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(field) => Err(ListingError::UnknownField {
            at: at.into(),
            field: field.clone(),
        }),
        None => Ok(()),
    }
}

/// `url` as listed: a path on the listing's `origin`, or an absolute
/// `http://` URL; either way it must parse as an endpoint URL. Also whether
/// it is on `origin`.
fn resolve(url: &str, origin: &str) -> Result<(String, bool), String> {
    let full = if url.starts_with('/') {
        format!("{origin}{url}")
    } else if url.starts_with("http://") {
        url.to_string()
    } else {
        return Err("neither a path starting with / nor an http:// URL".into());
    };
    let parsed = parse_url(&full)?;
    let resolved_origin = parsed.origin();
    let on_balancer = resolved_origin == origin;
    Ok((format!("{resolved_origin}{}", parsed.path), on_balancer))
}

/// Parses a listing body; relative node URLs are resolved against `origin`
/// (`http://HOST[:PORT]` of the listing).
pub fn parse(body: &[u8], origin: &str) -> Result<Vec<Node>, ListingError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ListingError::Json(e.to_string()))?;
    let top = value.as_object().ok_or(ListingError::NotObject)?;
    only(top, &["version", "nodes"], "listing")?;
    match top.get("version") {
        Some(v) if v.as_u64() == Some(LISTING_VERSION) => {}
        Some(v) => {
            let shown: String = v.to_string().chars().take(40).collect();
            return Err(ListingError::Version(shown));
        }
        None => return Err(ListingError::Version("missing".into())),
    }
    let listed = top
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or(ListingError::Nodes)?;
    if listed.is_empty() || listed.len() > MAX_NODES {
        return Err(ListingError::NodeCount(listed.len()));
    }
    let mut nodes: Vec<Node> = Vec::with_capacity(listed.len());
    for (index, item) in listed.iter().enumerate() {
        let bad = |detail: &str| ListingError::Node {
            index,
            detail: detail.into(),
        };
        let object = item.as_object().ok_or_else(|| bad("not an object"))?;
        only(object, &["name", "url"], &format!("nodes[{index}]"))?;
        let name = object
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no \"name\" string"))?;
        let url = object
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no \"url\" string"))?;
        if !valid_name(name) {
            return Err(ListingError::Name { index });
        }
        if nodes.iter().any(|n| n.name == name) {
            return Err(ListingError::DuplicateName(name.into()));
        }
        let (url, on_balancer) = resolve(url, origin).map_err(|detail| ListingError::Url {
            name: name.into(),
            detail,
        })?;
        // Compares the strings only (`http://h/a` and `http://H/a` differ):
        // a convenience that reports a likely configuration mistake, not a
        // security property; every node is verified on its own anyway.
        if nodes.iter().any(|n| n.url == url) {
            return Err(ListingError::DuplicateUrl {
                name: name.into(),
                url,
            });
        }
        nodes.push(Node {
            name: name.into(),
            url,
            on_balancer,
        });
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://127.0.0.1:9000";

    fn parsed(body: &str) -> Result<Vec<Node>, ListingError> {
        parse(body.as_bytes(), ORIGIN)
    }

    fn node(name: &str, url: &str, on_balancer: bool) -> Node {
        Node {
            name: name.into(),
            url: url.into(),
            on_balancer,
        }
    }

    #[test]
    fn relative_and_absolute_urls() {
        let nodes = parsed(
            r#"{"version":1,"nodes":[{"name":"node-1","url":"/node/node-1"},{"url":"http://127.0.0.2:8080/","name":"n2"},{"name":"0","url":"http://h"},{"name":"same","url":"http://127.0.0.1:9000/node/same"},{"name":"port","url":"http://127.0.0.1:9001/node/port"}]}"#,
        );
        assert_eq!(
            nodes,
            Ok(vec![
                node("node-1", "http://127.0.0.1:9000/node/node-1", true),
                node("n2", "http://127.0.0.2:8080", false),
                node("0", "http://h", false),
                node("same", "http://127.0.0.1:9000/node/same", true),
                node("port", "http://127.0.0.1:9001/node/port", false),
            ])
        );
        let many: Vec<String> = (0..MAX_NODES)
            .map(|i| format!(r#"{{"name":"n{i}","url":"/node/n{i}"}}"#))
            .collect();
        let body = format!(r#"{{"version":1,"nodes":[{}]}}"#, many.join(","));
        assert_eq!(parsed(&body).map(|n| n.len()), Ok(MAX_NODES));
        let body = format!(
            r#"{{"version":1,"nodes":[{},{{"name":"x","url":"/x"}}]}}"#,
            many.join(",")
        );
        assert_eq!(parsed(&body), Err(ListingError::NodeCount(MAX_NODES + 1)));
    }

    #[test]
    fn hostile_listings_are_refused_with_their_reason() {
        let n = |nodes: &str| format!(r#"{{"version":1,"nodes":[{nodes}]}}"#);
        let cases: Vec<(String, &str)> = vec![
            ("{nope".into(), "not JSON"),
            ("[]".into(), "not a JSON object"),
            (r#"{"version":2,"nodes":[]}"#.into(), "version 2"),
            (r#"{"version":"1","nodes":[]}"#.into(), "version \"1\""),
            (r#"{"nodes":[]}"#.into(), "version missing"),
            (r#"{"version":1}"#.into(), "\"nodes\" is missing"),
            (r#"{"version":1,"nodes":{}}"#.into(), "\"nodes\" is missing"),
            (n(""), "0 nodes"),
            (
                r#"{"version":1,"nodes":[],"extra":1}"#.into(),
                "listing: unknown member \"extra\"",
            ),
            (n("1"), "nodes[0]: not an object"),
            (n(r#"{"name":"a"}"#), "nodes[0]: no \"url\" string"),
            (n(r#"{"url":"/a"}"#), "nodes[0]: no \"name\" string"),
            (n(r#"{"name":1,"url":"/a"}"#), "no \"name\" string"),
            (
                n(r#"{"name":"a","url":"/a","key":"AAAA"}"#),
                "nodes[0]: unknown member \"key\"",
            ),
            (n(r#"{"name":"","url":"/a"}"#), "nodes[0]: name is not"),
            (n(r#"{"name":"-a","url":"/a"}"#), "name is not"),
            (n(r#"{"name":"A","url":"/a"}"#), "name is not"),
            (n(r#"{"name":"a_b","url":"/a"}"#), "name is not"),
            (n(r#"{"name":"a\nb","url":"/a"}"#), "name is not"),
            (
                n(&format!(r#"{{"name":"{}","url":"/a"}}"#, "a".repeat(33))),
                "name is not",
            ),
            (
                n(r#"{"name":"a","url":"/a"},{"name":"a","url":"/b"}"#),
                "node name \"a\" is listed twice",
            ),
            (
                n(r#"{"name":"a","url":"/a"},{"name":"b","url":"http://127.0.0.1:9000/a/"}"#),
                "node b: url http://127.0.0.1:9000/a is another node's too",
            ),
            (n(r#"{"name":"a","url":"node/a"}"#), "node a: url: neither"),
            (
                n(r#"{"name":"a","url":"https://h/a"}"#),
                "node a: url: neither",
            ),
            (n(r#"{"name":"a","url":"//evil/a"}"#), "node a: url:"),
            (n(r#"{"name":"a","url":"/a/../b"}"#), "node a: url:"),
            (n(r#"{"name":"a","url":"/a?x"}"#), "node a: url:"),
            (n(r#"{"name":"a","url":"http://u@h/a"}"#), "node a: url:"),
            (n(r#"{"name":"a","url":"/a%2f"}"#), "node a: url:"),
            (
                n(r#"{"name":"a","url":"http://h\u001b[31m\rx/a"}"#),
                r#"node a: url: "http://h\u{1b}[31m\rx/a": the host must be"#,
            ),
        ];
        for (body, want) in cases {
            let got = parsed(&body).expect_err(&body).to_string();
            assert!(got.contains(want), "{body}: {got:?} lacks {want:?}");
        }
        // Not UTF-8.
        assert!(parse(b"\xff", ORIGIN).is_err());
    }

    #[test]
    fn listing_url_defaults_to_the_well_known_path() {
        assert_eq!(
            listing_url("http://127.0.0.1:9000"),
            Ok("http://127.0.0.1:9000/.well-known/appliance-fleet".into())
        );
        assert_eq!(
            listing_url("http://127.0.0.1:9000/"),
            Ok("http://127.0.0.1:9000/.well-known/appliance-fleet".into())
        );
        assert_eq!(
            listing_url("http://h/fleet.json"),
            Ok("http://h/fleet.json".into())
        );
        assert!(matches!(
            listing_url("https://h"),
            Err(FleetError::ListingUrl(_))
        ));
    }
}
