//! `image-builder measure`: the SNP launch digest of a `-bios` image, as
//! `sev-snp-measure --mode snp --vmm-type QEMU` computes it.

use snp_measure::{launch_digest, LaunchConfig, VcpuType, MAX_VCPUS};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct MeasureArgs {
    /// Number of vCPUs the guest is launched with (QEMU -smp).
    #[arg(long)]
    vcpus: u32,
    /// QEMU -cpu model, e.g. EPYC-v4, EPYC-Milan, EPYC-Genoa.
    #[arg(long)]
    vcpu_type: String,
    /// VMSA SEV_FEATURES in hex (0x prefix optional).
    #[arg(long, value_parser = parse_hex_u64, default_value = "0x1")]
    guest_features: u64,
    /// The exact file given to QEMU -bios.
    image: PathBuf,
}

/// Parses hex with or without a `0x`/`0X` prefix.
fn parse_hex_u64(text: &str) -> Result<u64, String> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    u64::from_str_radix(digits, 16).map_err(|e| format!("{text:?} is not a hex u64: {e}"))
}

pub fn run(args: MeasureArgs) -> Result<(), String> {
    if args.vcpus == 0 || args.vcpus > MAX_VCPUS {
        return Err(format!(
            "--vcpus {} is invalid: it must be between 1 and {MAX_VCPUS}",
            args.vcpus
        ));
    }
    let vcpu_type = VcpuType::from_name(&args.vcpu_type).ok_or_else(|| {
        let known: Vec<&str> = VcpuType::names().collect();
        format!(
            "unknown vCPU type {:?}; known types: {}",
            args.vcpu_type,
            known.join(", ")
        )
    })?;
    let image = std::fs::read(&args.image)
        .map_err(|e| format!("cannot read image {}: {e}", args.image.display()))?;
    let config = LaunchConfig {
        vcpus: args.vcpus,
        vcpu_type,
        guest_features: args.guest_features,
    };
    let digest = launch_digest(&image, &config)
        .map_err(|e| format!("cannot measure {}: {e}", args.image.display()))?;
    println!("{}", hex::encode(digest));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_hex_u64;

    #[test]
    fn hex_features() {
        assert_eq!(parse_hex_u64("0x1"), Ok(1));
        assert_eq!(parse_hex_u64("0X21"), Ok(0x21));
        assert_eq!(parse_hex_u64("21"), Ok(0x21));
        assert!(parse_hex_u64("0x").is_err());
        assert!(parse_hex_u64("zz").is_err());
    }
}
