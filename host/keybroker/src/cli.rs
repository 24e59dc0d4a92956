//! Command line: `serve`, `add-resource`, `verify-report`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use appliance_manifest::{Manifest, Stricter};
use clap::{Args, Parser, Subcommand};
use snp_verify::{Generation, TcbVersion};

use crate::error::Error;
use crate::offline::VerifyInputs;
use crate::server::ServeConfig;
use crate::session::{Limits, Ttls};

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
    /// Allow a non-loopback --listen address (never with --insecure-allow-sample).
    #[arg(long)]
    allow_non_loopback: bool,
    /// image-builder's manifest.json: its launch digests are the allowed
    /// measurements and its policy is enforced for them; repeatable (one per
    /// image served).
    #[arg(long, required = true)]
    manifest: Vec<PathBuf>,
    /// Resource directory (see add-resource); must be private (0700).
    #[arg(long)]
    resources: PathBuf,
    /// Accept unsigned `sample` evidence. INSECURE: development only, and
    /// only on a loopback --listen address.
    #[arg(long)]
    insecure_allow_sample: bool,
    #[command(flatten)]
    stricter: StricterArgs,
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
    /// Sessions that have not attested kept at most (the oldest is evicted).
    #[arg(long, default_value_t = crate::session::MAX_UNATTESTED as u32, value_parser = clap::value_parser!(u32).range(1..=65536))]
    max_unattested_sessions: u32,
    /// `/auth` requests per second per peer address (burst twice that; 0: no limit).
    #[arg(long, default_value_t = crate::rate::DEFAULT_PER_SEC)]
    auth_per_sec: u32,
}

/// Command-line values that may only tighten the manifest's policy
/// (appliance-manifest `Stricter`); the start-up log says what they changed.
#[derive(Args)]
pub struct StricterArgs {
    /// Raise the manifest's minimum REPORTED_TCB for a generation it names,
    /// GEN:bl=N,tee=N,snp=N,ucode=N[,fmc=N]; repeatable. A lower value, or a
    /// generation the manifest has no minimum for, is an error.
    #[arg(long = "min-tcb", value_parser = parse_min_tcb)]
    min_tcb: Vec<(Generation, TcbVersion)>,
    /// Raise the lowest report version accepted.
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=5))]
    min_report_version: Option<u32>,
    /// Refuse VLEK-signed reports even if the manifest allows them.
    #[arg(long)]
    refuse_vlek: bool,
    /// Allow only this runtime configuration SHA-256 (HOST_DATA; 64 hex,
    /// `sha256sum config.json`); repeatable. Must be among the manifest's, if
    /// it lists any.
    #[arg(long = "config-sha256", value_name = "HEX", value_parser = parse_sha256)]
    config_sha256: Vec<[u8; 32]>,
}

impl StricterArgs {
    pub fn stricter(&self) -> Stricter {
        Stricter {
            min_tcb: self.min_tcb.clone(),
            min_report_version: self.min_report_version,
            refuse_vlek: self.refuse_vlek,
            runtime_config_sha256: self.config_sha256.clone(),
        }
    }
}

fn parse_sha256(text: &str) -> Result<[u8; 32], String> {
    appliance_manifest::policy::parse_sha256(text)
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
    /// Only this launch digest (96 hex) may read the resource; repeatable.
    #[arg(long)]
    measurement: Vec<String>,
    /// Only the launch digests of this manifest may read the resource;
    /// repeatable. Without --measurement or --manifest, every measurement the
    /// broker accepts may.
    #[arg(long)]
    manifest: Vec<PathBuf>,
}

/// The measurements `add-resource` binds a resource to.
fn binding(a: &AddArgs) -> Result<Vec<[u8; 48]>, Error> {
    let mut out = Vec::new();
    for hex in &a.measurement {
        out.push(snp_verify::parse_measurement(hex).map_err(|e| Error::Policy(e.to_string()))?);
    }
    for path in &a.manifest {
        let m = Manifest::load(path).map_err(|detail| Error::Manifest {
            path: path.clone(),
            detail,
        })?;
        out.extend(m.measurements());
    }
    Ok(out)
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
                manifests: a.manifest,
                resources: a.resources,
                allow_sample: a.insecure_allow_sample,
                stricter: a.stricter.stricter(),
                vcek_dir: a.vcek_dir,
                ttls: Ttls {
                    nonce: Duration::from_secs(a.nonce_ttl_secs),
                    session: Duration::from_secs(a.session_ttl_secs),
                },
                limits: Limits {
                    unattested: a.max_unattested_sessions as usize,
                },
                auth_per_sec: a.auth_per_sec,
            };
            match crate::server::serve(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
        Command::AddResource(a) => {
            let allowed = match binding(&a) {
                Ok(list) => list,
                Err(e) => return fail(&e),
            };
            match crate::resources::add(&a.resources, &a.path, &a.file, a.replace, &allowed) {
                // The path only: never the bytes.
                Ok(written) => {
                    println!("added {} ({})", a.path, written.display());
                    if allowed.is_empty() {
                        println!("bound to: every measurement the broker accepts (pass --manifest or --measurement to bind it)");
                    } else {
                        for m in &allowed {
                            println!("bound to: {}", hex::encode(m));
                        }
                    }
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
