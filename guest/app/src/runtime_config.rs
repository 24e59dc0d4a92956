//! Runtime configuration from fw_cfg `opt/appliance/config`, parsed strictly
//! (common/appliance-config). Any error stops boot with its message. Its
//! SHA-256 enters the measured boot log; under SNP it must also equal the
//! HOST_DATA the host fixed at launch (it appears in every attestation
//! report, so the verifier sees which configuration the guest accepted).

use crate::boot_log::BootLog;
use appliance_config::{Config, LogLevel, MAX_CONFIG_BYTES};
use kernel::fw_cfg::FwCfgError;
use kernel::{println, BootInfo};

pub const FILE: &str = "opt/appliance/config";
/// Prefix of the line that stops boot ("...: FAILED: reason").
const WHAT: &str = "runtime configuration opt/appliance/config";

/// `Ok(None)` when the host passed no configuration (self-test boots).
pub fn load(info: &BootInfo, log: &mut BootLog) -> Option<Config> {
    let fw = info.fw_cfg.as_ref()?;
    let file = match fw.find(FILE) {
        Ok(f) => f,
        Err(FwCfgError::NotFound) => return None,
        Err(e) => kernel::fail(WHAT, &e),
    };
    if file.size as usize > MAX_CONFIG_BYTES {
        kernel::fail(WHAT, &"configuration file larger than 4096 bytes");
    }
    let bytes = fw
        .read_file_vec(file, MAX_CONFIG_BYTES)
        .unwrap_or_else(|e| kernel::fail(WHAT, &e));
    log.record(
        "runtime-config",
        "sha256",
        &appliance_config::sha256(&bytes),
    );
    if let kernel::Evidence::SnpReport(report) =
        kernel::evidence(&[0u8; 64]).unwrap_or_else(|e| kernel::fail(WHAT, &e))
    {
        check_host_data(&bytes, &report);
    }
    let config = appliance_config::parse(&bytes).unwrap_or_else(|e| kernel::fail(WHAT, &e));
    kernel::logger::init(match config.log_level {
        LogLevel::Error => log::LevelFilter::Error,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Debug,
    });
    println!(
        "config: listen port {}, key broker {}, resource {}, log level {}",
        config.listen_port,
        config.kbs,
        config.resource_path,
        config.log_level.as_str()
    );
    Some(config)
}

/// Under SNP: the configuration must be the one the launch bound through
/// HOST_DATA, or boot stops.
fn check_host_data(bytes: &[u8], report: &[u8; kernel::REPORT_LEN]) {
    let report = snp_report::AttestationReport::from_bytes(report)
        .unwrap_or_else(|e| kernel::fail(WHAT, &e));
    if let Err(e) = appliance_config::check_host_data(bytes, &report.host_data) {
        kernel::fail(WHAT, &e);
    }
}
