//! `POST /v1/embeddings` bodies (OpenAI's shape): any bytes are refused or
//! accepted without a panic, and what is accepted stays inside the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serving_api::embeddings::{parse_request, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_inputs: 8,
        max_input_bytes: 256,
        max_total_bytes: 1024,
    };
    match parse_request(data, &limits) {
        Ok(req) => {
            assert!(!req.inputs.is_empty() && req.inputs.len() <= limits.max_inputs);
            let total: usize = req.inputs.iter().map(|s| s.len()).sum();
            assert!(req.inputs.iter().all(|s| s.len() <= limits.max_input_bytes));
            assert!(total <= limits.max_total_bytes);
            assert!(total <= data.len());
        }
        Err(e) => {
            assert!((400..500).contains(&e.status));
            let _ = e.to_json();
        }
    }
});
