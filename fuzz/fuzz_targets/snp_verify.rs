//! Report verification against a real AMD chain (Trustee's Milan test
//! report and its VCEK from ../shared/testdata/snp, read at run time; the
//! target does nothing if they are absent). The first input byte picks what
//! the fuzzer controls: the report (even) or the VCEK (odd). Whatever it
//! sends, verification passes only for the genuine signed bytes.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use snp_verify::{
    verify, AttestationReport, CertTime, Evidence, Generation, Policy, ReportDataCheck,
};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata/snp/");
/// Bytes covered by the report signature (0x000..0x2A0).
const SIGNED: usize = 0x2a0;

struct Fixed {
    report: Vec<u8>,
    vcek: Vec<u8>,
    policy: Policy,
}

fn load() -> Option<Fixed> {
    let report = std::fs::read(format!("{DIR}trustee/verifier-snp/test-report.bin")).ok()?;
    let vcek = std::fs::read(format!("{DIR}trustee/verifier-snp/test-vcek.der")).ok()?;
    let r = AttestationReport::from_bytes(&report).ok()?;
    let mut policy = Policy::new(ReportDataCheck::Exact(r.report_data));
    policy.allowed_measurements.push(r.measurement);
    policy.min_report_version = 2;
    // 2025-06-01: inside the VCEK's validity, and fixed so runs replay.
    policy.cert_time = CertTime::At(SystemTime::UNIX_EPOCH + Duration::from_secs(1_748_736_000));
    let policy = policy.with_min_tcb(Generation::Milan, r.reported_tcb);
    // The fixture itself must verify, or the target proves nothing.
    verify(&Evidence::new(&report, &vcek), &policy).expect("the real report verifies");
    Some(Fixed {
        report,
        vcek,
        policy,
    })
}

fuzz_target!(|data: &[u8]| {
    static FIXED: OnceLock<Option<Fixed>> = OnceLock::new();
    let Some(f) = FIXED.get_or_init(load) else {
        return;
    };
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let (report, vek) = if which % 2 == 0 {
        (rest, &f.vcek[..])
    } else {
        (&f.report[..], rest)
    };
    if let Ok(v) = verify(&Evidence::new(report, vek), &f.policy) {
        assert_eq!(
            report[..SIGNED],
            f.report[..SIGNED],
            "forged report accepted"
        );
        assert_eq!(
            v.report,
            AttestationReport::from_bytes(&f.report).expect("parses")
        );
    }
});
