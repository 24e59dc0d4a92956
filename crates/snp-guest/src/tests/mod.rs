//! Flow tests of the guest logic against `mock::MockHypervisor`.

mod accept;
mod mock_rules;
mod nae;
mod setup;

use crate::mock::{MockConfig, MockHypervisor};
use crate::{init_ghcb, GhcbChannel};

/// GHCB page: inside the low 640 KiB the early boot validates.
pub const GHCB: u64 = 0x7_F000;

/// A guest right after launch: 0..640 KiB private and validated.
pub fn booted(config: MockConfig) -> MockHypervisor {
    let mut m = MockHypervisor::new(config);
    m.prevalidate(0, 0xA_0000);
    m
}

pub fn channel(m: &mut MockHypervisor) -> GhcbChannel<&mut MockHypervisor> {
    init_ghcb(m, GHCB).unwrap().0
}
