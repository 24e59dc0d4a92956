//! The parallelism hook: the engine is `no_std` and has no threads of its own, so a host
//! that has them passes a [`Parallel`] to [`Embedder::set_parallel`](crate::Embedder::set_parallel).
//! Without one the engine runs on the caller's thread. `StdThreads` (feature `std`) runs
//! the tasks on `std` threads; `Sequential` (feature `host`) is one thread, for tests.
//!
//! How the engine uses it (results are bit-identical to one thread either way, because
//! every output value is computed by the same code on the same inputs; only who computes
//! which rows changes):
//! - one sequence ([`Embedder::embed`](crate::Embedder::embed) /
//!   [`embed_ids`](crate::Embedder::embed_ids)): its token rows are split into one
//!   contiguous range per task; a task runs the whole forward pass for its rows and the
//!   tasks meet once per layer, where each publishes the keys and values of its rows
//!   for the others' attention;
//! - several sequences ([`Embedder::embed_batch`](crate::Embedder::embed_batch)): each task
//!   takes whole sequences, longest first, from a shared counter; no waiting.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Runs a set of tasks on several CPUs at once.
///
/// Contract for [`run`](Self::run): every task runs exactly once, all of them **at the same
/// time** (each on its own thread; the engine passes at most [`threads`](Self::threads)
/// tasks), and `run` returns when all have returned. The tasks of one call may wait for each
/// other (spinning, calling [`relax`](Self::relax)), so an implementation that ran them one
/// after another, or on fewer threads than tasks, would hang.
pub trait Parallel: Send + Sync {
    /// How many tasks [`run`](Self::run) can run at the same time (at least 1).
    fn threads(&self) -> usize;

    /// Runs every task once, concurrently (see the trait docs); returns when all have.
    fn run(&self, tasks: &mut [&mut (dyn FnMut() + Send)]);

    /// Called in a task's wait loop once it has spun for a while (default: a CPU spin
    /// hint). A host may yield the thread instead.
    fn relax(&self) {
        core::hint::spin_loop();
    }
}

/// One thread, as a [`Parallel`]: `run` calls the tasks in order on the caller's thread
/// (the engine never passes it more than one). The engine itself needs none for one
/// thread (`Embedder` without `set_parallel`); tests use it (feature `host`).
#[cfg(feature = "host")]
#[derive(Clone, Copy, Debug, Default)]
pub struct Sequential;

#[cfg(feature = "host")]
impl Parallel for Sequential {
    fn threads(&self) -> usize {
        1
    }

    fn run(&self, tasks: &mut [&mut (dyn FnMut() + Send)]) {
        for t in tasks.iter_mut() {
            t();
        }
    }
}

/// `std` threads: `run` runs the first task on the calling thread and each other task on
/// a thread of its own (`std::thread::scope`, so about 50 µs of thread start-up per call on
/// the dev VM; the engine calls `run` once per `embed` / `embed_batch`).
#[cfg(any(test, feature = "std"))]
#[derive(Clone, Copy, Debug)]
pub struct StdThreads {
    threads: usize,
}

#[cfg(any(test, feature = "std"))]
impl StdThreads {
    /// `threads` tasks at a time (at least 1).
    pub fn new(threads: usize) -> Self {
        Self {
            threads: threads.max(1),
        }
    }

    /// As many threads as `std::thread::available_parallelism` reports (1 if unknown).
    pub fn available() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

#[cfg(any(test, feature = "std"))]
impl Parallel for StdThreads {
    fn threads(&self) -> usize {
        self.threads
    }

    fn run(&self, tasks: &mut [&mut (dyn FnMut() + Send)]) {
        match tasks {
            [] => {}
            [only] => only(),
            [first, rest @ ..] => std::thread::scope(|s| {
                for t in rest.iter_mut() {
                    s.spawn(t);
                }
                first();
            }),
        }
    }

    fn relax(&self) {
        std::thread::yield_now();
    }
}

/// Runs `tasks` with [`Parallel::run`] (which takes them as trait objects), then drops
/// them, so the borrows they hold end here.
pub(crate) fn run_all(par: &dyn Parallel, mut tasks: alloc::vec::Vec<impl FnMut() + Send>) {
    let mut refs: alloc::vec::Vec<&mut (dyn FnMut() + Send)> = tasks
        .iter_mut()
        .map(|f| f as &mut (dyn FnMut() + Send))
        .collect();
    par.run(&mut refs);
}

/// Spins on `done` until it reaches `target` (returns true) or `failed` is set (false).
pub(crate) fn wait_for(
    par: &dyn Parallel,
    done: &AtomicUsize,
    target: usize,
    failed: &AtomicBool,
) -> bool {
    let mut spins = 0u32;
    loop {
        if done.load(Ordering::Acquire) >= target {
            return true;
        }
        if failed.load(Ordering::Acquire) {
            return false;
        }
        if spins < SPINS_BEFORE_RELAX {
            spins += 1;
            core::hint::spin_loop();
        } else {
            par.relax();
        }
    }
}

/// Spin-loop iterations before [`Parallel::relax`] (a few µs).
const SPINS_BEFORE_RELAX: u32 = 4096;

/// Sets `failed` when dropped before [`Finish::ok`]: a task that panics (and unwinds) must
/// not leave the others waiting for it.
pub(crate) struct Finish<'a> {
    failed: &'a AtomicBool,
    ok: bool,
}

impl<'a> Finish<'a> {
    pub(crate) fn new(failed: &'a AtomicBool) -> Self {
        Self { failed, ok: false }
    }

    /// The task ended normally (an error it returned is reported separately).
    pub(crate) fn ok(mut self) {
        self.ok = true;
    }
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        if !self.ok {
            self.failed.store(true, Ordering::Release);
        }
    }
}

/// f32 values shared between tasks (keys and values of every row), as bit patterns in
/// atomics (two per `AtomicU64`) so that safe code can write them from one thread and read
/// them from another; the per-layer meeting point (`done`, release / acquire) orders the
/// accesses. Positions and lengths are even (rows of `2 * hidden` values; `hidden` is a
/// multiple of 32).
#[derive(Default)]
pub(crate) struct SharedF32 {
    pairs: alloc::vec::Vec<AtomicU64>,
}

impl SharedF32 {
    /// Makes room for `n` values.
    pub(crate) fn fit(&mut self, n: usize) {
        let pairs = n.div_ceil(2);
        if self.pairs.len() < pairs {
            self.pairs.resize_with(pairs, AtomicU64::default);
        }
    }

    /// `self[start..start + src.len()] = src` (`start`, `src.len()` even).
    pub(crate) fn store(&self, start: usize, src: &[f32]) {
        let dst = &self.pairs[start / 2..(start + src.len()) / 2];
        for (d, s) in dst.iter().zip(src.chunks_exact(2)) {
            let v = u64::from(s[0].to_bits()) | (u64::from(s[1].to_bits()) << 32);
            d.store(v, Ordering::Relaxed);
        }
    }

    /// `dst = self[start..start + dst.len()]` (`start`, `dst.len()` even).
    pub(crate) fn load(&self, start: usize, dst: &mut [f32]) {
        let src = &self.pairs[start / 2..(start + dst.len()) / 2];
        for (d, s) in dst.chunks_exact_mut(2).zip(src) {
            let v = s.load(Ordering::Relaxed);
            d[0] = f32::from_bits(v as u32);
            d[1] = f32::from_bits((v >> 32) as u32);
        }
    }
}
