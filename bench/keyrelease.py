#!/usr/bin/env python3
"""Key-release benchmark: wall time from starting QEMU to the guest's
"model unsealed" line (boot, DHCP, KBS auth + attest with sample evidence,
JWE, streaming the sealed model from fw_cfg through the unsealer), median
of several runs, under TCG and under KVM where qemu/accel.sh finds it
usable. Uses the sealed digits MLP of tests/e2e_keyrelease.py (small, so the
figure is dominated by boot and the protocol, not by model size).
Broker throughput: `cargo bench -p keybroker --bench attest_throughput`.

Usage: bench/keyrelease.py [--runs N]   (needs target/debug/{image-builder,keybroker})
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import e2e_keyrelease as kr  # noqa: E402


def one_run(b, broker):
    with tempfile.TemporaryDirectory() as d:
        t0 = time.monotonic()
        guest = kr.Guest(d, broker.port)
        try:
            guest.wait_for("model unsealed sha384:", timeout=300)
            return (time.monotonic() - t0) * 1000
        finally:
            guest.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    b = kr.built()
    accel = subprocess.run([os.path.join(ROOT, "qemu", "accel.sh"), b["image"]],
                           capture_output=True, text=True).stdout.strip()
    print(f"key release: QEMU start -> 'model unsealed', median of {a.runs} runs")
    with tempfile.TemporaryDirectory() as d:
        broker = kr.Broker(d, b["manifest"])
        try:
            for acc in ["tcg"] + (["kvm"] if accel == "kvm" else []):
                os.environ["E2E_ACCEL"] = acc
                runs = [one_run(b, broker) for _ in range(a.runs)]
                print(f"  {acc:<4} {statistics.median(runs):8.0f} ms  (min {min(runs):.0f}, max {max(runs):.0f})")
            if accel != "kvm":
                print("  kvm  not usable on this machine (qemu/accel.sh explains); no KVM figure")
        finally:
            broker.stop()


if __name__ == "__main__":
    sys.exit(main())
