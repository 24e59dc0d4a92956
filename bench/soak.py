#!/usr/bin/env python3
"""Soak: many encrypted requests of mixed lengths through `appliance-client
proxy`, over several parallel connections, against one appliance under
QEMU; the guest's heap must end where it was after warm-up.

Each request holds 1..--max-inputs texts of 3..--max-tokens WordPiece
tokens with [CLS] and [SEP] ("hello" is one token; the API refuses an
empty text), drawn from a fixed seed. Every answer is
checked for shape (one 384-float vector per input, the token count). Every
--report requests it prints embeddings/s, latency percentiles and the
guest's latest counter line (`heap_used=..KiB heap_peak=..KiB`).

Heap check: the warm-up sends the longest request shape at full
parallelism (so buffers that grow to their high-water size have grown),
then waits until two counter lines in a row show the same heap in use;
after the run it waits the same way (closing sockets linger up to 10 s)
and requires the same figure.

Usage: bench/soak.py [--requests 5000] [--parallel 4] [--max-tokens 64]
                     [--max-inputs 4] [--smp 2] [--report 500] [--seed 7]
Needs target/release/{image-builder,keybroker,appliance-client}
(`cargo build --release -p image-builder -p keybroker -p appliance-client`)
and QEMU from scripts/setup.sh.
"""

import argparse
import json
import os
import random
import re
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

COUNTER = re.compile(r"serving: (\d+) requests served since boot, .* heap_used=(\d+)KiB heap_peak=(\d+)KiB$")


def texts_for(rng, max_tokens, max_inputs):
    return [" ".join(["hello"] * rng.randint(1, max_tokens - 2))
            for _ in range(rng.randint(1, max_inputs))]


def post(url, texts):
    body = json.dumps({"input": texts, "model": "all-MiniLM-L6-v2"}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            payload = json.loads(r.read())
    except urllib.error.HTTPError as e:
        # The proxy's error body says why (never a text of the request).
        raise AssertionError(f"HTTP {e.code}: {e.read()[:300].decode(errors='replace')}") from None
    ms = (time.perf_counter() - t0) * 1000
    data = payload["data"]
    want_tokens = sum(len(t.split()) + 2 for t in texts)
    if len(data) != len(texts) or any(len(d["embedding"]) != 384 for d in data) \
            or payload["usage"]["prompt_tokens"] != want_tokens:
        raise AssertionError(f"bad answer for {len(texts)} inputs: {str(payload)[:300]}")
    return ms


WARMUP_REQUESTS = 40


def in_parallel(parallel, jobs, url):
    """Posts every request in `jobs` over `parallel` connections, answers
    checked; raises the first failure (a failed worker must not vanish)."""
    lock, errors = threading.Lock(), []

    def worker():
        while True:
            with lock:
                if not jobs or errors:
                    return
                texts = jobs.pop()
            try:
                post(url, texts)
            except Exception as e:  # noqa: BLE001 - raised below
                with lock:
                    errors.append(e)
                return

    pool = [threading.Thread(target=worker) for _ in range(parallel)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise AssertionError(f"warm-up request failed: {errors[0]}")


def shake(url, rng, n, parallel, max_tokens, max_inputs):
    """`n` requests of the mix over `parallel` connections, answers checked."""
    in_parallel(parallel, [texts_for(rng, max_tokens, max_inputs) for _ in range(n)], url)


def counter_lines(appliance):
    return [m for m in map(COUNTER.search, list(appliance.lines)) if m]


def settled_heap(appliance, timeout=120):
    """heap_used (KiB) once two consecutive counter lines agree."""
    deadline = time.time() + timeout
    seen = len(counter_lines(appliance))
    while time.time() < deadline:
        lines = counter_lines(appliance)
        fresh = lines[seen:]
        if len(fresh) >= 2 and fresh[-1].group(2) == fresh[-2].group(2):
            return int(fresh[-1].group(2))
        time.sleep(0.5)
    raise AssertionError("the heap figure did not settle:\n" + appliance.log(20))


def run(url, appliance, requests, parallel, max_tokens, max_inputs, report, seed, out=print):
    """Warm-up, then `requests` requests; returns (warm heap KiB, final heap KiB,
    embeddings/s, latencies ms)."""
    longest = [" ".join(["hello"] * (max_tokens - 2))] * max_inputs
    in_parallel(parallel, [longest] * parallel, url)
    # Then the run's own mix for a while, so every buffer sized by the
    # traffic (connections at once, queue lengths) has met its high-water mark.
    shake(url, random.Random(seed + 1), WARMUP_REQUESTS, parallel, max_tokens, max_inputs)
    warm = settled_heap(appliance)
    out(f"[soak] warm-up done: heap_used={warm}KiB")
    rng = random.Random(seed)
    jobs = [texts_for(rng, max_tokens, max_inputs) for _ in range(requests)]
    lock = threading.Lock()
    latencies, errors, embeddings = [], [], [0]
    next_job = [0]
    t_start = time.perf_counter()

    def worker():
        while True:
            with lock:
                i = next_job[0]
                if i >= len(jobs) or errors:
                    return
                next_job[0] += 1
            try:
                ms = post(url, jobs[i])
            except Exception as e:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(f"request {i}: {e}")
                return
            with lock:
                latencies.append(ms)
                embeddings[0] += len(jobs[i])
                done = len(latencies)
                if done % report == 0:
                    elapsed = time.perf_counter() - t_start
                    lat = sorted(latencies)
                    line = counter_lines(appliance)
                    out(f"[soak] {done} requests, {embeddings[0] / elapsed:.2f} embeddings/s, latency "
                        f"p50 {lat[len(lat) // 2]:.0f} ms p90 {lat[int(len(lat) * 0.9)]:.0f} ms "
                        f"p99 {lat[int(len(lat) * 0.99)]:.0f} ms; guest: "
                        + (line[-1].group(0) if line else "no counter line yet"))

    pool = [threading.Thread(target=worker) for _ in range(parallel)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise AssertionError("; ".join(errors[:5]))
    eps = embeddings[0] / (time.perf_counter() - t_start)
    final = settled_heap(appliance)
    return warm, final, eps, latencies


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--max-inputs", type=int, default=4)
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--report", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if not (args.requests > 0 and args.parallel > 0 and 3 <= args.max_tokens <= 256
            and 1 <= args.max_inputs <= 128 and 1 <= args.smp <= 16 and args.report > 0):
        ap.error("--requests, --parallel, --report > 0; --max-tokens 3..256; --max-inputs 1..128; "
                 "--smp 1..16")
    os.environ.setdefault("E2E_HOST_BIN", os.path.join(ROOT, "target", "release"))
    for tool in ("image-builder", "keybroker", "appliance-client"):
        if not os.access(os.path.join(os.environ["E2E_HOST_BIN"], tool), os.X_OK):
            sys.exit(f"bench/soak.py: no {tool} in {os.environ['E2E_HOST_BIN']}: run "
                     "`cargo build --release -p image-builder -p keybroker -p appliance-client` first")
    import e2e_serving as sv
    print("[soak] quantizing, sealing and building the pinned image", flush=True)
    a = sv.Appliance(smp=args.smp)
    proxy, port, _ = sv.start_proxy(a)
    try:
        warm, final, eps, lat = run(f"http://127.0.0.1:{port}/v1/embeddings", a, args.requests,
                                    args.parallel, args.max_tokens, args.max_inputs, args.report,
                                    args.seed, out=lambda s: print(s, flush=True))
    finally:
        proxy.kill()
        a.stop()
    lat.sort()
    print(f"soak: {len(lat)} requests ({args.parallel} parallel, 1..{args.max_inputs} inputs of "
          f"3..{args.max_tokens} tokens, {args.smp} vCPUs): {eps:.2f} embeddings/s, latency p50 "
          f"{statistics.median(lat):.0f} ms p90 {lat[int(len(lat) * 0.9)]:.0f} ms p99 "
          f"{lat[int(len(lat) * 0.99)]:.0f} ms; heap_used after warm-up {warm} KiB, after the run "
          f"{final} KiB: {'flat' if final == warm else 'GREW'}")
    sys.exit(0 if final == warm else 1)


if __name__ == "__main__":
    main()
