//! Tests on the real AMD vectors in ../shared/testdata/snp (see its README).

use crate::*;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/snp/");

fn vector(path: &str) -> Vec<u8> {
    let full = format!("{VECTORS}{path}");
    let data = std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    if path.ends_with(".hex") {
        let text = String::from_utf8(data).expect("hex file is ASCII");
        let text = text.trim();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
            .collect()
    } else {
        data
    }
}

/// Every real report in testdata: (name, bytes).
pub(crate) fn real_reports() -> Vec<(&'static str, Vec<u8>)> {
    [
        "virtee-sev/certs_data/report_milan.hex",
        "trustee/verifier-snp/test-report.bin",
        "trustee/verifier-snp/test-vlek-report.bin",
        "trustee/az-snp-vtpm/hcl-report.snp-report.bin",
    ]
    .into_iter()
    .map(|p| (p, vector(p)))
    .collect()
}

#[test]
fn every_real_report_round_trips_byte_identically() {
    for (name, bytes) in real_reports() {
        let r = AttestationReport::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.to_bytes().as_slice(), bytes.as_slice(), "{name}");
        assert_eq!(r.signed_bytes().as_slice(), &bytes[..SIGNED_LEN], "{name}");
        assert!(r.is_canonical(), "{name}");
    }
}

#[test]
fn milan_v2_report_fields() {
    let r = AttestationReport::from_bytes(&vector("virtee-sev/certs_data/report_milan.hex"))
        .expect("parses");
    assert_eq!(r.version, 2);
    assert_eq!(r.vmpl, 0);
    assert_eq!(r.sig_algo, 1);
    assert_eq!(r.policy.0, 0x30000);
    assert!(r.policy.smt_allowed() && r.policy.reserved_must_be_one());
    assert!(!r.policy.debug_allowed() && !r.policy.migrate_ma_allowed());
    let tcb = TcbVersion {
        fmc: None,
        bootloader: 3,
        tee: 0,
        snp: 8,
        microcode: 115,
    };
    assert_eq!(r.reported_tcb, tcb);
    assert_eq!(
        (r.cpuid_fam_id, r.cpuid_mod_id, r.cpuid_step),
        (None, None, None)
    );
    assert_eq!(r.launch_mit_vector, None);
    assert_eq!(r.generation(), None);
    assert_eq!(r.tcb_layout(), Some(TcbLayout::Legacy));
    assert_eq!(&r.chip_id[..4], &[0xd4, 0x95, 0x54, 0xec]);
    assert_eq!(r.key_info.signing_key(), SigningKey::Vcek);
}

#[test]
fn vlek_v3_report_fields() {
    let r = AttestationReport::from_bytes(&vector("trustee/verifier-snp/test-vlek-report.bin"))
        .expect("parses");
    assert_eq!(r.version, 3);
    assert_eq!(r.vmpl, 1);
    assert_eq!(r.key_info.0, 4);
    assert_eq!(r.key_info.signing_key(), SigningKey::Vlek);
    assert_eq!((r.cpuid_fam_id, r.cpuid_mod_id), (Some(0x19), Some(0x01)));
    assert_eq!(r.generation(), Some(Generation::Milan));
    assert_eq!(r.chip_id, [0; 64]);
    let tcb = r.reported_tcb;
    assert_eq!(
        (tcb.bootloader, tcb.tee, tcb.snp, tcb.microcode),
        (4, 0, 24, 217)
    );
    assert_eq!(tcb.fmc, None);
    assert!(r.plat_info.smt_enabled() && r.plat_info.tsme_enabled());
    assert!(r.plat_info.alias_check_complete());
}

#[test]
fn trustee_report_policy_and_current_tcb() {
    let r = AttestationReport::from_bytes(&vector("trustee/verifier-snp/test-report.bin"))
        .expect("parses");
    assert_eq!(r.policy.0, 0x3001f);
    assert_eq!((r.policy.abi_major(), r.policy.abi_minor()), (0, 0x1f));
    assert_eq!(r.guest_svn, 4);
    assert_eq!(r.current_tcb.microcode, 0xce);
}

#[test]
fn wrong_length_is_refused() {
    let bytes = vector("trustee/verifier-snp/test-report.bin");
    assert_eq!(
        AttestationReport::from_bytes(&bytes[..1183]),
        Err(ParseError::Length(1183))
    );
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        AttestationReport::from_bytes(&long),
        Err(ParseError::Length(1185))
    );
}

#[test]
fn unknown_versions_are_refused() {
    let mut bytes = vector("trustee/verifier-snp/test-report.bin");
    for v in [0u32, 1, 6, 0x100] {
        bytes[..4].copy_from_slice(&v.to_le_bytes());
        assert_eq!(
            AttestationReport::from_bytes(&bytes),
            Err(ParseError::UnsupportedVersion(v))
        );
    }
}

#[test]
fn nonzero_reserved_bytes_are_refused() {
    let v2 = vector("trustee/verifier-snp/test-report.bin");
    let v3 = vector("trustee/verifier-snp/test-vlek-report.bin");
    // 0x188 is CPUID data in v3 but reserved in v2; 0x1F8 is reserved below v5.
    let cases = [
        (&v2, 0x04C),
        (&v2, 0x188),
        (&v3, 0x18B),
        (&v2, 0x1EB),
        (&v2, 0x1EF),
        (&v3, 0x1F8),
        (&v2, 0x29F),
        (&v2, 0x330),
        (&v2, 0x49F),
        // legacy TCB reserved bytes 2..6
        (&v2, 0x180 + 2),
        (&v3, 0x1F0 + 5),
    ];
    for (bytes, at) in cases {
        let mut b = bytes.clone();
        b[at] = 1;
        assert_eq!(
            AttestationReport::from_bytes(&b),
            Err(ParseError::ReservedNonZero(at)),
            "offset {at:#x}"
        );
    }
}

/// Version 5 on Turin: FMC in TCB byte 0, mitigation vectors present.
#[test]
fn turin_v5_layout_round_trips() {
    let mut b = vector("trustee/verifier-snp/test-vlek-report.bin");
    b[..4].copy_from_slice(&5u32.to_le_bytes());
    b[0x188] = 0x1A; // family Turin, model 0x01
    let turin_tcb = [7, 4, 0, 24, 0, 0, 0, 217];
    for at in [0x38, 0x180, 0x1E0, 0x1F0] {
        b[at..at + 8].copy_from_slice(&turin_tcb);
    }
    b[0x1F8..0x200].copy_from_slice(&0x11u64.to_le_bytes());
    b[0x200..0x208].copy_from_slice(&0x22u64.to_le_bytes());
    let r = AttestationReport::from_bytes(&b).expect("parses");
    assert_eq!(r.generation(), Some(Generation::Turin));
    let want = TcbVersion {
        fmc: Some(7),
        bootloader: 4,
        tee: 0,
        snp: 24,
        microcode: 217,
    };
    assert_eq!(r.reported_tcb, want);
    assert_eq!(r.launch_mit_vector, Some(0x11));
    assert_eq!(r.current_mit_vector, Some(0x22));
    assert_eq!(r.to_bytes().as_slice(), b.as_slice());
    // The legacy reserved bytes are data in the Turin layout and vice versa.
    b[0x180 + 5] = 1;
    assert_eq!(
        AttestationReport::from_bytes(&b),
        Err(ParseError::ReservedNonZero(0x185))
    );
}

#[test]
fn unknown_cpu_family_is_refused() {
    let mut b = vector("trustee/verifier-snp/test-vlek-report.bin");
    b[0x188] = 0x17;
    assert_eq!(
        AttestationReport::from_bytes(&b),
        Err(ParseError::UnknownCpuFamily(0x17))
    );
}

#[test]
fn generation_from_cpuid() {
    assert_eq!(Generation::from_cpuid(0x19, 0x01), Some(Generation::Milan));
    assert_eq!(Generation::from_cpuid(0x19, 0x11), Some(Generation::Genoa));
    assert_eq!(Generation::from_cpuid(0x19, 0xA0), Some(Generation::Genoa));
    assert_eq!(Generation::from_cpuid(0x1A, 0x02), Some(Generation::Turin));
    assert_eq!(Generation::from_cpuid(0x19, 0x30), None);
    assert_eq!(Generation::from_cpuid(0x1A, 0x50), None);
}

#[test]
fn tcb_meets_minimum_per_component() {
    let have = TcbVersion {
        fmc: None,
        bootloader: 3,
        tee: 0,
        snp: 8,
        microcode: 115,
    };
    assert!(have.meets(&have));
    assert!(have.meets(&TcbVersion::default()));
    for bump in 0..4 {
        let mut min = have;
        match bump {
            0 => min.bootloader += 1,
            1 => min.tee += 1,
            2 => min.snp += 1,
            _ => min.microcode += 1,
        }
        assert!(!have.meets(&min), "component {bump}");
    }
}

#[test]
fn parse_error_display() {
    assert_eq!(
        ParseError::ReservedNonZero(0x4c).to_string(),
        "reserved byte at 0x04c is not zero"
    );
}

#[cfg(feature = "serde")]
mod json;
