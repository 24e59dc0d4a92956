//! The measured boot log: every input the appliance accepted after launch
//! (runtime configuration, later the model), with its digest. The launch
//! measurement covers the image; this log covers what came in afterwards,
//! and is served with the attestation evidence, so its events are already
//! in the document's form.

use alloc::string::String;
use alloc::vec::Vec;
use serving_api::document::BootEvent;

#[derive(Default)]
pub struct BootLog {
    events: Vec<BootEvent>,
}

impl BootLog {
    /// `name` and `algorithm` are fixed texts, never data from the host.
    pub fn record(&mut self, name: &'static str, algorithm: &'static str, digest: &[u8]) {
        let digest = hex::encode(digest);
        kernel::println!("boot log: {name} {algorithm}:{digest}");
        self.events.push(BootEvent {
            event: String::from(name),
            algorithm: String::from(algorithm),
            digest,
        });
    }

    pub fn events(&self) -> &[BootEvent] {
        &self.events
    }
}
