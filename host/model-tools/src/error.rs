//! Errors of the quantizer (float model -> blob).

use core::fmt;
use embed_engine::EngineError;

/// Why a float model could not be quantized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuantizeError {
    /// Float weights with inconsistent shapes or a config out of range.
    BadModel(&'static str),
    /// Calibration needs at least one text.
    NoCalibration,
    /// A float weight or activation is NaN or infinite.
    NonFinite(&'static str),
    Engine(EngineError),
}

impl From<EngineError> for QuantizeError {
    fn from(e: EngineError) -> Self {
        QuantizeError::Engine(e)
    }
}

impl fmt::Display for QuantizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "quantization failed: {self:?}")
    }
}
