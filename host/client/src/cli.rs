//! Command line: `verify`, `embed`, `proxy`. Exit 0 on success, 1 when the
//! appliance is refused (or answers an error), 2 for usage and connection
//! errors.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use appliance_manifest::Stricter;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serving_api::embeddings::Encoding;
use snp_verify::{Generation, TcbVersion};

use crate::error::{ClientError, Refusal};
use crate::manifest::Manifest;
use crate::verify::{verify, Options, VerifiedAppliance};

#[derive(Parser)]
#[command(
    name = "appliance-client",
    version,
    about = "Verify the appliance's attestation, then talk to it only through Oblivious HTTP to the attested key"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch and check the evidence; print a summary (exit 0) or `refused: REASON` (exit 1).
    Verify(VerifyArgs),
    /// Verify, then embed TEXTs in one encrypted request; print one JSON array per input.
    Embed(EmbedArgs),
    /// Verify, then serve a plain OpenAI-compatible API on loopback that forwards encrypted.
    Proxy(ProxyArgs),
}

#[derive(Args)]
struct Target {
    /// The appliance, http://HOST[:PORT].
    #[arg(long)]
    url: String,
    /// image-builder's manifest.json: allowed launch digests and the whole
    /// verifier policy (guest policy, minimum TCB per generation, report
    /// version, VLEK, runtime configurations), as the key broker reads it.
    #[arg(long)]
    manifest: PathBuf,
    /// Accept unsigned sample evidence (no SEV-SNP). INSECURE: development only.
    #[arg(long)]
    insecure: bool,
    /// VCEKs named `<CHIP_ID as 128 hex digits>.der`, for documents without certificates.
    #[arg(long)]
    vcek_dir: Option<PathBuf>,
    /// Raise the manifest's minimum REPORTED_TCB for a generation it names,
    /// GEN:bl=N,tee=N,snp=N,ucode=N[,fmc=N]; repeatable. A lower value, or a
    /// generation without a minimum in the manifest, is an error (evidence
    /// from such a generation is refused).
    #[arg(long = "min-tcb", value_parser = parse_min_tcb)]
    min_tcb: Vec<(Generation, TcbVersion)>,
    /// Raise the lowest SNP report version accepted (the manifest's, 3 by default).
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=5))]
    min_report_version: Option<u32>,
    /// Refuse VLEK-signed reports even if the manifest allows them.
    #[arg(long)]
    refuse_vlek: bool,
    /// Allow only this runtime configuration SHA-256 (64 hex); repeatable.
    /// Must be among the manifest's, if it lists any.
    #[arg(long = "config-sha256", value_name = "HEX", value_parser = appliance_manifest::policy::parse_sha256)]
    config_sha256: Vec<[u8; 32]>,
    /// Seconds to wait for each encrypted request's answer.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
}

#[derive(Args)]
struct VerifyArgs {
    #[command(flatten)]
    target: Target,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Float,
    Base64,
}

#[derive(Args)]
struct EmbedArgs {
    #[command(flatten)]
    target: Target,
    /// Print the appliance's whole response JSON instead of the vectors.
    #[arg(long)]
    json: bool,
    /// Also read texts from standard input, one per non-empty line.
    #[arg(long)]
    stdin: bool,
    /// encoding_format to request (the printed vectors are the same).
    #[arg(long, value_enum, default_value = "float")]
    encoding: Format,
    /// Texts to embed.
    texts: Vec<String>,
}

#[derive(Args)]
struct ProxyArgs {
    /// Loopback address to listen on, e.g. 127.0.0.1:8000 (port 0: any free port).
    #[arg(long)]
    listen: SocketAddr,
    #[command(flatten)]
    target: Target,
}

const USAGE: u8 = 2;
const REFUSED: u8 = 1;

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("appliance-client: error: {message}");
    ExitCode::from(USAGE)
}

fn refused(r: &Refusal) -> ExitCode {
    if r.is_connection() {
        return usage(format!("cannot reach the appliance: {}", r.detail));
    }
    eprintln!("refused: {r}");
    ExitCode::from(REFUSED)
}

impl Target {
    fn options(&self) -> Options {
        Options {
            insecure: self.insecure,
            vcek_dir: self.vcek_dir.clone(),
            stricter: Stricter {
                min_tcb: self.min_tcb.clone(),
                min_report_version: self.min_report_version,
                refuse_vlek: self.refuse_vlek,
                runtime_config_sha256: self.config_sha256.clone(),
            },
            request_timeout: Duration::from_secs(self.timeout_secs),
            ..Options::default()
        }
    }

    /// The manifest, with the command line checked against its policy
    /// (a value that would loosen it is a usage error).
    fn manifest(&self) -> Result<Manifest, ExitCode> {
        let manifest =
            Manifest::load(&self.manifest).map_err(|e| usage(format!("manifest: {e}")))?;
        manifest
            .verifier_policy(&self.options().stricter)
            .map_err(usage)?;
        Ok(manifest)
    }

    fn verify(&self) -> Result<VerifiedAppliance, ExitCode> {
        let manifest = self.manifest()?;
        verify(&self.url, &manifest, &self.options()).map_err(|r| refused(&r))
    }
}

fn run_verify(args: &VerifyArgs) -> ExitCode {
    let appliance = match args.target.verify() {
        Ok(a) => a,
        Err(code) => return code,
    };
    if args.json {
        match serde_json::to_string_pretty(appliance.summary()) {
            Ok(text) => println!("{text}"),
            Err(e) => return usage(e),
        }
    } else {
        for line in appliance.summary().lines() {
            println!("{line}");
        }
    }
    ExitCode::SUCCESS
}

fn texts(args: &EmbedArgs) -> Result<Vec<String>, String> {
    let mut texts = args.texts.clone();
    if args.stdin {
        for line in std::io::stdin().lock().lines() {
            let line = line.map_err(|e| format!("stdin: {e}"))?;
            if !line.trim().is_empty() {
                texts.push(line);
            }
        }
    }
    if texts.is_empty() {
        return Err("no TEXT given (pass texts as arguments or with --stdin)".into());
    }
    Ok(texts)
}

fn run_embed(args: &EmbedArgs) -> ExitCode {
    let texts = match texts(args) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    let mut appliance = match args.target.verify() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let encoding = match args.encoding {
        Format::Float => Encoding::Float,
        Format::Base64 => Encoding::Base64,
    };
    let s = appliance.summary();
    eprintln!(
        "verified: {} evidence, measurement {}, key id {}",
        s.tee,
        s.measurement,
        appliance.key_id()
    );
    let mut result = appliance
        .embed(&texts, encoding)
        .map_err(|e| crate::proxy::key_rejection(&appliance, e));
    if result == Err(ClientError::KeyRejected) {
        // The key changed since we verified (a reboot): verify again, once.
        eprintln!("the appliance's key changed; verifying again");
        appliance = match args.target.verify() {
            Ok(a) => a,
            Err(code) => return code,
        };
        result = appliance.embed(&texts, encoding);
    }
    let response = match result {
        Ok(r) => r,
        Err(ClientError::Api(a)) => {
            eprintln!("{}", a.message);
            return ExitCode::from(REFUSED);
        }
        Err(ClientError::Connection(e)) => return usage(format!("connection: {e}")),
        Err(e) => {
            eprintln!("appliance-client: error: {e}");
            return ExitCode::from(REFUSED);
        }
    };
    if args.json {
        match serde_json::to_string(&response) {
            Ok(text) => println!("{text}"),
            Err(e) => return usage(e),
        }
        return ExitCode::SUCCESS;
    }
    let vectors = match crate::exchange::vectors(&response) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("appliance-client: error: {e}");
            return ExitCode::from(REFUSED);
        }
    };
    for v in vectors {
        match serde_json::to_string(&v) {
            Ok(line) => println!("{line}"),
            Err(e) => return usage(e),
        }
    }
    ExitCode::SUCCESS
}

fn run_proxy(args: ProxyArgs) -> ExitCode {
    if let Err(e) = crate::proxy::check_loopback(args.listen) {
        return usage(e);
    }
    let manifest = match args.target.manifest() {
        Ok(m) => m,
        Err(code) => return code,
    };
    let options = args.target.options();
    match crate::proxy::run(args.listen, &args.target.url, manifest, options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(crate::proxy::ProxyError::Refused(r)) => refused(&r),
        Err(e) => usage(e),
    }
}

fn parse_min_tcb(text: &str) -> Result<(Generation, TcbVersion), String> {
    snp_verify::parse_min_tcb(text).map_err(|e| e.to_string())
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    match Cli::parse().command {
        Command::Verify(a) => run_verify(&a),
        Command::Embed(a) => run_embed(&a),
        Command::Proxy(a) => run_proxy(a),
    }
}
