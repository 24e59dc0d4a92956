//! Checks each leaf value against its rule, naming the key on failure.

use alloc::string::String;
use core::net::Ipv4Addr;
use serde_json::Value;

use crate::config::{Config, KbsAddress, LogLevel, ResourcePath};
use crate::raw::RawConfig;
use crate::ConfigError;

/// Longest accepted resource path, in bytes.
pub(crate) const MAX_RESOURCE_PATH: usize = 255;

pub(crate) fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
    let ohttp_key_id = raw
        .ohttp_key_id
        .as_ref()
        .map(|v| key_id("ohttp_key_id", v))
        .transpose()?;
    let previous_ohttp_key_id = raw
        .previous_ohttp_key_id
        .as_ref()
        .map(|v| key_id("previous_ohttp_key_id", v))
        .transpose()?;
    if ohttp_key_id.is_some() && ohttp_key_id == previous_ohttp_key_id {
        return Err(bad(
            "ohttp_key_id",
            "must differ from previous_ohttp_key_id (a reused key id hides the key change)",
        ));
    }
    Ok(Config {
        listen_port: port("listen_port", &raw.listen_port)?,
        kbs: KbsAddress {
            host: ipv4("kbs.host", &raw.kbs.0.host)?,
            port: port("kbs.port", &raw.kbs.0.port)?,
        },
        resource_path: resource_path("resource_path", &raw.resource_path)?,
        log_level: match &raw.log_level {
            None => LogLevel::Info,
            Some(v) => log_level("log_level", v)?,
        },
        ohttp_key_id,
        previous_ohttp_key_id,
    })
}

fn key_id(key: &'static str, v: &Value) -> Result<u8, ConfigError> {
    const RULE: &str = "must be an integer from 0 to 255";
    let n = v.as_u64().ok_or(bad(key, RULE))?;
    u8::try_from(n).map_err(|_| bad(key, RULE))
}

fn bad(key: &'static str, reason: &'static str) -> ConfigError {
    ConfigError::BadValue { key, reason }
}

fn port(key: &'static str, v: &Value) -> Result<u16, ConfigError> {
    const RULE: &str = "must be an integer from 1 to 65535";
    // `as_u64` is None for negatives and floats (8080.0 included).
    let n = v.as_u64().ok_or(bad(key, RULE))?;
    match u16::try_from(n) {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(bad(key, RULE)),
    }
}

fn string<'a>(key: &'static str, v: &'a Value) -> Result<&'a str, ConfigError> {
    v.as_str().ok_or(bad(key, "must be a string"))
}

/// Strict dotted quad: four decimal octets, no leading zeros (some parsers
/// read `010` as octal), no spaces, no shorthand forms like `10.1`.
fn ipv4(key: &'static str, v: &Value) -> Result<[u8; 4], ConfigError> {
    const RULE: &str = "must be an IPv4 address in dotted-quad form, e.g. \"10.0.2.2\"";
    // core's parser takes exactly four decimal parts of 0-255, each 1-3
    // digits without a sign or a leading zero (no octal or hex forms).
    let address: Ipv4Addr = string(key, v)?.parse().map_err(|_| bad(key, RULE))?;
    match address.octets() {
        [0, 0, 0, 0] => Err(bad(key, "0.0.0.0 is not a host address")),
        [127, ..] => Err(bad(key, "loopback is the guest itself, not the key broker")),
        [224..=239, ..] => Err(bad(key, "multicast is not a host address")),
        [255, 255, 255, 255] => Err(bad(key, "broadcast is not a host address")),
        out => Ok(out),
    }
}

fn resource_path(key: &'static str, v: &Value) -> Result<ResourcePath, ConfigError> {
    let s = string(key, v)?;
    if s.len() > MAX_RESOURCE_PATH {
        return Err(bad(key, "longer than 255 bytes"));
    }
    let segments: alloc::vec::Vec<&str> = s.split('/').collect();
    if segments.len() != 3 {
        return Err(bad(key, "must be three segments \"repo/type/tag\""));
    }
    for seg in segments {
        if seg.is_empty() {
            return Err(bad(key, "empty segment"));
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-';
        if !seg.bytes().all(allowed) {
            return Err(bad(key, "segments may only hold A-Z a-z 0-9 . _ -"));
        }
        // The path ends up in a broker URL: no dot segments, no "..".
        if seg == "." || seg.contains("..") {
            return Err(bad(key, "\".\" segments and \"..\" are not allowed"));
        }
    }
    Ok(ResourcePath(String::from(s)))
}

fn log_level(key: &'static str, v: &Value) -> Result<LogLevel, ConfigError> {
    const RULE: &str = "must be one of \"error\", \"warn\", \"info\", \"debug\"";
    let s = v.as_str().ok_or(bad(key, RULE))?;
    LogLevel::from_name(s).ok_or(bad(key, RULE))
}
