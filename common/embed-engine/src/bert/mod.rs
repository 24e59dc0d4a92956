//! BERT sentence embedder (all-MiniLM-L6-v2 and same-shaped models).

mod attention;
pub mod config;
pub mod float_model;
mod forward;
mod model;
pub mod quantize;
mod split;

pub use config::BertConfig;
pub use float_model::{FloatBert, FloatLayer, FloatLinear, FloatPass, Site};
pub use forward::Workspace;
pub use model::BertModel;
pub use quantize::{quantize_bert, DEFAULT_ALPHA};
pub use split::SplitShared;
