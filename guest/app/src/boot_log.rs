//! The measured boot log: every input the appliance accepted after launch
//! (runtime configuration, later the model), with its digest. The launch
//! measurement covers the image; this log covers what came in afterwards,
//! and is served with the attestation evidence.

use alloc::vec::Vec;

pub struct BootEvent {
    /// Fixed event name (never data from the host).
    pub name: &'static str,
    pub algorithm: &'static str,
    pub digest: Vec<u8>,
}

#[derive(Default)]
pub struct BootLog {
    events: Vec<BootEvent>,
}

impl BootLog {
    pub fn record(&mut self, name: &'static str, algorithm: &'static str, digest: &[u8]) {
        let event = BootEvent {
            name,
            algorithm,
            digest: digest.to_vec(),
        };
        kernel::println!(
            "boot log: {} {}:{}",
            event.name,
            event.algorithm,
            hex::encode(&event.digest)
        );
        self.events.push(event);
    }

    pub fn events(&self) -> &[BootEvent] {
        &self.events
    }
}
