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
mod model_selftest;
mod net_selftest;
mod rng;
mod runtime_config;
mod selftest;
mod serving;
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

    let tests = selftest::requested(info);
    if cfg!(feature = "fault-test") {
        selftest::deliberate_fault();
    }
    #[cfg(feature = "plant-raw-cpuid")]
    plant_raw_cpuid();
    if tests.heap {
        selftest::heap(info);
    }
    if tests.fw_cfg_stream {
        selftest::fw_cfg_stream(info);
    }
    if tests.model {
        model_selftest::run(info);
    }
    if tests.http {
        http_server::run(
            http_server::Options {
                port: config
                    .as_ref()
                    .map_or(http_server::DEFAULT_PORT, |c| c.listen_port),
                fast_timeouts: tests.http_fast_timeouts,
                body_limit: test_routes::BODY_LIMIT,
                max_queued: test_routes::MAX_QUEUED,
            },
            &mut test_routes::TestRoutes,
        );
    }
    if tests.net || tests.net_static {
        net_selftest::run(tests.net_static);
    }
    if tests.exit {
        println!("appliance: self-test exit");
        kernel::exit(kernel::ExitCode::Success);
    }
    if let Some(config) = &config {
        if key_release::requested(info) {
            let released = key_release::run(info, config, &mut boot_log);
            serving::run(info, config, &boot_log, released);
        }
    }
    // No configuration or no sealed model: nothing to serve; park the CPU.
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
