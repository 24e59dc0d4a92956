#!/usr/bin/env python3
"""Boot benchmark: wall time from starting QEMU to the guest's
"appliance ready" line, under KVM (where it works here) and TCG, median of
several runs; beside it the guest's own reset-to-ready time from the TSC.

Usage: bench/boot.py [--runs N] [--image out/test/appliance.bin]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one_boot(image, accel):
    cpu = "host" if accel == "kvm" else "max"
    with tempfile.NamedTemporaryFile("w", delete=False) as st:
        st.write("exit")
    args = ["qemu-system-x86_64", "-machine", "q35", "-accel", accel, "-cpu", cpu, "-m", "256M",
            "-bios", image, "-nodefaults", "-nographic", "-no-reboot", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-fw_cfg", f"name=opt/appliance/selftest,file={st.name}"]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    wall = guest_us = None
    for line in p.stdout:
        if "appliance ready" in line:
            wall = (time.monotonic() - t0) * 1000
            guest_us = int(line.split("reset to ready")[1].split()[0])
    p.wait(timeout=60)
    os.unlink(st.name)
    if p.returncode != 33 or wall is None:
        raise RuntimeError(f"{accel}: boot failed (exit {p.returncode})")
    return wall, guest_us / 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--image", default=os.path.join(ROOT, "out", "test", "appliance.bin"))
    a = ap.parse_args()
    accel = subprocess.run([os.path.join(ROOT, "qemu", "accel.sh"), a.image],
                           capture_output=True, text=True).stdout.strip()
    accels = ["tcg", "kvm"] if accel == "kvm" else ["tcg"]
    print(f"boot benchmark, {a.runs} runs each, image {os.path.basename(a.image)}")
    print(f"{'accel':<6} {'QEMU start -> ready (ms)':>26} {'guest reset -> ready (ms)':>27}")
    results = {}
    for acc in accels:
        runs = [one_boot(a.image, acc) for _ in range(a.runs)]
        wall = statistics.median(r[0] for r in runs)
        guest = statistics.median(r[1] for r in runs)
        results[acc] = wall
        print(f"{acc:<6} {wall:>26.1f} {guest:>27.2f}")
    if "kvm" not in accels:
        print("kvm    not usable on this machine (qemu/accel.sh explains); no KVM figures")
    else:
        print(f"ratio  TCG/KVM wall time: {results['tcg'] / results['kvm']:.1f}x")


if __name__ == "__main__":
    sys.exit(main())
