//! The endorsement certificate must describe the report it signed: the VCEK
//! is derived for one chip at one TCB, so its extensions must equal the
//! report's REPORTED_TCB and CHIP_ID (Trustee `verify_report_tcb` does the
//! same). KEY_INFO must name the kind of key that verified.

use snp_report::{AttestationReport, Generation, SigningKey, TcbLayout};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::Certificate;

use crate::cert::{self, BL_SPL, FMC_SPL, SNP_SPL, TEE_SPL, UCODE_SPL};
use crate::chain::VekKind;
use crate::reason::{ReasonCode, Refusal};

fn refuse(detail: String) -> Refusal {
    Refusal::new(ReasonCode::VekBinding, detail)
}

fn spl_matches(
    vek: &Certificate,
    oid: &ObjectIdentifier,
    name: &str,
    want: u8,
) -> Result<(), Refusal> {
    match cert::spl(vek, oid) {
        Some(have) if have == want => Ok(()),
        Some(have) => Err(refuse(format!(
            "certificate {name} SPL {have} != reported TCB {want}"
        ))),
        None => Err(refuse(format!("certificate has no {name} SPL extension"))),
    }
}

pub(crate) fn check(
    report: &AttestationReport,
    generation: Generation,
    kind: VekKind,
    vek: &Certificate,
) -> Result<(), Refusal> {
    let expected = match kind {
        VekKind::Vcek => SigningKey::Vcek,
        VekKind::Vlek => SigningKey::Vlek,
    };
    if report.key_info.signing_key() != expected {
        return Err(refuse(format!(
            "KEY_INFO names {:?} but a {kind:?} signed the report",
            report.key_info.signing_key()
        )));
    }
    let tcb = &report.reported_tcb;
    spl_matches(vek, &BL_SPL, "bootloader", tcb.bootloader)?;
    spl_matches(vek, &TEE_SPL, "TEE", tcb.tee)?;
    spl_matches(vek, &SNP_SPL, "SNP", tcb.snp)?;
    spl_matches(vek, &UCODE_SPL, "microcode", tcb.microcode)?;
    if generation.tcb_layout() == TcbLayout::Turin {
        let fmc = tcb
            .fmc
            .ok_or_else(|| refuse("a Turin report without FMC in its TCB".into()))?;
        spl_matches(vek, &FMC_SPL, "FMC", fmc)?;
    }
    if kind == VekKind::Vcek {
        let len = generation.hwid_len();
        let hw_id = cert::hw_id(vek, len)
            .ok_or_else(|| refuse(format!("VCEK has no {len}-byte hwID extension")))?;
        if hw_id != report.chip_id[..len] {
            return Err(refuse("VCEK hwID differs from the report's CHIP_ID".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
