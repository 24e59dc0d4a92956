//! The guest kernel's virtio-net receive and transmit paths against a
//! device that writes its used rings at will: ids out of range, lengths
//! past the buffer, repeated ids, index jumps
//! (`kernel::fuzzing::virtio_used_ring`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kernel::fuzzing::virtio_used_ring(data));
