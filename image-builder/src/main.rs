//! Host tool for the appliance image. Subcommand names are a contract used by
//! scripts, tests and other tools: keep them stable.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod build_cmd;
mod elf_image;
mod manifest;
mod measure_cmd;

#[derive(Parser)]
#[command(name = "image-builder", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build appliance.bin and manifest.json into a directory.
    Build(build_cmd::BuildArgs),
    /// Print the SNP launch digest of an image (96 hex characters, last line).
    Measure(measure_cmd::MeasureArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(args) => build_cmd::run(args),
        Command::Measure(args) => measure_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("image-builder: error: {msg}");
            ExitCode::FAILURE
        }
    }
}
