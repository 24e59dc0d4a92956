//! `image-builder measure`: placeholder until the measurement module lands.

#[derive(clap::Args)]
pub struct MeasureArgs {
    /// Number of vCPUs the guest is launched with.
    #[arg(long)]
    vcpus: u32,
}

pub fn run(_args: MeasureArgs) -> Result<(), String> {
    Err("not implemented yet".into())
}
