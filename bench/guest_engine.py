#!/usr/bin/env python3
"""The engine inside the guest, without network or encryption: the test
image's model self-test embeds --inputs texts of --tokens tokens on each
--smp vCPU count (multi-threaded TCG, or KVM with --accel kvm where it
works) and prints the guest's own inference time per input, median of
--runs boots, with the ratio to the first count. Each text is one sequence,
so on several vCPUs its token rows are split across them.

Usage: bench/guest_engine.py [--smp 1,2] [--tokens 128] [--inputs 3] [--runs 3] [--accel tcg]
Needs target/debug/image-builder and the test image
(`cargo build -p image-builder && target/debug/image-builder build --test-image --out out/test`).
"""

import argparse
import os
import re
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smp", default="1,2")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--inputs", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--accel", default="tcg", choices=("tcg", "kvm"))
    args = ap.parse_args()
    try:
        smps = [int(n) for n in args.smp.split(",")]
        assert smps and all(1 <= n <= 16 for n in smps)
    except (ValueError, AssertionError):
        ap.error(f"--smp wants vCPU counts from 1 to 16 separated by commas, not {args.smp!r}")
    if not (3 <= args.tokens <= 256 and args.inputs > 0 and args.runs > 0):
        ap.error("--tokens 3..256, --inputs and --runs > 0")
    import e2e_engine as e
    for need, how in ((e.IB, "cargo build -p image-builder"),
                      (e.IMAGE, "target/debug/image-builder build --test-image --out out/test")):
        if not os.path.exists(need):
            sys.exit(f"bench/guest_engine.py: {need} is missing: run `{how}` first")
    from harness import run_cmd
    with tempfile.TemporaryDirectory() as d:
        blob = os.path.join(d, "minilm.blob")
        run_cmd([e.IB, "quantize", "--out", blob], check=True, timeout=600)
        inputs = [" ".join(["hello"] * (args.tokens - 2))] * args.inputs
        per_input = {}
        for smp in smps:
            times = []
            for _ in range(args.runs):
                _, summary = e.guest_outputs(blob, inputs, accel=args.accel, smp=smp)
                us = int(re.search(r"inference (\d+) us", summary).group(1))
                times.append(us / 1000 / args.inputs)
            per_input[smp] = statistics.median(times)
            print(f"[bench] {smp} vCPUs: {', '.join(f'{t:.0f}' for t in times)} ms per input",
                  file=sys.stderr, flush=True)
    base = per_input[smps[0]]
    print(f"guest engine, {args.tokens} tokens per input, {args.inputs} inputs, median of "
          f"{args.runs} boots ({args.accel}):")
    for smp, ms in per_input.items():
        print(f"  {smp:>2} vCPUs: {ms:9.1f} ms per input  ({ms / base:.2f}x {smps[0]} vCPU)")


if __name__ == "__main__":
    main()
