//! Byte offsets of the report fields (ABI spec 56860, ATTESTATION_REPORT;
//! cross-checked with the offset asserts in coconut-svsm `pld_report.rs`).

/// Length of an attestation report.
pub const REPORT_LEN: usize = 0x4A0;
/// The signature covers bytes `0..SIGNED_LEN` (0x000..=0x29F).
pub const SIGNED_LEN: usize = 0x2A0;

pub const VERSION: usize = 0x000;
pub const GUEST_SVN: usize = 0x004;
pub const POLICY: usize = 0x008;
pub const FAMILY_ID: usize = 0x010;
pub const IMAGE_ID: usize = 0x020;
pub const VMPL: usize = 0x030;
pub const SIG_ALGO: usize = 0x034;
pub const CURRENT_TCB: usize = 0x038;
pub const PLATFORM_INFO: usize = 0x040;
pub const KEY_INFO: usize = 0x048;
pub const REPORT_DATA: usize = 0x050;
pub const MEASUREMENT: usize = 0x090;
pub const HOST_DATA: usize = 0x0C0;
pub const ID_KEY_DIGEST: usize = 0x0E0;
pub const AUTHOR_KEY_DIGEST: usize = 0x110;
pub const REPORT_ID: usize = 0x140;
pub const REPORT_ID_MA: usize = 0x160;
pub const REPORTED_TCB: usize = 0x180;
/// CPUID family, model, stepping (one byte each); version 3 and later.
pub const CPUID_FAM: usize = 0x188;
pub const CPUID_MOD: usize = 0x189;
pub const CPUID_STEP: usize = 0x18A;
pub const CHIP_ID: usize = 0x1A0;
pub const COMMITTED_TCB: usize = 0x1E0;
/// build, minor, major (one byte each), then one reserved byte.
pub const CURRENT_VERSION: usize = 0x1E8;
pub const COMMITTED_VERSION: usize = 0x1EC;
pub const LAUNCH_TCB: usize = 0x1F0;
/// Version 5 and later.
pub const LAUNCH_MIT_VECTOR: usize = 0x1F8;
pub const CURRENT_MIT_VECTOR: usize = 0x200;
/// r and s: 72 bytes each, little-endian, zero-extended P-384 scalars.
pub const SIGNATURE_R: usize = 0x2A0;
pub const SIGNATURE_S: usize = 0x2E8;
/// First byte after r and s (the rest of the signature area is reserved).
pub const SIGNATURE_END: usize = 0x330;

/// Length of each signature component field.
pub const SIG_COMPONENT_LEN: usize = 72;

/// Reserved ranges (half-open) that must be zero for a report `version`.
pub fn reserved_ranges(version: u32) -> [(usize, usize); 6] {
    let cpuid_end = if version >= 3 { 0x18B } else { 0x188 };
    let mit_end = if version >= 5 { 0x208 } else { 0x1F8 };
    [
        (0x04C, 0x050),
        (cpuid_end, CHIP_ID),
        (0x1EB, 0x1EC),
        (0x1EF, 0x1F0),
        (mit_end, SIGNED_LEN),
        (SIGNATURE_END, REPORT_LEN),
    ]
}
