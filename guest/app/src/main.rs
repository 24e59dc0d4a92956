//! The appliance: boot, then the fixed loop (boot -> measure -> attest ->
//! fetch key -> unseal model -> serve encrypted requests).
#![no_std]
#![no_main]

extern crate alloc;

mod boot_log;
mod exit_report;
mod http_server;
mod kbs_client;
mod key_release;
mod rng;
mod runtime_config;
mod serving;
mod vcpus;
// The test image only (feature `test-image`): self-tests the host selects
// through fw_cfg `opt/appliance/selftest`. The production image holds none
// of this code and never reads that file.
#[cfg(feature = "test-image")]
mod model_selftest;
#[cfg(feature = "test-image")]
mod net_selftest;
#[cfg(feature = "test-image")]
mod selftest;
#[cfg(feature = "test-image")]
mod test_routes;

use kernel::{println, BootInfo};

kernel::entry_point!(appliance_main);

fn appliance_main(info: &BootInfo) -> ! {
    let mut boot_log = boot_log::BootLog::default();
    let config = runtime_config::load(info, &mut boot_log);
    println!("measured boot log: {} events", boot_log.events().len());
    let ready_us = kernel::time::us_since(info.reset_tsc);
    println!("appliance ready (reset to ready {ready_us} us)");
    exit_report::boot_line();

    #[cfg(feature = "test-image")]
    selftest::run_requested(info, config.as_ref().map(|c| c.listen_port));
    #[cfg(feature = "plant-raw-cpuid")]
    plant_raw_cpuid();
    match &config {
        Some(config) if key_release::requested(info) => {
            let released = key_release::run(info, config, &mut boot_log);
            serving::run(info, config, &boot_log, released);
        }
        // Nothing to serve: say why, and park the CPU (a test boot may
        // have stopped the VM already).
        Some(_) => println!(
            "appliance: no sealed model (fw_cfg {}): nothing to serve, halted",
            key_release::SEALED_MODEL
        ),
        None => println!(
            "appliance: no runtime configuration (fw_cfg {}): nothing to serve, halted",
            runtime_config::FILE
        ),
    }
    kernel::exit::halt_forever()
}

/// Test-only: runs the raw CPUID planted in http1, so the linker keeps it and
/// the guest binary check must report it (tests/e2e_binary_check.py).
#[cfg(feature = "plant-raw-cpuid")]
fn plant_raw_cpuid() {
    println!(
        "planted raw CPUID: max basic leaf {:#x}",
        http1::plant_raw_cpuid::max_basic_leaf()
    );
}
