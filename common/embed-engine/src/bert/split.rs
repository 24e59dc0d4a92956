//! One sequence on several tasks: its T token rows are cut into one contiguous range per
//! task, and each task runs the whole forward pass for its rows with its own
//! [`Workspace`]. Everything but attention is row-wise; for attention each task needs the
//! keys and values of all rows, so after each Q/K/V projection a task publishes the
//! keys/values of its rows ([`SharedF32`], two buffers used alternately by layer parity),
//! and before each layer's attention it waits until every task has published (one meeting
//! point per layer) and gathers them. Each row is computed by the same code on the same
//! inputs as in the one-thread pass, so the embedding is bit-identical.

use super::attention::{attention, AttnIn};
use super::forward::Workspace;
use super::model::BertModel;
use crate::error::EngineError;
use crate::parallel::{run_all, wait_for, Finish, Parallel, SharedF32};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use int8_kernels::Kernel;

/// Keys/values exchanged between the tasks of a split pass (reused across calls).
#[derive(Default)]
pub struct SplitShared {
    kv: [SharedF32; 2],
}

/// What every task of one split pass shares.
struct Pass<'s> {
    kernel: Kernel,
    ids: &'s [u32],
    tasks: usize,
    shared: &'s SplitShared,
    done: AtomicUsize,
    failed: AtomicBool,
    par: &'s dyn Parallel,
}

impl BertModel<'_> {
    /// [`embed_ids`](Self::embed_ids) with the rows split over `wss.len()` tasks run by
    /// `par` (at most `par.threads()` of them). Same result, bit for bit.
    pub fn embed_ids_split(
        &self,
        kernel: Kernel,
        ids: &[u32],
        par: &dyn Parallel,
        wss: &mut [Workspace],
        shared: &mut SplitShared,
    ) -> Result<Vec<f32>, EngineError> {
        let c = &self.config;
        let (h, t) = (c.hidden, ids.len());
        self.check_ids(ids)?;
        let n = wss.len().min(t).min(par.threads());
        if n <= 1 {
            let Some(ws) = wss.first_mut() else {
                return Err(EngineError::TaskFailed);
            };
            return self.embed_ids(kernel, ids, ws);
        }
        let wss = &mut wss[..n];
        for s in &mut shared.kv {
            s.fit(t * 2 * h);
        }
        let pass = Pass {
            kernel,
            ids,
            tasks: n,
            shared,
            done: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
            par,
        };
        let bound = |i: usize| t * i / n;
        let mut results: Vec<Result<(), EngineError>> = alloc::vec![Ok(()); n];
        let pass = &pass;
        let tasks: Vec<_> = wss
            .iter_mut()
            .zip(results.iter_mut())
            .enumerate()
            .map(|(i, (ws, res))| {
                let (r0, r1) = (bound(i), bound(i + 1));
                move || {
                    let finish = Finish::new(&pass.failed);
                    *res = self.split_task(pass, r0, r1, ws);
                    if res.is_err() {
                        pass.failed.store(true, Ordering::Release);
                    }
                    finish.ok();
                }
            })
            .collect();
        run_all(par, tasks);
        for r in results {
            r?;
        }
        if pass.failed.load(Ordering::Acquire) {
            return Err(EngineError::TaskFailed);
        }
        let blocks = wss
            .iter()
            .enumerate()
            .map(|(i, ws)| &ws.h[..(bound(i + 1) - bound(i)) * h]);
        Ok(self.pool(blocks, t))
    }

    /// The forward pass for rows `r0..r1` (see the module docs). Returns early (Ok) when
    /// another task failed; that task reports the error.
    fn split_task(
        &self,
        p: &Pass<'_>,
        r0: usize,
        r1: usize,
        ws: &mut Workspace,
    ) -> Result<(), EngineError> {
        let c = &self.config;
        let (h, t, m) = (c.hidden, p.ids.len(), r1 - r0);
        let kernel = p.kernel;
        ws.fit(m, h, c.ffn);
        ws.kv.resize(t * 2 * h, 0.0);
        self.embed_rows(kernel, &p.ids[r0..r1], r0, ws)?;
        self.project_qkv(kernel, 0, m, ws)?;
        publish(&p.shared.kv[0], ws, r0, m, h);
        p.done.fetch_add(1, Ordering::Release);
        for l in 0..c.layers {
            // Every task has published layer l's keys/values.
            if !wait_for(p.par, &p.done, (l + 1) * p.tasks, &p.failed) {
                return Ok(());
            }
            let src = &p.shared.kv[l % 2];
            for (r, dst) in ws.kv.chunks_exact_mut(2 * h).enumerate() {
                if (r0..r1).contains(&r) {
                    let i = r - r0;
                    dst.copy_from_slice(&ws.qkv[i * 3 * h + h..(i + 1) * 3 * h]);
                } else {
                    src.load(r * 2 * h, dst);
                }
            }
            let input = AttnIn {
                q: &ws.qkv,
                q_stride: 3 * h,
                m,
                kv: &ws.kv,
                kv_stride: 2 * h,
                k_off: 0,
                v_off: h,
                t,
            };
            attention(kernel, input, h, c.heads, &mut ws.ctx, &mut ws.attn)?;
            self.finish_layer(kernel, l, m, ws)?;
            if l + 1 < c.layers {
                self.project_qkv(kernel, l + 1, m, ws)?;
                // The other buffer: its readers (layer l - 1) all finished before anyone
                // passed this layer's meeting point.
                publish(&p.shared.kv[(l + 1) % 2], ws, r0, m, h);
                p.done.fetch_add(1, Ordering::Release);
            }
        }
        Ok(())
    }
}

/// Keys and values of this task's `m` rows (from `ws.qkv`) into rows `r0..` of `dst`.
fn publish(dst: &SharedF32, ws: &Workspace, r0: usize, m: usize, h: usize) {
    for (i, row) in ws.qkv[..m * 3 * h].chunks_exact(3 * h).enumerate() {
        dst.store((r0 + i) * 2 * h, &row[h..]);
    }
}
