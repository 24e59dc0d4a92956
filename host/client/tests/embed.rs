//! Encrypted round trips through the fake appliance's `ohttp` gateway.

mod common;

use appliance_client::{vectors, verify, ClientError, Options};
use common::fake::{embedding, Fake};
use common::*;
use serving_api::embeddings::Encoding;

fn insecure() -> Options {
    Options {
        insecure: true,
        ..Options::default()
    }
}

#[test]
fn embed_round_trip_in_both_encodings() {
    let fake = Fake::start(MEASUREMENT);
    let appliance = verify(&fake.url(), &manifest(&[MEASUREMENT]), &insecure()).expect("verified");
    let texts = ["The cat sat on the mat.", "Ünïcödé and \"quotes\""];
    for encoding in [Encoding::Float, Encoding::Base64] {
        let response = appliance.embed(&texts, encoding).expect("embeds");
        assert_eq!(response.model, serving_api::MODEL_ID);
        let got = vectors(&response).expect("vectors");
        let want: Vec<Vec<f32>> = texts.iter().map(|t| embedding(t)).collect();
        assert_eq!(got, want);
    }
    let inner = fake.state().last_inner.clone().expect("an inner request");
    assert_eq!(
        inner,
        ["https", "appliance", "/v1/embeddings", "application/json"].map(String::from)
    );
    // The texts never crossed the wire in the clear: only the encapsulation.
    assert_eq!(
        fake.seen().last().map(String::as_str),
        Some("POST /"),
        "{:?}",
        fake.seen()
    );
}

#[test]
fn an_openai_error_inside_is_returned() {
    let fake = Fake::start(MEASUREMENT);
    let appliance = verify(&fake.url(), &manifest(&[MEASUREMENT]), &insecure()).expect("verified");
    match appliance.embed(&[""], Encoding::Float) {
        Err(ClientError::Api(a)) => {
            assert_eq!(a.status, 400);
            assert_eq!(a.kind.as_deref(), Some("invalid_request_error"));
            assert!(a.message.contains("empty"), "{}", a.message);
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    // forward() hands back the inner response untouched.
    let inner = appliance
        .forward(br#"{"input":"x","model":"gpt-4"}"#)
        .expect("answered");
    assert_eq!(inner.status, 404);
    assert_eq!(inner.content_type.as_deref(), Some("application/json"));
}

#[test]
fn a_rotated_key_is_reported_as_rejected() {
    let fake = Fake::start(MEASUREMENT);
    let manifest = manifest(&[MEASUREMENT]);
    let appliance = verify(&fake.url(), &manifest, &insecure()).expect("verified");
    fake.rotate(2);
    assert_eq!(
        appliance.embed(&["x"], Encoding::Float),
        Err(ClientError::KeyRejected)
    );
    let fresh = verify(&fake.url(), &manifest, &insecure()).expect("verified again");
    assert_eq!(fresh.key_id(), 2);
    assert!(fresh.embed(&["x"], Encoding::Float).is_ok());
}

#[test]
fn a_gateway_refusal_outside_the_encapsulation_is_an_error() {
    let fake = Fake::start(MEASUREMENT);
    let appliance = verify(&fake.url(), &manifest(&[MEASUREMENT]), &insecure()).expect("verified");
    // Same key id, different key: the gateway cannot decrypt.
    let (server, _) = common::fake::key(1);
    fake.state().server = server;
    match appliance.embed(&["x"], Encoding::Float) {
        Err(ClientError::Gateway { status: 400, .. }) => {}
        other => panic!("expected a gateway 400, got {other:?}"),
    }
}
