//! The engine's threads on the appliance's vCPUs: the kernel's APs
//! (`kernel::smp`) run the tasks the engine splits a batch or a sequence
//! into. Results are bit-identical to one vCPU (the engine's contract).

use alloc::sync::Arc;
use embed_engine::{Embedder, Parallel};

struct Vcpus;

impl Parallel for Vcpus {
    fn threads(&self) -> usize {
        1 + kernel::smp::workers()
    }

    fn run(&self, tasks: &mut [&mut (dyn FnMut() + Send)]) {
        kernel::smp::run(tasks);
    }
}

/// Lets `embedder` use every vCPU the kernel started (with none, it stays
/// on one).
pub fn use_all(embedder: &mut Embedder<'_>) {
    if kernel::smp::workers() > 0 {
        embedder.set_parallel(Arc::new(Vcpus));
    }
}
