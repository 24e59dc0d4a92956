//! The guest kernel's PCI capability walk and BAR sizing, and the
//! virtio-pci transport built from the capabilities, against a device that
//! writes its whole configuration space (`kernel::fuzzing::pci_capabilities`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kernel::fuzzing::pci_capabilities(data));
