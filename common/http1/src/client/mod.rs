//! Client side: encode a request, parse its response incrementally. Used by
//! the guest to talk to the key broker, one request per parser.

mod chunked;
mod error;
mod request;
mod response;

pub use error::ClientError;
pub use request::{encode_request, ClientRequest};
pub use response::{ClientConfig, ReceivedResponse, ResponseParser};
