//! Host exits on the console (issue 10): the operations that would be GHCB
//! exits under SEV-SNP (`kernel::stats::exit_counts`), once when the appliance
//! is ready and then, while serving, a counter line at most every
//! [`INTERVAL_US`] and only when something changed. The counter line holds
//! totals since boot only (requests served and refused, exits by kind) and
//! the heap in use with its high-water mark: nothing about any one request,
//! not even its size.

use kernel::println;
use kernel::stats::{exit_counts, heap_peak, heap_used, ExitCounts};

/// Least time between two counter lines.
const INTERVAL_US: u64 = 10_000_000;

/// `exits at boot: port N mmio N msr N cpuid N total N (...)`.
pub fn boot_line() {
    println!("exits at boot: {}", exit_counts());
}

/// The periodic counter line. Its own console output is kept out of the
/// counts it prints, so an idle appliance stays silent and the difference
/// between two lines is exactly the work done in between.
#[derive(Default)]
pub struct CounterLine {
    last_tsc: Option<u64>,
    printed: Option<(u64, u64, ExitCounts)>,
    /// Exits spent writing counter lines.
    own: ExitCounts,
}

impl CounterLine {
    /// Called every turn of the serving loop with the totals since boot;
    /// prints when due.
    pub fn tick(&mut self, served: u64, refused: u64) {
        let now = kernel::time::tsc();
        if self
            .last_tsc
            .is_some_and(|t| kernel::time::tsc_delta_us(t, now) < INTERVAL_US)
        {
            return;
        }
        self.last_tsc = Some(now);
        let before = exit_counts();
        let counts = before.since(&self.own);
        if self.printed == Some((served, refused, counts)) {
            return;
        }
        let (used, peak) = (heap_used() >> 10, heap_peak() >> 10);
        println!("serving: {served} requests served since boot, exits {counts} (counter lines not counted), {refused} refused since boot heap_used={used}KiB heap_peak={peak}KiB");
        let spent = exit_counts().since(&before);
        self.own = self.own.plus(&spent);
        self.printed = Some((served, refused, counts));
    }
}
