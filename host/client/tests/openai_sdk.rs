//! The `openai` Python package against the proxy (base64 embeddings, its
//! default). Fails where python3 cannot import `openai` (scripts/setup.sh
//! installs it).

mod common;

use std::process::Command;

use common::fake::{embedding, Fake};
use common::proxy_bin::Proxy;
use common::*;

const SCRIPT: &str = r#"
import json, sys, openai
client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="not-sent-upstream", max_retries=0)
r = client.embeddings.create(model="all-MiniLM-L6-v2", input=["hello world", "second sentence"])
models = [m.id for m in client.models.list().data]
print(json.dumps({"vectors": [d.embedding for d in r.data], "models": models}))
"#;

#[test]
fn the_openai_package_round_trips_through_the_proxy() {
    let has_openai = Command::new("python3")
        .args(["-c", "import openai"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_openai,
        "python3 cannot import openai: run scripts/setup.sh (it installs openai==1.109.1)"
    );
    let fake = Fake::start(MEASUREMENT);
    let manifest = manifest_file(&[MEASUREMENT], GUEST_POLICY, None);
    let proxy = Proxy::start(&fake, manifest.to_str().expect("utf8"));
    let out = Command::new("python3")
        .args(["-c", SCRIPT, &proxy.url])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let vectors: Vec<Vec<f32>> =
        serde_json::from_value(result["vectors"].clone()).expect("vectors");
    assert_eq!(
        vectors,
        vec![embedding("hello world"), embedding("second sentence")]
    );
    assert_eq!(result["models"], serde_json::json!([serving_api::MODEL_ID]));
    let printed = proxy.printed().join("\n");
    assert!(printed.contains("POST /v1/embeddings -> 200"), "{printed}");
    assert!(!printed.contains("hello world"), "{printed}");
}
