//! Runtime configuration from fw_cfg `opt/appliance/config`, parsed strictly
//! (common/appliance-config). Any error stops boot with its message. Its
//! SHA-256 enters the measured boot log; under SNP it must also equal the
//! HOST_DATA the host fixed at launch (it appears in every attestation
//! report, so the verifier sees which configuration the guest accepted).

use crate::boot_log::BootLog;
use appliance_config::{Config, LogLevel, MAX_CONFIG_BYTES};
use kernel::fw_cfg::FwCfgError;
use kernel::{println, BootInfo};

const FILE: &str = "opt/appliance/config";

/// `Ok(None)` when the host passed no configuration (self-test boots).
pub fn load(info: &BootInfo, log: &mut BootLog) -> Option<Config> {
    let fw = info.fw_cfg.as_ref()?;
    let file = match fw.find(FILE) {
        Ok(f) => f,
        Err(FwCfgError::NotFound) => return None,
        Err(e) => stop(&e),
    };
    if file.size as usize > MAX_CONFIG_BYTES {
        stop(&"configuration file larger than 4096 bytes");
    }
    let bytes = fw
        .read_file_vec(file, MAX_CONFIG_BYTES)
        .unwrap_or_else(|e| stop(&e));
    log.record(
        "runtime-config",
        "sha256",
        &appliance_config::sha256(&bytes),
    );
    if let kernel::Evidence::SnpReport(report) =
        kernel::evidence(&[0u8; 64]).unwrap_or_else(|e| stop(&e))
    {
        check_host_data(&bytes, &report);
    }
    let config = appliance_config::parse(&bytes).unwrap_or_else(|e| stop(&e));
    kernel::logger::init(match config.log_level {
        LogLevel::Error => log::LevelFilter::Error,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Debug,
    });
    let [a, b, c, d] = config.kbs.host;
    println!(
        "config: listen port {}, key broker {a}.{b}.{c}.{d}:{}, resource {}, log level {}",
        config.listen_port,
        config.kbs.port,
        config.resource_path,
        config.log_level.as_str()
    );
    Some(config)
}

fn stop(err: &dyn core::fmt::Display) -> ! {
    println!("FATAL: runtime configuration {FILE}: {err}");
    kernel::exit(kernel::ExitCode::Failure)
}

/// Under SNP: the configuration must be the one the launch bound through
/// HOST_DATA (report offset 0xC0), or boot stops.
fn check_host_data(bytes: &[u8], report: &[u8; kernel::REPORT_LEN]) {
    const HOST_DATA: core::ops::Range<usize> = 0xC0..0xE0;
    let mut host_data = [0u8; 32];
    host_data.copy_from_slice(&report[HOST_DATA]);
    if let Err(e) = appliance_config::check_host_data(bytes, &host_data) {
        stop(&e);
    }
}
