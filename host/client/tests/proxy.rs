//! The proxy's upstream state in process: a re-verification that cannot
//! reach the appliance leaves it stale (verify again next time), never
//! refused and never forwarding with the rejected key.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use appliance_client::proxy::{Failure, Reverify, Upstream};
use appliance_client::{verify, Options, Reason, Refusal};
use common::fake::Fake;
use common::*;

const BODY: &[u8] = br#"{"input":"x","model":"all-MiniLM-L6-v2"}"#;

#[test]
fn unreachable_during_reverification_means_verify_again_next_time() {
    let fake = Arc::new(Fake::start(MEASUREMENT));
    let options = Options {
        insecure: true,
        ..Options::default()
    };
    let first = verify(&fake.url(), &manifest(&[MEASUREMENT]), &options).expect("verified");
    let calls = Arc::new(AtomicUsize::new(0));
    let reverify: Reverify = {
        let (fake, calls) = (Arc::clone(&fake), Arc::clone(&calls));
        Box::new(move || {
            // The first attempt finds the appliance still booting.
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(Refusal::new(Reason::Connection, "connection refused"));
            }
            verify(&fake.url(), &manifest(&[MEASUREMENT]), &options)
        })
    };
    let upstream = Upstream::new(first, reverify);
    assert_eq!(upstream.forward(BODY).map(|r| r.status), Ok(200));

    fake.rotate(9);
    let posts = || fake.seen().iter().filter(|s| s.starts_with("POST")).count();
    let before = posts();
    assert!(matches!(
        upstream.forward(BODY),
        Err(Failure::Unreachable(_))
    ));
    assert_eq!(posts(), before + 1, "only the rejected attempt was sent");
    assert_eq!(upstream.forward(BODY).map(|r| r.status), Ok(200));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(posts(), before + 2, "the stale key was not tried again");
}

#[test]
fn a_reboot_that_draws_the_same_key_id_is_followed() {
    let fake = Arc::new(Fake::start(MEASUREMENT));
    let options = Options {
        insecure: true,
        ..Options::default()
    };
    let first = verify(&fake.url(), &manifest(&[MEASUREMENT]), &options).expect("verified");
    assert_eq!(first.key_id(), 1);
    let calls = Arc::new(AtomicUsize::new(0));
    let reverify: Reverify = {
        let (fake, calls, options) = (Arc::clone(&fake), Arc::clone(&calls), options.clone());
        Box::new(move || {
            calls.fetch_add(1, Ordering::SeqCst);
            verify(&fake.url(), &manifest(&[MEASUREMENT]), &options)
        })
    };
    let upstream = Upstream::new(first, reverify);
    assert_eq!(upstream.forward(BODY).map(|r| r.status), Ok(200));

    // A gateway 400 while the key configuration is unchanged is not a key
    // change: the error is returned and nothing is verified again.
    fake.state().gateway_400 = true;
    assert!(matches!(
        upstream.forward(BODY),
        Err(Failure::Client(appliance_client::ClientError::Gateway {
            status: 400,
            ..
        }))
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    fake.state().gateway_400 = false;

    // Reboot with the same key id 1 but a new key: the gateway cannot
    // decrypt and answers a plain 400 (not the ohttp-key problem).
    let stale = verify(&fake.url(), &manifest(&[MEASUREMENT]), &options).expect("verified");
    fake.rotate(1);
    assert!(matches!(
        stale.forward(BODY),
        Err(appliance_client::ClientError::Gateway { status: 400, .. })
    ));
    assert_eq!(stale.key_configuration_changed(), Ok(true));
    let posts = || fake.seen().iter().filter(|s| s.starts_with("POST")).count();
    let before_posts = posts();
    assert_eq!(upstream.forward(BODY).map(|r| r.status), Ok(200));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "verified again once");
    assert_eq!(
        posts(),
        before_posts + 2,
        "the rejected attempt and the retry"
    );
}
