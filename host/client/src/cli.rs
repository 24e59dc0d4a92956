//! Command line: `verify`, `embed`, `proxy`. Exit 0 on success, 1 when the
//! appliance is refused (or answers an error), 2 for usage and connection
//! errors. `verify` and `proxy` take `--fleet URL` instead of `--url` for
//! many appliances behind one balancer: `verify --fleet` exits 1 when any
//! node is refused and 2 when the listing cannot be had; `proxy --fleet`
//! starts when at least one node verified. With --fleet, node URLs must be
//! on the balancer unless `--allow-absolute-node-urls` is given.

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
use crate::fleet::{verdict_line, verify_fleet, Node};
use crate::http::printable;
use crate::manifest::Manifest;
use crate::proxy::ProxyError;
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
    /// With --fleet: one line per node, exit 1 if any node is refused.
    Verify(VerifyArgs),
    /// Verify, then embed TEXTs in one encrypted request; print one JSON array per input.
    Embed(EmbedArgs),
    /// Verify, then serve a plain OpenAI-compatible API on loopback that forwards encrypted.
    /// With --fleet: to the least busy verified node, retrying once on another.
    Proxy(ProxyArgs),
}

#[derive(Args)]
struct Target {
    /// The appliance, http://HOST[:PORT][/PATH].
    #[arg(long)]
    url: String,
    #[command(flatten)]
    policy: Policy,
}

/// One appliance or a fleet (exactly one of the two).
#[derive(Args)]
#[group(required = true, multiple = false)]
struct Place {
    /// The appliance, http://HOST[:PORT][/PATH].
    #[arg(long)]
    url: Option<String>,
    /// A fleet behind one balancer: its address http://HOST[:PORT] (the
    /// listing is read from /.well-known/appliance-fleet there) or the
    /// listing's own URL. Every listed node is verified on its own; the
    /// listing is untrusted and only says where to look.
    #[arg(long)]
    fleet: Option<String>,
}

/// What the evidence is checked against.
#[derive(Args)]
struct Policy {
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

/// What a fleet's listing may name.
#[derive(Args)]
struct FleetPolicy {
    /// With --fleet: also verify and use listed nodes whose absolute
    /// http:// URL is on another host than the balancer. Off by default, so
    /// an untrusted listing cannot make the client send requests to any
    /// host it names.
    #[arg(long)]
    allow_absolute_node_urls: bool,
}

#[derive(Args)]
struct VerifyArgs {
    #[command(flatten)]
    place: Place,
    #[command(flatten)]
    policy: Policy,
    #[command(flatten)]
    fleet_policy: FleetPolicy,
    /// Print the summary as JSON (with --fleet: an array, one object per node).
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
    place: Place,
    #[command(flatten)]
    policy: Policy,
    #[command(flatten)]
    fleet_policy: FleetPolicy,
    /// With --fleet: seconds between re-reading the listing (dropping
    /// unlisted nodes, verifying new, down and refused ones). Default 5.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    refresh_secs: Option<u64>,
}

const USAGE: u8 = 2;
/// Printed once when `--insecure` meets `--fleet`.
pub const FLEET_INSECURE_WARNING: &str = "appliance-client: WARNING: --insecure with --fleet: sample evidence is unsigned, so the balancer and any server the listing names can pose as a node and read requests; development only";
const DEFAULT_REFRESH_SECS: u64 = 5;
const REFUSED: u8 = 1;

fn usage(message: impl std::fmt::Display) -> ExitCode {
    // Messages may quote a listing, balancer or appliance answer.
    eprintln!(
        "appliance-client: error: {}",
        printable(&message.to_string())
    );
    ExitCode::from(USAGE)
}

fn refused(r: &Refusal) -> ExitCode {
    if r.is_connection() {
        return usage(format!("cannot reach the appliance: {}", r.detail));
    }
    eprintln!("refused: {}", printable(&r.to_string()));
    ExitCode::from(REFUSED)
}

impl Policy {
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

    fn verify(&self, url: &str) -> Result<VerifiedAppliance, ExitCode> {
        let manifest = self.manifest()?;
        verify(url, &manifest, &self.options()).map_err(|r| refused(&r))
    }
}

impl Target {
    fn verify(&self) -> Result<VerifiedAppliance, ExitCode> {
        self.policy.verify(&self.url)
    }
}

/// `--json` for one node of a fleet.
fn node_json(node: &Node, verdict: &Result<VerifiedAppliance, Refusal>) -> serde_json::Value {
    match verdict {
        Ok(a) => serde_json::json!({
            "name": node.name, "url": node.url, "verified": true, "summary": a.summary(),
        }),
        Err(r) => serde_json::json!({
            "name": node.name, "url": node.url, "verified": false,
            "refused": {"reason": r.reason.as_str(), "detail": r.detail},
        }),
    }
}

impl FleetPolicy {
    /// `--allow-absolute-node-urls` without `--fleet` is a usage error.
    fn check(&self, place: &Place) -> Result<(), ExitCode> {
        if self.allow_absolute_node_urls && place.fleet.is_none() {
            return Err(usage("--allow-absolute-node-urls is for --fleet"));
        }
        Ok(())
    }
}

/// Options for a fleet; warns once about `--insecure`, whose unsigned
/// evidence anyone answering a node URL can make up (with its own key).
fn fleet_options(policy: &Policy, fleet_policy: &FleetPolicy) -> Options {
    if policy.insecure {
        eprintln!("{FLEET_INSECURE_WARNING}");
    }
    Options {
        allow_absolute_node_urls: fleet_policy.allow_absolute_node_urls,
        ..policy.options()
    }
}

fn run_verify_fleet(fleet: &str, args: &VerifyArgs) -> ExitCode {
    let (policy, json) = (&args.policy, args.json);
    let manifest = match policy.manifest() {
        Ok(m) => m,
        Err(code) => return code,
    };
    let options = fleet_options(policy, &args.fleet_policy);
    let verdicts = match verify_fleet(fleet, &manifest, &options) {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    if json {
        let all: Vec<_> = verdicts.iter().map(|(n, v)| node_json(n, v)).collect();
        match serde_json::to_string_pretty(&all) {
            Ok(text) => println!("{text}"),
            Err(e) => return usage(e),
        }
    } else {
        for (node, verdict) in &verdicts {
            println!("{}", verdict_line(node, verdict));
        }
    }
    if verdicts.iter().all(|(_, v)| v.is_ok()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(REFUSED)
    }
}

fn run_verify(args: &VerifyArgs) -> ExitCode {
    if let Err(code) = args.fleet_policy.check(&args.place) {
        return code;
    }
    let url = match (&args.place.url, &args.place.fleet) {
        (Some(url), _) => url,
        (None, Some(fleet)) => return run_verify_fleet(fleet, args),
        (None, None) => return usage("--url or --fleet is required"),
    };
    let appliance = match args.policy.verify(url) {
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
    if args.refresh_secs.is_some() && args.place.fleet.is_none() {
        return usage("--refresh-secs is for --fleet");
    }
    if let Err(code) = args.fleet_policy.check(&args.place) {
        return code;
    }
    let manifest = match args.policy.manifest() {
        Ok(m) => m,
        Err(code) => return code,
    };
    let result = match (&args.place.url, &args.place.fleet) {
        (Some(url), _) => crate::proxy::run(args.listen, url, manifest, args.policy.options()),
        (None, Some(fleet)) => {
            let every = Duration::from_secs(args.refresh_secs.unwrap_or(DEFAULT_REFRESH_SECS));
            let options = fleet_options(&args.policy, &args.fleet_policy);
            crate::proxy::run_fleet(args.listen, fleet, manifest, options, every)
        }
        (None, None) => return usage("--url or --fleet is required"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(ProxyError::Refused(r)) => refused(&r),
        Err(ProxyError::NoneVerified) => {
            eprintln!("appliance-client: {}", ProxyError::NoneVerified);
            ExitCode::from(REFUSED)
        }
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
