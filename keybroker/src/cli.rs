//! Command line: `serve`, `add-resource`, `verify-report`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use snp_verify::{Generation, TcbVersion};

use crate::error::Error;
use crate::offline::VerifyInputs;
use crate::server::ServeConfig;
use crate::session::Ttls;

#[derive(Parser)]
#[command(
    name = "keybroker",
    version,
    about = "KBS protocol 0.4.0 key broker for SEV-SNP guests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve /kbs/v0/auth, /kbs/v0/attest and /kbs/v0/resource/{repo}/{type}/{tag}.
    Serve(ServeArgs),
    /// Store a file as a resource (DIR 0700, file 0600).
    AddResource(AddArgs),
    /// Verify a report offline; the last line is `ok` or `refused: REASON`
    /// (exit 0 or 1; 2 if an input cannot be read).
    VerifyReport(VerifyArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to bind, e.g. 127.0.0.1:8080 (port 0: any free port).
    #[arg(long)]
    listen: SocketAddr,
    /// Allow a non-loopback --listen address.
    #[arg(long)]
    allow_non_loopback: bool,
    /// image-builder's manifest.json: its launch digests are the allowed
    /// measurements.
    #[arg(long)]
    manifest: PathBuf,
    /// Resource directory (see add-resource); must be private (0700).
    #[arg(long)]
    resources: PathBuf,
    /// Accept unsigned `sample` evidence. INSECURE: development only.
    #[arg(long)]
    insecure_allow_sample: bool,
    /// Minimum REPORTED_TCB per generation, GEN:bl=N,tee=N,snp=N,ucode=N[,fmc=N];
    /// repeatable. A generation without one is refused.
    #[arg(long = "min-tcb", value_parser = parse_min_tcb)]
    min_tcb: Vec<(Generation, TcbVersion)>,
    /// Directory of VCEKs (`<CHIP_ID as 128 hex digits>.der`) for evidence
    /// that carries no certificate table.
    #[arg(long)]
    vcek_dir: Option<PathBuf>,
    /// Seconds a challenge nonce stays valid.
    #[arg(long, default_value_t = 60)]
    nonce_ttl_secs: u64,
    /// Seconds a session (and its attested state) lasts.
    #[arg(long, default_value_t = 300)]
    session_ttl_secs: u64,
}

#[derive(Args)]
struct AddArgs {
    /// Resource directory; created 0700 if missing.
    #[arg(long)]
    resources: PathBuf,
    /// repository/type/tag (segments of [A-Za-z0-9_.-], not starting with '.').
    #[arg(long)]
    path: String,
    /// File whose bytes become the resource (e.g. image-builder's key file).
    #[arg(long)]
    file: PathBuf,
    /// Overwrite an existing resource.
    #[arg(long)]
    replace: bool,
}

#[derive(Args)]
struct VerifyArgs {
    /// Raw 1184-byte report, hex text of it, or Trustee snp evidence JSON.
    #[arg(long)]
    report: PathBuf,
    /// VCEK or VLEK, DER or PEM.
    #[arg(long)]
    vcek: Option<PathBuf>,
    /// ASK then ARK, PEM (AMD KDS cert_chain order), or one DER ASK.
    #[arg(long)]
    chain: Option<PathBuf>,
    /// Policy JSON (allowed_measurements, min_tcb, allow_vlek,
    /// min_report_version, allow_debug, allow_migration_agent, report_data,
    /// cert_time).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Manifest whose launch digests are allowed when the policy lists none.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Minimum TCB, as for serve (adds to / overrides the policy file).
    #[arg(long = "min-tcb", value_parser = parse_min_tcb)]
    min_tcb: Vec<(Generation, TcbVersion)>,
}

fn parse_min_tcb(text: &str) -> Result<(Generation, TcbVersion), String> {
    crate::policy::parse_min_tcb(text).map_err(|e| e.to_string())
}

fn fail(e: &Error) -> ExitCode {
    eprintln!("keybroker: error: {e}");
    ExitCode::from(2)
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    match Cli::parse().command {
        Command::Serve(a) => {
            let config = ServeConfig {
                listen: a.listen,
                allow_non_loopback: a.allow_non_loopback,
                manifest: a.manifest,
                resources: a.resources,
                allow_sample: a.insecure_allow_sample,
                min_tcb: a.min_tcb,
                vcek_dir: a.vcek_dir,
                ttls: Ttls {
                    nonce: Duration::from_secs(a.nonce_ttl_secs),
                    session: Duration::from_secs(a.session_ttl_secs),
                },
            };
            match crate::server::serve(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
        Command::AddResource(a) => {
            match crate::resources::add(&a.resources, &a.path, &a.file, a.replace) {
                // The path only: never the bytes.
                Ok(written) => {
                    println!("added {} ({})", a.path, written.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::VerifyReport(a) => {
            let inputs = VerifyInputs {
                report: a.report,
                vcek: a.vcek,
                chain: a.chain,
                policy: a.policy,
                manifest: a.manifest,
                min_tcb: a.min_tcb,
            };
            match crate::offline::verify_files(&inputs) {
                Ok(outcome) => {
                    for line in crate::offline::describe(&outcome) {
                        println!("{line}");
                    }
                    if outcome.is_ok() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => fail(&e),
            }
        }
    }
}
