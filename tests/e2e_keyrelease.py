"""End-to-end tests of key release (issue 5, items 5-6): the guest attests to
the key broker with sample evidence over smoltcp, gets the model key as a
JWE, unseals the model from fw_cfg chunk by chunk and checks the digest
pinned in its image.

Set-up, once per run: the digits MLP is quantized and sealed, and an image
is built with `--model-digest` into a temporary directory (a separate guest
build). Each test starts `keybroker serve --insecure-allow-sample` on
127.0.0.1 and boots QEMU with user networking restrict=on; the guest's
10.0.2.100:8081 is forwarded with `guestfwd=...-cmd:` to tests/tcp_relay.py,
which QEMU spawns per connection and which connects to the broker on
127.0.0.1 only (the chardev form of guestfwd connects once, at QEMU start,
so it cannot carry several requests or reach a broker that starts later).

Host tools come from target/debug (E2E_HOST_BIN overrides the directory).
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import time

from fault_proxy import FaultProxy
from harness import ROOT, LineProcess, background, free_port, main, run_cmd, test

BIN = os.environ.get("E2E_HOST_BIN", os.path.join(ROOT, "target", "debug"))
IB = os.path.join(BIN, "image-builder")
KB = os.path.join(BIN, "keybroker")
RUN = os.path.join(ROOT, "qemu", "run.sh")
# run.sh computes fw_cfg opt/appliance/sample-measurement (the launch digest
# the guest's sample evidence claims) with this same image-builder.
os.environ.setdefault("IMAGE_BUILDER", IB)
RELAY = os.path.join(ROOT, "tests", "tcp_relay.py")
# Built by scripts/test.sh without --model-digest.
UNPINNED_IMAGE = os.path.join(ROOT, "out", "appliance.bin")
DIGITS = os.path.join(ROOT, "host", "model-tools", "testdata", "digits_mlp.bin")
EXIT_FAIL = 35
RESOURCE = "appliance/key/model"
SEAL_HEADER_LEN = 88
REFUSED = "key broker refused attestation"
SAMPLE_FAILED = "sample measurement opt/appliance/sample-measurement: FAILED: "
# Key release is complete once the model is unsealed. The digits MLP these
# tests seal is small, but it is no sentence embedder: the production image
# stops at serving ("serving: FAILED: model does not load"), after this line.
READY = "model unsealed sha384:"

_built = None
# A background test may ask first, while a foreground one asks too.
_built_lock = threading.Lock()


def built():
    """Sealed digits MLP and an image pinned to it (built once per run)."""
    with _built_lock:
        return _build_once()


def _build_once():
    global _built
    if _built is None:
        d = tempfile.mkdtemp(prefix="e2e-keyrelease-")
        atexit.register(shutil.rmtree, d, True)
        blob = os.path.join(d, "digits.blob")
        run_cmd([IB, "quantize", "--digits", DIGITS, "--out", blob], check=True)
        p = run_cmd([IB, "seal", "--model", blob, "--out", os.path.join(d, "seal")], check=True)
        digest = re.search(r"^sha384\s+([0-9a-f]{96})$", p.stdout, re.M).group(1)
        out = os.path.join(d, "out")
        run_cmd([IB, "build", "--out", out, "--model-digest", digest], check=True, timeout=1800)
        manifest = os.path.join(out, "manifest.json")
        assert json.load(open(manifest))["model"] == {"sha384": digest}
        _built = {
            "dir": d,
            "blob": open(blob, "rb").read(),
            "digest": digest,
            "sealed": os.path.join(d, "seal", "model.sealed"),
            "key": open(os.path.join(d, "seal", "model.key"), "rb").read(),
            "image": os.path.join(out, "appliance.bin"),
            "manifest": manifest,
        }
    return _built


class Broker(LineProcess):
    """keybroker serve on 127.0.0.1 with the model key at RESOURCE, bound to
    the launch digests of `manifest`."""

    def __init__(self, workdir, manifest, port=None, extra=()):
        b = built()
        self.port = port or free_port()
        self.resources = os.path.join(workdir, "resources")
        if not os.path.isdir(self.resources):
            key = os.path.join(b["dir"], "seal", "model.key")
            run_cmd([KB, "add-resource", "--resources", self.resources, "--path", RESOURCE,
                     "--file", key, "--manifest", b["manifest"]], check=True)
        super().__init__(
            [KB, "serve", "--listen", f"127.0.0.1:{self.port}", "--manifest", manifest,
             "--resources", self.resources, "--insecure-allow-sample", *extra])
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert self.proc.poll() is None and time.time() < deadline, \
                    "broker did not start:\n" + "\n".join(self.lines)
                time.sleep(0.1)

    def log(self, last=None):
        return super().log(last)

    def stop(self):
        self.kill(signal.SIGTERM)


class Guest(LineProcess):
    """The pinned image booted with config + sealed model; serial collected."""

    wait_timeout = 300

    def __init__(self, workdir, broker_port, sealed=None, resource=RESOURCE, image=None, extra=()):
        b = built()
        config = os.path.join(workdir, "config.json")
        with open(config, "w") as f:
            json.dump({"listen_port": 8080, "kbs": {"host": "10.0.2.100", "port": 8081},
                       "resource_path": resource, "log_level": "info"}, f)
        netdev = (f"user,id=n0,restrict=on,"
                  f"guestfwd=tcp:10.0.2.100:8081-cmd:{sys.executable} {RELAY} {broker_port}")
        device = "virtio-net-pci,netdev=n0,disable-legacy=on,iommu_platform=on,romfile="
        super().__init__(
            [RUN, "--image", image or b["image"], "--accel", os.environ.get("E2E_ACCEL", "tcg"), "--mem", "256M",
             "--fw-cfg", f"opt/appliance/config,file={config}",
             "--fw-cfg", f"opt/appliance/model.sealed,file={sealed or b['sealed']}",
             *extra, "--", "-netdev", netdev, "-device", device])


def sample_digest(image):
    """`image-builder measure` of `image` under the sample launch configuration
    (1 x EPYC-v4): what qemu/run.sh passes as the sample measurement."""
    p = run_cmd([IB, "measure", "--vcpus", "1", "--vcpu-type", "EPYC-v4", image], check=True)
    return p.stdout.strip().splitlines()[-1]


def tensor_slices(blob, width=16, per_tensor=3):
    """Slices of the weights themselves: for each tensor in the model blob's
    table (common/embed-engine/src/blob/format.rs: u32 count at 16, 80-byte
    entries from 128 with u64 offset at 32 and u64 length at 40 in each),
    `per_tensor` slices at 1/4, 1/2 and 3/4 of its bytes; slices with fewer
    than 4 distinct byte values (padding-like) are left out."""
    count = struct.unpack_from("<I", blob, 16)[0]
    slices = []
    for i in range(count):
        offset, length = struct.unpack_from("<QQ", blob, 128 + 80 * i + 32)
        assert offset >= 128 + 80 * count and offset + length <= len(blob), (i, offset, length)
        if length < 2 * width:
            continue
        for k in range(1, per_tensor + 1):
            at = offset + (length - width) * k // (per_tensor + 1)
            piece = blob[at:at + width]
            if len(set(piece)) >= 4:
                slices.append(piece)
    assert len(slices) >= 4, f"only {len(slices)} tensor slices"
    return slices


def secret_leaks(lines):
    """What of the model key and the model's weights is on `lines`."""
    b = built()
    text = "\n".join(lines)
    leaks = ["model key"] if b["key"].hex() in text else []
    for piece in tensor_slices(b["blob"]):
        if piece.hex() in text or piece.hex().upper() in text:
            leaks.append(f"model bytes {piece.hex()}")
    return leaks


def no_secrets(guest):
    """Neither the model key nor the model's weights reach the serial log;
    and the check finds a weight slice planted in a copy of the log."""
    assert not secret_leaks(guest.lines), secret_leaks(guest.lines)
    planted = tensor_slices(built()["blob"])[-1].hex()
    assert secret_leaks(guest.lines + [f"oops {planted}"]), "the check cannot see weights"


@test
def keyrelease_success_unseals_the_pinned_model():
    b = built()
    with tempfile.TemporaryDirectory() as d:
        broker = Broker(d, b["manifest"])
        guest = Guest(d, broker.port)
        try:
            guest.wait_for(READY)
            assert f"model unsealed sha384:{b['digest']}" in guest.lines, guest.log()
            assert f"boot log: model sha384:{b['digest']}" in guest.lines, guest.log()
            assert not any("retrying" in l for l in guest.lines), guest.log()
            no_secrets(guest)
        finally:
            guest.kill()
            broker.stop()
        assert f"released resource={RESOURCE}" in broker.log(), broker.log()
        # The evidence claimed the launch digest of exactly the image booted
        # (run.sh measures it), which is the manifest's sample configuration.
        measurement = sample_digest(b["image"])
        first = json.load(open(b["manifest"]))["launch_configurations"][0]
        assert (first["vcpus"], first["vcpu_type"], first["launch_digest"]) == \
            (1, "EPYC-v4", measurement), first
        assert f"tee=sample measurement={measurement}:" in broker.log(), broker.log()
        assert b["key"].hex() not in broker.log()
        print("     " + next(l for l in guest.lines if l.startswith(READY)))


def run_to_exit(d, manifest, **guest_args):
    """A broker for `manifest` and the guest against it, until the guest
    exits: (exit status, guest, broker), both stopped."""
    broker = Broker(d, manifest)
    guest = Guest(d, broker.port, **guest_args)
    try:
        code = guest.wait_exit()
    finally:
        guest.kill()
        broker.stop()
    return code, guest, broker


def assert_broker_refuses(d, manifest, reason, **guest_args):
    """Boots a guest against a broker serving `manifest`: the broker refuses
    it with `reason` and releases nothing; the guest stops with exit 35,
    saying so, and unseals nothing."""
    code, guest, broker = run_to_exit(d, manifest, **guest_args)
    assert code == EXIT_FAIL, f"exit {code}\n{guest.log()}"
    assert REFUSED in guest.lines, guest.log()
    assert not any("model unsealed" in l for l in guest.lines), guest.log()
    assert f"REFUSED reason={reason} " in broker.log(), broker.log()
    assert "released resource" not in broker.log()


@test
def keyrelease_measurement_not_allowed_is_refused():
    b = built()
    manifest = json.load(open(b["manifest"]))
    manifest["launch_configurations"] = [
        c for c in manifest["launch_configurations"]
        if not (c["vcpus"] == 1 and c["vcpu_type"] == "EPYC-v4")]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "manifest.json")
        json.dump(manifest, open(path, "w"))
        assert_broker_refuses(d, path, "measurement")


@test
def keyrelease_claim_of_another_image_is_refused():
    """The sample evidence carries the host's claim: a well-formed digest of
    some other image is refused by the broker like any unlisted measurement."""
    b = built()
    with tempfile.TemporaryDirectory() as d:
        claim = os.path.join(d, "sample-measurement")
        other = sample_digest(UNPINNED_IMAGE)
        assert other != sample_digest(b["image"])
        open(claim, "w").write(other + "\n")
        assert_broker_refuses(d, b["manifest"], "measurement",
                              extra=["--fw-cfg", f"opt/appliance/sample-measurement,file={claim}"])


@test
def keyrelease_missing_or_malformed_sample_measurement_stops():
    """Without SNP the guest needs the host's claim: missing or malformed, it
    stops before it reaches the network, naming the file and the reason."""
    b = built()
    good = sample_digest(b["image"])
    cases = {
        "missing": (None, "missing: sample evidence needs the launch digest from the host"),
        "short": (good[:-1], "not 96 hex digits and an optional newline"),
        "not hex": ("g" + good[1:], "not 96 hex digits and an optional newline"),
        "two newlines": (good[:-1] + "\n\n", "not 96 hex digits and an optional newline"),
        "trailing space": (good + " ", "not 96 hex digits and an optional newline"),
        "too long": (good + "00", "98 bytes, not 96 hex digits and an optional newline"),
    }
    for name, (content, reason) in cases.items():
        with tempfile.TemporaryDirectory() as d:
            if content is None:
                extra = ["--no-sample-measurement"]
            else:
                claim = os.path.join(d, "sample-measurement")
                open(claim, "w").write(content)
                extra = ["--fw-cfg", f"opt/appliance/sample-measurement,file={claim}"]
            # No broker: the guest must stop before it looks for one.
            guest = Guest(d, free_port(), extra=extra)
            try:
                code = guest.wait_exit()
            finally:
                guest.kill()
            assert code == EXIT_FAIL, f"{name}: exit {code}\n{guest.log()}"
            line = guest.wait_for(SAMPLE_FAILED, timeout=1)
            assert line.startswith(SAMPLE_FAILED + reason), f"{name}: {line}"
            assert not any("key broker unreachable" in l or REFUSED in l for l in guest.lines), \
                f"{name}:\n{guest.log()}"


@test
def keyrelease_run_sh_without_image_builder_says_what_to_build():
    """qemu/run.sh cannot compute the sample measurement without the tool: it
    stops before starting QEMU and says what to build."""
    p = run_cmd([RUN, "--image", built()["image"], "--accel", "tcg"], timeout=60,
                env={**os.environ, "IMAGE_BUILDER": "/nonexistent/image-builder"})
    assert p.returncode == 2, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    assert "cargo build -p image-builder" in p.stderr and "sample-measurement" in p.stderr, p.stderr
    assert "accel=" not in p.stderr and not p.stdout, p.stdout + p.stderr


@test
def keyrelease_tampered_sealed_model_is_refused():
    """The host's sealed model, damaged three ways after the key was
    released: a flipped ciphertext bit, a garbled header, a short last
    chunk. Each stops the guest with the reason, nothing unsealed or secret
    printed."""
    b = built()
    good = open(b["sealed"], "rb").read()
    flipped = bytearray(good)
    flipped[SEAL_HEADER_LEN + 100] ^= 0x01
    cases = [(bytes(flipped), "chunk 0 failed authentication"),
             (b"XXXX" + good[4:], "not a sealed model (bad magic)"),
             (good[:-17], "sealed model is truncated")]
    for data, reason in cases:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "model.sealed")
            open(path, "wb").write(data)
            code, guest, _ = run_to_exit(d, b["manifest"], sealed=path)
            assert code == EXIT_FAIL, f"exit {code}\n{guest.log()}"
            line = guest.wait_for("refused", timeout=1)
            assert f"sealed model opt/appliance/model.sealed refused: {reason}" in line, line
            assert not any("model unsealed" in l or READY in l for l in guest.lines), guest.log()
            no_secrets(guest)
            print(f"     {line}")


@test
def keyrelease_retries_until_the_broker_starts():
    b = built()
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        guest = Guest(d, port)
        broker = None
        try:
            guest.wait_for("key broker unreachable, retrying in 500 ms")
            time.sleep(3)
            broker = Broker(d, b["manifest"], port)
            guest.wait_for(READY, timeout=120)
        finally:
            guest.kill()
            if broker:
                broker.stop()
        retries = [l for l in guest.lines if l.startswith("key broker unreachable, retrying in ")]
        delays = [int(l.split()[-2]) for l in retries]
        assert len(delays) >= 2 and delays == [min(500 << i, 8000) for i in range(len(delays))], retries
        assert f"model unsealed sha384:{b['digest']}" in guest.lines, guest.log()
        print(f"     retried {len(delays)} times ({', '.join(map(str, delays))} ms)")


def retry_lines(guest):
    return [l for l in guest.lines if l.startswith("key broker ") and ", retrying in " in l]


@test
def keyrelease_survives_the_broker_dying_after_auth_and_after_attest():
    """The broker dies right after answering /auth, and (restarted) again
    right after /attest: each time the guest's next request finds nothing,
    it backs off and starts a whole new session (the new broker knows none
    of the old one), and the key is released once, nothing secret printed."""
    b = built()
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        brokers = [Broker(d, b["manifest"], port)]
        killed = []

        def kill():
            brokers[-1].stop()
            killed.append(time.time())

        proxy = FaultProxy(port, [("/auth", kill)])
        guest = Guest(d, proxy.port)
        try:
            for phase in ("/attest", None):
                deadline = time.time() + 300
                while not killed or len(retry_lines(guest)) < len(killed):
                    assert time.time() < deadline and guest.proc.poll() is None, guest.log()
                    time.sleep(0.2)
                if phase:
                    proxy.plan.append((phase, kill))
                brokers.append(Broker(d, b["manifest"], port))
                if phase:
                    while len(killed) < 2:
                        assert time.time() < deadline and guest.proc.poll() is None, guest.log()
                        time.sleep(0.2)
            guest.wait_for(READY, timeout=300)
        finally:
            guest.kill()
            for broker in brokers:
                broker.stop()
            proxy.close()
        assert len(killed) == 2, killed
        assert sum(READY in l for l in guest.lines) == 1, guest.log()
        no_secrets(guest)
        auths = [e for e in proxy.events if "/auth" in e[1]]
        assert len(auths) >= 3, proxy.events
        print(f"     {len(retry_lines(guest))} retries; requests seen: "
              + ", ".join(f"{m} {p.rsplit('/', 1)[-1]}{'' if a is None else ' [' + a + ']'}"
                          for m, p, a in proxy.events))


@test
def keyrelease_retries_past_garbled_oversized_truncated_and_slow_answers():
    """Each fault once, in this order: a garbage /auth body (unreadable:
    'answer unusable'), a /auth Content-Length of 1 GB (over the 64 KiB
    limit), a truncated /attest answer, a resource answer dripped a byte a
    second (the 20 s response timeout): every one is refused and retried
    with backoff, and the fifth session gets the key."""
    b = built()
    with tempfile.TemporaryDirectory() as d:
        broker = Broker(d, b["manifest"])
        proxy = FaultProxy(broker.port, [("/auth", "garbage"), ("/auth", "oversized"),
                                         ("/attest", "truncated"), ("/resource/", "slow")])
        guest = Guest(d, proxy.port)
        try:
            guest.wait_for(READY, timeout=400)
        finally:
            guest.kill()
            broker.stop()
            proxy.close()
        assert not proxy.plan, f"faults not reached: {proxy.plan}; seen {proxy.events}"
        retries = retry_lines(guest)
        assert [l.split(",")[0] for l in retries] == [
            "key broker answer unusable", "key broker unreachable", "key broker unreachable",
            "key broker unreachable"], retries
        assert sum(READY in l for l in guest.lines) == 1, guest.log()
        no_secrets(guest)
        print(f"     {'; '.join(retries)}")


@background
def keyrelease_gives_up_when_the_broker_never_starts():
    """No broker at all: retries at 0.5 s doubling to the 8 s cap, and no
    new attempt once the 60 s budget would be passed; then the fixed line
    and exit status 35 (guest/app/src/key_release.rs)."""
    with tempfile.TemporaryDirectory() as d:
        guest = Guest(d, free_port())
        try:
            guest.wait_for("key broker unreachable, retrying in 500 ms")
            t0 = time.time()
            code = guest.wait_exit(timeout=240)
            waited = time.time() - t0
        finally:
            guest.kill()
    assert code == EXIT_FAIL, f"exit {code}\n{guest.log()}"
    delays, gave_up = check_gave_up(guest.lines)
    print(f"     {len(delays)} retries ({', '.join(map(str, delays))} ms), {gave_up!r}, "
          f"exit {code}; {waited:.0f} s on the host clock from the first retry")


def check_gave_up(lines):
    """The serial log of a guest whose broker never answered: retry delays
    0.5 s doubling to the 8 s cap, then one give-up line once the next wait
    would pass the 60 s budget, after the last retry; no unsealing.
    Returns (delays in ms, the give-up line)."""
    retries = [l for l in lines if l.startswith("key broker unreachable, retrying in ")]
    delays = [int(l.split()[-2]) for l in retries]
    # 0.5+1+2+4+8 s, then 8 s each: the 10th retry ends at 55.5 s of waiting
    # alone; the attempts' own time may leave room for one fewer.
    assert delays[:5] == [500, 1000, 2000, 4000, 8000], retries
    assert delays[5:] == [8000] * (len(delays) - 5) and len(delays) in (9, 10), retries
    gave_up = [l for l in lines if l.startswith("key broker unreachable (")]
    assert len(gave_up) == 1, "\n".join(lines[-30:])
    m = re.fullmatch(r"key broker unreachable \((.+)\), giving up after (\d+) ms", gave_up[0])
    assert m, gave_up[0]
    elapsed = int(m.group(2))
    # Giving up means the next 8 s wait would pass the 60 s budget.
    assert 60_000 - 8_000 < elapsed <= 60_000, gave_up[0]
    assert sum(delays) <= elapsed, (sum(delays), elapsed)
    assert lines.index(gave_up[0]) > lines.index(retries[-1]), "gave up before the last retry"
    assert not any("model unsealed" in l for l in lines), "\n".join(lines[-30:])
    return delays, gave_up[0]


@test
def keyrelease_unknown_resource_is_refused():
    b = built()
    with tempfile.TemporaryDirectory() as d:
        assert_broker_refuses(d, b["manifest"], "no-resource", resource="appliance/key/missing")


def flood_auth(port, sources, stop, counts):
    """POST /kbs/v0/auth in a loop from each of `sources` (loopback
    addresses other than 127.0.0.1, which the guest's relay uses) until
    `stop` is set; counts answers by status."""
    body = json.dumps({"version": "0.4.0", "tee": "sample", "extra-params": ""}).encode()
    request = (f"POST /kbs/v0/auth HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
               f"Connection: close\r\n\r\n").encode() + body

    def one(source):
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5,
                                              source_address=(source, 0)) as s:
                    s.sendall(request)
                    status = s.recv(64).split(b" ")[1].decode()
            except (OSError, IndexError):
                status = "error"
            with counts_lock:
                counts[status] = counts.get(status, 0) + 1

    counts_lock = threading.Lock()
    threads = [threading.Thread(target=one, args=(src,), daemon=True)
               for src in sources for _ in range(3)]
    for t in threads:
        t.start()
    return threads


@test
def keyrelease_completes_during_an_auth_flood():
    """Eight loopback addresses flood /auth for the whole boot; the broker
    holds each to its rate and caps unattested sessions (evicting the
    flooders' own), and the guest (through its relay on 127.0.0.1) still
    gets its key."""
    b = built()
    with tempfile.TemporaryDirectory() as d:
        broker = Broker(d, b["manifest"], extra=["--max-unattested-sessions", "64"])
        stop = threading.Event()
        counts = {}
        sources = [f"127.0.0.{n}" for n in range(2, 10)]
        threads = flood_auth(broker.port, sources, stop, counts)
        guest = None
        try:
            deadline = time.time() + 30
            while counts.get("429", 0) < 200:
                assert time.time() < deadline, f"the flood never hit the rate limit: {counts}"
                time.sleep(0.1)
            guest = Guest(d, broker.port)
            guest.wait_for(READY)
            assert f"model unsealed sha384:{b['digest']}" in guest.lines, guest.log()
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=10)
            if guest:
                guest.kill()
            broker.stop()
        assert counts.get("200", 0) > 64, counts
        assert f"released resource={RESOURCE}" in broker.log(), broker.log()
        assert "REFUSED reason=auth-rate " in broker.log(), broker.log()
        print(f"     flood answers: {dict(sorted(counts.items()))}")


@test
def keyrelease_unpinned_image_refuses_to_unseal():
    """The standard image (built without --model-digest) never unseals."""
    with tempfile.TemporaryDirectory() as d:
        guest = Guest(d, free_port(), image=UNPINNED_IMAGE)
        try:
            code = guest.wait_exit()
        finally:
            guest.kill()
        assert code == EXIT_FAIL, f"exit {code}\n{guest.log()}"
        guest.wait_for("this image pins no model digest", timeout=1)
        assert not any("key broker unreachable" in l or REFUSED in l for l in guest.lines), guest.log()


if __name__ == "__main__":
    main(sys.argv[1:] or None)
