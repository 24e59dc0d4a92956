//! Binding of the VEK certificate to the report, on real vectors with the
//! report edited after parsing (signature bypassed).

use super::*;
use crate::cert;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/snp/");

fn read(path: &str) -> Vec<u8> {
    let full = format!("{VECTORS}{path}");
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn vcek_case() -> (AttestationReport, Certificate) {
    let r = AttestationReport::from_bytes(&read("trustee/verifier-snp/test-report.bin"))
        .expect("parses");
    let c = cert::decode(&read("trustee/verifier-snp/test-vcek.der"), "VCEK").expect("DER");
    (r, c)
}

fn code(r: &AttestationReport, kind: VekKind, c: &Certificate) -> Option<ReasonCode> {
    check(r, Generation::Milan, kind, c).err().map(|e| e.reason)
}

#[test]
fn real_vcek_and_vlek_bind() {
    let (r, c) = vcek_case();
    assert_eq!(code(&r, VekKind::Vcek, &c), None);
    let r = AttestationReport::from_bytes(&read("trustee/verifier-snp/test-vlek-report.bin"))
        .expect("parses");
    let c = cert::decode(&read("trustee/verifier-snp/test-vlek.der"), "VLEK").expect("DER");
    assert_eq!(code(&r, VekKind::Vlek, &c), None);
}

#[test]
fn tcb_chip_id_and_key_info_must_match() {
    let (r, c) = vcek_case();
    let mut t = r;
    t.reported_tcb.microcode += 1;
    assert_eq!(code(&t, VekKind::Vcek, &c), Some(ReasonCode::VekBinding));
    let mut t = r;
    t.reported_tcb.bootloader -= 1;
    assert_eq!(code(&t, VekKind::Vcek, &c), Some(ReasonCode::VekBinding));
    let mut t = r;
    t.chip_id[63] ^= 1;
    assert_eq!(code(&t, VekKind::Vcek, &c), Some(ReasonCode::VekBinding));
    // KEY_INFO says VLEK, a VCEK verified.
    let mut t = r;
    t.key_info.0 = 1 << 2;
    assert_eq!(code(&t, VekKind::Vcek, &c), Some(ReasonCode::VekBinding));
}

#[test]
fn hw_id_in_both_encodings() {
    // Trustee's synthetic certs: raw 64 bytes (legacy) and OCTET STRING (new).
    let want: Vec<u8> = (0u8..64).collect();
    for path in ["test-vcek-invalid-legacy.der", "test-vcek-invalid-new.der"] {
        let c = cert::decode(&read(&format!("trustee/verifier-snp/{path}")), "VCEK").expect("DER");
        assert_eq!(cert::hw_id(&c, 64), Some(want.clone()), "{path}");
    }
    // Turin: 8 bytes.
    let c = cert::decode(&read("virtee-sev/certs_data/vcek_turin.der"), "VCEK").expect("DER");
    assert_eq!(
        cert::hw_id(&c, 8),
        Some(vec![0x1e, 0x55, 0x0a, 0x8e, 0xe5, 0xcf, 0x9f, 0x4d])
    );
    assert!(cert::spl(&c, &FMC_SPL).is_some());
}
