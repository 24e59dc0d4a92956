//! Flow tests of the guest logic against `mock::MockHypervisor`.

mod accept;
mod ap_create;
mod evict;
mod mock_independence;
mod mock_rules;
mod nae;
mod setup;
mod string_io;

use crate::mock::{MockConfig, MockHypervisor};
use crate::{init_ghcb, AcceptedMemory, GhcbChannel};

/// GHCB page: inside the low 640 KiB the early boot validates.
pub const GHCB: u64 = 0x7_F000;

/// The record tests use (small, so "full" is reachable).
pub type Record = AcceptedMemory<16>;

/// A guest right after launch: 0..640 KiB private and validated.
pub fn booted(config: MockConfig) -> MockHypervisor {
    let mut m = MockHypervisor::new(config);
    m.prevalidate(0, 0xA_0000);
    m
}

/// What the guest knows it accepted after [`booted`] + [`channel`]: the low
/// 640 KiB except the GHCB page (shared during set-up).
pub fn launch_record() -> Record {
    let mut r = Record::new();
    r.insert(0, GHCB).unwrap();
    r.insert(GHCB + 0x1000, 0xA_0000).unwrap();
    r
}

pub fn channel(m: &mut MockHypervisor) -> GhcbChannel<&mut MockHypervisor> {
    init_ghcb(m, GHCB).unwrap().0
}
