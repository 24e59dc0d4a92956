//! RDRAND as a `rand_core` CSPRNG, for every key the appliance makes (the
//! TEE key for key release, the OHTTP key, response nonces). RDRAND missing
//! or failing stops the appliance: there is no acceptable fallback. The
//! kernel already retried (10 attempts, refusing CF=0, all-ones and repeated
//! values); its error names the cause, printed before the exit.

use rand_core::{CryptoRng, RngCore};

pub struct RdRand;

impl RdRand {
    pub fn new() -> Self {
        if let Err(e) = kernel::cpu::rdrand64() {
            kernel::fail("rng", &e);
        }
        RdRand
    }

    /// `N` fresh random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill_bytes(&mut out);
        out
    }
}

impl RngCore for RdRand {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    fn next_u64(&mut self) -> u64 {
        kernel::cpu::rdrand64().unwrap_or_else(|e| kernel::fail("rng", &e))
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for RdRand {}
