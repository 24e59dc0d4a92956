//! Every schema rule, accepted and refused, with the message the boot
//! console would show.

use appliance_config::{
    check_host_data, parse, sha256, Config, ConfigError, KbsAddress, LogLevel, MAX_CONFIG_BYTES,
};

const GOOD: &str = r#"{
  "listen_port": 8080,
  "kbs": { "host": "10.0.2.2", "port": 8081 },
  "resource_path": "default/model/key",
  "log_level": "debug"
}"#;

fn with(key: &str, value: &str) -> String {
    // Replaces one top-level or kbs value in GOOD.
    let mut v: serde_json::Value = serde_json::from_str(GOOD).expect("valid");
    let raw: serde_json::Value = serde_json::from_str(value).expect("test value is JSON");
    match key.split_once('.') {
        Some((outer, inner)) => v[outer][inner] = raw,
        None => v[key] = raw,
    }
    v.to_string()
}

fn without(key: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(GOOD).expect("valid");
    match key.split_once('.') {
        Some((outer, inner)) => v[outer].as_object_mut().expect("object").remove(inner),
        None => v.as_object_mut().expect("object").remove(key),
    };
    v.to_string()
}

fn err(text: &str) -> ConfigError {
    parse(text.as_bytes()).expect_err(text)
}

/// A refusal of the file's JSON or shape: the console message.
fn json_err(text: &str) -> String {
    match err(text) {
        e @ ConfigError::Json(_) => e.to_string(),
        other => panic!("{text}: {other:?}"),
    }
}

fn bad_value(key: &str, value: &str) {
    match err(&with(key, value)) {
        e @ ConfigError::BadValue { key: k, .. } => {
            assert_eq!(k, key, "{value}");
            assert!(e.to_string().contains(&format!("\"{key}\"")), "{e}");
        }
        other => panic!("{key}={value}: {other:?}"),
    }
}

#[test]
fn good_config() {
    let c = parse(GOOD.as_bytes()).expect("valid");
    assert_eq!(
        c,
        Config {
            listen_port: 8080,
            kbs: KbsAddress {
                host: [10, 0, 2, 2],
                port: 8081
            },
            resource_path: c.resource_path.clone(),
            log_level: LogLevel::Debug,
            ohttp_key_id: None,
            previous_ohttp_key_id: None,
        }
    );
    assert_eq!(c.resource_path.as_str(), "default/model/key");
    assert_eq!(c.resource_path.segments(), ("default", "model", "key"));
    assert_eq!(c.kbs.to_string(), "10.0.2.2:8081");
}

#[test]
fn ohttp_key_ids_are_optional_bytes_and_never_the_previous_one() {
    let c = parse(with("ohttp_key_id", "7").as_bytes()).expect("valid");
    assert_eq!((c.ohttp_key_id, c.previous_ohttp_key_id), (Some(7), None));
    let c = parse(with("previous_ohttp_key_id", "0").as_bytes()).expect("valid");
    assert_eq!((c.ohttp_key_id, c.previous_ohttp_key_id), (None, Some(0)));
    for key in ["ohttp_key_id", "previous_ohttp_key_id"] {
        for bad in ["256", "-1", "1.5", "\"7\"", "null", "true"] {
            bad_value(key, bad);
        }
    }
    let mut v: serde_json::Value = serde_json::from_str(GOOD).expect("valid");
    v["ohttp_key_id"] = 9.into();
    v["previous_ohttp_key_id"] = 9.into();
    match err(&v.to_string()) {
        ConfigError::BadValue { key, .. } => assert_eq!(key, "ohttp_key_id"),
        other => panic!("{other:?}"),
    }
    v["previous_ohttp_key_id"] = 8.into();
    let c = parse(v.to_string().as_bytes()).expect("valid");
    assert_eq!(
        (c.ohttp_key_id, c.previous_ohttp_key_id),
        (Some(9), Some(8))
    );
}

#[test]
fn log_level_defaults_to_info_and_accepts_all_names() {
    assert_eq!(
        parse(without("log_level").as_bytes())
            .expect("valid")
            .log_level,
        LogLevel::Info
    );
    for (name, level) in [
        ("error", LogLevel::Error),
        ("warn", LogLevel::Warn),
        ("info", LogLevel::Info),
        ("debug", LogLevel::Debug),
    ] {
        let c = parse(with("log_level", &format!("\"{name}\"")).as_bytes()).expect("valid");
        assert_eq!((c.log_level, c.log_level.as_str()), (level, name));
    }
}

#[test]
fn bad_log_levels() {
    for v in ["\"INFO\"", "\"trace\"", "\"\"", "null", "3", "[\"info\"]"] {
        bad_value("log_level", v);
    }
}

#[test]
fn unknown_top_level_key_is_named() {
    let text = GOOD.replacen("\"listen_port\"", "\"foo\": 1, \"listen_port\"", 1);
    let msg = json_err(&text);
    assert!(msg.contains("unknown field `foo`"), "{msg}");
    assert!(msg.contains("listen_port"), "lists the allowed keys: {msg}");
}

#[test]
fn unknown_kbs_key_is_named() {
    let msg = json_err(&with(
        "kbs",
        r#"{"host": "10.0.2.2", "port": 1, "tls": true}"#,
    ));
    assert!(msg.contains("unknown field `tls`"), "{msg}");
}

#[test]
fn unknown_key_text_is_escaped() {
    let msg = json_err(r#"{"\u001b[2Jx": 1}"#);
    assert!(!msg.contains('\u{1b}'), "{msg:?}");
    assert!(msg.contains("\\u{1b}[2Jx"), "{msg}");
}

#[test]
fn missing_keys_are_named() {
    for key in [
        "listen_port",
        "kbs",
        "resource_path",
        "kbs.host",
        "kbs.port",
    ] {
        let msg = json_err(&without(key));
        let leaf = key.rsplit('.').next().expect("name");
        assert!(msg.contains(&format!("missing field `{leaf}`")), "{msg}");
    }
}

#[test]
fn duplicate_keys_are_refused() {
    let text = GOOD.replacen(
        "\"listen_port\": 8080",
        "\"listen_port\": 8080, \"listen_port\": 9090",
        1,
    );
    let msg = json_err(&text);
    assert!(msg.contains("duplicate field `listen_port`"), "{msg}");
    let text = GOOD.replacen("\"port\": 8081", "\"port\": 8081, \"port\": 8082", 1);
    assert!(json_err(&text).contains("duplicate field `port`"));
}

#[test]
fn listen_port_rules() {
    assert_eq!(
        parse(with("listen_port", "1").as_bytes())
            .expect("valid")
            .listen_port,
        1
    );
    assert_eq!(
        parse(with("listen_port", "65535").as_bytes())
            .expect("valid")
            .listen_port,
        65535
    );
    for v in [
        "0",
        "65536",
        "-1",
        "80.5",
        "8080.0",
        "\"8080\"",
        "null",
        "true",
        "1e3",
        "99999999999999999999",
    ] {
        bad_value("listen_port", v);
    }
}

#[test]
fn kbs_port_rules() {
    for v in ["0", "65536", "-80", "\"80\"", "null"] {
        bad_value("kbs.port", v);
    }
}

#[test]
fn kbs_host_rules() {
    for ok in [
        "10.0.2.2",
        "192.168.1.254",
        "0.0.0.1",
        "1.2.3.4",
        "255.255.255.254",
    ] {
        let c = parse(with("kbs.host", &format!("\"{ok}\"")).as_bytes()).expect(ok);
        assert_eq!(c.kbs.host.map(|b| b.to_string()).join("."), ok);
    }
    for v in [
        "\"10.0.2\"",
        "\"10.0.2.2.1\"",
        "\"10.0.2.256\"",
        "\"010.0.2.2\"",
        "\"10.0.2.02\"",
        "\"10..2.2\"",
        "\" 10.0.2.2\"",
        "\"10.0.2.2 \"",
        "\"10.0.2.+2\"",
        "\"localhost\"",
        "\"broker.example\"",
        "\"::1\"",
        "\"10.0.2.2:8080\"",
        "\"\"",
        "\"0.0.0.0\"",
        "\"127.0.0.1\"",
        "\"224.0.0.1\"",
        "\"255.255.255.255\"",
        "167772674",
        "[10, 0, 2, 2]",
    ] {
        bad_value("kbs.host", v);
    }
}

#[test]
fn resource_path_rules() {
    let max = format!("{}/{}/{}", "a".repeat(100), "b".repeat(100), "c".repeat(53));
    assert_eq!(max.len(), 255);
    for ok in [
        "a/b/c",
        "my-repo/key_type/v1.0",
        "A.B/C-D/E_F",
        max.as_str(),
    ] {
        parse(with("resource_path", &format!("\"{ok}\"")).as_bytes()).expect(ok);
    }
    let too_long = format!("{max}c");
    for v in [
        "a/b",
        "a/b/c/d",
        "/a/b",
        "a//c",
        "a/b/",
        "",
        "a/../c",
        "a/b/..",
        "a/./c",
        "a/b..c/d",
        "a/b c/d",
        "a/b/c\\n",
        "a/\u{e9}/c",
        "a/b%2F/c",
        too_long.as_str(),
    ] {
        bad_value("resource_path", &serde_json::to_string(v).expect("string"));
    }
    bad_value("resource_path", "7");
}

#[test]
fn kbs_must_be_an_object() {
    for v in ["\"10.0.2.2:8081\"", "5", "null", "[]"] {
        let msg = json_err(&with("kbs", v));
        assert!(msg.contains("invalid type"), "{v}: {msg}");
        assert!(msg.contains("for key \"kbs\""), "{msg}");
    }
}

#[test]
fn arrays_in_place_of_objects_are_refused() {
    // serde's derived structs would take the values in field order.
    let msg = json_err(r#"[8080, {"host": "10.0.2.2", "port": 8081}, "a/b/c"]"#);
    assert!(msg.contains("invalid type: sequence"), "{msg}");
    let msg = json_err(&with("kbs", r#"["10.0.2.2", 8081]"#));
    assert!(msg.contains("invalid type: sequence"), "{msg}");
}

#[test]
fn top_level_must_be_an_object() {
    for v in ["[]", "42", "\"x\"", "null"] {
        let msg = json_err(v);
        assert!(
            msg.contains("invalid type") && msg.contains("(the appliance config)"),
            "{v}: {msg}"
        );
    }
}

#[test]
fn invalid_json_has_position() {
    for (text, line) in [
        ("", 1),
        ("{", 1),
        ("{\"listen_port\": 8080,}", 1),
        ("{\n  \"listen_port\": 08080\n}", 2),
        ("{'listen_port': 1}", 1),
        ("{\"listen_port\": 1 /* c */}", 1),
    ] {
        let msg = json_err(text);
        assert!(msg.contains("invalid JSON: "), "{msg}");
        assert!(msg.contains(&format!(" at line {line} column ")), "{msg}");
    }
}

#[test]
fn trailing_data_is_refused() {
    let msg = json_err(&format!("{GOOD} {{}}"));
    assert!(msg.contains("invalid JSON: trailing characters"), "{msg}");
    // Trailing whitespace (a newline from an editor) is fine.
    parse(format!("{GOOD}\n").as_bytes()).expect("valid");
}

#[test]
fn non_utf8_and_bom_are_refused() {
    let mut bytes = GOOD.as_bytes().to_vec();
    let at = bytes.iter().position(|&b| b == b'd').expect("a 'd'");
    bytes[at] = 0xff;
    assert!(matches!(parse(&bytes), Err(ConfigError::Json(_))));
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(GOOD.as_bytes());
    assert!(matches!(parse(&bom), Err(ConfigError::Json(_))));
}

#[test]
fn size_limit() {
    let pad = MAX_CONFIG_BYTES - GOOD.len();
    let at_limit = format!("{GOOD}{}", " ".repeat(pad));
    assert_eq!(at_limit.len(), MAX_CONFIG_BYTES);
    parse(at_limit.as_bytes()).expect("valid at the limit");
    let over = format!("{at_limit} ");
    let e = err(&over);
    assert_eq!(
        e,
        ConfigError::TooLarge {
            len: MAX_CONFIG_BYTES + 1
        }
    );
    assert!(e.to_string().contains("4096"), "{e}");
}

#[test]
fn sha256_known_answers() {
    // FIPS 180-2 test vectors.
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn host_data_binding() {
    let digest = sha256(GOOD.as_bytes());
    assert_eq!(check_host_data(GOOD.as_bytes(), &digest), Ok(digest));
    let mut other = digest;
    other[31] ^= 1;
    let e = check_host_data(GOOD.as_bytes(), &other).expect_err("mismatch");
    assert_eq!(
        e,
        ConfigError::HostDataMismatch {
            digest,
            host_data: other
        }
    );
    let msg = e.to_string();
    assert!(
        msg.contains(&hex(&digest)) && msg.contains(&hex(&other)),
        "{msg}"
    );
    // One changed byte in the file changes the digest.
    let edited = GOOD.replace("8080", "8089");
    assert!(check_host_data(edited.as_bytes(), &digest).is_err());
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}
