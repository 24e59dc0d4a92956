//! Inside the encapsulation: a Binary HTTP request for `POST /v1/embeddings`
//! in, a Binary HTTP response with OpenAI-style JSON (or an OpenAI-style
//! error) out. Every plaintext buffer here (texts, token ids, vectors, the
//! JSON) is wiped when dropped.

use alloc::vec::Vec;
use embed_engine::Embedder;
use ohttp_gateway::bhttp;
use serving_api::embeddings::{encode_response, parse_request, ApiError, Limits};
use serving_api::EMBEDDINGS_PATH;
use zeroize::Zeroizing;

/// Answers one decapsulated request; returns the BHTTP response bytes.
/// Nothing about it (status, sizes, time) leaves this function but the
/// response itself.
pub fn answer(embedder: &mut Embedder<'_>, request_bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    let (status, body) = match bhttp::decode_request(request_bytes) {
        Err(_) => {
            let e = ApiError::invalid(None, "The encapsulated request is not valid Binary HTTP.");
            (e.status, Zeroizing::new(e.to_json()))
        }
        Ok(request) => match embeddings(embedder, &request) {
            Ok(json) => (200, json),
            Err(e) => (e.status, Zeroizing::new(e.to_json())),
        },
    };
    Zeroizing::new(bhttp::encode_response(
        status,
        &[
            ("content-type", b"application/json"),
            ("cache-control", b"no-store"),
        ],
        &body,
    ))
}

fn embeddings(
    embedder: &mut Embedder<'_>,
    request: &bhttp::Request,
) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    if crate::http_server::path_of(&request.path) != EMBEDDINGS_PATH {
        return Err(ApiError::not_found());
    }
    if request.method != "POST" {
        return Err(ApiError::method_not_allowed());
    }
    let parsed = parse_request(&request.body, &Limits::default())?;
    let ids: Vec<Zeroizing<Vec<u32>>> = parsed
        .inputs
        .iter()
        .map(|text| Zeroizing::new(embedder.tokenize(text)))
        .collect();
    let tokens = ids.iter().map(|i| i.len()).sum();
    let batch: Vec<&[u32]> = ids.iter().map(|i| i.as_slice()).collect();
    // Across the vCPUs (`crate::vcpus`): several inputs go whole to the
    // APs, one input is split by token rows; on one vCPU sentence by
    // sentence. Bit-identical to the host's batched or threaded runs.
    let vectors = Zeroizing::new(
        embedder
            .embed_ids_batch(&batch)
            .map_err(|_| ApiError::internal())?,
    );
    Ok(encode_response(&vectors, parsed.encoding, tokens))
}
