//! The appliance's verifying client.
//!
//! Nothing but `GET`s reach the appliance until its evidence verified:
//! [`verify`] fetches `GET /v1/attestation` and `GET /.well-known/ohttp-gateway`,
//! checks the evidence (AMD chain, report signature, MEASUREMENT against
//! image-builder's manifest, POLICY, TCB, and the REPORT_DATA binding of the
//! OHTTP key configuration and boot log), and only then returns a
//! [`VerifiedAppliance`], the one type that can send a `POST`. Every request
//! it sends is an Oblivious HTTP (RFC 9458) encapsulation, to the verified
//! key, of a Binary HTTP (RFC 9292) `POST /v1/embeddings`.
//!
//! ```no_run
//! use appliance_client::{verify, Manifest, Options};
//! use serving_api::embeddings::Encoding;
//!
//! let manifest = Manifest::load(std::path::Path::new("out/manifest.json"))?;
//! let appliance = verify("http://127.0.0.1:8080", &manifest, &Options::default())?;
//! println!("{}", appliance.summary().lines().join("\n"));
//! let response = appliance.embed(&["a sentence"], Encoding::Float)?;
//! let vectors = appliance_client::vectors(&response)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules: [`http`] (HTTP/1.1 over `TcpStream` with the `http1` crate),
//! [`manifest`], [`keys`] (RFC 9458 key configurations), [`serve`] (the
//! server loop the proxy runs per connection), [`proxy`], [`fleet`] (many
//! appliances behind one balancer: the listing, verifying every node, the
//! proxy's pool of verified nodes), [`cli`].
#![forbid(unsafe_code)]

pub mod cli;
mod error;
mod exchange;
pub mod fleet;
pub mod http;
pub mod keys;
pub mod proxy;
pub mod serve;
mod verify;

pub use appliance_manifest as manifest;
pub use appliance_manifest::Manifest;
pub use error::{ApiFailure, ClientError, Reason, Refusal};
pub use exchange::{vectors, InnerResponse};
pub use snp_verify::parse_min_tcb;
pub use verify::{verify, KeySummary, Options, SnpSummary, Summary, VerifiedAppliance};
