#!/usr/bin/env python3
"""Fleet throughput: embeddings/s through `appliance-client proxy --fleet`
with 1, 2 and 3 appliances (1 vCPU each) behind HAProxy, and the ratio to
one appliance measured in the same run.

Each size starts its own fleet (scripts/fleet.py: key broker, N appliances
under QEMU, HAProxy on 127.0.0.1) and its own proxy, sends a warm-up
request per node, then for --seconds keeps 2*N requests of --inputs texts
of 16 tokens in flight (enough to keep every node busy while the proxy
picks the least busy one) and counts the embeddings answered. Every answer
is checked for shape. The run is repeated --runs times and the median
printed.

Usage: bench/fleet.py [--sizes 1,2,3] [--seconds 60] [--runs 1] [--inputs 2]
                      [--accel tcg|kvm]
Needs target/release/{image-builder,keybroker,appliance-client}
(`cargo build --release -p image-builder -p keybroker -p appliance-client`),
QEMU and HAProxy from scripts/setup.sh.
"""

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

# 14 one-token words: 16 tokens with [CLS] and [SEP] (soak.post checks the count).
SIXTEEN = " ".join(["hello"] * 14)


def load_launcher():
    """scripts/fleet.py (its module name is this file's too)."""
    spec = importlib.util.spec_from_file_location("fleet_launcher",
                                                  os.path.join(ROOT, "scripts", "fleet.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(n, seconds, inputs, accel):
    import e2e_serving as sv
    from soak import post
    launcher = load_launcher()
    b = sv.built()
    work = os.path.join(b["dir"], f"bench-fleet-{n}")
    print(f"[fleet] starting {n} appliance(s) behind HAProxy ({accel})", file=sys.stderr, flush=True)
    f = launcher.Fleet(n, b["image"], b["manifest"], b["sealed"], b["key"], work, accel=accel,
                       log=lambda s: print(f"[fleet]   {s}", file=sys.stderr, flush=True))
    proxy = None
    try:
        port = sv.free_port()
        proxy = subprocess.Popen([sv.CLIENT, "proxy", "--listen", f"127.0.0.1:{port}", "--fleet",
                                  f.url, "--manifest", b["manifest"], "--insecure"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        threading.Thread(target=lambda: lines.extend(proxy.stdout), daemon=True).start()
        deadline = time.time() + 180
        while not any("proxy listening on" in l for l in lines):
            if proxy.poll() is not None or time.time() > deadline:
                raise SystemExit("bench/fleet.py: the proxy did not start:\n" + "".join(lines))
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/v1/embeddings"
        batch = [SIXTEEN] * inputs
        for _ in range(n):
            post(url, batch)
        done, lock, stop = [0], threading.Lock(), time.perf_counter() + seconds
        errors = []

        def worker():
            while time.perf_counter() < stop:
                try:
                    post(url, batch)
                except Exception as e:  # counted, and the run is refused below
                    errors.append(repr(e)[:200])
                    return
                with lock:
                    done[0] += len(batch)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(2 * n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        eps = done[0] / (time.perf_counter() - t0)
        if errors:
            raise SystemExit(f"bench/fleet.py: {len(errors)} request(s) failed: {errors[0]}")
        used = {}
        for l in lines:
            if " via " in l:
                node = l.rsplit(" via ", 1)[1].strip()
                used[node] = used.get(node, 0) + 1
        return eps, used
    finally:
        if proxy and proxy.poll() is None:
            proxy.kill()
        f.stop()
        shutil.rmtree(work, True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1,2,3", help="fleet sizes, comma-separated (1..8)")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--inputs", type=int, default=2, help="texts per request (1..64)")
    ap.add_argument("--accel", default="tcg", choices=["tcg", "kvm"])
    args = ap.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        ap.error("--sizes: comma-separated integers, e.g. 1,2,3")
    if not sizes or any(not 1 <= s <= 8 for s in sizes) or 1 not in sizes:
        ap.error("--sizes: 1..8 each, and 1 must be among them (the baseline)")
    if args.seconds <= 0 or args.runs < 1 or not 1 <= args.inputs <= 64:
        ap.error("--seconds > 0, --runs >= 1, --inputs 1..64")
    os.environ.setdefault("E2E_HOST_BIN", os.path.join(ROOT, "target", "release"))
    for tool in ("image-builder", "keybroker", "appliance-client"):
        if not os.access(os.path.join(os.environ["E2E_HOST_BIN"], tool), os.X_OK):
            sys.exit(f"bench/fleet.py: no {tool} in {os.environ['E2E_HOST_BIN']}: run "
                     "`cargo build --release -p image-builder -p keybroker -p appliance-client` first")
    if not shutil.which("haproxy"):
        sys.exit("bench/fleet.py: no haproxy: run scripts/setup.sh first")
    os.environ.setdefault("KEYBROKER", os.path.join(os.environ["E2E_HOST_BIN"], "keybroker"))
    print("[fleet] quantizing, sealing and building the pinned image", file=sys.stderr, flush=True)
    results = {}
    for n in sizes:
        runs = [measure(n, args.seconds, args.inputs, args.accel) for _ in range(args.runs)]
        results[n] = (statistics.median(r[0] for r in runs), runs[-1][1])
    base = results[1][0]
    print(f"fleet throughput through `appliance-client proxy --fleet` ({args.accel}, 1 vCPU per "
          f"appliance, {os.cpu_count()} host cores, {args.inputs} inputs of 16 tokens per request, "
          f"{args.seconds:.0f} s, median of {args.runs}):")
    for n in sizes:
        eps, used = results[n]
        spread = ", ".join(f"{k} {v}" for k, v in sorted(used.items()))
        print(f"  {n} appliance(s): {eps:7.2f} embeddings/s  {eps / base:5.2f}x one appliance  "
              f"(requests per node: {spread})")


if __name__ == "__main__":
    main()
