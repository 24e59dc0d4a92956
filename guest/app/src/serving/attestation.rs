//! The attestation document served at `GET /v1/attestation`: evidence whose
//! REPORT_DATA binds the OHTTP keys and the measured boot log
//! (common/serving-api `binding`), built once at start-up.
//!
//! Under SNP the evidence is a report from the secure processor, plus the
//! VCEK when the host passes one in fw_cfg `opt/appliance/vcek` (DER; not
//! measured and not trusted: the client checks it against AMD's roots).
//! Compile-checked only: no SNP hardware where this was written. Without
//! SNP it is the unsigned `sample` form carrying `measurement`, the launch
//! digest the host claims for this image (fw_cfg
//! `opt/appliance/sample-measurement`, read by key release), which clients
//! accept only when told to be insecure.

use alloc::string::String;
use alloc::vec::Vec;
use kernel::BootInfo;
use serving_api::document::{
    b64_encode, AttestationDocument, Certificate, Evidence, DOCUMENT_VERSION,
};

use crate::boot_log::BootLog;

/// The host may pass the VCEK here (at most [`VCEK_MAX`] bytes).
const VCEK_FILE: &str = "opt/appliance/vcek";
const VCEK_MAX: usize = 16 << 10;

/// The document for `ohttp_keys` and `boot_log`, as JSON bytes. Stops the
/// appliance when there is no evidence to serve.
pub fn document(
    info: &BootInfo,
    ohttp_keys: &[u8],
    boot_log: &BootLog,
    sample_measurement: Option<&[u8; 48]>,
) -> Vec<u8> {
    let fail = |why: &dyn core::fmt::Display| -> ! { kernel::fail("serving", why) };
    let report_data = serving_api::binding::report_data(ohttp_keys, boot_log.events())
        .unwrap_or_else(|_| fail(&"boot log digest encoding"));
    let evidence = match kernel::evidence(&report_data).unwrap_or_else(|e| fail(&e)) {
        kernel::Evidence::SnpReport(report) => Evidence::Snp {
            report: b64_encode(&report[..]),
            certificates: host_vcek(info).into_iter().collect(),
        },
        // Key release read the host's claim exactly when evidence is unsigned.
        kernel::Evidence::Unsigned => Evidence::Sample {
            svn: String::from("1"),
            report_data: b64_encode(&report_data),
            measurement: hex::encode(
                sample_measurement
                    .unwrap_or_else(|| fail(&"unsigned evidence without a sample measurement")),
            ),
        },
    };
    AttestationDocument {
        version: DOCUMENT_VERSION,
        evidence,
        ohttp_keys: b64_encode(ohttp_keys),
        boot_log: boot_log.events().to_vec(),
    }
    .to_json()
}

fn host_vcek(info: &BootInfo) -> Option<Certificate> {
    let fw = info.fw_cfg.as_ref()?;
    let file = fw.find(VCEK_FILE).ok()?;
    let der = fw.read_file_vec(file, VCEK_MAX).ok()?;
    Some(Certificate {
        kind: String::from("vcek"),
        der: b64_encode(&der),
    })
}
