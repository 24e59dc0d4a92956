//! Known-answer test from docs/snp-boot.md §3.5 plus malformed-image cases.
#![allow(clippy::unwrap_used)] // tests may panic on bad values

use crate::*;

const KAT_SIZE: usize = 0x10000;

fn put(image: &mut [u8], at: usize, bytes: &[u8]) {
    image[at..at + bytes.len()].copy_from_slice(bytes);
}

fn u32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The 64 KiB image of docs/snp-boot.md §3.5.
fn kat_image() -> Vec<u8> {
    let mut img = vec![0u8; KAT_SIZE];
    put(&mut img, 0xFF00, b"ASEV");
    put(
        &mut img,
        0xFF04,
        &u32s(&[
            0x34, 1, 3, 0x1000, 0x1000, 2, 0x2000, 0x1000, 3, 0x3000, 0x2000, 1,
        ]),
    );
    put(&mut img, 0xFFA2, &u32s(&[0x100]));
    put(&mut img, 0xFFA6, &22u16.to_le_bytes());
    put(&mut img, 0xFFA8, &guid::SEV_METADATA_OFFSET);
    put(&mut img, 0xFFB8, &u32s(&[0xFFFF_F000]));
    put(&mut img, 0xFFBC, &22u16.to_le_bytes());
    put(&mut img, 0xFFBE, &guid::SEV_ES_RESET_BLOCK);
    put(&mut img, 0xFFCE, &62u16.to_le_bytes());
    put(&mut img, 0xFFD0, &guid::FOOTER_TABLE);
    put(&mut img, 0xFFF0, &[0xF4, 0xEB, 0xFD]);
    img
}

fn hex(d: &[u8]) -> String {
    hex::encode(d)
}

fn epyc(vcpus: u32) -> LaunchConfig {
    LaunchConfig::new(vcpus, VcpuType::from_name("EPYC-v4").unwrap())
}

#[test]
fn kat_image_is_the_documented_one() {
    use sha2::Digest as _;
    let sum = sha2::Sha256::digest(kat_image());
    assert_eq!(
        hex(&sum),
        "01c9d4e28a7f4de2aba170ce45f1ed2bb282e76fdabf8d42c607aa5e54721758"
    );
}

#[test]
fn kat_digests() {
    let img = kat_image();
    assert_eq!(
        hex(&launch_digest(&img, &epyc(1)).unwrap()),
        "21e16d44500d2c4dea2b4d92b6ebedd3b3dfdbb183ea553ae1f4abddb5602f8ce79b94fdaf42501733722177edec339b"
    );
    assert_eq!(
        hex(&launch_digest(&img, &epyc(2)).unwrap()),
        "abab147fed28e90f5bc5b47ec1e2dea635dead2e76ebc53610f9e43554d073d5c95d261a95d183419d782e3b2f33fa84"
    );
    assert_eq!(
        hex(&ovmf_hash(&img).unwrap()),
        "e67bd6f3d3e8da1a6d71617177cdd6591386b96f3e4e60f9028ab10972108686735e08c0c0cff10902a93672bb869614"
    );
}

#[test]
fn kat_layout() {
    let img = kat_image();
    let layout = parse_image(&img).unwrap();
    assert_eq!(layout.gpa(), 0xFFFF_0000);
    assert_eq!(layout.reset_address(), 0xFFFF_F000);
    assert_eq!(layout.metadata_offset(), 0x100);
    let sections: Vec<Section> = layout.sections().collect();
    assert_eq!(
        sections,
        [
            Section {
                gpa: 0x1000,
                size: 0x1000,
                kind: SectionKind::Secrets
            },
            Section {
                gpa: 0x2000,
                size: 0x1000,
                kind: SectionKind::Cpuid
            },
            Section {
                gpa: 0x3000,
                size: 0x2000,
                kind: SectionKind::SnpSecMem
            },
        ]
    );
    assert_eq!(layout.sections().len(), 3);
    assert_eq!(layout.section(SectionKind::Cpuid).unwrap().gpa, 0x2000);
    assert_eq!(layout.section(SectionKind::SvsmCaa), None);
}

#[test]
fn digest_depends_on_every_input() {
    let img = kat_image();
    let base = launch_digest(&img, &epyc(1)).unwrap();
    let milan = LaunchConfig::new(1, VcpuType::EpycMilan);
    assert_ne!(launch_digest(&img, &milan).unwrap(), base);
    let features = LaunchConfig {
        guest_features: 0x21,
        ..epyc(1)
    };
    assert_ne!(launch_digest(&img, &features).unwrap(), base);
    let mut code = img.clone();
    code[0x8000] = 1;
    assert_ne!(launch_digest(&code, &epyc(1)).unwrap(), base);
}

#[test]
fn vcpu_signatures() {
    let sig = |n: &str| VcpuType::from_name(n).unwrap().signature();
    assert_eq!(sig("EPYC-v4"), 0x800F12);
    assert_eq!(sig("EPYC"), 0x800F12);
    assert_eq!(sig("EPYC-IBPB"), 0x800F12);
    assert_eq!(sig("EPYC-Rome-v3"), 0x830F10);
    assert_eq!(sig("EPYC-Milan"), 0xA00F11);
    assert_eq!(sig("EPYC-Genoa-v1"), 0xA10F10);
    assert_eq!(sig("EPYC-Turin"), 0xB00F00);
    assert_eq!(VcpuType::from_name("epyc-v4"), None);
    assert_eq!(VcpuType::from_name("EPYC-v5"), None);
    assert_eq!(VcpuType::names().count(), 16);
}

#[test]
fn vmsa_fields() {
    let v = vmsa::build(0xFFFF_F000, 0x800F12, 1);
    let u64_at = |o: usize| u64::from_le_bytes(v[o..o + 8].try_into().unwrap());
    assert_eq!(
        &v[0x10..0x20],
        &[0x00, 0xF0, 0x9B, 0, 0xFF, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0]
    );
    assert_eq!(u64_at(0x178), 0xF000);
    assert_eq!(u64_at(0x310), 0x800F12);
    assert_eq!(u64_at(0x3B0), 1);
    assert_eq!(&v[0x408..0x40C], &0x1F80u32.to_le_bytes());
    assert_eq!(&v[0x410..0x412], &0x37Fu16.to_le_bytes());
}

fn err(img: &[u8]) -> MeasureError {
    launch_digest(img, &epyc(2)).unwrap_err()
}

#[test]
fn size_errors() {
    assert_eq!(err(&[]), MeasureError::ImageTooSmall { len: 0 });
    assert_eq!(err(&[0; 4096]), MeasureError::ImageTooSmall { len: 4096 });
    let mut img = kat_image();
    img.insert(0, 0);
    assert_eq!(
        err(&img),
        MeasureError::ImageSizeNotMultiple { len: KAT_SIZE + 1 }
    );
    assert_eq!(
        ovmf_hash(&img).unwrap_err(),
        MeasureError::ImageSizeNotMultiple { len: KAT_SIZE + 1 }
    );
    let zeros = vec![0u8; KAT_SIZE];
    assert_eq!(err(&zeros), MeasureError::FooterGuidMissing);
    assert_eq!(
        launch_digest(&kat_image(), &epyc(0)).unwrap_err(),
        MeasureError::VcpuCountInvalid { vcpus: 0 }
    );
    assert_eq!(
        launch_digest(&kat_image(), &epyc(MAX_VCPUS + 1)).unwrap_err(),
        MeasureError::VcpuCountInvalid {
            vcpus: MAX_VCPUS + 1
        }
    );
}

#[test]
fn footer_errors() {
    let mut img = kat_image();
    put(&mut img, 0xFFCE, &17u16.to_le_bytes());
    assert_eq!(err(&img), MeasureError::FooterLengthInvalid { len: 17 });
    put(&mut img, 0xFFCE, &0xFFFFu16.to_le_bytes());
    assert_eq!(err(&img), MeasureError::FooterLengthInvalid { len: 0xFFFF });

    // Two bytes more than the entries: trailing bytes.
    let mut img = kat_image();
    put(&mut img, 0xFFCE, &64u16.to_le_bytes());
    assert_eq!(
        err(&img),
        MeasureError::FooterTableTrailingBytes { count: 2 }
    );

    // An entry claiming more bytes than remain.
    let mut img = kat_image();
    put(&mut img, 0xFFA6, &23u16.to_le_bytes());
    assert_eq!(
        err(&img),
        MeasureError::EntryLengthOutOfRange {
            offset: 0xFFB8,
            len: 23
        }
    );
    put(&mut img, 0xFFA6, &2u16.to_le_bytes());
    assert_eq!(
        err(&img),
        MeasureError::EntryLengthOutOfRange {
            offset: 0xFFB8,
            len: 2
        }
    );
}

#[test]
fn entry_errors() {
    // Reset block GUID replaced by a second metadata GUID.
    let mut img = kat_image();
    put(&mut img, 0xFFBE, &guid::SEV_METADATA_OFFSET);
    assert_eq!(err(&img), MeasureError::ResetBlockMissing);

    // Metadata GUID replaced by a second reset block GUID.
    let mut img = kat_image();
    put(&mut img, 0xFFA8, &guid::SEV_ES_RESET_BLOCK);
    assert_eq!(
        err(&img),
        MeasureError::DuplicateEntry {
            name: "SEV-ES reset block"
        }
    );

    // Metadata GUID replaced by an unknown one.
    let mut img = kat_image();
    put(&mut img, 0xFFA8, &[0x11; 16]);
    assert_eq!(err(&img), MeasureError::MetadataEntryMissing);

    let mut img = kat_image();
    put(&mut img, 0xFFB8, &[0; 4]);
    assert_eq!(err(&img), MeasureError::ResetAddressZero);

    // Reset block entry with 2 data bytes; the metadata entry moves up by 2.
    let mut img = kat_image();
    img[0xFFA2..0xFFCE].fill(0);
    put(&mut img, 0xFFA4, &u32s(&[0x100]));
    put(&mut img, 0xFFA8, &22u16.to_le_bytes());
    put(&mut img, 0xFFAA, &guid::SEV_METADATA_OFFSET);
    put(&mut img, 0xFFBA, &[0xF0, 0xFF]);
    put(&mut img, 0xFFBC, &20u16.to_le_bytes());
    put(&mut img, 0xFFBE, &guid::SEV_ES_RESET_BLOCK);
    put(&mut img, 0xFFCE, &60u16.to_le_bytes());
    assert_eq!(
        err(&img),
        MeasureError::EntryTooShort {
            name: "SEV-ES reset block",
            data_len: 2
        }
    );
}

#[test]
fn metadata_errors() {
    let with = |at: usize, bytes: &[u8]| {
        let mut img = kat_image();
        put(&mut img, at, bytes);
        err(&img)
    };
    assert_eq!(
        with(0xFFA2, &u32s(&[0])),
        MeasureError::MetadataOffsetOutOfRange { offset: 0 }
    );
    assert_eq!(
        with(0xFFA2, &u32s(&[15])),
        MeasureError::MetadataOffsetOutOfRange { offset: 15 }
    );
    assert_eq!(
        with(0xFFA2, &u32s(&[0x10001])),
        MeasureError::MetadataOffsetOutOfRange { offset: 0x10001 }
    );
    assert_eq!(
        with(0xFF00, b"ASEW"),
        MeasureError::MetadataSignatureBad { found: *b"ASEW" }
    );
    assert_eq!(
        with(0xFF08, &u32s(&[2])),
        MeasureError::MetadataVersionBad { version: 2 }
    );
    let length = |length, num_items| MeasureError::MetadataLengthBad {
        length,
        num_items,
        available: 0x100,
    };
    assert_eq!(with(0xFF04, &u32s(&[0x33])), length(0x33, 3));
    assert_eq!(with(0xFF04, &u32s(&[0x101])), length(0x101, 3));
    assert_eq!(with(0xFF0C, &u32s(&[4])), length(0x34, 4));
    assert_eq!(with(0xFF0C, &u32s(&[u32::MAX])), length(0x34, u32::MAX));
    // A longer length than needed is accepted (QEMU and sev-snp-measure do).
    assert!(launch_digest(
        &{
            let mut img = kat_image();
            put(&mut img, 0xFF04, &u32s(&[0x40]));
            img
        },
        &epyc(1)
    )
    .is_ok());

    // Descriptor 1 is at 0xFF1C: gpa, size, type.
    assert_eq!(
        with(0xFF1C, &u32s(&[0x2800])),
        MeasureError::SectionUnaligned {
            index: 1,
            gpa: 0x2800,
            size: 0x1000
        }
    );
    assert_eq!(
        with(0xFF20, &u32s(&[0x1001])),
        MeasureError::SectionUnaligned {
            index: 1,
            gpa: 0x2000,
            size: 0x1001
        }
    );
    assert_eq!(
        with(0xFF20, &u32s(&[0])),
        MeasureError::SectionEmpty { index: 1 }
    );
    assert_eq!(
        with(0xFF20, &u32s(&[0x2000])),
        MeasureError::SectionSizeInvalid {
            index: 1,
            size: 0x2000
        }
    );
    for bad in [0, 5, 0xF, 0x11] {
        assert_eq!(
            with(0xFF24, &u32s(&[bad])),
            MeasureError::SectionTypeUnknown {
                index: 1,
                section_type: bad
            }
        );
    }
    assert_eq!(
        with(0xFF28, &u32s(&[0x2000])),
        MeasureError::SectionsOverlap {
            earlier: 1,
            index: 2
        }
    );
    assert_eq!(
        with(0xFF28, &u32s(&[0x0])),
        MeasureError::SectionsOverlap {
            earlier: 0,
            index: 2
        }
    );
    let mut img = kat_image();
    put(&mut img, 0xFFA2, &u32s(&[0x1000]));
    put(&mut img, 0xF000, b"ASEV");
    put(&mut img, 0xF004, &u32s(&[16 + 12 * 257, 1, 257]));
    assert_eq!(
        err(&img),
        MeasureError::SectionCountTooLarge { num_items: 257 }
    );
    assert_eq!(
        with(0xFF28, &u32s(&[0xFFFF_0000])),
        MeasureError::SectionOverlapsImage {
            index: 2,
            gpa: 0xFFFF_0000,
            size: 0x2000
        }
    );
    assert_eq!(
        with(0xFF28, &u32s(&[0xFFFE_F000])),
        MeasureError::SectionOverlapsImage {
            index: 2,
            gpa: 0xFFFE_F000,
            size: 0x2000
        }
    );
}

#[test]
fn every_error_has_a_message() {
    let img = kat_image();
    let mut bad = img.clone();
    put(&mut bad, 0xFF24, &u32s(&[7]));
    let message = err(&bad).to_string();
    assert!(message.contains("unknown type 0x7"), "{message}");
    assert!(err(&[]).to_string().contains("64 KiB"));
    assert!(err(&vec![0; KAT_SIZE]).to_string().contains("96b582de"));
}

/// Small deterministic PRNG so the fuzz cases are reproducible.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn hostile_images_never_panic() {
    let kat = kat_image();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    // Truncations and extensions keep the footer at a wrong place.
    for cut in (0..kat.len()).step_by(97).chain(kat.len() - 300..kat.len()) {
        let _ = launch_digest(&kat[kat.len() - cut..], &epyc(2));
        let _ = launch_digest(&kat[..cut], &epyc(2));
        let _ = footer::entries(&kat[kat.len() - cut..]).map(|e| e.count());
    }
    // Random bytes in the footer area, the ASEV table and the entries.
    let mut ok = 0;
    for _ in 0..5_000 {
        let mut img = kat.clone();
        let flips = 1 + xorshift(&mut rng) % 4;
        for _ in 0..flips {
            let at = 0xFF00 + (xorshift(&mut rng) % 0x100) as usize;
            img[at] = xorshift(&mut rng) as u8;
        }
        if let Ok(layout) = parse_image(&img) {
            ok += 1;
            let mut pages = 0;
            for s in layout.sections() {
                assert!(s.end() <= layout.gpa());
                assert_eq!(s.gpa % 4096, 0);
                pages += s.size / 4096;
            }
            // Huge (valid) ZERO ranges are slow to hash in a debug build.
            if pages < 64 {
                launch_digest(&img, &epyc(3)).unwrap();
            }
        }
    }
    assert!(ok > 0);
    // Whole random 64 KiB tails with a valid footer GUID.
    for _ in 0..200 {
        let mut img = vec![0u8; KAT_SIZE];
        for b in img[0xFE00..].iter_mut() {
            *b = xorshift(&mut rng) as u8;
        }
        put(&mut img, 0xFFD0, &guid::FOOTER_TABLE);
        let _ = parse_image(&img).map(|l| l.sections().count());
    }
}

#[test]
fn sample_launch_config_is_one_epyc_v4() {
    let sample = crate::sample_launch_config();
    assert_eq!(sample.vcpus, 1);
    assert_eq!(sample.vcpu_type.signature(), 0x800F12);
    assert_eq!(sample.guest_features, 0x1);
    assert_eq!(
        VcpuType::from_name(crate::SAMPLE_VCPU_TYPE),
        Some(sample.vcpu_type)
    );
}
