#!/usr/bin/env python3
"""Host-exit benchmark: how many operations the appliance performs that are
GHCB exits (world switches to the hypervisor) under SEV-SNP: port I/O,
MMIO, MSR and CPUID through guest/kernel/src/io.rs, which counts them on every
platform, so plain QEMU shows what an SNP launch would cost.

Boots the appliance with key release (key broker on 127.0.0.1, QEMU user
networking, as scripts/demo.py does), reads the guest's line
`exits at boot: ...` (at "appliance ready"), then sends --requests encrypted
embeddings requests of 16 tokens through `appliance-client proxy` and
computes exits per request from the guest's periodic counter line
(`serving: N requests served since boot, exits ...`, at most one every 10 s,
only when something changed; its own output is not counted). Before and
after the requests it waits until the counter line is quiet (no new line
for --quiet seconds), so the difference holds every exit the requests
caused (TCP set-up and teardown, the serving log line) and nothing else.

Prints one table: exits by kind at boot, from ready to serving (key
release, unsealing, network bring-up), and per request.

Usage: bench/exits.py [--image-dir DIR] [--sealed-dir DIR] [--requests K]
                      [--accel tcg|kvm] [--quiet S]
Defaults: out/demo/image and out/demo/sealed, which `bash scripts/run.sh`
(scripts/demo.py) makes. Host tools from target/release (else target/debug).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from harness import LineProcess, free_port  # noqa: E402

RUN = os.path.join(ROOT, "qemu", "run.sh")
RELAY = os.path.join(ROOT, "tests", "tcp_relay.py")
RESOURCE = "appliance/key/model"
# "hello" is one WordPiece token: 14 of them plus [CLS] and [SEP] = 16 tokens.
TEXT16 = " ".join(["hello"] * 14)
KINDS = ["port in", "port out", "mmio read", "mmio write", "msr read", "msr write", "cpuid"]
COUNTS = re.compile(
    r"port (\d+) mmio (\d+) msr (\d+) cpuid (\d+) total (\d+) \(port in (\d+) out (\d+), "
    r"mmio read (\d+) write (\d+), msr read (\d+) write (\d+)\)")
COUNTER_LINE = re.compile(r"serving: (\d+) requests served since boot, exits (.*?)"
                          r"(?: heap_used=\d+KiB heap_peak=\d+KiB)?$")


def fail(msg):
    sys.exit(f"[exits] {msg}")


def parse_counts(text):
    """{kind: n} from `port N mmio N ... (port in N out N, ...)`, checked
    against the summary it repeats."""
    m = COUNTS.search(text)
    if not m:
        return None
    port, mmio, msr, cpuid, total, pin, pout, mr, mw, sr, sw = map(int, m.groups())
    c = dict(zip(KINDS, (pin, pout, mr, mw, sr, sw, cpuid)))
    if (pin + pout, mr + mw, sr + sw, sum(c.values())) != (port, mmio, msr, total):
        fail(f"inconsistent counts in the guest's line: {text}")
    return c


def host_bin():
    for d in (os.path.join(ROOT, "target", "release"), os.path.join(ROOT, "target", "debug")):
        if all(os.access(os.path.join(d, b), os.X_OK) for b in ("keybroker", "appliance-client")):
            return d
    fail("no keybroker / appliance-client binaries: run "
         "`cargo build --release -p keybroker -p appliance-client`")


def check_inputs(args):
    image = os.path.join(args.image_dir, "appliance.bin")
    manifest = os.path.join(args.image_dir, "manifest.json")
    sealed = os.path.join(args.sealed_dir, "model.sealed")
    key = os.path.join(args.sealed_dir, "model.key")
    make = ("run `bash scripts/run.sh` (makes out/demo), or: image-builder quantize --out M.blob; "
            "image-builder seal --model M.blob --out SEALED_DIR (prints the sha384); "
            "image-builder build --out IMAGE_DIR --model-digest SHA384")
    for path, what in ((image, "image"), (manifest, "manifest"), (sealed, "sealed model"),
                       (key, "model key")):
        if not os.path.isfile(path):
            fail(f"{what} {path} missing: {make}")
    try:
        pinned = (json.load(open(manifest)).get("model") or {}).get("sha384")
    except ValueError as e:
        fail(f"{manifest} is not JSON ({e}): rebuild the image: {make}")
    if not pinned:
        fail(f"{image} pins no model (built without --model-digest): {make}")
    if args.requests < 1 or args.quiet < 11:
        fail("--requests must be at least 1 and --quiet at least 11 s (the counter line "
             "comes at most every 10 s)")
    if not shutil.which("qemu-system-x86_64"):
        fail("qemu-system-x86_64 not found: run `bash scripts/setup.sh`")
    return image, manifest, sealed, key


def boot(args, image, manifest, sealed, key, bindir, work):
    kb = os.path.join(bindir, "keybroker")
    resources = os.path.join(work, "resources")
    subprocess.run([kb, "add-resource", "--resources", resources, "--path", RESOURCE,
                    "--file", key], check=True, capture_output=True)
    broker_port = free_port()
    broker = LineProcess([kb, "serve", "--listen", f"127.0.0.1:{broker_port}", "--manifest",
                          manifest, "--resources", resources, "--insecure-allow-sample"])
    config = os.path.join(work, "config.json")
    with open(config, "w") as f:
        json.dump({"listen_port": 8080, "kbs": {"host": "10.0.2.100", "port": 8081},
                   "resource_path": RESOURCE, "log_level": "info"}, f)
    api_port = free_port()
    netdev = (f"user,id=n0,restrict=on,"
              f"guestfwd=tcp:10.0.2.100:8081-cmd:{sys.executable} {RELAY} {broker_port},"
              f"hostfwd=tcp:127.0.0.1:{api_port}-:8080")
    guest = LineProcess(
        [RUN, "--image", image, "--accel", args.accel, "--mem", "512M",
         "--fw-cfg", f"opt/appliance/config,file={config}",
         "--fw-cfg", f"opt/appliance/model.sealed,file={sealed}",
         "--", "-netdev", netdev,
         "-device", "virtio-net-pci,netdev=n0,disable-legacy=on,iommu_platform=on,romfile="])
    return broker, guest, api_port


def start_proxy(client, manifest, api_port):
    port = free_port()
    proxy = LineProcess([client, "proxy", "--listen", f"127.0.0.1:{port}", "--url",
                         f"http://127.0.0.1:{api_port}", "--manifest", manifest, "--insecure"])
    proxy.wait_for("proxy listening on", timeout=120)
    return proxy, port


def post16(port):
    body = json.dumps({"input": [TEXT16], "model": "all-MiniLM-L6-v2"}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/embeddings", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        payload = json.loads(r.read())
    if payload["usage"]["prompt_tokens"] != 16:
        fail(f"expected 16 tokens, the appliance counted {payload['usage']['prompt_tokens']}")


def counter_lines(guest):
    return [(int(m.group(1)), parse_counts(m.group(2)))
            for m in (COUNTER_LINE.search(l) for l in list(guest.lines)) if m]


def quiet_counters(guest, quiet, timeout=900):
    """The last counter line once nothing but MSR writes has changed for
    `quiet` seconds. An idle guest halts with its APIC timer armed (issue 15):
    a few x2APIC MSR writes a second, which are GHCB exits under SNP too, so
    the line keeps coming every 10 s even when nothing is served."""
    deadline = time.time() + timeout
    seen, since = None, time.time()
    while time.time() < deadline:
        if guest.proc.poll() is not None:
            fail("the guest stopped:\n" + guest.log(40))
        lines = counter_lines(guest)
        busy = [(n, {k: v for k, v in c.items() if k != "msr write"}) for n, c in lines]
        if busy[-1:] != seen:
            seen, since = busy[-1:], time.time()
        elif lines and time.time() - since >= quiet:
            return lines[-1]
        time.sleep(0.5)
    fail("the counter line never became quiet:\n" + guest.log(40))


def idle_msr_rate(guest):
    """MSR writes a second while idle: the last two counter lines, which the
    guest prints 10 s apart while only its idle timer changes them."""
    lines = counter_lines(guest)
    if len(lines) < 2 or lines[-1][0] != lines[-2][0]:
        return None
    return (lines[-1][1]["msr write"] - lines[-2][1]["msr write"]) / 10


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image-dir", default=os.path.join(ROOT, "out", "demo", "image"))
    ap.add_argument("--sealed-dir", default=os.path.join(ROOT, "out", "demo", "sealed"))
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--accel", choices=("tcg", "kvm"), default="tcg")
    ap.add_argument("--quiet", type=float, default=25)
    args = ap.parse_args()
    image, manifest, sealed, key = check_inputs(args)
    bindir = host_bin()
    # qemu/run.sh measures the image for the sample evidence with this tool.
    if os.access(os.path.join(bindir, "image-builder"), os.X_OK):
        os.environ.setdefault("IMAGE_BUILDER", os.path.join(bindir, "image-builder"))
    work = tempfile.mkdtemp(prefix="bench-exits-")
    broker = guest = proxy = None
    try:
        print(f"[exits] booting {image} ({args.accel}) with key release", file=sys.stderr,
              flush=True)
        broker, guest, api_port = boot(args, image, manifest, sealed, key, bindir, work)
        boot_counts = parse_counts(guest.wait_for("exits at boot:", timeout=300))
        if boot_counts is None:
            fail("unreadable `exits at boot` line:\n" + guest.log(20))
        guest.wait_for("http: up ", timeout=900)
        first = quiet_counters(guest, 0.1)
        proxy, port = start_proxy(os.path.join(bindir, "appliance-client"), manifest, api_port)
        post16(port)  # warm-up: first-use allocations stay out of the per-request figure
        print(f"[exits] waiting for a quiet counter line ({args.quiet:.0f} s)", file=sys.stderr,
              flush=True)
        served_a, a = quiet_counters(guest, args.quiet)
        print(f"[exits] {args.requests} requests of 16 tokens", file=sys.stderr, flush=True)
        for _ in range(args.requests):
            post16(port)
        served_b, b = quiet_counters(guest, args.quiet)
        idle = idle_msr_rate(guest)
        if served_b - served_a != args.requests:
            fail(f"the guest counted {served_b - served_a} requests, expected {args.requests}")
    finally:
        for p in (proxy, guest, broker):
            if p is not None:
                p.kill()
        shutil.rmtree(work, True)
    to_serving = {k: first[1][k] - boot_counts[k] for k in KINDS}
    per = {k: (b[k] - a[k]) / args.requests for k in KINDS}
    print(f"image {image} ({args.accel}), {args.requests} requests of 16 tokens")
    print(f"{'kind':>10} | {'boot':>8} | {'ready->serving':>14} | {'per request':>11}")
    for k in KINDS:
        print(f"{k:>10} | {boot_counts[k]:>8} | {to_serving[k]:>14} | {per[k]:>11.1f}")
    print(f"{'total':>10} | {sum(boot_counts.values()):>8} | {sum(to_serving.values()):>14} | "
          f"{sum(per.values()):>11.1f}")
    if idle is not None:
        print(f"msr write per request includes the idle halt's APIC timer: {idle:.1f} writes "
              "a second while idle, from the last two counter lines")
    print("boot = reset to 'appliance ready'; ready->serving = key release, unsealing and "
          "network bring-up, to the first counter line; per request = one OHTTP request "
          "(16 tokens, one TCP connection) through appliance-client proxy, log line included.")


if __name__ == "__main__":
    main()
