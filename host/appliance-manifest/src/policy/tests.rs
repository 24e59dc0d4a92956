//! The manifest's policy and the "command line only tightens" rule.

use super::*;
use crate::Manifest;

const A: &str = "abababababababababababababababababababababababababababababababababababababababababababababababab";

fn manifest(policy: &str) -> Result<Manifest, String> {
    let json = format!(
        r#"{{"launch_configurations":[{{"vcpus":1,"vcpu_type":"EPYC-v4","launch_digest":"{A}"}}],"policy":{policy}}}"#
    );
    Manifest::from_json(json.as_bytes())
}

const FULL: &str = r#"{"guest_policy":"0x30000","debug_allowed":false,"migration_agent_allowed":false,
    "required_vmpl":0,"min_report_version":3,"vlek_allowed":false,
    "min_tcb":{"milan":{"bootloader":3,"tee":0,"snp":8,"microcode":115},
               "Turin":{"fmc":1,"bootloader":2,"tee":3,"snp":4,"microcode":5}},
    "runtime_config_sha256":["1111111111111111111111111111111111111111111111111111111111111111"]}"#;

fn tcb(bl: u8, tee: u8, snp: u8, ucode: u8) -> TcbVersion {
    TcbVersion {
        fmc: None,
        bootloader: bl,
        tee,
        snp,
        microcode: ucode,
    }
}

#[test]
fn reads_the_whole_policy() {
    let m = manifest(FULL).expect("parses");
    let p = &m.policy;
    assert_eq!(p.guest_policy, 0x30000);
    assert_eq!(p.min_tcb.get(&Generation::Milan), Some(&tcb(3, 0, 8, 115)));
    assert_eq!(
        p.min_tcb.get(&Generation::Turin).map(|t| t.fmc),
        Some(Some(1))
    );
    assert_eq!(p.min_tcb.get(&Generation::Genoa), None);
    assert_eq!((p.min_report_version, p.vlek_allowed), (3, false));
    assert_eq!(p.runtime_config_sha256, vec![[0x11; 32]]);
}

#[test]
fn old_manifests_know_no_minimum_and_refuse_nothing_silently() {
    let m = manifest(r#"{"guest_policy":"0x30000"}"#).expect("parses");
    assert!(m.policy.min_tcb.is_empty());
    assert_eq!(m.policy.min_report_version, 3);
    let v = m.verifier_policy(&Stricter::default()).expect("policy");
    let snp = v.snp_policy(ReportDataCheck::Skip);
    assert!(snp.min_tcb.is_empty(), "no generation allowed");
    assert_eq!(snp.guest_policy, Some(0x30000));
    assert_eq!(snp.allowed_host_data, None);
    assert!(v
        .describe()
        .iter()
        .any(|(c, v)| *c == "tcb" && v == "Milan: none known, refused"));
}

#[test]
fn loose_or_broken_policies_are_errors() {
    for bad in [
        r#"{"guest_policy":"0x30000","debug_allowed":true}"#,
        r#"{"guest_policy":"0x30000","migration_agent_allowed":true}"#,
        r#"{"guest_policy":"0x30000","required_vmpl":1}"#,
        r#"{"guest_policy":"0x30000","min_report_version":1}"#,
        r#"{"guest_policy":"0x30000","min_tcb":{"rome":{"bootloader":1,"tee":1,"snp":1,"microcode":1}}}"#,
        r#"{"guest_policy":"0x30000","min_tcb":{"milan":{"bootloader":1,"tee":1,"snp":1}}}"#,
        r#"{"guest_policy":"0x30000","min_tcb":{"milan":{"bootloader":1,"tee":1,"snp":1,"microcode":1},"MILAN":{"bootloader":1,"tee":1,"snp":1,"microcode":1}}}"#,
        r#"{"guest_policy":"0x30000","runtime_config_sha256":["11"]}"#,
        r#"{"guest_policy":"0x30000","allow_vlk":true}"#,
    ] {
        assert!(manifest(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_manifest_policy_becomes_the_snp_policy() {
    let m = manifest(FULL).expect("parses");
    let v = m.verifier_policy(&Stricter::default()).expect("policy");
    assert!(v.notes.is_empty());
    let p = v.snp_policy(ReportDataCheck::Exact([5; 64]));
    assert_eq!(p.allowed_measurements, vec![[0xab; 48]]);
    assert_eq!(p.guest_policy, Some(0x30000));
    assert!(p.require_vmpl0 && !p.allow_debug && !p.allow_migration_agent && !p.allow_vlek);
    assert_eq!(p.min_report_version, 3);
    assert_eq!(p.min_tcb.len(), 2);
    assert_eq!(p.allowed_host_data, Some(vec![[0x11; 32]]));
    assert_eq!(p.report_data, ReportDataCheck::Exact([5; 64]));
    assert!(v.config_allowed(&[0x11; 32]));
    assert!(!v.config_allowed(&[0x12; 32]));
}

#[test]
fn the_command_line_only_tightens_and_says_so() {
    let m = manifest(FULL).expect("parses");
    let raise = Stricter {
        min_tcb: vec![(Generation::Milan, tcb(3, 0, 9, 115))],
        min_report_version: Some(4),
        refuse_vlek: true,
        runtime_config_sha256: vec![[0x11; 32]],
    };
    let v = m.verifier_policy(&raise).expect("stricter is fine");
    assert_eq!(v.min_tcb.get(&Generation::Milan), Some(&tcb(3, 0, 9, 115)));
    assert_eq!(v.min_report_version, 4);
    // The manifest already refuses VLEKs: nothing to say about that one.
    assert_eq!(v.notes.len(), 3, "{:?}", v.notes);
    assert!(v.notes.iter().all(|n| n.starts_with("stricter: ")));
    assert!(
        v.notes[0].contains("bl=3 tee=0 snp=9 ucode=115"),
        "{:?}",
        v.notes
    );

    // Equal values are not news.
    let same = Stricter {
        min_tcb: vec![(Generation::Milan, tcb(3, 0, 8, 115))],
        min_report_version: Some(3),
        ..Stricter::default()
    };
    assert!(m.verifier_policy(&same).expect("same").notes.is_empty());

    for looser in [
        Stricter {
            min_tcb: vec![(Generation::Milan, tcb(4, 0, 7, 200))],
            ..Stricter::default()
        },
        // Turin's minimum has fmc=1; leaving it out lowers it.
        Stricter {
            min_tcb: vec![(Generation::Turin, tcb(2, 3, 4, 5))],
            ..Stricter::default()
        },
        // No minimum for Genoa in the manifest: a command line cannot add one.
        Stricter {
            min_tcb: vec![(Generation::Genoa, tcb(0, 0, 0, 0))],
            ..Stricter::default()
        },
        Stricter {
            min_report_version: Some(2),
            ..Stricter::default()
        },
        Stricter {
            runtime_config_sha256: vec![[0x22; 32]],
            ..Stricter::default()
        },
    ] {
        assert!(m.verifier_policy(&looser).is_err(), "{looser:?}");
    }
}

#[test]
fn vlek_and_configurations_narrow_when_the_manifest_allows_more() {
    let m = manifest(r#"{"guest_policy":"0x30000","vlek_allowed":true}"#).expect("parses");
    let v = m.verifier_policy(&Stricter::default()).expect("policy");
    assert!(v.allow_vlek);
    assert_eq!(v.runtime_config_sha256, None);
    let v = m
        .verifier_policy(&Stricter {
            refuse_vlek: true,
            runtime_config_sha256: vec![[0x33; 32]],
            ..Stricter::default()
        })
        .expect("policy");
    assert!(!v.allow_vlek);
    assert_eq!(v.runtime_config_sha256, Some(vec![[0x33; 32]]));
    assert_eq!(v.notes.len(), 2);
}

#[test]
fn sha256_digests_parse() {
    assert_eq!(parse_sha256(&"Ab".repeat(32)), Ok([0xab; 32]));
    assert!(parse_sha256(&"ab".repeat(31)).is_err());
    assert!(parse_sha256(&"zz".repeat(32)).is_err());
}
