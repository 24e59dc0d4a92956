//! DNS-rebinding guard: the proxy answers only requests whose `Host` names
//! loopback (`localhost`, `*.localhost`, 127.0.0.0/8 or `[::1]`, any port).
//! A web page that rebinds its own name to 127.0.0.1 still sends its own
//! name as `Host`, so its requests are refused.

use std::net::{IpAddr, Ipv6Addr};

/// Whether a `Host` value names a loopback host.
pub fn is_loopback_host(value: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    let text = text.trim();
    // `[v6]` or `[v6]:port`.
    if let Some(rest) = text.strip_prefix('[') {
        let Some((addr, after)) = rest.split_once(']') else {
            return false;
        };
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(valid_port);
        return port_ok && addr.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback());
    }
    let (name, port_ok) = match text.rsplit_once(':') {
        Some((name, port)) => (name, valid_port(port)),
        None => (text, true),
    };
    if !port_ok || name.is_empty() {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    let lower = lower.strip_suffix('.').unwrap_or(&lower);
    if lower == "localhost" || lower.ends_with(".localhost") {
        return true;
    }
    lower.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
}

fn valid_port(port: &str) -> bool {
    !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_addresses_only() {
        for good in [
            "localhost",
            "LocalHost:8000",
            "localhost.",
            "api.localhost:1",
            "127.0.0.1",
            "127.0.0.1:8000",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:8000",
        ] {
            assert!(is_loopback_host(good.as_bytes()), "{good}");
        }
        for bad in [
            "",
            "evil.example",
            "evil.example:8000",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "10.0.0.1:80",
            "0.0.0.0",
            "[::2]:80",
            "[::1",
            "::1",
            "localhost:",
            "localhost:80:80",
            "localhost:abc",
            "127.0.0.1:123456",
        ] {
            assert!(!is_loopback_host(bad.as_bytes()), "{bad}");
        }
        assert!(!is_loopback_host(b"local\xffhost"));
    }
}
