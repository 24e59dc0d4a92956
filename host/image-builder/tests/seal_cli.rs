//! `image-builder seal`: output files, key permissions, and that the sealed
//! blob opens only with its key and pinned digest.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn seal_writes_a_sealed_blob_and_a_private_key_file() {
    let dir = std::env::temp_dir().join(format!("seal-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let model = dir.join("model.blob");
    let plain: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&model, &plain).expect("write model");
    let out = Command::new(env!("CARGO_BIN_EXE_image-builder"))
        .args(["seal", "--model"])
        .arg(&model)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .expect("run image-builder");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let sealed = std::fs::read(dir.join("out/model.sealed")).expect("sealed");
    let key_path = dir.join("out/model.key");
    let key = std::fs::read(&key_path).expect("key");
    assert_eq!(key.len(), 32);
    let mode = std::fs::metadata(&key_path)
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "key file must be private");
    // The plaintext must not appear in the sealed file.
    assert!(!sealed.windows(64).any(|w| w == &plain[1000..1064]));
    let digest: [u8; 48] =
        sha2::Digest::finalize(<sha2::Sha384 as sha2::Digest>::new_with_prefix(&plain)).into();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert!(stdout.contains(&format!("sha384   {hex}")), "{stdout}");
    let k = model_seal::SealKey::from_bytes(&key).expect("key bytes");
    let back = model_seal::unseal(&sealed, &k, digest).expect("unseal");
    assert_eq!(back.as_slice(), plain.as_slice());
    let mut wrong = key.clone();
    wrong[0] ^= 1;
    let k2 = model_seal::SealKey::from_bytes(&wrong).expect("key bytes");
    assert_eq!(
        model_seal::unseal(&sealed, &k2, digest).map(|_| ()),
        Err(model_seal::SealError::ChunkAuth { index: 0 }),
        "another key fails the first chunk's authentication"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
