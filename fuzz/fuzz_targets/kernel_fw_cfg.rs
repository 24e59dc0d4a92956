//! The guest kernel's fw_cfg driver against a host that writes the file
//! directory: lookups of the names the guest uses, the reads they size,
//! and the `etc/e820` read (`kernel::fuzzing::fw_cfg_directory`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kernel::fuzzing::fw_cfg_directory(data));
