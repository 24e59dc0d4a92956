//! `image-builder build --out DIR`: compile the guest for
//! `x86_64-target.json`, flatten it into `appliance.bin`, and write
//! `manifest.json` with its launch digests.
//!
//! `--test-image` builds the test image instead (app feature `test-image`:
//! self-tests, test routes, deliberate faults) and writes its digests to
//! `test-manifest.json`, wrapped under `"test_image"` so the verifiers'
//! manifest reader refuses it: a test digest is never listed beside, or
//! read as, a production one.
//!
//! Reproducibility: the guest is built with the pinned toolchain, the locked
//! dependencies, and every absolute path remapped (workspace, cargo home,
//! toolchain sysroot), so panic locations and other embedded strings are the
//! same in any folder; only loaded segments enter the image.
//!
//! The linked ELF keeps its symbol table (no debug info) and is written next
//! to the image as `appliance.elf`, for `tests/check_guest_binary.py`. Symbols
//! live in sections that are not loaded, so they change no image byte; the
//! ELF is not measured and not listed in the manifest.

use crate::{elf_image, manifest};
use hex::FromHex;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(clap::Args)]
pub struct BuildArgs {
    /// Output directory for appliance.bin and manifest.json.
    #[arg(long)]
    out: PathBuf,
    /// Extra guest cargo features (test builds only: `plant-raw-cpuid`).
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// Build the test image (self-tests; never for deployment) and write
    /// `test-manifest.json` instead of `manifest.json`.
    #[arg(long)]
    test_image: bool,
    /// Workspace root (default: found from the current directory).
    #[arg(long)]
    source: Option<PathBuf>,
    /// SHA-384 (96 hex) of the only model the image will unseal, as printed
    /// by `image-builder seal`. Built into the image (so the launch digest
    /// covers it) and recorded in the manifest; without it the image
    /// refuses every sealed model.
    #[arg(long, value_name = "HEX")]
    model_digest: Option<String>,
    /// Minimum REPORTED_TCB the verifiers accept, per processor generation,
    /// GEN:bl=N,tee=N,snp=N,ucode=N[,fmc=N]; repeatable. Written into the
    /// manifest (not the image); evidence from a generation without one is
    /// refused by the key broker and the client.
    #[arg(long = "min-tcb", value_name = "GEN:...", value_parser = parse_min_tcb)]
    min_tcb: Vec<(snp_verify::Generation, snp_verify::TcbVersion)>,
    /// Lowest SNP report version the verifiers accept (2 allows old
    /// Milan/Genoa firmware).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=5))]
    min_report_version: u32,
    /// Let the verifiers accept reports signed by a cloud provider's VLEK.
    #[arg(long)]
    allow_vlek: bool,
    /// SHA-256 (64 hex, `sha256sum config.json`) of a runtime configuration
    /// the verifiers allow (HOST_DATA); repeatable. Without it any
    /// configuration is allowed.
    #[arg(long = "config-sha256", value_name = "HEX", value_parser = config_sha256)]
    config_sha256: Vec<[u8; 32]>,
}

fn parse_min_tcb(text: &str) -> Result<(snp_verify::Generation, snp_verify::TcbVersion), String> {
    snp_verify::parse_min_tcb(text).map_err(|e| e.to_string())
}

/// `--config-sha256`: 64 hex digits.
fn config_sha256(text: &str) -> Result<[u8; 32], String> {
    appliance_manifest::policy::parse_sha256(text)
}

/// The variable the guest reads with `option_env!` (guest/app/src/key_release.rs).
const MODEL_DIGEST_ENV: &str = "APPLIANCE_MODEL_SHA384";

/// `plant-raw-cpuid` plants a raw CPUID for tests/e2e_binary_check.py.
const ALLOWED_FEATURES: [&str; 1] = ["plant-raw-cpuid"];

/// The app feature that makes the test image.
const TEST_IMAGE_FEATURE: &str = "test-image";

/// The test image's manifest: a name no verifier reads, and a shape the
/// production reader refuses.
const TEST_MANIFEST: &str = "test-manifest.json";

pub fn run(args: BuildArgs) -> Result<(), String> {
    for f in &args.features {
        if !ALLOWED_FEATURES.contains(&f.as_str()) {
            return Err(format!(
                "unknown guest feature {f:?} (known: {})",
                ALLOWED_FEATURES.join(", ")
            ));
        }
    }
    let model_digest = args.model_digest.as_deref().map(model_digest).transpose()?;
    let root = match args.source {
        Some(r) => r,
        None => find_root()?,
    };
    let root = root
        .canonicalize()
        .map_err(|e| format!("{}: {e}", root.display()))?;
    let mut features = args.features.clone();
    if args.test_image {
        features.push(TEST_IMAGE_FEATURE.to_string());
    }
    let elf_path = build_guest(&root, &features, model_digest.as_deref())?;
    let elf = std::fs::read(&elf_path).map_err(|e| format!("{}: {e}", elf_path.display()))?;
    let image = elf_image::flatten(&elf)?;
    snp_measure::parse_image(&image).map_err(|e| format!("built image is malformed: {e}"))?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let image_path = args.out.join("appliance.bin");
    std::fs::write(&image_path, &image).map_err(|e| format!("{}: {e}", image_path.display()))?;
    let elf_copy = args.out.join("appliance.elf");
    std::fs::write(&elf_copy, &elf).map_err(|e| format!("{}: {e}", elf_copy.display()))?;
    let sha256 = hex::encode(Sha256::digest(&image));
    let toolchain = toolchain_version(&root)?;
    let choices = manifest::VerifierChoices {
        min_tcb: args.min_tcb.clone(),
        min_report_version: args.min_report_version,
        allow_vlek: args.allow_vlek,
        runtime_config_sha256: args.config_sha256.clone(),
    };
    let mut manifest =
        manifest::build(&image, "appliance.bin", sha256.clone(), toolchain, &choices)?;
    manifest.model = model_digest
        .clone()
        .map(|sha384| appliance_manifest::schema::ModelInfo { sha384 });
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    // Written only if the verifiers' reader accepts it.
    appliance_manifest::Manifest::from_json(json.as_bytes())
        .map_err(|e| format!("the manifest does not read back: {e}"))?;
    let (json, manifest_path) = if args.test_image {
        (test_manifest_json(&manifest)?, args.out.join(TEST_MANIFEST))
    } else {
        (json, args.out.join("manifest.json"))
    };
    std::fs::write(&manifest_path, json + "\n")
        .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    if args.test_image {
        println!("TEST IMAGE: self-tests built in; its digests are in {TEST_MANIFEST} only");
    }
    println!(
        "image    {} ({} KiB)",
        image_path.display(),
        image.len() >> 10
    );
    println!("manifest {}", manifest_path.display());
    println!("elf      {} (symbols, not measured)", elf_copy.display());
    println!("sha256   {sha256}");
    if let Some(d) = &model_digest {
        println!("model    sha384 {d} (pinned)");
    }
    for (generation, min) in &args.min_tcb {
        println!("min tcb  {generation}: {}", snp_verify::describe_tcb(min));
    }
    if args.min_tcb.is_empty() {
        println!(
            "min tcb  none: the key broker and the client refuse all SNP evidence (pass --min-tcb GEN:...)"
        );
    }
    Ok(())
}

/// The test image's manifest text: the production schema nested under
/// `"test_image"`, which the verifiers' reader refuses as a whole.
fn test_manifest_json<T: serde::Serialize>(manifest: &T) -> Result<String, String> {
    let wrapped = serde_json::json!({ "test_image": manifest });
    let json = serde_json::to_string_pretty(&wrapped).map_err(|e| e.to_string())?;
    if appliance_manifest::Manifest::from_json(json.as_bytes()).is_ok() {
        return Err("the test manifest reads as a production manifest".into());
    }
    Ok(json)
}

/// `--model-digest`: a SHA-384 as 96 hex digits, returned in lowercase.
fn model_digest(text: &str) -> Result<String, String> {
    let d = text.to_ascii_lowercase();
    if <[u8; 48]>::from_hex(&d).is_err() {
        return Err(format!(
            "--model-digest must be a SHA-384 as 96 hex digits (as `image-builder seal` prints), got {:?}",
            text
        ));
    }
    Ok(d)
}

fn find_root() -> Result<PathBuf, String> {
    let mut dir = std::env::current_dir().map_err(|e| e.to_string())?;
    loop {
        if dir.join("x86_64-target.json").is_file() && dir.join("Cargo.toml").is_file() {
            return Ok(dir);
        }
        if !dir.pop() {
            return Err(
                "cannot find the workspace root (x86_64-target.json); pass --source".into(),
            );
        }
    }
}

fn capture(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("running {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn toolchain_version(root: &Path) -> Result<String, String> {
    capture(Command::new("rustc").arg("-V").current_dir(root))
}

fn build_guest(
    root: &Path,
    features: &[String],
    model_digest: Option<&str>,
) -> Result<PathBuf, String> {
    let sysroot = capture(
        Command::new("rustc")
            .args(["--print", "sysroot"])
            .current_dir(root),
    )?;
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map_err(|_| "neither CARGO_HOME nor HOME is set".to_string())?;
    let flags = [
        format!("--remap-path-prefix={}=/appliance", root.display()),
        format!("--remap-path-prefix={}=/cargo", cargo_home.display()),
        format!("--remap-path-prefix={sysroot}=/rustc-sysroot"),
        // Symbols stay (for the binary check); no debug info.
        "-Cdebuginfo=0".to_string(),
        "-Cstrip=none".to_string(),
    ];
    let mut suffix = String::from("guest");
    for f in features {
        suffix.push('-');
        suffix.push_str(f);
    }
    // Pinned builds in their own target directory, so alternating with
    // unpinned builds does not rebuild the guest each time.
    if model_digest.is_some() {
        suffix.push_str("-pinned");
    }
    let target_dir = root.join("target").join(suffix);
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"))
        .env_remove("RUSTFLAGS")
        .env_remove(MODEL_DIGEST_ENV)
        .args([
            "build",
            "--locked",
            "--release",
            "-p",
            "app",
            "--target",
            "x86_64-target.json",
        ])
        .args([
            "-Zbuild-std=core,alloc,compiler_builtins",
            "-Zbuild-std-features=compiler-builtins-mem",
        ])
        .arg("-Zjson-target-spec");
    if let Some(d) = model_digest {
        cmd.env(MODEL_DIGEST_ENV, d);
    }
    if !features.is_empty() {
        let list: Vec<String> = features.iter().map(|f| format!("app/{f}")).collect();
        cmd.args(["--features", &list.join(",")]);
    }
    let status = cmd.status().map_err(|e| format!("running cargo: {e}"))?;
    if !status.success() {
        return Err("guest build failed (see cargo output above)".into());
    }
    Ok(target_dir.join("x86_64-target").join("release").join("app"))
}

#[cfg(test)]
mod tests {
    use super::{model_digest, test_manifest_json};

    /// Shaped like `manifest::build`'s output (literals, not the builder).
    fn production_manifest() -> serde_json::Value {
        serde_json::json!({
            "format_version": 1,
            "launch_configurations": [{"vcpus": 1, "vcpu_type": "EPYC-v4",
                "guest_features": "0x1", "launch_digest": "11".repeat(48)}],
            "policy": {"guest_policy": "0x30000", "debug_allowed": false,
                "migration_agent_allowed": false, "required_vmpl": 0,
                "min_report_version": 3, "vlek_allowed": false, "min_tcb": {},
                "runtime_config_sha256": []},
        })
    }

    #[test]
    fn the_test_manifest_is_refused_by_the_verifiers_reader() {
        let prod = production_manifest();
        // The fixture is a manifest the reader accepts...
        let text = serde_json::to_string(&prod).expect("serialize");
        assert!(appliance_manifest::Manifest::from_json(text.as_bytes()).is_ok());
        // ...and the same digests as a test manifest are refused.
        let test = test_manifest_json(&prod).expect("test manifest");
        assert!(appliance_manifest::Manifest::from_json(test.as_bytes()).is_err());
        let back: serde_json::Value = serde_json::from_str(&test).expect("JSON");
        assert_eq!(back["test_image"], prod);
    }

    #[test]
    fn model_digest_must_be_96_hex_digits() {
        let good = "Ab".repeat(48);
        assert_eq!(model_digest(&good), Ok("ab".repeat(48)));
        for bad in [
            "",
            "ab",
            &"ab".repeat(47),
            &"ab".repeat(49),
            &"zz".repeat(48),
        ] {
            assert!(model_digest(bad).is_err(), "{bad:?}");
        }
    }
}
