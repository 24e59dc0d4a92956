//! Sanity filter for RDRAND output, the guest's only entropy source (the kernel
//! executes the instruction; the decision is here, testable on the host).
//!
//! RDRAND is not intercepted under SNP, so the host cannot forge its output, but the
//! CPU can still fail:
//! - CF = 0: no value ready; Intel's DRNG guide advises retrying up to 10 times;
//! - all-ones with CF = 1: AMD parts with a broken RDRAND (family 15h/16h after
//!   resume, Ryzen 3000 before an AGESA fix) return 0xFFFF_FFFF... and claim success;
//! - the same value twice in a row: a stuck generator (a real repeat has
//!   probability 2^-64).
//!
//! Each call gets [`MAX_TRIES`] attempts; then the caller must stop, not loop.

/// Attempts per value (Intel DRNG software implementation guide: 10 retries).
pub const MAX_TRIES: u32 = 10;

/// Why no value was accepted in [`MAX_TRIES`] attempts (the last attempt's reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RdrandError {
    /// CPUID does not report RDRAND.
    #[error("RDRAND failed {} times: CPUID does not report RDRAND", MAX_TRIES)]
    Unsupported,
    /// CF = 0 every time: the generator had no value.
    #[error("RDRAND failed {} times: no value ready (CF=0)", MAX_TRIES)]
    NotReady,
    /// All-ones with CF = 1 (AMD RDRAND erratum).
    #[error(
        "RDRAND failed {} times: all-ones values (AMD RDRAND erratum)",
        MAX_TRIES
    )]
    AllOnes,
    /// The previous value again: the generator is stuck.
    #[error(
        "RDRAND failed {} times: the same value repeated (stuck generator)",
        MAX_TRIES
    )]
    Repeated,
}

/// Remembers the last accepted value; one per entropy source.
#[derive(Debug, Clone, Copy, Default)]
pub struct RdrandFilter {
    last: Option<u64>,
}

impl RdrandFilter {
    pub const fn new() -> Self {
        Self { last: None }
    }

    /// Judges one RDRAND result (`ok` is CF).
    pub fn check(&self, value: u64, ok: bool) -> Result<u64, RdrandError> {
        if !ok {
            Err(RdrandError::NotReady)
        } else if value == u64::MAX {
            Err(RdrandError::AllOnes)
        } else if self.last == Some(value) {
            Err(RdrandError::Repeated)
        } else {
            Ok(value)
        }
    }

    /// Up to [`MAX_TRIES`] calls of `rdrand() -> (value, CF)`; the first value that
    /// passes [`check`](Self::check) is remembered and returned.
    pub fn draw(&mut self, mut rdrand: impl FnMut() -> (u64, bool)) -> Result<u64, RdrandError> {
        let mut last_err = RdrandError::NotReady;
        for _ in 0..MAX_TRIES {
            let (value, ok) = rdrand();
            match self.check(value, ok) {
                Ok(v) => {
                    self.last = Some(v);
                    return Ok(v);
                }
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted generator; panics if asked more often than scripted.
    fn script(values: &[(u64, bool)]) -> impl FnMut() -> (u64, bool) + '_ {
        let mut i = 0;
        move || {
            i += 1;
            values[i - 1]
        }
    }

    #[test]
    fn accepts_a_good_value() {
        let mut f = RdrandFilter::new();
        assert_eq!(f.draw(script(&[(0x1234, true)])), Ok(0x1234));
    }

    #[test]
    fn retries_past_cf0_all_ones_and_repeats() {
        let mut f = RdrandFilter::new();
        assert_eq!(f.draw(script(&[(7, true)])), Ok(7));
        let seq = [(0, false), (u64::MAX, true), (7, true), (8, true)];
        assert_eq!(f.draw(script(&seq)), Ok(8));
        // 8 is now the previous value.
        assert_eq!(f.check(8, true), Err(RdrandError::Repeated));
        assert_eq!(f.check(7, true), Ok(7));
    }

    #[test]
    fn gives_up_after_max_tries_with_the_reason() {
        let ones = [(u64::MAX, true); MAX_TRIES as usize];
        assert_eq!(
            RdrandFilter::new().draw(script(&ones)),
            Err(RdrandError::AllOnes)
        );
        let not_ready = [(5, false); MAX_TRIES as usize];
        assert_eq!(
            RdrandFilter::new().draw(script(&not_ready)),
            Err(RdrandError::NotReady)
        );
        let mut f = RdrandFilter::new();
        assert_eq!(f.draw(script(&[(9, true)])), Ok(9));
        let stuck = [(9, true); MAX_TRIES as usize];
        assert_eq!(f.draw(script(&stuck)), Err(RdrandError::Repeated));
        // The tenth attempt is the last one: a good value on the eleventh is never asked for.
        let mut late = [(u64::MAX, true); MAX_TRIES as usize + 1];
        late[MAX_TRIES as usize] = (1, true);
        let mut calls = 0;
        let r = RdrandFilter::new().draw(|| {
            calls += 1;
            late[calls - 1]
        });
        assert_eq!((r, calls), (Err(RdrandError::AllOnes), MAX_TRIES as usize));
    }

    #[test]
    fn zero_is_a_value() {
        // Only all-ones is the erratum; zero with CF = 1 is a legitimate output.
        assert_eq!(RdrandFilter::new().check(0, true), Ok(0));
    }

    #[test]
    fn messages_name_the_cause() {
        use std::string::ToString;
        assert_eq!(
            RdrandError::AllOnes.to_string(),
            "RDRAND failed 10 times: all-ones values (AMD RDRAND erratum)"
        );
    }
}
