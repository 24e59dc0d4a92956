//! Policy checks on parsed real reports, with the signature check bypassed
//! (an edited report cannot keep its signature; see tests/vectors.rs for the
//! full path, where the signature fails first).

use super::*;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/snp/");

fn trustee_report() -> AttestationReport {
    let path = format!("{VECTORS}trustee/verifier-snp/test-report.bin");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    AttestationReport::from_bytes(&bytes).expect("parses")
}

fn passing(r: &AttestationReport) -> Policy {
    let mut p = Policy::new(ReportDataCheck::Exact(r.report_data));
    p.allowed_measurements.push(r.measurement);
    p.min_report_version = 2;
    p.with_min_tcb(Generation::Milan, r.reported_tcb)
}

fn code(r: &AttestationReport, p: &Policy) -> Option<ReasonCode> {
    check(r, Generation::Milan, p).err().map(|e| e.reason)
}

#[test]
fn unedited_report_passes() {
    let r = trustee_report();
    assert_eq!(code(&r, &passing(&r)), None);
}

#[test]
fn debug_bit_is_refused_unless_allowed() {
    let mut r = trustee_report();
    r.policy.0 |= 1 << 19;
    let mut p = passing(&r);
    assert_eq!(code(&r, &p), Some(ReasonCode::Debug));
    p.allow_debug = true;
    assert_eq!(code(&r, &p), None);
}

#[test]
fn migration_agent_bit_is_refused_unless_allowed() {
    let mut r = trustee_report();
    r.policy.0 |= 1 << 18;
    let mut p = passing(&r);
    assert_eq!(code(&r, &p), Some(ReasonCode::MigrationAgent));
    p.allow_migration_agent = true;
    assert_eq!(code(&r, &p), None);
}

#[test]
fn vmpl_other_than_zero_is_refused() {
    let mut r = trustee_report();
    r.vmpl = 2;
    let mut p = passing(&r);
    assert_eq!(code(&r, &p), Some(ReasonCode::Vmpl));
    p.require_vmpl0 = false;
    assert_eq!(code(&r, &p), None);
}

/// vmpl, debug, migration-agent, guest-policy, tcb, measurement, host-data,
/// report-data.
#[test]
fn checks_run_in_documented_order() {
    let mut r = trustee_report();
    let mut p = passing(&r);
    r.vmpl = 1;
    r.policy.0 |= (1 << 19) | (1 << 18);
    p.allowed_measurements.clear();
    p.min_tcb.clear();
    p.guest_policy = Some(0x30000);
    p.allowed_host_data = Some(vec![[0xee; 32]]);
    p.report_data = ReportDataCheck::Exact([9; 64]);
    let order = [
        ReasonCode::Vmpl,
        ReasonCode::Debug,
        ReasonCode::MigrationAgent,
        ReasonCode::GuestPolicy,
        ReasonCode::Tcb,
        ReasonCode::Measurement,
        ReasonCode::HostData,
        ReasonCode::ReportData,
    ];
    for want in order {
        assert_eq!(code(&r, &p), Some(want));
        match want {
            ReasonCode::Vmpl => r.vmpl = 0,
            ReasonCode::Debug => p.allow_debug = true,
            ReasonCode::MigrationAgent => p.allow_migration_agent = true,
            ReasonCode::GuestPolicy => p.guest_policy = Some(r.policy.0),
            ReasonCode::HostData => p.allowed_host_data = Some(vec![[0xee; 32], r.host_data]),
            ReasonCode::Tcb => {
                p.min_tcb.insert(Generation::Milan, TcbVersion::default());
            }
            ReasonCode::Measurement => p.allowed_measurements.push(r.measurement),
            _ => p.report_data = ReportDataCheck::Skip,
        }
    }
    assert_eq!(code(&r, &p), None);
}

#[test]
fn tcb_minimum_per_component_and_generation() {
    let r = trustee_report();
    let p = passing(&r);
    let base = r.reported_tcb;
    for i in 0..4 {
        let mut min = base;
        match i {
            0 => min.bootloader += 1,
            1 => min.tee += 1,
            2 => min.snp += 1,
            _ => min.microcode += 1,
        }
        let p = p.clone().with_min_tcb(Generation::Milan, min);
        assert_eq!(code(&r, &p), Some(ReasonCode::Tcb), "component {i}");
    }
    // A minimum for Genoa says nothing about Milan.
    let mut p = p;
    p.min_tcb.clear();
    p.min_tcb.insert(Generation::Genoa, TcbVersion::default());
    assert_eq!(code(&r, &p), Some(ReasonCode::Tcb));
}

#[test]
fn version_rule() {
    let r = trustee_report();
    assert_eq!(r.version, 2);
    let mut p = passing(&r);
    for g in [Generation::Milan, Generation::Genoa] {
        assert!(check_version(&r, g, &p).is_ok(), "{g}");
    }
    // A v2 report endorsed by a Turin chain: TCB layout unknown.
    let e = check_version(&r, Generation::Turin, &p).expect_err("refused");
    assert_eq!(e.reason, ReasonCode::Version);
    p.min_report_version = 3;
    let e = check_version(&r, Generation::Milan, &p).expect_err("refused");
    assert_eq!(e.reason, ReasonCode::Version);
    assert_eq!(Policy::new(ReportDataCheck::Skip).min_report_version, 3);
}

#[test]
fn strict_defaults() {
    let p = Policy::new(ReportDataCheck::Skip);
    assert!(p.require_vmpl0 && !p.allow_debug && !p.allow_migration_agent && !p.allow_vlek);
    assert!(p.allowed_measurements.is_empty() && p.min_tcb.is_empty());
    let r = trustee_report();
    let p = p.with_min_tcb(Generation::Milan, TcbVersion::default());
    assert_eq!(code(&r, &p), Some(ReasonCode::Measurement));
}

#[test]
fn measurement_hex() {
    let hex = "6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b315506e73e";
    let m = parse_measurement(hex).expect("parses");
    assert_eq!((m[0], m[47]), (0x6a, 0x3e));
    assert_eq!(parse_measurement(&hex.to_uppercase()), Ok(m));
    assert!(parse_measurement(&hex[1..]).is_err());
    assert!(parse_measurement(&hex.replace('6', "g")).is_err());
    let p = Policy::new(ReportDataCheck::Skip)
        .with_measurements_hex(&[hex])
        .expect("parses");
    assert_eq!(p.allowed_measurements, vec![m]);
    assert!(PolicyError::MeasurementHex("x".into())
        .to_string()
        .contains("96 hex"));
}

#[test]
fn guest_policy_is_compared_exactly() {
    let r = trustee_report();
    let mut p = passing(&r);
    // One bit that is neither debug nor migration agent (SMT, bit 16).
    p.guest_policy = Some(r.policy.0 ^ (1 << 16));
    assert_eq!(code(&r, &p), Some(ReasonCode::GuestPolicy));
    p.guest_policy = Some(r.policy.0);
    assert_eq!(code(&r, &p), None);
}

#[test]
fn host_data_must_be_allowed_when_set() {
    let mut r = trustee_report();
    r.host_data = [0x42; 32];
    let mut p = passing(&r);
    p.allowed_host_data = Some(vec![[0x41; 32]]);
    assert_eq!(code(&r, &p), Some(ReasonCode::HostData));
    p.allowed_host_data = Some(Vec::new());
    assert_eq!(code(&r, &p), Some(ReasonCode::HostData));
    p.allowed_host_data = Some(vec![[0x41; 32], [0x42; 32]]);
    assert_eq!(code(&r, &p), None);
    p.allowed_host_data = None;
    assert_eq!(code(&r, &p), None);
}

#[test]
fn report_data_padding() {
    let Some(ReportDataCheck::Exact(d)) = ReportDataCheck::padded(&[7; 48]) else {
        panic!("fits");
    };
    assert_eq!(&d[..48], &[7; 48]);
    assert_eq!(&d[48..], &[0; 16]);
    assert_eq!(ReportDataCheck::padded(&[0; 65]), None);
}
