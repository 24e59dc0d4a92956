//! `image-builder measure` against sev-snp-measure 0.0.13 on synthetic
//! OVMF-style images, and its errors on malformed ones.
#![allow(clippy::unwrap_used)] // tests may panic on bad values

#[path = "support/sev_snp_measure.rs"]
mod sev_snp_measure;

use sev_snp_measure::{assert_same_digest, run_measure, Launch};
use std::path::{Path, PathBuf};

const BIN: &str = env!("CARGO_BIN_EXE_image-builder");

// GUIDs in on-disk (bytes_le) order.
const FOOTER_GUID: [u8; 16] = guid_le(
    0x96b582de,
    0x1fb2,
    0x45f7,
    [0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d],
);
const RESET_GUID: [u8; 16] = guid_le(
    0x00f771de,
    0x1a7e,
    0x4fcb,
    [0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e],
);
const METADATA_GUID: [u8; 16] = guid_le(
    0xdc886566,
    0x984a,
    0x4798,
    [0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc],
);
const HASH_TABLE_GUID: [u8; 16] = guid_le(
    0x7255371f,
    0x3a3b,
    0x4b04,
    [0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54],
);

const fn guid_le(a: u32, b: u16, c: u16, d: [u8; 8]) -> [u8; 16] {
    let (a, b, c) = (a.to_le_bytes(), b.to_le_bytes(), c.to_le_bytes());
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6],
        d[7],
    ]
}

/// Layout of a synthetic image.
struct Spec {
    size: usize,
    reset_address: u32,
    /// Offset of "ASEV" counted back from the image end.
    asev_from_end: usize,
    /// (gpa, size, type) in table order.
    sections: Vec<(u32, u32, u32)>,
    /// Footer entries besides reset block and metadata: (guid, data).
    extra_entries: Vec<([u8; 16], Vec<u8>)>,
    /// Bytes placed anywhere below the footer area.
    code: Vec<(usize, Vec<u8>)>,
}

fn le32(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Builds the image: entries are packed downwards from 50 bytes before
/// the end, in the order reset block, metadata offset, extras (as OVMF does).
fn build(spec: &Spec) -> Vec<u8> {
    let mut img = vec![0u8; spec.size];
    let end = spec.size;
    for (at, bytes) in &spec.code {
        img[*at..*at + bytes.len()].copy_from_slice(bytes);
    }
    // Reset vector: hlt; jmp $-1.
    img[end - 16..end - 13].copy_from_slice(&[0xF4, 0xEB, 0xFD]);

    let asev = end - spec.asev_from_end;
    let n = spec.sections.len() as u32;
    img[asev..asev + 4].copy_from_slice(b"ASEV");
    img[asev + 4..asev + 16].copy_from_slice(&le32(&[16 + 12 * n, 1, n]));
    for (i, (gpa, size, kind)) in spec.sections.iter().enumerate() {
        let at = asev + 16 + 12 * i;
        img[at..at + 12].copy_from_slice(&le32(&[*gpa, *size, *kind]));
    }

    let mut entries = vec![
        (RESET_GUID, le32(&[spec.reset_address])),
        (METADATA_GUID, le32(&[spec.asev_from_end as u32])),
    ];
    entries.extend(spec.extra_entries.iter().cloned());
    let mut top = end - 50;
    let mut total = 18;
    for (guid, data) in entries {
        let len = data.len() + 18;
        let start = top - len;
        img[start..start + data.len()].copy_from_slice(&data);
        img[top - 18..top - 16].copy_from_slice(&(len as u16).to_le_bytes());
        img[top - 16..top].copy_from_slice(&guid);
        top = start;
        total += len;
    }
    img[end - 50..end - 48].copy_from_slice(&(total as u16).to_le_bytes());
    img[end - 48..end - 32].copy_from_slice(&FOOTER_GUID);
    img
}

/// docs/snp-boot.md §3.5.
fn kat_spec() -> Spec {
    Spec {
        size: 0x10000,
        reset_address: 0xFFFF_F000,
        asev_from_end: 0x100,
        sections: vec![
            (0x1000, 0x1000, 2),
            (0x2000, 0x1000, 3),
            (0x3000, 0x2000, 1),
        ],
        extra_entries: vec![],
        code: vec![],
    }
}

/// 2 MiB, every section type, an extra (ignored) hash-table entry.
fn big_spec() -> Spec {
    Spec {
        size: 2 << 20,
        reset_address: 0xFFFF_E000,
        asev_from_end: 0x2000,
        sections: vec![
            (0x60000, 0x20000, 1),
            (0x10000, 0x1000, 2),
            (0x11000, 0x1000, 3),
            (0x12000, 0x1000, 4),
            (0x13000, 0x1000, 0x10),
            (0x800000, 0x4000, 1),
        ],
        extra_entries: vec![(HASH_TABLE_GUID, le32(&[0x13C00, 0x400]))],
        code: vec![],
    }
}

/// 512 KiB with code bytes all over and a reset address with low bits set.
fn code_spec() -> Spec {
    let size = 512 << 10;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut code = Vec::new();
    for i in 0..200 {
        let at = (i * 2_621 + 17) % (size - 0x1000);
        let bytes: Vec<u8> = (0..37)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        code.push((at, bytes));
    }
    code.push((size - 0x800, b"appliance code near the footer".to_vec()));
    Spec {
        size,
        reset_address: 0xFFFC_1234,
        asev_from_end: 0x400,
        sections: vec![
            (0x3000, 0x1000, 3),
            (0x2000, 0x1000, 2),
            (0x100000, 0x10000, 1),
        ],
        extra_entries: vec![],
        code,
    }
}

/// A fresh directory per test (tests run in parallel).
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("measure-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn kat_image_matches_the_documented_digests() {
    let dir = temp_dir("kat");
    let image = write(&dir, "kat.bin", &build(&kat_spec()));
    let launch = |vcpus| Launch {
        vcpus,
        vcpu_type: "EPYC-v4",
        guest_features: 1,
    };
    assert_eq!(
        assert_same_digest(Path::new(BIN), &image, launch(1)),
        "21e16d44500d2c4dea2b4d92b6ebedd3b3dfdbb183ea553ae1f4abddb5602f8ce79b94fdaf42501733722177edec339b"
    );
    assert_eq!(
        assert_same_digest(Path::new(BIN), &image, launch(2)),
        "abab147fed28e90f5bc5b47ec1e2dea635dead2e76ebc53610f9e43554d073d5c95d261a95d183419d782e3b2f33fa84"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn synthetic_images_match_sev_snp_measure() {
    let dir = temp_dir("matrix");
    let images = [
        write(&dir, "kat.bin", &build(&kat_spec())),
        write(&dir, "big.bin", &build(&big_spec())),
        write(&dir, "code.bin", &build(&code_spec())),
    ];
    let mut compared = 0;
    let mut digests = std::collections::HashSet::new();
    for image in &images {
        for vcpus in [1, 2, 4] {
            for vcpu_type in ["EPYC-v4", "EPYC-Milan", "EPYC-Genoa"] {
                let launch = Launch {
                    vcpus,
                    vcpu_type,
                    guest_features: 1,
                };
                digests.insert(assert_same_digest(Path::new(BIN), image, launch));
                compared += 1;
            }
        }
    }
    // Other models, an alias and non-default guest features.
    for (vcpu_type, guest_features) in [
        ("EPYC-Rome", 1),
        ("EPYC-Turin", 0x21),
        ("EPYC-Milan-v2", 0x1),
    ] {
        let launch = Launch {
            vcpus: 3,
            vcpu_type,
            guest_features,
        };
        digests.insert(assert_same_digest(Path::new(BIN), &images[2], launch));
        compared += 1;
    }
    assert_eq!(compared, 30);
    // EPYC-Milan-v2 aliases EPYC-Milan but at 3 vCPUs, not seen before.
    assert_eq!(
        digests.len(),
        compared,
        "every configuration gives its own digest"
    );
    eprintln!("{compared} configurations compared equal");
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs `measure` and returns its stderr; asserts it failed with our prefix.
fn measure_error(image: &Path, vcpus: u32, vcpu_type: &str) -> String {
    let out = run_measure(
        Path::new(BIN),
        image,
        Launch {
            vcpus,
            vcpu_type,
            guest_features: 1,
        },
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "measure succeeded on {}",
        image.display()
    );
    assert!(out.stdout.is_empty(), "no digest on failure");
    assert!(stderr.contains("image-builder: error: "), "{stderr}");
    stderr
}

#[test]
fn malformed_images_are_rejected_with_clear_errors() {
    let dir = temp_dir("malformed");
    let good = build(&kat_spec());

    let no_footer = write(&dir, "no-footer.bin", &vec![0u8; 0x10000]);
    assert!(measure_error(&no_footer, 1, "EPYC-v4").contains("footer table GUID"));

    let mut img = good.clone();
    img[0xFFBE..0xFFCE].copy_from_slice(&HASH_TABLE_GUID); // reset block GUID gone
    let path = write(&dir, "no-reset.bin", &img);
    assert!(measure_error(&path, 1, "EPYC-v4").contains("SEV-ES reset block"));

    let mut img = good.clone();
    img[0xFF00..0xFF04].copy_from_slice(b"XSEV");
    let path = write(&dir, "bad-asev.bin", &img);
    assert!(measure_error(&path, 1, "EPYC-v4").contains("expected \"ASEV\""));

    let mut img = good.clone();
    img[0xFF08] = 2;
    let path = write(&dir, "asev-v2.bin", &img);
    assert!(measure_error(&path, 1, "EPYC-v4").contains("version is 2"));

    let mut img = good.clone();
    img[0xFF10] = 0x80; // first section GPA 0x1080
    let path = write(&dir, "unaligned.bin", &img);
    assert!(measure_error(&path, 1, "EPYC-v4").contains("not 4 KiB-aligned"));

    let mut sized = good.clone();
    sized.extend_from_slice(&[0u8; 4096]);
    let path = write(&dir, "wrong-size.bin", &sized);
    assert!(measure_error(&path, 1, "EPYC-v4").contains("multiple of 64 KiB"));

    let path = write(&dir, "small.bin", &good[..0x8000]);
    assert!(measure_error(&path, 1, "EPYC-v4").contains("at least 65536"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_arguments_are_rejected_with_clear_errors() {
    let dir = temp_dir("args");
    let image = write(&dir, "kat.bin", &build(&kat_spec()));
    let unknown = measure_error(&image, 1, "EPYC-v9");
    assert!(
        unknown.contains("unknown vCPU type \"EPYC-v9\""),
        "{unknown}"
    );
    assert!(unknown.contains("EPYC-Genoa"), "{unknown}");
    assert!(measure_error(&image, 0, "EPYC-v4").contains("--vcpus 0 is invalid"));
    let missing = measure_error(&dir.join("missing.bin"), 1, "EPYC-v4");
    assert!(
        missing.contains("cannot read image") && missing.contains("missing.bin"),
        "{missing}"
    );

    let out = std::process::Command::new(BIN)
        .args([
            "measure",
            "--vcpus",
            "1",
            "--vcpu-type",
            "EPYC-v4",
            "--guest-features",
            "xyz",
        ])
        .arg(&image)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a hex u64"));
    let _ = std::fs::remove_dir_all(dir);
}

/// Real edk2 builds from the distribution's ovmf package (scripts/setup.sh
/// installs it): an independent check that our footer/ASEV parsing copes
/// with OVMF's layout. Fails when there is none to compare.
#[test]
fn distribution_ovmf_matches_sev_snp_measure() {
    let candidates = [
        "/usr/share/ovmf/OVMF.fd",
        "/usr/share/OVMF/OVMF_CODE.fd",
        "/usr/share/qemu/OVMF.fd",
    ];
    let mut compared = 0;
    for path in candidates.iter().map(Path::new) {
        // Only files QEMU would accept as -bios (a 64 KiB multiple).
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        if meta.len() % 0x10000 != 0 {
            continue;
        }
        for (vcpus, vcpu_type) in [(1, "EPYC-v4"), (4, "EPYC-Genoa")] {
            assert_same_digest(
                Path::new(BIN),
                path,
                Launch {
                    vcpus,
                    vcpu_type,
                    guest_features: 1,
                },
            );
            compared += 1;
        }
    }
    assert!(
        compared > 0,
        "no OVMF build to compare (none of {candidates:?} exists with a size QEMU accepts): \
         install the distribution's ovmf package (scripts/setup.sh does)"
    );
    eprintln!("distribution OVMF: {compared} configurations compared equal");
}
