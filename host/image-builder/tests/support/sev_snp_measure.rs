//! Compare `image-builder measure` with the reference `sev-snp-measure`
//! (PyPI, installed by scripts/setup.sh). Reusable from other test crates:
//! `#[path = ".../image-builder/tests/support/sev_snp_measure.rs"] mod sev_snp_measure;`

#![allow(dead_code)] // each including test uses a different subset

use std::path::Path;
use std::process::{Command, Output};

/// Launch parameters of one comparison.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    pub vcpus: u32,
    pub vcpu_type: &'a str,
    pub guest_features: u64,
}

fn stdout_digest(what: &str, out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    let last = stdout.lines().last().unwrap_or("").trim().to_string();
    assert!(
        last.len() == 96
            && last
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{what}: last stdout line is not 96 lowercase hex digits: {last:?}"
    );
    last
}

/// Digest from the reference tool. Panics (never skips) when it is missing.
pub fn reference_digest(image: &Path, launch: Launch<'_>) -> String {
    let out = Command::new("sev-snp-measure")
        .args(["--mode", "snp", "--vmm-type", "QEMU", "--output-format", "hex"])
        .arg("--vcpus")
        .arg(launch.vcpus.to_string())
        .arg("--vcpu-type")
        .arg(launch.vcpu_type)
        .arg("--guest-features")
        .arg(format!("{:#x}", launch.guest_features))
        .arg("--ovmf")
        .arg(image)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run sev-snp-measure ({e}): run scripts/setup.sh to install sev-snp-measure==0.0.13")
        });
    stdout_digest("sev-snp-measure", &out)
}

/// Runs `image-builder measure` and returns its raw output.
pub fn run_measure(image_builder: &Path, image: &Path, launch: Launch<'_>) -> Output {
    Command::new(image_builder)
        .arg("measure")
        .arg("--vcpus")
        .arg(launch.vcpus.to_string())
        .arg("--vcpu-type")
        .arg(launch.vcpu_type)
        .arg("--guest-features")
        .arg(format!("{:#x}", launch.guest_features))
        .arg(image)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", image_builder.display()))
}

/// Digest from `image-builder measure`.
pub fn our_digest(image_builder: &Path, image: &Path, launch: Launch<'_>) -> String {
    stdout_digest(
        "image-builder measure",
        &run_measure(image_builder, image, launch),
    )
}

/// Asserts both tools agree on `image` for `launch`; returns the digest.
pub fn assert_same_digest(image_builder: &Path, image: &Path, launch: Launch<'_>) -> String {
    let ours = our_digest(image_builder, image, launch);
    let reference = reference_digest(image, launch);
    assert_eq!(
        ours,
        reference,
        "digest mismatch for {} with {launch:?}",
        image.display()
    );
    ours
}
