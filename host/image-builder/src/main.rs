//! Host tool for the appliance image. Subcommand names are a contract used by
//! scripts, tests and other tools: keep them stable.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod build_cmd;
mod elf_image;
mod manifest;
mod measure_cmd;
mod model_cmd;
mod seal_cmd;

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
    /// Quantize the float embedding model (or the digits MLP) into an int8 model blob.
    Quantize(model_cmd::QuantizeArgs),
    /// Embed texts with an int8 model blob: one JSON array of floats per input.
    Embed(model_cmd::EmbedArgs),
    /// Encrypt a model blob in authenticated chunks; write the key file for the broker.
    Seal(seal_cmd::SealArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(args) => build_cmd::run(args),
        Command::Measure(args) => measure_cmd::run(args),
        Command::Quantize(args) => model_cmd::quantize(args),
        Command::Embed(args) => model_cmd::embed(args),
        Command::Seal(args) => seal_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("image-builder: error: {msg}");
            ExitCode::FAILURE
        }
    }
}
