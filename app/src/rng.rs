//! RDRAND as a `rand_core` CSPRNG, for every key the appliance makes (the
//! TEE key for key release, the OHTTP key, response nonces). RDRAND missing
//! or failing stops the appliance: there is no acceptable fallback.

use kernel::println;
use rand_core::{CryptoRng, RngCore};

pub struct RdRand;

fn fail(what: &str) -> ! {
    println!("rng: FAILED: {what}");
    kernel::exit(kernel::ExitCode::Failure)
}

impl RdRand {
    pub fn new() -> Self {
        if kernel::cpu::rdrand64().is_none() {
            fail("RDRAND unavailable");
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
        kernel::cpu::rdrand64().unwrap_or_else(|| fail("RDRAND failed"))
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for RdRand {}

/// getrandom's backend on this target (see Cargo.toml): RDRAND, failing
/// with an error code rather than stopping.
fn getrandom_rdrand(dest: &mut [u8]) -> Result<(), getrandom::Error> {
    for chunk in dest.chunks_mut(8) {
        let Some(word) = kernel::cpu::rdrand64() else {
            return Err(getrandom::Error::UNSUPPORTED);
        };
        chunk.copy_from_slice(&word.to_le_bytes()[..chunk.len()]);
    }
    Ok(())
}

getrandom::register_custom_getrandom!(getrandom_rdrand);
