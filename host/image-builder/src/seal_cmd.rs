//! `image-builder seal --model BLOB --out DIR`: encrypt a model blob for the
//! appliance. Writes `DIR/model.sealed` (AES-256-GCM in authenticated,
//! index-bound chunks; common/model-seal) under a fresh random 256-bit key,
//! `DIR/model.key` (the raw key, for the key broker's resource store, mode
//! 0600) and prints the SHA-384 of the plaintext, which the measured image
//! pins: re-keying the model needs no new image.

use model_seal::{seal, unseal, SealKey};
use rand_core::OsRng;
use sha2::{Digest, Sha384};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct SealArgs {
    /// Plain model blob (from `image-builder quantize`).
    #[arg(long)]
    model: PathBuf,
    /// Output directory for model.sealed and model.key.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: SealArgs) -> Result<(), String> {
    let plain = std::fs::read(&args.model).map_err(|e| format!("{}: {e}", args.model.display()))?;
    let digest: [u8; 48] = Sha384::digest(&plain).into();
    let key = SealKey::generate(&mut OsRng);
    let sealed = seal(&plain, &key, &mut OsRng).map_err(|e| format!("sealing: {e}"))?;
    // Check the result before anything is written: a bad seal must never ship.
    let back =
        unseal(&sealed, &key, digest).map_err(|e| format!("sealed blob does not verify: {e}"))?;
    if back.as_slice() != plain.as_slice() {
        return Err("sealed blob does not decrypt to the model".into());
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let sealed_path = args.out.join("model.sealed");
    std::fs::write(&sealed_path, &sealed).map_err(|e| format!("{}: {e}", sealed_path.display()))?;
    let key_path = args.out.join("model.key");
    write_secret(&key_path, key.as_bytes())?;
    println!(
        "sealed   {} ({} bytes)",
        sealed_path.display(),
        sealed.len()
    );
    println!(
        "key      {} (give it to the key broker only)",
        key_path.display()
    );
    println!("sha384   {}", hex::encode(digest));
    Ok(())
}

/// Create the key file readable by its owner only, without a window in
/// which it exists with wider permissions.
fn write_secret(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))
}
