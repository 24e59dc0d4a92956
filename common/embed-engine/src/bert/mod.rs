//! BERT sentence embedder (all-MiniLM-L6-v2 and same-shaped models).

pub mod attention;
pub mod config;
mod forward;
mod model;
mod split;

pub use config::BertConfig;
pub use forward::Workspace;
pub use model::BertModel;
pub use split::SplitShared;
