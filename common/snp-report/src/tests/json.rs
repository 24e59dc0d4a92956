//! The Trustee `snp` evidence JSON shape. The example is built by hand from
//! the shape in docs/kbs.md 1.8 (Trustee's e2e evidence: a
//! version-3 Genoa report, `sev` serde of AttestationReport); values are ours.

use super::real_reports;
use crate::evidence::{CertTableEntry, CertType, SnpEvidence};
use crate::*;
use serde_json::{json, Value};

fn ints(n: usize, f: impl Fn(usize) -> u8) -> Value {
    Value::Array((0..n).map(|i| json!(f(i))).collect())
}

fn example() -> Value {
    let tcb = json!({"fmc": null, "bootloader": 10, "tee": 0, "snp": 23, "microcode": 25});
    json!({
        "attestation_report": {
            "version": 3, "guest_svn": 0, "policy": 196608,
            "family_id": ints(16, |_| 0), "image_id": ints(16, |_| 0),
            "vmpl": 0, "sig_algo": 1,
            "current_tcb": tcb, "plat_info": 37, "key_info": 0,
            "report_data": ints(64, |i| i as u8),
            "measurement": ints(48, |i| 0x80 + i as u8),
            "host_data": ints(32, |_| 0),
            "id_key_digest": ints(48, |_| 0), "author_key_digest": ints(48, |_| 0),
            "report_id": ints(32, |i| 7 * i as u8), "report_id_ma": ints(32, |_| 255),
            "reported_tcb": tcb,
            "cpuid_fam_id": 25, "cpuid_mod_id": 160, "cpuid_step": 2,
            "chip_id": ints(64, |i| 200 - i as u8),
            "committed_tcb": tcb,
            "current": {"major": 1, "minor": 55, "build": 40},
            "committed": {"major": 1, "minor": 55, "build": 40},
            "launch_tcb": tcb,
            "signature": {
                "r": ints(72, |i| if i < 48 { 1 + i as u8 } else { 0 }),
                "s": ints(72, |i| if i < 48 { 100 + i as u8 } else { 0 })
            }
        },
        "cert_chain": [{"cert_type": "VCEK", "data": [48, 130, 5, 63]}]
    })
}

#[test]
fn trustee_example_deserialises_and_lays_out() {
    let ev: SnpEvidence = serde_json::from_value(example()).expect("shape");
    let r = &ev.attestation_report;
    assert_eq!(r.generation(), Some(Generation::Genoa));
    // Absent mitigation vectors (older sev) read as None, as in Trustee.
    assert_eq!((r.launch_mit_vector, r.current_mit_vector), (None, None));
    assert!(r.is_canonical());
    let b = r.to_bytes();
    assert_eq!(&b[0x188..0x18B], &[25, 160, 2]);
    assert_eq!(&b[0x180..0x188], &[10, 0, 0, 0, 0, 0, 23, 25]);
    assert_eq!(&b[0x1E8..0x1F0], &[40, 55, 1, 0, 40, 55, 1, 0]);
    assert_eq!(&b[0x008..0x010], &196608u64.to_le_bytes());
    assert_eq!(b[0x2A0], 1);
    assert_eq!(b[0x2E8], 100);
    assert_eq!(
        ev.cert_chain,
        Some(vec![CertTableEntry {
            cert_type: CertType::VCEK,
            data: vec![48, 130, 5, 63]
        }])
    );
}

#[test]
fn serialises_to_the_same_json_in_sev_field_order() {
    let mut want = example();
    // sev >= 7 writes the v5 fields as null for older versions.
    let report = want["attestation_report"].as_object_mut().expect("object");
    report.insert("launch_mit_vector".into(), Value::Null);
    report.insert("current_mit_vector".into(), Value::Null);
    let ev: SnpEvidence = serde_json::from_value(want.clone()).expect("shape");
    let text = serde_json::to_string(&ev).expect("serialises");
    assert_eq!(serde_json::from_str::<Value>(&text).expect("json"), want);
    let order = [
        "version",
        "guest_svn",
        "policy",
        "family_id",
        "image_id",
        "vmpl",
        "sig_algo",
        "current_tcb",
        "plat_info",
        "key_info",
        "report_data",
        "measurement",
        "host_data",
        "id_key_digest",
        "author_key_digest",
        "report_id",
        "report_id_ma",
        "reported_tcb",
        "cpuid_fam_id",
        "cpuid_mod_id",
        "cpuid_step",
        "chip_id",
        "committed_tcb",
        "current",
        "committed",
        "launch_tcb",
        "launch_mit_vector",
        "current_mit_vector",
        "signature",
    ];
    let pos: Vec<usize> = order
        .iter()
        .map(|k| {
            text.find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k}"))
        })
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "field order");
    assert!(text
        .contains(r#""current_tcb":{"fmc":null,"bootloader":10,"tee":0,"snp":23,"microcode":25}"#));
    assert!(text.contains(r#""current":{"major":1,"minor":55,"build":40}"#));
}

#[test]
fn real_reports_survive_the_json_path() {
    for (name, bytes) in real_reports() {
        let r = AttestationReport::from_bytes(&bytes).expect(name);
        let ev = SnpEvidence {
            attestation_report: r,
            cert_chain: None,
        };
        let text = serde_json::to_string(&ev).expect(name);
        assert!(text.ends_with(r#","cert_chain":null}"#), "{name}");
        let back: SnpEvidence = serde_json::from_str(&text).expect(name);
        assert_eq!(
            back.attestation_report.to_bytes().as_slice(),
            bytes.as_slice(),
            "{name}"
        );
    }
}

#[test]
fn wrong_array_lengths_and_types_are_refused() {
    let mut short = example();
    short["attestation_report"]["measurement"] = ints(47, |_| 0);
    assert!(serde_json::from_value::<SnpEvidence>(short).is_err());
    let mut long = example();
    long["attestation_report"]["signature"]["r"] = ints(73, |_| 0);
    assert!(serde_json::from_value::<SnpEvidence>(long).is_err());
    let mut hex = example();
    hex["attestation_report"]["report_data"] = json!("00");
    assert!(serde_json::from_value::<SnpEvidence>(hex).is_err());
}

#[test]
fn fields_the_bytes_cannot_carry_are_not_canonical() {
    let ev: SnpEvidence = serde_json::from_value(example()).expect("shape");
    let mut r = ev.attestation_report;
    r.reported_tcb.fmc = Some(1); // Genoa has no FMC byte
    assert!(!r.is_canonical());
    let mut r = ev.attestation_report;
    r.launch_mit_vector = Some(1); // version 3 has no mitigation vector
    assert!(!r.is_canonical());
}

#[test]
fn cert_types_use_sev_names() {
    let v = serde_json::to_value([
        CertType::ARK,
        CertType::ASK,
        CertType::VLEK,
        CertType::Empty,
    ])
    .expect("serialises");
    assert_eq!(v, json!(["ARK", "ASK", "VLEK", "Empty"]));
    let other = CertType::OTHER("a8074bc2-a25a-483e-aae6-39c045a0b8a1".into());
    assert_eq!(
        serde_json::to_value(other).expect("serialises"),
        json!({"OTHER": "a8074bc2-a25a-483e-aae6-39c045a0b8a1"})
    );
}
