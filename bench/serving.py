#!/usr/bin/env python3
"""Encrypted-serving benchmark: end-to-end latency and embeddings per second
through `appliance-client proxy` (OHTTP encapsulation, the guest's HTTP
server, gateway, engine, and back) at 16 and 128 tokens, under TCG and
under KVM where qemu/accel.sh finds it usable, beside the same engine on
the host without encryption (common/embed-engine/examples/bench_engine.rs,
one thread), with the ratio appliance / host. All figures come from this
one run.

Latency: one input per request, sequential requests, median and p90.
Throughput: requests of 8 inputs of 16 tokens, sequential, for --seconds.
The client verifies the appliance once when the proxy starts (not timed).
Idle: the share of one host core the appliance's QEMU uses while it waits
for requests (it halts between frames), over --idle-seconds.
vCPUs: each --smp count is booted in turn (multi-threaded TCG: one host
thread per vCPU); the ratios are against the first count, all from this run.
Baseline "poll": the same image on 1 vCPU with `-cpu max,-x2apic`, where the
kernel cannot halt and polls as it did before the idle work (issue 15): the
"vs poll" column says whether halting made requests slower.

Usage: bench/serving.py [--reps N] [--seconds S] [--idle-seconds S] [--smp 1,2]
Needs target/release/{image-builder,keybroker,appliance-client}
(scripts/run.sh builds them) and QEMU from scripts/setup.sh.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("E2E_HOST_BIN", os.path.join(ROOT, "target", "release"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import e2e_serving as sv  # noqa: E402

# "hello" is one WordPiece token: n-2 of them plus [CLS] and [SEP] = n tokens.
TEXT = {n: " ".join(["hello"] * (n - 2)) for n in (16, 128)}


def post(url, texts):
    body = json.dumps({"input": texts, "model": "all-MiniLM-L6-v2",
                       "encoding_format": "float"}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        payload = json.loads(r.read())
    return (time.perf_counter() - t0) * 1000, payload


def measure_appliance(accel, reps, seconds, idle_seconds, smp):
    """`smp` vCPUs, or "poll": 1 vCPU without x2APIC (no halting)."""
    os.environ["E2E_ACCEL"] = accel
    print(f"[bench] booting the appliance ({accel}, {smp} vCPUs)", file=sys.stderr, flush=True)
    poll = smp == "poll"
    cpu = "max" if accel == "tcg" else "host"
    a = sv.Appliance(smp=1 if poll else smp, qemu_extra=["-cpu", f"{cpu},-x2apic"] if poll else [])
    proxy, port, _ = sv.start_proxy(a)
    url = f"http://127.0.0.1:{port}/v1/embeddings"
    out = {}
    try:
        expect = "apic: no x2APIC: idle polls" if poll else f"smp: {smp} vCPUs, {smp - 1} APs working"
        assert expect in "\n".join(a.lines), a.log(40)
        time.sleep(2)
        out["idle"] = sv.idle_cpu_share(a, idle_seconds)
        for n in (16, 128):
            _, payload = post(url, [TEXT[n]])
            assert payload["usage"]["prompt_tokens"] == n, payload["usage"]
            times = [post(url, [TEXT[n]])[0] for _ in range(reps)]
            out[n] = times
            print(f"[bench] {accel} {smp} vCPU {n} tokens: median {statistics.median(times):.1f} ms",
                  file=sys.stderr, flush=True)
        batch = [TEXT[16]] * 8
        post(url, batch)
        done, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            post(url, batch)
            done += len(batch)
        out["eps"] = done / (time.perf_counter() - t0)
    finally:
        proxy.kill()
        a.stop()
    return out


def host_engine(blob):
    print("[bench] host engine (no encryption, one thread)", file=sys.stderr, flush=True)
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(ROOT, "target", "bench"))
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "embed-engine", "--features", "std",
                    "--example", "bench_engine"], cwd=ROOT, env=env, check=True)
    exe = os.path.join(ROOT, "target", "bench", "release", "examples", "bench_engine")
    p = subprocess.run([exe, blob, "--reps16", "300", "--reps128", "60", "--threads", "1",
                        "--batches", "8", "--passes", "1"], capture_output=True, text=True,
                       check=True)
    return {r["tokens"]: r["median_ms"] for r in json.loads(p.stdout)["results"]
            if r["threads"] == 1}


def accelerators():
    accels = ["tcg"]
    p = subprocess.run([os.path.join(ROOT, "qemu", "accel.sh"), sv.built()["image"]],
                       capture_output=True, text=True)
    if p.stdout.strip() == "kvm":
        accels.append("kvm")
    else:
        print(f"[bench] KVM: not measured here ({p.stderr.strip()})", file=sys.stderr)
    return accels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--idle-seconds", type=float, default=10)
    ap.add_argument("--smp", default="1,2", help="vCPU counts to boot, comma-separated")
    args = ap.parse_args()
    try:
        smps = [int(n) for n in args.smp.split(",")]
        assert smps and all(1 <= n <= 16 for n in smps)
    except (ValueError, AssertionError):
        ap.error(f"--smp wants vCPU counts from 1 to 16 separated by commas, not {args.smp!r}")
    for tool in ("image-builder", "keybroker", "appliance-client"):
        if not os.access(os.path.join(os.environ["E2E_HOST_BIN"], tool), os.X_OK):
            sys.exit(f"bench/serving.py: no {tool} in {os.environ['E2E_HOST_BIN']}: run "
                     "`cargo build --release -p image-builder -p keybroker -p appliance-client` first")
    print("[bench] quantizing, sealing and building the pinned image", file=sys.stderr, flush=True)
    b = sv.built()
    host = host_engine(b["blob"])
    rows = {(accel, smp): measure_appliance(accel, args.reps, args.seconds, args.idle_seconds, smp)
            for accel in accelerators() for smp in ["poll", *smps]}
    print(f"{'accel':>5} {'vCPUs':>5} {'tokens':>6} | {'appliance median':>16} {'p90':>8} | "
          f"{'host engine':>11} | {'appliance/host':>14} | {'vs ' + str(smps[0]) + ' vCPU':>9} | "
          f"{'vs poll':>7}")
    for (accel, smp), r in rows.items():
        for n in (16, 128):
            t = sorted(r[n])
            p90 = t[min(len(t) - 1, int(0.9 * len(t)))]
            med = statistics.median(t)
            base = statistics.median(rows[(accel, smps[0])][n])
            poll = statistics.median(rows[(accel, "poll")][n])
            print(f"{accel:>5} {smp:>5} {n:>6} | {med:>13.1f} ms {p90:>5.1f} ms | "
                  f"{host[n]:>8.2f} ms | {med / host[n]:>13.1f}x | {med / base:>8.2f}x | "
                  f"{med / poll:>6.2f}x")
    for (accel, smp), r in rows.items():
        host_eps = 1000 / host[16]
        base = rows[(accel, smps[0])]["eps"]
        poll = rows[(accel, "poll")]["eps"]
        print(f"{accel:>5} {smp:>4} vCPUs embeddings/s (8 x 16 tokens per request): appliance "
              f"{r['eps']:.2f} ({r['eps'] / base:.2f}x {smps[0]} vCPU, {r['eps'] / poll:.2f}x poll), "
              f"host engine {host_eps:.1f}, ratio {r['eps'] / host_eps:.4f}")
    for (accel, smp), r in rows.items():
        print(f"{accel:>5} {smp:>4} vCPUs idle: QEMU uses {r['idle']:.1%} of one host core while serving nothing")
    print("appliance = client proxy -> OHTTP -> guest (QEMU user net) -> engine -> back; "
          "the guest prints no per-request time (no request-level data on its console); "
          "host = the same engine in-process, no encryption, no network.")


if __name__ == "__main__":
    main()
