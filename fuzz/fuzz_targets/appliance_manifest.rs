//! The image manifest that the broker and the client read: parsing never
//! panics, every accepted manifest has a launch digest, and its verifier
//! policy (tightened by nothing) keeps exactly its measurements.
#![no_main]

use appliance_manifest::{Manifest, Stricter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Manifest::from_json(data) else {
        return;
    };
    assert!(!m.launch_configurations.is_empty());
    assert_eq!(m.guest_policy, m.policy.guest_policy);
    let measurements = m.measurements();
    for d in &measurements {
        assert!(!m.matching(d).is_empty());
    }
    if let Ok(p) = m.verifier_policy(&Stricter::default()) {
        assert_eq!(p.measurements, measurements);
        let _ = p.describe();
    }
    assert_eq!(Manifest::from_json(data).as_ref(), Ok(&m));
});
